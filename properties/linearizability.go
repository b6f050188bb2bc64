package properties

import (
	"container/heap"
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// PropLinearizability is P1.
const PropLinearizability = "P1 linearizability"

// CheckLinearizable checks a client history against a sequential model with
// porcupine. The model should partition the history (by register, by
// account group) so that each part stays small: checking is NP-complete.
// On a failure, if htmlPath is not empty, porcupine's visualization of the
// longest linearizable prefix of each part is written there.
//
// A check that runs out of time is reported too, as inconclusive: a
// property that was not checked is not a property.
func CheckLinearizable(m porcupine.Model, ops []porcupine.Operation, timeout time.Duration, htmlPath string) *Violation {
	res, info := porcupine.CheckOperationsVerbose(m, ops, timeout)
	switch res {
	case porcupine.Ok:
		return nil
	case porcupine.Unknown:
		return &Violation{Property: PropLinearizability,
			Detail: fmt.Sprintf("inconclusive: porcupine did not finish %d operations within %v", len(ops), timeout)}
	}
	v := &Violation{Property: PropLinearizability, Detail: fmt.Sprintf("no linearization of %d operations exists", len(ops))}
	if htmlPath != "" {
		// The detail stays the same with or without the file, so that a
		// replay compares equal.
		v.Artifact = htmlPath
		if err := porcupine.VisualizePath(m, info, htmlPath); err != nil {
			v.Artifact = fmt.Sprintf("(visualization failed: %v)", err)
		}
	}
	return v
}

// OpClass says what a history operation is to CheckLinearizableInOrder.
type OpClass uint8

// Operation classes.
const (
	OpPositioned OpClass = iota + 1 // changed the state, at a known place in the system's total order (pos)
	OpReadOnly                      // changed nothing (a read, a refusal): placed between positioned ones
	OpUnknown                       // may have changed the state, place unknown: its partition falls back to porcupine
	// OpPending changed nothing, and was decided on the system's newest
	// state, which may be ahead of what its plain reads show (Ethereum's
	// pending state against latest: a send refused because a transaction
	// not yet sealed used its nonce). It is placed like OpReadOnly, but
	// its gap bounds only the OpPending operations called after it
	// returned, not the OpReadOnly ones: a plain read after it may still
	// see the state before what it saw.
	OpPending
)

// OrderStats says how a history was checked.
type OrderStats struct {
	Positioned, ReadOnly int // operations checked by order
	Searched             int // operations of partitions left to porcupine's search (an OpUnknown among them)
	Partitions           int
}

// CheckLinearizableInOrder checks a client history against a sequential
// model, like CheckLinearizable, but in O(n log n) instead of porcupine's
// exponential search, by using the total order in which the system itself
// applied the state changes (the chain's order), as porcupine's issue #35
// suggests for systems that have one.
//
// classify tells, for each operation, its class and, for OpPositioned, its
// position in the system's order (unique within a partition). Partitions
// are m.Partition's (the whole history when nil; m.PartitionEvent is not
// used). Per partition:
//
//   - If any operation is OpUnknown (or of no class above), the partition
//     is left to porcupine. All such partitions are searched together, in
//     one call with one timeout, after the ordered ones; a search that does
//     not finish is an inconclusive violation, as for CheckLinearizable.
//   - Otherwise the positioned operations are replayed from m.Init in
//     position order: each must be accepted by m.Step at its place, and no
//     one may have returned before one with a smaller position was called
//     (a precedes b iff a.Return < b.Call; porcupine's intervals are
//     closed, so touching ones overlap). The replay gives the states S_0..S_n,
//     S_k after the first k positioned operations.
//   - Each read-only operation must then fit in a gap k, seeing S_k: after
//     every positioned operation and every read-only one that returned
//     before it was called, before every positioned operation called after
//     it returned, and m.Step(S_k, op) must accept it and leave a state
//     m.Equal to S_k (== when m.Equal is nil, as porcupine does). An
//     OpPending operation is placed the same way, but bounds from below
//     only the OpPending operations called after it returned. A model
//     whose Step rewrites a state it does not change (an initial marker
//     turned into the real initial state, say) fails this: for read-only
//     operations it must return the state it was given.
//
// m.StepContext is used, with a background context, only when m.Step is
// nil.
//
// The check is exact, not an approximation, for the question it asks: is
// the history linearizable in the system's own order? The positioned
// operations' order is the order the system really applied them, so a
// history that would linearize in another order, but not in this one, is
// still a bug (the system's answers contradict its own chain); and a
// history that linearizes in this order is linearizable. Read-only
// operations change no state, so once the positioned ones are ordered,
// placing them is an interval problem: taken by call time, each one is
// given the smallest gap that real time and the model allow. That greedy
// choice is optimal: a read-only operation only ever bounds those called
// after it from below, so a smaller gap can only leave them more room.
//
// It returns the first violation found (ordered partitions first, in
// m.Partition's order), nil if none, and how the history was checked: the
// stats count every partition, even those not checked after a violation.
// The detail names operations with m.DescribeOperation and states with
// m.DescribeState (porcupine's %v defaults when nil) and is deterministic
// given the history. On a violation, if htmlPath is not empty, porcupine's
// visualization of the failing partition (or of the searched ones) is
// written there; for an ordered partition porcupine searches it, within
// timeout (0: none), only to draw it, and the visualization carries the
// violation as an annotation.
func CheckLinearizableInOrder(m porcupine.Model, ops []porcupine.Operation, classify func(op porcupine.Operation) (OpClass, uint64), timeout time.Duration, htmlPath string) (*Violation, OrderStats) {
	parts := [][]porcupine.Operation{ops}
	if m.Partition != nil {
		parts = m.Partition(ops)
	}
	c := newInOrderChecker(m)
	stats := OrderStats{Partitions: len(parts)}
	ordered := make([]inOrderPart, 0, len(parts))
	var searched [][]porcupine.Operation
	nSearched := 0
	for i, part := range parts {
		p := inOrderPart{index: i, ops: part, class: make([]OpClass, len(part)), pos: make([]uint64, len(part))}
		unknown := false
		for j, op := range part {
			p.class[j], p.pos[j] = classify(op)
			if p.class[j] != OpPositioned && p.class[j] != OpReadOnly && p.class[j] != OpPending {
				unknown = true
			}
		}
		if unknown {
			searched = append(searched, part)
			nSearched += len(part)
			continue
		}
		for _, cl := range p.class {
			if cl == OpPositioned {
				stats.Positioned++
			} else {
				stats.ReadOnly++
			}
		}
		ordered = append(ordered, p)
	}
	stats.Searched = nSearched

	for _, p := range ordered {
		detail, at := c.check(p)
		if detail == "" {
			continue
		}
		v := &Violation{Property: PropLinearizability,
			Detail: fmt.Sprintf("partition %d of %d (%d operations, checked in the system's order): %s", p.index+1, len(parts), len(p.ops), detail)}
		if htmlPath != "" {
			one := m
			one.Partition, one.PartitionEvent = nil, nil
			_, info := porcupine.CheckOperationsVerbose(one, p.ops, timeout)
			var notes []porcupine.Annotation
			for _, op := range at {
				notes = append(notes, porcupine.Annotation{Tag: "in-order check", Start: op.Call, End: op.Return,
					Description: "violation", Details: v.Detail, BackgroundColor: "#ffb3b3"})
			}
			info.AddAnnotations(notes)
			visualizeViolation(v, one, info, htmlPath)
		}
		return v, stats
	}

	if len(searched) == 0 {
		return nil, stats
	}
	all := make([]porcupine.Operation, 0, nSearched)
	for _, part := range searched {
		all = append(all, part...)
	}
	some := m
	some.Partition = func([]porcupine.Operation) [][]porcupine.Operation { return searched }
	some.PartitionEvent = nil
	res, info := porcupine.CheckOperationsVerbose(some, all, timeout)
	switch res {
	case porcupine.Ok:
		return nil, stats
	case porcupine.Unknown:
		return &Violation{Property: PropLinearizability,
			Detail: fmt.Sprintf("inconclusive: porcupine did not finish %d operations within %v", nSearched, timeout)}, stats
	}
	v := &Violation{Property: PropLinearizability,
		Detail: fmt.Sprintf("no linearization of %d operations exists (%d partitions with an operation of unknown place, searched by porcupine)", nSearched, len(searched))}
	if htmlPath != "" {
		visualizeViolation(v, some, info, htmlPath)
	}
	return v, stats
}

// visualizeViolation writes porcupine's visualization to path and names
// it in v; the detail stays the same with or without the file, so that a
// replay compares equal.
func visualizeViolation(v *Violation, m porcupine.Model, info porcupine.LinearizationInfo, path string) {
	v.Artifact = path
	if err := porcupine.VisualizePath(m, info, path); err != nil {
		v.Artifact = fmt.Sprintf("(visualization failed: %v)", err)
	}
}

// inOrderPart is a partition with its operations' classes and positions.
type inOrderPart struct {
	index int
	ops   []porcupine.Operation
	class []OpClass
	pos   []uint64
}

// inOrderChecker holds the model's functions, with porcupine's defaults.
type inOrderChecker struct {
	m     porcupine.Model
	step  func(state, input, output any) (bool, any)
	equal func(a, b any) bool
}

func newInOrderChecker(m porcupine.Model) *inOrderChecker {
	c := &inOrderChecker{m: m, step: m.Step, equal: m.Equal}
	if c.step == nil && m.StepContext != nil {
		ctx := context.Background()
		c.step = func(state, input, output any) (bool, any) { return m.StepContext(ctx, state, input, output) }
	}
	if c.step == nil {
		panic("properties: the model defines neither Step nor StepContext")
	}
	if c.equal == nil {
		// porcupine's fallback: == on the interfaces.
		c.equal = func(a, b any) bool { return a == b }
	}
	return c
}

func (c *inOrderChecker) describeOp(op porcupine.Operation) string {
	var d string
	if c.m.DescribeOperation != nil {
		d = c.m.DescribeOperation(op.Input, op.Output)
	} else {
		d = fmt.Sprintf("%v -> %v", op.Input, op.Output)
	}
	return fmt.Sprintf("[%s] (client %d, called %d, returned %d)", d, op.ClientId, op.Call, op.Return)
}

func (c *inOrderChecker) describeState(s any) string {
	if c.m.DescribeState != nil {
		return "[" + c.m.DescribeState(s) + "]"
	}
	return fmt.Sprintf("[%v]", s)
}

// inOrderPlaced is a read-only operation given a gap, waiting in a heap by return
// time until the operations called after it returned take it as a lower
// bound.
type inOrderPlaced struct {
	ret     int64
	gap     int
	op      int  // index in the partition
	pending bool // OpPending: it bounds only later OpPending operations
}

type inOrderHeap []inOrderPlaced

func (h inOrderHeap) Len() int { return len(h) }
func (h inOrderHeap) Less(i, j int) bool {
	if h[i].ret != h[j].ret {
		return h[i].ret < h[j].ret
	}
	return h[i].op < h[j].op
}
func (h inOrderHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *inOrderHeap) Push(x any)   { *h = append(*h, x.(inOrderPlaced)) }
func (h *inOrderHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// check checks one partition in its order. It returns "" if the partition
// is linearizable in it, else the violation's detail and the operations it
// names.
func (c *inOrderChecker) check(p inOrderPart) (string, []porcupine.Operation) {
	var w, r []int // positioned and read-only operations, as indices in p.ops
	for i, cl := range p.class {
		if cl == OpPositioned {
			w = append(w, i)
		} else {
			r = append(r, i)
		}
	}
	ops := p.ops
	sort.SliceStable(w, func(a, b int) bool { return p.pos[w[a]] < p.pos[w[b]] })
	n := len(w)

	// Distinct positions, and an order that real time allows.
	last := -1 // the latest called of w[:j]
	for j, oj := range w {
		if j > 0 && p.pos[w[j-1]] == p.pos[oj] {
			a, b := ops[w[j-1]], ops[oj]
			return fmt.Sprintf("two positioned operations at position %d: %s and %s",
				p.pos[oj], c.describeOp(a), c.describeOp(b)), []porcupine.Operation{a, b}
		}
		if last >= 0 && ops[oj].Return < ops[w[last]].Call {
			a, b := ops[oj], ops[w[last]]
			return fmt.Sprintf("positioned operation %s at position %d returned at %d, before positioned operation %s at the earlier position %d was called at %d: the system's order contradicts real time",
				c.describeOp(a), p.pos[oj], a.Return, c.describeOp(b), p.pos[w[last]], b.Call), []porcupine.Operation{a, b}
		}
		if last < 0 || ops[oj].Call > ops[w[last]].Call {
			last = j
		}
	}

	// Replay: states[k] is S_k.
	states := make([]any, n+1)
	states[0] = c.m.Init()
	for k, i := range w {
		ok, next := c.step(states[k], ops[i].Input, ops[i].Output)
		if !ok {
			return fmt.Sprintf("the model refuses positioned operation %s at its place (position %d, %d of %d in order) in state %s",
				c.describeOp(ops[i]), p.pos[i], k+1, n, c.describeState(states[k])), []porcupine.Operation{ops[i]}
		}
		states[k+1] = next
	}
	if len(r) == 0 {
		return "", nil
	}

	// Bounds from the positioned operations: byRet by return time with
	// the prefix maximum of their indices in order, byCall by call time
	// with the suffix minimum.
	byRet := make([]int, n) // indices in w
	byCall := make([]int, n)
	for k := range n {
		byRet[k], byCall[k] = k, k
	}
	sort.SliceStable(byRet, func(a, b int) bool { return ops[w[byRet[a]]].Return < ops[w[byRet[b]]].Return })
	sort.SliceStable(byCall, func(a, b int) bool { return ops[w[byCall[a]]].Call < ops[w[byCall[b]]].Call })
	retTime, prefMax := make([]int64, n), make([]int, n)
	callTime, sufMin := make([]int64, n), make([]int, n)
	for k := range n {
		retTime[k] = ops[w[byRet[k]]].Return
		prefMax[k] = byRet[k]
		if k > 0 && prefMax[k-1] > prefMax[k] {
			prefMax[k] = prefMax[k-1]
		}
		callTime[k] = ops[w[byCall[k]]].Call
	}
	for k := n - 1; k >= 0; k-- {
		sufMin[k] = byCall[k]
		if k < n-1 && sufMin[k+1] < sufMin[k] {
			sufMin[k] = sufMin[k+1]
		}
	}

	sort.SliceStable(r, func(a, b int) bool { return ops[r[a]].Call < ops[r[b]].Call })
	var done inOrderHeap
	// The largest gap of a placed read-only operation that returned
	// before the current one was called: of the OpReadOnly ones (floor),
	// which bound every later one, and of the OpPending ones (floorP),
	// which bound only later OpPending ones.
	floor, floorOp := 0, -1
	floorP, floorPOp := 0, -1
	for _, i := range r {
		o := ops[i]
		pending := p.class[i] == OpPending
		for done.Len() > 0 && done[0].ret < o.Call {
			d := heap.Pop(&done).(inOrderPlaced)
			switch {
			case d.pending && d.gap > floorP:
				floorP, floorPOp = d.gap, d.op
			case !d.pending && d.gap > floor:
				floor, floorOp = d.gap, d.op
			}
		}
		fl, flOp := floor, floorOp
		if pending && floorP > fl {
			fl, flOp = floorP, floorPOp
		}
		lo, loOp := 0, -1 // loOp: the positioned operation (index in w) that sets lo, or -1
		if before := sort.Search(n, func(k int) bool { return retTime[k] >= o.Call }); before > 0 {
			lo, loOp = prefMax[before-1]+1, prefMax[before-1]
		}
		loByRead := false
		if fl > lo {
			lo, loByRead = fl, true
		}
		hi := n
		if after := sort.Search(n, func(k int) bool { return callTime[k] > o.Return }); after < n {
			hi = sufMin[after]
		}

		gap, changed := -1, -1
		for k := lo; k <= hi; k++ {
			ok, next := c.step(states[k], o.Input, o.Output)
			if !ok {
				continue
			}
			if c.equal(next, states[k]) {
				gap = k
				break
			}
			if changed < 0 {
				changed = k
			}
		}
		if gap >= 0 {
			heap.Push(&done, inOrderPlaced{ret: o.Return, gap: gap, op: i, pending: pending})
			continue
		}

		// No gap: say why.
		at := []porcupine.Operation{o}
		var b strings.Builder
		fmt.Fprintf(&b, "read-only operation %s fits in no gap of the %d positioned operations (gap k: after the first k in position order)", c.describeOp(o), n)
		fmt.Fprintf(&b, "; real time allows gaps [%d, %d]", lo, hi)
		switch {
		case loByRead:
			fmt.Fprintf(&b, "; from %d: read-only operation %s, placed in gap %d, returned before it was called", lo, c.describeOp(ops[flOp]), lo)
			at = append(at, ops[flOp])
		case loOp >= 0:
			fmt.Fprintf(&b, "; from %d: positioned operation %s at position %d returned before it was called", lo, c.describeOp(ops[w[loOp]]), p.pos[w[loOp]])
			at = append(at, ops[w[loOp]])
		}
		if hi < n {
			fmt.Fprintf(&b, "; to %d: positioned operation %s at position %d was called after it returned", hi, c.describeOp(ops[w[hi]]), p.pos[w[hi]])
			at = append(at, ops[w[hi]])
		}
		if lo > hi {
			b.WriteString("; so real time leaves it no gap")
			return b.String(), at
		}
		outcome := func(k int) {
			ok, next := c.step(states[k], o.Input, o.Output)
			fmt.Fprintf(&b, "; in gap %d, state %s, the model ", k, c.describeState(states[k]))
			if !ok {
				b.WriteString("refuses it")
				return
			}
			fmt.Fprintf(&b, "accepts it but it changes the state to %s, which a read-only operation must not", c.describeState(next))
		}
		outcome(lo)
		if hi != lo {
			outcome(hi)
		}
		if hi-lo > 1 {
			fmt.Fprintf(&b, "; it fits in none of the %d gaps between either", hi-lo-1)
			if changed > lo && changed < hi {
				outcome(changed)
			}
		}
		return b.String(), at
	}
	return "", nil
}
