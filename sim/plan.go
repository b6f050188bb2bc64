package sim

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/traces"
)

// A run is driven by a plan: the cluster, the fault schedule (each fault
// with its time and target) and the workload (each client operation with
// its time). A seed derives a plan (DerivePlan), a trace records the plan,
// and replay and shrink run plans (RunPlan). What a plan does not list
// (network weather, disk faults, the nodes' and the scenario's own
// choices) still comes from the seed, drawn from streams the plan does not
// touch, so removing a fault or an operation leaves the rest as it was.
type Plan = traces.Plan

// The fault kinds a plan can hold.
const (
	FaultCrash     = "crash"      // Node's machine crashes (unsynced writes lost or torn) and restarts after For
	FaultKill      = "kill"       // Node's process is killed (kill -9: what it committed stays, unsynced) and restarts after For
	FaultSyncCrash = "sync-crash" // Node's machine crashes during its next sync: before it is durable, or (Symmetric) after, before the node hears; restarts after For
	FaultSlowDisk  = "slow-disk"  // Node's syncs take By longer, for For
	FaultPause     = "pause"      // Node stops being scheduled for For
	FaultPartition = "partition"  // Side is cut from the other nodes (both ways if Symmetric) for For
	FaultClog      = "clog"       // what Peer sends Node is held for For
	FaultClock     = "clock"      // Node's clock jumps by By
	FaultSlow      = "slow"       // what reaches Node (messages, timers) comes By late, for For
	FaultIsolate   = "isolate"    // every link to and from Node is cut for For
)

// planStreams are the random streams of a seed, split in a fixed order.
type planStreams struct {
	cfg, scenario, net, nemesis, nodes, clients *rand.Rand
}

func streams(seed uint64) planStreams {
	root := newRand(seed)
	return planStreams{cfg: split(root), scenario: split(root), net: split(root), nemesis: split(root), nodes: split(root), clients: split(root)}
}

// DerivePlan is the plan a seed describes: its configuration's cluster
// and safety phase, a fault schedule drawn from the configured rates, and
// for every client a list of operations filling the safety phase.
func DerivePlan(p *Profile, seed uint64) *Plan {
	st := streams(seed)
	cfg := p.Ranges.derive(seed, p.Name, st.cfg)
	sc := p.New(&cfg, st.scenario)
	var ids []string
	for _, spec := range sc.Nodes() {
		ids = append(ids, string(spec.ID))
	}
	if ft, ok := sc.(FaultTargeter); ok {
		// The world's own faults hit these nodes only; the scenario aims
		// its own (ScenarioFaults) where it wants.
		ids = ids[:0]
		for _, id := range ft.FaultTargets() {
			ids = append(ids, string(id))
		}
	}
	plan := &Plan{Seed: seed, Profile: p.Name, Nodes: cfg.Nodes, Duration: cfg.Duration}
	g := st.nemesis
	downFor := func() time.Duration { return cfg.Faults.DownFor.draw(g) }
	pickNode := func() string { return ids[g.IntN(len(ids))] }
	kinds := []struct {
		every time.Duration
		make  func() traces.PlannedFault
	}{
		{cfg.Faults.Crash, func() traces.PlannedFault {
			return traces.PlannedFault{Kind: FaultCrash, Node: pickNode(), For: downFor()}
		}},
		{cfg.Faults.Pause, func() traces.PlannedFault {
			return traces.PlannedFault{Kind: FaultPause, Node: pickNode(), For: downFor()}
		}},
		{cfg.Faults.Partition, func() traces.PlannedFault {
			order := g.Perm(len(ids))
			k := 1 + g.IntN(max(len(ids)-1, 1))
			f := traces.PlannedFault{Kind: FaultPartition, Symmetric: g.IntN(2) == 0, For: downFor()}
			for _, j := range order[:k] {
				f.Side = append(f.Side, ids[j])
			}
			return f
		}},
		{cfg.Faults.Clog, func() traces.PlannedFault {
			i := g.IntN(len(ids))
			j := (i + 1 + g.IntN(max(len(ids)-1, 1))) % len(ids)
			return traces.PlannedFault{Kind: FaultClog, Node: ids[j], Peer: ids[i], For: downFor()}
		}},
		{cfg.Faults.ClockJump, func() traces.PlannedFault {
			return traces.PlannedFault{Kind: FaultClock, Node: pickNode(),
				By: time.Duration(between(g, -float64(cfg.Faults.MaxSkew), float64(cfg.Faults.MaxSkew)))}
		}},
		{cfg.Faults.Kill, func() traces.PlannedFault {
			return traces.PlannedFault{Kind: FaultKill, Node: pickNode(), For: downFor()}
		}},
		{cfg.Faults.SyncCrash, func() traces.PlannedFault {
			return traces.PlannedFault{Kind: FaultSyncCrash, Node: pickNode(), Symmetric: g.IntN(2) == 0, For: downFor()}
		}},
		{cfg.Faults.SlowDisk, func() traces.PlannedFault {
			return traces.PlannedFault{Kind: FaultSlowDisk, Node: pickNode(), By: cfg.Faults.SlowDiskBy.draw(g), For: downFor()}
		}},
	}
	if sf, ok := sc.(ScenarioFaults); ok {
		for _, k := range sf.Faults() {
			kinds = append(kinds, struct {
				every time.Duration
				make  func() traces.PlannedFault
			}{k.Every, func() traces.PlannedFault {
				f := k.Plan(g)
				if f.For == 0 && f.Kind != FaultClock {
					f.For = downFor()
				}
				return f
			}})
		}
	}
	for _, k := range kinds {
		if k.every <= 0 || len(ids) == 0 {
			continue
		}
		for t := time.Duration(g.ExpFloat64() * float64(k.every)); t < cfg.Duration; t += time.Duration(g.ExpFloat64() * float64(k.every)) {
			f := k.make()
			f.At = t
			plan.Faults = append(plan.Faults, f)
		}
	}
	sortFaults(plan.Faults)
	for range cfg.Clients {
		c := split(st.clients)
		var ops []traces.PlannedOp
		for t := time.Duration(0); ; {
			think := cfg.ThinkTime.draw(c)
			t += think + cfg.Latency.Max // a call takes at least a round trip
			if t >= cfg.Duration {
				break
			}
			ops = append(ops, traces.PlannedOp{After: think, Seed: c.Uint64()})
		}
		plan.Ops = append(plan.Ops, ops)
	}
	return plan
}

// sortFaults orders a schedule by time, stably.
func sortFaults(fs []traces.PlannedFault) {
	slices.SortStableFunc(fs, func(a, b traces.PlannedFault) int { return cmp.Compare(a.At, b.At) })
}

// RunPlan runs a plan of a profile and checks it.
func RunPlan(p *Profile, plan *Plan, opts Options) *Result {
	w := newWorld(p, plan, opts)
	w.run()
	return w.result(p, plan)
}

// applyFault does one planned fault. A fault whose target is not in the
// cluster (a plan shrunk to fewer nodes) does nothing.
func (w *World) applyFault(f traces.PlannedFault) {
	if !w.faultsOn {
		return
	}
	if strings.HasPrefix(f.Node, "@") {
		// A role, not a node: the scenario says which node holds it now
		// (the sequencer group's leader), or that none may be hit now.
		r, ok := w.sc.(TargetResolver)
		if !ok {
			return
		}
		id, ok := r.Resolve(w, f)
		if !ok {
			return
		}
		f.Node = string(id)
	}
	n := w.byID[node.NodeID(f.Node)]
	switch f.Kind {
	case FaultCrash:
		if n != nil && n.up {
			w.CrashFor(n.id, f.For)
		}
	case FaultKill:
		if n != nil && n.up {
			w.KillFor(n.id, f.For)
		}
	case FaultSyncCrash:
		if n != nil && n.up {
			n.syncCrash = &syncCrash{afterDurable: f.Symmetric, downFor: f.For}
		}
	case FaultSlowDisk:
		if n != nil {
			n.slowDiskBy, n.slowDiskUntil = f.By, w.now+f.For
			w.record(traces.Event{Kind: traces.KindSlowDisk, Node: string(n.id), Hash: uint64(f.By), Size: int(f.For / time.Millisecond)})
		}
	case FaultPause:
		if n != nil && n.up && !n.paused {
			n.pause()
			w.after(f.For, n.resume)
		}
	case FaultPartition:
		var a, b []*simNode
		side := map[string]bool{}
		for _, id := range f.Side {
			side[id] = true
		}
		for _, m := range w.nodes {
			if side[string(m.id)] {
				a = append(a, m)
			} else {
				b = append(b, m)
			}
		}
		if len(a) > 0 && len(b) > 0 {
			w.cutLinks(a, b, f.Symmetric, f.For)
		}
	case FaultClog:
		if n != nil && w.byID[node.NodeID(f.Peer)] != nil {
			w.clog(node.NodeID(f.Peer), n.id, w.now+f.For)
		}
	case FaultClock:
		if n != nil {
			n.jump(f.By)
		}
	case FaultSlow:
		if n != nil {
			w.SlowFor(n.id, f.By, f.For)
		}
	case FaultIsolate:
		if n != nil {
			w.IsolateFor(n.id, f.For)
		}
	default:
		w.Note("", fmt.Sprintf("unknown fault kind %q in the plan: ignored", f.Kind))
	}
}

// DescribeFault is a fault in words, for logs and explain.
func DescribeFault(f traces.PlannedFault) string {
	switch f.Kind {
	case FaultPartition:
		how := "one way"
		if f.Symmetric {
			how = "both ways"
		}
		return fmt.Sprintf("partition {%s} from the rest, %s, for %v", strings.Join(f.Side, ","), how, f.For)
	case FaultClog:
		return fmt.Sprintf("clog %s→%s for %v", f.Peer, f.Node, f.For)
	case FaultClock:
		return fmt.Sprintf("clock of %s jumps %v", f.Node, f.By)
	case FaultSlow:
		return fmt.Sprintf("%s slow by %v for %v", f.Node, f.By, f.For)
	case FaultSlowDisk:
		return fmt.Sprintf("%s's disk slow by %v for %v", f.Node, f.By, f.For)
	case FaultSyncCrash:
		when := "before it is durable"
		if f.Symmetric {
			when = "after it is durable, before the node hears"
		}
		return fmt.Sprintf("%s crashes in its next sync, %s, down for %v", f.Node, when, f.For)
	}
	return fmt.Sprintf("%s %s for %v", f.Kind, f.Node, f.For)
}
