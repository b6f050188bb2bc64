package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meganode/meganode/sim"
	"github.com/meganode/meganode/sim/chainsim"
	_ "github.com/meganode/meganode/sim/chainsim" // the chain profile (the default)
	_ "github.com/meganode/meganode/sim/register" // the register profile
	"github.com/meganode/meganode/traces"
)

const defaultProfile = "chain"

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	var err error
	code := 0
	out, log := io.Writer(os.Stdout), io.Writer(os.Stderr)
	switch os.Args[1] {
	case "run":
		code, err = cmdRun(os.Args[2:], out, log)
	case "sweep":
		code, err = cmdSweep(os.Args[2:], out, log)
	case "merge":
		code, err = cmdMerge(os.Args[2:], out, log)
	case "replay":
		code, err = cmdReplay(os.Args[2:], out, log)
	case "shrink":
		code, err = cmdShrink(os.Args[2:], out, log)
	case "explain":
		code, err = cmdExplain(os.Args[2:], out, log)
	case "bench":
		code, err = cmdBench(os.Args[2:], out, log)
	case "profiles":
		fmt.Println(strings.Join(sim.ProfileNames(), "\n"))
	case "-h", "--help", "help":
		usage(os.Stdout)
	default:
		fmt.Fprintf(os.Stderr, "megasim: unknown command %q\n", os.Args[1])
		usage(os.Stderr)
		code = 2
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "megasim:", err)
		if code == 0 {
			code = 2
		}
	}
	os.Exit(code)
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  megasim run    --seed S [--profile P] [--trace FILE] [-v]
  megasim sweep  --seeds N [--from S] [--shard i/n] [--profile P] [--jobs J] [--traces DIR] [--report DIR]
                 [--out DIR] [--fingerprints FILE] [--stop-after K] [--time-budget D] [--recheck-share F]
  megasim merge  [--report DIR] [--fingerprints FILE] DIR...
  megasim replay FILE [-v]
  megasim shrink FILE [--out FILE] [--property P] [--max-runs N]
  megasim explain FILE [--html FILE] [--events N] [--timers] [--artifacts DIR]
  megasim bench  [--seeds N]
  megasim profiles

Each command takes --help.
`)
}

// buildStamp, when set at link time (go build -ldflags "-X
// main.buildStamp=ID"), is the build id: for a binary built where neither
// Go's VCS stamping nor git is at hand, such as a container image.
var buildStamp string

// buildID is the git commit of the source this binary was built from, with
// "+dirty" when the tree had uncommitted changes.
func buildID() string {
	if buildStamp != "" {
		return buildStamp
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		var rev, modified string
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" {
			if modified == "true" {
				rev += "+dirty"
			}
			return rev
		}
	}
	// Built without VCS stamping (go run, -buildvcs=false): ask git about
	// the working tree, which is what `go run` compiled.
	out, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	id := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		id += "+dirty"
	}
	return id
}

func writeTrace(path string, t *traces.Trace) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := traces.Write(&buf, t); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func readTrace(path string) (*traces.Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := traces.Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

func fingerprint(f [32]byte) string { return fmt.Sprintf("%x", f[:8]) }

func summary(w io.Writer, r *sim.Result) {
	fmt.Fprintf(w, "events %d, simulated %.3fs, healed at %.3fs", r.Events, r.SimTime.Seconds(), r.HealedAt.Seconds())
	if r.Converged > 0 {
		fmt.Fprintf(w, ", converged %.3fs later", (r.Converged - r.HealedAt).Seconds())
	}
	fmt.Fprintf(w, ", %d client calls, fingerprint %s\n", len(r.History), fingerprint(r.Fingerprint))
	for _, v := range r.Violations {
		fmt.Fprintf(w, "VIOLATION %s\n", v)
	}
	for _, a := range r.Artifacts {
		fmt.Fprintf(w, "evidence: %s\n", a)
	}
}

func cmdRun(args []string, out, log io.Writer) (int, error) {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(log)
	seed := fs.Uint64("seed", 1, "the seed to run")
	profile := fs.String("profile", defaultProfile, "the profile (see megasim profiles)")
	tracePath := fs.String("trace", "", "write the trace here (always; by default only on a violation, to megasim-PROFILE-seedS.trace)")
	verbose := fs.Bool("v", false, "print the nodes' logs and every event")
	if err := fs.Parse(args); err != nil {
		return 2, nil
	}
	p, err := sim.Lookup(*profile)
	if err != nil {
		return 2, err
	}
	opts := sim.Options{Keep: true, BuildID: buildID(), ArtifactDir: "."}
	if *verbose {
		opts.Log = log
	}
	start := time.Now()
	r := sim.Run(p, *seed, opts)
	wall := time.Since(start)
	fmt.Fprint(out, r.Trace.Config)
	if *verbose {
		for _, e := range r.Trace.Events {
			fmt.Fprintln(out, e)
		}
	}
	summary(out, r)
	fmt.Fprintf(out, "wall %v, %.0f simulated seconds per wall second\n", wall.Round(time.Millisecond), r.SimTime.Seconds()/wall.Seconds())
	path := *tracePath
	if path == "" && r.Failed() {
		path = fmt.Sprintf("megasim-%s-seed%d.trace", p.Name, *seed)
	}
	if path != "" {
		if err := writeTrace(path, r.Trace); err != nil {
			return 2, err
		}
		fmt.Fprintf(out, "trace: %s\n", path)
	}
	if r.Failed() {
		fmt.Fprintf(out, "replay: megasim replay %s\n", path)
		return 1, nil
	}
	return 0, nil
}

func parseShard(s string) (sim.Shard, error) {
	if s == "" {
		return sim.Shard{I: 0, N: 1}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return sim.Shard{}, fmt.Errorf("--shard %q: want i/n with 0 ≤ i < n", s)
	}
	return sim.Shard{I: i, N: n}, nil
}

func cmdReplay(args []string, out, log io.Writer) (int, error) {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(log)
	verbose := fs.Bool("v", false, "print the nodes' logs")
	if err := fs.Parse(args); err != nil {
		return 2, nil
	}
	if fs.NArg() != 1 {
		return 2, errors.New("replay takes one trace file")
	}
	t, err := readTrace(fs.Arg(0))
	if err != nil {
		return 2, err
	}
	fmt.Fprintf(out, "trace: seed %d, profile %s, %d events, fingerprint %s, recorded by build %s\n",
		t.Seed, t.Profile, len(t.Events), fingerprint(t.Fingerprint), t.BuildID)
	if id := buildID(); id != t.BuildID {
		fmt.Fprintf(out, "note: this is build %s; a change in the code can make the replay diverge\n", id)
	}
	fmt.Fprint(out, t.Config)
	for _, v := range t.Violations {
		fmt.Fprintf(out, "recorded VIOLATION %s\n", v)
	}
	opts := sim.Options{}
	if *verbose {
		opts.Log = log
	}
	r, div, err := sim.Replay(t, opts)
	if err != nil {
		return 1, err
	}
	if div != nil {
		fmt.Fprintf(out, "DIVERGED at %s\n", div)
		return 1, nil
	}
	fmt.Fprintf(out, "reproduced exactly: %d events, fingerprint %s, %d violations\n", r.Events, fingerprint(r.Fingerprint), len(r.Violations))
	return 0, nil
}

// cmdBench prints the simulator's figures as "name value unit" lines:
// simulated seconds per wall second and events per second of runs of the
// profile (chain by default) with its node count fixed at 5 (for chain: the
// sequencer and 4 fullnodes, beside DA and the provers) on one goroutine, and the seeds per hour of a sweep of the
// default profile on every CPU.
func cmdBench(args []string, out, log io.Writer) (int, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(log)
	seeds := fs.Int("seeds", 200, "seeds per figure")
	profile := fs.String("profile", defaultProfile, "the profile (see megasim profiles)")
	if err := fs.Parse(args); err != nil {
		return 2, nil
	}
	base, err := sim.Lookup(*profile)
	if err != nil {
		return 2, err
	}
	five := *base
	five.Name = base.Name + "-5-nodes"
	five.Ranges.Nodes = sim.IntRange{Min: 5, Max: 5}
	var simTime time.Duration
	var events int
	start := time.Now()
	for _, s := range (sim.Shard{}).Seeds(1, *seeds) {
		r := sim.Run(&five, s, sim.Options{})
		simTime += r.SimTime
		events += r.Events
	}
	wall := time.Since(start)
	fmt.Fprintf(log, "megasim bench: %d %s runs with Nodes=5, %.0f simulated seconds, %d events, %v wall, one goroutine\n",
		*seeds, base.Name, simTime.Seconds(), events, wall.Round(time.Millisecond))
	fmt.Fprintf(out, "sim_speedup %.0f sim_s/wall_s\n", simTime.Seconds()/wall.Seconds())
	fmt.Fprintf(out, "sim_events_per_s %.0f events/s\n", float64(events)/wall.Seconds())
	start = time.Now()
	sim.Sweep(base, sim.Shard{}.Seeds(1, *seeds), runtime.NumCPU(), sim.Options{}, func(*sim.Result) {})
	wall = time.Since(start)
	fmt.Fprintf(log, "megasim bench: sweep of %d %s seeds on %d CPUs in %v\n", *seeds, base.Name, runtime.NumCPU(), wall.Round(time.Millisecond))
	fmt.Fprintf(out, "sweep_seeds_per_hour %.0f seeds/h\n", float64(*seeds)/wall.Hours())
	benchFailover(out, log, max(*seeds/4, 10))
	return 0, nil
}

// benchFailover prints the failover times of a sequencer group in
// simulation (the failover-bench profile: raft tick 1 ms, election
// timeout 10 ticks, a fast network), from the leader's loss to the next
// term's first committed mini-block, in simulated time.
func benchFailover(out, log io.Writer, seeds int) {
	var times []float64
	lost, acks := 0.0, 0.0
	failed := 0
	sim.Sweep(chainsim.FailoverBenchProfile, sim.Shard{}.Seeds(1, seeds), runtime.NumCPU(), sim.Options{}, func(r *sim.Result) {
		if r.Failed() {
			failed++
		}
		for _, st := range r.Stats {
			switch st.Name {
			case "failover_ms":
				times = append(times, st.Value)
			case "acks_lost":
				lost += st.Value
			case "acks_checked":
				acks += st.Value
			}
		}
	})
	slices.Sort(times)
	if len(times) == 0 {
		fmt.Fprintf(log, "megasim bench: no failover in %d failover-bench seeds\n", seeds)
		return
	}
	fmt.Fprintf(log, "megasim bench: %d failovers in %d failover-bench seeds (%d failed a property; raft tick 1 ms, election timeout 10 ticks; %0.f acknowledged transactions, %.0f lost)\n",
		len(times), seeds, failed, acks, lost)
	fmt.Fprintf(out, "sim_failover_ms_p50 %.1f ms\n", times[len(times)/2])
	fmt.Fprintf(out, "sim_failover_ms_max %.1f ms\n", times[len(times)-1])
}

func cmdShrink(args []string, out, log io.Writer) (int, error) {
	fs := flag.NewFlagSet("shrink", flag.ContinueOnError)
	fs.SetOutput(log)
	outFile := fs.String("out", "", "where to write the shrunk trace (default: FILE with .shrunk before its extension)")
	prop := fs.String("property", "", "the property the shrunk run must still violate (default: the trace's first, liveness last)")
	maxRuns := fs.Int("max-runs", 400, "runs to try at most")
	if err := fs.Parse(reorder(args)); err != nil {
		return 2, nil
	}
	if fs.NArg() != 1 {
		return 2, errors.New("shrink takes one trace file")
	}
	t, p, err := readPlannedTrace(fs.Arg(0))
	if err != nil {
		return 2, err
	}
	before := sim.RunPlan(p, t.Plan, sim.Options{BuildID: buildID()})
	small, res, st, err := sim.Shrink(p, t.Plan, sim.ShrinkOptions{Property: *prop, MaxRuns: *maxRuns, Log: log, BuildID: buildID()})
	if err != nil {
		return 1, err
	}
	path := *outFile
	if path == "" {
		ext := filepath.Ext(fs.Arg(0))
		path = strings.TrimSuffix(fs.Arg(0), ext) + ".shrunk" + ext
	}
	if err := writeTrace(path, res.Trace); err != nil {
		return 2, err
	}
	f0, o0 := t.Plan.Size()
	f1, o1 := small.Size()
	fmt.Fprintf(out, "shrink: %s still fails after %d runs in %v\n", st.Property, st.Runs, st.Wall.Round(time.Millisecond))
	fmt.Fprintf(out, "before: %3d faults, %4d operations, %d nodes, %5.1f simulated seconds\n", f0, o0, t.Plan.Nodes, before.SimTime.Seconds())
	fmt.Fprintf(out, "after:  %3d faults, %4d operations, %d nodes, %5.1f simulated seconds\n", f1, o1, small.Nodes, res.SimTime.Seconds())
	fmt.Fprintf(out, "wrote %s (megasim replay %s; megasim explain %s)\n", path, path, path)
	return 0, nil
}

// reorder puts flags before the positional arguments, so that
// "shrink FILE --out X" parses like "shrink --out X FILE".
func reorder(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") {
			flags = append(flags, a)
			if !strings.Contains(a, "=") && i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") && a != "-v" {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}

// readPlannedTrace reads a trace with its plan, and its profile.
func readPlannedTrace(path string) (*traces.Trace, *sim.Profile, error) {
	t, err := readTrace(path)
	if err != nil {
		return nil, nil, err
	}
	p, err := sim.Lookup(t.Profile)
	if err != nil {
		return nil, nil, err
	}
	if t.Plan == nil {
		return nil, nil, errors.New("the trace holds no plan")
	}
	return t, p, nil
}
