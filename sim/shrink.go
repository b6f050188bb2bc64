package sim

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/meganode/meganode/traces"
)

// ShrinkOptions bound a shrink.
type ShrinkOptions struct {
	MaxRuns int           // runs tried at most; default 400
	Within  time.Duration // wall time at most; default 10 minutes
	Log     io.Writer     // progress, one line per step; nil: none
	BuildID string
	// Property is the property the shrunk plan must still violate; empty:
	// the original run's first violation other than liveness (P6 names the
	// symptom of many causes), or liveness when it is the only one.
	Property string
}

// ShrinkStats say what a shrink did.
type ShrinkStats struct {
	Property string // the property that kept failing
	Runs     int
	Wall     time.Duration
}

// Shrink reduces a failing plan by delta debugging, for as long as the
// run still violates the same property (see ShrinkOptions.Property): it halves the safety phase, drops nodes, clients, faults and
// operations in ever smaller chunks, and shortens what faults last. It
// returns the smallest failing plan found and its result (with the event
// log, to write as a trace).
func Shrink(p *Profile, plan *Plan, o ShrinkOptions) (*Plan, *Result, ShrinkStats, error) {
	if o.MaxRuns <= 0 {
		o.MaxRuns = 400
	}
	if o.Within <= 0 {
		o.Within = 10 * time.Minute
	}
	start := time.Now()
	st := ShrinkStats{}
	first := RunPlan(p, plan, Options{BuildID: o.BuildID})
	st.Runs++
	if !first.Failed() {
		return nil, nil, st, fmt.Errorf("the plan does not fail: nothing to shrink")
	}
	st.Property = o.Property
	if st.Property == "" {
		st.Property = first.Violations[0].Property
		for _, v := range first.Violations {
			if v.Property != PropLiveness {
				st.Property = v.Property
				break
			}
		}
	}
	if !slices.ContainsFunc(first.Violations, func(v traces.Violation) bool { return v.Property == st.Property }) {
		return nil, nil, st, fmt.Errorf("the plan does not violate %s (it violates %v)", st.Property, first.Violations)
	}
	best := compact(plan, first)
	logf := func(format string, args ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, "shrink: "+format+"\n", args...)
		}
	}
	// try runs a candidate; it becomes the best if it still fails the same way.
	try := func(c *Plan) bool {
		if st.Runs >= o.MaxRuns || time.Since(start) > o.Within {
			return false
		}
		st.Runs++
		r := RunPlan(p, c, Options{BuildID: o.BuildID})
		if !slices.ContainsFunc(r.Violations, func(v traces.Violation) bool { return v.Property == st.Property }) {
			return false
		}
		best = compact(c, r)
		return true
	}
	budget := func() bool { return st.Runs < o.MaxRuns && time.Since(start) <= o.Within }
	for changed := true; changed && budget(); {
		changed = false
		// The safety phase: halve it while the run still fails.
		for best.Duration > 100*time.Millisecond && budget() {
			c := best.Clone()
			c.Duration /= 2
			c.Faults = slices.DeleteFunc(c.Faults, func(f traces.PlannedFault) bool { return f.At >= c.Duration })
			if !try(c) {
				break
			}
			changed = true
			logf("safety phase %v", best.Duration)
		}
		// Nodes, down to the profile's least.
		for best.Nodes > max(p.Ranges.Nodes.Min, 1) && budget() {
			c := best.Clone()
			c.Nodes--
			if !try(c) {
				break
			}
			changed = true
			logf("%d nodes", best.Nodes)
		}
		// Whole clients, then faults, then single operations.
		if chunks(len(best.Ops), func(i, k int) *Plan {
			c := best.Clone()
			c.Ops = slices.Delete(c.Ops, i, i+k)
			return c
		}, try, budget) {
			changed = true
			logf("%d clients", len(best.Ops))
		}
		if chunks(len(best.Faults), func(i, k int) *Plan {
			c := best.Clone()
			c.Faults = slices.Delete(c.Faults, i, i+k)
			return c
		}, try, budget) {
			changed = true
			logf("%d faults", len(best.Faults))
		}
		_, nops := best.Size()
		if chunks(nops, func(i, k int) *Plan { return dropOps(best, i, k) }, try, budget) {
			changed = true
			_, n := best.Size()
			logf("%d operations", n)
		}
		// What faults last: halve each while the run still fails.
		for i := range best.Faults {
			for best.Faults[i].For > 10*time.Millisecond && budget() {
				c := best.Clone()
				c.Faults[i].For /= 2
				if !try(c) {
					break
				}
				changed = true
			}
		}
	}
	// The final run again, with its events, to write as a trace.
	final := RunPlan(p, best, Options{Keep: true, BuildID: o.BuildID})
	st.Runs++
	if !slices.ContainsFunc(final.Violations, func(v traces.Violation) bool { return v.Property == st.Property }) {
		return nil, nil, st, fmt.Errorf("the shrunk plan did not fail again: the run is not deterministic")
	}
	st.Wall = time.Since(start)
	return best, final, st, nil
}

// compact drops the operations a run never started: they did nothing.
func compact(plan *Plan, r *Result) *Plan {
	c := plan.Clone()
	for i := range c.Ops {
		if i < len(r.OpsRun) {
			c.Ops[i] = c.Ops[i][:min(len(c.Ops[i]), r.OpsRun[i])]
		}
	}
	return c
}

// dropOps removes operations i..i+k-1 counted across all clients in order.
// A dropped operation's think time goes to the next one, so the others keep
// their times.
func dropOps(p *Plan, i, k int) *Plan {
	c := p.Clone()
	n := 0
	for ci, ops := range c.Ops {
		var kept []traces.PlannedOp
		var carry time.Duration
		for _, op := range ops {
			if n >= i && n < i+k {
				carry += op.After
			} else {
				op.After += carry
				carry = 0
				kept = append(kept, op)
			}
			n++
		}
		c.Ops[ci] = kept
	}
	return c
}

// chunks tries removing chunks of n items, halving the chunk size down to
// one, keeping every removal after which the run still fails. make builds
// the candidate without items i..i+k-1 of the current best. It reports
// whether anything was removed.
func chunks(n int, make func(i, k int) *Plan, try func(*Plan) bool, budget func() bool) bool {
	removed := false
	for k := max(n/2, 1); k >= 1 && n > 0; k /= 2 {
		for i := 0; i < n && budget(); {
			if try(make(i, min(k, n-i))) {
				n -= min(k, n-i)
				removed = true
				continue
			}
			i += k
		}
		if k == 1 {
			break
		}
	}
	return removed
}
