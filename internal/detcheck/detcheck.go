// Package detcheck defines an analyzer that reports code whose behaviour
// does not follow from its inputs alone: map iteration order that can leak,
// the wall clock and real timers, goroutines, the global random source, and
// the operating system, files and sockets.
//
// The roles under node/ run inside a seeded simulator that replays a run from
// one seed to the bit; node/lint_test.go runs this analyzer over them, and
// `go run ./cmd/detcheck ./node/...` runs it from the command line.
package detcheck

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"strconv"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
)

// Doc is the analyzer's documentation, as `go run ./cmd/detcheck -help`
// prints it.
const Doc = `report nondeterminism: map order, wall clock, goroutines, global rand, the real world

detcheck reports, in the packages it is run on:

  - map order: a range over a map (or over a type parameter whose type set
    holds a map), and any use of maps.Keys, maps.Values or maps.All, since Go
    randomises map order on every iteration. Accepted without a comment:
    slices.Sorted(maps.Keys(m)), slices.Sorted(maps.Values(m)),
    maps.Collect(maps.All(m)), maps.Insert(dst, maps.All(m)), and a range
    with := (or no variables) whose body only does delete(x, k), k the range
    key, possibly under ifs whose conditions call nothing and read no map,
    and clear(x), in a body with no if. Anything else needs a justification
    comment on the line of the for (or of the call), or alone on the line
    above: "// order: <reason>", or the older form, any comment that says
    the "order cannot leak". A comment that says anything else does not
    count;
  - wall clock: any use (a call or a value) of time.Now, Since, Until, Sleep,
    After, AfterFunc, Tick, NewTimer or NewTicker;
  - goroutine: a go statement;
  - global rand: any use of a package-level function of math/rand or
    math/rand/v2 other than the constructors of a seeded generator (New,
    NewSource, NewPCG, NewChaCha8, NewZipf); methods of a *rand.Rand are fine;
  - real world: importing crypto/rand, os, os/..., net, net/... or syscall,
    however the import is named, and any use of what those packages declare
    (a method of a net.Conn held in a field, say) in a file that does not
    import them.

Uses are resolved with go/types, so aliased and dot imports are caught and a
method that merely happens to be called Now or Intn is not.`

// Analyzer is the determinism checker.
var Analyzer = &analysis.Analyzer{
	Name:     "detcheck",
	Doc:      Doc,
	URL:      "https://github.com/meganode/meganode/tree/main/internal/detcheck",
	Requires: []*analysis.Analyzer{inspect.Analyzer},
	Run:      run,
}

// The rules, as Diagnostic.Category and as the prefix of each message.
const (
	RuleMapOrder   = "map order"
	RuleWallClock  = "wall clock"
	RuleGoroutine  = "goroutine"
	RuleGlobalRand = "global rand"
	RuleRealWorld  = "real world"
)

// clockFuncs are the functions of package time that read the wall clock or
// arm a real timer.
var clockFuncs = map[string]bool{
	"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true,
	"AfterFunc": true, "Tick": true, "NewTimer": true, "NewTicker": true,
}

// seededRand are the package-level functions of math/rand and math/rand/v2
// that build a seeded generator instead of using the global one.
var seededRand = map[string]bool{
	"New": true, "NewSource": true, "NewPCG": true, "NewChaCha8": true, "NewZipf": true,
}

// worldPackage reports whether path is a package whose use touches the real
// world: the file system, the network, processes, or entropy.
func worldPackage(path string) bool {
	return path == "crypto/rand" || path == "os" || path == "net" || path == "syscall" ||
		strings.HasPrefix(path, "os/") || strings.HasPrefix(path, "net/")
}

// mapIterFuncs are the functions of package maps that iterate a map.
var mapIterFuncs = map[string]bool{"Keys": true, "Values": true, "All": true}

// justifyHint ends every map-order message.
const justifyHint = `sort first (slices.Sorted(maps.Keys(m))) or, where the order cannot leak, ` +
	`say why with a "// order: <reason>" comment on this line or the line above`

func run(pass *analysis.Pass) (any, error) {
	insp := pass.ResultOf[inspect.Analyzer].(*inspector.Inspector)
	for file := range insp.Root().Children() {
		checkFile(pass, file)
	}
	return nil, nil
}

// checkFile reports the violations in the file at cursor file.
func checkFile(pass *analysis.Pass, file inspector.Cursor) {
	f := file.Node().(*ast.File)
	tf := pass.Fset.File(f.FileStart)
	if tf == nil {
		return
	}
	just := justifications(pass, tf, f)
	justified := func(pos token.Pos) bool {
		line := tf.Line(pos)
		return just[line].trailing || just[line].alone || just[line-1].alone
	}

	// Imports that touch the real world, and the packages they name.
	imported := map[string]bool{}
	for _, imp := range f.Imports {
		path, err := strconv.Unquote(imp.Path.Value)
		if err != nil || !worldPackage(path) {
			continue
		}
		imported[path] = true
		pass.Report(analysis.Diagnostic{
			Pos: imp.Pos(), End: imp.End(), Category: RuleRealWorld,
			Message: fmt.Sprintf("%s: imports %q, which touches the real world (files, sockets, processes, entropy): "+
				"a node gets all of that through Env", RuleRealWorld, path),
		})
	}

	for cur := range file.Preorder((*ast.GoStmt)(nil), (*ast.RangeStmt)(nil), (*ast.Ident)(nil)) {
		switch n := cur.Node().(type) {
		case *ast.GoStmt:
			pass.Report(analysis.Diagnostic{
				Pos: n.Go, End: n.Go + token.Pos(len("go")), Category: RuleGoroutine,
				Message: RuleGoroutine + ": go statement: a node must not start goroutines, " +
					"the scheduler interleaves them at will (use Env timers and messages)",
			})

		case *ast.RangeStmt:
			t := pass.TypesInfo.TypeOf(n.X)
			if t == nil || !isMap(t) || deleteOnly(pass.TypesInfo, n) || justified(n.For) {
				continue
			}
			pass.Report(analysis.Diagnostic{
				Pos: n.For, End: n.X.End(), Category: RuleMapOrder,
				Message: fmt.Sprintf("%s: range over a map (%s) visits its entries in random order; %s",
					RuleMapOrder, types.TypeString(t, qualifier(pass.Pkg)), justifyHint),
			})

		case *ast.Ident:
			fn, ok := pass.TypesInfo.Uses[n].(*types.Func)
			if !ok || fn.Pkg() == nil {
				obj := pass.TypesInfo.Uses[n]
				if obj != nil && obj.Pkg() != nil && worldPackage(obj.Pkg().Path()) && !imported[obj.Pkg().Path()] {
					reportWorldUse(pass, n, obj)
				}
				continue
			}
			path := fn.Pkg().Path()
			if worldPackage(path) {
				if !imported[path] {
					reportWorldUse(pass, n, fn)
				}
				continue
			}
			if fn.Signature().Recv() != nil {
				continue // a method: time.Time.Sub, (*rand.Rand).Intn are fine
			}
			switch {
			case path == "time" && clockFuncs[fn.Name()]:
				pass.Report(analysis.Diagnostic{
					Pos: n.Pos(), End: n.End(), Category: RuleWallClock,
					Message: fmt.Sprintf("%s: time.%s reads the wall clock or arms a real timer: use Env.Now or Env.After",
						RuleWallClock, fn.Name()),
				})
			case (path == "math/rand" || path == "math/rand/v2") && !seededRand[fn.Name()]:
				pass.Report(analysis.Diagnostic{
					Pos: n.Pos(), End: n.End(), Category: RuleGlobalRand,
					Message: fmt.Sprintf("%s: %s.%s uses the global random source: use Env.Rand "+
						"(or a generator built by rand.New from a seed)", RuleGlobalRand, path, fn.Name()),
				})
			case path == "maps" && mapIterFuncs[fn.Name()]:
				if mapIterAccepted(pass.TypesInfo, cur) || justified(n.Pos()) || justified(stmtPos(cur)) {
					continue
				}
				pass.Report(analysis.Diagnostic{
					Pos: n.Pos(), End: n.End(), Category: RuleMapOrder,
					Message: fmt.Sprintf("%s: maps.%s iterates a map in random order; %s",
						RuleMapOrder, fn.Name(), justifyHint),
				})
			}
		}
	}
}

// reportWorldUse reports id, a use of obj, which a real-world package
// declares, in a file that does not import that package.
func reportWorldUse(pass *analysis.Pass, id *ast.Ident, obj types.Object) {
	name := obj.Name()
	if fn, ok := obj.(*types.Func); ok {
		if recv := fn.Signature().Recv(); recv != nil {
			name = types.TypeString(recv.Type(), (*types.Package).Name) + "." + name
		}
	}
	pass.Report(analysis.Diagnostic{
		Pos: id.Pos(), End: id.End(), Category: RuleRealWorld,
		Message: fmt.Sprintf("%s: uses %s from %q, which touches the real world (files, sockets, processes, entropy): "+
			"a node gets all of that through Env", RuleRealWorld, name, obj.Pkg().Path()),
	})
}

// qualifier writes the types of pkg unqualified and the others' by package
// name: map[common.Address]int.
func qualifier(pkg *types.Package) types.Qualifier {
	return func(p *types.Package) string {
		if p == pkg {
			return ""
		}
		return p.Name()
	}
}

// A lineNote says what justification comments a line holds.
type lineNote struct {
	trailing bool // a justification comment follows code on this line
	alone    bool // a justification comment is all there is on this line
}

// justifications maps each line of f that holds a justification comment to
// where on the line it stands; a comment alone on its line counts on the
// last line of its comment group.
func justifications(pass *analysis.Pass, tf *token.File, f *ast.File) map[int]lineNote {
	notes := map[int]lineNote{}
	var src []byte // read only if f holds a justification
	for _, g := range f.Comments {
		for _, c := range g.List {
			if !isJustification(c.Text) {
				continue
			}
			if src == nil {
				src = readSource(pass, tf)
			}
			line := tf.Line(c.Pos())
			note := notes[line]
			if codeBefore(src, tf, c.Pos()) {
				note.trailing = true
			} else {
				// Comment lines follow it to the end of its group (the
				// reason may go on), then comes what it justifies.
				line = tf.Line(g.End())
				note = notes[line]
				note.alone = true
			}
			notes[line] = note
		}
	}
	return notes
}

// isJustification reports whether a comment, as ast.Comment.Text holds it,
// justifies a map iteration: "// order: <reason>" with a non-empty reason,
// or any comment that says the "order cannot leak".
func isJustification(text string) bool {
	body := strings.TrimPrefix(text, "//")
	if strings.HasPrefix(text, "/*") {
		body = strings.TrimSuffix(strings.TrimPrefix(text, "/*"), "*/")
	}
	if strings.Contains(body, "order cannot leak") {
		return true
	}
	reason, ok := strings.CutPrefix(strings.TrimSpace(body), "order:")
	return ok && strings.TrimSpace(reason) != ""
}

// readSource returns the contents of tf, or nil if they cannot be read.
func readSource(pass *analysis.Pass, tf *token.File) []byte {
	if pass.ReadFile == nil {
		return []byte{}
	}
	src, err := pass.ReadFile(tf.Name())
	if err != nil || len(src) != tf.Size() {
		return []byte{}
	}
	return src
}

// codeBefore reports whether anything but blanks precedes pos on its line.
// Without the source (src empty), it errs on the side of "yes", so that a
// comment is taken to justify only its own line.
func codeBefore(src []byte, tf *token.File, pos token.Pos) bool {
	if len(src) == 0 {
		return true
	}
	start := tf.Offset(tf.LineStart(tf.Line(pos)))
	return strings.TrimSpace(string(src[start:tf.Offset(pos)])) != ""
}

// stmtPos returns the start of the innermost statement (or declaration)
// around cur, or cur's own start if there is none.
func stmtPos(cur inspector.Cursor) token.Pos {
	for c := range cur.Enclosing() {
		switch c.Node().(type) {
		case ast.Stmt, ast.Decl:
			return c.Node().Pos()
		}
	}
	return cur.Node().Pos()
}

// isMap reports whether t is a map, or a type parameter whose type set
// holds one.
func isMap(t types.Type) bool {
	switch u := t.Underlying().(type) {
	case *types.Map:
		return true
	case *types.Interface: // the constraint of a type parameter
		if _, ok := types.Unalias(t).(*types.TypeParam); !ok {
			return false
		}
		return typeSetHasMap(u)
	}
	return false
}

// typeSetHasMap reports whether a term of the constraint iface is a map.
func typeSetHasMap(iface *types.Interface) bool {
	for i := range iface.NumEmbeddeds() {
		switch e := iface.EmbeddedType(i).(type) {
		case *types.Union:
			for j := range e.Len() {
				if _, ok := e.Term(j).Type().Underlying().(*types.Map); ok {
					return true
				}
			}
		default:
			switch u := e.Underlying().(type) {
			case *types.Map:
				return true
			case *types.Interface:
				if typeSetHasMap(u) {
					return true
				}
			}
		}
	}
	return false
}

// mapIterAccepted reports whether cur, an identifier that names maps.Keys,
// maps.Values or maps.All, is called where the order cannot leak:
// slices.Sorted(maps.Keys(m)), slices.Sorted(maps.Values(m)),
// maps.Collect(maps.All(m)), maps.Insert(dst, maps.All(m)), or as what a
// range with a delete-only body ranges over.
func mapIterAccepted(info *types.Info, cur inspector.Cursor) bool {
	// Climb from the identifier to the call of the function it names:
	// maps.Keys, maps.Keys[M, K, V], (maps.Keys), each then called.
	fun := cur
	for {
		parent := fun.Parent()
		switch p := parent.Node().(type) {
		case *ast.SelectorExpr:
			if p.Sel != fun.Node() {
				return false
			}
		case *ast.IndexExpr:
			if p.X != fun.Node() {
				return false
			}
		case *ast.IndexListExpr:
			if p.X != fun.Node() {
				return false
			}
		case *ast.ParenExpr:
		case *ast.CallExpr:
			if p.Fun != fun.Node() {
				return false // passed as a value
			}
			return iterConsumed(info, parent, cur.Node().(*ast.Ident).Name)
		default:
			return false
		}
		fun = parent
	}
}

// iterConsumed reports whether call, a call of maps.<name>, is consumed by
// something that cannot let the order leak.
func iterConsumed(info *types.Info, call inspector.Cursor, name string) bool {
	arg := call
	for {
		parent := arg.Parent()
		switch p := parent.Node().(type) {
		case *ast.ParenExpr:
			arg = parent
			continue
		case *ast.RangeStmt:
			// maps.Values binds values, which delete cannot key on.
			return p.X == arg.Node() && name != "Values" && deleteOnly(info, p)
		case *ast.CallExpr:
			fn := calledFunc(info, p)
			if fn == nil || fn.Pkg() == nil || len(p.Args) == 0 || p.Ellipsis.IsValid() {
				return false
			}
			last := p.Args[len(p.Args)-1] == arg.Node()
			switch fn.Pkg().Path() + "." + fn.Name() {
			case "slices.Sorted":
				return last && (name == "Keys" || name == "Values")
			case "maps.Collect":
				return last && name == "All"
			case "maps.Insert":
				return last && len(p.Args) == 2 && name == "All"
			}
		}
		return false
	}
}

// calledFunc returns the package-level function or method call calls, or
// nil.
func calledFunc(info *types.Info, call *ast.CallExpr) *types.Func {
	fun := ast.Unparen(call.Fun)
	switch f := fun.(type) {
	case *ast.IndexExpr:
		fun = f.X
	case *ast.IndexListExpr:
		fun = f.X
	}
	var id *ast.Ident
	switch f := ast.Unparen(fun).(type) {
	case *ast.Ident:
		id = f
	case *ast.SelectorExpr:
		id = f.Sel
	default:
		return nil
	}
	fn, _ := info.Uses[id].(*types.Func)
	return fn
}

// deleteOnly reports whether every statement of r's body is delete(x, k),
// with k the range key, on its own or under an if (or else) whose condition
// has no side effects and reads no map, or an unconditional clear(x):
// removing the entry being visited, or clearing, comes to the same whatever
// the order. The range must declare its variables (with :=), so that none
// outlives the loop holding the last key visited.
func deleteOnly(info *types.Info, r *ast.RangeStmt) bool {
	if r.Key != nil && r.Tok != token.DEFINE {
		return false
	}
	var key types.Object
	if id, ok := r.Key.(*ast.Ident); ok && id.Name != "_" {
		key = info.Defs[id]
	}
	if len(r.Body.List) == 0 || !deleteOnlyStmts(info, key, r.Body.List, false) {
		return false
	}
	// A clear could change what a condition reads (a slice element, through
	// an alias): take clears only in a body with no conditions.
	var hasIf, hasClear bool
	ast.Inspect(r.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.IfStmt:
			hasIf = true
		case *ast.Ident:
			if b, ok := info.Uses[n].(*types.Builtin); ok && b.Name() == "clear" {
				hasClear = true
			}
		}
		return true
	})
	return !hasIf || !hasClear
}

// deleteOnlyStmts is deleteOnly for a list of statements; cond says
// whether they run under a condition.
func deleteOnlyStmts(info *types.Info, key types.Object, list []ast.Stmt, cond bool) bool {
	for _, s := range list {
		if !deleteOnlyStmt(info, key, s, cond) {
			return false
		}
	}
	return true
}

func deleteOnlyStmt(info *types.Info, key types.Object, s ast.Stmt, cond bool) bool {
	switch s := s.(type) {
	case *ast.ExprStmt:
		call, ok := ast.Unparen(s.X).(*ast.CallExpr)
		if !ok || call.Ellipsis.IsValid() {
			return false
		}
		id, ok := ast.Unparen(call.Fun).(*ast.Ident)
		if !ok {
			return false
		}
		b, ok := info.Uses[id].(*types.Builtin)
		if !ok {
			return false
		}
		switch b.Name() {
		case "delete":
			k, ok := ast.Unparen(call.Args[1]).(*ast.Ident)
			return ok && key != nil && info.Uses[k] == key && pure(info, call.Args[0])
		case "clear":
			return !cond && pure(info, call.Args[0])
		}
		return false
	case *ast.IfStmt:
		if s.Init != nil || !pure(info, s.Cond) || !deleteOnlyStmts(info, key, s.Body.List, true) {
			return false
		}
		switch e := s.Else.(type) {
		case nil:
			return true
		case *ast.BlockStmt:
			return deleteOnlyStmts(info, key, e.List, true)
		default:
			return deleteOnlyStmt(info, key, e, true)
		}
	case *ast.BlockStmt:
		return deleteOnlyStmts(info, key, s.List, cond)
	}
	return false
}

// pure reports whether evaluating e calls no function (conversions and
// len or cap of a non-map aside), receives from no channel, and reads no
// map, so that the deletions around it cannot change its value.
func pure(info *types.Info, e ast.Expr) bool {
	ok := true
	ast.Inspect(e, func(n ast.Node) bool {
		if !ok {
			return false
		}
		switch n := n.(type) {
		case *ast.FuncLit:
			ok = false
		case *ast.UnaryExpr:
			if n.Op == token.ARROW {
				ok = false
			}
		case *ast.IndexExpr:
			if t := info.TypeOf(n.X); t != nil && isMap(t) {
				ok = false
			}
		case *ast.CallExpr:
			if tv, found := info.Types[n.Fun]; found && tv.IsType() {
				return true // a conversion
			}
			id, isID := ast.Unparen(n.Fun).(*ast.Ident)
			if !isID {
				ok = false
				break
			}
			b, isBuiltin := info.Uses[id].(*types.Builtin)
			if !isBuiltin || (b.Name() != "len" && b.Name() != "cap") {
				ok = false
				break
			}
			if t := info.TypeOf(n.Args[0]); t == nil || isMap(t) {
				ok = false
			}
		}
		return ok
	})
	return ok
}
