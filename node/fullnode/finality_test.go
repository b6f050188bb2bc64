package fullnode

import (
	"crypto/ecdsa"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"
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

// report signs a fault report against block n of s with key, carrying
// evidence.
func report(t *testing.T, s *chaintest.Stream, key *ecdsa.PrivateKey, n uint64, evidence []byte) []byte {
	t.Helper()
	f := &chain.FaultReport{ChainID: nodetest.ChainID, Number: n, Hash: s.Seq.Ledger().BlockHash(n), Reason: "state root: header x, re-execution y", Evidence: evidence}
	if err := f.Sign(key); err != nil {
		t.Fatal(err)
	}
	return f.Encode()
}

// lieAt makes the sequencer credit an account that no transaction touches
// in mini-block n: a self-consistent lie (diff, root and witness agree).
func lieAt(n uint64) func(*chain.MiniBlockHeader, *chain.Diff) *chain.Diff {
	return func(h *chain.MiniBlockHeader, d *chain.Diff) *chain.Diff {
		if h.Number != n {
			return d
		}
		return d.WithBalance(common.HexToAddress("0xbad0"), uint256.NewInt(1_000_000))
	}
}

// TestVerifiedFaultStopsFinality: against a block whose diff lies
// consistently (the fullnode applies it, its roots agree), a prover's
// report carrying the block's bundle is verified by the node itself and
// stops finality before the block for good, even with a quorum of
// attestations; the API says why.
func TestVerifiedFaultStopsFinality(t *testing.T) {
	s := chaintest.ProduceLying(t, 12, 3, lieAt(5)) // mini-block 5 is in block 2
	h := newHarness(t, s, withProvers)
	h.feed(1, 12)
	if h.fn.Halted() != nil {
		t.Fatalf("a consistent lie halted the fullnode: %v", h.fn.Halted())
	}
	keys := proverKeys()
	h.fn.OnMessage("p2", report(t, s, keys[2], 2, s.Bundles[1]))
	for n := uint64(1); n <= 4; n++ {
		for _, k := range keys[:2] {
			h.fn.OnMessage("p", attest(t, s, k, n, common.Hash{}))
		}
	}
	if got := h.fn.Finalized(); got != 1 {
		t.Fatalf("finalized %d past a block shown faulty", got)
	}
	if f := h.fn.Fault(); f == nil || f.Number != 2 {
		t.Fatalf("fault %v, want block 2's", f)
	}
	a := h.call(&api.Call{Method: api.MethodHead})
	if a.Finalized != 1 || !strings.Contains(a.Fault, "block 2") || !strings.Contains(a.Fault, "diff differs from re-execution") {
		t.Fatalf("head %+v, want finality at 1 and the node's own finding", a)
	}
	if m := h.fn.Metrics(); m.FaultsVerified != 1 || m.FaultsRefused != 0 || len(h.fn.Marked()) != 0 {
		t.Fatalf("metrics %+v, marked %v", m, h.fn.Marked())
	}
}

// TestFalseFaultReportsAreRefused: one prover's reports against a sound
// block — carrying the block's real bundle, no evidence, another block's
// bundle, or a bundle it edited — are each refused, the prover is marked
// and not heard on faults again, and the chain finalizes with the other
// provers' quorum. Only a verified fault stops finality.
func TestFalseFaultReportsAreRefused(t *testing.T) {
	s := chaintest.Produce(t, 15, 3)
	keys := proverKeys()
	edited, err := chain.DecodeBlockBundle(s.Bundles[1])
	if err != nil {
		t.Fatal(err)
	}
	// Mini-block 4 credited an account, signed again by another key: the
	// next one does not chain on it, and the signature is not the
	// sequencer's.
	edited.MiniBlocks[0] = s.Resigned(t, 4, nodetest.Key("impostor", 0), func(mb *chain.MiniBlock) {
		mb.Diff = mb.Diff.WithBalance(common.HexToAddress("0xbad0"), uint256.NewInt(1))
	})
	for _, c := range []struct {
		name, why string
		evidence  []byte
	}{
		{"the real bundle", "the evidence validates", s.Bundles[1]},
		{"no evidence", "no evidence", nil},
		{"another block's bundle", "evidence is block 3", s.Bundles[2]},
		{"an edited bundle", "evidence: open bundle", edited.Encode()},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, s, withProvers)
			h.feed(1, 15)
			h.fn.OnMessage("p2", report(t, s, keys[2], 2, c.evidence))
			for n := uint64(1); n <= 4; n++ {
				for _, k := range keys[:2] {
					h.fn.OnMessage("p", attest(t, s, k, n, common.Hash{}))
				}
			}
			if got := h.fn.Finalized(); got != 4 {
				t.Fatalf("finalized %d, want 4: a false report stopped finality", got)
			}
			if h.fn.Fault() != nil {
				t.Fatalf("fault %v stands", h.fn.Fault())
			}
			marked := h.fn.Marked()
			if len(marked) != 1 || marked[0].Prover != crypto.PubkeyToAddress(keys[2].PublicKey) || !strings.Contains(marked[0].Reason, c.why) {
				t.Fatalf("marked %+v, want prover 2 for %q", marked, c.why)
			}
			// Marked: its next report is not opened.
			h.fn.OnMessage("p2", report(t, s, keys[2], 5, s.Bundles[4]))
			if m := h.fn.Metrics(); m.FaultsRefused != 1 || m.FaultsIgnored != 1 {
				t.Fatalf("metrics %+v", m)
			}
		})
	}
}

// TestUntrustingVerifierIsTheGuard: the same false report, checked by a
// verifier that trusts any report (Config.VerifyFault), stops finality:
// the guard is the evidence check, not the report's signature.
func TestUntrustingVerifierIsTheGuard(t *testing.T) {
	s := chaintest.Produce(t, 12, 3)
	h := newHarness(t, s, func(c *Config) {
		withProvers(c)
		c.VerifyFault = func(*chain.FaultReport) FaultCheck { return FaultCheck{Verified: true, Reason: "trusted"} }
	})
	h.feed(1, 12)
	keys := proverKeys()
	h.fn.OnMessage("p2", report(t, s, keys[2], 2, nil))
	for _, k := range keys[:2] {
		h.fn.OnMessage("p", attest(t, s, k, 1, common.Hash{}))
		h.fn.OnMessage("p", attest(t, s, k, 2, common.Hash{}))
	}
	if got := h.fn.Finalized(); got != 1 || h.fn.Fault() == nil {
		t.Fatalf("finalized %d, fault %v: the trusting verifier was not used", got, h.fn.Fault())
	}
}

// Fault reports are kept only within MaxAttAhead of the finalized block,
// and from this chain: one further ahead, or of another chain, is not
// held (memory stays bounded); a report in the window is.
func TestFaultReportsOutsideTheWindowAreNotKept(t *testing.T) {
	s := chaintest.Produce(t, 15, 3)
	h := newHarness(t, s, func(c *Config) { withProvers(c); c.MaxAttAhead = 2 })
	h.feed(1, 15)
	keys := proverKeys()
	h.fn.OnMessage("p2", report(t, s, keys[2], 3, s.Bundles[2])) // 3 > 0 + 2
	other := &chain.FaultReport{ChainID: nodetest.ChainID + 1, Number: 2, Hash: s.Seq.Ledger().BlockHash(2), Evidence: s.Bundles[1]}
	if err := other.Sign(keys[2]); err != nil {
		t.Fatal(err)
	}
	h.fn.OnMessage("p2", other.Encode())
	if n := len(h.fn.fin.faults); n != 0 {
		t.Fatalf("%d blocks with reports held, want none: out of the window or of another chain", n)
	}
	h.fn.OnMessage("p2", report(t, s, keys[2], 2, s.Bundles[1]))
	if n := len(h.fn.fin.faults[2]); n != 1 {
		t.Fatalf("%d reports of block 2 held, want the one in the window", n)
	}
}
