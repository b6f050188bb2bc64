package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meganode/meganode/sim"
)

func cmdSweep(args []string, out, log io.Writer) (int, error) {
	fs := flag.NewFlagSet("sweep", flag.ContinueOnError)
	fs.SetOutput(log)
	seeds := fs.Int("seeds", 100, "how many seeds")
	from := fs.Uint64("from", 1, "the first seed")
	shardFlag := fs.String("shard", "", "run shard i of n (i/n): the seeds whose index is i modulo n")
	profile := fs.String("profile", defaultProfile, "the profile (see megasim profiles)")
	jobs := fs.Int("jobs", runtime.NumCPU(), "seeds run in parallel")
	dir := fs.String("traces", "megasim-traces", "where the traces of failing seeds go (megasim-traces/ is git-ignored)")
	reportDir := fs.String("report", "", "write an HTML report of the sweep (outcomes, faults, coverage marks, throughput, latencies, catch-up) to `DIR`/index.html, and its result to DIR/sweep.json unless --out says otherwise")
	outDir := fs.String("out", "", "write the sweep's machine-readable result (every seed's fingerprint, outcome, figures, coverage marks, faults) to `DIR`/sweep.json, for megasim merge")
	prints := fs.String("fingerprints", "", "write each seed's fingerprint to this file, one \"seed fingerprint\" line each, in seed order (two sweeps of one build must write the same file)")
	stopAfter := fs.Int("stop-after", 0, "start no more seeds once `K` seeds have failed (0: never)")
	budget := fs.Duration("time-budget", 0, "start no more seeds once this much wall time (`D`, e.g. 30m) has passed (0: no limit)")
	share := fs.Float64("recheck-share", 0.05, "the share of seeds run twice to compare their fingerprints (P7 determinism); a hash of the seed picks them, the same on every machine")
	if err := fs.Parse(args); err != nil {
		return 2, nil
	}
	switch {
	case *seeds < 0:
		return 2, errors.New("--seeds must not be negative")
	case *share < 0 || *share > 1:
		return 2, fmt.Errorf("--recheck-share %v: want a share between 0 and 1", *share)
	case *stopAfter < 0:
		return 2, errors.New("--stop-after must not be negative")
	case *budget < 0:
		return 2, errors.New("--time-budget must not be negative")
	}
	p, err := sim.Lookup(*profile)
	if err != nil {
		return 2, err
	}
	shard, err := parseShard(*shardFlag)
	if err != nil {
		return 2, err
	}
	resultDir := *outDir
	if resultDir == "" {
		resultDir = *reportDir
	}
	id := buildID()
	t := newTally(p.Name)
	if *prints != "" {
		f, err := os.Create(*prints)
		if err != nil {
			return 2, err
		}
		defer f.Close()
		t.prints = f
	}
	if *reportDir != "" {
		t.rep = newSweepReport(p.Name, id)
	}
	list := shard.Seeds(*from, *seeds)
	// A seed picked for the determinism check runs twice in a row: both
	// runs start one after the other, on different goroutines, with other
	// seeds running beside them.
	var runs []uint64
	var second []bool
	for _, s := range list {
		runs, second = append(runs, s), append(second, false)
		if rechecked(s, *share) {
			runs, second = append(runs, s), append(second, true)
		}
	}

	started := time.Now()
	var failures atomic.Int64
	var stopMu sync.Mutex
	stopped := ""
	stop := func(i int) bool {
		if second[i] {
			return false // a seed's second run always follows its first
		}
		why := ""
		switch {
		case *stopAfter > 0 && failures.Load() >= int64(*stopAfter):
			why = fmt.Sprintf("%d failures, --stop-after %d", failures.Load(), *stopAfter)
		case *budget > 0 && time.Since(started) >= *budget:
			why = fmt.Sprintf("time budget of %v spent, --time-budget", *budget)
		default:
			return false
		}
		stopMu.Lock()
		if stopped == "" {
			stopped = why
		}
		stopMu.Unlock()
		return true
	}

	prog := newProgress(log, len(list))
	var simTime time.Duration
	finish := func(rec *seedRecord) {
		if rec.failed() {
			failures.Add(1)
			// Runs are deterministic: run the seed again, keeping its events.
			full := sim.Run(p, rec.Seed, sim.Options{Keep: true, BuildID: id, ArtifactDir: *dir})
			rec.Trace = filepath.Join(*dir, fmt.Sprintf("%s-seed%d.trace", p.Name, rec.Seed))
			if err := writeTrace(rec.Trace, full.Trace); err != nil && t.writeErr == nil {
				t.writeErr = err
			}
			release := prog.hold()
			fmt.Fprint(out, failLine(rec))
			release()
		}
		t.add(rec)
		prog.seed(rec.failed())
	}
	var pending *seedRecord // a seed waiting for its second run
	next := 0
	sim.SweepUntil(p, runs, *jobs, sim.Options{BuildID: id}, stop, func(r *sim.Result) {
		i := next
		next++
		simTime += r.SimTime
		if second[i] {
			rec := pending
			pending = nil
			rec.Rechecked, rec.RecheckFingerprint = true, fmt.Sprintf("%x", r.Fingerprint)
			if rec.RecheckFingerprint != rec.Fingerprint {
				rec.markNondeterministic(rec.RecheckFingerprint)
			}
			finish(rec)
			return
		}
		rec := newSeedRecord(r)
		if i+1 < len(runs) && second[i+1] {
			pending = rec
			return
		}
		finish(rec)
	})
	if pending != nil { // not reached: a second run is never held back
		finish(pending)
	}
	wall := time.Since(started)
	prog.end()
	stopMu.Lock()
	stoppedWhy := stopped
	stopMu.Unlock()

	ran := len(t.records)
	fmt.Fprintf(log, "sweep: %d seeds of %s in %v (%.0f seeds/hour, %.0f simulated seconds per wall second, %d jobs)\n",
		ran, p.Name, wall.Round(time.Millisecond), float64(ran)/wall.Hours(), simTime.Seconds()/wall.Seconds(), *jobs)
	for _, line := range t.figureLines() {
		fmt.Fprintln(log, line)
	}
	if stoppedWhy != "" {
		fmt.Fprintf(out, "sweep: stopped early (%s): %d of %d seeds ran\n", stoppedWhy, ran, len(list))
	}
	body, last := t.closingLines()
	for _, line := range body {
		fmt.Fprintln(out, line)
	}
	writeErr := t.writeErr
	if t.rep != nil {
		if stoppedWhy != "" {
			t.rep.notes = append(t.rep.notes, fmt.Sprintf("Stopped early (%s): %d of %d seeds ran.", stoppedWhy, ran, len(list)))
		}
		path, err := t.rep.write(*reportDir, t.figures, t.names)
		if err != nil && writeErr == nil {
			writeErr = err
		}
		fmt.Fprintf(out, "report: %s\n", path)
	}
	if resultDir != "" {
		res := &shardResult{
			Format: shardFormat, Profile: p.Name, Build: id, From: *from, Seeds: *seeds, Shard: shardSpec{shard.I, shard.N},
			Planned: len(list), Stopped: stoppedWhy, RecheckShare: *share, Jobs: *jobs,
			Started: started.UTC().Format(time.RFC3339), WallNS: int64(wall), TracesDir: *dir,
			LatencyEdgesMS: latencyEdges, Results: make([]seedRecord, 0, ran),
		}
		res.Host, _ = os.Hostname()
		for _, rec := range t.records {
			res.Results = append(res.Results, *rec)
		}
		path, err := writeShard(resultDir, res)
		if err != nil && writeErr == nil {
			writeErr = err
		}
		fmt.Fprintf(out, "result: %s\n", path)
	}
	if t.failed > 0 {
		where := *dir
		if abs, err := filepath.Abs(where); err == nil {
			where = abs
		}
		fmt.Fprintf(out, "traces: %s (the failing seeds' traces)\n", where)
	}
	fmt.Fprintln(out, last)
	if writeErr != nil {
		return 2, writeErr
	}
	if t.failed > 0 {
		return 1, nil
	}
	return 0, nil
}
