package properties

import (
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/meganode/meganode/node/chain"
)

func proverChain() []*SealedHeader {
	var out []*SealedHeader
	prev := common.Hash{0xaa}
	for n := uint64(1); n <= 4; n++ {
		post := common.Hash{byte(n), 0xbb}
		out = append(out, &SealedHeader{Number: n, Hash: common.Hash{byte(n), 0xcc}, PreRoot: prev, PostRoot: post})
		prev = post
	}
	return out
}

func attOf(h *SealedHeader) *chain.Attestation {
	return &chain.Attestation{ChainID: 1, Number: h.Number, Hash: h.Hash, PreRoot: h.PreRoot, PostRoot: h.PostRoot}
}

// TestProverSoundnessAcceptsHonestStatements: attestations of the chain's
// blocks, a fault report on the doctored block, and finality below it pass.
func TestProverSoundnessAcceptsHonestStatements(t *testing.T) {
	c := proverChain()
	stmts := []ProverStatements{{Prover: "p1", Attestations: []*chain.Attestation{attOf(c[0]), attOf(c[1]), attOf(c[3])},
		Faults: []*chain.FaultReport{{Number: 3, Hash: common.Hash{9}, Reason: "state root"}}}}
	if v := CheckProverSoundness(c, map[uint64]bool{3: true}, stmts, []Finality{{Node: "f1", Finalized: 2, FaultAt: 3}}); v != nil {
		t.Fatal(v)
	}
}

// TestProverSoundnessRejectsDoctored: each doctored history is refused
// with P5 and a reason naming what is wrong.
func TestProverSoundnessRejectsDoctored(t *testing.T) {
	c := proverChain()
	wrongPost := attOf(c[1])
	wrongPost.PostRoot = common.Hash{0xde}
	wrongHash := attOf(c[2])
	wrongHash.Hash = common.Hash{0xad}
	cases := []struct {
		name   string
		bad    map[uint64]bool
		stmts  []ProverStatements
		finals []Finality
		want   string
	}{
		{"post root not re-execution's", nil, []ProverStatements{{Prover: "p", Attestations: []*chain.Attestation{wrongPost}}}, nil, "re-execution gives"},
		{"another block's hash", nil, []ProverStatements{{Prover: "p", Attestations: []*chain.Attestation{wrongHash}}}, nil, "re-execution gives"},
		{"a block never sealed", nil, []ProverStatements{{Prover: "p", Attestations: []*chain.Attestation{{Number: 9}}}}, nil, "does not hold"},
		{"a doctored block attested", map[uint64]bool{2: true}, []ProverStatements{{Prover: "p", Attestations: []*chain.Attestation{attOf(c[1])}}}, nil, "disagrees with execution"},
		{"an honest block reported", nil, []ProverStatements{{Prover: "p", Faults: []*chain.FaultReport{{Number: 2, Reason: "x"}}}}, nil, "re-execution confirms"},
		{"a doctored block finalized", map[uint64]bool{3: true}, nil, []Finality{{Node: "f", Finalized: 3}}, "finalized block 3"},
		{"a block after it finalized", map[uint64]bool{2: true}, nil, []Finality{{Node: "f", Finalized: 4}}, "finalized block 4"},
		{"finalized beyond the chain", nil, nil, []Finality{{Node: "f", Finalized: 5}}, "beyond the chain"},
		{"finality stopped at an honest block", nil, nil, []Finality{{Node: "f", Finalized: 1, FaultAt: 2}}, "finality stopped at block 2"},
		{"stopped at an honest block before the bad one", map[uint64]bool{3: true}, nil, []Finality{{Node: "f", Finalized: 1, FaultAt: 2}}, "finality stopped at block 2"},
	}
	for _, tc := range cases {
		v := CheckProverSoundness(c, tc.bad, tc.stmts, tc.finals)
		if v == nil || v.Property != PropProverSoundness || !strings.Contains(v.Detail, tc.want) {
			t.Errorf("%s: got %v, want P5 with %q", tc.name, v, tc.want)
		}
	}
}
