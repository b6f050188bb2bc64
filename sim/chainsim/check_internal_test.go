package chainsim

import (
	"slices"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/sequencer"
	"github.com/meganode/meganode/sim"
)

// maxConcurrency counts the operations of one partition in flight at once:
// touching intervals do not overlap, and partitions are apart.
func TestMaxConcurrency(t *testing.T) {
	m := porcupine.Model{Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		var a, b []porcupine.Operation
		for _, op := range h {
			if op.ClientId < 10 {
				a = append(a, op)
			} else {
				b = append(b, op)
			}
		}
		return [][]porcupine.Operation{a, b}
	}}
	ops := []porcupine.Operation{
		{ClientId: 1, Call: 0, Return: 10}, {ClientId: 2, Call: 5, Return: 15}, {ClientId: 3, Call: 10, Return: 20}, // at most 2 at once
		{ClientId: 11, Call: 0, Return: 100}, {ClientId: 12, Call: 1, Return: 100}, {ClientId: 13, Call: 2, Return: 100}, // 3
	}
	if got := maxConcurrency(m, ops); got != 3 {
		t.Fatalf("max concurrency %d, want 3", got)
	}
	if got := maxConcurrency(m, ops[:3]); got != 2 {
		t.Fatalf("max concurrency %d, want 2 (10 returns as 10 calls)", got)
	}
}

// The failover bound (P6 for a sequencer group) over doctored runs: a
// loss is resumed by the first mini-block committed after it by a newer
// term, or by the same leader once its fault is over; old-term entries a
// new leader commits first do not end it; member clocks are skewed back;
// a resumption past FailoverBound, or none at all, is a violation.
func TestFailoverBound(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	commit := func(id node.NodeID, term uint64, at time.Duration) groupObs {
		return groupObs{node: id, ev: sequencer.GroupEvent{Kind: sequencer.GroupCommitted, Term: term, At: sim.Epoch.Add(at)}}
	}
	loss := leaderLoss{at: ms(100), node: "sequencer1", term: 1, kind: sim.FaultPause, heal: ms(150)}
	noSkew := func(node.NodeID) time.Duration { return 0 }
	for _, c := range []struct {
		name      string
		events    []groupObs
		skew      func(node.NodeID) time.Duration
		now       time.Duration
		failovers []time.Duration
		resumed   []time.Duration
		violation bool
	}{
		{"a new leader in time", []groupObs{commit("sequencer1", 1, ms(90)), commit("sequencer2", 1, ms(130)), commit("sequencer2", 2, ms(200))}, noSkew, ms(900), []time.Duration{ms(100)}, nil, false},
		{"a new leader too late", []groupObs{commit("sequencer2", 1, ms(140)), commit("sequencer2", 2, ms(700))}, noSkew, ms(900), []time.Duration{ms(600)}, nil, true},
		{"the same leader once back", []groupObs{commit("sequencer1", 1, ms(160))}, noSkew, ms(900), nil, []time.Duration{ms(60)}, false},
		{"nothing after the loss", []groupObs{commit("sequencer1", 1, ms(90))}, noSkew, ms(900), nil, nil, true},
		{"nothing yet, the run ends early", nil, noSkew, ms(400), nil, nil, false},
		{"a skewed member clock", []groupObs{commit("sequencer2", 2, ms(2200))}, func(id node.NodeID) time.Duration {
			if id == "sequencer2" {
				return 2 * time.Second
			}
			return 0
		}, ms(900), []time.Duration{ms(100)}, nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &Scenario{losses: []leaderLoss{loss}, groupEvents: c.events}
			times, resumed, out := s.failovers(c.skew, c.now)
			if !slices.Equal(times, c.failovers) || !slices.Equal(resumed, c.resumed) || (len(out) > 0) != c.violation {
				t.Fatalf("failovers %v resumed %v violations %v; want %v, %v, violation %v", times, resumed, out, c.failovers, c.resumed, c.violation)
			}
			if c.violation && out[0].Property != PropFailover {
				t.Fatalf("violation of %q", out[0].Property)
			}
		})
	}
}
