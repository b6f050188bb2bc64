package fullnode

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/cover"
	"github.com/meganode/meganode/node/internal/chaintest"
	"github.com/meganode/meganode/node/ledger"
	"github.com/meganode/meganode/node/memdisk"
)

// harness runs one fullnode over a fake env and a memdisk.
type harness struct {
	t    *testing.T
	s    *chaintest.Stream
	cfg  Config
	disk *memdisk.Disk
	env  *fakeEnv
	fn   *Fullnode
}

func newHarness(t *testing.T, s *chaintest.Stream, mutate func(*Config)) *harness {
	t.Helper()
	cfg := Config{Genesis: s.Gen, Sequencers: chain.Keys(crypto.PubkeyToAddress(s.SeqKey.PublicKey)), Sources: []node.NodeID{"seq", "peer"}}
	if mutate != nil {
		mutate(&cfg)
	}
	h := &harness{t: t, s: s, cfg: cfg, disk: memdisk.New()}
	h.start(t0.Add(time.Second))
	return h
}

func (h *harness) start(now time.Time) {
	h.t.Helper()
	h.env = newFakeEnv("full", h.disk, now)
	fn, err := New(h.cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := fn.Start(h.env); err != nil {
		h.t.Fatal(err)
	}
	h.fn = fn
	h.env.CompleteSyncs(fn) // the start's barrier
}

// feed delivers mini-blocks from..to of the stream, gossiped by the
// sequencer, and completes the syncs the fullnode asked for.
func (h *harness) feed(from, to int) {
	for n := from; n <= to; n++ {
		h.fn.OnMessage("seq", h.s.Raw(n))
	}
	h.env.CompleteSyncs(h.fn)
}

func (h *harness) head() uint64 {
	head, _ := h.fn.Ledger().Head()
	return head.Number
}

// checkAt checks the head and the state root against the sequencer's.
func (h *harness) checkAt(n int) {
	h.t.Helper()
	led := h.fn.Ledger()
	head, hash := led.Head()
	if head.Number != uint64(n) {
		h.t.Fatalf("head %d, want %d", head.Number, n)
	}
	if n > 0 {
		mb, _ := chain.DecodeMiniBlock(h.s.Raw(n))
		if hash != mb.Hash() {
			h.t.Fatalf("head hash %v, want %v", hash, mb.Hash())
		}
	}
	if root := led.State().Root(); root != h.s.Roots[n] {
		h.t.Fatalf("state root at %d: %v, sequencer had %v", n, root, h.s.Roots[n])
	}
}

// rangeRequests decodes the range requests sent since sent[from].
func (h *harness) rangeRequests(from int) ([]node.NodeID, []*chain.RangeRequest) {
	h.t.Helper()
	var to []node.NodeID
	var reqs []*chain.RangeRequest
	for _, m := range h.env.Sent[from:] {
		if chain.Kind(m.Msg) != chain.FormatRangeRequestV1 {
			continue
		}
		r, err := chain.DecodeRangeRequest(m.Msg)
		if err != nil {
			h.t.Fatal(err)
		}
		to = append(to, m.To)
		reqs = append(reqs, r)
	}
	return to, reqs
}

func (h *harness) call(c *api.Call) *api.Answer {
	h.t.Helper()
	r := &fakeReq{Call: c.Encode()}
	h.fn.OnRequest(r)
	if len(r.Answers) != 1 {
		h.t.Fatalf("%d answers, want 1", len(r.Answers))
	}
	a, err := api.DecodeAnswer(r.Answers[0])
	if err != nil {
		h.t.Fatal(err)
	}
	return a
}

func TestAppliesMiniBlocksInOrder(t *testing.T) {
	s := chaintest.Produce(t, 9, 3)
	h := newHarness(t, s, nil)
	if len(h.env.Subs) != 2 || h.env.Subs[0] != chain.TopicMiniBlocks || h.env.Subs[1] != chain.TopicAttestations {
		t.Fatalf("subscribed to %v, want the mini-block and attestation topics", h.env.Subs)
	}
	h.checkAt(0)
	for n := 1; n <= 9; n++ {
		h.feed(n, n)
		h.checkAt(n)
	}
	if m := h.fn.Metrics(); m.Applied != 9 || m.Sealed != 3 || m.BadMiniBlocks != 0 || m.Repairs != 0 {
		t.Fatalf("metrics %+v", m)
	}
	if len(h.env.Sent) != 0 {
		t.Fatalf("sent %d messages while fed in order", len(h.env.Sent))
	}
	// Duplicates change nothing.
	h.feed(4, 9)
	h.checkAt(9)
	if m := h.fn.Metrics(); m.Applied != 9 || m.Conflicts != 0 {
		t.Fatalf("metrics after duplicates %+v", m)
	}
	if h.fn.Ledger().Safe().Header.Number.Uint64() != 3 {
		t.Fatalf("safe block %v, want 3", h.fn.Ledger().Safe().Header.Number)
	}
	// It serves what it applied to other fullnodes.
	h.fn.OnMessage("peer", (&chain.RangeRequest{ID: 5, From: 8, Count: 4}).Encode())
	// A signed mini-block at the head with another hash is a conflict:
	// the sequencer signed two histories, and the fullnode halts.
	h.fn.OnMessage("seq", s.Resigned(t, 9, s.SeqKey, func(mb *chain.MiniBlock) { mb.Header.TimeMicros++ }))
	if m := h.fn.Metrics(); m.Conflicts != 1 || m.Applied != 9 {
		t.Fatalf("metrics after a conflicting mini-block %+v", m)
	}
	if !errors.Is(h.fn.Halted(), ErrConflict) {
		t.Fatalf("halted: %v, want ErrConflict", h.fn.Halted())
	}
	if len(h.env.Sent) != 1 || h.env.Sent[0].To != "peer" {
		t.Fatalf("sent %d messages, want a range response to peer", len(h.env.Sent))
	}
	resp, err := chain.DecodeRangeResponse(h.env.Sent[0].Msg)
	if err != nil || resp.ID != 5 || resp.Head != 9 || len(resp.MiniBlocks) != 2 ||
		!bytes.Equal(resp.MiniBlocks[0], s.Raw(8)) || !bytes.Equal(resp.MiniBlocks[1], s.Raw(9)) {
		t.Fatalf("range response %+v (%v), want mini-blocks 8 and 9", resp, err)
	}
}

func TestOutOfOrderIsBufferedUntilTheGapFills(t *testing.T) {
	s := chaintest.Produce(t, 6, 3)
	h := newHarness(t, s, nil)
	h.feed(1, 1)
	for _, n := range []int{5, 3, 4} {
		h.feed(n, n)
		h.checkAt(1)
	}
	h.feed(2, 2)
	h.checkAt(5)
	h.feed(6, 6)
	h.checkAt(6)
	if m := h.fn.Metrics(); m.Applied != 6 || m.Sealed != 2 {
		t.Fatalf("metrics %+v", m)
	}
}

func TestGapIsRepairedByARangeRequest(t *testing.T) {
	s := chaintest.Produce(t, 9, 3)
	h := newHarness(t, s, func(c *Config) { c.RepairBatch = 5 })
	h.feed(1, 1)
	h.feed(4, 6)
	h.checkAt(1)
	to, reqs := h.rangeRequests(0)
	if len(reqs) != 1 || to[0] != "seq" || reqs[0].From != 2 || reqs[0].Count != 5 {
		t.Fatalf("range requests %v %+v, want one to seq from 2 for 5", to, reqs)
	}
	// An answer to another request is ignored.
	stale := s.Seq.Ledger().View().ServeRange(&chain.RangeRequest{ID: reqs[0].ID + 1, From: 2, Count: 5}, 4<<20)
	h.fn.OnMessage("seq", stale.Encode())
	h.checkAt(1)
	// The sequencer's own answer fills the gap; the node asks on while the
	// answer says there is more.
	resp := s.Seq.Ledger().View().ServeRange(reqs[0], 4<<20)
	if len(resp.MiniBlocks) != 5 {
		t.Fatalf("sequencer served %d mini-blocks", len(resp.MiniBlocks))
	}
	h.fn.OnMessage("seq", resp.Encode())
	h.checkAt(6)
	to, reqs = h.rangeRequests(1)
	if len(reqs) != 1 || to[0] != "seq" || reqs[0].From != 7 {
		t.Fatalf("follow-up requests %v %+v, want one to seq from 7", to, reqs)
	}
	h.fn.OnMessage("seq", s.Seq.Ledger().View().ServeRange(reqs[0], 4<<20).Encode())
	h.checkAt(9)
	if _, reqs := h.rangeRequests(2); len(reqs) != 0 {
		t.Fatalf("asked again at the sequencer's head: %+v", reqs)
	}
	if m := h.fn.Metrics(); m.Repairs != 2 || m.Applied != 9 {
		t.Fatalf("metrics %+v", m)
	}
}

func TestRepairTimeoutAsksTheNextSource(t *testing.T) {
	s := chaintest.Produce(t, 4, 3)
	h := newHarness(t, s, func(c *Config) { c.Sources = []node.NodeID{"seq", "peer1", "peer2"} })
	h.feed(3, 3)
	want := []node.NodeID{"seq", "peer1", "peer2", "seq"}
	for i := range want {
		if i > 0 {
			h.env.Clock = h.env.Clock.Add(h.fn.cfg.RepairTimeout)
			h.env.Fire(t, h.fn, timerRepair+node.TimerID(h.fn.reqID))
		}
		to, reqs := h.rangeRequests(0)
		if len(reqs) != i+1 || to[i] != want[i] || reqs[i].From != 1 {
			t.Fatalf("after %d timeouts: requests to %v, want %v", i, to, want[:i+1])
		}
	}
	_, reqs := h.rangeRequests(0)
	// A late answer to the first request is ignored; the current one is used.
	h.fn.OnMessage("seq", s.Seq.Ledger().View().ServeRange(reqs[0], 4<<20).Encode())
	h.checkAt(0)
	h.fn.OnMessage("seq", s.Seq.Ledger().View().ServeRange(reqs[3], 4<<20).Encode())
	h.checkAt(4)
	// A timer after the answer asks no one.
	n := len(h.env.Sent)
	h.env.Fire(t, h.fn, timerRepair+node.TimerID(h.fn.reqID))
	if len(h.env.Sent) != n {
		t.Fatal("a repair timer after the answer sent a request")
	}
}

func TestPollCatchesUpAfterLostGossip(t *testing.T) {
	s := chaintest.Produce(t, 5, 3)
	h := newHarness(t, s, nil)
	h.feed(1, 2) // 3..5 lost
	h.env.Clock = h.env.Clock.Add(h.fn.cfg.PollEvery)
	h.env.Fire(t, h.fn, timerPoll)
	to, reqs := h.rangeRequests(0)
	if len(reqs) != 1 || to[0] != "seq" || reqs[0].From != 3 {
		t.Fatalf("poll sent %v %+v, want a request to seq from 3", to, reqs)
	}
	h.fn.OnMessage("seq", s.Seq.Ledger().View().ServeRange(reqs[0], 4<<20).Encode())
	h.checkAt(5)
}

func TestWronglySignedMiniBlockIsRefused(t *testing.T) {
	s := chaintest.Produce(t, 3, 3)
	h := newHarness(t, s, nil)
	h.fn.OnMessage("seq", s.Resigned(t, 1, testKey("impostor", 0), nil))
	h.checkAt(0)
	if m := h.fn.Metrics(); m.BadMiniBlocks != 1 || m.Applied != 0 {
		t.Fatalf("metrics %+v, want one bad mini-block", m)
	}
	bad := append([]byte{byte(chain.FormatMiniBlockV1)}, 1, 2, 3, 4, 5, 6)
	h.fn.OnMessage("seq", bad)
	if m := h.fn.Metrics(); m.BadMiniBlocks != 2 {
		t.Fatalf("metrics %+v, want two bad mini-blocks", m)
	}
	// In a range response too.
	h.env.Fire(t, h.fn, timerPoll)
	_, reqs := h.rangeRequests(0)
	if len(reqs) != 1 {
		t.Fatalf("%d range requests, want 1", len(reqs))
	}
	resp := &chain.RangeResponse{ID: reqs[0].ID, From: 1, Head: 3, MiniBlocks: [][]byte{s.Resigned(t, 1, testKey("impostor", 0), nil)}}
	h.fn.OnMessage("seq", resp.Encode())
	h.checkAt(0)
	if m := h.fn.Metrics(); m.BadMiniBlocks != 3 {
		t.Fatalf("metrics %+v, want three bad mini-blocks", m)
	}
	h.feed(1, 3)
	h.checkAt(3)
}

func TestSignedMiniBlockNotChainingOnTheHeadHalts(t *testing.T) {
	s := chaintest.Produce(t, 3, 3)
	h := newHarness(t, s, nil)
	h.feed(1, 1)
	h.fn.OnMessage("seq", s.Resigned(t, 2, s.SeqKey, func(mb *chain.MiniBlock) { mb.Header.ParentHash = common.Hash{9} }))
	if m := h.fn.Metrics(); m.Conflicts != 1 || m.Applied != 1 {
		t.Fatalf("metrics %+v, want one conflict", m)
	}
	if !errors.Is(h.fn.Halted(), ErrConflict) {
		t.Fatalf("halted: %v, want ErrConflict", h.fn.Halted())
	}
	h.feed(2, 3) // nothing more is applied
	h.checkAt(1)
}

func TestDoctoredSealHaltsTheNode(t *testing.T) {
	s := chaintest.Produce(t, 6, 3)
	h := newHarness(t, s, nil)
	h.feed(1, 2)
	doctored := s.Resigned(t, 3, s.SeqKey, func(mb *chain.MiniBlock) { mb.Sealed.Root = common.Hash{0xde, 0xad} })
	h.fn.OnMessage("seq", doctored)
	if err := h.fn.Halted(); !errors.Is(err, ledger.ErrSealMismatch) {
		t.Fatalf("Halted() = %v, want a seal mismatch", err)
	}
	if m := h.fn.Metrics(); m.RootMismatches != 1 || m.Applied != 2 {
		t.Fatalf("metrics %+v", m)
	}
	addr := crypto.PubkeyToAddress(s.Keys[0].PublicKey)
	for _, c := range []*api.Call{
		{Method: api.MethodBalance, Address: addr, Tag: api.Latest},
		{Method: api.MethodNonce, Address: addr, Tag: api.AtMiniBlock(1)},
		{Method: api.MethodHead},
		{Method: api.MethodMiniBlock, Number: 1},
	} {
		if a := h.call(c); a.Err == nil || a.Err.Kind != api.KindHalted {
			t.Fatalf("%v on a halted node: %+v, want halted", c.Method, a.Err)
		}
	}
	// It applies nothing more, serves no ranges, asks for none.
	n := len(h.env.Sent)
	h.feed(4, 6)
	h.fn.OnMessage("peer", (&chain.RangeRequest{ID: 1, From: 1, Count: 2}).Encode())
	h.env.Clock = h.env.Clock.Add(h.fn.cfg.PollEvery)
	h.env.Fire(t, h.fn, timerPoll)
	if len(h.env.Sent) != n {
		t.Fatalf("a halted node sent %d messages", len(h.env.Sent)-n)
	}
	if m := h.fn.Metrics(); m.Applied != 2 || m.RootMismatches != 1 {
		t.Fatalf("metrics after halt %+v", m)
	}
	// A restart is back at the last good mini-block, and takes the true seal.
	h.start(h.env.Clock)
	if h.fn.Halted() != nil {
		t.Fatal("restarted node is halted")
	}
	h.checkAt(2)
	h.feed(3, 6)
	h.checkAt(6)
}

func TestRestartRestoresTheHead(t *testing.T) {
	s := chaintest.Produce(t, 9, 3)
	h := newHarness(t, s, func(c *Config) { c.Ledger = ledger.Config{SnapshotEvery: 2} })
	h.feed(1, 7)
	safe := h.fn.Ledger().Safe().Header.Hash()
	h.start(h.env.Clock)
	h.checkAt(7)
	if got := h.fn.Ledger().Safe().Header.Hash(); got != safe {
		t.Fatalf("safe block after restart %v, want %v", got, safe)
	}
	if a := h.call(&api.Call{Method: api.MethodHead}); a.At.MiniBlock != 7 || a.At.Block != 3 || a.Safe != 2 {
		t.Fatalf("head answer after restart %+v", a)
	}
	h.feed(8, 9)
	h.checkAt(9)
}

func TestReadsAtTags(t *testing.T) {
	s := chaintest.Produce(t, 8, 3) // blocks 1 and 2 sealed at 3 and 6; 7 and 8 open
	h := newHarness(t, s, nil)
	h.feed(1, 8)
	seqLed := s.Seq.Ledger()
	addrs := []common.Address{sink, logger, setter}
	for _, k := range s.Keys {
		addrs = append(addrs, crypto.PubkeyToAddress(k.PublicKey))
	}
	cases := []struct {
		tag api.Tag
		at  api.Height
	}{
		{api.Pending, api.Height{MiniBlock: 8, Block: 3}}, // the open block's mini-blocks so far
		{api.Latest, api.Height{MiniBlock: 6, Block: 2}},  // the newest sealed block
		{api.Safe, api.Height{MiniBlock: 6, Block: 2}},
		{api.AtBlock(0), api.Height{MiniBlock: 0, Block: 0}},
		{api.AtBlock(1), api.Height{MiniBlock: 3, Block: 1}},
		{api.AtBlock(2), api.Height{MiniBlock: 6, Block: 2}},
	}
	for n := range uint64(9) {
		cases = append(cases, struct {
			tag api.Tag
			at  api.Height
		}{api.AtMiniBlock(n), api.Height{MiniBlock: n, Block: (n + 2) / 3}})
	}
	distinct := map[string]bool{}
	for _, c := range cases {
		want, err := seqLed.StateAt(c.at.MiniBlock)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range addrs {
			acct, _ := want.Account(a)
			bal := h.call(&api.Call{Method: api.MethodBalance, Address: a, Tag: c.tag})
			if bal.Err != nil || bal.At != c.at || new(big.Int).SetBytes(bal.Value).Cmp(acct.Balance.ToBig()) != 0 {
				t.Fatalf("balance of %v at %v: %v at %+v (%v), want %v at %+v", a, c.tag, new(big.Int).SetBytes(bal.Value), bal.At, bal.Err, acct.Balance.ToBig(), c.at)
			}
			nonce := h.call(&api.Call{Method: api.MethodNonce, Address: a, Tag: c.tag})
			if nonce.Err != nil || nonce.At != c.at || nonce.Nonce != acct.Nonce {
				t.Fatalf("nonce of %v at %v: %d at %+v (%v), want %d", a, c.tag, nonce.Nonce, nonce.At, nonce.Err, acct.Nonce)
			}
			distinct[acct.Balance.String()] = true
		}
		slot := h.call(&api.Call{Method: api.MethodStorage, Address: setter, Key: common.Hash{}, Tag: c.tag})
		if w := want.Storage(setter, common.Hash{}); slot.Err != nil || common.BytesToHash(slot.Value) != w {
			t.Fatalf("setter slot at %v: %x (%v), want %v", c.tag, slot.Value, slot.Err, w)
		}
		code := h.call(&api.Call{Method: api.MethodCode, Address: logger, Tag: c.tag})
		if code.Err != nil || len(code.Value) != 8 {
			t.Fatalf("logger code at %v: %x (%v)", c.tag, code.Value, code.Err)
		}
	}
	if len(distinct) < 10 {
		t.Fatalf("only %d distinct balances across heights: the test reads nothing that changes", len(distinct))
	}
	for _, tag := range []api.Tag{api.AtBlock(3), api.AtMiniBlock(9)} {
		if a := h.call(&api.Call{Method: api.MethodBalance, Address: sink, Tag: tag}); a.Err == nil || a.Err.Kind != api.KindFuture {
			t.Fatalf("balance at %v: %+v, want future", tag, a.Err)
		}
	}
	if a := h.call(&api.Call{Method: api.MethodSendTx, Raw: []byte{1}}); a.Err == nil || a.Err.Kind != api.KindUnknownMethod {
		t.Fatalf("send to a fullnode: %+v, want unknown method", a.Err)
	}
}

// A repair timer armed for an earlier request that was answered still
// counts against the next request: that one is given up on, and the next
// source asked, long before RepairTimeout has passed.
func TestStaleRepairTimerDoesNotCutShortTheNextRequest(t *testing.T) {
	s := chaintest.Produce(t, 6, 3)
	h := newHarness(t, s, nil)
	h.feed(6, 6)
	_, reqs := h.rangeRequests(0)
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	h.env.Clock = h.env.Clock.Add(90 * time.Millisecond)
	// The sequencer answers with a part of the range (a byte limit): the
	// rest is asked of the next source.
	h.fn.OnMessage("seq", s.Seq.Ledger().View().ServeRange(reqs[0], 1).Encode())
	h.checkAt(1)
	to, reqs := h.rangeRequests(0)
	if len(reqs) != 2 || to[1] != "peer" || reqs[1].From != 2 {
		t.Fatalf("follow-up %v %+v", to, reqs)
	}
	h.env.Clock = h.env.Clock.Add(10 * time.Millisecond) // request 1's timer is due, request 2 is 10 ms old
	h.env.Fire(t, h.fn, timerRepair+node.TimerID(h.fn.reqID-1))
	if to, reqs := h.rangeRequests(0); len(reqs) != 2 {
		t.Fatalf("request 2 given up after 10 ms (RepairTimeout %v): asked %v next", h.fn.cfg.RepairTimeout, to[len(to)-1])
	}
	h.fn.OnMessage("peer", s.Seq.Ledger().View().ServeRange(reqs[1], 4<<20).Encode())
	h.checkAt(6)
}

func TestBufferIsBounded(t *testing.T) {
	s := chaintest.Produce(t, 4, 3)
	h := newHarness(t, s, func(c *Config) { c.MaxBuffered = 2 })
	h.feed(4, 4) // beyond head+2: dropped
	h.feed(3, 3) // likewise
	h.feed(2, 2)
	if m := h.fn.Metrics(); m.Dropped != 2 || m.Applied != 0 {
		t.Fatalf("metrics %+v, want two dropped", m)
	}
	h.feed(1, 1)
	h.checkAt(2)
	h.feed(3, 4)
	h.checkAt(4)
}

// A source that answers in smaller pieces than asked while it holds more
// is left for the next one, so that the slowest source does not set the
// pace of catching up.
func TestPartialAnswerMovesToTheNextSource(t *testing.T) {
	s := chaintest.Produce(t, 9, 3)
	h := newHarness(t, s, func(c *Config) { c.RepairBatch = 4 })
	h.feed(1, 1)
	h.feed(4, 4)
	to, reqs := h.rangeRequests(0)
	if len(reqs) != 1 || to[0] != "seq" || reqs[0].From != 2 {
		t.Fatalf("range requests %v %+v", to, reqs)
	}
	// One mini-block of the four asked for, from a source holding nine.
	part := s.Seq.Ledger().View().ServeRange(reqs[0], 1)
	if len(part.MiniBlocks) != 1 || part.Head != 9 {
		t.Fatalf("partial answer %d mini-blocks, head %d", len(part.MiniBlocks), part.Head)
	}
	h.fn.OnMessage("seq", part.Encode())
	h.checkAt(2)
	to, reqs = h.rangeRequests(1)
	if len(reqs) != 1 || to[0] != "peer" || reqs[0].From != 3 {
		t.Fatalf("after a partial answer: requests %v %+v, want the next source from 3", to, reqs)
	}
}

// A fullnode applies what it receives at once, commits each mini-block and
// asks for its sync without waiting; clients and peers see a mini-block,
// and the runtime hears of it, only once its sync completed. At the bound
// on syncs in flight, what arrives waits in the buffer.
func TestNothingIsServedBeforeItsSync(t *testing.T) {
	s := chaintest.Produce(t, 6, 3)
	var seen []uint64
	h := newHarness(t, s, func(c *Config) {
		c.MaxInFlight = 2
		c.OnMiniBlock = func(mb *chain.MiniBlock) { seen = append(seen, mb.Header.Number) }
	})
	for n := 1; n <= 6; n++ {
		h.fn.OnMessage("seq", s.Raw(n))
	}
	if h.head() != 2 || len(h.env.Syncs) != 2 || len(h.fn.buffer) != 4 {
		t.Fatalf("head %d, %d syncs in flight, %d buffered; want 2, 2, 4", h.head(), len(h.env.Syncs), len(h.fn.buffer))
	}
	if h.env.Marks[cover.FullSyncBackpressure] == 0 {
		t.Fatal("the bound is not marked")
	}
	if a := h.call(&api.Call{Method: api.MethodHead}); a.Err != nil || a.At.MiniBlock != 0 {
		t.Fatalf("head before any sync completed: %+v", a)
	}
	h.fn.OnMessage("peer", (&chain.RangeRequest{ID: 1, From: 1, Count: 8}).Encode())
	if resp, err := chain.DecodeRangeResponse(h.env.Sent[len(h.env.Sent)-1].Msg); err != nil || resp.Head != 0 || len(resp.MiniBlocks) != 0 {
		t.Fatalf("a peer was served mini-blocks not yet durable: %+v %v", resp, err)
	}
	if len(seen) != 0 {
		t.Fatalf("the runtime heard of %v before their sync", seen)
	}
	for range 3 {
		h.env.CompleteSyncs(h.fn)
	}
	h.checkAt(6)
	if a := h.call(&api.Call{Method: api.MethodHead}); a.Err != nil || a.At.MiniBlock != 6 || a.Safe != 2 {
		t.Fatalf("head after the syncs: %+v", a)
	}
	if want := []uint64{1, 2, 3, 4, 5, 6}; !slices.Equal(seen, want) {
		t.Fatalf("the runtime heard of %v, want %v", seen, want)
	}
}

// Fencing: with a sequencer group's keys, a fullnode takes mini-blocks
// signed by any member, and refuses one from a term older than its
// head's, without halting; the right one still applies.
func TestRefusesOlderTerm(t *testing.T) {
	s := chaintest.Produce(t, 4, 50)
	other := testKey("member", 2)
	h := newHarness(t, s, func(c *Config) {
		c.Sequencers = chain.Keys(s.Sequencer(), crypto.PubkeyToAddress(other.PublicKey))
	})
	raw1 := s.Resigned(t, 1, s.SeqKey, func(mb *chain.MiniBlock) { mb.Header.Term = 3 })
	mb1, err := chain.DecodeMiniBlock(raw1)
	if err != nil {
		t.Fatal(err)
	}
	at := func(n int, key *ecdsa.PrivateKey, term uint64, parent common.Hash) []byte {
		return s.Resigned(t, n, key, func(mb *chain.MiniBlock) { mb.Header.Term, mb.Header.ParentHash = term, parent })
	}
	h.fn.OnMessage("seq", raw1)
	h.env.CompleteSyncs(h.fn)
	if h.head() != 1 {
		t.Fatalf("head %d after mini-block 1", h.head())
	}
	before := h.fn.Metrics().BadMiniBlocks
	h.fn.OnMessage("seq2", at(2, other, 2, mb1.Hash())) // a deposed leader's, from term 2
	h.env.CompleteSyncs(h.fn)
	if h.head() != 1 || h.fn.Halted() != nil || h.fn.Metrics().BadMiniBlocks != before+1 {
		t.Fatalf("after a term-2 mini-block on a term-3 head: head %d, halted %v, refused %d (was %d)", h.head(), h.fn.Halted(), h.fn.Metrics().BadMiniBlocks, before)
	}
	good := at(2, other, 4, mb1.Hash()) // the next leader's, another member's key, a newer term
	h.fn.OnMessage("seq2", good)
	h.env.CompleteSyncs(h.fn)
	if h.head() != 2 || h.fn.Halted() != nil {
		t.Fatalf("the newer term's mini-block 2: head %d, halted %v", h.head(), h.fn.Halted())
	}
	outsider := s.Resigned(t, 3, testKey("impostor", 0), func(mb *chain.MiniBlock) { mb.Header.Term = 4 })
	h.fn.OnMessage("seq2", outsider)
	h.env.CompleteSyncs(h.fn)
	if h.head() != 2 {
		t.Fatalf("a mini-block signed by a key outside the group applied: head %d", h.head())
	}
}
