package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/meganode/meganode/node/cover"
	"github.com/meganode/meganode/properties"
	"github.com/meganode/meganode/sim"
	"github.com/meganode/meganode/sim/chainsim"
	"github.com/meganode/meganode/traces"
)

// A sweep's machine-readable result, DIR/sweep.json (megasim sweep --out
// DIR), is what megasim merge combines: one per shard of a sweep run
// across machines. It holds enough of every seed to print the sweep's
// closing lines, its HTML report and its fingerprints file again, exactly
// as the unsharded sweep would.

// shardFormat is the version of sweep.json this build writes and reads.
// Change it whenever a field changes meaning or a reader would need a new
// field; megasim merge refuses any other version.
const shardFormat = 1

// shardFile is the name of the result in a --out directory.
const shardFile = "sweep.json"

// shardResult is one sweep's (one shard's) sweep.json.
type shardResult struct {
	Format  int    `json:"format"`  // shardFormat
	Profile string `json:"profile"` // the profile swept
	Build   string `json:"build"`   // the build id (git commit, +dirty)
	// The sweep this shard belongs to: seeds From … From+Seeds-1, of which
	// this shard ran those whose index is Shard.I modulo Shard.N.
	From  uint64    `json:"from"`
	Seeds int       `json:"seeds"`
	Shard shardSpec `json:"shard"`
	// Planned is how many seeds the shard was to run; len(Results) ran.
	Planned int `json:"planned"`
	// Stopped says why the shard started no more seeds (--stop-after,
	// --time-budget); empty when it ran every planned seed.
	Stopped      string  `json:"stopped,omitempty"`
	RecheckShare float64 `json:"recheck_share"` // --recheck-share
	Jobs         int     `json:"jobs"`
	Host         string  `json:"host,omitempty"`
	Started      string  `json:"started"` // RFC 3339, UTC
	WallNS       int64   `json:"wall_ns"` // wall time of the whole shard
	TracesDir    string  `json:"traces_dir"`
	// LatencyEdgesMS are the upper bounds of each seed's Latency buckets
	// (a last bucket holds the rest).
	LatencyEdgesMS []float64    `json:"latency_edges_ms"`
	Results        []seedRecord `json:"results"` // in seed order
}

type shardSpec struct {
	I int `json:"i"`
	N int `json:"n"`
}

func (s shardSpec) String() string { return fmt.Sprintf("%d/%d", s.I, s.N) }

// seedRecord is what a sweep keeps of one seed.
type seedRecord struct {
	Seed        uint64            `json:"seed"`
	Fingerprint string            `json:"fingerprint"` // hex SHA-256 of the event log
	Passed      bool              `json:"passed"`
	Violations  []violationRecord `json:"violations,omitempty"`
	// Trace is where a failing seed's trace was written.
	Trace      string `json:"trace,omitempty"`
	Events     int    `json:"events"`
	SimTimeNS  int64  `json:"sim_time_ns"`
	HealedAtNS int64  `json:"healed_at_ns"`
	// ConvergedNS is when the liveness goal was reached; 0 if never.
	ConvergedNS int64 `json:"converged_ns"`
	// Calls is how many client calls completed; Latency their latencies,
	// by the shard's LatencyEdgesMS buckets.
	Calls   int   `json:"calls"`
	Latency []int `json:"latency"`
	// Figures are the run's figures in the order the sweep noted them:
	// events, catch_up_after_heal_ms (when it converged), then the
	// scenario's stats (sim.Result.Stats).
	Figures []figure `json:"figures"`
	// Marks are the coverage marks (node/cover) the run reached, with how
	// often.
	Marks map[string]int `json:"marks,omitempty"`
	// Faults are the faults the seed's plan scheduled, by kind.
	Faults map[string]int `json:"faults,omitempty"`
	// Rechecked is set when the seed ran twice (--recheck-share);
	// RecheckFingerprint is the second run's fingerprint.
	Rechecked          bool   `json:"rechecked,omitempty"`
	RecheckFingerprint string `json:"recheck_fingerprint,omitempty"`
}

type violationRecord struct {
	Property string `json:"property"`
	AtNS     int64  `json:"at_ns"`
	Detail   string `json:"detail"`
}

func (v violationRecord) violation() traces.Violation {
	return traces.Violation{Property: v.Property, At: time.Duration(v.AtNS), Detail: v.Detail}
}

// String is how a sweep prints the violation on a FAIL line.
func (v violationRecord) String() string {
	if v.Property == sim.PropDeterminism {
		return v.Property + ": " + v.Detail
	}
	return v.violation().String()
}

type figure struct {
	Name  string `json:"name"`
	Value num    `json:"value"`
}

// num is a float64 that survives JSON exactly, NaN and infinities
// included (as the strings "NaN", "+Inf", "-Inf").
type num float64

func (n num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	switch {
	case math.IsNaN(f):
		return []byte(`"NaN"`), nil
	case math.IsInf(f, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(f, -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

func (n *num) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("figure value %q: %w", s, err)
		}
		*n = num(f)
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("figure value %s: %w", b, err)
	}
	*n = num(f)
	return nil
}

func (r *seedRecord) failed() bool { return !r.Passed }

// newSeedRecord keeps what the sweep needs of a result.
func newSeedRecord(r *sim.Result) *seedRecord {
	rec := &seedRecord{
		Seed: r.Config.Seed, Fingerprint: fmt.Sprintf("%x", r.Fingerprint), Passed: !r.Failed(),
		Events: r.Events, SimTimeNS: int64(r.SimTime), HealedAtNS: int64(r.HealedAt), ConvergedNS: int64(r.Converged),
		Latency: make([]int, len(latencyEdges)+1),
	}
	for _, v := range r.Violations {
		rec.Violations = append(rec.Violations, violationRecord{Property: v.Property, AtNS: int64(v.At), Detail: v.Detail})
	}
	for _, op := range r.History {
		if op.TimedOut {
			continue
		}
		rec.Calls++
		ms := float64((op.Return - op.Call).Nanoseconds()) / 1e6
		i, _ := slices.BinarySearch(latencyEdges, ms)
		if i < len(latencyEdges) && latencyEdges[i] == ms {
			i++ // the bounds are exclusive
		}
		rec.Latency[i]++
	}
	note := func(name string, v float64) { rec.Figures = append(rec.Figures, figure{name, num(v)}) }
	note("events", float64(r.Events))
	if r.Converged > 0 {
		note("catch_up_after_heal_ms", float64((r.Converged-r.HealedAt).Microseconds())/1000)
	}
	for _, st := range r.Stats {
		note(st.Name, st.Value)
	}
	for name, n := range r.Marks {
		if n > 0 {
			if rec.Marks == nil {
				rec.Marks = map[string]int{}
			}
			rec.Marks[name] = n
		}
	}
	if r.Trace != nil && r.Trace.Plan != nil {
		for _, f := range r.Trace.Plan.Faults {
			if rec.Faults == nil {
				rec.Faults = map[string]int{}
			}
			rec.Faults[f.Kind]++
		}
	}
	return rec
}

// markNondeterministic records a P7 failure: the seed ran again and gave
// another fingerprint.
func (r *seedRecord) markNondeterministic(other string) {
	r.Passed = false
	r.Violations = append(r.Violations, violationRecord{
		Property: sim.PropDeterminism, AtNS: r.SimTimeNS,
		Detail: fmt.Sprintf("seed %d ran twice with different fingerprints %s and %s", r.Seed, shortFP(r.Fingerprint), shortFP(other)),
	})
}

// shortFP is a fingerprint as megasim prints it (its first 8 bytes).
func shortFP(hexFP string) string {
	if len(hexFP) > 16 {
		return hexFP[:16]
	}
	return hexFP
}

// rechecked says whether a sweep with --recheck-share share runs seed
// twice: a fixed hash of the seed, so that every shard and every machine
// picks the same seeds.
func rechecked(seed uint64, share float64) bool {
	if share <= 0 {
		return false
	}
	if share >= 1 {
		return true
	}
	z := seed + 0x9e3779b97f4a7c15 // splitmix64
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11)/(1<<53) < share
}

// tally is what a sweep, or a merge of shards, sums up from its seeds,
// taken in seed order: the closing lines, the report, the fingerprints.
type tally struct {
	profile            string
	passed, failed     int
	unsound            int // runs that failed P5
	runTwice, mismatch int // seeds run twice (P7), and those whose fingerprints differed
	figures            map[string][]float64
	names              []string // figure names in the order they first came
	rep                *sweepReport
	prints             io.Writer // the fingerprints file, or nil
	writeErr           error
	records            []*seedRecord // every seed, in order
}

func newTally(profile string) *tally {
	return &tally{profile: profile, figures: map[string][]float64{}}
}

// add takes in one seed; seeds must come in seed order.
func (t *tally) add(rec *seedRecord) {
	t.records = append(t.records, rec)
	if t.rep != nil {
		t.rep.add(rec)
	}
	if t.prints != nil {
		if _, err := fmt.Fprintf(t.prints, "%d %s\n", rec.Seed, rec.Fingerprint); err != nil && t.writeErr == nil {
			t.writeErr = err
		}
	}
	for _, f := range rec.Figures {
		if _, ok := t.figures[f.Name]; !ok {
			t.names = append(t.names, f.Name)
		}
		t.figures[f.Name] = append(t.figures[f.Name], float64(f.Value))
	}
	if rec.Rechecked {
		t.runTwice++
		if rec.RecheckFingerprint != rec.Fingerprint {
			t.mismatch++
		}
	}
	if !rec.failed() {
		t.passed++
		return
	}
	t.failed++
	if slices.ContainsFunc(rec.Violations, func(v violationRecord) bool { return v.Property == properties.PropProverSoundness }) {
		t.unsound++
	}
}

// failLine is the line a sweep prints for a failing seed.
func failLine(rec *seedRecord) string {
	return fmt.Sprintf("FAIL seed %d: %s\n  replay: megasim replay %s\n", rec.Seed, rec.Violations[0], rec.Trace)
}

// figureLines are the "sweep: NAME median … p90 … max …" lines.
func (t *tally) figureLines() []string {
	var out []string
	for _, name := range t.names {
		v := slices.Clone(t.figures[name])
		slices.Sort(v)
		out = append(out, fmt.Sprintf("sweep: %-24s median %10.1f   p90 %10.1f   max %10.1f   (%d runs)", name, v[len(v)/2], v[len(v)*9/10], v[len(v)-1], len(v)))
	}
	return out
}

// closingLines are the lines on stdout after the failures: the byzantine
// figures, P1's and P9's, the determinism line, and last "N passed, M failed" (the report
// line, when there is a report, comes before the last).
func (t *tally) closingLines() (body []string, last string) {
	body = chainsim.ByzantineFigures(t.figures, t.unsound)
	body = append(body, chainsim.CheckFigures(t.figures)...)
	line := fmt.Sprintf("determinism (P7): %d of %d seeds run twice", t.runTwice, t.passed+t.failed)
	if t.runTwice > 0 {
		if t.mismatch == 0 {
			line += ", the same fingerprint each time"
		} else {
			line += fmt.Sprintf(", %d with two different fingerprints", t.mismatch)
		}
	}
	body = append(body, line)
	if c := t.coverageLine(); c != "" {
		body = append(body, c)
	}
	return body, fmt.Sprintf("%d passed, %d failed", t.passed, t.failed)
}

// coverageLine says how many of node/cover's marks the seeds reached, the
// rarest reached, and the ones missed; "" when no seed reached any (a
// profile without the node code).
func (t *tally) coverageLine() string {
	seeds := map[string]int{}
	for _, rec := range t.records {
		for m := range rec.Marks { // counting: order cannot leak
			seeds[m]++
		}
	}
	if len(seeds) == 0 {
		return ""
	}
	var all []cover.Mark
	for _, m := range cover.All() {
		if m.InScope(func(name string) bool { return seeds[name] > 0 }) {
			all = append(all, m)
		}
	}
	var missed []string
	rarest, least := "", 0
	for _, m := range all {
		n := seeds[m.Name]
		switch {
		case n == 0:
			missed = append(missed, m.Name)
		case rarest == "" || n < least:
			rarest, least = m.Name, n
		}
	}
	line := fmt.Sprintf("coverage: %d of %d marks reached", len(all)-len(missed), len(all))
	if rarest != "" {
		line += fmt.Sprintf(" (the rarest, %s, in %d seeds)", rarest, least)
	}
	if len(missed) > 0 {
		line += "; never reached: " + strings.Join(missed, ", ")
	}
	return line
}

// writeShard writes res to DIR/sweep.json.
func writeShard(dir string, res *shardResult) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// The header indented, then one line per seed.
	head := *res
	head.Results = nil
	b, err := json.MarshalIndent(&head, "", " ")
	if err != nil {
		return "", err
	}
	const tail = `"results": null` + "\n}"
	if !bytes.HasSuffix(b, []byte(tail)) {
		return "", errors.New("sweep.json: results are not the last field")
	}
	var buf bytes.Buffer
	buf.Write(b[:len(b)-len(tail)])
	buf.WriteString(`"results": [`)
	for i := range res.Results {
		line, err := json.Marshal(&res.Results[i])
		if err != nil {
			return "", fmt.Errorf("seed %d: %w", res.Results[i].Seed, err)
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString("\n  ")
		buf.Write(line)
	}
	buf.WriteString("\n ]\n}\n")
	path := filepath.Join(dir, shardFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return "", err
	}
	return path, os.Rename(tmp, path)
}

// errFormat is a sweep.json of a version this build does not read.
var errFormat = errors.New("unknown sweep.json format")

// readShard reads a sweep.json: path is the file or a directory holding
// it.
func readShard(path string) (*shardResult, string, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, shardFile)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, path, err
	}
	var head struct {
		Format *int `json:"format"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, path, fmt.Errorf("%s: not a megasim sweep result: %w", path, err)
	}
	if head.Format == nil {
		return nil, path, fmt.Errorf("%s: not a megasim sweep result (no \"format\" field)", path)
	}
	if *head.Format != shardFormat {
		return nil, path, fmt.Errorf("%s: %w %d: this megasim reads format %d only; merge it with the megasim of the build that wrote it", path, errFormat, *head.Format, shardFormat)
	}
	res := &shardResult{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(res); err != nil {
		return nil, path, fmt.Errorf("%s: %w", path, err)
	}
	if res.Shard.N < 1 || res.Shard.I < 0 || res.Shard.I >= res.Shard.N || res.Seeds < 0 {
		return nil, path, fmt.Errorf("%s: shard %s of %d seeds: not a shard of a sweep", path, res.Shard, res.Seeds)
	}
	if !slices.Equal(res.LatencyEdgesMS, latencyEdges) {
		return nil, path, fmt.Errorf("%s: latency buckets %v, this megasim's are %v", path, res.LatencyEdgesMS, latencyEdges)
	}
	for i, r := range res.Results {
		if len(r.Latency) != len(latencyEdges)+1 {
			return nil, path, fmt.Errorf("%s: seed %d has %d latency buckets, want %d", path, r.Seed, len(r.Latency), len(latencyEdges)+1)
		}
		if !r.Passed && len(r.Violations) == 0 {
			return nil, path, fmt.Errorf("%s: seed %d failed without a violation", path, r.Seed)
		}
		if i > 0 && r.Seed <= res.Results[i-1].Seed {
			return nil, path, fmt.Errorf("%s: results not in seed order (seed %d after %d)", path, r.Seed, res.Results[i-1].Seed)
		}
	}
	return res, path, nil
}
