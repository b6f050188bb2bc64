package properties

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
	"github.com/meganode/meganode/model"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/state"
)

// Property names.
const (
	PropReads      = "P2 reads at a height"
	PropDurability = "P4 durability"
	PropNoFork     = "P8 no fork"
)

// CheckChainReexecution re-executes a chain of mini-blocks (numbers 1, 2,
// … in order, as the sequencer published them) on go-ethereum's StateDB
// from alloc, and checks P3 at every mini-block of every sealed block: the
// receipts equal the reference's, and the state after applying the
// mini-block's diff has the reference's root; the sealed header's roots,
// bloom, gas and requests hash equal the reference's; mini-blocks are
// numbered and linked. Mini-blocks of the block still open at the end are
// not checked: their header is not known until the block seals (the
// fullnodes' root check and P8 cover what they applied).
func CheckChainReexecution(cfg *params.ChainConfig, alloc types.GenesisAlloc, minis []*chain.MiniBlock, blockHash func(uint64) common.Hash) *Violation {
	ref, err := model.NewReference(cfg, alloc)
	if err != nil {
		return &Violation{Property: PropDiffEquivalence, Detail: fmt.Sprintf("reference: %v", err)}
	}
	st, err := state.FromAlloc(alloc)
	if err != nil {
		return &Violation{Property: PropDiffEquivalence, Detail: fmt.Sprintf("genesis state: %v", err)}
	}
	getHash := func(n uint64) common.Hash { return blockHash(n) }
	for i, mb := range minis {
		h := &mb.Header
		if h.Number != uint64(i+1) || len(mb.Receipts) != len(mb.Txs) || mb.Diff == nil {
			return &Violation{Property: PropDiffEquivalence, Where: fmt.Sprintf("mini-block %d", i+1),
				Detail: fmt.Sprintf("malformed: numbered %d, %d transactions, %d receipts", h.Number, len(mb.Txs), len(mb.Receipts))}
		}
		if i > 0 && h.ParentHash != minis[i-1].Hash() {
			return &Violation{Property: PropDiffEquivalence, Where: fmt.Sprintf("mini-block %d", i+1), Detail: "parent hash does not link to the previous mini-block"}
		}
	}
	start := 0
	for start < len(minis) {
		end := start
		for end < len(minis) && minis[end].Sealed == nil {
			end++
		}
		if end == len(minis) {
			break // the open block: no header yet
		}
		header := minis[end].Sealed
		rb, err := ref.NewBlock(header, getHash)
		if err != nil {
			return &Violation{Property: PropDiffEquivalence, Detail: err.Error()}
		}
		rb.Begin()
		var receipts []*types.Receipt
		var txs []*types.Transaction
		var requests [][]byte
		for i := start; i <= end; i++ {
			mb := minis[i]
			where := fmt.Sprintf("mini-block %d (block %d)", mb.Header.Number, mb.Header.BlockNumber)
			for j, tx := range mb.Txs {
				want, err := rb.ApplyTx(tx)
				if err != nil {
					return &Violation{Property: PropDiffEquivalence, Where: where, Detail: fmt.Sprintf("tx %d (%v) is in the chain but the reference refuses it: %v", j, tx.Hash(), err)}
				}
				if d := model.ReceiptsEqual(mb.Receipts[j], want); d != "" {
					return &Violation{Property: PropDiffEquivalence, Where: where, Detail: fmt.Sprintf("tx %d receipt: %s", j, d)}
				}
				receipts = append(receipts, want)
				txs = append(txs, tx)
			}
			if i == end {
				if requests, err = rb.End(); err != nil {
					return &Violation{Property: PropDiffEquivalence, Where: where, Detail: fmt.Sprintf("reference block end: %v", err)}
				}
			}
			if err := st.Apply(mb.Diff); err != nil {
				return &Violation{Property: PropDiffEquivalence, Where: where, Detail: fmt.Sprintf("diff does not apply: %v", err)}
			}
			if got, want := st.Root(), rb.Root(); got != want {
				return &Violation{Property: PropDiffEquivalence, Where: where, Detail: fmt.Sprintf("state root after the diff %v, re-execution gives %v", got, want)}
			}
		}
		if header.Root != st.Root() {
			return &Violation{Property: PropDiffEquivalence, Where: fmt.Sprintf("block %d", header.Number), Detail: fmt.Sprintf("header root %v, state %v", header.Root, st.Root())}
		}
		var gas uint64
		if len(receipts) > 0 {
			gas = receipts[len(receipts)-1].CumulativeGasUsed
		}
		var bad []string
		if got := chain.TxRoot(txs); got != header.TxHash {
			bad = append(bad, fmt.Sprintf("transactions root %v, re-execution %v", header.TxHash, got))
		}
		if got := chain.ReceiptRoot(receipts); got != header.ReceiptHash {
			bad = append(bad, fmt.Sprintf("receipts root %v, re-execution %v", header.ReceiptHash, got))
		}
		if got := types.MergeBloom(receipts); got != header.Bloom {
			bad = append(bad, "logs bloom differs from re-execution")
		}
		if gas != header.GasUsed {
			bad = append(bad, fmt.Sprintf("gas used %d, re-execution %d", header.GasUsed, gas))
		}
		if requests != nil {
			if rh := types.CalcRequestsHash(requests); header.RequestsHash == nil || *header.RequestsHash != rh {
				bad = append(bad, "requests hash differs from re-execution")
			}
		}
		if len(bad) > 0 {
			return &Violation{Property: PropDiffEquivalence, Where: fmt.Sprintf("block %d", header.Number), Detail: fmt.Sprintf("sealed header: %v", bad)}
		}
		start = end + 1
	}
	return nil
}

// CheckNoFork checks P8 between a node's mini-block hashes (index i is
// mini-block i+1) and the reference chain's (the sequencer's).
func CheckNoFork(node string, have, want []common.Hash) *Violation {
	for i := range min(len(have), len(want)) {
		if have[i] != want[i] {
			return &Violation{Property: PropNoFork, Where: fmt.Sprintf("%s mini-block %d", node, i+1),
				Detail: fmt.Sprintf("%s holds %v, the sequencer %v", node, have[i], want[i])}
		}
	}
	if len(have) > len(want) {
		return &Violation{Property: PropNoFork, Where: fmt.Sprintf("%s mini-block %d", node, len(want)+1),
			Detail: fmt.Sprintf("%s holds %d mini-blocks, the sequencer only %d", node, len(have), len(want))}
	}
	return nil
}

// ReadKind is what a read asked for.
type ReadKind uint8

// Read kinds.
const (
	ReadBalance ReadKind = iota + 1
	ReadNonce
	ReadStorage
	ReadCode
)

// Read is one answered read, as P2 checks it.
type Read struct {
	Op        int    // index in the history, for the report
	Session   string // client and node: latest reads must be monotonic within one
	Latest    bool   // the read asked for the newest state
	MiniBlock uint64 // the height the node said it served
	Kind      ReadKind
	Address   common.Address
	Key       common.Hash
	Value     []byte // balance as 32 bytes, nonce as 8, slot as 32, code
}

// CheckReads checks P2: every read equals the state of the chain right
// after the mini-block it was served at (the chain's diffs replayed from
// alloc; P3 ties those diffs to re-execution), and latest reads never go
// back within a session. reads must be in the order they were answered.
func CheckReads(alloc types.GenesisAlloc, minis []*chain.MiniBlock, reads []Read) *Violation {
	byHeight := map[uint64][]int{}
	last := map[string]uint64{}
	for i, r := range reads {
		if r.MiniBlock > uint64(len(minis)) {
			return &Violation{Property: PropReads, Where: fmt.Sprintf("call %d", r.Op),
				Detail: fmt.Sprintf("served at mini-block %d, the chain has %d", r.MiniBlock, len(minis))}
		}
		if r.Latest {
			if prev, ok := last[r.Session]; ok && r.MiniBlock < prev {
				return &Violation{Property: PropReads, Where: fmt.Sprintf("call %d", r.Op),
					Detail: fmt.Sprintf("%s: a latest read at mini-block %d after one at %d", r.Session, r.MiniBlock, prev)}
			}
			last[r.Session] = r.MiniBlock
		}
		byHeight[r.MiniBlock] = append(byHeight[r.MiniBlock], i)
	}
	st, err := state.FromAlloc(alloc)
	if err != nil {
		return &Violation{Property: PropReads, Detail: err.Error()}
	}
	for h := uint64(0); h <= uint64(len(minis)); h++ {
		if h > 0 {
			if err := st.Apply(minis[h-1].Diff); err != nil {
				return &Violation{Property: PropReads, Detail: fmt.Sprintf("mini-block %d: %v", h, err)}
			}
		}
		for _, i := range byHeight[h] {
			r := &reads[i]
			acct, _ := st.Account(r.Address)
			var want []byte
			switch r.Kind {
			case ReadBalance:
				b := acct.Balance.Bytes32()
				want = b[:]
			case ReadNonce:
				want = binary.BigEndian.AppendUint64(nil, acct.Nonce)
			case ReadStorage:
				v := st.Storage(r.Address, r.Key)
				want = v[:]
			case ReadCode:
				want = st.Code(acct.CodeHash)
			}
			if !bytes.Equal(want, r.Value) && !(len(want) == 0 && len(r.Value) == 0) {
				return &Violation{Property: PropReads, Where: fmt.Sprintf("call %d", r.Op),
					Detail: fmt.Sprintf("%s read %v of %v at mini-block %d: got %x, the chain holds %x", r.Session, r.Kind, r.Address, h, r.Value, want)}
			}
		}
	}
	return nil
}

func (k ReadKind) String() string {
	switch k {
	case ReadBalance:
		return "balance"
	case ReadNonce:
		return "nonce"
	case ReadStorage:
		return "storage"
	case ReadCode:
		return "code"
	}
	return "read"
}

// Ack is a receipt a node returned to a client.
type Ack struct {
	Op        int
	Tx        common.Hash
	MiniBlock uint64
	Status    uint64
	GasUsed   uint64
}

// CheckDurability checks P4: every acknowledged receipt is in the final
// chain, in the same mini-block, with the same outcome.
func CheckDurability(acks []Ack, minis []*chain.MiniBlock) *Violation {
	type loc struct {
		mini uint64
		r    *types.Receipt
	}
	final := map[common.Hash]loc{}
	for _, mb := range minis {
		if len(mb.Receipts) != len(mb.Txs) {
			return &Violation{Property: PropDurability, Where: fmt.Sprintf("mini-block %d", mb.Header.Number),
				Detail: fmt.Sprintf("%d transactions but %d receipts", len(mb.Txs), len(mb.Receipts))}
		}
		for i, tx := range mb.Txs {
			final[tx.Hash()] = loc{mb.Header.Number, mb.Receipts[i]}
		}
	}
	for _, a := range acks {
		got, ok := final[a.Tx]
		switch {
		case !ok:
			return &Violation{Property: PropDurability, Where: fmt.Sprintf("call %d", a.Op),
				Detail: fmt.Sprintf("transaction %v was acknowledged in mini-block %d but is not in the final chain", a.Tx, a.MiniBlock)}
		case got.mini != a.MiniBlock || got.r.Status != a.Status || got.r.GasUsed != a.GasUsed:
			return &Violation{Property: PropDurability, Where: fmt.Sprintf("call %d", a.Op),
				Detail: fmt.Sprintf("transaction %v was acknowledged in mini-block %d (status %d, gas %d), the final chain has it in %d (status %d, gas %d)",
					a.Tx, a.MiniBlock, a.Status, a.GasUsed, got.mini, got.r.Status, got.r.GasUsed)}
		}
	}
	return nil
}
