package prover

import (
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/exec"
	"github.com/meganode/meganode/node/internal/chaintest"
	"github.com/meganode/meganode/node/internal/nodetest"
)

func opened(t testing.TB, s *chaintest.Stream, raw []byte) *chain.Opened {
	t.Helper()
	b, err := chain.DecodeBlockBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	o, err := b.Open(chain.Keys(s.Sequencer()))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// TestValidateHonestBlocks: every block a real sequencer seals validates
// from its bundle alone, with go-ethereum's stateless execution, and the
// verdict's roots are the chain's.
func TestValidateHonestBlocks(t *testing.T) {
	s := chaintest.Produce(t, 24, 4)
	if len(s.Bundles) != 6 {
		t.Fatalf("%d bundles gossiped, want 6", len(s.Bundles))
	}
	cc := executor(t)
	for i, raw := range s.Bundles {
		o := opened(t, s, raw)
		v := Validate(cc, o)
		if v.Fault != "" {
			t.Fatalf("block %d: %s", i+1, v.Fault)
		}
		sb, err := s.Seq.Ledger().SealedBlock(uint64(i + 1))
		if err != nil {
			t.Fatal(err)
		}
		if v.Number != uint64(i+1) || v.Hash != sb.Header.Hash() || v.PostRoot != sb.Header.Root || v.PreRoot != s.Roots[sb.First-1] {
			t.Fatalf("block %d: verdict %+v, chain hash %v root %v", i+1, v, sb.Header.Hash(), sb.Header.Root)
		}
	}
}

// TestValidateCatchesLies: a mini-block whose diff is not what execution
// wrote, or a header whose root is not, fails with the mismatch named;
// both lies are signed by the sequencer's own key.
func TestValidateCatchesLies(t *testing.T) {
	s := chaintest.Produce(t, 8, 4)
	cc := executor(t)
	resign := func(o *chain.Opened, i int, change func(*chain.MiniBlock)) {
		mb := o.MiniBlocks[i]
		change(mb)
		if mb.Sealed != nil {
			mb.Header.SealHash = mb.Sealed.Hash()
			o.Header = mb.Sealed
		}
		if err := mb.Seal(s.SeqKey); err != nil {
			t.Fatal(err)
		}
	}
	o := opened(t, s, s.Bundles[1])
	resign(o, 1, func(mb *chain.MiniBlock) {
		ad := &mb.Diff.Accounts[0]
		ad.Flags |= chain.SetBalance
		ad.Balance.AddUint64(&ad.Balance, 1)
	})
	if v := Validate(cc, o); !strings.Contains(v.Fault, "diff differs from re-execution") {
		t.Fatalf("doctored diff: fault %q", v.Fault)
	}
	o = opened(t, s, s.Bundles[1])
	resign(o, 3, func(mb *chain.MiniBlock) { mb.Sealed.Root = common.Hash{1} })
	if v := Validate(cc, o); !strings.Contains(v.Fault, "state root") {
		t.Fatalf("doctored root: fault %q", v.Fault)
	}
	// A header with proof-of-work difficulty: go-ethereum's stateless
	// execution does not look at it, so the header check must.
	o = opened(t, s, s.Bundles[1])
	resign(o, 3, func(mb *chain.MiniBlock) { mb.Sealed.Difficulty = big.NewInt(1) })
	if v := Validate(cc, o); !strings.Contains(v.Fault, "difficulty 1") || v.Inconclusive {
		t.Fatalf("difficulty 1: verdict %+v", v)
	}
}

func executor(t testing.TB) *exec.Executor {
	t.Helper()
	ex, err := exec.New(exec.Config{Chain: exec.DefaultChainConfig(nodetest.ChainID)})
	if err != nil {
		t.Fatal(err)
	}
	return ex
}

// TestValidateSelfConsistentLie: a sequencer whose diff credits an account
// no transaction touched, and whose state root and witness follow that
// diff, seals a block that opens and whose roots agree with its diffs;
// re-execution still catches it, conclusively.
func TestValidateSelfConsistentLie(t *testing.T) {
	s := chaintest.ProduceLying(t, 12, 4, func(h *chain.MiniBlockHeader, d *chain.Diff) *chain.Diff {
		if h.Number != 6 { // block 2's second mini-block
			return d
		}
		return d.WithBalance(common.HexToAddress("0xbad0"), uint256.NewInt(1_000_000))
	})
	cc := executor(t)
	for i, raw := range s.Bundles {
		v := Validate(cc, opened(t, s, raw))
		switch {
		case i == 1 && (!strings.Contains(v.Fault, "mini-block 6: diff differs from re-execution") || v.Inconclusive):
			t.Fatalf("block 2: verdict %+v, want the lie in mini-block 6, conclusive", v)
		case i != 1 && v.Fault != "":
			// Blocks after the lie start from its state: they are sound.
			t.Fatalf("block %d: %s", i+1, v.Fault)
		}
	}
}

// TestValidateStrippedWitnessIsInconclusive: a bundle whose witness lost
// nodes or ancestor headers (anyone relaying it can strip them; the
// sequencer's signature does not cover the witness) fails validation as
// inconclusive: no evidence against the block.
func TestValidateStrippedWitnessIsInconclusive(t *testing.T) {
	s := chaintest.Produce(t, 8, 4)
	cc := executor(t)
	o := opened(t, s, s.Bundles[1])
	for n := range o.Witness.State {
		delete(o.Witness.State, n)
		if len(o.Witness.State) < 2 {
			break
		}
	}
	if v := Validate(cc, o); v.Fault == "" || !v.Inconclusive {
		t.Fatalf("stripped witness: verdict %+v, want an inconclusive fault", v)
	}
}
