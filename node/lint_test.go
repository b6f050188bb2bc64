package node

// The determinism lint.
//
// A role is a deterministic state machine: the simulator (sim/) replays a
// run from one seed to the bit, so everything a node does must follow from
// its inputs and from what Env gives it. This test fails when a non-test Go
// file under node/ (outside node/runtime and node/rpc, the production
// runtime, and testdata) does any of:
//
//   - uses time.Now, Sleep, After, AfterFunc, Tick, NewTimer, NewTicker,
//     Since or Until: the wall clock and real timers (use Env.Now, Env.After);
//   - contains a go statement: the scheduler interleaves goroutines at will;
//   - uses a package-level function of math/rand or math/rand/v2 other than
//     the constructors of a seeded generator (use Env.Rand);
//   - imports crypto/rand, os, os/..., net or net/...: the real world;
//   - ranges over a map (or a maps.All/Keys/Values iterator) without a
//     comment on the line of the for saying why the order cannot leak:
//     Go randomises map order on every range.
//
// Uses are resolved with go/types, so aliased and dot imports are caught and
// a method that happens to be called Now or Intn is not. The type-checker
// imports dependencies from the export data `go list -export` leaves in the
// build cache, which keeps it to well under a second once the cache is warm.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// clockFuncs are the functions of package time that read the wall clock or
// arm a timer.
var clockFuncs = map[string]bool{
	"Now": true, "Sleep": true, "After": true, "AfterFunc": true, "Tick": true,
	"NewTimer": true, "NewTicker": true, "Since": true, "Until": true,
}

// seededRand are the package-level functions of math/rand and math/rand/v2
// that build a seeded generator instead of using the global one.
var seededRand = map[string]bool{
	"New": true, "NewPCG": true, "NewChaCha8": true, "NewSource": true, "NewZipf": true,
}

// worldImport reports whether importing path is itself a violation.
func worldImport(path string) bool {
	return path == "crypto/rand" || path == "os" || path == "net" ||
		strings.HasPrefix(path, "os/") || strings.HasPrefix(path, "net/")
}

// lintFile returns the determinism violations in f, one "file:line: what"
// each. info must hold f's Types and Uses.
func lintFile(fset *token.FileSet, f *ast.File, info *types.Info) []string {
	var out []string
	report := func(pos token.Pos, format string, args ...any) {
		p := fset.Position(pos)
		out = append(out, fmt.Sprintf("%s:%d: %s", p.Filename, p.Line, fmt.Sprintf(format, args...)))
	}
	for _, imp := range f.Imports {
		if path, _ := strconv.Unquote(imp.Path.Value); worldImport(path) {
			report(imp.Pos(), "imports %q, which touches the real world", path)
		}
	}
	explained := map[int]bool{} // lines that carry a non-empty comment
	for _, g := range f.Comments {
		for _, c := range g.List {
			text := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(c.Text, "//"), "/*"), "*/")
			if strings.TrimSpace(text) != "" {
				explained[fset.Position(c.Pos()).Line] = true
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.GoStmt:
			report(n.Pos(), "go statement: a node must not start goroutines")
		case *ast.RangeStmt:
			if what := mapOrder(n.X, info); what != "" && !explained[fset.Position(n.For).Line] {
				report(n.For, "ranges over %s with no comment on this line saying why the order cannot leak", what)
			}
		case *ast.Ident:
			fn, ok := info.Uses[n].(*types.Func)
			if !ok || fn.Pkg() == nil || fn.Type().(*types.Signature).Recv() != nil {
				break // not a package-level function
			}
			switch path := fn.Pkg().Path(); {
			case path == "time" && clockFuncs[fn.Name()]:
				report(n.Pos(), "time.%s reads the wall clock or arms a timer: use Env.Now or Env.After", fn.Name())
			case (path == "math/rand" || path == "math/rand/v2") && !seededRand[fn.Name()]:
				report(n.Pos(), "%s.%s uses the global random source: use Env.Rand", path, fn.Name())
			}
		}
		return true
	})
	return out
}

// mapOrder describes x if ranging over it yields map order, or returns "".
func mapOrder(x ast.Expr, info *types.Info) string {
	if call, ok := ast.Unparen(x).(*ast.CallExpr); ok {
		var id *ast.Ident
		switch fun := ast.Unparen(call.Fun).(type) {
		case *ast.Ident:
			id = fun
		case *ast.SelectorExpr:
			id = fun.Sel
		}
		if fn, ok := info.Uses[id].(*types.Func); ok && fn.Pkg() != nil && fn.Pkg().Path() == "maps" &&
			(fn.Name() == "All" || fn.Name() == "Keys" || fn.Name() == "Values") {
			return "maps." + fn.Name()
		}
	}
	if t := info.TypeOf(x); t != nil && isMap(t) {
		return "a map (" + t.String() + ")"
	}
	return ""
}

// isMap reports whether t is a map, or a type parameter whose type set
// holds one.
func isMap(t types.Type) bool {
	switch u := t.Underlying().(type) {
	case *types.Map:
		return true
	case *types.Interface: // the constraint of a type parameter
		for i := range u.NumEmbeddeds() {
			e := u.EmbeddedType(i)
			if un, ok := e.(*types.Union); ok {
				for j := range un.Len() {
					if isMap(un.Term(j).Type()) {
						return true
					}
				}
			} else if isMap(e) {
				return true
			}
		}
	}
	return false
}

// lintPackage type-checks files as package path and lints each of them.
func lintPackage(fset *token.FileSet, imp types.Importer, path string, files []*ast.File) ([]string, error) {
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Uses: map[*ast.Ident]types.Object{}}
	if _, err := (&types.Config{Importer: imp}).Check(path, fset, files, info); err != nil {
		return nil, err
	}
	var out []string
	for _, f := range files {
		out = append(out, lintFile(fset, f, info)...)
	}
	return out, nil
}

// listedPackage is what the lint needs of `go list -json`.
type listedPackage struct {
	ImportPath, Dir, Export string
	GoFiles                 []string
	DepOnly                 bool
	Error                   *struct{ Err string }
}

// world is the module as `go list -export -deps` sees it, shared by the tests.
type world struct {
	root    string // module root
	pkgs    []listedPackage
	fset    *token.FileSet
	imp     types.Importer // from export data
	listFor time.Duration  // how long go list took
}

var loadWorld = sync.OnceValues(func() (*world, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOMOD: %v", err)
	}
	w := &world{root: filepath.Dir(strings.TrimSpace(string(gomod))), fset: token.NewFileSet()}
	start := time.Now()
	// List node/... first, so that the runtime, which is not linted, is not
	// built either. The std packages are for TestLintCatches' sources.
	all, err := goList(w.root, "./node/...")
	if err != nil {
		return nil, err
	}
	args := []string{"-export", "-deps", "maps", "slices", "math/rand", "math/rand/v2", "time",
		"crypto/rand", "os", "os/exec", "net", "net/http"}
	for _, p := range all {
		if rel, err := filepath.Rel(w.root, p.Dir); err == nil && inScope(rel) {
			if p.Error != nil {
				return nil, fmt.Errorf("go list: %s: %s", p.ImportPath, p.Error.Err)
			}
			args = append(args, p.ImportPath)
		}
	}
	deps, err := goList(w.root, args...)
	if err != nil {
		return nil, err
	}
	w.listFor = time.Since(start)
	exports := map[string]string{}
	for _, p := range deps {
		if p.Error != nil {
			return nil, fmt.Errorf("go list: %s: %s", p.ImportPath, p.Error.Err)
		}
		exports[p.ImportPath] = p.Export
		if !p.DepOnly && strings.HasPrefix(p.Dir, w.root+string(filepath.Separator)) {
			w.pkgs = append(w.pkgs, p)
		}
	}
	w.imp = importer.ForCompiler(w.fset, "gc", func(path string) (io.ReadCloser, error) {
		if exports[path] == "" {
			return nil, fmt.Errorf("no export data for %q", path)
		}
		return os.Open(exports[path])
	})
	return w, nil
})

// goList runs go list -e -json in dir and decodes what it prints.
func goList(dir string, args ...string) ([]listedPackage, error) {
	args = append([]string{"list", "-e", "-json=ImportPath,Dir,Export,GoFiles,DepOnly,Error"}, args...)
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	stdout, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		return nil, fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, ee.Stderr)
	} else if err != nil {
		return nil, err
	}
	var pkgs []listedPackage
	for dec := json.NewDecoder(bytes.NewReader(stdout)); ; {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			return pkgs, nil
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
}

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
	w, err := loadWorld()
	if err != nil {
		t.Fatal(err)
	}
	var violations []string
	linted := map[string]bool{}
	for _, p := range w.pkgs {
		rel, err := filepath.Rel(w.root, p.Dir)
		if err != nil || !inScope(rel) {
			continue
		}
		var files []*ast.File
		for _, name := range p.GoFiles {
			name = filepath.ToSlash(filepath.Join(rel, name))
			src, err := os.ReadFile(filepath.Join(w.root, name))
			if err != nil {
				t.Fatal(err)
			}
			f, err := parser.ParseFile(w.fset, name, src, parser.ParseComments|parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
			linted[name] = true
		}
		vs, err := lintPackage(w.fset, w.imp, p.ImportPath, files)
		if err != nil {
			t.Fatalf("type-checking %s: %v", p.ImportPath, err)
		}
		violations = append(violations, vs...)
	}
	// Every in-scope file must have been linted: one left out by build
	// constraints cannot be checked. Walking the tree here also lets go test's
	// cache see a changed or added file.
	err = filepath.WalkDir(filepath.Join(w.root, "node"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(w.root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if !inScope(rel) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(rel, ".go") && !strings.HasSuffix(rel, "_test.go") && !linted[rel] {
			violations = append(violations, rel+":1: excluded by build constraints, so the lint cannot check it")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("linted %d files in %v (go list -export: %v)", len(linted), time.Since(start), w.listFor)
	if len(linted) == 0 {
		t.Fatal("linted no files: the lint is not looking at node/")
	}
	if len(violations) > 0 {
		t.Errorf("node code must be deterministic (see the top of lint_test.go); %d violations:\n%s",
			len(violations), strings.Join(violations, "\n"))
	}
}

// TestLintCatches feeds the lint doctored sources. Each src is one file,
// x.go, whose first line holds its package clause and imports; want holds,
// in order, "line: text" for each violation it must report, and nothing else.
func TestLintCatches(t *testing.T) {
	w, err := loadWorld()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, src string
		want      []string
	}{{
		name: "clock and timers",
		src: `package p; import "time"
func f() {
	_ = time.Now()
	time.Sleep(1)
	<-time.After(1)
	time.AfterFunc(1, func() {})
	_ = time.Tick(1)
	_ = time.NewTimer(1)
	_ = time.NewTicker(1)
	_ = time.Since(time.Time{})
	_ = time.Until(time.Time{})
}`,
		want: []string{"3: time.Now", "4: time.Sleep", "5: time.After ", "6: time.AfterFunc", "7: time.Tick",
			"8: time.NewTimer", "9: time.NewTicker", "10: time.Since", "11: time.Until"},
	}, {
		name: "aliased time, taken as a value",
		src: `package p; import stdtime "time"
var now = stdtime.Now`,
		want: []string{"2: time.Now"},
	}, {
		name: "dot-imported time",
		src: `package p; import . "time"
func f() Time { return Now() }`,
		want: []string{"2: time.Now"},
	}, {
		name: "go statement",
		src: `package p
func f() {
	go func() {}()
}`,
		want: []string{"3: go statement"},
	}, {
		name: "math/rand globals",
		src: `package p; import "math/rand"
func f(s []int) int {
	rand.Shuffle(len(s), func(i, j int) {})
	_ = rand.Perm(3)
	_ = rand.Float64()
	return rand.Intn(3) + rand.Int()
}`,
		want: []string{"3: math/rand.Shuffle", "4: math/rand.Perm", "5: math/rand.Float64", "6: math/rand.Intn", "6: math/rand.Int "},
	}, {
		name: "aliased and dot-imported math/rand/v2 globals",
		src: `package p; import (mrand "math/rand/v2"; . "math/rand/v2")
func f() uint64 { return mrand.Uint64() + uint64(mrand.N(3)) + uint64(IntN(3)) }`,
		want: []string{"2: math/rand/v2.Uint64", "2: math/rand/v2.N", "2: math/rand/v2.IntN"},
	}, {
		name: "world imports, however named",
		src: `package p; import (crand "crypto/rand"; _ "os"; . "net"; "net/http"; "os/exec")
var _, _, _, _ = crand.Reader, IPv4len, http.Get, exec.Command`,
		want: []string{`1: "crypto/rand"`, `1: "os"`, `1: "net"`, `1: "net/http"`, `1: "os/exec"`},
	}, {
		name: "map ranges without an explanation",
		src: `package p; import "maps"
type Set map[string]struct{}
type T struct{ m map[int]int }
func get() map[int]bool { return nil }
func g[M ~map[K]V, K comparable, V any](m M) {
	for range m {}
}
func f(s Set, t *T) {
	for k := range s {
		_ = k
	}
	for k, v := range get() {
		_, _ = k, v
	}
	for range t.m { //
	}
	// a comment above the loop does not count
	for k := range maps.Keys(t.m) {
		_ = k
	}
}`,
		want: []string{"6: map (M)", "9: map (p.Set)", "12: map (map[int]bool)", "15: map (map[int]int)", "18: maps.Keys"},
	}, {
		name: "allowed constructs",
		src: `package p; import ("maps"; "slices"; "time"; mrand "math/rand"; "math/rand/v2")
type Env interface { Now() time.Time; After(d time.Duration, id int); Rand() *rand.Rand }
type T struct{ m map[int]int }
func f(e Env, t T, s []int, rand *mrand.Rand) time.Duration {
	r := mrand.New(mrand.NewSource(1))
	_ = mrand.NewZipf(r, 2, 1, 10)
	_ = rand.Intn(3) + r.Intn(3)
	r2 := e.Rand()
	_ = r2.IntN(3) + r2.Int()
	r2.Shuffle(len(s), func(i, j int) {})
	_ = e.Now().Add(time.Millisecond).Sub(time.Unix(0, 0))
	e.After(time.Second, 1)
	for range s {}
	for range 3 {}
	for range "abc" {}
	for range slices.Values(s) {}
	for k := range t.m { // sorted below: order cannot leak
		s = append(s, k)
	}
	for k := range maps.Keys(t.m) { /* summed: order cannot leak */ _ = k }
	slices.Sort(s)
	return time.Duration(len(s)) * time.Millisecond
}
func g(seed [32]byte) *rand.Rand {
	_ = rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 2, 1, 10)
	return rand.New(rand.NewChaCha8(seed))
}`,
	}} {
		t.Run(c.name, func(t *testing.T) {
			f, err := parser.ParseFile(w.fset, "x.go", c.src, parser.ParseComments|parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			got, err := lintPackage(w.fset, w.imp, "p", []*ast.File{f})
			if err != nil {
				t.Fatal(err)
			}
			for i, g := range got {
				if i >= len(c.want) {
					t.Errorf("unexpected: %s", g)
					continue
				}
				line, text, _ := strings.Cut(c.want[i], ": ")
				if !strings.HasPrefix(g, "x.go:"+line+": ") || !strings.Contains(g+" ", text) {
					t.Errorf("got %s, want x.go:%s: ...%s...", g, line, text)
				}
			}
			for _, want := range c.want[min(len(got), len(c.want)):] {
				t.Errorf("missed x.go:%s", want)
			}
		})
	}
}
