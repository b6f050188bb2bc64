package node

// The determinism lint.
//
// A role is a deterministic state machine: the simulator (sim/) replays a
// run from one seed to the bit, so everything a node does must follow from
// its inputs and from what Env gives it. This test runs the detcheck
// analyzer (internal/detcheck; its doc lists the rules and how to justify a
// map range) over every non-test Go file under node/, outside node/runtime
// and node/rpc, the production runtime, and testdata, and fails listing each
// diagnostic as file:line. In short:
//
//   - no wall clock or real timers (use Env.Now, Env.After);
//   - no go statements;
//   - no global random source (use Env.Rand);
//   - no crypto/rand, os, os/..., net, net/... or syscall;
//   - no map iteration whose order can leak: sort the keys
//     (slices.Sorted(maps.Keys(m))), or say why the order cannot leak with
//     a "// order: <reason>" comment on the line of the for or alone on the
//     line above.
//
// The same check from the command line: go run ./cmd/detcheck ./node/...
//
// Packages are loaded with go/packages: the linted ones from source, their
// dependencies from the export data `go list -export` leaves in the build
// cache, which keeps it to a few seconds once the cache is warm.

import (
	"cmp"
	"fmt"
	"io/fs"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meganode/meganode/internal/detcheck"
	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/checker"
	"golang.org/x/tools/go/packages"
)

// inScope reports whether rel, a directory relative to the module root,
// holds code the lint covers.
func inScope(rel string) bool {
	rel = filepath.ToSlash(rel)
	if rel != "node" && !strings.HasPrefix(rel, "node/") {
		return false
	}
	for _, part := range strings.Split(rel, "/") {
		if part == "testdata" || strings.HasPrefix(part, ".") || strings.HasPrefix(part, "_") {
			return false
		}
	}
	return !slices.ContainsFunc([]string{"node/runtime", "node/rpc"}, func(ex string) bool {
		return rel == ex || strings.HasPrefix(rel, ex+"/")
	})
}

func TestNodeCodeIsDeterministic(t *testing.T) {
	start := time.Now()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))

	// List node/... first, names only, so that the runtime, which is not
	// linted, is neither type-checked nor built.
	listed, err := packages.Load(&packages.Config{Mode: packages.NeedName | packages.NeedFiles, Dir: root}, "./node/...")
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, p := range listed {
		if len(p.GoFiles) == 0 {
			continue
		}
		if rel, err := filepath.Rel(root, filepath.Dir(p.GoFiles[0])); err == nil && inScope(rel) {
			paths = append(paths, p.PkgPath)
		}
	}
	if len(paths) == 0 {
		t.Fatal("found no package to lint: the lint is not looking at node/")
	}

	// What detcheck needs: the linted packages from source, with types;
	// their dependencies from export data.
	pkgs, err := packages.Load(&packages.Config{
		Mode: packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles | packages.NeedImports |
			packages.NeedTypes | packages.NeedTypesSizes | packages.NeedSyntax | packages.NeedTypesInfo |
			packages.NeedModule,
		Dir: root,
	}, paths...)
	if err != nil {
		t.Fatal(err)
	}
	loaded := time.Since(start)
	linted := map[string]bool{}
	for _, p := range pkgs {
		for _, e := range p.Errors {
			t.Errorf("loading %s: %v", p.PkgPath, e)
		}
		for _, name := range p.GoFiles {
			if rel, err := filepath.Rel(root, name); err == nil {
				linted[filepath.ToSlash(rel)] = true
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	graph, err := checker.Analyze([]*analysis.Analyzer{detcheck.Analyzer}, pkgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var violations []violation
	for act := range graph.All() {
		if !act.IsRoot {
			continue
		}
		if act.Err != nil {
			t.Errorf("detcheck on %s: %v", act.Package.PkgPath, act.Err)
		}
		for _, d := range act.Diagnostics {
			p := act.Package.Fset.Position(d.Pos)
			name := p.Filename
			if rel, err := filepath.Rel(root, name); err == nil {
				name = filepath.ToSlash(rel)
			}
			violations = append(violations, violation{name, p.Line, d.Message})
		}
	}

	// Every in-scope file must have been linted: one left out by build
	// constraints cannot be checked. Walking the tree here also lets go test's
	// cache see a changed or added file.
	err = filepath.WalkDir(filepath.Join(root, "node"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if !inScope(rel) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(rel, ".go") && !strings.HasSuffix(rel, "_test.go") && !linted[rel] {
			violations = append(violations, violation{rel, 1, "excluded by build constraints, so the lint cannot check it"})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("linted %d files in %d packages in %v (loading: %v)", len(linted), len(pkgs), time.Since(start), loaded)
	if len(violations) > 0 {
		slices.SortFunc(violations, func(a, b violation) int {
			return cmp.Or(strings.Compare(a.file, b.file), cmp.Compare(a.line, b.line), strings.Compare(a.msg, b.msg))
		})
		var list strings.Builder
		for _, v := range violations {
			fmt.Fprintf(&list, "\n%s:%d: %s", v.file, v.line, v.msg)
		}
		t.Errorf("node code must be deterministic (see internal/detcheck); %d violations:%s", len(violations), list.String())
	}
}

// A violation is one diagnostic, at a file relative to the module root.
type violation struct {
	file string
	line int
	msg  string
}
