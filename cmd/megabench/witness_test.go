package main

import (
	"io"
	"maps"
	"regexp"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/core/stateless"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/prover"
)

var witnessFigures = []string{
	"witness_bytes_per_block", "witness_bytes_per_tx", "witness_nodes_per_block",
	"geth_witness_bytes_per_block", "geth_witness_nodes_per_block",
	"prover_validate_ms_per_block", "geth_stateless_ms_per_block",
}

func TestWitnessFiguresOnSealedBlocks(t *testing.T) {
	got := figures(t, options{n: 40, reps: 1, holders: 50, witnessTxs: 20, witnessBlocks: 2,
		only: regexp.MustCompile(`witness|stateless|validate`)})
	for _, name := range witnessFigures {
		if _, ok := got[name]; !ok {
			t.Errorf("figure %s missing", name)
		}
	}
	if len(got) != len(witnessFigures) {
		t.Errorf("got %d figures, want %d: %v", len(got), len(witnessFigures), got)
	}
}

// The blocks the witness figures time are valid to the prover, and a
// witness lacking one trie node is not: Validate is not timed on a path
// that skips the work.
func TestWitnessBlocksValidate(t *testing.T) {
	w, err := newWorkload(50, 40)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.prepareWitness(20, 2, io.Discard); err != nil {
		t.Fatal(err)
	}
	if len(w.wit.blocks) != 2 {
		t.Fatalf("%d blocks, want 2", len(w.wit.blocks))
	}
	for _, b := range w.wit.blocks {
		o, err := b.bundle.Open(chain.Keys(w.wit.sequencer))
		if err != nil {
			t.Fatal(err)
		}
		if v := prover.Validate(w.ex, o); v.Fault != "" || v.PostRoot != b.header.Root {
			t.Errorf("block %d: verdict %+v, want no fault and post-state root %v", b.header.Number, v, b.header.Root)
		}
		if len(b.ours.State) == 0 || len(b.gethW.State) == 0 {
			t.Errorf("block %d: %d trie nodes in our witness, %d in go-ethereum's", b.header.Number, len(b.ours.State), len(b.gethW.State))
		}

		lacking := new(stateless.Witness)
		if err := rlp.DecodeBytes(b.bundle.Witness, lacking); err != nil {
			t.Fatal(err)
		}
		delete(lacking.State, slices.Min(slices.Collect(maps.Keys(lacking.State))))
		enc, err := rlp.EncodeToBytes(lacking)
		if err != nil {
			t.Fatal(err)
		}
		bad := &chain.BlockBundle{Number: b.bundle.Number, MiniBlocks: b.bundle.MiniBlocks, Witness: enc}
		if o, err = bad.Open(chain.Keys(w.wit.sequencer)); err != nil {
			t.Fatal(err)
		}
		if v := prover.Validate(w.ex, o); v.Fault == "" {
			t.Errorf("block %d: a witness lacking a trie node validates", b.header.Number)
		}
	}
}
