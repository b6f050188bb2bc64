// Command mutate measures how much of the roles' code the tests and the
// simulator would notice if it were wrong: it makes small changes
// (mutants) to the named packages, one at a time, in a private copy of the
// repository's HEAD, and runs each against the package's own tests and
// then a sweep of the simulator. A mutant the tests or the sweep catch is
// caught; one both pass survived; one that does not compile is invalid
// and left out of the score.
//
//	go run ./cmd/mutate --packages node/sequencer,node/fullnode --per-package 6 --seeds 20 --html out/mutate/index.html
//	go run ./cmd/mutate --packages node/mempool --list        # the mutants, without running them
//	go run ./cmd/mutate --render out/mutate/index.json --html out/mutate/index.html  # again, with new triage notes
//
// The operators: cmp-flip (< ↔ <=, > ↔ >=, == ↔ !=), if-negate, logic-swap
// (&& ↔ ||), one-swap (+ 1 ↔ - 1), incdec-swap (++ ↔ --), call-remove (a
// call statement), delete-remove, return-nil (a returned error → nil) and
// bool-flip. Code that only logs, formats, marks coverage or states an
// invariant is not mutated (see Generate).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

func main() {
	code, err := run(os.Args[1:], os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
	}
	os.Exit(code)
}

func run(args []string, out, log io.Writer) (int, error) {
	fs := flag.NewFlagSet("mutate", flag.ContinueOnError)
	fs.SetOutput(log)
	pkgList := fs.String("packages", "", "comma-separated package directories to mutate, e.g. node/sequencer,node/mempool")
	per := fs.Int("per-package", 12, "valid mutants to run per package")
	seed := fs.Uint64("seed", 1, "chooses the sample")
	seeds := fs.Int("seeds", 30, "seeds of each mutant's sweep")
	profile := fs.String("profile", "chain", "the sweep's profile")
	htmlPath := fs.String("html", "", "write an HTML page of the run here (and its results as JSON beside it, .json)")
	work := fs.String("work", filepath.Join(os.TempDir(), "meganode-mutate"), "private working directory: HEAD is exported into `DIR`/repo")
	gocache := fs.String("gocache", "", "GOCACHE for the builds (default: go env GOCACHE, shared by every mutant)")
	testTimeout := fs.Duration("test-timeout", 3*time.Minute, "limit on a mutant's build and package tests")
	sweepTimeout := fs.Duration("sweep-timeout", 0, "limit on a mutant's sweep (0: 5× the unmutated sweep, at least 3m)")
	triagePath := fs.String("triage", "cmd/mutate/triage.txt", "triage notes shown beside survivors")
	list := fs.Bool("list", false, "print the sample's mutants (and how many each operator made) without running them")
	only := fs.String("only", "", "run every mutant whose id (file:line:col operator) matches this regexp, instead of a sample")
	sweepAll := fs.Bool("sweep-all", false, "run the sweep on the mutants the tests caught too, for the sweep's own score (slower)")
	render := fs.String("render", "", "render --html from this results JSON of an earlier run, and exit")
	if err := fs.Parse(args); err != nil {
		return 2, nil
	}
	notes, err := readTriage(*triagePath)
	if err != nil {
		return 2, err
	}
	if *render != "" {
		if *htmlPath == "" {
			return 2, errors.New("--render needs --html")
		}
		raw, err := os.ReadFile(*render)
		if err != nil {
			return 2, err
		}
		var rep Report
		if err := json.Unmarshal(raw, &rep); err != nil {
			return 2, err
		}
		return 0, writeHTML(*htmlPath, &rep, notes)
	}
	pkgs := splitList(*pkgList)
	if len(pkgs) == 0 {
		return 2, errors.New("--packages names no package")
	}
	var onlyRE *regexp.Regexp
	if *only != "" {
		if onlyRE, err = regexp.Compile(*only); err != nil {
			return 2, err
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	root, err := gitOutput("", "rev-parse", "--show-toplevel")
	if err != nil {
		return 2, err
	}
	commit, _ := gitOutput(root, "rev-parse", "--short", "HEAD")
	repo := filepath.Join(*work, "repo")
	if err := export(root, repo); err != nil {
		return 2, err
	}

	// Mutants, per package, in the order they are tried.
	rep := &Report{Commit: commit, Packages: pkgs, PerPackage: *per, Seed: *seed, Seeds: *seeds, Profile: *profile,
		SweepAll: *sweepAll, Started: time.Now(), Pool: map[string]int{}}
	ordered := map[string][]*Mutant{}
	for _, p := range pkgs {
		ms, err := generatePackage(repo, p)
		if err != nil {
			return 2, err
		}
		rep.Pool[p] = len(ms)
		if onlyRE != nil {
			var sel []*Mutant
			for _, m := range ms {
				if onlyRE.MatchString(m.ID()) {
					sel = append(sel, m)
				}
			}
			ordered[p] = sel
		} else {
			ordered[p] = Order(ms, p, *seed)
		}
		fmt.Fprintf(log, "mutate: %s: %d mutants (%s)\n", p, len(ms), opCounts(ms))
	}
	if *list {
		for _, p := range pkgs {
			n := min(*per, len(ordered[p]))
			if onlyRE != nil {
				n = len(ordered[p])
			}
			for _, m := range ordered[p][:n] {
				fmt.Fprintf(out, "%s (%s)\n", m.ID(), m.Desc)
			}
		}
		return 0, nil
	}

	env := os.Environ()
	if *gocache == "" {
		if c, err := exec.Command("go", "env", "GOCACHE").Output(); err == nil {
			*gocache = strings.TrimSpace(string(c))
		}
	}
	if *gocache != "" {
		env = append(env, "GOCACHE="+*gocache)
	}
	r := &runner{repo: repo, env: env, seeds: *seeds, profile: *profile, testTimeout: *testTimeout, sweepTimeout: *sweepTimeout, sweepAll: *sweepAll}

	fmt.Fprintf(log, "mutate: baseline: the unmutated packages' tests and a %d-seed sweep in %s\n", *seeds, repo)
	base, err := r.baseline(ctx, pkgs)
	if err != nil {
		return 2, err
	}
	rep.Baseline = base
	if r.sweepTimeout == 0 {
		r.sweepTimeout = max(3*time.Minute, 5*base)
	}
	fmt.Fprintf(log, "mutate: baseline sweep %v; limits: tests %v, sweep %v\n", base.Round(time.Millisecond), r.testTimeout, r.sweepTimeout)

	save := func() error {
		rep.Wall = time.Since(rep.Started)
		if *htmlPath == "" {
			return nil
		}
		return writeResults(*htmlPath, rep, notes)
	}
	for _, p := range pkgs {
		valid, invalid, n := 0, 0, 0
		for _, m := range ordered[p] {
			if onlyRE == nil && (valid >= *per || invalid >= max(*per, 3)) {
				break
			}
			n++
			res, err := r.run(ctx, m)
			if err != nil {
				save()
				return 2, err
			}
			if res.Outcome == Invalid {
				invalid++
			} else {
				valid++
			}
			rep.Results = append(rep.Results, res)
			fmt.Fprintf(out, "%-16s %3d  %s (%s): %s  [%v]\n", p, n, m.ID(), m.Desc, res.Summary(), res.Took.Round(time.Second))
			if err := save(); err != nil {
				return 2, err
			}
		}
	}

	total, names, perPkg := Scores(rep.Results)
	var survivors []*Result
	for _, res := range rep.Results {
		if res.Outcome == Survived {
			survivors = append(survivors, res)
		}
	}
	if len(survivors) > 0 {
		fmt.Fprintf(out, "\nsurvivors:\n")
		for _, res := range survivors {
			note := notes[res.Key()]
			if note == "" {
				note = "(not triaged)"
			}
			fmt.Fprintf(out, "\n%s (%s)\ntriage: %s\n%s", res.ID(), res.Desc, note, res.Diff)
		}
		fmt.Fprintln(out)
	}
	for _, n := range names {
		fmt.Fprintf(out, "  %-16s %s\n", n+":", perPkg[n])
	}
	if *htmlPath != "" {
		fmt.Fprintf(out, "report: %s\n", *htmlPath)
	}
	if *sweepAll {
		fmt.Fprintf(out, "sweep alone: %s\n", total.SweepAlone())
	}
	fmt.Fprintf(out, "mutation score: %s\n", total)
	fmt.Fprintf(log, "mutate: %d mutants in %v\n", len(rep.Results), time.Since(rep.Started).Round(time.Second))
	return 0, save()
}

func generatePackage(repo, pkg string) ([]*Mutant, error) {
	entries, err := os.ReadDir(filepath.Join(repo, pkg))
	if err != nil {
		return nil, err
	}
	var all []*Mutant
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(filepath.Join(repo, pkg, name))
		if err != nil {
			return nil, err
		}
		ms, err := Generate(filepath.ToSlash(filepath.Join(pkg, name)), pkg, src)
		if err != nil {
			return nil, err
		}
		all = append(all, ms...)
	}
	return all, nil
}

func opCounts(ms []*Mutant) string {
	c := map[string]int{}
	for _, m := range ms {
		c[m.Op]++
	}
	var ops []string
	for op := range c { // sorted below
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var parts []string
	for _, op := range ops {
		parts = append(parts, fmt.Sprintf("%s %d", op, c[op]))
	}
	return strings.Join(parts, ", ")
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.Trim(strings.TrimSpace(p), "/")
		p = strings.TrimPrefix(p, "./")
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func readTriage(path string) (map[TriageKey]string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[TriageKey]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseTriage(f)
}

func gitOutput(dir string, args ...string) (string, error) {
	if dir != "" {
		args = append([]string{"-C", dir}, args...)
	}
	b, err := exec.Command("git", args...).Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(b)), nil
}

// export writes the committed HEAD of root into dir, afresh: mutants are
// made to the committed code, never to a working tree others edit.
func export(root, dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	archive := exec.Command("git", "-C", root, "archive", "HEAD")
	untar := exec.Command("tar", "-x", "-C", dir)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		return err
	}
	untar.Stdin = pipe
	untar.Stderr, archive.Stderr = os.Stderr, os.Stderr
	if err := untar.Start(); err != nil {
		return err
	}
	if err := archive.Run(); err != nil {
		return fmt.Errorf("git archive HEAD: %w", err)
	}
	if err := untar.Wait(); err != nil {
		return fmt.Errorf("tar: %w", err)
	}
	return nil
}

func writeResults(htmlPath string, rep *Report, notes map[TriageKey]string) error {
	raw, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(htmlPath), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(strings.TrimSuffix(htmlPath, filepath.Ext(htmlPath))+".json", raw, 0o644); err != nil {
		return err
	}
	return writeHTML(htmlPath, rep, notes)
}

func writeHTML(path string, rep *Report, notes map[TriageKey]string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := WriteHTML(f, rep, notes); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
