package state

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"
	"github.com/meganode/meganode/node/chain"
	"pgregory.net/rapid"
)

// The domain genDiff draws from, plus one address and slot it never uses.
var (
	histAddrs = func() []common.Address {
		var out []common.Address
		for a := range 9 {
			out = append(out, common.BigToAddress(big.NewInt(int64(a+1))))
		}
		return out
	}()
	histSlots = func() []common.Hash {
		var out []common.Hash
		for s := range 7 {
			out = append(out, common.BigToHash(big.NewInt(int64(s))))
		}
		return out
	}()
	histCodes = func() []common.Hash {
		out := []common.Hash{types.EmptyCodeHash, {0xde, 0xad}}
		for c := range 4 {
			out = append(out, crypto.Keccak256Hash([]byte{0x60, byte(c)}))
		}
		return out
	}()
)

// readerDifference compares r with want over the whole domain genDiff draws
// from and describes the first difference, or returns "".
func readerDifference(r Reader, want *Mem) string {
	for _, addr := range histAddrs {
		ga, gok := r.Account(addr)
		wa, wok := want.Account(addr)
		if gok != wok || ga != wa {
			return fmt.Sprintf("account %v: got %+v (exists %v), want %+v (exists %v)", addr, ga, gok, wa, wok)
		}
		for _, k := range histSlots {
			if g, w := r.Storage(addr, k), want.Storage(addr, k); g != w {
				return fmt.Sprintf("account %v slot %v: got %v, want %v", addr, k, g, w)
			}
		}
	}
	for _, c := range histCodes {
		if g, w := r.Code(c), want.Code(c); string(g) != string(w) || (g == nil) != (w == nil) {
			return fmt.Sprintf("code %v: got %x, want %x", c, g, w)
		}
	}
	return ""
}

// TestHistoryMatchesCopies applies random diffs through a History with a
// small window, keeps a full copy of the state after every height, and
// checks every readable height (and views taken earlier) against the copies.
func TestHistoryMatchesCopies(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		live := New()
		for range rapid.IntRange(0, 2).Draw(t, "pre") {
			if err := live.Apply(genDiff().Draw(t, "pre diff")); err != nil {
				t.Fatal(err)
			}
		}
		start := rapid.Uint64Range(0, 3).Draw(t, "start")
		window := rapid.IntRange(1, 5).Draw(t, "window")
		h := NewHistory(live, start, window)
		copies := map[uint64]*Mem{start: live.clone()}
		type held struct {
			height uint64
			r      *View
		}
		var views []held
		steps := rapid.IntRange(1, 12).Draw(t, "steps")
		for n := start + 1; n <= start+uint64(steps); n++ {
			if err := h.Apply(n, genDiff().Draw(t, "diff")); err != nil {
				t.Fatal(err)
			}
			copies[n] = live.clone()
			if h.Height() != n || h.State() != live {
				t.Fatalf("height %d, state %p; want %d, %p", h.Height(), h.State(), n, live)
			}
			wantOldest := start
			if n+1 > uint64(window) && n+1-uint64(window) > start {
				wantOldest = n + 1 - uint64(window)
			}
			if h.Oldest() != wantOldest {
				t.Fatalf("after height %d with window %d from %d: oldest %d, want %d", n, window, start, h.Oldest(), wantOldest)
			}
			for x := h.Oldest(); x <= n; x++ {
				r, err := h.At(x)
				if err != nil {
					t.Fatalf("At(%d) with heights %d..%d: %v", x, h.Oldest(), n, err)
				}
				if d := readerDifference(r, copies[x]); d != "" {
					t.Fatalf("At(%d) at head %d, window %d: %s", x, n, window, d)
				}
				if rapid.IntRange(0, 3).Draw(t, "hold") == 0 {
					views = append(views, held{x, r})
				}
			}
			// Views taken before this Apply still read their height, or
			// answer zero and say they were pruned.
			kept := views[:0]
			for _, v := range views {
				if v.height < h.Oldest() {
					mustFail(t, "pruned", v.r, func() { v.r.Account(histAddrs[0]) })
					continue
				}
				if d := readerDifference(v.r, copies[v.height]); d != "" {
					t.Fatalf("view at %d read at head %d: %s", v.height, n, d)
				}
				kept = append(kept, v)
			}
			views = kept
			if o := h.Oldest(); o > 0 {
				if _, err := h.At(o - 1); !errors.Is(err, ErrPruned) {
					t.Fatalf("At(%d) below oldest %d: got %v, want ErrPruned", o-1, o, err)
				}
			}
			if _, err := h.At(n + 1); !errors.Is(err, ErrFuture) {
				t.Fatalf("At(%d) above head: got %v, want ErrFuture", n+1, err)
			}
		}
		// The indexes hold nothing older than the window.
		for addr, l := range h.accounts { // checking each: order cannot leak
			if l[0].height <= h.Oldest() {
				t.Fatalf("account %v keeps a record of height %d, oldest readable %d", addr, l[0].height, h.Oldest())
			}
		}
		for id, l := range h.slots { // checking each: order cannot leak
			if l[0].height <= h.Oldest() {
				t.Fatalf("slot %v keeps a record of height %d, oldest readable %d", id, l[0].height, h.Oldest())
			}
		}
		for addr, l := range h.wipes { // checking each: order cannot leak
			if l[0].height <= h.Oldest() {
				t.Fatalf("account %v keeps a wipe of height %d, oldest readable %d", addr, l[0].height, h.Oldest())
			}
		}
		if len(h.steps) != int(h.Height()-h.Oldest()) {
			t.Fatalf("%d steps kept for heights %d..%d", len(h.steps), h.Oldest(), h.Height())
		}
	})
}

// mustFail runs a read on v and requires v's Err to say want afterwards.
func mustFail(t interface{ Fatalf(string, ...any) }, want string, v *View, read func()) {
	read()
	if err := v.Err(); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("after the read, Err is %v; want one saying %q", err, want)
	}
}

var (
	hA = common.Address{0xa}
	hB = common.Address{0xb}
	k1 = common.Hash{1}
	k2 = common.Hash{2}
	k3 = common.Hash{3}
	v1 = common.Hash{31: 1}
	v2 = common.Hash{31: 2}
	v3 = common.Hash{31: 3}
)

func slots(kv ...common.Hash) []chain.Slot {
	var out []chain.Slot
	for i := 0; i < len(kv); i += 2 {
		out = append(out, chain.Slot{Key: kv[i], Value: kv[i+1]})
	}
	return out
}

func diff(ads ...chain.AccountDiff) *chain.Diff { return &chain.Diff{Accounts: ads} }

// histCase applies diffs as heights 1, 2, ... over a state holding accounts
// A (nonce 1, balance 10, slots 1 and 2) and B, with a window covering them
// all, and returns the history.
func histCase(t *testing.T, diffs ...*chain.Diff) *History {
	t.Helper()
	m := New()
	if err := m.Apply(diff(
		chain.AccountDiff{Address: hA, Flags: chain.SetNonce | chain.SetBalance, Nonce: 1, Balance: *uint256.NewInt(10), Storage: slots(k1, v1, k2, v2)},
		chain.AccountDiff{Address: hB, Flags: chain.SetNonce, Nonce: 7},
	)); err != nil {
		t.Fatal(err)
	}
	h := NewHistory(m, 0, len(diffs)+1)
	for i, d := range diffs {
		if err := h.Apply(uint64(i+1), d); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func at(t *testing.T, h *History, height uint64) *View {
	t.Helper()
	r, err := h.At(height)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func wantSlots(t *testing.T, r Reader, addr common.Address, kv ...common.Hash) {
	t.Helper()
	for i := 0; i < len(kv); i += 2 {
		if got := r.Storage(addr, kv[i]); got != kv[i+1] {
			t.Errorf("%v slot %v = %v, want %v", addr, kv[i], got, kv[i+1])
		}
	}
}

func wantAccount(t *testing.T, r Reader, addr common.Address, exists bool, nonce, balance uint64) {
	t.Helper()
	a, ok := r.Account(addr)
	if ok != exists || a.Nonce != nonce || a.Balance.Uint64() != balance {
		t.Errorf("%v: exists %v nonce %d balance %v, want exists %v nonce %d balance %d", addr, ok, a.Nonce, &a.Balance, exists, nonce, balance)
	}
}

func TestHistoryResetWipesStorage(t *testing.T) {
	h := histCase(t,
		diff(chain.AccountDiff{Address: hA, Flags: chain.Reset | chain.SetBalance, Balance: *uint256.NewInt(3), Storage: slots(k3, v3)}),
		diff(chain.AccountDiff{Address: hA, Storage: slots(k1, v3)}),
	)
	r0, r1, r2 := at(t, h, 0), at(t, h, 1), at(t, h, 2)
	wantAccount(t, r0, hA, true, 1, 10)
	wantSlots(t, r0, hA, k1, v1, k2, v2, k3, common.Hash{})
	wantAccount(t, r1, hA, true, 0, 3)
	wantSlots(t, r1, hA, k1, common.Hash{}, k2, common.Hash{}, k3, v3)
	wantAccount(t, r2, hA, true, 0, 3)
	wantSlots(t, r2, hA, k1, v3, k2, common.Hash{}, k3, v3)
	wantAccount(t, r0, hB, true, 7, 0) // untouched: read through to the live state
}

func TestHistoryDeletion(t *testing.T) {
	h := histCase(t,
		diff(chain.AccountDiff{Address: hA, Flags: chain.Deleted}),
		diff(chain.AccountDiff{Address: hB, Flags: chain.SetBalance, Balance: *uint256.NewInt(1)}),
	)
	for x, want := range map[uint64]bool{0: true, 1: false, 2: false} { // independent checks: order cannot leak
		r := at(t, h, x)
		if want {
			wantAccount(t, r, hA, true, 1, 10)
			wantSlots(t, r, hA, k1, v1, k2, v2)
		} else {
			wantAccount(t, r, hA, false, 0, 0)
			wantSlots(t, r, hA, k1, common.Hash{}, k2, common.Hash{})
		}
	}
	wantAccount(t, at(t, h, 1), hB, true, 7, 0)
	wantAccount(t, at(t, h, 2), hB, true, 7, 1)
}

func TestHistoryReCreation(t *testing.T) {
	h := histCase(t,
		diff(chain.AccountDiff{Address: hA, Flags: chain.Deleted}),
		// Created again without Reset: it did not exist.
		diff(chain.AccountDiff{Address: hA, Flags: chain.SetNonce, Nonce: 5, Storage: slots(k2, v3)}),
		diff(chain.AccountDiff{Address: hA, Storage: slots(k1, v2, k2, common.Hash{})}),
		diff(chain.AccountDiff{Address: hB, Flags: chain.SetNonce, Nonce: 8}),
	)
	wantAccount(t, at(t, h, 0), hA, true, 1, 10)
	wantSlots(t, at(t, h, 0), hA, k1, v1, k2, v2)
	wantAccount(t, at(t, h, 1), hA, false, 0, 0)
	wantSlots(t, at(t, h, 1), hA, k1, common.Hash{}, k2, common.Hash{})
	wantAccount(t, at(t, h, 2), hA, true, 5, 0)
	wantSlots(t, at(t, h, 2), hA, k1, common.Hash{}, k2, v3)
	for _, x := range []uint64{3, 4} {
		wantAccount(t, at(t, h, x), hA, true, 5, 0)
		wantSlots(t, at(t, h, x), hA, k1, v2, k2, common.Hash{})
	}
}

func TestHistorySlotClearedThenSet(t *testing.T) {
	h := histCase(t,
		diff(chain.AccountDiff{Address: hA, Storage: slots(k1, common.Hash{})}),
		diff(chain.AccountDiff{Address: hA, Storage: slots(k3, v1)}), // another slot only
		diff(chain.AccountDiff{Address: hA, Storage: slots(k1, v3)}),
		diff(chain.AccountDiff{Address: hA, Storage: slots(k1, v3)}), // rewritten unchanged
	)
	for x, want := range []common.Hash{v1, {}, {}, v3, v3} {
		wantSlots(t, at(t, h, uint64(x)), hA, k1, want, k2, v2)
	}
	wantSlots(t, at(t, h, 1), hA, k3, common.Hash{})
	wantSlots(t, at(t, h, 2), hA, k3, v1)
}

func TestHistoryCode(t *testing.T) {
	code := []byte{0x60, 0x01, 0x60, 0x02}
	hash := crypto.Keccak256Hash(code)
	h := histCase(t,
		diff(chain.AccountDiff{Address: hB, Flags: chain.SetCode, Code: code}),
		diff(chain.AccountDiff{Address: hB, Flags: chain.SetCode, Code: []byte{}}),
	)
	if c := at(t, h, 0).Code(hash); c != nil {
		t.Errorf("code at 0: %x, want none", c)
	}
	for _, x := range []uint64{1, 2} {
		if c := at(t, h, x).Code(hash); string(c) != string(code) {
			t.Errorf("code at %d: %x, want %x", x, c, code)
		}
	}
	if a, _ := at(t, h, 1).Account(hB); a.CodeHash != hash {
		t.Errorf("code hash at 1: %v", a.CodeHash)
	}
	if a, _ := at(t, h, 2).Account(hB); a.CodeHash != types.EmptyCodeHash {
		t.Errorf("code hash at 2: %v", a.CodeHash)
	}
	// Once the height that stored it is out of the window, the code is there
	// at every readable height.
	h = histCase(t, diff(chain.AccountDiff{Address: hB, Flags: chain.SetCode, Code: code}))
	h.window = 1
	if err := h.Apply(2, diff()); err != nil {
		t.Fatal(err)
	}
	if len(h.codes) != 0 || string(at(t, h, 2).Code(hash)) != string(code) {
		t.Fatalf("codes index %v after pruning", h.codes)
	}
}

func TestHistoryErrors(t *testing.T) {
	m := New()
	h := NewHistory(m, 10, 3)
	if h.Oldest() != 10 || h.Height() != 10 {
		t.Fatalf("new history: heights %d..%d", h.Oldest(), h.Height())
	}
	if err := h.Apply(12, diff()); err == nil {
		t.Fatal("applied height 12 after 10")
	}
	bad := diff(chain.AccountDiff{Address: hB}, chain.AccountDiff{Address: hA})
	if err := h.Apply(11, bad); !errors.Is(err, chain.ErrInvalidPayload) {
		t.Fatalf("non-canonical diff: got %v", err)
	}
	if h.Height() != 10 || len(h.accounts) != 0 || m.version != 0 {
		t.Fatal("a refused diff changed the history")
	}
	for n := uint64(11); n <= 15; n++ {
		if err := h.Apply(n, diff(chain.AccountDiff{Address: hA, Flags: chain.SetNonce, Nonce: n})); err != nil {
			t.Fatal(err)
		}
	}
	if h.Oldest() != 13 {
		t.Fatalf("oldest %d, want 13", h.Oldest())
	}
	_, err := h.At(12)
	if !errors.Is(err, ErrPruned) || !strings.Contains(err.Error(), "height 12") || !strings.Contains(err.Error(), "window 3") {
		t.Fatalf("At(12): %v", err)
	}
	if _, err := h.At(16); !errors.Is(err, ErrFuture) || !strings.Contains(err.Error(), "height 16") {
		t.Fatalf("At(16): %v", err)
	}
	old := at(t, h, 13)
	if err := h.Apply(16, diff()); err != nil {
		t.Fatal(err)
	}
	if old.Err() != nil {
		t.Fatalf("Err before any read of the pruned height: %v", old.Err())
	}
	mustFail(t, "view at height 13 was pruned while it was read", old, func() {
		if v := old.Storage(hA, k1); v != (common.Hash{}) {
			t.Fatalf("a pruned view read %v", v)
		}
	})

	// A change behind History's back is refused, not read wrong.
	r := at(t, h, 15)
	if err := m.Apply(diff(chain.AccountDiff{Address: hA, Flags: chain.SetNonce, Nonce: 99})); err != nil {
		t.Fatal(err)
	}
	if err := h.Apply(17, diff()); err == nil || !strings.Contains(err.Error(), "outside History") {
		t.Fatalf("Apply after an outside change: %v", err)
	}
	if _, err := h.At(16); err == nil {
		t.Fatal("At after an outside change")
	}
	mustFail(t, "changed outside History", r, func() { r.Account(hA) })
}

func TestHistoryWindowOne(t *testing.T) {
	h := NewHistory(New(), 0, 0) // counts as 1
	for n := uint64(1); n <= 3; n++ {
		if err := h.Apply(n, diff(chain.AccountDiff{Address: hA, Flags: chain.SetNonce, Nonce: n, Storage: slots(k1, common.Hash{31: byte(n)})})); err != nil {
			t.Fatal(err)
		}
		if h.Oldest() != n || len(h.steps) != 0 || len(h.accounts) != 0 || len(h.slots) != 0 {
			t.Fatalf("window 1 keeps heights %d..%d and %d steps", h.Oldest(), h.Height(), len(h.steps))
		}
		wantAccount(t, at(t, h, n), hA, true, n, 0)
	}
}
