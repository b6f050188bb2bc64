package sequencer

import (
	"bytes"
	"testing"
	"time"

	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/cover"
	"github.com/meganode/meganode/node/internal/nodetest"
	"github.com/meganode/meganode/node/ledger"
)

// The pipeline: execute → seal → persist → announce, with the sync between
// persist and announce completing later, as its own event.

// A closed mini-block is on disk at once, but nothing that depends on it
// leaves the sequencer before its sync completes: not the mini-block, not
// the receipt, not a read of its state.
func TestNothingLeavesBeforeItsSync(t *testing.T) {
	f := newFixture()
	h := newHarness(t, f, nil)
	tx := f.tx(f.keys[0], 0, sink, 5, 21_000, nil)
	req := h.send(api.MethodSendTxSync, enc(t, tx))
	h.env.Clock = h.env.Clock.Add(h.cfg.MiniBlockInterval)
	h.env.Fire(t, h.seq, timerTick)
	if _, err := h.disk.Get(mbKey(1)); err != nil {
		t.Fatalf("mini-block 1 is not committed after the tick: %v", err)
	}
	if len(h.env.Syncs) != 1 {
		t.Fatalf("%d syncs asked for, want 1", len(h.env.Syncs))
	}
	if len(h.env.Published) != 0 || len(req.Answers) != 0 {
		t.Fatalf("before the sync completed: %d published, %d answers", len(h.env.Published), len(req.Answers))
	}
	if n := h.nonce(addr(f.keys[0]), api.Latest); n != 0 {
		t.Fatalf("a read saw nonce %d before the sync completed", n)
	}
	if a := answer(t, h.call(&api.Call{Method: api.MethodReceipt, Hash: tx.Hash()})); a.Err == nil || a.Err.Kind != api.KindNotFound {
		t.Fatalf("the receipt was readable before its sync: %+v", a)
	}
	// A range request from a fullnode is served from what is durable.
	h.seq.OnMessage("fullnode1", (&chain.RangeRequest{ID: 1, From: 1, Count: 8}).Encode())
	resp, err := chain.DecodeRangeResponse(h.env.Sent[len(h.env.Sent)-1].Msg)
	if err != nil || resp.Head != 0 || len(resp.MiniBlocks) != 0 {
		t.Fatalf("range answer before the sync: head %d, %d mini-blocks (%v)", resp.Head, len(resp.MiniBlocks), err)
	}

	h.env.CompleteSyncs(h.seq)
	if len(h.env.Published) != 1 {
		t.Fatalf("published %d after the sync, want 1", len(h.env.Published))
	}
	if a := answer(t, req); a.Err != nil || a.Receipt.MiniBlock != 1 || a.Receipt.From != addr(f.keys[0]) {
		t.Fatalf("receipt after the sync: %+v", a)
	}
	if n := h.nonce(addr(f.keys[0]), api.Latest); n != 1 {
		t.Fatalf("nonce %d after the sync, want 1", n)
	}
}

// The sequencer keeps executing and closing mini-blocks while earlier ones
// sync (group commit); one completion releases them all, in order.
func TestGroupCommitReleasesInOrder(t *testing.T) {
	f := newFixture()
	h := newHarness(t, f, nil)
	var reqs []*fakeReq
	for i := range 3 {
		reqs = append(reqs, h.send(api.MethodSendTxSync, enc(t, f.tx(f.keys[0], uint64(i), sink, 1, 21_000, nil))))
		h.env.Clock = h.env.Clock.Add(h.cfg.MiniBlockInterval)
		h.env.Fire(t, h.seq, timerTick)
	}
	if len(h.env.Syncs) != 3 || len(h.env.Published) != 0 {
		t.Fatalf("%d syncs in flight, %d published; want 3 and 0", len(h.env.Syncs), len(h.env.Published))
	}
	if h.env.Marks[cover.SeqPipelined] == 0 {
		t.Fatal("closing with syncs in flight is not marked")
	}
	// The first completes: mini-block 1 goes out, alone.
	first := h.env.Syncs[0]
	h.env.Syncs = h.env.Syncs[1:]
	h.seq.OnSynced(first)
	if len(h.env.Published) != 1 || len(reqs[0].Answers) != 1 || len(reqs[1].Answers) != 0 {
		t.Fatalf("after the first sync: %d published, answers %d/%d", len(h.env.Published), len(reqs[0].Answers), len(reqs[1].Answers))
	}
	// The newest completes: it covers the one before.
	h.env.CompleteSyncs(h.seq)
	if len(h.env.Published) != 3 {
		t.Fatalf("published %d, want 3", len(h.env.Published))
	}
	for i, raw := range h.env.Published {
		mb, err := chain.DecodeMiniBlock(raw)
		if err != nil || mb.Header.Number != uint64(i+1) {
			t.Fatalf("published #%d is mini-block %d (%v)", i, mb.Header.Number, err)
		}
		if a := answer(t, reqs[i]); a.Err != nil || a.Receipt.MiniBlock != uint64(i+1) {
			t.Fatalf("send %d: %+v", i, a)
		}
	}
}

// At the bound on syncs in flight the mini-block being filled stays open:
// transactions still execute, and go into the next close once a sync
// completes.
func TestSyncBoundHoldsTheMiniBlockOpen(t *testing.T) {
	f := newFixture()
	h := newHarness(t, f, func(c *Config) { c.MaxInFlight = 2 })
	for i := range 4 {
		h.send(api.MethodSendTx, enc(t, f.tx(f.keys[0], uint64(i), sink, 1, 21_000, nil)))
		h.env.Clock = h.env.Clock.Add(h.cfg.MiniBlockInterval)
		h.env.Fire(t, h.seq, timerTick)
	}
	if head, _ := h.seq.Ledger().Head(); head.Number != 2 || len(h.env.Syncs) != 2 {
		t.Fatalf("head %d with %d syncs in flight; want 2 and 2", head.Number, len(h.env.Syncs))
	}
	if h.env.Marks[cover.SeqSyncBackpressure] == 0 {
		t.Fatal("the bound is not marked")
	}
	if n := len(h.seq.pending); n != 2 {
		t.Fatalf("%d transactions executed and held, want 2", n)
	}
	h.env.CompleteSyncs(h.seq)
	mb := h.tick()
	if mb.Header.Number != 3 || len(mb.Txs) != 2 {
		t.Fatalf("after the syncs: mini-block %d with %d txs, want 3 with the 2 held", mb.Header.Number, len(mb.Txs))
	}
}

// With a minimum gap, a lone transaction does not wait for the timer: the
// mini-block closes as soon as the sequencer is idle (a zero-delay timer
// comes after whatever is queued), MinGap after the last close at the
// earliest.
func TestIdleSequencerClosesEarly(t *testing.T) {
	f := newFixture()
	h := newHarness(t, f, func(c *Config) { c.MinGap = 2 * time.Millisecond })
	tick := h.env.Timers[0]
	req := h.send(api.MethodSendTxSync, enc(t, f.tx(f.keys[0], 0, sink, 1, 21_000, nil)))
	var early *nodetest.Timer
	for i := range h.env.Timers {
		if h.env.Timers[i].ID == timerClose {
			early = &h.env.Timers[i]
		}
	}
	if early == nil {
		t.Fatal("no early close armed after a transaction executed")
	}
	if !early.At.Before(tick.At) || early.At != h.env.Clock {
		t.Fatalf("early close due at %v, the tick at %v, now %v: want now", early.At, tick.At, h.env.Clock)
	}
	h.env.FireAndSync(t, h.seq, timerClose)
	if a := answer(t, req); a.Err != nil || a.Receipt.MiniBlock != 1 {
		t.Fatalf("the early close did not answer: %+v", a)
	}
	if h.env.Marks[cover.SeqEarlyClose] != 1 {
		t.Fatal("the early close is not marked")
	}
	// The next transaction, right after: MinGap from that close.
	h.send(api.MethodSendTx, enc(t, f.tx(f.keys[0], 1, sink, 1, 21_000, nil)))
	for _, tm := range h.env.Timers {
		if tm.ID == timerClose && tm.At != h.env.Clock.Add(2*time.Millisecond) {
			t.Fatalf("second early close due at %v, want %v", tm.At, h.env.Clock.Add(2*time.Millisecond))
		}
	}
	// The tick still comes on its schedule.
	if due := h.tickDue(t); due != tick.At {
		t.Fatalf("the tick moved from %v to %v", tick.At, due)
	}
}

// The schedule does not drift: a tick handled late is followed by one due
// an interval after the late one was due, not after it was handled; one
// more than an interval late skips the slots it missed, and they count
// towards the block, which seals on time.
func TestScheduleDoesNotDrift(t *testing.T) {
	f := newFixture()
	h := newHarness(t, f, func(c *Config) { c.MiniBlocksPerBlock = 10 })
	due := h.env.Timers[0].At
	iv := h.cfg.MiniBlockInterval
	// 3 ms late.
	h.env.Clock = due.Add(3 * time.Millisecond)
	h.env.FireAndSync(t, h.seq, timerTick)
	if next := h.tickDue(t); next != due.Add(iv) {
		t.Fatalf("after a tick 3 ms late, the next is due %v after the first, want %v", next.Sub(due), iv)
	}
	// 35 ms late: slots 3, 4 and 5 are skipped, and counted.
	due = h.tickDue(t)
	h.env.Clock = due.Add(35 * time.Millisecond)
	h.env.FireAndSync(t, h.seq, timerTick)
	if next := h.tickDue(t); next != due.Add(4*iv) {
		t.Fatalf("after a tick 35 ms late, the next is due %v later, want %v", next.Sub(due), 4*iv)
	}
	if h.env.Marks[cover.SeqLateTick] == 0 {
		t.Fatal("the late tick is not marked")
	}
	// 2 mini-blocks so far, 5 intervals: the block seals at its 10th.
	sealed := 0
	for range 5 {
		h.env.Clock = h.tickDue(t)
		h.env.FireAndSync(t, h.seq, timerTick)
		if mb, _ := chain.DecodeMiniBlock(h.env.Published[len(h.env.Published)-1]); mb.Sealed != nil {
			sealed++
			if mb.Header.Index != 6 {
				t.Fatalf("the block sealed with mini-block #%d, want #6 (its 10th interval)", mb.Header.Index)
			}
		}
	}
	if sealed != 1 {
		t.Fatalf("%d blocks sealed in 10 intervals", sealed)
	}
}

func (h *harness) tickDue(t *testing.T) time.Time {
	t.Helper()
	for _, tm := range h.env.Timers {
		if tm.ID == timerTick {
			return tm.At
		}
	}
	t.Fatal("no tick armed")
	return time.Time{}
}

// A restarted sequencer lets nothing out of what it recovered before a
// sync says it is durable: a killed process leaves its unsynced writes
// readable, and they may still be lost.
func TestStartServesNothingBeforeItsBarrier(t *testing.T) {
	f := newFixture()
	h := newHarness(t, f, nil)
	h.send(api.MethodSendTx, enc(t, f.tx(f.keys[0], 0, sink, 1, 21_000, nil)))
	h.tick()
	s, err := New(h.cfg)
	if err != nil {
		t.Fatal(err)
	}
	env := newFakeEnv("seq", h.disk, h.env.Clock)
	if err := s.Start(env); err != nil {
		t.Fatal(err)
	}
	r := &fakeReq{Call: (&api.Call{Method: api.MethodHead}).Encode()}
	s.OnRequest(r)
	if a := answer(t, r); a.Err == nil || a.Err.Kind != api.KindUnavailable || !bytes.Contains([]byte(a.Err.Message), []byte("starting")) {
		t.Fatalf("a read before the barrier: %+v", a)
	}
	s.OnMessage("fullnode1", (&chain.RangeRequest{ID: 1, From: 1, Count: 8}).Encode())
	if len(env.Sent) != 0 {
		t.Fatal("a range request was answered before the barrier")
	}
	env.CompleteSyncs(s)
	r = &fakeReq{Call: (&api.Call{Method: api.MethodHead}).Encode()}
	s.OnRequest(r)
	if a := answer(t, r); a.Err != nil || a.At.MiniBlock != 1 {
		t.Fatalf("a read after the barrier: %+v", a)
	}
}

// A disk error while mini-blocks sync: the sequencer reopens its ledger,
// keeps the clients whose transactions are in what it committed (their
// syncs still complete), and answers the others at once: nobody waits in
// silence.
func TestReopenKeepsTheWaitersItOwesReceipts(t *testing.T) {
	f := newFixture()
	h := newHarness(t, f, nil)
	disk := &failDisk{Disk: h.disk}
	h.env = newFakeEnv("seq", disk, h.env.Clock)
	h.start()
	committed := h.send(api.MethodSendTxSync, enc(t, f.tx(f.keys[0], 0, sink, 1, 21_000, nil)))
	h.env.Clock = h.env.Clock.Add(h.cfg.MiniBlockInterval)
	h.env.Fire(t, h.seq, timerTick) // mini-block 1 committed, its sync in flight
	lost := h.send(api.MethodSendTxSync, enc(t, f.tx(f.keys[1], 0, sink, 1, 21_000, nil)))
	disk.fail = 1
	h.env.Clock = h.env.Clock.Add(h.cfg.MiniBlockInterval)
	h.env.Fire(t, h.seq, timerTick) // mini-block 2 fails to commit
	h.env.Clock = h.env.Clock.Add(h.cfg.RetryRecovery)
	h.env.Fire(t, h.seq, timerRecover)
	if a := answer(t, lost); a.Err == nil || a.Err.Kind != api.KindUnavailable {
		t.Fatalf("the waiter of the lost mini-block: %+v, want unavailable at once", a)
	}
	if len(committed.Answers) != 0 {
		t.Fatal("the waiter of the syncing mini-block was answered before its sync")
	}
	if h.env.Marks[cover.SeqKeptWaiters] == 0 {
		t.Fatal("keeping waiters over a reopen is not marked")
	}
	h.env.CompleteSyncs(h.seq)
	if a := answer(t, committed); a.Err != nil || a.Receipt.MiniBlock != 1 {
		t.Fatalf("the waiter of the syncing mini-block: %+v", a)
	}
	if len(h.env.Published) != 1 {
		t.Fatalf("published %d, want mini-block 1", len(h.env.Published))
	}
}

// Admission runs before the step, from any goroutine: a transaction it
// admitted goes to the step decoded, with its sender cached; one it refuses
// never reaches the step, with the kind the step would have given.
func TestAdmissionBeforeTheStep(t *testing.T) {
	f := newFixture()
	h := newHarness(t, f, nil)
	tx := f.tx(f.keys[0], 0, sink, 1, 21_000, nil)
	done := make(chan error, 1)
	admitted := make(chan *api.Call, 1)
	go func() {
		got, err := h.seq.Admit(enc(t, tx))
		if err == nil {
			admitted <- &api.Call{Method: api.MethodSendTxSync, Raw: enc(t, tx), Tx: got}
		}
		done <- err
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c := <-admitted
	r := &typedReq{call: c}
	h.seq.OnRequest(r)
	h.tick()
	if r.answer == nil || r.answer.Err != nil || r.answer.Receipt.From != addr(f.keys[0]) {
		t.Fatalf("the admitted send: %+v", r.answer)
	}
	for _, c := range []struct {
		raw  []byte
		kind api.Kind
	}{
		{[]byte{0xde, 0xad}, api.KindInvalidInput},
		{enc(t, f.tx(f.keys[0], 0, sink, 1, 20_000, nil)), api.KindIntrinsicGas},
		{enc(t, f.tx(f.keys[0], 0, sink, 1, 1_000_000_000, nil)), api.KindGasLimit},
	} {
		if _, err := h.seq.Admit(c.raw); err == nil || ledger.AsError(err).Kind != c.kind {
			t.Fatalf("admitting %x: %v, want %v", c.raw[:2], err, c.kind)
		}
	}
}

// typedReq is a request as the production runtime makes them: the call
// decoded, the answer taken as it is.
type typedReq struct {
	call   *api.Call
	answer *api.Answer
}

func (r *typedReq) Client() node.NodeID  { return "rpc" }
func (r *typedReq) Body() []byte         { return r.call.Encode() }
func (r *typedReq) Call() *api.Call      { return r.call }
func (r *typedReq) Answer(a *api.Answer) { r.answer = a }
func (r *typedReq) Respond(b []byte) {
	a, err := api.DecodeAnswer(b)
	if err != nil {
		a = api.Failed(err)
	}
	r.answer = a
}
