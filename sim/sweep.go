package sim

import (
	"fmt"
	"slices"
	"sync"

	"github.com/meganode/meganode/traces"
)

var profiles = map[string]*Profile{}

// Register makes a profile available by name (to megasim and to replay).
func Register(p *Profile) {
	if _, dup := profiles[p.Name]; dup {
		panic("sim: profile " + p.Name + " registered twice")
	}
	profiles[p.Name] = p
}

// Lookup finds a registered profile.
func Lookup(name string) (*Profile, error) {
	if p := profiles[name]; p != nil {
		return p, nil
	}
	return nil, fmt.Errorf("%w %q (known: %v)", ErrNoProfile, name, ProfileNames())
}

// ProfileNames lists the registered profiles.
func ProfileNames() []string {
	names := make([]string, 0, len(profiles))
	for n := range profiles { // sorted below
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Shard selects part of a sweep: shard I of N takes the seeds whose index
// in the sweep is I modulo N.
type Shard struct{ I, N int }

// Seeds lists the seeds a sweep of n seeds from from runs in this shard.
func (s Shard) Seeds(from uint64, n int) []uint64 {
	if s.N <= 0 {
		s = Shard{0, 1}
	}
	var out []uint64
	for i := range n {
		if i%s.N == s.I {
			out = append(out, from+uint64(i))
		}
	}
	return out
}

// PropDeterminism is the property a sweep checks by running a seed twice:
// one seed and one build give one fingerprint (P7).
const PropDeterminism = "P7 determinism"

// Sweep runs seeds on jobs goroutines, each run on one of them alone, and
// calls report for every result in seed order, as soon as it and every
// earlier seed are done.
func Sweep(p *Profile, seeds []uint64, jobs int, opts Options, report func(*Result)) {
	SweepUntil(p, seeds, jobs, opts, nil, report)
}

// SweepUntil is Sweep that can stop early: when a goroutine is free to
// start seeds[i] it asks stop(i) (from a worker goroutine, one call at a
// time, concurrently with report), and once stop says true no more seeds
// start. The seeds already started finish and are reported, so the seeds
// reported are always a prefix of seeds; SweepUntil returns its length. A
// nil stop never stops.
func SweepUntil(p *Profile, seeds []uint64, jobs int, opts Options, stop func(i int) bool, report func(*Result)) int {
	if jobs < 1 {
		jobs = 1
	}
	results := make([]*Result, len(seeds))
	done := make([]chan struct{}, len(seeds))
	for i := range done {
		done[i] = make(chan struct{})
	}
	var mu sync.Mutex
	next, stopped := 0, false
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if stopped || next == len(seeds) {
			return 0, false
		}
		if stop != nil && stop(next) {
			stopped = true
			return 0, false
		}
		next++
		return next - 1, true
	}
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, ok := take(); ok; i, ok = take() {
				results[i] = Run(p, seeds[i], opts)
				close(done[i])
			}
		}()
	}
	// started says how many seeds started, once every worker is done;
	// until then every seed is one to wait for.
	started := make(chan int, 1)
	go func() {
		wg.Wait()
		started <- next
	}()
	total := len(seeds)
	for i := 0; i < total; i++ {
		select {
		case <-done[i]:
		case n := <-started:
			if total = n; i >= total {
				continue
			}
			<-done[i]
		}
		report(results[i])
		results[i] = nil
	}
	return total
}

// Replay re-runs a trace's seed and compares the two runs event by event.
// It returns the new result and the first divergence, or nil when the run
// reproduced exactly: the same events, the same fingerprint and the same
// violations.
func Replay(t *traces.Trace, opts Options) (*Result, *traces.Divergence, error) {
	p, err := Lookup(t.Profile)
	if err != nil {
		return nil, nil, err
	}
	opts.Keep = true
	plan := t.Plan
	if plan == nil {
		plan = DerivePlan(p, t.Seed)
	}
	res := RunPlan(p, plan, opts)
	if res.Trace.Config != t.Config {
		return res, nil, fmt.Errorf("the seed derives another configuration in this build:\nrecorded:\n%s\nnow:\n%s", t.Config, res.Trace.Config)
	}
	if d := traces.Compare(t.Events, res.Trace.Events); d != nil {
		return res, d, nil
	}
	if res.Fingerprint != t.Fingerprint {
		return res, &traces.Divergence{Index: len(t.Events)}, nil
	}
	if !slices.Equal(res.Violations, t.Violations) {
		return res, nil, fmt.Errorf("the events replay but the checkers disagree:\nrecorded: %v\nnow:      %v", t.Violations, res.Violations)
	}
	return res, nil, nil
}
