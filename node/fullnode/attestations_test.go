package fullnode

import (
	"bytes"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/internal/chaintest"
	"github.com/meganode/meganode/node/internal/nodetest"
)

// meganode_getAttestations: the fullnode answers the attestations it
// accepted of a block, one per configured prover (the newest), by prover;
// not an impostor's, and they outlive the block's finality.
func TestAttestationsAreServed(t *testing.T) {
	s := chaintest.Produce(t, 12, 3)
	h := newHarness(t, s, withProvers)
	h.feed(1, 12)
	keys := proverKeys()
	wrong := attest(t, s, keys[0], 1, common.Hash{9})
	h.fn.OnMessage("p0", wrong)
	right0 := attest(t, s, keys[0], 1, common.Hash{})
	h.fn.OnMessage("p0", right0) // replaces its wrong one
	h.fn.OnMessage("x", attest(t, s, nodetest.Key("impostor", 0), 1, common.Hash{}))
	right1 := attest(t, s, keys[1], 1, common.Hash{})
	h.fn.OnMessage("p1", right1)
	if got := h.fn.Finalized(); got != 1 {
		t.Fatalf("finalized %d, want 1", got)
	}
	a := h.call(&api.Call{Method: api.MethodAttestations, Number: 1})
	if a.Err != nil || len(a.Txs) != 2 {
		t.Fatalf("attestations of block 1: %+v", a)
	}
	want := map[string]bool{string(right0): true, string(right1): true}
	for _, raw := range a.Txs {
		if !want[string(raw)] || bytes.Equal(raw, wrong) {
			t.Fatalf("served an attestation the node did not keep: %x", raw)
		}
	}
	if a := h.call(&api.Call{Method: api.MethodAttestations, Number: 2}); a.Err != nil || len(a.Txs) != 0 {
		t.Fatalf("attestations of block 2, none sent: %+v", a)
	}
}
