package model

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"
)

// Tests of the P1 model: honest histories of the client API linearize, and
// each kind of wrong answer makes a history that does not. Every rejected
// history has an honest twin, differing only in the doctored answer, that
// is accepted, so that neither half passes by accident.

const apiMaxGap = 4

func apiU(x uint64) uint256.Int { return *uint256.NewInt(x) }

// apiGroups: group 0 has three accounts, group 1 two, group 2 one.
func apiGroups() []GroupState {
	return []GroupState{
		{Nonce: []uint64{0, 0, 0}, Balance: []uint256.Int{apiU(1000), apiU(1000), apiU(0)}, Token: []uint256.Int{apiU(100), apiU(0), apiU(0)}},
		{Nonce: []uint64{5, 0}, Balance: []uint256.Int{apiU(50), apiU(7)}, Token: []uint256.Int{apiU(0), apiU(9)}},
		{Nonce: []uint64{0}, Balance: []uint256.Int{apiU(1)}, Token: []uint256.Int{apiU(0)}},
	}
}

// apiHistory builds a history; each operation gets its own client unless
// one is given, and its call and return times.
type apiHistory struct{ ops []porcupine.Operation }

func (h *apiHistory) op(call, ret int64, in APIInput, out APIOutput) {
	in.Hash = common.Hash{byte(len(h.ops) + 1)}
	if in.Describe == "" {
		in.Describe = "op"
	}
	h.ops = append(h.ops, porcupine.Operation{ClientId: len(h.ops), Input: in, Call: call, Output: out, Return: ret})
}

func apiTransfer(g, from, to int, nonce, value, maxCost uint64) APIInput {
	return APIInput{Group: g, Kind: OpSend, Account: from, Send: SendTransfer, Nonce: nonce, To: to, Value: apiU(value), MaxCost: apiU(maxCost + value)}
}

func apiTokenSend(g, from, to int, nonce, amount uint64) APIInput {
	return APIInput{Group: g, Kind: OpSend, Account: from, Send: SendToken, Nonce: nonce, To: to, Amount: apiU(amount), MaxCost: apiU(100)}
}

func apiOther(g, from int, nonce, maxCost uint64) APIInput {
	return APIInput{Group: g, Kind: OpSend, Account: from, Send: SendOther, Nonce: nonce, MaxCost: apiU(maxCost)}
}

func apiRead(g int, kind OpKind, acct int) APIInput {
	return APIInput{Group: g, Kind: kind, Account: acct}
}

func apiReceipt(status, fee uint64) APIOutput {
	return APIOutput{Receipt: true, Status: status, Fee: apiU(fee)}
}
func apiRefused(r Refusal) APIOutput { return APIOutput{Refused: r} }
func apiValue(v uint64) APIOutput    { return APIOutput{Value: apiU(v)} }
func apiNonce(n uint64) APIOutput    { return APIOutput{Nonce: n} }

// check runs porcupine; a timeout fails the test rather than counting as
// either verdict.
func apiCheck(t *testing.T, ops []porcupine.Operation) bool {
	t.Helper()
	m := APIModel(apiGroups(), apiMaxGap)
	res, info := porcupine.CheckOperationsVerbose(m, ops, 10*time.Second)
	switch res {
	case porcupine.Ok:
		return true
	case porcupine.Illegal:
		// The visualization replays the model's descriptions: they must
		// not fail on a rejected history.
		if err := porcupine.Visualize(m, info, io.Discard); err != nil {
			t.Fatalf("visualization: %v", err)
		}
		return false
	}
	t.Fatalf("porcupine gave no verdict on %d operations", len(ops))
	return false
}

func apiWantLinearizable(t *testing.T, h *apiHistory) {
	t.Helper()
	if !apiCheck(t, h.ops) {
		t.Fatal("an honest history was rejected")
	}
}

func apiWantRejected(t *testing.T, h *apiHistory) {
	t.Helper()
	if apiCheck(t, h.ops) {
		t.Fatal("a doctored history was accepted")
	}
}

// honestSequential exercises every operation and refusal on group 0, one
// at a time.
func apiHonestSequential() *apiHistory {
	h := &apiHistory{}
	h.op(0, 1, apiRead(0, OpNonce, 0), apiNonce(0))
	h.op(2, 3, apiTransfer(0, 0, 1, 0, 100, 30), apiReceipt(1, 10)) // #0 1000→890, #1 1000→1100
	h.op(4, 5, apiRead(0, OpBalance, 0), apiValue(890))
	h.op(4, 5, apiRead(0, OpBalance, 1), apiValue(1100))
	h.op(6, 7, apiTokenSend(0, 0, 2, 1, 60), apiReceipt(1, 5)) // tokens #0 100→40, #2 0→60; #0 885
	h.op(8, 9, apiTokenSend(0, 0, 1, 2, 50), apiReceipt(0, 5)) // 40 < 50: reverts; #0 880
	h.op(10, 11, apiRead(0, OpToken, 0), apiValue(40))
	h.op(10, 11, apiRead(0, OpToken, 1), apiValue(0))
	h.op(10, 11, apiRead(0, OpToken, 2), apiValue(60))
	h.op(12, 13, apiRead(0, OpNonce, 0), apiNonce(3))
	h.op(12, 13, apiRead(0, OpBalance, 0), apiValue(880))
	h.op(14, 15, apiOther(0, 0, 1, 10), apiRefused(RefusedNonceTooLow))          // 1 < 3
	h.op(14, 15, apiOther(0, 0, 3+apiMaxGap+1, 10), apiRefused(RefusedNonceGap)) // beyond the gap
	h.op(14, 15, apiOther(0, 2, 0, 1), apiRefused(RefusedInsufficientFunds))     // #2 holds 0
	h.op(14, 15, apiOther(0, 1, 0, 2000), apiRefused(RefusedInsufficientFunds))  // #1 holds 1100
	h.op(14, 15, apiTransfer(0, 1, 0, 0, 5, 30), apiRefused(RefusedStateless))   // e.g. a bad signature
	h.op(16, 17, apiOther(0, 1, 0, 50), apiReceipt(0, 7))                        // a reverted call: fee and nonce only
	h.op(18, 19, apiRead(0, OpNonce, 1), apiNonce(1))
	h.op(18, 19, apiRead(0, OpBalance, 1), apiValue(1093))
	h.op(20, 21, apiTransfer(0, 2, 0, 0, 1, 0), apiRefused(RefusedInsufficientFunds)) // still 0
	h.op(22, 23, apiTransfer(0, 1, 2, 1, 93, 0), apiReceipt(1, 0))                    // a fee of 0 is possible
	h.op(24, 25, apiRead(0, OpBalance, 2), apiValue(93))
	return h
}

func TestAPIModelAcceptsAnHonestHistory(t *testing.T) {
	apiWantLinearizable(t, apiHonestSequential())
}

// Each doctored history is the honest one with one answer changed, and is
// rejected; the same history with the honest answer is accepted.
func TestAPIModelRejectsWrongAnswers(t *testing.T) {
	cases := map[string]struct {
		op     int // in honestSequential
		honest APIOutput
		wrong  APIOutput
	}{
		"a stale balance after a completed send":     {2, apiValue(890), apiValue(1000)},
		"a recipient's stale balance":                {3, apiValue(1100), apiValue(1000)},
		"a stale nonce after completed sends":        {9, apiNonce(3), apiNonce(2)},
		"a token transfer beyond the balance paid":   {5, apiReceipt(0, 5), apiReceipt(1, 5)},
		"a token transfer within the balance failed": {4, apiReceipt(1, 5), apiReceipt(0, 5)},
		"a value transfer that failed":               {1, apiReceipt(1, 10), apiReceipt(0, 10)},
		"a fee charged twice":                        {10, apiValue(880), apiValue(870)},
		"a status that is no status":                 {16, apiReceipt(0, 7), apiReceipt(2, 7)},
		"a token balance that missed a transfer":     {6, apiValue(40), apiValue(100)},
		"tokens moved by a reverted transfer":        {7, apiValue(0), apiValue(50)},
		"a stale nonce of the second sender":         {17, apiNonce(1), apiNonce(0)},
		"a refusal with no reason":                   {11, apiRefused(RefusedNonceTooLow), apiRefused(RefusedNone)},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			h := apiHonestSequential()
			if h.ops[c.op].Output != any(c.honest) {
				t.Fatalf("operation %d answered %+v, the case expects %+v", c.op, h.ops[c.op].Output, c.honest)
			}
			apiWantLinearizable(t, h)
			h.ops[c.op].Output = c.wrong
			apiWantRejected(t, h)
		})
	}
}

// A receipt for a nonce already used is impossible.
func TestAPIModelRejectsAReusedNonce(t *testing.T) {
	for _, second := range []uint64{1, 0} {
		h := &apiHistory{}
		h.op(0, 1, apiTransfer(0, 0, 1, 0, 100, 0), apiReceipt(1, 0))
		h.op(2, 3, apiTransfer(0, 0, 1, second, 100, 0), apiReceipt(1, 0))
		if second == 1 {
			apiWantLinearizable(t, h)
		} else {
			apiWantRejected(t, h)
		}
	}
	// Nor is a receipt for a future nonce.
	h := &apiHistory{}
	h.op(0, 1, apiTransfer(0, 0, 1, 1, 100, 0), apiReceipt(1, 0))
	apiWantRejected(t, h)
}

// NonceTooLow is only legal for a nonce below the account's.
func TestAPIModelNonceTooLow(t *testing.T) {
	h := &apiHistory{}
	h.op(0, 1, apiOther(0, 0, 0, 10), apiRefused(RefusedNonceTooLow)) // the nonce was current
	apiWantRejected(t, h)

	h = &apiHistory{}
	h.op(0, 1, apiOther(0, 0, 0, 10), apiReceipt(1, 1))
	h.op(2, 3, apiOther(0, 0, 0, 10), apiRefused(RefusedNonceTooLow)) // now it is used
	apiWantLinearizable(t, h)

	// Group 1's account #0 starts at nonce 5: 4 is too low, 5 is not.
	h = &apiHistory{}
	h.op(0, 1, apiOther(1, 0, 4, 10), apiRefused(RefusedNonceTooLow))
	apiWantLinearizable(t, h)
	h.op(2, 3, apiOther(1, 0, 5, 10), apiRefused(RefusedNonceTooLow))
	apiWantRejected(t, h)
}

// NonceGap is legal only beyond maxGap above the account's nonce.
func TestAPIModelNonceGap(t *testing.T) {
	for n, legal := range map[uint64]bool{apiMaxGap + 1: true, apiMaxGap + 10: true, apiMaxGap: false, 1: false, 0: false} {
		h := &apiHistory{}
		h.op(0, 1, apiOther(0, 0, n, 10), apiRefused(RefusedNonceGap))
		if legal {
			apiWantLinearizable(t, h)
		} else {
			apiWantRejected(t, h)
		}
	}
}

// InsufficientFunds is legal only when the balance is below MaxCost.
func TestAPIModelInsufficientFunds(t *testing.T) {
	for maxCost, legal := range map[uint64]bool{1001: true, 1000: false, 999: false, 0: false} {
		h := &apiHistory{}
		h.op(0, 1, apiOther(0, 0, 0, maxCost), apiRefused(RefusedInsufficientFunds))
		if legal {
			apiWantLinearizable(t, h)
		} else {
			apiWantRejected(t, h)
		}
	}
	// After a send spent part of it, the same MaxCost no longer fits.
	h := &apiHistory{}
	h.op(0, 1, apiTransfer(0, 0, 1, 0, 100, 0), apiReceipt(1, 0))
	h.op(2, 3, apiOther(0, 0, 1, 1000), apiRefused(RefusedInsufficientFunds))
	apiWantLinearizable(t, h)
	// A fee beyond the balance cannot have been paid.
	h = &apiHistory{}
	h.op(0, 1, apiOther(0, 2, 0, 5), apiReceipt(1, 2))
	apiWantRejected(t, h)
}

// Operations that overlap in time may take effect in any order within
// their intervals; the checker must find the one that works.
func TestAPIModelConcurrentOverlap(t *testing.T) {
	// A send overlapping two reads of the recipient: one read saw the
	// state before it, the other after.
	h := &apiHistory{}
	h.op(0, 10, apiTransfer(0, 0, 1, 0, 100, 0), apiReceipt(1, 0))
	h.op(1, 3, apiRead(0, OpBalance, 1), apiValue(1000))
	h.op(2, 4, apiRead(0, OpBalance, 1), apiValue(1100))
	apiWantLinearizable(t, h)
	// The read that saw the old balance starting after the new one was
	// seen is impossible.
	h.ops[1].Call, h.ops[1].Return = 5, 6
	apiWantRejected(t, h)

	// Two sends of one account whose answers came back out of nonce
	// order: fine while they overlap.
	h = &apiHistory{}
	h.op(0, 5, apiTransfer(0, 0, 1, 1, 10, 0), apiReceipt(1, 0))
	h.op(1, 6, apiTransfer(0, 0, 1, 0, 10, 0), apiReceipt(1, 0))
	h.op(7, 8, apiRead(0, OpNonce, 0), apiNonce(2))
	apiWantLinearizable(t, h)
	h.ops[0].Call, h.ops[0].Return = 0, 0 // nonce 1 done before nonce 0 was sent
	apiWantRejected(t, h)

	// Token transfers between senders: #1 can only pay #2 after #0 paid #1.
	h = &apiHistory{}
	h.op(0, 4, apiTokenSend(0, 0, 1, 0, 60), apiReceipt(1, 0))
	h.op(2, 6, apiTokenSend(0, 1, 2, 0, 50), apiReceipt(1, 0))
	h.op(7, 8, apiRead(0, OpToken, 1), apiValue(10))
	apiWantLinearizable(t, h)
	h.ops[1].Call, h.ops[1].Return = 0, 1
	h.ops[0].Call, h.ops[0].Return = 2, 4
	apiWantRejected(t, h)
	h.ops[1].Output = apiReceipt(0, 0) // it reverted, as it must have
	h.ops[2].Output = apiValue(60)
	apiWantLinearizable(t, h)
}

// Group 1 wrong, group 0 right: the partitioned check still fails.
func TestAPIModelOneWrongGroupFailsTheHistory(t *testing.T) {
	build := func(g1read uint64) *apiHistory {
		h := apiHonestSequential()
		base := int64(100)
		h.op(base, base+1, apiTransfer(1, 1, 0, 0, 5, 1), apiReceipt(1, 1)) // group 1 #1: 7 → 1, #0: 50 → 55
		h.op(base+2, base+3, apiRead(1, OpBalance, 0), apiValue(g1read))
		h.op(base+2, base+3, apiRead(1, OpNonce, 0), apiNonce(5))
		h.op(base+2, base+3, apiRead(2, OpBalance, 0), apiValue(1))
		return h
	}
	apiWantLinearizable(t, build(55))
	apiWantRejected(t, build(50))

	// Group 0 wrong, the other groups right.
	h := build(55)
	h.ops[2].Output = apiValue(1000)
	apiWantRejected(t, h)
}

// Each group starts from its own initial state.
func TestAPIModelGroupsStartFromTheirOwnState(t *testing.T) {
	h := &apiHistory{}
	h.op(0, 1, apiRead(1, OpBalance, 1), apiValue(7))
	h.op(0, 1, apiRead(1, OpToken, 1), apiValue(9))
	h.op(0, 1, apiRead(1, OpNonce, 0), apiNonce(5))
	h.op(0, 1, apiRead(2, OpBalance, 0), apiValue(1))
	apiWantLinearizable(t, h)
	h.ops[0].Output = apiValue(1000) // group 0's account #1
	apiWantRejected(t, h)
}

func TestAPIModelPartitionsByGroup(t *testing.T) {
	m := APIModel(apiGroups(), apiMaxGap)
	h := &apiHistory{}
	for i := range 9 {
		g := []int{0, 2, 0, 1, 2, 0, 1, 0, 2}[i]
		h.op(int64(i), int64(i), apiRead(g, OpNonce, 0), apiNonce(0))
	}
	parts := m.Partition(h.ops)
	if len(parts) != 3 {
		t.Fatalf("%d partitions, want 3", len(parts))
	}
	seen := map[int]bool{}
	total := 0
	for _, p := range parts {
		g := p[0].Input.(APIInput).Group
		if seen[g] {
			t.Fatalf("group %d split over two partitions", g)
		}
		seen[g] = true
		for i, op := range p {
			if op.Input.(APIInput).Group != g {
				t.Fatalf("partition of group %d holds an operation of group %d", g, op.Input.(APIInput).Group)
			}
			if i > 0 && op.Call < p[i-1].Call {
				t.Fatalf("partition of group %d reorders the history", g)
			}
		}
		total += len(p)
	}
	if total != len(h.ops) {
		t.Fatalf("partitions hold %d operations, the history %d", total, len(h.ops))
	}

	// A group with no operations gets no partition.
	only := []porcupine.Operation{h.ops[0], h.ops[1], h.ops[2]} // groups 0, 2, 0
	if parts := m.Partition(only); len(parts) != 2 || len(parts[0]) != 2 || len(parts[1]) != 1 {
		t.Fatalf("partitions of groups 0 and 2: %v", parts)
	}
	if parts := m.Partition(nil); len(parts) != 0 {
		t.Fatalf("an empty history has %d partitions", len(parts))
	}
}

func TestAPIModelDescriptions(t *testing.T) {
	m := APIModel(apiGroups(), apiMaxGap)
	in := apiTransfer(0, 0, 1, 0, 100, 0)
	in.Describe = "send #0→#1"
	if d := m.DescribeOperation(in, apiReceipt(1, 21)); !strings.Contains(d, "send #0→#1") || !strings.Contains(d, "status 1") || !strings.Contains(d, "21") {
		t.Fatalf("description %q", d)
	}
	if d := m.DescribeOperation(in, apiRefused(RefusedNonceGap)); !strings.Contains(d, "refused") {
		t.Fatalf("description %q", d)
	}
	if d := m.DescribeState(m.Init()); d != "initial" {
		t.Fatalf("initial state described as %q", d)
	}
	ok, next := m.Step(m.Init(), in, apiReceipt(1, 0))
	if !ok {
		t.Fatal("a valid first send refused")
	}
	if d := m.DescribeState(next); !strings.Contains(d, "#0 nonce 1 balance 900") || !strings.Contains(d, "#1 nonce 0 balance 1100") {
		t.Fatalf("state after a send described as %q", d)
	}
	// Steps do not change the state they start from.
	ok, again := m.Step(next, apiTransfer(0, 0, 1, 1, 100, 0), apiReceipt(1, 0))
	if !ok || m.Equal(next, again) || m.DescribeState(next) != "#0 nonce 1 balance 900 token 100; #1 nonce 0 balance 1100 token 0; #2 nonce 0 balance 0 token 0; " {
		t.Fatalf("a step changed its starting state: %q", m.DescribeState(next))
	}
	// And the initial states are not changed by a partition's steps; a
	// read or a refusal returns the state it was given (the ordered
	// check of P1 compares them).
	if !m.Equal(apiMustStep(t, m, m.Init(), apiRead(0, OpNonce, 0), apiNonce(0)), m.Init()) {
		t.Fatal("a read changed the initial state")
	}
	if !m.Equal(apiMustStep(t, m, next, apiRead(0, OpNonce, 0), apiNonce(1)), next) {
		t.Fatal("a read changed the state")
	}
	if !m.Equal(apiMustStep(t, m, next, apiTransfer(0, 0, 1, 0, 100, 0), apiRefused(RefusedNonceTooLow)), next) {
		t.Fatal("a refusal changed the state")
	}
}

func apiMustStep(t *testing.T, m porcupine.Model, s any, in APIInput, out APIOutput) any {
	t.Helper()
	ok, next := m.Step(s, in, out)
	if !ok {
		t.Fatalf("step %+v → %+v refused", in, out)
	}
	return next
}
