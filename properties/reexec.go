package properties

import (
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/params"
	"github.com/meganode/meganode/model"
	"github.com/meganode/meganode/node/exec"
)

// Violation is a property that does not hold, with the evidence.
type Violation struct {
	Property string // e.g. "P3 state-diff equivalence"
	Where    string // e.g. "block 3 tx 1"; empty when the whole history is the evidence
	Detail   string
	Artifact string // a file with more evidence (a visualization), if one was written
}

func (v *Violation) Error() string {
	if v.Where != "" {
		return fmt.Sprintf("%s violated at %s: %s", v.Property, v.Where, v.Detail)
	}
	return fmt.Sprintf("%s violated: %s", v.Property, v.Detail)
}

// PropDiffEquivalence is P3.
const PropDiffEquivalence = "P3 state-diff equivalence"

// ExecutedTx is one transaction as a node executed it.
type ExecutedTx struct {
	Tx      *types.Transaction
	Receipt *types.Receipt // nil when the node refused it
	Err     error          // the node's refusal
	Root    common.Hash    // the node's state root after this transaction
}

// ExecutedBlock is a block as a node executed it.
type ExecutedBlock struct {
	Header *types.Header
	Begin  bool // the block-start system calls ran first
	Txs    []ExecutedTx
}

// CheckReexecution re-executes blocks on go-ethereum's StateDB from alloc
// and returns the first disagreement with what the node did: a transaction
// one side executed and the other refused, a receipt that differs, or a
// state root that differs. A transaction the node refused only by its own
// policy (size, blob transactions) is not re-executed.
func CheckReexecution(cfg *params.ChainConfig, alloc types.GenesisAlloc, blocks []ExecutedBlock, getHash vm.GetHashFunc) error {
	ref, err := model.NewReference(cfg, alloc)
	if err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	for _, b := range blocks {
		n := b.Header.Number.Uint64()
		rb, err := ref.NewBlock(b.Header, getHash)
		if err != nil {
			return err
		}
		if b.Begin {
			rb.Begin()
		}
		for i, x := range b.Txs {
			v := func(format string, args ...any) error {
				return &Violation{Property: PropDiffEquivalence, Where: fmt.Sprintf("block %d tx %d", n, i), Detail: fmt.Sprintf(format, args...)}
			}
			if policyRefusal(x.Err) {
				continue
			}
			want, refErr := rb.ApplyTx(x.Tx)
			switch {
			case x.Err != nil && refErr == nil:
				return v("node refused %v (%v), the reference executed it", x.Tx.Hash(), x.Err)
			case x.Err == nil && refErr != nil:
				return v("node executed %v, the reference refused it (%v)", x.Tx.Hash(), refErr)
			case x.Err == nil:
				if x.Receipt == nil {
					return v("node executed %v but gave no receipt", x.Tx.Hash())
				}
				if d := model.ReceiptsEqual(x.Receipt, want); d != "" {
					return v("receipt of %v: %s (node vs reference)", x.Tx.Hash(), d)
				}
			}
			if root := rb.Root(); root != x.Root {
				return v("state root after %v: node %v, reference %v", x.Tx.Hash(), x.Root, root)
			}
		}
	}
	return nil
}

func policyRefusal(err error) bool {
	var te *exec.TxError
	return errors.As(err, &te) && (te.Reason == exec.ReasonOversized || te.Reason == exec.ReasonTxType)
}
