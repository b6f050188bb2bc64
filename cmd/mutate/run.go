package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// runner runs mutants one at a time in a private copy of the repository.
type runner struct {
	repo         string // the private copy
	env          []string
	seeds        int
	profile      string
	testTimeout  time.Duration
	sweepTimeout time.Duration
	sweepAll     bool // run the sweep on mutants the tests caught too
}

// cmdResult is what a command did.
type cmdResult struct {
	out     string // stdout and stderr together
	code    int    // exit status; -1 when it did not start
	timeout bool
	took    time.Duration
}

func (r *runner) command(ctx context.Context, limit time.Duration, name string, args ...string) cmdResult {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = r.repo
	cmd.Env = r.env
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	ownProcessGroup(cmd)
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	err := cmd.Run()
	res := cmdResult{out: buf.String(), took: time.Since(start)}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		res.timeout, res.code = true, -1
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	default:
		res.code = -1
		res.out += "\n" + err.Error()
	}
	return res
}

func (r *runner) megasim() string { return filepath.Join(r.repo, ".mutate", "megasim") }

func (r *runner) buildMegasim(ctx context.Context) cmdResult {
	return r.command(ctx, r.testTimeout, "go", "build", "-o", r.megasim(), "./cmd/megasim")
}

func (r *runner) test(ctx context.Context, pkgs ...string) cmdResult {
	args := []string{"test", "-short", "-count=1", "-vet=off"}
	for _, p := range pkgs {
		args = append(args, "./"+p+"/")
	}
	return r.command(ctx, r.testTimeout, "go", args...)
}

func (r *runner) sweep(ctx context.Context) cmdResult {
	traces := filepath.Join(r.repo, ".mutate", "traces")
	os.RemoveAll(traces)
	return r.command(ctx, r.sweepTimeout, r.megasim(), "sweep", "--seeds", fmt.Sprint(r.seeds), "--profile", r.profile, "--traces", traces)
}

// baseline checks that the unmutated tree passes what every mutant is
// held to, and returns how long its sweep took.
func (r *runner) baseline(ctx context.Context, pkgs []string) (time.Duration, error) {
	if res := r.buildMegasim(ctx); res.code != 0 || res.timeout {
		return 0, fmt.Errorf("building megasim: %s", tail(res.out, 20))
	}
	if res := r.test(ctx, pkgs...); res.code != 0 || res.timeout {
		return 0, fmt.Errorf("the unmutated packages' tests fail (timeout %v): %s", res.timeout, tail(res.out, 30))
	}
	// A sweep's time is what the mutants' limit is drawn from: let it
	// run without one.
	saved := r.sweepTimeout
	r.sweepTimeout = 24 * time.Hour
	res := r.sweep(ctx)
	r.sweepTimeout = saved
	if res.code != 0 || res.timeout {
		return 0, fmt.Errorf("the unmutated sweep fails: %s", tail(res.out, 20))
	}
	return res.took, nil
}

// run applies one mutant, runs the package's tests and then the sweep,
// and restores the file.
func (r *runner) run(ctx context.Context, m *Mutant) (*Result, error) {
	path := filepath.Join(r.repo, m.File)
	orig, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	mutated := m.Apply(orig)
	res := &Result{Mutant: *m, Diff: UnifiedDiff(m.File, orig, mutated, 3)}
	if err := os.WriteFile(path, mutated, 0o644); err != nil {
		return nil, err
	}
	defer os.WriteFile(path, orig, 0o644)
	start := time.Now()
	defer func() { res.Took = time.Since(start) }()

	if b := r.command(ctx, r.testTimeout, "go", "build", "./"+m.Pkg+"/"); b.code != 0 || b.timeout {
		res.Outcome, res.Detail = Invalid, firstCompileError(b.out)
		return res, ctx.Err()
	}
	t := r.test(ctx, m.Pkg)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	switch {
	case t.timeout:
		res.Outcome, res.Detail, res.Timeout = CaughtByTests, fmt.Sprintf("timed out after %v", r.testTimeout), true
	case t.code != 0:
		if strings.Contains(t.out, "[build failed]") || strings.Contains(t.out, "[setup failed]") {
			res.Outcome, res.Detail = Invalid, firstCompileError(t.out)
			return res, nil
		}
		res.Outcome, res.Detail = CaughtByTests, FirstFailingTest(t.out)
	}
	if res.Outcome == CaughtByTests && !r.sweepAll {
		return res, nil
	}
	if b := r.buildMegasim(ctx); b.code != 0 || b.timeout {
		res.Outcome, res.Detail = Invalid, "megasim: "+firstCompileError(b.out)
		return res, ctx.Err()
	}
	sw := r.sweepCheck(ctx)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	res.SweepRan, res.SweepCaught = true, sw.caught
	switch {
	case res.Outcome == CaughtByTests && sw.caught:
		res.Detail += "; the sweep too: " + sw.detail
	case res.Outcome == CaughtByTests:
		res.Detail += "; the sweep missed it"
	case sw.caught:
		res.Outcome, res.Detail, res.Property, res.Seed, res.Timeout = CaughtBySweep, sw.detail, sw.property, sw.seed, sw.timeout
	default:
		res.Outcome = Survived
	}
	return res, nil
}

type sweepVerdict struct {
	caught, timeout bool
	detail          string
	property        string
	seed            uint64
}

// sweepCheck runs the sweep on the mutant built into megasim.
func (r *runner) sweepCheck(ctx context.Context) sweepVerdict {
	s := r.sweep(ctx)
	switch {
	case s.timeout:
		return sweepVerdict{caught: true, timeout: true, detail: fmt.Sprintf("timed out after %v", r.sweepTimeout)}
	case s.code == 0:
		return sweepVerdict{}
	}
	if f, ok := ParseSweep(s.out); ok {
		return sweepVerdict{caught: true, property: f.Property, seed: f.Seed,
			detail: fmt.Sprintf("%s, first failing seed %d; %d of %d seeds failed", f.Property, f.Seed, f.Failed, r.seeds)}
	}
	v := sweepVerdict{caught: true, detail: fmt.Sprintf("megasim exited %d: %s", s.code, oneLine(tail(s.out, 1)))}
	if i := strings.Index(s.out, "panic:"); i >= 0 {
		v.detail = fmt.Sprintf("megasim exited %d: %s", s.code, oneLine(firstLine(s.out[i:])))
	}
	return v
}

func firstCompileError(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "#") || strings.TrimSpace(l) == "" {
			continue
		}
		return oneLine(l)
	}
	return oneLine(out)
}

func tail(s string, n int) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
