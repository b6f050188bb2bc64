package properties

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/holiman/uint256"
	"github.com/meganode/meganode/model"
	"pgregory.net/rapid"
)

// Tests of CheckLinearizableInOrder: honest histories pass, each kind of
// wrong history is rejected with a detail that names the operation at
// fault, partitions with an operation of unknown place go to porcupine,
// and, on random executions, the ordered check never accepts what
// porcupine rejects.

// regKind is what a register operation does.
type regKind uint8

const (
	regWrite regKind = iota + 1
	regRead
	regBump // adds 1 to the value: a state change, whatever it is classified as
)

// regIn is a register operation's input. A write with a version must make
// exactly that version (the register's version + 1), like a nonce; a
// write of version 0 always may.
type regIn struct {
	Key     int
	Kind    regKind
	Value   int
	Version int
}

// regOut: a read's value, or a write's refusal.
type regOut struct {
	Value   int
	Refused bool
}

// regState is comparable, so that the models can leave Equal nil and the
// checker must use porcupine's == fallback.
type regState struct{ Version, Value int }

func regStep(state, input, output any) (bool, any) {
	s, in, out := state.(regState), input.(regIn), output.(regOut)
	switch in.Kind {
	case regRead:
		return out.Value == s.Value, s
	case regBump:
		return true, regState{s.Version, s.Value + 1}
	}
	fits := in.Version == 0 || in.Version == s.Version+1
	if out.Refused {
		return !fits, s // a refusal is only legal for a write that does not fit
	}
	if !fits {
		return false, s
	}
	return true, regState{s.Version + 1, in.Value}
}

func regDescribe(input, output any) string {
	in, out := input.(regIn), output.(regOut)
	switch in.Kind {
	case regRead:
		return fmt.Sprintf("read k%d -> %d", in.Key, out.Value)
	case regBump:
		return fmt.Sprintf("bump k%d", in.Key)
	}
	d := fmt.Sprintf("write k%d := %d", in.Key, in.Value)
	if in.Version != 0 {
		d += fmt.Sprintf(" v%d", in.Version)
	}
	if out.Refused {
		d += " refused"
	}
	return d
}

// regModel is one register, unpartitioned; regKeysModel partitions by key.
var (
	regModel = porcupine.Model{
		Init:              func() any { return regState{} },
		Step:              regStep,
		DescribeOperation: regDescribe,
		DescribeState:     func(s any) string { return fmt.Sprintf("v%d=%d", s.(regState).Version, s.(regState).Value) },
	}
	regKeysModel = func() porcupine.Model {
		m := regModel
		m.Partition = func(history []porcupine.Operation) [][]porcupine.Operation {
			var parts [][]porcupine.Operation
			for _, op := range history {
				k := op.Input.(regIn).Key
				for len(parts) <= k {
					parts = append(parts, nil)
				}
				parts[k] = append(parts[k], op)
			}
			var out [][]porcupine.Operation
			for _, p := range parts {
				if len(p) > 0 {
					out = append(out, p)
				}
			}
			return out
		}
		return m
	}()
)

// regMeta rides in an operation's Metadata: its position, and its class
// when a test wants another than the kind's.
type regMeta struct {
	pos   uint64
	class OpClass
}

// classifyReg: a write that took effect is positioned, everything else is
// read-only, unless the metadata says otherwise.
func classifyReg(op porcupine.Operation) (OpClass, uint64) {
	m, _ := op.Metadata.(regMeta)
	if m.class != 0 {
		return m.class, m.pos
	}
	if op.Input.(regIn).Kind == regWrite && !op.Output.(regOut).Refused {
		return OpPositioned, m.pos
	}
	return OpReadOnly, 0
}

type regHistory struct{ ops []porcupine.Operation }

func (h *regHistory) add(call, ret int64, in regIn, out regOut, meta regMeta) *porcupine.Operation {
	h.ops = append(h.ops, porcupine.Operation{ClientId: len(h.ops), Input: in, Call: call, Output: out, Return: ret, Metadata: meta})
	return &h.ops[len(h.ops)-1]
}

// write adds a write of key k that took effect at position pos.
func (h *regHistory) write(call, ret int64, k, value int, pos uint64) {
	h.add(call, ret, regIn{Key: k, Kind: regWrite, Value: value}, regOut{}, regMeta{pos: pos})
}

func (h *regHistory) read(call, ret int64, k, value int) {
	h.add(call, ret, regIn{Key: k, Kind: regRead}, regOut{Value: value}, regMeta{})
}

func checkInOrder(m porcupine.Model, h *regHistory) (*Violation, OrderStats) {
	return CheckLinearizableInOrder(m, h.ops, classifyReg, 10*time.Second, "")
}

func wantInOrderPasses(t *testing.T, m porcupine.Model, h *regHistory) OrderStats {
	t.Helper()
	v, st := checkInOrder(m, h)
	if v != nil {
		t.Fatalf("an honest history was rejected: %v", v)
	}
	// porcupine agrees.
	if v := CheckLinearizable(m, h.ops, 10*time.Second, ""); v != nil {
		t.Fatalf("porcupine rejects the honest history: %v", v)
	}
	return st
}

// wantInOrderRejected wants a violation whose detail holds every one of names.
func wantInOrderRejected(t *testing.T, m porcupine.Model, h *regHistory, names ...string) *Violation {
	t.Helper()
	v, _ := checkInOrder(m, h)
	if v == nil {
		t.Fatal("a wrong history was accepted")
	}
	if v.Property != PropLinearizability {
		t.Fatalf("property %q", v.Property)
	}
	for _, n := range names {
		if !strings.Contains(v.Detail, n) {
			t.Fatalf("the detail does not name %q: %s", n, v.Detail)
		}
	}
	t.Logf("rejected: %s", v.Detail)
	return v
}

func TestInOrderAcceptsHonestHistories(t *testing.T) {
	h := &regHistory{}
	h.read(0, 1, 0, 0)     // the initial state
	h.write(2, 3, 0, 7, 1) // sequential
	h.read(4, 5, 0, 7)
	// Two overlapping writes whose positions run against their call
	// times: the later called took effect first. Legal, since they
	// overlap.
	h.write(10, 20, 0, 8, 3)
	h.write(12, 18, 0, 9, 2)
	h.read(11, 13, 0, 7) // before both
	h.read(14, 15, 0, 9) // between them
	h.read(16, 25, 0, 8) // after both
	h.read(20, 21, 0, 8) // touches the end of the first write: it overlaps it
	h.read(21, 22, 0, 8) // after both returned
	h.write(30, 30, 0, 1, 10)
	h.read(30, 31, 0, 1) // called at the write's return: overlapping, may see it
	h.read(29, 30, 0, 8) // returned at the write's call: may miss it
	// A refused versioned write is read-only: version 9 does not fit.
	h.add(32, 33, regIn{Kind: regWrite, Value: 5, Version: 9}, regOut{Refused: true}, regMeta{})
	st := wantInOrderPasses(t, regModel, h)
	if st != (OrderStats{Positioned: 4, ReadOnly: 10, Partitions: 1}) {
		t.Fatalf("stats %+v", st)
	}

	// Read-only operations between themselves: a read that saw the new
	// value returned, and another called after it sees it too, while the
	// write that made it is still pending.
	h = &regHistory{}
	h.write(0, 100, 0, 1, 1)
	h.read(1, 2, 0, 0)
	h.read(3, 4, 0, 1)
	h.read(5, 6, 0, 1)
	h.read(3, 50, 0, 0) // overlaps the first read of 1: may still see 0
	wantInOrderPasses(t, regModel, h)

	// Two keys, partitioned, with interleaved times; positions are per key.
	h = &regHistory{}
	h.write(0, 10, 0, 1, 1)
	h.write(0, 10, 1, 2, 1)
	h.read(5, 6, 0, 1)
	h.read(5, 6, 1, 0)
	h.write(11, 12, 1, 3, 2)
	h.read(13, 14, 0, 1)
	h.read(13, 14, 1, 3)
	st = wantInOrderPasses(t, regKeysModel, h)
	if st != (OrderStats{Positioned: 3, ReadOnly: 4, Partitions: 2}) {
		t.Fatalf("stats %+v", st)
	}

	// Empty and all-read histories.
	if v, st := CheckLinearizableInOrder(regModel, nil, classifyReg, 0, ""); v != nil || st != (OrderStats{Partitions: 1}) {
		t.Fatalf("empty history: %v %+v", v, st)
	}
	h = &regHistory{}
	h.read(0, 1, 0, 0)
	wantInOrderPasses(t, regModel, h)
}

func TestInOrderRejectsAStaleRead(t *testing.T) {
	h := &regHistory{}
	h.write(0, 10, 0, 7, 1)
	h.read(11, 12, 0, 0) // called after the write returned, sees the old value
	wantInOrderRejected(t, regModel, h, "read k0 -> 0", "called 11, returned 12", "write k0 := 7", "v1=7")
	// The honest twin passes.
	h.ops[1].Output = regOut{Value: 7}
	wantInOrderPasses(t, regModel, h)
	// So does the stale one, had it overlapped the write.
	h.ops[1].Output, h.ops[1].Call = regOut{Value: 0}, 10
	wantInOrderPasses(t, regModel, h)
}

func TestInOrderRejectsAReadOfAValueNeverWritten(t *testing.T) {
	h := &regHistory{}
	h.write(0, 10, 0, 7, 1)
	h.write(5, 15, 0, 8, 2)
	h.read(1, 20, 0, 42)
	wantInOrderRejected(t, regModel, h, "read k0 -> 42", "gaps [0, 2]", "v0=0", "v2=8", "refuses")
}

// A read-only operation bounded by another read-only one: r2 was called
// after r1 returned having seen the write, so r2 cannot see the state
// before it, though the write is concurrent with both.
func TestInOrderRejectsAReadOlderThanAnEarlierRead(t *testing.T) {
	h := &regHistory{}
	h.write(0, 100, 0, 1, 1)
	h.read(1, 2, 0, 1)
	h.read(3, 4, 0, 0)
	wantInOrderRejected(t, regModel, h, "read k0 -> 0", "read-only operation [read k0 -> 1]", "placed in gap 1")
	h.ops[2].Output = regOut{Value: 1}
	wantInOrderPasses(t, regModel, h)
}

func TestInOrderRejectsAnOrderAgainstRealTime(t *testing.T) {
	h := &regHistory{}
	h.write(0, 1, 0, 7, 2) // returned at 1
	h.write(5, 6, 0, 8, 1) // called at 5, yet before it in the system's order
	wantInOrderRejected(t, regModel, h, "write k0 := 7", "write k0 := 8", "position 2", "position 1", "returned at 1", "called at 5")
	// porcupine accepts the history: only the system's order contradicts it.
	if v := CheckLinearizable(regModel, h.ops, time.Second, ""); v != nil {
		t.Fatalf("porcupine: %v", v)
	}
	// Touching intervals overlap: fine.
	h.ops[1].Call = 1
	wantInOrderPasses(t, regModel, h)
}

func TestInOrderRejectsTheSamePositionTwice(t *testing.T) {
	h := &regHistory{}
	h.write(0, 10, 0, 7, 4)
	h.write(0, 10, 0, 8, 4)
	wantInOrderRejected(t, regModel, h, "position 4", "write k0 := 7", "write k0 := 8")
	// In two partitions the same position is fine.
	h.ops[1].Input = regIn{Key: 1, Kind: regWrite, Value: 8}
	wantInOrderPasses(t, regKeysModel, h)
}

func TestInOrderRejectsAPositionedOpTheModelRefuses(t *testing.T) {
	h := &regHistory{}
	h.add(0, 1, regIn{Kind: regWrite, Value: 7, Version: 1}, regOut{}, regMeta{pos: 1})
	h.add(2, 3, regIn{Kind: regWrite, Value: 8, Version: 3}, regOut{}, regMeta{pos: 2}) // v3 after v1
	wantInOrderRejected(t, regModel, h, "write k0 := 8 v3", "position 2", "v1=7")
	h.ops[1].Input = regIn{Kind: regWrite, Value: 8, Version: 2}
	wantInOrderPasses(t, regModel, h)

	// Versions that only fit in the other order: porcupine would accept
	// the overlapping writes swapped, the system's order does not.
	h = &regHistory{}
	h.add(0, 10, regIn{Kind: regWrite, Value: 7, Version: 2}, regOut{}, regMeta{pos: 1})
	h.add(0, 10, regIn{Kind: regWrite, Value: 8, Version: 1}, regOut{}, regMeta{pos: 2})
	wantInOrderRejected(t, regModel, h, "write k0 := 7 v2", "position 1", "v0=0")
}

func TestInOrderRejectsAReadOnlyOpThatChangesTheState(t *testing.T) {
	h := &regHistory{}
	h.write(0, 1, 0, 7, 1)
	h.add(2, 3, regIn{Kind: regBump}, regOut{}, regMeta{class: OpReadOnly})
	wantInOrderRejected(t, regModel, h, "bump k0", "changes the state to [v1=8]")
	// Positioned, it is fine.
	h.ops[1].Metadata = regMeta{class: OpPositioned, pos: 2}
	h.read(4, 5, 0, 8)
	st := wantInOrderPasses(t, regModel, h)
	if st.Positioned != 2 || st.ReadOnly != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestInOrderUnknownGoesToPorcupine(t *testing.T) {
	// Key 0 ordered; key 1 has a write of unknown place (a timed out
	// send, say), so its partition is searched.
	h := &regHistory{}
	h.write(0, 10, 0, 1, 1)
	h.read(11, 12, 0, 1)
	h.add(0, 10, regIn{Key: 1, Kind: regWrite, Value: 5}, regOut{}, regMeta{class: OpUnknown})
	h.write(0, 10, 1, 6, 1)
	h.read(11, 12, 1, 5) // porcupine orders 6 before 5
	for _, timeout := range []time.Duration{0, 10 * time.Second} {
		v, st := CheckLinearizableInOrder(regKeysModel, h.ops, classifyReg, timeout, "")
		if v != nil {
			t.Fatalf("timeout %v: %v", timeout, v)
		}
		if st != (OrderStats{Positioned: 1, ReadOnly: 1, Searched: 3, Partitions: 2}) {
			t.Fatalf("stats %+v", st)
		}
	}
	// A read of a value the search cannot explain.
	h.read(13, 14, 1, 6)
	for _, timeout := range []time.Duration{0, 10 * time.Second} {
		v, st := CheckLinearizableInOrder(regKeysModel, h.ops, classifyReg, timeout, "")
		if v == nil || !strings.Contains(v.Detail, "no linearization of 4 operations") {
			t.Fatalf("timeout %v: %v", timeout, v)
		}
		if st.Searched != 4 {
			t.Fatalf("stats %+v", st)
		}
	}
	// A class the checker does not know counts as unknown.
	h = &regHistory{}
	h.add(0, 1, regIn{Kind: regRead}, regOut{}, regMeta{class: 99})
	if v, st := checkInOrder(regModel, h); v != nil || st.Searched != 1 {
		t.Fatalf("%v %+v", v, st)
	}
}

// A search that does not finish in time is an inconclusive violation.
func TestInOrderSearchTimeoutIsInconclusive(t *testing.T) {
	m := regModel
	// porcupine calls StepContext, which here never finishes; the ordered
	// check calls Step.
	m.StepContext = func(ctx context.Context, _, _, _ any) (bool, any) {
		<-ctx.Done()
		return false, nil
	}
	h := &regHistory{}
	h.add(0, 1, regIn{Kind: regWrite, Value: 1}, regOut{}, regMeta{class: OpUnknown})
	v, st := CheckLinearizableInOrder(m, h.ops, classifyReg, 20*time.Millisecond, "")
	if v == nil || v.Detail != "inconclusive: porcupine did not finish 1 operations within 20ms" {
		t.Fatalf("%v", v)
	}
	if st.Searched != 1 {
		t.Fatalf("stats %+v", st)
	}
	// The ordered check is not affected.
	h.ops[0].Metadata = regMeta{pos: 1}
	if v, _ := CheckLinearizableInOrder(m, h.ops, classifyReg, 20*time.Millisecond, ""); v != nil {
		t.Fatal(v)
	}
}

// A violation in one partition, the other right; the detail is the same
// with the visualization written or not.
func TestInOrderPartitionedViolationAndVisualization(t *testing.T) {
	h := &regHistory{}
	h.write(0, 10, 0, 1, 1)
	h.read(11, 12, 0, 1)
	h.write(0, 10, 1, 2, 1)
	h.read(11, 12, 1, 0) // stale, key 1
	v := wantInOrderRejected(t, regKeysModel, h, "partition 2 of 2", "read k1 -> 0")
	html := t.TempDir() + "/p1.html"
	w, _ := CheckLinearizableInOrder(regKeysModel, h.ops, classifyReg, 10*time.Second, html)
	if w == nil || w.Detail != v.Detail || w.Artifact != html {
		t.Fatalf("with a visualization: %+v, without: %+v", w, v)
	}
	b, err := os.ReadFile(html)
	if err != nil || !strings.Contains(string(b), "in-order check") {
		t.Fatalf("visualization: %v (%d bytes)", err, len(b))
	}
	// Deterministic: the same again.
	if u, _ := checkInOrder(regKeysModel, h); *u != *v {
		t.Fatalf("%v != %v", u, v)
	}

	// The searched partitions' violation writes one too.
	h.ops[2].Metadata = regMeta{class: OpUnknown}
	html = t.TempDir() + "/p1s.html"
	w, _ = CheckLinearizableInOrder(regKeysModel, h.ops, classifyReg, 10*time.Second, html)
	if w == nil || !strings.Contains(w.Detail, "no linearization of 2 operations") || w.Artifact != html {
		t.Fatalf("%+v", w)
	}
	if _, err := os.Stat(html); err != nil {
		t.Fatal(err)
	}
}

// The client API's model: sends with receipts are positioned by their
// place in the chain, reads and refusals are read-only.
func TestInOrderAPIModel(t *testing.T) {
	u := func(x uint64) uint256.Int { return *uint256.NewInt(x) }
	groups := []model.GroupState{
		{Nonce: []uint64{0, 0}, Balance: []uint256.Int{u(1000), u(0)}, Token: []uint256.Int{u(0), u(0)}},
		{Nonce: []uint64{3}, Balance: []uint256.Int{u(10)}, Token: []uint256.Int{u(0)}},
	}
	m := model.APIModel(groups, 4)
	// The model returns the state it was given for reads and refusals
	// (its initial marker included), as the ordered check requires.
	classify := func(op porcupine.Operation) (OpClass, uint64) {
		if op.Input.(model.APIInput).Kind == model.OpSend && op.Output.(model.APIOutput).Receipt {
			return OpPositioned, op.Metadata.(uint64)
		}
		return OpReadOnly, 0
	}
	var ops []porcupine.Operation
	add := func(call, ret int64, in model.APIInput, out model.APIOutput, pos uint64) {
		in.Describe = fmt.Sprintf("op%d", len(ops))
		ops = append(ops, porcupine.Operation{ClientId: len(ops), Input: in, Call: call, Output: out, Return: ret, Metadata: pos})
	}
	send := func(g, from, to int, nonce, value uint64) model.APIInput {
		return model.APIInput{Group: g, Kind: model.OpSend, Account: from, Send: model.SendTransfer, Nonce: nonce, To: to, Value: u(value), MaxCost: u(value + 10)}
	}
	balance := func(g, acct int) model.APIInput {
		return model.APIInput{Group: g, Kind: model.OpBalance, Account: acct}
	}
	receipt := model.APIOutput{Receipt: true, Status: 1, Fee: u(1)}
	value := func(v uint64) model.APIOutput { return model.APIOutput{Value: u(v)} }

	add(0, 1, balance(0, 0), value(1000), 0)
	add(0, 1, balance(1, 0), value(10), 0)
	add(2, 10, send(0, 0, 1, 0, 100), receipt, 1) // #0 1000 → 899, #1 0 → 100
	add(3, 20, send(0, 0, 1, 1, 100), receipt, 2) // #0 → 798, #1 → 200
	add(4, 5, balance(0, 1), value(100), 0)       // between the sends
	add(11, 12, model.APIInput{Group: 0, Kind: model.OpSend, Account: 0, Send: model.SendOther, Nonce: 0, MaxCost: u(1)},
		model.APIOutput{Refused: model.RefusedNonceTooLow}, 0)
	add(21, 22, balance(0, 0), value(798), 0)
	add(21, 22, balance(0, 1), value(200), 0)
	add(5, 6, send(1, 0, 0, 3, 0), receipt, 1) // group 1: #0 10 → 9
	add(7, 8, balance(1, 0), value(9), 0)

	v, st := CheckLinearizableInOrder(m, ops, classify, 10*time.Second, "")
	if v != nil {
		t.Fatal(v)
	}
	if st != (OrderStats{Positioned: 3, ReadOnly: 7, Partitions: 2}) {
		t.Fatalf("stats %+v", st)
	}
	if v := CheckLinearizable(m, ops, 10*time.Second, ""); v != nil {
		t.Fatal(v)
	}

	// A stale balance after the sends returned.
	ops[6].Output = value(899)
	v, _ = CheckLinearizableInOrder(m, ops, classify, 10*time.Second, "")
	if v == nil || !strings.Contains(v.Detail, "op6") {
		t.Fatalf("%v", v)
	}
	ops[6].Output = value(798)
	// Sends positioned against their nonces.
	ops[2].Metadata, ops[3].Metadata = uint64(2), uint64(1)
	v, _ = CheckLinearizableInOrder(m, ops, classify, 10*time.Second, "")
	if v == nil || !strings.Contains(v.Detail, "op3") {
		t.Fatalf("%v", v)
	}
}

// An honest concurrent execution passes both checks; a doctored one that
// the ordered check passes, porcupine passes too.
func TestInOrderAgreesWithPorcupine(t *testing.T) {
	rejected, total := 0, 0
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 12).Draw(t, "n")
		type planned struct {
			op    porcupine.Operation
			point int64
		}
		plan := make([]planned, n)
		for i := range plan {
			call := rapid.Int64Range(0, 40).Draw(t, "call")
			ret := call + rapid.Int64Range(0, 15).Draw(t, "len")
			point := rapid.Int64Range(call, ret).Draw(t, "point")
			in := regIn{Key: rapid.IntRange(0, 1).Draw(t, "key"), Kind: regRead}
			if rapid.Bool().Draw(t, "write") {
				in.Kind, in.Value = regWrite, rapid.IntRange(1, 3).Draw(t, "value")
			}
			plan[i] = planned{porcupine.Operation{ClientId: i, Input: in, Call: call, Return: ret}, point}
		}
		// Take effect in point order (index breaking ties), as the system
		// would: positions count per key.
		order := make([]int, n)
		for i := range order {
			order[i] = i
		}
		for i := 1; i < n; i++ { // insertion sort: n is small
			for j := i; j > 0 && plan[order[j]].point < plan[order[j-1]].point; j-- {
				order[j], order[j-1] = order[j-1], order[j]
			}
		}
		state := map[int]int{}
		next := map[int]uint64{}
		for _, i := range order {
			in := plan[i].op.Input.(regIn)
			if in.Kind == regWrite {
				next[in.Key]++
				state[in.Key] = in.Value
				plan[i].op.Output, plan[i].op.Metadata = regOut{}, regMeta{pos: next[in.Key] * 10}
			} else {
				plan[i].op.Output = regOut{Value: state[in.Key]}
			}
		}
		// Now and then a write whose place the system does not know: its
		// key goes to porcupine.
		for i := range plan {
			if plan[i].op.Input.(regIn).Kind == regWrite && rapid.IntRange(0, 9).Draw(t, "unknown") == 0 {
				plan[i].op.Metadata = regMeta{class: OpUnknown}
			}
		}
		ops := make([]porcupine.Operation, n)
		for i := range plan {
			ops[i] = plan[i].op
		}
		if v, _ := CheckLinearizableInOrder(regKeysModel, ops, classifyReg, 0, ""); v != nil {
			t.Fatalf("honest execution rejected: %v\n%v", v, ops)
		}
		if v := CheckLinearizable(regKeysModel, ops, 0, ""); v != nil {
			t.Fatalf("porcupine rejects the honest execution: %v", v)
		}

		// Doctor one operation.
		i := rapid.IntRange(0, n-1).Draw(t, "doctored")
		if ops[i].Input.(regIn).Kind == regRead {
			ops[i].Output = regOut{Value: rapid.IntRange(0, 3).Draw(t, "read")}
		} else {
			j := rapid.IntRange(0, n-1).Draw(t, "swap")
			if ops[j].Input.(regIn).Kind == regWrite {
				ops[i].Metadata, ops[j].Metadata = ops[j].Metadata, ops[i].Metadata
			}
		}
		v, _ := CheckLinearizableInOrder(regKeysModel, ops, classifyReg, 0, "")
		total++
		if v != nil {
			rejected++
			return
		}
		if v := CheckLinearizable(regKeysModel, ops, 0, ""); v != nil {
			t.Fatalf("the ordered check accepts what porcupine rejects: %v\n%v", v, ops)
		}
	})
	t.Logf("%d of %d doctored executions rejected by the ordered check", rejected, total)
}

// 20,000 operations over 50 keys, heavily overlapping, check in well
// under a second.
func TestInOrderLargeHistory(t *testing.T) {
	const nOps, keys = 20_000, 50
	rng := rand.New(rand.NewPCG(1, 2))
	type planned struct {
		op    porcupine.Operation
		point int64
	}
	plan := make([]planned, nOps)
	for i := range plan {
		call := rng.Int64N(100_000)
		ret := call + rng.Int64N(2000) // ~400 per key over 100,000: each overlaps ~16 of its key
		in := regIn{Key: rng.IntN(keys), Kind: regRead}
		if rng.IntN(3) == 0 {
			in.Kind, in.Value = regWrite, i+1
		}
		plan[i] = planned{porcupine.Operation{ClientId: i, Input: in, Call: call, Return: ret}, call + rng.Int64N(ret-call+1)}
	}
	order := make([]int, nOps)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := cmp.Compare(plan[a].point, plan[b].point); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	state := map[int]int{}
	next := map[int]uint64{}
	writes := 0
	for _, i := range order {
		in := plan[i].op.Input.(regIn)
		if in.Kind == regWrite {
			writes++
			next[in.Key]++
			state[in.Key] = in.Value
			plan[i].op.Output, plan[i].op.Metadata = regOut{}, regMeta{pos: next[in.Key]}
		} else {
			plan[i].op.Output = regOut{Value: state[in.Key]}
		}
	}
	ops := make([]porcupine.Operation, nOps)
	for i := range plan {
		ops[i] = plan[i].op
	}
	start := time.Now()
	v, st := CheckLinearizableInOrder(regKeysModel, ops, classifyReg, 0, "")
	took := time.Since(start)
	if v != nil {
		t.Fatal(v)
	}
	if st != (OrderStats{Positioned: writes, ReadOnly: nOps - writes, Partitions: keys}) {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("%d operations (%d writes), 50 keys: %v", nOps, writes, took)
	if took > 5*time.Second {
		t.Fatalf("took %v", took)
	}

	// A stale read somewhere in the middle is found, just as fast.
	for i := nOps / 2; i < nOps; i++ {
		in := ops[i].Input.(regIn)
		if in.Kind != regRead {
			continue
		}
		// Called after every write of its key returned: it must see the last.
		last, lastRet := -1, int64(-1)
		for j := range ops {
			if o := ops[j].Input.(regIn); o.Key == in.Key && o.Kind == regWrite && ops[j].Return > lastRet {
				last, lastRet = j, ops[j].Return
			}
		}
		if last < 0 {
			continue
		}
		ops = append(ops, porcupine.Operation{ClientId: nOps, Input: in, Call: lastRet + 1, Return: lastRet + 2, Output: regOut{Value: -1}})
		break
	}
	start = time.Now()
	v, _ = CheckLinearizableInOrder(regKeysModel, ops, classifyReg, 0, "")
	if v == nil || !strings.Contains(v.Detail, "-> -1") {
		t.Fatalf("%v", v)
	}
	t.Logf("with a wrong read: %v", time.Since(start))
}

// An OpPending operation saw the system's newest state, ahead of what
// plain reads show: a plain read after it may see the state before what
// it saw, but another OpPending operation after it may not.
func TestInOrderPendingBoundsOnlyPending(t *testing.T) {
	h := &regHistory{}
	h.write(0, 100, 0, 7, 1) // decided at once, published (returned) late
	h.read(1, 2, 0, 7)       // saw it: decided on the newest state
	h.read(3, 4, 0, 0)       // a plain read after it: the published state, before it
	h.ops[1].Metadata = regMeta{class: OpPending}
	if v, _ := checkInOrder(regModel, h); v != nil {
		t.Fatalf("a plain read after a pending one was held to it: %v", v)
	}
	// The same plain read as a pending one must see at least as much.
	h.ops[2].Metadata = regMeta{class: OpPending}
	wantInOrderRejected(t, regModel, h, "read k0 -> 0", "read-only operation [read k0 -> 7]", "placed in gap 1")
	// A plain read bounds a later pending one from below.
	h = &regHistory{}
	h.write(0, 100, 0, 7, 1)
	h.read(1, 2, 0, 7)
	h.read(3, 4, 0, 0)
	h.ops[2].Metadata = regMeta{class: OpPending}
	wantInOrderRejected(t, regModel, h, "read k0 -> 0", "placed in gap 1")
	// And a positioned operation that returned before a pending one was
	// called bounds it as it bounds a plain one.
	h = &regHistory{}
	h.write(0, 1, 0, 7, 1)
	h.read(2, 3, 0, 0)
	h.ops[1].Metadata = regMeta{class: OpPending}
	wantInOrderRejected(t, regModel, h, "read k0 -> 0", "write k0 := 7")
}
