package sim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/traces"
)

// The world's side of the pipeline: syncs that complete later, as their
// own events; crashes between a sync's submission and its completion, and
// between its completion and the node hearing of it; kills that keep what
// was committed; calls a node never answers; invariants that break.

// syncNode commits a counter every tick and asks for a sync, and records
// what it hears.
type syncNode struct {
	w     *World
	env   node.Env
	seq   uint64
	heard []node.SyncID
	asked []node.SyncID
	on    func(n *syncNode, id node.TimerID)
}

func (n *syncNode) Start(env node.Env) error {
	n.env = env
	if v, err := env.Disk().Get([]byte("counter")); err == nil {
		n.seq, _ = decodeCounter(v)
	}
	env.After(probeTick, 1)
	return nil
}

func (n *syncNode) OnTimer(id node.TimerID) {
	if n.on != nil {
		n.on(n, id)
		return
	}
	n.seq++
	b := n.env.Disk().NewBatch()
	b.Set([]byte("counter"), encodeCounter(n.seq))
	if err := b.Commit(); err != nil {
		panic(err)
	}
	n.asked = append(n.asked, n.env.Sync())
	n.env.After(probeTick, 1)
}
func (n *syncNode) OnSynced(id node.SyncID)       { n.heard = append(n.heard, id) }
func (n *syncNode) OnMessage(node.NodeID, []byte) {}
func (n *syncNode) OnRequest(node.Request)        {}

type oneNode struct {
	nodes []NodeSpec
	calls func(c *Client) (node.NodeID, []byte, bool)
}

func (s *oneNode) Nodes() []NodeSpec { return s.nodes }
func (s *oneNode) NextCall(c *Client) (node.NodeID, []byte, bool) {
	if s.calls == nil {
		return "", nil, false
	}
	return s.calls(c)
}
func (s *oneNode) Converged(*World) (bool, string) { return true, "" }
func (s *oneNode) Check(*World) []traces.Violation { return nil }

// runOne runs one node (built by mk) in a quiet world whose syncs take
// sync; setup schedules what the test does.
func runOne(t *testing.T, sync time.Duration, clients int, sc *oneNode, setup func(w *World)) *World {
	t.Helper()
	r := quiet()
	r.Nodes = IntRange{1, 1}
	r.Clients = IntRange{clients, clients}
	r.SyncLatency = DurRange{sync, sync}
	p := &Profile{Name: "one", Ranges: r, New: func(*Config, *rand.Rand) Scenario { return sc }}
	w := newWorld(p, DerivePlan(p, 1), Options{Keep: true})
	if setup != nil {
		setup(w)
	}
	w.run()
	return w
}

func durable(w *World, id node.NodeID) uint64 {
	v, _ := decodeCounter(w.byID[id].disk.durable["counter"])
	return v
}

// A sync completes after the disk's delay, as two events: the data becomes
// durable, then, a little later, the node hears of it. Completions come in
// order, and a completion covers every batch committed before its Sync.
func TestSyncCompletesLaterAndInOrder(t *testing.T) {
	var n *syncNode
	sc := &oneNode{nodes: []NodeSpec{{ID: "n1", New: func() node.Node { n = &syncNode{}; return n }}}}
	var seen []string
	w := runOne(t, 3*time.Millisecond, 0, sc, func(w *World) {
		// Right after the first tick's Sync: committed, not durable.
		w.after(probeTick+time.Millisecond, func() {
			seen = append(seen, fmt.Sprintf("unsynced=%d durable=%d heard=%d", w.byID["n1"].disk.Unsynced(), durable(w, "n1"), len(n.heard)))
		})
		w.after(probeTick+3*time.Millisecond+200*time.Microsecond, func() {
			seen = append(seen, fmt.Sprintf("unsynced=%d durable=%d heard=%d", w.byID["n1"].disk.Unsynced(), durable(w, "n1"), len(n.heard)))
		})
	})
	if want := []string{"unsynced=1 durable=0 heard=0", "unsynced=0 durable=1 heard=1"}; strings.Join(seen, "; ") != strings.Join(want, "; ") {
		t.Fatalf("around the first sync: %v, want %v", seen, want)
	}
	for i := 1; i < len(n.heard); i++ {
		if n.heard[i] <= n.heard[i-1] {
			t.Fatalf("completions out of order: %v", n.heard)
		}
	}
	if len(events(w, traces.KindSync)) == 0 || len(events(w, traces.KindSynced)) == 0 {
		t.Fatal("syncs are not in the trace")
	}
}

// A crash of the machine between a sync's submission and its completion
// loses the batch; one between the completion and the node hearing of it
// keeps the batch, and the node never hears (the sync-crash fault).
func TestSyncCrashWindows(t *testing.T) {
	for _, after := range []bool{false, true} {
		t.Run(fmt.Sprintf("after-durable=%t", after), func(t *testing.T) {
			var nodes []*syncNode
			sc := &oneNode{nodes: []NodeSpec{{ID: "n1", New: func() node.Node { n := &syncNode{}; nodes = append(nodes, n); return n }}}}
			var at uint64
			w := runOne(t, 2*time.Millisecond, 0, sc, func(w *World) {
				w.faultsOn = true
				w.after(95*time.Millisecond, func() {
					at = nodes[0].seq + 1 // the write of the next tick
					w.applyFault(traces.PlannedFault{Kind: FaultSyncCrash, Node: "n1", Symmetric: after, For: 50 * time.Millisecond})
				})
			})
			if len(nodes) != 2 {
				t.Fatalf("n1 started %d times", len(nodes))
			}
			first := nodes[0]
			for _, id := range first.heard {
				if id >= first.asked[len(first.asked)-1] {
					t.Fatal("the crashed incarnation heard of the sync it crashed in")
				}
			}
			recovered := nodes[1].seq - uint64(len(nodes[1].asked))
			if after && recovered != at {
				t.Fatalf("crashed after the sync was durable: recovered %d, want %d", recovered, at)
			}
			if !after && recovered != at-1 {
				t.Fatalf("crashed before the sync was durable: recovered %d, want %d", recovered, at-1)
			}
			if notes := events(w, traces.KindNote); len(notes) == 0 || !strings.Contains(string(notes[0].Data), "crashes") {
				t.Fatal("the sync crash is not in the trace")
			}
		})
	}
}

// A killed process leaves what it committed on the disk, unsynced: its
// next incarnation reads it, and a crash of the machine before any sync
// still loses it.
func TestKillKeepsCommittedWrites(t *testing.T) {
	var nodes []*syncNode
	sc := &oneNode{nodes: []NodeSpec{{ID: "n1", New: func() node.Node {
		n := &syncNode{}
		if len(nodes) > 0 {
			n.on = func(*syncNode, node.TimerID) {} // the second incarnation writes nothing, syncs nothing
		}
		nodes = append(nodes, n)
		return n
	}}}}
	var killedAt uint64
	w := runOne(t, 50*time.Millisecond, 0, sc, func(w *World) {
		w.after(105*time.Millisecond, func() { killedAt = nodes[0].seq; w.byID["n1"].kill() })
		w.after(110*time.Millisecond, func() { w.byID["n1"].start() })
		w.after(120*time.Millisecond, func() { w.byID["n1"].crash() })
		w.after(130*time.Millisecond, func() { w.byID["n1"].start() })
	})
	if len(nodes) != 3 {
		t.Fatalf("n1 started %d times", len(nodes))
	}
	if nodes[1].seq != killedAt {
		t.Fatalf("after the kill, read %d; the process had committed %d", nodes[1].seq, killedAt)
	}
	if nodes[2].seq >= killedAt {
		t.Fatalf("after the machine crashed, read %d: unsynced writes (up to %d) survived", nodes[2].seq, killedAt)
	}
	_ = w
}

// silent takes calls and never answers them.
type silent struct{}

func (silent) Start(node.Env) error          { return nil }
func (silent) OnTimer(node.TimerID)          {}
func (silent) OnSynced(node.SyncID)          {}
func (silent) OnMessage(node.NodeID, []byte) {}
func (silent) OnRequest(node.Request)        {}

// A call delivered to a node that stays up must be answered: a node that
// drops one in silence fails the run's liveness, naming the call.
func TestSilenceIsALivenessFailure(t *testing.T) {
	sc := &oneNode{
		nodes: []NodeSpec{{ID: "n1", New: func() node.Node { return silent{} }}},
		calls: func(c *Client) (node.NodeID, []byte, bool) {
			if c.Last() != nil {
				return "", nil, false
			}
			return "n1", []byte("hello"), true
		},
	}
	w := runOne(t, 0, 1, sc, nil)
	var found bool
	for _, v := range w.violations {
		if v.Property == PropLiveness && strings.Contains(v.Detail, "never answered") && strings.Contains(v.Detail, "n1") {
			found = true
		}
	}
	if !found {
		t.Fatalf("violations %v, want a liveness failure naming the unanswered call", w.violations)
	}
}

// panicky breaks an invariant on its third tick.
type panicky struct {
	env   node.Env
	ticks int
}

func (p *panicky) Start(env node.Env) error { p.env = env; env.After(probeTick, 1); return nil }
func (p *panicky) OnTimer(node.TimerID) {
	p.ticks++
	node.Assert(p.ticks < 3, "tick %d: the counter ran past 2", p.ticks)
	p.env.After(probeTick, 1)
}
func (p *panicky) OnSynced(node.SyncID)          {}
func (p *panicky) OnMessage(node.NodeID, []byte) {}
func (p *panicky) OnRequest(node.Request)        {}

// A broken invariant in node code is a violation of the run, with the
// invariant's message, and the node goes down as its process would.
func TestBrokenInvariantIsAViolation(t *testing.T) {
	sc := &oneNode{nodes: []NodeSpec{{ID: "n1", New: func() node.Node { return &panicky{} }}}}
	w := runOne(t, 0, 0, sc, nil)
	if len(w.violations) == 0 || w.violations[0].Property != PropInvariant || !strings.Contains(w.violations[0].Detail, "ran past 2") {
		t.Fatalf("violations %v, want the invariant", w.violations)
	}
	if crashes := events(w, traces.KindCrash); len(crashes) == 0 || !strings.Contains(string(crashes[0].Data), "process killed") {
		t.Fatal("the node did not go down when its invariant broke")
	}
}

// A slow disk makes a node's syncs take longer, for a while.
func TestSlowDisk(t *testing.T) {
	var n *syncNode
	sc := &oneNode{nodes: []NodeSpec{{ID: "n1", New: func() node.Node { n = &syncNode{}; return n }}}}
	var heardBy []int
	w := runOne(t, time.Millisecond, 0, sc, func(w *World) {
		w.faultsOn = true
		w.after(200*time.Millisecond, func() {
			w.applyFault(traces.PlannedFault{Kind: FaultSlowDisk, Node: "n1", By: 80 * time.Millisecond, For: 100 * time.Millisecond})
		})
		for _, at := range []time.Duration{195, 255, 305, 405} {
			w.after(at*time.Millisecond, func() { heardBy = append(heardBy, len(n.asked)-len(n.heard)) })
		}
	})
	// Before the slow disk a sync is heard within the tick; while it is
	// slow, syncs pile up; after, they drain.
	if heardBy[0] != 0 || heardBy[1] < 3 || heardBy[3] != 0 {
		t.Fatalf("syncs in flight at 195, 255, 305, 405 ms: %v", heardBy)
	}
	if len(events(w, traces.KindSlowDisk)) != 1 {
		t.Fatal("the slow disk is not in the trace")
	}
}
