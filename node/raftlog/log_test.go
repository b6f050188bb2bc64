package raftlog

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/meganode/meganode/node"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
)

const electionTicks = DefaultElectionTicks

func TestElectionAndReplication(t *testing.T) {
	c := newCluster(t, 3, 1, nil)
	l, ticks := c.waitLeader(3 * electionTicks)
	t.Logf("%s leads after %d ticks", l.env.id, ticks)

	var want []string
	for i := range 20 {
		want = append(want, fmt.Sprintf("entry %d", i))
		c.propose(l, want[i])
		if i%5 == 4 {
			c.settle()
		}
	}
	c.settle()
	c.tick(2) // heartbeats carry the last commit index to the followers
	for _, m := range c.ms {
		if got := m.data(); !slices.Equal(got, want) {
			t.Errorf("%s committed %q, want %q", m.env.id, got, want)
		}
	}
	// The same entries at the same indexes everywhere.
	for _, m := range c.ms[1:] {
		for i, e := range m.got {
			if o := c.ms[0].got[i]; o.Index != e.Index || o.Term != e.Term {
				t.Errorf("%s: entry %d at (%d, %d), %s has it at (%d, %d)", m.env.id, i, e.Index, e.Term, c.ms[0].env.id, o.Index, o.Term)
			}
		}
	}

	f := c.followers(l)[0]
	err := f.log.Propose([]byte("on a follower"))
	if !errors.Is(err, ErrNotLeader) || !strings.Contains(err.Error(), fmt.Sprintf("%q", l.env.id)) {
		t.Errorf("Propose on a follower: %v, want ErrNotLeader naming %s", err, l.env.id)
	}
	if id, n, term := f.log.Leader(); id != l.cfg.ID || n != l.env.id || term != l.log.Status().Term {
		t.Errorf("follower's Leader() = %d %s %d", id, n, term)
	}
}

// Over many seeds, a fresh group elects a leader within a bounded number
// of ticks.
func TestElectionBound(t *testing.T) {
	seeds, worst := 100, 0
	if testing.Short() {
		seeds = 30
	}
	for seed := range uint64(seeds) {
		c := newCluster(t, 3, seed, nil)
		_, ticks := c.waitLeader(4 * electionTicks)
		worst = max(worst, ticks)
	}
	t.Logf("worst of %d seeds: %d ticks", seeds, worst)
	if worst > 3*electionTicks {
		t.Errorf("an election took %d ticks, over %d", worst, 3*electionTicks)
	}
}

// A follower's append acknowledgement leaves only once the entries it
// acknowledges are durable, and it hands out nothing before.
func TestFollowerAcksAfterSync(t *testing.T) {
	c := newCluster(t, 3, 2, nil)
	l, _ := c.waitLeader(3 * electionTicks)
	f := c.followers(l)[0]
	f.hold = true
	since := len(c.sent)
	c.propose(l, "x")
	c.settle()

	if len(f.env.syncs) == 0 || !f.log.Status().Waiting {
		t.Fatalf("%s asked for no sync: %+v", f.env.id, f.log.Status())
	}
	if !slices.ContainsFunc(valuesOf(diskEntries(t, f.env.disk, DefaultPrefix)), func(e *pb.Entry) bool { return string(e.GetData()) == "x" }) {
		t.Fatalf("%s's disk lacks the entry it was sent", f.env.id)
	}
	if acks := c.sentOf(f.env.id, pb.MsgAppResp, since); len(acks) > 0 {
		t.Fatalf("%s acknowledged %d appends before its sync completed", f.env.id, len(acks))
	}
	if slices.Contains(f.data(), "x") {
		t.Fatalf("%s handed out an entry before its sync completed", f.env.id)
	}
	// The leader commits with the other follower; a heartbeat tells f, but
	// f takes no new Ready while one waits.
	c.tick(2)
	if acks := c.sentOf(f.env.id, pb.MsgAppResp, since); len(acks) > 0 || slices.Contains(f.data(), "x") {
		t.Fatalf("%s let something out while its sync was pending", f.env.id)
	}
	// A completion of an earlier sync releases nothing.
	f.log.OnSynced(f.env.syncs[0] - 1)
	if !f.log.Status().Waiting {
		t.Fatal("an earlier sync's completion released the Ready")
	}

	since = len(c.sent)
	f.completeSyncs()
	acks := c.sentOf(f.env.id, pb.MsgAppResp, since)
	if len(acks) == 0 || acks[0].GetReject() {
		t.Fatalf("%s sent no acknowledgement once synced: %v", f.env.id, acks)
	}
	f.hold = false
	c.settle()
	c.tick(2)
	if !slices.Contains(f.data(), "x") {
		t.Errorf("%s never committed the entry", f.env.id)
	}
}

// A follower that crashes before its sync completes loses the entries it
// had written, torn tail included; it had acknowledged none of them, so it
// reopens cleanly and catches up.
func TestCrashBeforeSync(t *testing.T) {
	c := newCluster(t, 3, 13, nil)
	l, _ := c.waitLeader(3 * electionTicks)
	f := c.followers(l)[0]
	cd := onCrashDisk(t, f)
	before := f.log.Status()
	applied := before.Handed

	f.hold = true
	c.propose(l, "x")
	c.propose(l, "y")
	c.settle()
	if f.log.Status().Last <= before.Last {
		t.Fatalf("%s wrote nothing: %+v", f.env.id, f.log.Status())
	}
	f.close()
	if lost := cd.crash(); lost == 0 {
		t.Fatal("the crash lost nothing")
	}
	if v, _ := cd.Get(guardKey(DefaultPrefix)); len(v) >= 1+8+crcLen {
		t.Fatalf("the guard record was not torn: %x", v)
	}
	f.hold = false
	f.open(applied)
	if st := f.log.Status(); st.Last != before.Last || st.Term != before.Term {
		t.Fatalf("reopened after the crash: %+v, before the proposals %+v", st, before)
	}
	c.tick(3)
	if got := f.data(); !slices.Contains(got, "x") || !slices.Contains(got, "y") {
		t.Errorf("%s did not catch up: %q", f.env.id, got)
	}
}

// A voter that crashes before its vote is durable forgets it (its answer
// never left): the batch that held the vote was torn, but only its guard.
func TestCrashLosesAnUnsyncedVote(t *testing.T) {
	c := newCluster(t, 3, 14, nil)
	for _, m := range c.ms {
		m.hold = true
	}
	n1, n2 := c.ms[0], c.ms[1]
	cd := onCrashDisk(t, n2)
	for i := 0; len(c.sentOf(n1.env.id, pb.MsgPreVote, 0)) == 0; i++ {
		if i > 2*electionTicks {
			t.Fatal("n1 does not campaign")
		}
		n1.log.Tick()
	}
	c.settle()
	n1.completeSyncs()
	c.settle()
	if st := n2.log.Status(); st.Vote != 1 || len(cd.pending) != 1 {
		t.Fatalf("n2 has no vote pending: %+v, %d batches pending", st, len(cd.pending))
	}
	n2.close()
	cd.crash()
	n2.open(0)
	if st := n2.log.Status(); st.Vote != 0 || st.Term != 0 {
		t.Fatalf("n2 reopened with the vote it never synced: %+v", st)
	}
	for _, m := range c.ms {
		m.hold = false
	}
	if l, _ := c.waitLeader(4 * electionTicks); l == nil {
		t.Fatal("no leader")
	}
}

// onCrashDisk moves m onto a crash disk holding what it has, all synced.
func onCrashDisk(t *testing.T, m *member) *crashDisk {
	cd := newCrashDisk()
	b := cd.NewBatch()
	if err := m.env.disk.Iterate(nil, func(k, v []byte) error { b.Set(k, v); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	cd.syncThrough(cd.commits)
	m.env.disk = cd
	return cd
}

// The leader sends its entries while it writes them (its heartbeats do
// not wait behind its disk), yet nothing is handed out as committed, on
// any member, before the leader's own sync: the followers' durable copies
// alone do not make it committed where anyone acts on it.
func TestLeaderSendsWhileItSyncsButCommitsAfter(t *testing.T) {
	c := newCluster(t, 3, 3, nil)
	l, _ := c.waitLeader(3 * electionTicks)
	l.hold = true
	since := len(c.sent)
	c.propose(l, "y")
	c.settle()
	c.tick(3)
	early := false
	for _, m := range c.sentOf(l.env.id, pb.MsgApp, since) {
		if len(m.GetEntries()) > 0 {
			early = true
		}
	}
	if !early {
		t.Fatal("the leader held its entries back until its sync")
	}
	for _, m := range c.ms {
		if slices.Contains(m.data(), "y") {
			t.Fatalf("%s handed out the entry before the leader's sync", m.env.id)
		}
	}
	if len(diskEntries(t, l.env.disk, DefaultPrefix)) == 0 {
		t.Fatal("the leader's disk holds nothing")
	}
	l.hold = false
	c.settle()
	c.tick(2)
	for _, m := range c.ms {
		if !slices.Contains(m.data(), "y") {
			t.Errorf("%s did not commit once the leader synced", m.env.id)
		}
	}
}

// A candidate asks for votes only once its vote for itself is durable; a
// voter answers only once its vote is.
func TestVotesAfterSync(t *testing.T) {
	c := newCluster(t, 3, 4, nil)
	for _, m := range c.ms {
		m.hold = true
	}
	n1, n2 := c.ms[0], c.ms[1]
	for i := 0; len(c.sentOf(n1.env.id, pb.MsgPreVote, 0)) == 0; i++ {
		if i > 2*electionTicks {
			t.Fatal("n1 does not campaign")
		}
		n1.log.Tick()
	}
	// Pre-votes change no state, so they are answered at once.
	c.settle()
	if len(c.sentOf(n2.env.id, pb.MsgPreVoteResp, 0)) == 0 {
		t.Fatal("n2 did not answer the pre-vote")
	}
	if st := n1.log.Status(); st.State != raft.StateCandidate.String() || !st.Waiting {
		t.Fatalf("n1 is not a candidate waiting for its sync: %+v", st)
	}
	if v := c.sentOf(n1.env.id, pb.MsgVote, 0); len(v) > 0 {
		t.Fatal("n1 asked for votes before its own vote was durable")
	}
	n1.completeSyncs()
	if len(c.sentOf(n1.env.id, pb.MsgVote, 0)) != 2 {
		t.Fatal("n1 did not ask for votes once synced")
	}
	c.settle()
	if st := n2.log.Status(); st.Vote != 1 || !st.Waiting {
		t.Fatalf("n2 did not vote for n1 and wait for its sync: %+v", st)
	}
	if v := c.sentOf(n2.env.id, pb.MsgVoteResp, 0); len(v) > 0 {
		t.Fatal("n2 granted its vote before it was durable")
	}
	since := len(c.sent)
	n2.completeSyncs()
	if v := c.sentOf(n2.env.id, pb.MsgVoteResp, since); len(v) != 1 || v[0].GetReject() {
		t.Fatalf("n2's vote once synced: %v", v)
	}
	for _, m := range c.ms {
		m.hold = false
	}
	c.settle()
	if l, _ := c.waitLeader(electionTicks); l != n1 {
		t.Errorf("%s leads, want n1", l.env.id)
	}
}

// The leader is cut off: the others elect a new one, at a higher term; the
// old leader's proposals never commit; when it rejoins it follows, and its
// conflicting tail is overwritten on its disk.
func TestIsolatedLeader(t *testing.T) {
	c := newCluster(t, 3, 5, nil)
	old, _ := c.waitLeader(3 * electionTicks)
	c.propose(old, "before")
	c.settle()
	c.tick(2)
	oldTerm := old.log.Status().Term

	c.cut = func(from, to node.NodeID) bool { return from == old.env.id || to == old.env.id }
	for i := range 6 {
		c.propose(old, fmt.Sprintf("lost %d", i))
	}
	c.settle()
	tail := old.log.Status().Last
	if tail < 8 {
		t.Fatalf("the old leader's disk ends at %d", tail)
	}

	// The others elect a new leader; the old one steps down (CheckQuorum).
	var nl *member
	for i := 0; ; i++ {
		if i > 4*electionTicks {
			t.Fatal("no new leader")
		}
		c.tick(1)
		if m := c.leader(); m != nil && m != old && !old.log.IsLeader() {
			nl = m
			break
		}
	}
	if term := nl.log.Status().Term; term <= oldTerm {
		t.Fatalf("new leader at term %d, the old one's was %d", term, oldTerm)
	}
	c.propose(nl, "after 0")
	c.propose(nl, "after 1")
	c.settle()
	c.tick(2)

	newTerm := nl.log.Status().Term
	c.cut = nil
	c.tick(3 * electionTicks)
	if c.leader() != nl || nl.log.Status().Term != newTerm {
		t.Fatalf("the rejoining member disrupted the group: %s leads at term %d", c.leader().env.id, c.leader().log.Status().Term)
	}
	want := []string{"before", "after 0", "after 1"}
	for _, m := range c.ms {
		if got := m.data(); !slices.Equal(got, want) {
			t.Errorf("%s committed %q, want %q", m.env.id, got, want)
		}
	}
	// The old leader's disk now holds the new leader's entries.
	od, nd := diskEntries(t, old.env.disk, DefaultPrefix), diskEntries(t, nl.env.disk, DefaultPrefix)
	for i := uint64(1); i <= max(tail, nl.log.Status().Last); i++ {
		o, n := od[i], nd[i]
		if (o == nil) != (n == nil) || (o != nil && (o.GetTerm() != n.GetTerm() || !bytes.Equal(o.GetData(), n.GetData()))) {
			t.Errorf("entry %d: old leader's disk %v, new leader's %v", i, o, n)
		}
		if o != nil && strings.HasPrefix(string(o.GetData()), "lost") {
			t.Errorf("entry %d on the old leader's disk is still its own %q", i, o.GetData())
		}
	}
}

// A follower closed and reopened from its disk keeps its hard state and
// its log, and catches up.
func TestRestartFollower(t *testing.T) {
	c := newCluster(t, 3, 6, nil)
	l, _ := c.waitLeader(3 * electionTicks)
	for i := range 5 {
		c.propose(l, fmt.Sprintf("a%d", i))
	}
	c.settle()
	c.tick(2)
	f := c.followers(l)[1]
	before := f.log.Status()
	applied := before.Handed
	f.close()

	for i := range 5 {
		c.propose(l, fmt.Sprintf("b%d", i))
	}
	c.settle()
	c.tick(2)

	f.open(applied)
	after := f.log.Status()
	if after.Term != before.Term || after.Vote != before.Vote || after.Commit != before.Commit || after.Last != before.Last {
		t.Fatalf("reopened with %+v, closed with %+v", after, before)
	}
	if got := f.log.Committed(); len(got) != 0 {
		t.Fatalf("reopened, it hands out again %d applied entries", len(got))
	}
	c.tick(3)
	want := []string{"a0", "a1", "a2", "a3", "a4", "b0", "b1", "b2", "b3", "b4"}
	if got := f.data(); !slices.Equal(got, want) {
		t.Errorf("%s committed %q, want %q", f.env.id, got, want)
	}
	if c.leader() != l {
		t.Errorf("the restart changed the leader")
	}
}

// Entries compacted away reach a member that lagged as a Snapshot entry.
func TestCompactionAndSnapshot(t *testing.T) {
	c := newCluster(t, 3, 7, func(cfg *Config) { cfg.KeepEntries = 4 })
	l, _ := c.waitLeader(3 * electionTicks)
	f := c.followers(l)[0]
	c.propose(l, "first")
	c.settle()
	c.tick(2)
	applied := f.got[len(f.got)-1].Index
	f.close()
	for i := range 30 {
		c.propose(l, fmt.Sprintf("e%d", i))
		c.settle()
	}
	c.tick(2)
	st := l.log.Status()
	if st.Compacted < 20 || st.First != st.Compacted+1 {
		t.Fatalf("the leader did not compact: %+v", st)
	}
	if d := diskEntries(t, l.env.disk, DefaultPrefix); d[st.Compacted] != nil || d[st.First] == nil || len(d) != int(st.Last-st.First+1) {
		t.Fatalf("the leader's disk holds %d entries; status %+v", len(d), st)
	}

	f.open(applied)
	c.tick(3)
	var snap *Entry
	for i, e := range f.got {
		if e.Snapshot {
			snap = &f.got[i]
			if i != 1 {
				t.Errorf("the snapshot is entry %d of what %s committed", i, f.env.id)
			}
		}
	}
	if snap == nil {
		t.Fatalf("%s got no snapshot: %+v", f.env.id, f.got)
	}
	// After the snapshot: exactly the leader's entries past it.
	var want []string
	for _, e := range l.got {
		if e.Index > snap.Index {
			want = append(want, string(e.Data))
		}
	}
	if got := f.data()[1:]; !slices.Equal(got, want) {
		t.Errorf("after the snapshot at %d, %s committed %q, want %q", snap.Index, f.env.id, got, want)
	}
	fs := f.log.Status()
	if fs.Compacted != snap.Index || fs.Commit != st.Commit {
		t.Errorf("the follower's status %+v, snapshot %d, leader's commit %d", fs, snap.Index, st.Commit)
	}
	// And it reopens from its own snapshot record.
	handed := fs.Handed
	f.close()
	f.open(handed)
	if s := f.log.Status(); s.Compacted < snap.Index || s.Last != fs.Last {
		t.Errorf("reopened from the snapshot: %+v, before %+v", s, fs)
	}
}

// Bounds on proposals.
func TestBounds(t *testing.T) {
	c := newCluster(t, 3, 8, func(cfg *Config) {
		cfg.MaxEntryBytes = 1 << 10
		cfg.MaxUncommittedBytes = 4 << 10
	})
	l, _ := c.waitLeader(3 * electionTicks)
	if err := l.log.Propose(make([]byte, 1<<10+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("an entry over MaxEntryBytes: %v", err)
	}
	if err := l.log.Propose(nil); !errors.Is(err, ErrEmpty) {
		t.Errorf("an empty entry: %v", err)
	}
	c.cut = func(from, to node.NodeID) bool { return from == l.env.id || to == l.env.id }
	var err error
	n := 0
	for ; n < 100 && err == nil; n++ {
		err = l.log.Propose(bytes.Repeat([]byte{byte(n)}, 1<<10))
		c.settle()
	}
	if !errors.Is(err, ErrBusy) || !errors.Is(err, raft.ErrProposalDropped) {
		t.Fatalf("after %d proposals without a quorum: %v, want ErrBusy", n, err)
	}
	if n > 6 {
		t.Errorf("ErrBusy only after %d KiB uncommitted", n)
	}
}

// A write error keeps the Ready until a write succeeds; nothing leaves
// meanwhile.
func TestWriteErrorRetries(t *testing.T) {
	c := newCluster(t, 3, 9, nil)
	l, _ := c.waitLeader(3 * electionTicks)
	f := c.followers(l)[0]
	fd := &failingDisk{Disk: f.env.disk, fail: 1 << 30}
	f.env.disk = fd
	since := len(c.sent)
	c.propose(l, "z")
	c.settle()
	if st := f.log.Status(); st.DiskErr == nil || st.Waiting {
		t.Fatalf("a failed write: %+v", st)
	}
	if len(c.sentOf(f.env.id, pb.MsgAppResp, since)) > 0 {
		t.Fatal("an acknowledgement left after a failed write")
	}
	fd.fail = 0
	c.tick(1)
	if st := f.log.Status(); st.DiskErr != nil {
		t.Fatalf("the retry failed: %+v", st)
	}
	c.tick(2)
	if !slices.Contains(f.data(), "z") {
		t.Errorf("%s did not commit after the retry", f.env.id)
	}
}

type failingDisk struct {
	node.Disk
	fail int
}

func (d *failingDisk) NewBatch() node.Batch { return &failingBatch{d.Disk.NewBatch(), d} }

type failingBatch struct {
	node.Batch
	d *failingDisk
}

func (b *failingBatch) Commit() error {
	if b.d.fail > 0 {
		b.d.fail--
		return errors.New("injected write error")
	}
	return b.Batch.Commit()
}

// Same seed, same run: elections included (raft's own crypto/rand timer
// never runs).
func TestDeterministic(t *testing.T) {
	run := func(seed uint64) ([]byte, node.NodeID) {
		c := newCluster(t, 3, seed, nil)
		l, _ := c.waitLeader(3 * electionTicks)
		for i := range 5 {
			c.propose(l, fmt.Sprintf("d%d", i))
		}
		c.settle()
		c.cut = func(from, to node.NodeID) bool { return from == l.env.id || to == l.env.id }
		c.tick(4 * electionTicks)
		c.cut = nil
		c.tick(2 * electionTicks)
		nl, _ := c.waitLeader(2 * electionTicks)
		c.propose(nl, "end")
		c.settle()
		return c.trace, l.env.id
	}
	a, la := run(42)
	b, lb := run(42)
	if !bytes.Equal(a, b) || la != lb {
		t.Fatalf("two runs of seed 42 differ: %x (%s) and %x (%s)", a, la, b, lb)
	}
	leaders := map[node.NodeID]bool{}
	for seed := range uint64(8) {
		_, l := run(seed)
		leaders[l] = true
	}
	t.Logf("first leaders over 8 seeds: %d distinct", len(leaders))
	if len(leaders) < 2 {
		t.Errorf("the first leader is the same for 8 seeds: the timeouts are not drawn from the seed")
	}
}

func valuesOf[K comparable, V any](m map[K]V) []V {
	var out []V
	for _, v := range m { // order: tests only look for a member
		out = append(out, v)
	}
	return out
}
