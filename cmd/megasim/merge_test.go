package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/sim"
	"github.com/meganode/meganode/sim/register"
)

type cmdOutput struct {
	code     int
	err      error
	out, log string
}

func runCmd(cmd func([]string, *bytes.Buffer, *bytes.Buffer) (int, error), args ...string) cmdOutput {
	var out, log bytes.Buffer
	code, err := cmd(args, &out, &log)
	return cmdOutput{code, err, out.String(), log.String()}
}

func sweep(args ...string) cmdOutput {
	return runCmd(func(a []string, o, l *bytes.Buffer) (int, error) { return cmdSweep(a, o, l) }, args...)
}

func merge(args ...string) cmdOutput {
	return runCmd(func(a []string, o, l *bytes.Buffer) (int, error) { return cmdMerge(a, o, l) }, args...)
}

// wallFigures are figures measured in wall time: two runs of one seed
// differ in them, so they are left out of comparisons.
var wallFigures = regexp.MustCompile(`p1_check_ms`)

// closing are a sweep's or a merge's lines that must not depend on how
// the seeds were split: stdout but the lines naming files, and the figure
// lines on stderr but the wall-time ones.
func closing(o cmdOutput) (out, figures []string) {
	for _, l := range strings.Split(strings.TrimSpace(o.out), "\n") {
		if !strings.HasPrefix(l, "report: ") && !strings.HasPrefix(l, "result: ") {
			out = append(out, l)
		}
	}
	for _, l := range strings.Split(o.log, "\n") {
		if strings.HasPrefix(l, "sweep: ") && !regexp.MustCompile(`^sweep: \d+ seeds of`).MatchString(l) && !wallFigures.MatchString(l) {
			figures = append(figures, l)
		}
	}
	return out, figures
}

// comparableHTML drops from a report what a merge adds (the note on the
// shards) and the wall-time figures.
func comparableHTML(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var keep []string
	for _, l := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(l, `<p class="meta">Merged from`) || wallFigures.MatchString(l) {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

// Four shards of a chain sweep, merged, are the unsharded sweep: the same
// seeds, fingerprints (byte for byte), totals, coverage, figure lines and
// report.
func TestMergeOfShardsIsTheUnshardedSweep(t *testing.T) {
	start := time.Now()
	dir := t.TempDir()
	common := []string{"--seeds", "12", "--profile", "chain", "--jobs", "2", "--recheck-share", "0.3", "--traces", filepath.Join(dir, "traces")}
	whole := sweep(append(slices.Clone(common), "--out", filepath.Join(dir, "whole"), "--report", filepath.Join(dir, "whole-report"),
		"--fingerprints", filepath.Join(dir, "whole.fp"))...)
	if whole.err != nil || whole.code > 1 {
		t.Fatalf("sweep: code %d, err %v\n%s", whole.code, whole.err, whole.out)
	}
	// The shards run side by side, as on four machines, one job each.
	shardDirs := make([]string, 4)
	outs := make([]cmdOutput, 4)
	var wg sync.WaitGroup
	for i := range 4 {
		shardDirs[i] = filepath.Join(dir, "shards", fmt.Sprintf("shard-%d", i))
		wg.Go(func() {
			outs[i] = sweep(append(slices.Clone(common), "--jobs", "1", "--shard", fmt.Sprintf("%d/4", i), "--out", shardDirs[i])...)
		})
	}
	wg.Wait()
	for i, o := range outs {
		if o.err != nil || o.code > 1 {
			t.Fatalf("shard %d: code %d, err %v\n%s", i, o.code, o.err, o.out)
		}
	}
	t.Logf("5 sweeps in %v", time.Since(start).Round(time.Millisecond))
	merged := merge(filepath.Join(dir, "shards"), "--report", filepath.Join(dir, "merged-report"), "--fingerprints", filepath.Join(dir, "merged.fp"))
	if merged.err != nil || merged.code != whole.code {
		t.Fatalf("merge: code %d (the sweep's: %d), err %v\n%s", merged.code, whole.code, merged.err, merged.out)
	}

	wholeOut, wholeFigures := closing(whole)
	mergedOut, mergedFigures := closing(merged)
	t.Logf("unsharded:\n%s\n%s", strings.Join(wholeFigures, "\n"), strings.Join(wholeOut, "\n"))
	t.Logf("merged:\n%s\n%s", strings.Join(mergedFigures, "\n"), strings.Join(mergedOut, "\n"))
	if !slices.Equal(wholeOut, mergedOut) {
		t.Errorf("closing lines differ:\nunsharded:\n%s\nmerged:\n%s", strings.Join(wholeOut, "\n"), strings.Join(mergedOut, "\n"))
	}
	if len(wholeFigures) < 5 || !slices.Equal(wholeFigures, mergedFigures) {
		t.Errorf("figure lines differ:\nunsharded:\n%s\nmerged:\n%s", strings.Join(wholeFigures, "\n"), strings.Join(mergedFigures, "\n"))
	}
	if !slices.Contains(mergedOut, "12 passed, 0 failed") && whole.code == 0 {
		t.Errorf("no \"12 passed, 0 failed\" in:\n%s", merged.out)
	}
	if m := regexp.MustCompile(`(?m)^determinism \(P7\): (\d+) of 12 seeds run twice`).FindStringSubmatch(merged.out); m == nil || m[1] == "0" {
		t.Errorf("no seed run twice, or no determinism line:\n%s", merged.out)
	}

	a, err := os.ReadFile(filepath.Join(dir, "whole.fp"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "merged.fp"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) || bytes.Count(a, []byte("\n")) != 12 {
		t.Errorf("fingerprints files differ:\n%s\n%s", a, b)
	}

	// The reports agree, coverage counts included.
	wholeHTML := comparableHTML(t, filepath.Join(dir, "whole-report", "index.html"))
	mergedHTML := comparableHTML(t, filepath.Join(dir, "merged-report", "index.html"))
	marks := regexp.MustCompile(`(?s)<table id="marks".*?</table>`)
	if m := marks.FindString(wholeHTML); m == "" || m != marks.FindString(mergedHTML) {
		t.Errorf("coverage tables differ:\n%s\n%s", m, marks.FindString(mergedHTML))
	}
	if wholeHTML != mergedHTML {
		t.Errorf("reports differ beyond the merge note and wall-time figures")
	}

	// The shards' results hold each seed once, as the unsharded sweep's.
	ws, _, err := readShard(filepath.Join(dir, "whole"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint64]string{}
	for _, d := range shardDirs {
		sh, _, err := readShard(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range sh.Results {
			got[r.Seed] = r.Fingerprint
		}
	}
	if len(ws.Results) != 12 || len(got) != 12 {
		t.Fatalf("%d seeds unsharded, %d in the shards", len(ws.Results), len(got))
	}
	for _, r := range ws.Results {
		if got[r.Seed] != r.Fingerprint {
			t.Errorf("seed %d: fingerprint %s unsharded, %s in its shard", r.Seed, r.Fingerprint, got[r.Seed])
		}
	}

	// A missing shard is reported, with its seeds, and fails the merge.
	partial := merge(shardDirs[0], shardDirs[1], shardDirs[2])
	if partial.code != 2 && !(whole.code == 1 && partial.code == 1) || partial.err == nil || !strings.Contains(partial.err.Error(), "incomplete merge: 3 seeds missing") {
		t.Errorf("merge without shard 3: code %d, err %v", partial.code, partial.err)
	}
	if !strings.Contains(partial.out, "merge: MISSING shard 3/4 of seeds 1–12: 3 seeds no shard ran (4, 8, 12)") {
		t.Errorf("the missing shard is not reported:\n%s", partial.out)
	}
	// So is a shard given twice.
	twice := merge(shardDirs[0], shardDirs[0], shardDirs[1], shardDirs[2], shardDirs[3])
	if twice.err == nil || !regexp.MustCompile(`merge: 3 seeds are in both \S+shard-0/sweep.json and \S+shard-0/sweep.json \(1, 5, 9\)`).MatchString(twice.out) {
		t.Errorf("a shard merged twice: code %d, err %v\n%s", twice.code, twice.err, twice.out)
	}
	t.Logf("in all %v", time.Since(start).Round(time.Millisecond))
}

// fakeShard writes a shard result of the register profile without running
// anything.
func fakeShard(t *testing.T, dir string, edit func(*shardResult)) string {
	t.Helper()
	res := &shardResult{Format: shardFormat, Profile: "register", Build: "abc", From: 1, Seeds: 4, Shard: shardSpec{0, 2},
		Planned: 2, LatencyEdgesMS: latencyEdges}
	for _, s := range []uint64{1, 3} {
		res.Results = append(res.Results, seedRecord{Seed: s, Fingerprint: fakeFP(s), Passed: true,
			Latency: make([]int, len(latencyEdges)+1), Figures: []figure{{"events", num(100 * s)}}})
	}
	if edit != nil {
		edit(res)
	}
	if _, err := writeShard(dir, res); err != nil {
		t.Fatal(err)
	}
	return dir
}

func fakeFP(s uint64) string { return fmt.Sprintf("%016x%048x", s, 0) }

func otherHalf(r *shardResult) {
	r.Shard.I = 1
	for i := range r.Results {
		r.Results[i].Seed++
		r.Results[i].Fingerprint = fakeFP(r.Results[i].Seed)
	}
}

func TestMergeRefusals(t *testing.T) {
	dir := t.TempDir()
	a := fakeShard(t, filepath.Join(dir, "a"), nil)
	b := fakeShard(t, filepath.Join(dir, "b"), otherHalf)
	if o := merge(a, b); o.code != 0 || o.err != nil || !strings.Contains(o.out, "4 passed, 0 failed") {
		t.Fatalf("two halves: code %d, err %v\n%s", o.code, o.err, o.out)
	}

	otherProfile := fakeShard(t, filepath.Join(dir, "profile"), func(r *shardResult) { otherHalf(r); r.Profile = "chain" })
	if o := merge(a, otherProfile); o.code != 2 || o.err == nil || !strings.Contains(o.err.Error(), "refusing to merge shards of different profiles") {
		t.Errorf("different profiles: code %d, err %v", o.code, o.err)
	}
	otherBuild := fakeShard(t, filepath.Join(dir, "build"), func(r *shardResult) { otherHalf(r); r.Build = "def" })
	if o := merge(a, otherBuild); o.code != 2 || o.err == nil || !strings.Contains(o.err.Error(), "different builds") {
		t.Errorf("different builds: code %d, err %v", o.code, o.err)
	}
	future := fakeShard(t, filepath.Join(dir, "future"), func(r *shardResult) { otherHalf(r); r.Format = shardFormat + 1 })
	if o := merge(a, future); o.code != 2 || o.err == nil || !strings.Contains(o.err.Error(), fmt.Sprintf("unknown sweep.json format %d", shardFormat+1)) {
		t.Errorf("unknown format: code %d, err %v", o.code, o.err)
	}
	if o := merge(a); o.code != 2 || !strings.Contains(o.out, "MISSING shard 1/2 of seeds 1–4: 2 seeds no shard ran (2, 4)") {
		t.Errorf("one half: code %d, err %v\n%s", o.code, o.err, o.out)
	}
	// A shard that stopped early says so; its seeds not run are not missing.
	stopped := fakeShard(t, filepath.Join(dir, "stopped"), func(r *shardResult) {
		otherHalf(r)
		r.Results, r.Stopped = r.Results[:1], "time budget of 1h0m0s spent, --time-budget"
	})
	if o := merge(a, stopped); o.code != 0 || o.err != nil || !strings.Contains(o.out, "merge: shard 1/2 of seeds 1–4 stopped early (time budget of 1h0m0s spent, --time-budget): 1 of 2 seeds ran") ||
		!strings.Contains(o.out, "3 passed, 0 failed") {
		t.Errorf("a stopped shard: code %d, err %v\n%s", o.code, o.err, o.out)
	}
	// The same seed with two fingerprints in two shards fails P7.
	clash := fakeShard(t, filepath.Join(dir, "clash"), func(r *shardResult) { r.Shard.I = 1; r.Results[0].Fingerprint = fakeFP(99) })
	o := merge(a, clash)
	if o.code != 1 || !strings.Contains(o.out, "FAIL seed 1: P7 determinism: seed 1 ran twice with different fingerprints 0000000000000001 and 0000000000000063") {
		t.Errorf("a seed with two fingerprints: code %d, err %v\n%s", o.code, o.err, o.out)
	}
}

// A node whose behaviour depends on state shared between runs: each start
// sets a timer whose delay no two starts in the process share.
type flakyPrimary struct{ *register.Primary }

var flakyStarts atomic.Int64

const flakyTimer node.TimerID = 1<<62 + 1

func (f *flakyPrimary) Start(env node.Env) error {
	env.After(time.Duration(flakyStarts.Add(1))*time.Microsecond, flakyTimer)
	return f.Primary.Start(env)
}

func (f *flakyPrimary) OnTimer(id node.TimerID) {
	if id != flakyTimer {
		f.Primary.OnTimer(id)
	}
}

func init() {
	sim.Register(&sim.Profile{Name: "register-nondeterministic", Ranges: register.Ranges, New: func(cfg *sim.Config, rng *rand.Rand) sim.Scenario {
		return register.New(cfg, rng, func(backups []node.NodeID) node.Node { return &flakyPrimary{register.NewPrimary(backups)} })
	}})
}

// A seed run twice with different fingerprints fails P7, like any other
// failure; the closing lines count the seeds run twice.
func TestSweepRunsSeedsTwiceAndCatchesNondeterminism(t *testing.T) {
	dir := t.TempDir()
	o := sweep("--seeds", "3", "--profile", "register-nondeterministic", "--jobs", "2", "--recheck-share", "1", "--traces", dir, "--out", dir)
	if o.code != 1 || o.err != nil {
		t.Fatalf("code %d, err %v\n%s", o.code, o.err, o.out)
	}
	if !regexp.MustCompile(`(?m)^FAIL seed 1: P7 determinism: seed 1 ran twice with different fingerprints [0-9a-f]{16} and [0-9a-f]{16}$`).MatchString(o.out) ||
		!strings.Contains(o.out, "determinism (P7): 3 of 3 seeds run twice, 3 with two different fingerprints") ||
		!strings.Contains(o.out, "0 passed, 3 failed") || !strings.Contains(o.out, "traces: ") {
		t.Errorf("output:\n%s", o.out)
	}
	// The honest register profile passes the same check.
	o = sweep("--seeds", "6", "--profile", "register", "--jobs", "2", "--recheck-share", "1", "--traces", dir)
	if o.code != 0 || !strings.Contains(o.out, "determinism (P7): 6 of 6 seeds run twice, the same fingerprint each time") {
		t.Errorf("code %d, err %v\n%s", o.code, o.err, o.out)
	}
	// The share picks the same seeds wherever it runs, about as many as asked.
	n := 0
	for s := range uint64(10000) {
		if rechecked(s, 0.05) {
			n++
		}
	}
	if n < 400 || n > 600 {
		t.Errorf("%d of 10000 seeds picked at share 0.05", n)
	}
}

func TestSweepStopsEarly(t *testing.T) {
	dir := t.TempDir()
	o := sweep("--seeds", "100", "--profile", "register-lying-disk", "--jobs", "2", "--stop-after", "1", "--traces", dir, "--out", dir)
	if o.code != 1 || o.err != nil {
		t.Fatalf("code %d, err %v\n%s", o.code, o.err, o.out)
	}
	m := regexp.MustCompile(`(?m)^sweep: stopped early \((\d+) failures, --stop-after 1\): (\d+) of 100 seeds ran$`).FindStringSubmatch(o.out)
	if m == nil || m[2] == "100" {
		t.Fatalf("no early stop:\n%s", o.out)
	}
	res, _, err := readShard(dir)
	if err != nil || res.Stopped == "" || fmt.Sprint(len(res.Results)) != m[2] {
		t.Errorf("sweep.json: %v, stopped %q, %d results", err, res.Stopped, len(res.Results))
	}
	o = sweep("--seeds", "5", "--profile", "register", "--time-budget", "1ns", "--traces", dir)
	if o.code != 0 || !strings.Contains(o.out, "sweep: stopped early (time budget of 1ns spent, --time-budget): 0 of 5 seeds ran") {
		t.Errorf("time budget: code %d, err %v\n%s", o.code, o.err, o.out)
	}
}

func TestProgressLine(t *testing.T) {
	if p := newProgress(&bytes.Buffer{}, 10); p != nil {
		t.Error("a progress line on a buffer")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if p := newProgress(f, 10); p != nil {
		t.Error("a progress line on a file")
	}
	var p *progress // what a sweep has off a terminal: every call does nothing
	p.seed(true)
	p.hold()()
	p.end()
	if got, want := progressLine(25, 100, 1, 30*time.Minute), "sweep: 25/100 seeds, 1 failed, 50 seeds/hour, ETA 1h30m0s"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := progressLine(0, 100, 0, time.Second); got != "sweep: 0/100 seeds, 0 failed, ETA …" {
		t.Errorf("got %q", got)
	}
}

// Failing seeds survive the round trip: the merge prints the FAIL lines
// (violation, time, replay command) and the totals the unsharded sweep
// printed, and the report lists the same failing seeds.
func TestMergeOfFailingShards(t *testing.T) {
	dir := t.TempDir()
	common := []string{"--seeds", "20", "--profile", "register-lying-disk", "--jobs", "2", "--traces", filepath.Join(dir, "traces")}
	whole := sweep(append(slices.Clone(common), "--report", filepath.Join(dir, "whole"))...)
	if whole.code != 1 {
		t.Fatalf("sweep: code %d, err %v\n%s", whole.code, whole.err, whole.out)
	}
	for i := range 2 {
		if o := sweep(append(slices.Clone(common), "--shard", fmt.Sprintf("%d/2", i), "--out", filepath.Join(dir, "shards", fmt.Sprint(i)))...); o.code != 1 {
			t.Fatalf("shard %d: code %d, err %v\n%s", i, o.code, o.err, o.out)
		}
	}
	merged := merge(filepath.Join(dir, "shards"), "--report", filepath.Join(dir, "merged"))
	if merged.code != 1 || merged.err != nil {
		t.Fatalf("merge: code %d, err %v\n%s", merged.code, merged.err, merged.out)
	}
	wholeOut, wholeFigures := closing(whole)
	mergedOut, mergedFigures := closing(merged)
	if !slices.Equal(slices.DeleteFunc(wholeOut, func(l string) bool { return strings.HasPrefix(l, "traces: ") }), mergedOut) ||
		!slices.Equal(wholeFigures, mergedFigures) || !strings.Contains(merged.out, "FAIL seed ") {
		t.Errorf("unsharded:\n%s\n%s\nmerged:\n%s\n%s", whole.out, whole.log, merged.out, merged.log)
	}
	if a, b := comparableHTML(t, filepath.Join(dir, "whole", "index.html")), comparableHTML(t, filepath.Join(dir, "merged", "index.html")); a != b {
		t.Errorf("reports differ")
	}
}
