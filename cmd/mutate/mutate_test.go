package main

import (
	"bytes"
	"fmt"
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

const sample = `package p

import (
	"errors"
	"fmt"
	"log/slog"
)

type S struct {
	m    map[int]int
	n    int
	env  env
	ok   bool
	seen []int
}

type env interface {
	Mark(string)
	Send(int)
	Log() *slog.Logger
}

func (s *S) step(a, b int) error {
	if a < b && b <= s.n {
		s.env.Send(a + 1)
	}
	if s.ok || a > 0 {
		s.n--
	}
	delete(s.m, a)
	s.env.Mark("rare")
	s.env.Log().Warn("odd", "a", a < b)
	fmt.Println(a == b)
	if a >= b {
		s.env.Mark("guarded")
	}
	if a != b {
		return errors.New("differ")
	}
	for i := 0; i < 3; i++ {
		s.seen = append(s.seen, b-1)
	}
	s.ok = true
	return nil
}

func (s *S) String() string {
	if s.n > 0 {
		return fmt.Sprint(s.n + 1)
	}
	return "none"
}

func check(x int) (int, error) {
	if x == 0 {
		panic(fmt.Sprintf("x %d", x+1))
	}
	err := errors.New("e")
	return x, err
}
`

// generateSample returns the mutants of sample.
func generateSample(t *testing.T) []*Mutant {
	t.Helper()
	ms, err := Generate("p/p.go", "p", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func lineOf(t *testing.T, text string) int {
	t.Helper()
	for i, l := range strings.Split(sample, "\n") {
		if strings.Contains(l, text) {
			return i + 1
		}
	}
	t.Fatalf("no line contains %q", text)
	return 0
}

func TestOperators(t *testing.T) {
	ms := generateSample(t)
	cases := []struct {
		op, at, desc string
		from, to     string // the line before and after; to "" means removed
	}{
		{OpCmpFlip, "if a < b && b <= s.n {", "< → <=", "if a < b && b <= s.n {", "if a <= b && b <= s.n {"},
		{OpCmpFlip, "if a < b && b <= s.n {", "<= → <", "if a < b && b <= s.n {", "if a < b && b < s.n {"},
		{OpLogicSwap, "if a < b && b <= s.n {", "&& → ||", "if a < b && b <= s.n {", "if a < b || b <= s.n {"},
		{OpIfNegate, "if a < b && b <= s.n {", "if c → if !(c)", "if a < b && b <= s.n {", "if !(a < b && b <= s.n) {"},
		{OpOneSwap, "s.env.Send(a + 1)", "+ 1 → - 1", "s.env.Send(a + 1)", "s.env.Send(a - 1)"},
		{OpCallRemove, "s.env.Send(a + 1)", "s.env.Send(...) removed", "s.env.Send(a + 1)", ""},
		{OpLogicSwap, "if s.ok || a > 0 {", "|| → &&", "if s.ok || a > 0 {", "if s.ok && a > 0 {"},
		{OpIncDecSwap, "s.n--", "-- → ++", "s.n--", "s.n++"},
		{OpDeleteRemove, "delete(s.m, a)", "delete(...) removed", "delete(s.m, a)", ""},
		{OpCmpFlip, "if a != b {", "!= → ==", "if a != b {", "if a == b {"},
		{OpReturnNil, `return errors.New("differ")`, "error → nil", `return errors.New("differ")`, "return nil"},
		{OpIncDecSwap, "for i := 0; i < 3; i++ {", "++ → --", "for i := 0; i < 3; i++ {", "for i := 0; i < 3; i-- {"},
		{OpOneSwap, "s.seen = append(s.seen, b-1)", "- 1 → + 1", "s.seen = append(s.seen, b-1)", "s.seen = append(s.seen, b+1)"},
		{OpBoolFlip, "s.ok = true", "true → false", "s.ok = true", "s.ok = false"},
		{OpReturnNil, "return x, err", "error → nil", "return x, err", "return x, nil"},
	}
	for _, c := range cases {
		t.Run(c.op+" "+c.desc, func(t *testing.T) {
			line := lineOf(t, c.at)
			var m *Mutant
			for _, x := range ms {
				if x.Op == c.op && x.Line == line && x.Desc == c.desc {
					m = x
				}
			}
			if m == nil {
				t.Fatalf("no %s mutant (%s) at line %d", c.op, c.desc, line)
			}
			out := m.Apply([]byte(sample))
			if _, err := parser.ParseFile(token.NewFileSet(), "p.go", out, 0); err != nil {
				t.Fatalf("mutant does not parse: %v", err)
			}
			d := UnifiedDiff("p/p.go", []byte(sample), out, 0)
			var minus, plus []string
			for _, l := range strings.Split(d, "\n") {
				switch {
				case strings.HasPrefix(l, "---") || strings.HasPrefix(l, "+++"):
				case strings.HasPrefix(l, "-"):
					minus = append(minus, strings.TrimSpace(l[1:]))
				case strings.HasPrefix(l, "+"):
					plus = append(plus, strings.TrimSpace(l[1:]))
				}
			}
			if len(minus) != 1 || minus[0] != c.from {
				t.Errorf("removed %q, want %q\n%s", minus, c.from, d)
			}
			switch {
			case c.to == "" && len(plus) != 0:
				t.Errorf("added %q, want the line removed\n%s", plus, d)
			case c.to != "" && (len(plus) != 1 || plus[0] != c.to):
				t.Errorf("added %q, want %q\n%s", plus, c.to, d)
			}
			if !strings.HasPrefix(m.ID(), fmt.Sprintf("p/p.go:%d:", line)) || !strings.HasSuffix(m.ID(), " "+c.op) {
				t.Errorf("id %q", m.ID())
			}
		})
	}
}

func TestQuietCodeIsNotMutated(t *testing.T) {
	ms := generateSample(t)
	quiet := []string{
		`s.env.Mark("rare")`,                         // a coverage mark: not removed
		`s.env.Log().Warn("odd", "a", a < b)`,        // a log line: not removed, its arguments not mutated
		`fmt.Println(a == b)`,                        // fmt
		`if a >= b {`,                                // guards only a mark
		`if s.n > 0 {`, `return fmt.Sprint(s.n + 1)`, // a String method
		`if x == 0 {`, `panic(fmt.Sprintf("x %d", x+1))`, // an invariant and its guard
	}
	for _, q := range quiet {
		line := lineOf(t, q)
		for _, m := range ms {
			if m.Line == line {
				t.Errorf("%q: mutant %s (%s)", q, m.ID(), m.Desc)
			}
		}
	}
	for _, m := range ms {
		out := m.Apply([]byte(sample))
		if bytes.Equal(out, []byte(sample)) {
			t.Errorf("%s changes nothing", m.ID())
		}
		if _, err := parser.ParseFile(token.NewFileSet(), "p.go", out, 0); err != nil {
			t.Errorf("%s does not parse: %v", m.ID(), err)
		}
	}
}

func TestOrderIsDeterministicAndSpread(t *testing.T) {
	var ms []*Mutant
	for f := 0; f < 3; f++ {
		for i := 0; i < 10; i++ {
			ms = append(ms, &Mutant{Pkg: "p", File: fmt.Sprintf("p/f%d.go", f), Line: i + 1, Op: OpCmpFlip})
		}
	}
	ids := func(l []*Mutant) string {
		var s []string
		for _, m := range l {
			s = append(s, m.ID())
		}
		return strings.Join(s, ",")
	}
	a := Order(append([]*Mutant(nil), ms...), "p", 7)
	b := Order(append([]*Mutant(nil), ms...), "p", 7)
	c := Order(append([]*Mutant(nil), ms...), "p", 8)
	if len(a) != len(ms) {
		t.Fatalf("%d mutants ordered, want %d", len(a), len(ms))
	}
	if ids(a) != ids(b) {
		t.Error("the same seed orders differently")
	}
	if ids(a) == ids(c) {
		t.Error("another seed orders the same")
	}
	files := map[string]bool{}
	for _, m := range a[:3] {
		files[m.File] = true
	}
	if len(files) != 3 {
		t.Errorf("the first three mutants come from %d files, want 3", len(files))
	}
}

func TestParseSweep(t *testing.T) {
	out := `sweep: 30 seeds of chain in 14s
FAIL seed 17: P1 linearizability at 0.512000s: op 3 cannot be ordered
  replay: megasim replay megasim-traces/chain-seed17.trace
FAIL seed 12: P4 durability at 1.234567s: receipt for 0xab at block 3 lost
  replay: megasim replay megasim-traces/chain-seed12.trace
FAIL seed 20: invariant at 2.000000s: sequencer: ledger head 3 after appending mini-block 5
FAIL seed 25: P7 determinism: fingerprints differ: 0xab, 0xcd
28 passed, 4 failed
`
	f, ok := ParseSweep(out)
	if !ok {
		t.Fatal("no failure found")
	}
	if f.Seed != 12 || f.Property != "P4 durability" || f.Detail != "receipt for 0xab at block 3 lost" || f.Failed != 4 {
		t.Errorf("got %+v", f)
	}
	if f, _ := ParseSweep("FAIL seed 25: P7 determinism: fingerprints differ: 0xab, 0xcd\n"); f.Property != "P7 determinism" || f.Detail != "fingerprints differ: 0xab, 0xcd" {
		t.Errorf("determinism line: got %+v", f)
	}
	if _, ok := ParseSweep("30 passed, 0 failed\n"); ok {
		t.Error("a passing sweep parsed as failing")
	}
	if got := FirstFailingTest("=== RUN TestA\n--- FAIL: TestSeal/early (0.01s)\nFAIL\n"); got != "TestSeal/early" {
		t.Errorf("first failing test %q", got)
	}
}

func TestScore(t *testing.T) {
	rs := []*Result{
		{Mutant: Mutant{Pkg: "b"}, Outcome: CaughtByTests},
		{Mutant: Mutant{Pkg: "b"}, Outcome: CaughtByTests, SweepRan: true},
		{Mutant: Mutant{Pkg: "b"}, Outcome: CaughtBySweep, SweepRan: true, SweepCaught: true},
		{Mutant: Mutant{Pkg: "a"}, Outcome: CaughtBySweep, SweepRan: true, SweepCaught: true},
		{Mutant: Mutant{Pkg: "a"}, Outcome: Survived, SweepRan: true},
		{Mutant: Mutant{Pkg: "a"}, Outcome: Invalid},
	}
	total, pkgs, per := Scores(rs)
	if got, want := total.String(), "80.0% (caught 4 of 5 valid mutants: 2 by tests, 2 by sweep; 1 survived; 1 invalid)"; got != want {
		t.Errorf("total %q, want %q", got, want)
	}
	if strings.Join(pkgs, ",") != "a,b" {
		t.Errorf("packages %v", pkgs)
	}
	if per["a"].Percent() != 50 || per["b"].Percent() != 100 {
		t.Errorf("a %v, b %v", per["a"], per["b"])
	}
	if got, want := total.SweepAlone(), "50.0% (caught 2 of the 4 valid mutants it ran on)"; got != want {
		t.Errorf("sweep alone %q, want %q", got, want)
	}
	if (Score{Invalid: 2}).Percent() != 0 {
		t.Error("no valid mutant must score 0")
	}
}

func TestTriage(t *testing.T) {
	notes, err := ParseTriage(strings.NewReader(`# survivors
node/x/x.go:12 cmp-flip: equivalent: n is never 0 here
  (checked at the caller)

node/x/x.go:40:7 call-remove: a gap: no seed crashes there
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := notes[TriageKey{"node/x/x.go", 12, OpCmpFlip}]; got != "equivalent: n is never 0 here (checked at the caller)" {
		t.Errorf("note %q", got)
	}
	if got := notes[TriageKey{"node/x/x.go", 40, OpCallRemove}]; got != "a gap: no seed crashes there" {
		t.Errorf("note %q", got)
	}
	if _, err := ParseTriage(strings.NewReader("no colon here\n")); err == nil {
		t.Error("a malformed line parsed")
	}
}

func TestUnifiedDiff(t *testing.T) {
	a := "1\n2\n3\n4\n5\n6\n7\n8\n"
	b := "1\n2\n3\n4x\n5\n6\n7\n8\n"
	want := "--- a/f\n+++ b/f\n@@ -2,5 +2,5 @@\n 2\n 3\n-4\n+4x\n 5\n 6\n"
	if got := UnifiedDiff("f", []byte(a), []byte(b), 2); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if UnifiedDiff("f", []byte(a), []byte(a), 3) != "" {
		t.Error("equal files differ")
	}
	del := "1\n2\n4\n"
	if got := UnifiedDiff("f", []byte("1\n2\n3\n4\n"), []byte(del), 1); got != "--- a/f\n+++ b/f\n@@ -2,3 +2,2 @@\n 2\n-3\n 4\n" {
		t.Errorf("deletion:\n%s", got)
	}
}
