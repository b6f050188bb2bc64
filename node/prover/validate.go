package prover

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/consensus/misc/eip1559"
	"github.com/ethereum/go-ethereum/consensus/misc/eip4844"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/ethereum/go-ethereum/triedb"
	"github.com/ethereum/go-ethereum/triedb/database"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/exec"
	"github.com/meganode/meganode/node/state"
)

// Verdict is the outcome of validating one sealed block.
type Verdict struct {
	Number            uint64
	Hash              common.Hash
	PreRoot, PostRoot common.Hash
	// Fault is empty for a valid block; otherwise it names the first
	// mismatch found.
	Fault string
	// Inconclusive marks a fault that the witness may be to blame for: it
	// lacks a node or code the block reads. The witness is the one part
	// of a bundle the sequencer's signature does not cover (its nodes
	// are authenticated by their hashes, so only an omission can lie):
	// whoever relays a bundle can strip it. Such a verdict is no
	// evidence against the block (fullnodes do not stop finality on it),
	// only against the bundle.
	Inconclusive bool
}

// Validate checks a sealed block statelessly, from its bundle alone:
//   - the header against its parent (the witness's first header, whose
//     state root is the pre-state root the witness's nodes hash up to);
//   - every mini-block against re-execution on the witness: each
//     transaction's receipt, and each mini-block's diff, exactly;
//   - the mini-blocks' diffs and receipts against the header's state root
//     and receipts root;
//   - go-ethereum's own stateless re-execution (core.ExecuteStateless)
//     against the header's state root, receipts root, gas used and bloom.
//
// It reads nothing else and changes nothing: blocks can be validated in
// any order, and at once.
func Validate(ex *exec.Executor, o *chain.Opened) Verdict {
	cc := ex.Config().Chain
	h := o.Header
	parent := o.Witness.Headers[0]
	v := Verdict{Number: h.Number.Uint64(), Hash: h.Hash(), PreRoot: parent.Root, PostRoot: h.Root}
	fault := func(format string, args ...any) Verdict {
		v.Fault = fmt.Sprintf(format, args...)
		return v
	}
	lacking := func(format string, args ...any) Verdict {
		v.Fault, v.Inconclusive = fmt.Sprintf(format, args...), true
		return v
	}
	// The header follows its parent.
	switch {
	case h.Number.Uint64() != parent.Number.Uint64()+1:
		return fault("number %d, parent is %d", h.Number, parent.Number)
	case h.Time < parent.Time:
		return fault("time %d before the parent's %d", h.Time, parent.Time)
	case h.Difficulty == nil || h.Difficulty.Sign() != 0:
		return fault("difficulty %v, want 0", h.Difficulty)
	}
	if err := eip1559.VerifyEIP1559Header(cc, parent, h); err != nil {
		return fault("header: %v", err)
	}
	if cc.IsCancun(h.Number, h.Time) {
		if err := eip4844.VerifyEIP4844Header(cc, parent, h); err != nil {
			return fault("header: %v", err)
		}
	}
	// The mini-blocks agree with the header.
	var diffs []*chain.Diff
	var receipts []*types.Receipt
	for _, mb := range o.MiniBlocks {
		diffs = append(diffs, mb.Diff)
		receipts = append(receipts, mb.Receipts...)
	}
	if got := chain.ReceiptRoot(receipts); got != h.ReceiptHash {
		return fault("receipts root: header %v, mini-blocks' receipts %v", h.ReceiptHash, got)
	}
	db := triedb.NewDatabase(o.Witness.MakeHashDB(), triedb.HashDefaults)
	if f, missing := reexecute(ex, o, db); f != "" {
		if missing {
			return lacking("%s", f)
		}
		return fault("%s", f)
	}
	root, err := state.ApplyStateless(db, parent.Root, diffs)
	if err != nil {
		if missingNode(err) {
			return lacking("witness lacks what the mini-block diffs change: %v", err)
		}
		return fault("mini-block diffs: %v", err)
	}
	if root != h.Root {
		return fault("state root: header %v, mini-block diffs lead to %v", h.Root, root)
	}
	// Re-execution agrees with the header.
	bare := types.CopyHeader(h)
	bare.Root, bare.ReceiptHash = common.Hash{}, common.Hash{}
	blk := types.NewBlockWithHeader(bare).WithBody(*o.Block.Body())
	stateRoot, receiptRoot, err := core.ExecuteStateless(context.Background(), cc, vm.Config{}, blk, o.Witness)
	if err != nil {
		if missingNode(err) {
			return lacking("witness lacks what re-execution reads: %v", err)
		}
		return fault("re-execution: %v", err)
	}
	if stateRoot != h.Root {
		return fault("state root: header %v, re-execution %v", h.Root, stateRoot)
	}
	if receiptRoot != h.ReceiptHash {
		return fault("receipts root: header %v, re-execution %v", h.ReceiptHash, receiptRoot)
	}
	return v
}

// missingNode tells whether err is a trie's missing node: what a witness
// lacking a node gives.
func missingNode(err error) bool {
	var m *trie.MissingNodeError
	return errors.As(err, &m) || strings.Contains(err.Error(), "missing trie node")
}

// reexecute runs the block's transactions on the witness with this node's
// executor, mini-block by mini-block, and returns the first difference
// from what the mini-blocks say, or "", and whether the difference may be
// the witness's (it lacks what the block reads).
func reexecute(ex *exec.Executor, o *chain.Opened, db database.NodeDatabase) (string, bool) {
	codes := make(map[common.Hash][]byte, len(o.Witness.Codes))
	for c := range o.Witness.Codes { // filling a map: order cannot leak
		codes[crypto.Keccak256Hash([]byte(c))] = []byte(c)
	}
	parent := o.Witness.Headers[0]
	reader, err := state.NewTrieReader(db, parent.Root, codes)
	if err != nil {
		return fmt.Sprintf("witness: %v", err), true
	}
	hashes := make(map[uint64]common.Hash, len(o.Witness.Headers))
	hashes[parent.Number.Uint64()] = o.Header.ParentHash
	for _, h := range o.Witness.Headers[1:] {
		hashes[h.Number.Uint64()] = h.Hash()
	}
	for _, h := range o.Witness.Headers {
		hashes[h.Number.Uint64()-1] = h.ParentHash
	}
	header := types.CopyHeader(o.Header)
	layer := state.NewLayer(reader)
	var lackHash error // a BLOCKHASH the witness's headers do not answer
	blk := ex.NewBlock(layer, header, func(n uint64) common.Hash {
		h, ok := hashes[n]
		if !ok && lackHash == nil {
			lackHash = fmt.Errorf("no header of block %d", n)
		}
		return h
	})
	blk.Begin()
	for i, mb := range o.MiniBlocks {
		for j, tx := range mb.Txs {
			r, _, err := blk.ApplyTx(tx)
			if rerr := errors.Join(reader.Err(), lackHash); rerr != nil {
				// First: a refusal may come from what the witness lacks.
				return fmt.Sprintf("witness lacks what mini-block %d reads: %v", mb.Header.Number, rerr), true
			}
			if err != nil {
				return fmt.Sprintf("mini-block %d: transaction %d (%v) refused on re-execution: %v", mb.Header.Number, j, tx.Hash(), err), false
			}
			if d := receiptDifference(r, mb.Receipts[j]); d != "" {
				return fmt.Sprintf("mini-block %d: receipt of transaction %d (%v): %s", mb.Header.Number, j, tx.Hash(), d), false
			}
		}
		if i == len(o.MiniBlocks)-1 {
			if _, err := blk.End(); err != nil {
				if rerr := reader.Err(); rerr != nil {
					return fmt.Sprintf("witness lacks what the end of block %d reads: %v", mb.Header.BlockNumber, rerr), true
				}
				return fmt.Sprintf("end of block: %v", err), false
			}
		}
		d := blk.Flush()
		if err := layer.Apply(d); err != nil {
			if rerr := reader.Err(); rerr != nil {
				return fmt.Sprintf("witness lacks what mini-block %d reads: %v", mb.Header.Number, rerr), true
			}
			return fmt.Sprintf("mini-block %d: %v", mb.Header.Number, err), false
		}
		if err := reader.Err(); err != nil {
			return fmt.Sprintf("witness lacks what mini-block %d reads: %v", mb.Header.Number, err), true
		}
		if d.Hash() != mb.Diff.Hash() {
			return fmt.Sprintf("mini-block %d: diff differs from re-execution: %s", mb.Header.Number, diffDifference(mb.Diff, d)), false
		}
	}
	return "", false
}

// receiptDifference compares the consensus fields of two receipts.
func receiptDifference(got, want *types.Receipt) string {
	switch {
	case got.Status != want.Status:
		return fmt.Sprintf("status %d, mini-block says %d", got.Status, want.Status)
	case got.GasUsed != want.GasUsed:
		return fmt.Sprintf("gas used %d, mini-block says %d", got.GasUsed, want.GasUsed)
	case got.CumulativeGasUsed != want.CumulativeGasUsed:
		return fmt.Sprintf("cumulative gas %d, mini-block says %d", got.CumulativeGasUsed, want.CumulativeGasUsed)
	}
	a, _ := got.MarshalBinary()
	b, _ := want.MarshalBinary()
	if !bytes.Equal(a, b) {
		return "logs or bloom differ"
	}
	return ""
}

// diffDifference names the first account where two diffs differ.
func diffDifference(said, got *chain.Diff) string {
	for i := 0; i < len(said.Accounts) || i < len(got.Accounts); i++ {
		switch {
		case i == len(said.Accounts):
			return fmt.Sprintf("re-execution also changes %v", got.Accounts[i].Address)
		case i == len(got.Accounts):
			return fmt.Sprintf("mini-block also changes %v", said.Accounts[i].Address)
		}
		a, b := &said.Accounts[i], &got.Accounts[i]
		if a.Address != b.Address {
			return fmt.Sprintf("mini-block changes %v, re-execution %v", a.Address, b.Address)
		}
		da, db := (&chain.Diff{Accounts: []chain.AccountDiff{*a}}).Hash(), (&chain.Diff{Accounts: []chain.AccountDiff{*b}}).Hash()
		if da != db {
			return fmt.Sprintf("account %v: mini-block says flags %d nonce %d balance %v and %d slots, re-execution flags %d nonce %d balance %v and %d slots",
				a.Address, a.Flags, a.Nonce, &a.Balance, len(a.Storage), b.Flags, b.Nonce, &b.Balance, len(b.Storage))
		}
	}
	return "encodings differ"
}
