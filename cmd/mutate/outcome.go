package main

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Outcomes.
const (
	CaughtByTests = "tests"    // the package's own tests failed
	CaughtBySweep = "sweep"    // the sweep failed
	Survived      = "survived" // both passed
	Invalid       = "invalid"  // the mutant does not compile
)

// Result is what became of one mutant.
type Result struct {
	Mutant
	Outcome  string `json:"outcome"`
	Detail   string `json:"detail"`             // the failing test, the property and seed, the compile error
	Property string `json:"property,omitempty"` // caught by sweep: the violated property
	Seed     uint64 `json:"seed,omitempty"`     // caught by sweep: the first failing seed
	Timeout  bool   `json:"timeout,omitempty"`  // caught because it ran past its time limit
	// SweepRan: the sweep ran on this mutant (always, unless the tests
	// caught it first and --sweep-all was not given); SweepCaught: it
	// failed.
	SweepRan    bool          `json:"sweep_ran,omitempty"`
	SweepCaught bool          `json:"sweep_caught,omitempty"`
	Diff        string        `json:"diff"`
	Took        time.Duration `json:"took"`
}

// Summary describes the outcome in words, as the per-mutant line prints it.
func (r *Result) Summary() string {
	switch r.Outcome {
	case CaughtByTests:
		return "caught by tests (" + r.Detail + ")"
	case CaughtBySweep:
		return "caught by sweep (" + r.Detail + ")"
	case Invalid:
		return "invalid (" + r.Detail + ")"
	}
	return "survived"
}

// failLine is megasim sweep's line for a failing seed:
// "FAIL seed 12: P4 durability at 1.234567s: detail", or, for a violation
// without a time (a seed whose two runs differ), "FAIL seed 12: P7
// determinism: detail".
var failLine = regexp.MustCompile(`^FAIL seed (\d+): ([^:]+?)(?: at -?[0-9.]+s)?: (.*)$`)

// SweepFailure is what a sweep's output says about its first failing seed.
type SweepFailure struct {
	Seed     uint64
	Property string
	Detail   string
	Failed   int // how many FAIL lines
}

// ParseSweep reads megasim sweep's output and returns its failing seed
// with the lowest number (seeds run in parallel, so their lines come in
// any order); ok is false when no FAIL line is there.
func ParseSweep(out string) (f SweepFailure, ok bool) {
	for _, line := range strings.Split(out, "\n") {
		m := failLine.FindStringSubmatch(strings.TrimRight(line, "\r"))
		if m == nil {
			continue
		}
		seed, err := strconv.ParseUint(m[1], 10, 64)
		if err != nil {
			continue
		}
		f.Failed++
		if !ok || seed < f.Seed {
			f.Seed, f.Property, f.Detail = seed, m[2], m[3]
			ok = true
		}
	}
	return f, ok
}

var testFail = regexp.MustCompile(`(?m)^\s*--- FAIL: (\S+)`)

// FirstFailingTest names the first test go test reports failed, or says
// what else went wrong.
func FirstFailingTest(out string) string {
	if m := testFail.FindStringSubmatch(out); m != nil {
		return m[1]
	}
	if strings.Contains(out, "panic:") {
		return "panic"
	}
	return "failed"
}

// Score counts outcomes.
type Score struct {
	Tests, Sweep, Survived, Invalid int
	// SweepRan and SweepCaught count the valid mutants the sweep ran on
	// and those it caught, whatever the tests did: with --sweep-all, the
	// sweep's own score.
	SweepRan, SweepCaught int
}

// SweepAlone is the sweep's own line: what it caught of the mutants it
// ran on.
func (s Score) SweepAlone() string {
	p := 0.0
	if s.SweepRan > 0 {
		p = 100 * float64(s.SweepCaught) / float64(s.SweepRan)
	}
	return fmt.Sprintf("%.1f%% (caught %d of the %d valid mutants it ran on)", p, s.SweepCaught, s.SweepRan)
}

// Add counts one result.
func (s *Score) Add(r *Result) {
	if r.SweepRan && r.Outcome != Invalid {
		s.SweepRan++
		if r.SweepCaught {
			s.SweepCaught++
		}
	}
	switch r.Outcome {
	case CaughtByTests:
		s.Tests++
	case CaughtBySweep:
		s.Sweep++
	case Survived:
		s.Survived++
	case Invalid:
		s.Invalid++
	}
}

// Caught is how many valid mutants were caught.
func (s Score) Caught() int { return s.Tests + s.Sweep }

// Valid is how many mutants compiled.
func (s Score) Valid() int { return s.Tests + s.Sweep + s.Survived }

// Percent is the mutation score: caught over valid, 0 with none valid.
func (s Score) Percent() float64 {
	if s.Valid() == 0 {
		return 0
	}
	return 100 * float64(s.Caught()) / float64(s.Valid())
}

// String is the score's line without its label.
func (s Score) String() string {
	return fmt.Sprintf("%.1f%% (caught %d of %d valid mutants: %d by tests, %d by sweep; %d survived; %d invalid)",
		s.Percent(), s.Caught(), s.Valid(), s.Tests, s.Sweep, s.Survived, s.Invalid)
}

// Scores returns the whole run's score and each package's, packages sorted.
func Scores(rs []*Result) (total Score, pkgs []string, per map[string]*Score) {
	per = map[string]*Score{}
	for _, r := range rs {
		total.Add(r)
		s := per[r.Pkg]
		if s == nil {
			s = &Score{}
			per[r.Pkg] = s
			pkgs = append(pkgs, r.Pkg)
		}
		s.Add(r)
	}
	sort.Strings(pkgs)
	return total, pkgs, per
}
