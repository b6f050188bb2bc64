package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meganode/meganode/properties"
	"github.com/meganode/meganode/sim"
	"github.com/meganode/meganode/traces"
)

// failingTrace writes the trace of the first seed of the lying-disk
// register (main_test.go: a primary that acknowledges writes before they
// are durable) whose only violation is a lost acknowledged write (P1), and
// returns its path.
func failingTrace(t *testing.T) string {
	t.Helper()
	p, err := sim.Lookup("register-lying-disk")
	if err != nil {
		t.Fatal(err)
	}
	for seed := uint64(1); seed <= 100; seed++ {
		r := sim.Run(p, seed, sim.Options{Keep: true, BuildID: "test"})
		if len(r.Violations) != 1 || r.Violations[0].Property != properties.PropLinearizability {
			continue
		}
		path := filepath.Join(t.TempDir(), "lying.trace")
		if err := writeTrace(path, r.Trace); err != nil {
			t.Fatal(err)
		}
		return path
	}
	t.Fatal("no seed of 100 lost an acknowledged write")
	return ""
}

func TestExplainPrintsTheViolationAndTheLanes(t *testing.T) {
	path := failingTrace(t)
	var out, log bytes.Buffer
	code, err := cmdExplain([]string{path, "--events", "25"}, &out, &log)
	if err != nil || code != 0 {
		t.Fatalf("code %d, err %v\n%s%s", code, err, out.String(), log.String())
	}
	s := out.String()
	for _, want := range []string{
		"fails again, event for event",
		"violated properties:\n  P1 linearizability at ",
		"no linearization of",
		"explanation:",
		"faults planned:",
		"timeline: the last 25 events up to",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("no %q in:\n%s", want, s)
		}
	}
	// The table: a header with the time and a lane per node, clients too,
	// then 25 rows (and any planned fault without an event).
	lines := strings.Split(s, "\n")
	h := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(strings.TrimSpace(l), "time ") })
	if h < 0 {
		t.Fatalf("no timeline header in:\n%s", s)
	}
	header := strings.Fields(lines[h])
	if !slices.Contains(header, "primary") || !slices.ContainsFunc(header, func(l string) bool { return strings.HasPrefix(l, "client") }) {
		t.Errorf("lanes %v: want the primary and the clients", header)
	}
	rows := 0
	for _, l := range lines[h+2:] {
		if regexp.MustCompile(`^\s*\d+\.\d{6}s  `).MatchString(l) {
			rows++
		}
	}
	if rows < 25 {
		t.Errorf("%d timeline rows, want 25:\n%s", rows, s)
	}
	if regexp.MustCompile(`timer \d`).MatchString(s) {
		t.Errorf("timer events shown without --timers")
	}
	t.Logf("\n%s", s)
}

func TestExplainWritesASelfContainedPage(t *testing.T) {
	path := failingTrace(t)
	page := filepath.Join(t.TempDir(), "sub", "explain.html")
	var out bytes.Buffer
	code, err := cmdExplain([]string{"--html", page, path, "--timers"}, &out, io.Discard)
	if err != nil || code != 0 {
		t.Fatalf("code %d, err %v\n%s", code, err, out.String())
	}
	raw, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	for _, want := range []string{
		"<title>P1 linearizability",
		`<h1 class="viol">P1 linearizability</h1>`,
		"no linearization of",
		"<svg",
		`stroke="#dc2626"`,              // the violation line
		`<iframe title="`,               // porcupine's visualization …
		`srcdoc="&lt;!doctype html&gt;`, // … embedded, escaped
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	checkSelfContained(t, s)
	if n := strings.Count(s, "<svg"); n < 2 {
		t.Errorf("%d SVGs, want the whole run and the last events", n)
	}
}

// checkSelfContained: no external resources, and every SVG is well-formed
// XML.
func checkSelfContained(t *testing.T, page string) {
	t.Helper()
	if m := regexp.MustCompile(`(?i)(src|href)="(https?:)?//`).FindString(page); m != "" {
		t.Errorf("the page loads an external resource: %s", m)
	}
	if strings.Contains(page, "<script") {
		t.Errorf("the page has a script outside the embedded evidence")
	}
	for _, svg := range regexp.MustCompile(`(?s)<svg .*?</svg>`).FindAllString(page, -1) {
		d := xml.NewDecoder(strings.NewReader(svg))
		for {
			_, err := d.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("an SVG is not well-formed: %v\n%.400s", err, svg)
			}
		}
	}
}

// A trace whose violation this build no longer shows: explain says so,
// prints what was recorded, and exits 1.
func TestExplainSaysWhenTheViolationNoLongerReproduces(t *testing.T) {
	p, err := sim.Lookup("register")
	if err != nil {
		t.Fatal(err)
	}
	r := sim.Run(p, 1, sim.Options{Keep: true, BuildID: "old"})
	if r.Failed() {
		t.Fatalf("the correct register failed: %v", r.Violations)
	}
	tr := r.Trace
	tr.Violations = []traces.Violation{{Property: "P1 linearizability", At: 2 * time.Second, Detail: "write(7) acknowledged, then read() → 0"}}
	path := filepath.Join(t.TempDir(), "old.trace")
	if err := writeTrace(path, tr); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	code, err := cmdExplain([]string{path}, &out, io.Discard)
	if err != nil || code != 1 {
		t.Fatalf("code %d, err %v\n%s", code, err, out.String())
	}
	for _, want := range []string{"no longer reproduce", "P1 linearizability at 2.000000s", "write(7) acknowledged", "timeline: the last 40 events up to 2.000000s"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in:\n%s", want, out.String())
		}
	}
}

func TestFlagsFirstKnowsBoolFlags(t *testing.T) {
	for _, args := range [][]string{
		{"F", "--timers", "--events", "5"},
		{"--timers", "F", "--events", "5"},
		{"--events=5", "F", "--timers"},
	} {
		fs := flag.NewFlagSet("explain", flag.ContinueOnError)
		timers := fs.Bool("timers", false, "")
		events := fs.Int("events", 40, "")
		if err := fs.Parse(flagsFirst(fs, args)); err != nil || fs.NArg() != 1 || fs.Arg(0) != "F" || !*timers || *events != 5 {
			t.Errorf("%q: err %v, args %q, timers %v, events %d", args, err, fs.Args(), *timers, *events)
		}
	}
}

func TestSweepWritesAReport(t *testing.T) {
	dir := t.TempDir()
	report := filepath.Join(dir, "report")
	var out bytes.Buffer
	code, err := cmdSweep([]string{"--seeds", "8", "--profile", "register-lying-disk", "--jobs", "2", "--traces", filepath.Join(dir, "traces"), "--report", report}, &out, io.Discard)
	if err != nil || code != 1 {
		t.Fatalf("code %d, err %v\n%s", code, err, out.String())
	}
	if !strings.Contains(out.String(), "report: "+filepath.Join(report, "index.html")+"\n") {
		t.Errorf("the sweep does not say where its report is:\n%s", out.String())
	}
	raw, err := os.ReadFile(filepath.Join(report, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	for _, want := range []string{
		"<h2 id=\"outcomes\">", "<title>seed 1: ", "#dc2626", "megasim replay " + filepath.Join(dir, "traces"),
		"<h2 id=\"faults\">", ">crash</text>",
		`<table id="marks"`, `class="unreached" style="color:#c00"`, "<code>sequencer/pool-full</code>",
		"<h2 id=\"throughput\">", "calls / simulated s",
		"<h2 id=\"catch-up\">",
		"<td>events</td>",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	checkSelfContained(t, s)
}

func TestLinearBins(t *testing.T) {
	labels, counts := linearBins([]float64{0, 1, 2, 3, 9.5, 10}, 20, "%.0f")
	total := 0
	for _, c := range counts {
		total += c
	}
	if total != 6 || len(labels) != 3 || len(counts) != 3 || labels[0] != "0–5" || counts[0] != 4 {
		t.Fatalf("labels %q counts %v", labels, counts)
	}
	if labels, counts := linearBins([]float64{3, 3}, 20, "%.0f"); len(labels) != 1 || counts[0] != 2 {
		t.Fatalf("one value: labels %q counts %v", labels, counts)
	}
}
