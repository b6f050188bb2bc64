package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"sort"
	"strings"
)

// Operators, by the name a mutant's id and triage.txt use.
const (
	OpCmpFlip      = "cmp-flip"      // < ↔ <=, > ↔ >=, == ↔ !=
	OpIfNegate     = "if-negate"     // if c → if !(c)
	OpLogicSwap    = "logic-swap"    // && ↔ ||
	OpOneSwap      = "one-swap"      // x + 1 ↔ x - 1
	OpIncDecSwap   = "incdec-swap"   // x++ ↔ x--
	OpCallRemove   = "call-remove"   // a call statement whose result is unused, removed
	OpDeleteRemove = "delete-remove" // delete(m, k), removed
	OpReturnNil    = "return-nil"    // return ..., err → return ..., nil
	OpBoolFlip     = "bool-flip"     // true ↔ false
)

// edit replaces src[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// Mutant is one small change to one file.
type Mutant struct {
	Pkg  string `json:"pkg"`  // the package's directory, e.g. node/sequencer
	File string `json:"file"` // the file, relative to the repository root
	Line int    `json:"line"`
	Col  int    `json:"col"`
	Op   string `json:"op"`
	Desc string `json:"desc"` // what changed, e.g. "< → <="

	edits []edit
}

// ID names a mutant: file:line:col operator.
func (m *Mutant) ID() string { return fmt.Sprintf("%s:%d:%d %s", m.File, m.Line, m.Col, m.Op) }

// Apply returns src with the mutant's edits made.
func (m *Mutant) Apply(src []byte) []byte {
	es := append([]edit(nil), m.edits...)
	sort.Slice(es, func(i, j int) bool { return es[i].start < es[j].start })
	var out bytes.Buffer
	at := 0
	for _, e := range es {
		out.Write(src[at:e.start])
		out.WriteString(e.text)
		at = e.end
	}
	out.Write(src[at:])
	return out.Bytes()
}

var cmpFlip = map[token.Token]token.Token{
	token.LSS: token.LEQ, token.LEQ: token.LSS,
	token.GTR: token.GEQ, token.GEQ: token.GTR,
	token.EQL: token.NEQ, token.NEQ: token.EQL,
}

// Generate returns the mutants of one Go source file (path is how mutants
// name it). Code that only logs, formats, marks coverage or states an
// invariant is left alone: String, Error and GoString methods, the
// arguments of fmt, log, slog, Log().*, Mark, node.Assert, node.Broken,
// node.Invariant and panic calls, mutex Lock and Unlock calls, and the conditions of ifs whose body does
// nothing but those (a mutant there changes a log line or makes an
// invariant fire always, which tells nothing about the tests). Every
// mutant returned parses.
func Generate(path, pkg string, src []byte) ([]*Mutant, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	if ast.IsGenerated(f) {
		return nil, nil
	}
	tf := fset.File(f.Pos())
	off := func(p token.Pos) int { return tf.Offset(p) }

	// Ranges no mutant may touch.
	var skip [][2]token.Pos
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv != nil && fd.Body != nil {
			switch fd.Name.Name {
			case "String", "Error", "GoString":
				skip = append(skip, [2]token.Pos{fd.Pos(), fd.End()})
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok && quietCall(c) {
			skip = append(skip, [2]token.Pos{c.Pos(), c.End()})
			return false
		}
		return true
	})
	skipped := func(p token.Pos) bool {
		for _, r := range skip {
			if p >= r[0] && p < r[1] {
				return true
			}
		}
		return false
	}

	var out []*Mutant
	add := func(at token.Pos, op, desc string, es ...edit) {
		if skipped(at) {
			return
		}
		pos := fset.Position(at)
		out = append(out, &Mutant{Pkg: pkg, File: path, Line: pos.Line, Col: pos.Column, Op: op, Desc: desc, edits: es})
	}
	// The if-conditions that guard only quiet code, by position.
	quietIf := map[ast.Expr]bool{}

	var stack []ast.Node
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		stack = append(stack, n)
		switch x := n.(type) {
		case *ast.IfStmt:
			if x.Else == nil && quietBlock(x.Body) {
				quietIf[x.Cond] = true
				return true
			}
			// a == b negated is a != b: cmp-flip has it already.
			if b, ok := ast.Unparen(x.Cond).(*ast.BinaryExpr); ok && (b.Op == token.EQL || b.Op == token.NEQ) {
				return true
			}
			add(x.Cond.Pos(), OpIfNegate, "if c → if !(c)",
				edit{off(x.Cond.Pos()), off(x.Cond.Pos()), "!("}, edit{off(x.Cond.End()), off(x.Cond.End()), ")"})
		case *ast.BinaryExpr:
			if inQuietCond(stack, quietIf) {
				return true
			}
			o := off(x.OpPos)
			if to, ok := cmpFlip[x.Op]; ok {
				add(x.OpPos, OpCmpFlip, fmt.Sprintf("%s → %s", x.Op, to), edit{o, o + len(x.Op.String()), to.String()})
			}
			switch x.Op {
			case token.LAND:
				add(x.OpPos, OpLogicSwap, "&& → ||", edit{o, o + 2, "||"})
			case token.LOR:
				add(x.OpPos, OpLogicSwap, "|| → &&", edit{o, o + 2, "&&"})
			case token.ADD, token.SUB:
				if lit, ok := x.Y.(*ast.BasicLit); ok && lit.Kind == token.INT && lit.Value == "1" {
					to := token.SUB
					if x.Op == token.SUB {
						to = token.ADD
					}
					add(x.OpPos, OpOneSwap, fmt.Sprintf("%s 1 → %s 1", x.Op, to), edit{o, o + 1, to.String()})
				}
			}
		case *ast.IncDecStmt:
			o := off(x.TokPos)
			if x.Tok == token.INC {
				add(x.TokPos, OpIncDecSwap, "++ → --", edit{o, o + 2, "--"})
			} else {
				add(x.TokPos, OpIncDecSwap, "-- → ++", edit{o, o + 2, "++"})
			}
		case *ast.ExprStmt:
			c, ok := x.X.(*ast.CallExpr)
			if !ok || quietCall(c) {
				return true
			}
			s, e := lineSpan(src, off(x.Pos()), off(x.End()))
			if id, ok := c.Fun.(*ast.Ident); ok {
				switch id.Name {
				case "delete":
					add(x.Pos(), OpDeleteRemove, "delete(...) removed", edit{s, e, ""})
					return true
				case "panic", "print", "println":
					return true
				}
			}
			add(x.Pos(), OpCallRemove, fmt.Sprintf("%s(...) removed", calleeName(c)), edit{s, e, ""})
		case *ast.ReturnStmt:
			ft := enclosingFunc(stack)
			if ft == nil || ft.Results == nil {
				return true
			}
			n := 0
			for _, fl := range ft.Results.List {
				n += max(1, len(fl.Names))
			}
			last := ft.Results.List[len(ft.Results.List)-1].Type
			if id, ok := last.(*ast.Ident); !ok || id.Name != "error" || len(x.Results) != n {
				return true
			}
			r := x.Results[n-1]
			if id, ok := r.(*ast.Ident); ok && id.Name == "nil" {
				return true
			}
			add(r.Pos(), OpReturnNil, "error → nil", edit{off(r.Pos()), off(r.End()), "nil"})
		case *ast.Ident:
			if (x.Name == "true" || x.Name == "false") && !inQuietCond(stack, quietIf) {
				to := "false"
				if x.Name == "false" {
					to = "true"
				}
				add(x.Pos(), OpBoolFlip, x.Name+" → "+to, edit{off(x.Pos()), off(x.End()), to})
			}
		}
		return true
	})

	// Keep only mutants that parse.
	valid := out[:0]
	for _, m := range out {
		if _, err := parser.ParseFile(token.NewFileSet(), path, m.Apply(src), parser.SkipObjectResolution); err == nil {
			valid = append(valid, m)
		}
	}
	return valid, nil
}

// inQuietCond reports whether the innermost node on the stack lies in the
// condition of an if that guards only quiet code.
func inQuietCond(stack []ast.Node, quiet map[ast.Expr]bool) bool {
	for i := len(stack) - 1; i >= 0; i-- {
		if e, ok := stack[i].(ast.Expr); ok && quiet[e] {
			return true
		}
		if _, ok := stack[i].(ast.Stmt); ok {
			return false
		}
	}
	return false
}

// enclosingFunc is the type of the innermost function on the stack.
func enclosingFunc(stack []ast.Node) *ast.FuncType {
	for i := len(stack) - 1; i >= 0; i-- {
		switch f := stack[i].(type) {
		case *ast.FuncLit:
			return f.Type
		case *ast.FuncDecl:
			return f.Type
		}
	}
	return nil
}

// lineSpan widens [s, e) to whole lines when the statement stands alone on
// its lines, so that removing it removes the lines.
func lineSpan(src []byte, s, e int) (int, int) {
	ls := bytes.LastIndexByte(src[:s], '\n') + 1
	if strings.TrimSpace(string(src[ls:s])) != "" {
		return s, e
	}
	le := bytes.IndexByte(src[e:], '\n')
	if le < 0 {
		return s, e
	}
	if strings.TrimSpace(string(src[e:e+le])) != "" {
		return s, e
	}
	return ls, e + le + 1
}

// calleeName is a call's function as written, shortened: s.env.Send.
func calleeName(c *ast.CallExpr) string {
	var name func(e ast.Expr) string
	name = func(e ast.Expr) string {
		switch x := e.(type) {
		case *ast.Ident:
			return x.Name
		case *ast.SelectorExpr:
			return name(x.X) + "." + x.Sel.Name
		case *ast.CallExpr:
			return name(x.Fun) + "()"
		case *ast.IndexExpr:
			return name(x.X) + "[]"
		case *ast.ParenExpr:
			return name(x.X)
		case *ast.StarExpr:
			return name(x.X)
		}
		return "?"
	}
	return name(c.Fun)
}

// quietCall reports whether a call only logs, formats, marks coverage or
// states an invariant.
func quietCall(c *ast.CallExpr) bool {
	switch fn := c.Fun.(type) {
	case *ast.Ident:
		return fn.Name == "panic" || fn.Name == "print" || fn.Name == "println"
	case *ast.SelectorExpr:
		switch fn.Sel.Name {
		case "Mark", "Invariant", "Broken", "Assert":
			return true
		case "Lock", "Unlock", "RLock", "RUnlock":
			// Locks matter between goroutines; the simulator runs a node
			// on one, so removing one only tells whether sync panics.
			return len(c.Args) == 0
		}
		if id, ok := fn.X.(*ast.Ident); ok {
			switch id.Name {
			case "fmt", "log", "slog":
				return true
			}
		}
		if loggerExpr(fn.X) {
			return true
		}
	}
	return false
}

// loggerExpr reports whether e is a logger: x.Log(), log, logger, s.log.
func loggerExpr(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.CallExpr:
		if sel, ok := x.Fun.(*ast.SelectorExpr); ok && (sel.Sel.Name == "Log" || sel.Sel.Name == "Logger") {
			return true
		}
		if id, ok := x.Fun.(*ast.Ident); ok && (id.Name == "Log" || id.Name == "Logger") {
			return true
		}
	case *ast.Ident:
		return isLogName(x.Name)
	case *ast.SelectorExpr:
		return isLogName(x.Sel.Name)
	}
	return false
}

func isLogName(s string) bool {
	s = strings.ToLower(s)
	return s == "log" || s == "logger" || s == "lg"
}

// quietBlock reports whether a block does nothing but quiet calls (and
// perhaps a bare return after them, which is control flow: not quiet).
func quietBlock(b *ast.BlockStmt) bool {
	if len(b.List) == 0 {
		return false
	}
	for _, s := range b.List {
		es, ok := s.(*ast.ExprStmt)
		if !ok {
			return false
		}
		c, ok := es.X.(*ast.CallExpr)
		if !ok || !quietCall(c) {
			return false
		}
	}
	return true
}
