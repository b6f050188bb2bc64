package sequencer

import (
	"strings"
	"testing"
	"time"

	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
)

// groupOf1 is a harness whose sequencer is the one member of a group: it
// elects itself, and everything goes through its raft log.
func groupOf1(t *testing.T) *harness {
	f := newFixture()
	return newHarness(t, f, func(c *Config) {
		c.Group = &GroupConfig{ID: 1, Members: []Member{{ID: 1, Node: "seq", Key: addr(f.seqKey)}}, Tick: time.Millisecond, ElectionTicks: 3}
	})
}

// raftTick moves the clock one raft tick, fires it and completes the
// syncs it asked for.
func (h *harness) raftTick() {
	h.t.Helper()
	h.env.Clock = h.env.Clock.Add(time.Millisecond)
	h.env.FireAndSync(h.t, h.seq, timerRaft)
}

// A member that does not lead refuses sends with a retryable error; once
// elected and caught up it executes, and what it executed is published
// and answered only once the raft log has it durable: the mini-block
// carries the term it was built in.
func TestGroupMemberLeadsAndAcksAfterCommit(t *testing.T) {
	h := groupOf1(t)
	tx := h.f.tx(h.f.keys[0], 0, sink, 1, 21_000, nil)
	a := answer(t, h.send(api.MethodSendTxSync, enc(t, tx)))
	if a.Err == nil || a.Err.Kind != api.KindUnavailable || !strings.Contains(a.Err.Message, "electing a leader") {
		t.Fatalf("a send before the election: %+v, want a retryable error saying the group elects", a.Err)
	}
	for i := 0; ; i++ {
		if leads, _ := h.seq.Leads(); leads {
			break
		}
		if i > 20 {
			t.Fatal("a group of one did not elect itself within 20 ticks")
		}
		h.raftTick()
	}
	_, term := h.seq.Leads()
	r := h.send(api.MethodSendTxSync, enc(t, tx))
	published := len(h.env.Published)
	// The tick closes the mini-block and proposes it; its raft sync is
	// not complete yet.
	h.env.Clock = h.env.Clock.Add(h.cfg.MiniBlockInterval)
	h.env.Fire(t, h.seq, timerTick)
	if len(r.Answers) != 0 || len(h.env.Published) != published {
		t.Fatalf("answered (%d) or published (%d) before the raft log's sync", len(r.Answers), len(h.env.Published)-published)
	}
	if h.seq.grp.proposed == nil {
		t.Fatal("the closed mini-block is not in the raft log")
	}
	// A send meanwhile waits for the commit (the executor's base does not
	// hold what it flushed yet).
	tx2 := h.f.tx(h.f.keys[0], 1, sink, 1, 21_000, nil)
	r2 := h.send(api.MethodSendTx, enc(t, tx2))
	if len(r2.Answers) != 0 || len(h.seq.grp.deferred) != 1 {
		t.Fatalf("a send while a mini-block is in the log: %d answers, %d deferred; want it held", len(r2.Answers), len(h.seq.grp.deferred))
	}
	h.env.CompleteSyncs(h.seq)
	for i := 0; i < 5 && len(r.Answers) == 0; i++ {
		h.raftTick()
	}
	got := answer(t, r)
	if got.Err != nil || got.Receipt == nil || got.Receipt.Status != 1 {
		t.Fatalf("the sync send's answer after the commit: %+v", got)
	}
	if len(h.env.Published) == published {
		t.Fatal("nothing published after the commit")
	}
	mb, err := chain.DecodeMiniBlock(h.env.Published[published])
	if err != nil {
		t.Fatal(err)
	}
	if mb.Header.Term != term || term == 0 {
		t.Fatalf("mini-block term %d, the leader's %d", mb.Header.Term, term)
	}
	if len(h.seq.grp.deferred) != 0 {
		t.Fatal("the held send was not taken after the commit")
	}
}

// A group member restarted over its disk takes the raft log up after the
// entry its ledger's head came from, and leads again at a newer term.
func TestGroupMemberRestarts(t *testing.T) {
	h := groupOf1(t)
	for i := 0; i < 20; i++ {
		if leads, _ := h.seq.Leads(); leads {
			break
		}
		h.raftTick()
	}
	for range 5 {
		h.env.Clock = h.env.Clock.Add(h.cfg.MiniBlockInterval)
		h.env.FireAndSync(t, h.seq, timerTick)
		h.raftTick()
	}
	head, _ := h.seq.Ledger().Head()
	_, term := h.seq.Leads()
	if head.Number == 0 || h.seq.appliedIndex() == 0 {
		t.Fatalf("head %d, applied raft index %d after five ticks", head.Number, h.seq.appliedIndex())
	}
	h.restart()
	for i := 0; ; i++ {
		if leads, _ := h.seq.Leads(); leads {
			break
		}
		if i > 20 {
			t.Fatal("the restarted member did not lead again")
		}
		h.raftTick()
	}
	again, _ := h.seq.Ledger().Head()
	_, term2 := h.seq.Leads()
	if again.Number < head.Number || term2 <= term {
		t.Fatalf("after the restart: head %d (was %d), term %d (was %d)", again.Number, head.Number, term2, term)
	}
}
