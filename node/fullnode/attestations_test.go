package fullnode

import (
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/meganode/meganode/node/chain"
)

// The store keeps each block's attestations from attestationRetain below
// the finalized block up, and drops the older ones: memory stays bounded
// however long the chain runs.
func TestAttestationStoreKeepsAWindow(t *testing.T) {
	var s attestationStore
	signer := common.Address{1}
	const top = attestationRetain + 100
	for n := uint64(1); n <= top; n++ {
		s.add(signer, &chain.Attestation{Number: n}, []byte{byte(n)})
	}
	s.prune(attestationRetain) // nothing is old enough yet
	if len(s.of(1)) != 1 {
		t.Fatal("block 1 dropped before it was attestationRetain below the finalized block")
	}
	s.prune(top)
	floor := uint64(top - attestationRetain)
	for _, c := range []struct {
		n    uint64
		kept bool
	}{{1, false}, {floor - 1, false}, {floor, true}, {floor + 1, true}, {top, true}} {
		if got := len(s.of(c.n)) == 1; got != c.kept {
			t.Errorf("block %d kept %v, want %v (finalized %d, window %d)", c.n, got, c.kept, top, attestationRetain)
		}
	}
	if n := len(s.byBlock); n != attestationRetain+1 {
		t.Fatalf("%d blocks held, want %d", n, attestationRetain+1)
	}
}
