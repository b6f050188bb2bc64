package fullnode

import (
	"slices"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
)

// attestationRetain is how many blocks below the finalized one a fullnode
// keeps the attestations it accepted, for meganode_getAttestations.
const attestationRetain = 1024

// attestationStore keeps the signed attestations a fullnode accepted from
// its configured provers, one per prover and block (the newest), for
// blocks from attestationRetain below the finalized one up. The step adds
// and prunes; reads (off the step) copy under the lock.
type attestationStore struct {
	mu      sync.Mutex
	byBlock map[uint64]map[common.Address][]byte // encoded attestations
}

// add keeps a's encoding as signer's attestation of its block.
func (s *attestationStore) add(signer common.Address, a *chain.Attestation, raw []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byBlock == nil {
		s.byBlock = map[uint64]map[common.Address][]byte{}
	}
	m := s.byBlock[a.Number]
	if m == nil {
		m = map[common.Address][]byte{}
		s.byBlock[a.Number] = m
	}
	m[signer] = raw
}

// prune drops the blocks more than attestationRetain below finalized.
func (s *attestationStore) prune(finalized uint64) {
	if finalized <= attestationRetain {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for n := range s.byBlock { // deleting: order cannot leak
		if n < finalized-attestationRetain {
			delete(s.byBlock, n)
		}
	}
}

// of returns block n's attestations, by signer address.
func (s *attestationStore) of(n uint64) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.byBlock[n]
	signers := make([]common.Address, 0, len(m))
	for a := range m { // sorted below: order cannot leak
		signers = append(signers, a)
	}
	slices.SortFunc(signers, func(a, b common.Address) int { return a.Cmp(b) })
	out := make([][]byte, len(signers))
	for i, a := range signers {
		out[i] = m[a]
	}
	return out
}

// serveAttestations answers meganode_getAttestations for block n: the
// attestations this node accepted of it, whatever hash they name (a
// client checks them against the block it knows).
func (f *Fullnode) serveAttestations(n uint64) *api.Answer {
	return &api.Answer{Txs: f.atts.of(n)}
}
