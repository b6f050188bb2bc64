package prover

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/internal/chaintest"
	"github.com/meganode/meganode/node/internal/nodetest"
	"github.com/meganode/meganode/node/memdisk"
)

type harness struct {
	t    *testing.T
	s    *chaintest.Stream
	env  *nodetest.Env
	disk *memdisk.Disk
	p    *Prover
	cfg  Config
}

func newHarness(t *testing.T, s *chaintest.Stream, disk *memdisk.Disk, mutate func(*Config)) *harness {
	t.Helper()
	cfg := Config{Genesis: s.Gen, Key: nodetest.Key("prover", 0), Sequencers: chain.Keys(s.Sequencer())}
	if mutate != nil {
		mutate(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, s: s, env: nodetest.NewEnv("prover", disk, nodetest.T0.Add(time.Hour)), disk: disk, p: p, cfg: cfg}
	if err := p.Start(h.env); err != nil {
		t.Fatal(err)
	}
	h.env.CompleteSyncs(p) // the start's barrier
	return h
}

// settle runs every validation step due, and completes the syncs they ask
// for.
func (h *harness) settle() {
	for slices.ContainsFunc(h.env.Timers, func(x nodetest.Timer) bool { return x.ID == timerStep }) {
		h.env.Clock = h.env.Clock.Add(h.cfg.StepDelay + time.Millisecond)
		h.env.FireAndSync(h.t, h.p, timerStep)
	}
}

// statements are the attestations and fault reports published, in order.
func (h *harness) statements() [][]byte {
	var out [][]byte
	for _, g := range h.env.Gossip {
		if g.Topic == chain.TopicAttestations {
			out = append(out, g.Msg)
		}
	}
	return out
}

// TestReverseOrderSameAttestations: a prover given the blocks newest first,
// one at a time, signs exactly the attestations of a prover given them in
// order, all at once; both attest every block.
func TestReverseOrderSameAttestations(t *testing.T) {
	s := chaintest.Produce(t, 32, 4)
	fwd := newHarness(t, s, memdisk.New(), nil)
	for _, b := range s.Bundles {
		fwd.p.OnMessage("seq", b)
	}
	fwd.settle()
	rev := newHarness(t, s, memdisk.New(), func(c *Config) { c.MaxConcurrent = 1 })
	for i := len(s.Bundles) - 1; i >= 0; i-- {
		rev.p.OnMessage("seq", s.Bundles[i])
		rev.settle()
	}
	n := uint64(len(s.Bundles))
	if fwd.p.Low() != n || rev.p.Low() != n {
		t.Fatalf("low %d and %d, want %d", fwd.p.Low(), rev.p.Low(), n)
	}
	if m := fwd.p.Metrics(); m.Attested != n || m.Faults != 0 {
		t.Fatalf("forward: %+v", m)
	}
	for i := uint64(1); i <= n; i++ {
		a, f := fwd.p.Statement(i)
		b, g := rev.p.Statement(i)
		if a == nil || b == nil || f != nil || g != nil {
			t.Fatalf("block %d: statements %v %v %v %v", i, a, f, b, g)
		}
		if !bytes.Equal(a.Encode(), b.Encode()) {
			t.Fatalf("block %d: attestations differ: %+v vs %+v", i, a, b)
		}
		sb, _ := s.Seq.Ledger().SealedBlock(i)
		if a.Hash != sb.Header.Hash() || a.PostRoot != sb.Header.Root {
			t.Fatalf("block %d: attested %v/%v, chain %v/%v", i, a.Hash, a.PostRoot, sb.Header.Hash(), sb.Header.Root)
		}
		if signer, err := a.Signer(); err != nil || signer != fwd.p.Address() {
			t.Fatalf("block %d: signer %v %v", i, signer, err)
		}
	}
	// The published statements are the same set, in another order.
	x, y := fwd.statements(), rev.statements()
	slices.SortFunc(x, bytes.Compare)
	slices.SortFunc(y, bytes.Compare)
	if !slices.EqualFunc(x, y, bytes.Equal) {
		t.Fatal("published statements differ")
	}
}

// TestRestartDoesNotValidateAgain: statements survive a restart; blocks
// stated before are ignored after it.
func TestRestartDoesNotValidateAgain(t *testing.T) {
	s := chaintest.Produce(t, 16, 4)
	disk := memdisk.New()
	h := newHarness(t, s, disk, nil)
	for _, b := range s.Bundles[:3] {
		h.p.OnMessage("seq", b)
	}
	h.settle()
	again := newHarness(t, s, disk, nil)
	if again.p.Low() != 3 {
		t.Fatalf("restarted at low %d, want 3", again.p.Low())
	}
	for _, b := range s.Bundles {
		again.p.OnMessage("seq", b)
	}
	again.settle()
	if m := again.p.Metrics(); m.Attested != 1 || len(again.statements()) != 1 {
		t.Fatalf("after restart: %+v, %d published; want only block 4", m, len(again.statements()))
	}
	if a, _ := again.p.Statement(2); a == nil {
		t.Fatal("block 2's attestation lost across the restart")
	}
}

// TestFaultReport: a block whose mini-block diff was doctored and signed
// again by the sequencer gets a signed fault report naming the mismatch,
// not an attestation.
func TestFaultReport(t *testing.T) {
	s := chaintest.Produce(t, 8, 4)
	b, err := chain.DecodeBlockBundle(s.Bundles[1])
	if err != nil {
		t.Fatal(err)
	}
	// The block's last mini-block: nothing after it in the bundle chains on
	// its hash.
	b.MiniBlocks[3] = s.Resigned(t, 8, s.SeqKey, func(mb *chain.MiniBlock) {
		ad := &mb.Diff.Accounts[len(mb.Diff.Accounts)-1]
		ad.Flags |= chain.SetNonce
		ad.Nonce += 7
	})
	h := newHarness(t, s, memdisk.New(), nil)
	h.p.OnMessage("seq", s.Bundles[0])
	h.p.OnMessage("seq", b.Encode())
	h.settle()
	a, f := h.p.Statement(2)
	if a != nil || f == nil {
		t.Fatalf("doctored block: attestation %v, fault %v", a, f)
	}
	if !strings.Contains(f.Reason, "mini-block 8") {
		t.Fatalf("fault reason %q does not name mini-block 8", f.Reason)
	}
	if signer, err := f.Signer(); err != nil || signer != h.p.Address() {
		t.Fatalf("fault signer %v %v", signer, err)
	}
	// The report carries its evidence: the bundle it validated.
	if !bytes.Equal(f.Evidence, b.Encode()) {
		t.Fatalf("fault evidence is %d bytes, not the block's bundle", len(f.Evidence))
	}
	if m := h.p.Metrics(); m.Attested != 1 || m.Faults != 1 {
		t.Fatalf("metrics %+v", m)
	}
}

// TestFetchFromDAAndServe: a prover that heard nothing asks DA, validates
// what DA sends, and answers a fullnode's request for statements.
func TestFetchFromDAAndServe(t *testing.T) {
	s := chaintest.Produce(t, 12, 4)
	h := newHarness(t, s, memdisk.New(), func(c *Config) { c.DA = "da" })
	h.env.Clock = h.env.Clock.Add(h.cfg.PollEvery)
	h.env.Fire(t, h.p, timerPoll)
	if len(h.env.Sent) != 1 || h.env.Sent[0].To != "da" {
		t.Fatalf("sent %+v, want one request to DA", h.env.Sent)
	}
	req, err := chain.DecodeBlockRangeRequest(h.env.Sent[0].Msg)
	if err != nil || req.From != 1 {
		t.Fatalf("request %+v %v", req, err)
	}
	resp := &chain.BlockRangeResponse{ID: req.ID, From: 1, Head: 3, Bundles: s.Bundles}
	h.p.OnMessage("elsewhere", resp.Encode()) // not DA: ignored
	h.settle()
	if h.p.Low() != 0 {
		t.Fatal("took bundles from a node that is not DA")
	}
	h.p.OnMessage("da", resp.Encode())
	h.settle()
	if h.p.Low() != 3 {
		t.Fatalf("low %d after DA's answer, want 3", h.p.Low())
	}
	h.p.OnMessage("full", (&chain.AttRequest{ID: 9, From: 2, Count: 5}).Encode())
	last := h.env.Sent[len(h.env.Sent)-1]
	ar, err := chain.DecodeAttResponse(last.Msg)
	if err != nil || last.To != "full" || ar.ID != 9 || len(ar.Attestations) != 2 || len(ar.Faults) != 0 {
		t.Fatalf("answer to %s: %+v %v", last.To, ar, err)
	}
}

// TestStatementsLeaveOnceDurable: a prover publishes a statement, and
// answers a fullnode's request with it, only once the sync of the batch
// that stores it completed.
func TestStatementsLeaveOnceDurable(t *testing.T) {
	s := chaintest.Produce(t, 8, 4)
	h := newHarness(t, s, memdisk.New(), nil)
	h.p.OnMessage("seq", s.Bundles[0])
	h.env.Clock = h.env.Clock.Add(h.cfg.StepDelay)
	h.env.Fire(t, h.p, timerStep)
	if a, _ := h.p.Statement(1); a == nil || len(h.env.Syncs) != 1 {
		t.Fatalf("after the step: statement %v, %d syncs asked for", a, len(h.env.Syncs))
	}
	if len(h.statements()) != 0 {
		t.Fatal("a statement was published before its sync")
	}
	h.p.OnMessage("full", (&chain.AttRequest{ID: 1, From: 1, Count: 4}).Encode())
	if ar, err := chain.DecodeAttResponse(h.env.Sent[len(h.env.Sent)-1].Msg); err != nil || len(ar.Attestations) != 0 {
		t.Fatalf("a statement was served before its sync: %+v %v", ar, err)
	}
	h.env.CompleteSyncs(h.p)
	if len(h.statements()) != 1 {
		t.Fatalf("published %d statements after the sync, want 1", len(h.statements()))
	}
	h.p.OnMessage("full", (&chain.AttRequest{ID: 2, From: 1, Count: 4}).Encode())
	if ar, err := chain.DecodeAttResponse(h.env.Sent[len(h.env.Sent)-1].Msg); err != nil || len(ar.Attestations) != 1 {
		t.Fatalf("after the sync: %+v %v", ar, err)
	}
}

// TestPendingIsBounded: bundles beyond MaxPending are dropped and counted.
func TestPendingIsBounded(t *testing.T) {
	s := chaintest.Produce(t, 20, 4)
	h := newHarness(t, s, memdisk.New(), func(c *Config) { c.MaxPending = 2 })
	for _, b := range s.Bundles {
		h.p.OnMessage("seq", b)
	}
	if m := h.p.Metrics(); m.Dropped != uint64(len(s.Bundles)-2) {
		t.Fatalf("dropped %d of %d with room for 2", m.Dropped, len(s.Bundles))
	}
	h.p.OnMessage("seq", []byte{0x81, 1, 2, 3})
	if m := h.p.Metrics(); m.Dropped != uint64(len(s.Bundles)-1) {
		t.Fatal("a garbled bundle was not counted as dropped")
	}
	var _ node.Node = h.p
}

// A configuration without a genesis, a chain config or a key is refused
// by name, not run.
func TestNewRefusesAnIncompleteConfig(t *testing.T) {
	s := chaintest.Produce(t, 1, 1)
	noChain := *s.Gen
	noChain.Config = nil
	key := nodetest.Key("prover", 0)
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no genesis", Config{Key: key}, "genesis"},
		{"no chain config", Config{Genesis: &noChain, Key: key}, "genesis"},
		{"no key", Config{Genesis: s.Gen}, "signing key"},
	} {
		if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming the %s", c.name, err, c.want)
		}
	}
	if p, err := New(Config{Genesis: s.Gen, Key: key}); err != nil || p.Address() != crypto.PubkeyToAddress(key.PublicKey) {
		t.Fatalf("a complete config: %v", err)
	}
}
