package fullnode

import (
	"crypto/ecdsa"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/internal/chaintest"
	"github.com/meganode/meganode/node/internal/nodetest"
)

func proverKeys() []*ecdsa.PrivateKey {
	return []*ecdsa.PrivateKey{nodetest.Key("prover", 0), nodetest.Key("prover", 1), nodetest.Key("prover", 2)}
}

func withProvers(c *Config) {
	for i, k := range proverKeys() {
		c.Provers = append(c.Provers, crypto.PubkeyToAddress(k.PublicKey))
		c.ProverNodes = append(c.ProverNodes, node.NodeID("prover"+string(rune('0'+i))))
	}
}

func attest(t *testing.T, s *chaintest.Stream, key *ecdsa.PrivateKey, n uint64, hash common.Hash) []byte {
	t.Helper()
	if hash == (common.Hash{}) {
		hash = s.Seq.Ledger().BlockHash(n)
	}
	a := &chain.Attestation{ChainID: nodetest.ChainID, Number: n, Hash: hash}
	if err := a.Sign(key); err != nil {
		t.Fatal(err)
	}
	return a.Encode()
}

// TestFinalityNeedsAQuorumInOrder: a block is finalized once a majority of
// the configured provers attested its hash and every block before it is
// finalized; other keys and other hashes do not count.
func TestFinalityNeedsAQuorumInOrder(t *testing.T) {
	s := chaintest.Produce(t, 12, 3)
	h := newHarness(t, s, withProvers)
	h.feed(1, 12)
	keys := proverKeys()
	for n := uint64(1); n <= 3; n++ {
		h.fn.OnMessage("p0", attest(t, s, keys[0], n, common.Hash{}))
	}
	h.fn.OnMessage("x", attest(t, s, nodetest.Key("impostor", 0), 1, common.Hash{}))
	h.fn.OnMessage("p1", attest(t, s, keys[1], 1, common.Hash{9}))
	for n := uint64(2); n <= 3; n++ {
		h.fn.OnMessage("p1", attest(t, s, keys[1], n, common.Hash{}))
	}
	if got := h.fn.Finalized(); got != 0 {
		t.Fatalf("finalized %d with block 1 short of a quorum", got)
	}
	h.fn.OnMessage("p1", attest(t, s, keys[1], 1, common.Hash{}))
	if got := h.fn.Finalized(); got != 3 {
		t.Fatalf("finalized %d, want 3", got)
	}
	if a := h.call(&api.Call{Method: api.MethodHead}); a.Finalized != 3 || a.Safe != 4 || a.Fault != "" {
		t.Fatalf("head %+v", a)
	}
	if a := h.call(&api.Call{Method: api.MethodBalance, Address: nodetest.Sink, Tag: api.Finalized}); a.Err != nil || a.At.Block != 3 || a.At.MiniBlock != 9 {
		t.Fatalf("read at finalized: %+v", a)
	}
	// Finality survives a restart.
	again := &harness{t: t, s: s, cfg: h.cfg, disk: h.disk}
	again.start(h.env.Clock)
	if got := again.fn.Finalized(); got != 3 {
		t.Fatalf("finalized %d after a restart, want 3", got)
	}
	// Behind the safe block, the node asks every prover for statements.
	again.env.Fire(t, again.fn, timerPoll)
	asked := map[node.NodeID]bool{}
	for _, m := range again.env.Sent {
		if req, err := chain.DecodeAttRequest(m.Msg); err == nil && req.From == 4 && req.Count == 1 {
			asked[m.To] = true
		}
	}
	if len(asked) != 3 {
		t.Fatalf("asked %v for statements, want the 3 provers", asked)
	}
}

// TestFaultReportStopsFinality: a configured prover's fault report against
// a block of the node's chain stops finality before it, even with a
// quorum of attestations, and the API says why.
func TestFaultReportStopsFinality(t *testing.T) {
	s := chaintest.Produce(t, 12, 3)
	h := newHarness(t, s, withProvers)
	h.feed(1, 12)
	keys := proverKeys()
	f := &chain.FaultReport{ChainID: nodetest.ChainID, Number: 2, Hash: s.Seq.Ledger().BlockHash(2), Reason: "state root: header x, re-execution y"}
	if err := f.Sign(keys[2]); err != nil {
		t.Fatal(err)
	}
	h.fn.OnMessage("p2", f.Encode())
	for n := uint64(1); n <= 4; n++ {
		for _, k := range keys[:2] {
			h.fn.OnMessage("p", attest(t, s, k, n, common.Hash{}))
		}
	}
	if got := h.fn.Finalized(); got != 1 {
		t.Fatalf("finalized %d past a reported block", got)
	}
	if a := h.call(&api.Call{Method: api.MethodHead}); a.Finalized != 1 || !strings.Contains(a.Fault, "block 2") {
		t.Fatalf("head %+v, want finality at 1 and the fault", a)
	}
}
