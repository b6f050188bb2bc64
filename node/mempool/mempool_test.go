package mempool

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"pgregory.net/rapid"
)

var (
	chainID = big.NewInt(424242)
	signer  = types.LatestSignerForChainID(chainID)
	keys    = makeKeys(6)
	addrs   = addresses(keys)
	t0      = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	sink    = common.HexToAddress("0x000000000000000000000000000000000000dead")
)

// makeKeys derives n keys from fixed seeds, so that every run signs the
// same transactions.
func makeKeys(n int) []*ecdsa.PrivateKey {
	out := make([]*ecdsa.PrivateKey, n)
	for i := range out {
		seed := make([]byte, 32)
		seed[0], seed[31] = 0x5e, byte(i+1)
		k, err := crypto.ToECDSA(seed)
		if err != nil {
			panic(err)
		}
		out[i] = k
	}
	return out
}

func addresses(ks []*ecdsa.PrivateKey) []common.Address {
	out := make([]common.Address, len(ks))
	for i, k := range ks {
		out[i] = crypto.PubkeyToAddress(k.PublicKey)
	}
	return out
}

// signTx signs a dynamic-fee transfer from sender s; value tells apart
// transactions with the same nonce and fees.
func signTx(s int, nonce, feeCap, tip, value uint64) *types.Transaction {
	tx, err := types.SignNewTx(keys[s], signer, &types.DynamicFeeTx{
		ChainID:   chainID,
		Nonce:     nonce,
		GasTipCap: new(big.Int).SetUint64(tip),
		GasFeeCap: new(big.Int).SetUint64(feeCap),
		Gas:       21000,
		To:        &sink,
		Value:     new(big.Int).SetUint64(value),
	})
	if err != nil {
		panic(err)
	}
	return tx
}

func tx(s int, nonce, feeCap, tip uint64) *types.Transaction { return signTx(s, nonce, feeCap, tip, 0) }

// mustAdd adds and fails the test on a refusal.
func mustAdd(t *testing.T, p *Pool, s int, tx *types.Transaction, stateNonce uint64, now time.Time) *Entry {
	t.Helper()
	replaced, err := p.Add(tx, addrs[s], stateNonce, now)
	if err != nil {
		t.Fatalf("Add(sender %d, nonce %d): %v", s, tx.Nonce(), err)
	}
	if err := p.Check(); err != nil {
		t.Fatalf("after Add: %v", err)
	}
	e := p.Get(tx.Hash())
	if e == nil {
		t.Fatalf("Add(sender %d, nonce %d): not held afterwards", s, tx.Nonce())
	}
	return replaced
}

// pops pops until nil and returns "sender/nonce" of each, checking the
// pool's invariants after each.
func pops(t *testing.T, p *Pool, baseFee int64) []string {
	t.Helper()
	var out []string
	for {
		e := p.Pop(big.NewInt(baseFee))
		if err := p.Check(); err != nil {
			t.Fatalf("after Pop: %v", err)
		}
		if e == nil {
			return out
		}
		out = append(out, label(e))
	}
}

func label(e *Entry) string {
	return fmt.Sprintf("%d/%d", slices.Index(addrs, e.From), e.Tx.Nonce())
}

func labels(es []*Entry) []string {
	out := []string{}
	for _, e := range es {
		out = append(out, label(e))
	}
	return out
}

func TestAddHoldsAndGetFinds(t *testing.T) {
	p := New(Config{})
	if got := p.Config(); got != DefaultConfig() {
		t.Fatalf("zero config became %+v, want the defaults %+v", got, DefaultConfig())
	}
	a, b := tx(0, 0, 100, 2), tx(1, 5, 100, 2)
	mustAdd(t, p, 0, a, 0, t0)
	mustAdd(t, p, 1, b, 5, t0.Add(time.Second))
	if p.Len() != 2 {
		t.Fatalf("Len = %d, want 2", p.Len())
	}
	e := p.Get(b.Hash())
	if e.Tx != b || e.From != addrs[1] || e.Arrival != 2 || !e.Added.Equal(t0.Add(time.Second)) {
		t.Fatalf("entry = %+v, want tx b from sender 1, Arrival 2, Added t0+1s", e)
	}
	if p.Get(tx(0, 1, 100, 2).Hash()) != nil {
		t.Fatal("Get found a transaction never added")
	}
	if n, ok := p.Nonce(addrs[1]); !ok || n != 5 {
		t.Fatalf("Nonce(sender 1) = %d, %v; want the state nonce 5", n, ok)
	}
	if got := p.Executable(big.NewInt(0)); got != 2 {
		t.Fatalf("Executable = %d, want 2", got)
	}
}

func TestAddRefusals(t *testing.T) {
	cfg := Config{MaxTotal: 4, MaxPerAccount: 2, MaxGap: 3, PriceBump: 10}
	held := []struct {
		s     int
		tx    *types.Transaction
		state uint64
	}{
		{0, tx(0, 5, 100, 10), 5},
		{0, tx(0, 6, 100, 10), 5},
		{1, tx(1, 0, 100, 10), 0},
		{2, tx(2, 0, 100, 10), 0},
	}
	cases := []struct {
		name    string
		s       int
		tx      *types.Transaction
		state   uint64
		full    bool // fill the pool first
		want    error
		also    error
		text    string
		nonceIn string
	}{
		{"same hash", 0, held[0].tx, 5, false, ErrAlreadyKnown, nil, "already known", "nonce 5"},
		{"nonce below state", 3, tx(3, 2, 100, 10), 3, false, ErrNonceTooLow, core.ErrNonceTooLow, "nonce too low", "tx: 2"},
		{"nonce below the pool's record", 0, tx(0, 4, 100, 10), 4, false, ErrNonceTooLow, core.ErrNonceTooLow, "nonce too low", "tx: 4"},
		{"gap beyond MaxGap", 3, tx(3, 4, 100, 10), 0, false, ErrNonceGap, core.ErrNonceTooHigh, "nonce too high: gap beyond the pool's limit", "tx: 4"},
		{"replacement underpriced", 1, tx(1, 0, 105, 11), 0, false, ErrReplaceUnderpriced, nil, "replacement transaction underpriced", "nonce 0"},
		{"account limit", 0, tx(0, 7, 100, 10), 5, false, ErrAccountLimit, nil, "account limit exceeded", "nonce 7"},
		{"pool full", 3, tx(3, 0, 100, 10), 0, true, ErrPoolFull, nil, "txpool is full", "nonce 0"},
	}
	all := []error{ErrAlreadyKnown, ErrNonceTooLow, ErrNonceGap, ErrReplaceUnderpriced, ErrAccountLimit, ErrPoolFull}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := New(cfg)
			for i, h := range held[:3] {
				mustAdd(t, p, h.s, h.tx, h.state, t0.Add(time.Duration(i)*time.Second))
			}
			if c.full {
				mustAdd(t, p, held[3].s, held[3].tx, held[3].state, t0)
			}
			before := p.Len()
			_, err := p.Add(c.tx, addrs[c.s], c.state, t0.Add(time.Hour))
			if !errors.Is(err, c.want) {
				t.Fatalf("Add = %v, want %v", err, c.want)
			}
			for _, other := range all {
				if other != c.want && errors.Is(err, other) {
					t.Errorf("error %q also matches %q", err, other)
				}
			}
			if c.also != nil && !errors.Is(err, c.also) {
				t.Errorf("error %q does not wrap %q", err, c.also)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, c.text) || !strings.Contains(msg, c.nonceIn) || !strings.Contains(msg, addrs[c.s].Hex()) {
				t.Errorf("error %q: want it to start with %q and name the nonce (%q) and sender %v", msg, c.text, c.nonceIn, addrs[c.s])
			}
			// A refused Add changes nothing.
			if p.Len() != before {
				t.Errorf("Len = %d after a refused Add, want %d", p.Len(), before)
			}
			if c.want != ErrAlreadyKnown && p.Get(c.tx.Hash()) != nil {
				t.Error("a refused transaction is held")
			}
			for i, h := range held[:3] {
				if e := p.Get(h.tx.Hash()); e == nil || e.Arrival != uint64(i+1) {
					t.Errorf("held tx %d changed: %+v", i, e)
				}
			}
			if n, ok := p.Nonce(addrs[3]); ok {
				t.Errorf("a refused Add recorded sender 3's nonce %d", n)
			}
			if err := p.Check(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPopOrdersByEffectiveTipThenArrival(t *testing.T) {
	p := New(Config{})
	mustAdd(t, p, 0, tx(0, 0, 100, 5), 0, t0)
	mustAdd(t, p, 1, tx(1, 0, 100, 5), 0, t0)
	mustAdd(t, p, 2, tx(2, 0, 100, 7), 0, t0)
	mustAdd(t, p, 3, tx(3, 0, 100, 1), 0, t0)
	got := pops(t, p, 0)
	want := []string{"2/0", "0/0", "1/0", "3/0"}
	if !slices.Equal(got, want) {
		t.Fatalf("Pop order %v, want %v (tip desc, then arrival)", got, want)
	}
}

func TestOrderArrivalIgnoresTheTip(t *testing.T) {
	p := New(Config{Order: OrderArrival})
	mustAdd(t, p, 0, tx(0, 0, 100, 5), 0, t0)
	mustAdd(t, p, 1, tx(1, 0, 100, 9), 0, t0)
	mustAdd(t, p, 2, tx(2, 0, 100, 7), 0, t0)
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
	if got, want := pops(t, p, 0), []string{"0/0", "1/0", "2/0"}; !slices.Equal(got, want) {
		t.Fatalf("Pop order %v, want %v (arrival alone)", got, want)
	}
}

func TestPeekIsWhatPopReturns(t *testing.T) {
	p := New(Config{})
	if p.Peek(big.NewInt(0)) != nil {
		t.Fatal("Peek of an empty pool returned an entry")
	}
	mustAdd(t, p, 0, tx(0, 0, 100, 5), 0, t0)
	mustAdd(t, p, 1, tx(1, 0, 95, 9), 0, t0)
	mustAdd(t, p, 2, tx(2, 1, 100, 50), 0, t0) // not executable: nonce 1
	for range 3 {
		e := p.Peek(big.NewInt(0))
		if e == nil || e.From != addrs[1] {
			t.Fatalf("Peek = %v, want sender 1's (tip 9)", e)
		}
		if p.Len() != 3 {
			t.Fatalf("Peek removed an entry: Len %d", p.Len())
		}
	}
	// At another base fee the ranking is that base fee's.
	if e := p.Peek(big.NewInt(93)); e == nil || e.From != addrs[0] {
		t.Fatalf("Peek at 93 = %v, want sender 0 (effective tip 5 over 2)", e)
	}
	if e, want := p.Pop(big.NewInt(93)), p.Peek(big.NewInt(93)); e == nil || e.From != addrs[0] || want == e {
		t.Fatalf("Pop after Peek = %v, want sender 0's, then another", e)
	}
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestEffectiveTipDependsOnBaseFee(t *testing.T) {
	build := func() *Pool {
		p := New(Config{})
		mustAdd(t, p, 0, tx(0, 0, 60, 50), 0, t0)   // high tip, low fee cap
		mustAdd(t, p, 1, tx(1, 0, 1000, 10), 0, t0) // low tip, high fee cap
		return p
	}
	// At base fee 0 the tips compete as they are: 50 > 10.
	if got := pops(t, build(), 0); !slices.Equal(got, []string{"0/0", "1/0"}) {
		t.Errorf("base fee 0: %v, want sender 0 first", got)
	}
	// At 55 sender 0 can pay only 60-55 = 5 over the base fee, below 10.
	if got := pops(t, build(), 55); !slices.Equal(got, []string{"1/0", "0/0"}) {
		t.Errorf("base fee 55: %v, want sender 1 first", got)
	}
	// Above sender 0's fee cap it is skipped, not dropped, and comes out
	// once the base fee falls; the heap is rebuilt on each change.
	p := build()
	if e := p.Executable(big.NewInt(70)); e != 1 {
		t.Errorf("Executable(70) = %d, want 1", e)
	}
	if got := pops(t, p, 70); !slices.Equal(got, []string{"1/0"}) {
		t.Errorf("base fee 70: %v, want only sender 1", got)
	}
	if p.Len() != 1 {
		t.Fatalf("Len = %d after the base fee rose, want 1: the tx below it must stay", p.Len())
	}
	if got := pops(t, p, 60); !slices.Equal(got, []string{"0/0"}) {
		t.Errorf("base fee 60 (= its fee cap): %v, want sender 0 at tip 0", got)
	}
	// The same with the heap built at one base fee and then asked at another.
	p = build()
	mustAdd(t, p, 2, tx(2, 0, 1000, 20), 0, t0)
	if e := p.Pop(big.NewInt(0)); label(e) != "0/0" {
		t.Fatalf("first Pop at 0 = %s, want 0/0", label(e))
	}
	mustAdd(t, p, 0, tx(0, 1, 60, 50), 1, t0)
	p.SetNonce(addrs[0], 1)
	if got := pops(t, p, 55); !slices.Equal(got, []string{"2/0", "1/0", "0/1"}) {
		t.Errorf("base fee 55 after 0: %v, want 2/0 1/0 0/1", got)
	}
}

func TestNonceGapHeldThenPromoted(t *testing.T) {
	p := New(Config{})
	mustAdd(t, p, 0, tx(0, 2, 100, 1), 0, t0)
	if e := p.Pop(big.NewInt(0)); e != nil {
		t.Fatalf("Pop = %s with nonces 0 and 1 missing, want nil", label(e))
	}
	if n := p.Executable(big.NewInt(0)); n != 0 {
		t.Fatalf("Executable = %d, want 0", n)
	}
	mustAdd(t, p, 0, tx(0, 0, 100, 1), 0, t0)
	if got := pops(t, p, 0); !slices.Equal(got, []string{"0/0"}) {
		t.Fatalf("Pop = %v, want only nonce 0", got)
	}
	// Nonce 0 is out but not yet executed: the pool still waits at 0.
	if n, _ := p.Nonce(addrs[0]); n != 0 {
		t.Fatalf("Pop moved the next nonce to %d; only SetNonce may", n)
	}
	if d := p.SetNonce(addrs[0], 1); len(d) != 0 {
		t.Fatalf("SetNonce(1) dropped %v", labels(d))
	}
	if got := pops(t, p, 0); len(got) != 0 {
		t.Fatalf("Pop = %v with nonce 1 missing, want nothing", got)
	}
	mustAdd(t, p, 0, tx(0, 1, 100, 1), 1, t0)
	if got := pops(t, p, 0); !slices.Equal(got, []string{"0/1"}) {
		t.Fatalf("Pop = %v, want 0/1", got)
	}
	p.SetNonce(addrs[0], 2)
	if got := pops(t, p, 0); !slices.Equal(got, []string{"0/2"}) {
		t.Fatalf("Pop = %v after the gap filled, want 0/2", got)
	}
	if p.Len() != 0 {
		t.Fatalf("Len = %d, want 0", p.Len())
	}
}

func TestGapBeyondMaxGapRefused(t *testing.T) {
	p := New(Config{MaxGap: 3})
	mustAdd(t, p, 0, tx(0, 3, 100, 1), 0, t0) // exactly MaxGap ahead
	if _, err := p.Add(tx(0, 4, 100, 1), addrs[0], 0, t0); !errors.Is(err, ErrNonceGap) {
		t.Fatalf("nonce 4 at state 0, MaxGap 3: %v, want ErrNonceGap", err)
	}
	p.SetNonce(addrs[0], 1)
	mustAdd(t, p, 0, tx(0, 4, 100, 1), 1, t0)
	if p.Len() != 2 {
		t.Fatalf("Len = %d, want 2", p.Len())
	}
}

func TestReplacementNeedsBumpOnBothFees(t *testing.T) {
	cases := []struct {
		feeCap, tip uint64
		ok          bool
	}{
		{110, 11, true},  // exactly +10% on both
		{500, 50, true},  // well above
		{110, 10, false}, // tip not raised
		{109, 11, false}, // fee cap 9% up
		{200, 10, false}, // fee cap doubled, tip unchanged
		{100, 50, false}, // tip up, fee cap unchanged
		{90, 9, false},   // lower
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d/%d", c.feeCap, c.tip), func(t *testing.T) {
			p := New(Config{PriceBump: 10})
			old := tx(0, 0, 100, 10)
			mustAdd(t, p, 0, old, 0, t0)
			mustAdd(t, p, 1, tx(1, 0, 100, 10), 0, t0)
			oldEntry := p.Get(old.Hash())
			repl := tx(0, 0, c.feeCap, c.tip)
			replaced, err := p.Add(repl, addrs[0], 0, t0.Add(time.Second))
			if err := p.Check(); err != nil {
				t.Fatal(err)
			}
			if !c.ok {
				if !errors.Is(err, ErrReplaceUnderpriced) {
					t.Fatalf("Add = %v, want ErrReplaceUnderpriced", err)
				}
				if replaced != nil || p.Get(old.Hash()) != oldEntry || p.Get(repl.Hash()) != nil || p.Len() != 2 {
					t.Fatal("a refused replacement changed the pool")
				}
				return
			}
			if err != nil {
				t.Fatalf("Add = %v, want the replacement admitted", err)
			}
			if replaced != oldEntry {
				t.Fatalf("replaced = %+v, want the old entry", replaced)
			}
			if p.Get(old.Hash()) != nil || p.Len() != 2 {
				t.Fatalf("old still held or Len %d != 2", p.Len())
			}
			e := p.Get(repl.Hash())
			if e.Arrival != 3 || !e.Added.Equal(t0.Add(time.Second)) {
				t.Fatalf("replacement entry %+v: want a new admission (Arrival 3)", e)
			}
			// It now outbids sender 1 (same old fees, earlier arrival).
			if got := pops(t, p, 0); !slices.Equal(got, []string{"0/0", "1/0"}) {
				t.Fatalf("Pop order %v, want the replacement first", got)
			}
		})
	}
}

func TestBoundsRefuseWithoutChange(t *testing.T) {
	p := New(Config{MaxTotal: 3, MaxPerAccount: 2})
	mustAdd(t, p, 0, tx(0, 0, 100, 1), 0, t0)
	mustAdd(t, p, 0, tx(0, 1, 100, 1), 0, t0)
	over := tx(0, 2, 100, 1)
	if _, err := p.Add(over, addrs[0], 0, t0); !errors.Is(err, ErrAccountLimit) {
		t.Fatalf("third tx of sender 0: %v, want ErrAccountLimit", err)
	}
	if p.Len() != 2 || p.Get(over.Hash()) != nil {
		t.Fatal("refused tx changed the pool")
	}
	mustAdd(t, p, 1, tx(1, 0, 100, 1), 0, t0)
	full := tx(2, 0, 100, 1)
	if _, err := p.Add(full, addrs[2], 0, t0); !errors.Is(err, ErrPoolFull) {
		t.Fatalf("fourth tx: %v, want ErrPoolFull", err)
	}
	if p.Len() != 3 || p.Get(full.Hash()) != nil {
		t.Fatal("refused tx changed the pool")
	}
	if _, ok := p.Nonce(addrs[2]); ok {
		t.Fatal("refused tx recorded its sender")
	}
	// A replacement does not grow the pool, so it is admitted when full.
	mustAdd(t, p, 1, tx(1, 0, 200, 2), 0, t0)
	// Room made by Pop is room.
	if e := p.Pop(big.NewInt(0)); e == nil {
		t.Fatal("Pop = nil")
	}
	mustAdd(t, p, 2, full, 0, t0)
	if p.Len() != 3 {
		t.Fatalf("Len = %d, want 3", p.Len())
	}
}

func TestSetNonceDropsStale(t *testing.T) {
	p := New(Config{})
	for _, n := range []uint64{2, 0, 3, 1} { // arrival order differs from nonce order
		mustAdd(t, p, 0, tx(0, n, 100, 1), 0, t0)
	}
	mustAdd(t, p, 1, tx(1, 0, 100, 1), 0, t0)
	dropped := p.SetNonce(addrs[0], 3)
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
	if got := labels(dropped); !slices.Equal(got, []string{"0/2", "0/0", "0/1"}) {
		t.Fatalf("dropped %v, want nonces 2, 0, 1 (by arrival)", got)
	}
	for _, e := range dropped {
		if p.Get(e.Tx.Hash()) != nil {
			t.Fatalf("dropped %s still held", label(e))
		}
	}
	if p.Len() != 2 {
		t.Fatalf("Len = %d, want 2", p.Len())
	}
	if got := pops(t, p, 0); !slices.Equal(got, []string{"0/3", "1/0"}) {
		t.Fatalf("Pop = %v, want 0/3 then 1/0", got)
	}
	// A sender the pool holds nothing for is not recorded.
	if d := p.SetNonce(addrs[4], 9); d != nil {
		t.Fatalf("SetNonce of an unknown sender dropped %v", labels(d))
	}
	if _, ok := p.Nonce(addrs[4]); ok {
		t.Fatal("SetNonce recorded a sender with nothing held")
	}
	// Dropping the last transaction forgets the sender.
	mustAdd(t, p, 3, tx(3, 4, 100, 1), 4, t0)
	if d := p.SetNonce(addrs[3], 5); len(d) != 1 || p.Len() != 0 {
		t.Fatalf("SetNonce(5) dropped %v, Len %d", labels(d), p.Len())
	}
	if _, ok := p.Nonce(addrs[3]); ok {
		t.Fatal("sender still recorded with nothing held")
	}
}

func TestRemoveLeavesLaterNoncesQueued(t *testing.T) {
	p := New(Config{})
	a, b := tx(0, 0, 100, 1), tx(0, 1, 100, 1)
	mustAdd(t, p, 0, a, 0, t0)
	mustAdd(t, p, 0, b, 0, t0)
	if e := p.Remove(a.Hash()); e == nil || e.Tx != a {
		t.Fatalf("Remove = %v, want the entry of a", e)
	}
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
	if p.Remove(a.Hash()) != nil {
		t.Fatal("second Remove found it again")
	}
	if p.Get(a.Hash()) != nil || p.Len() != 1 {
		t.Fatal("removed tx still held")
	}
	if got := pops(t, p, 0); len(got) != 0 {
		t.Fatalf("Pop = %v with nonce 0 removed, want nothing", got)
	}
	p.SetNonce(addrs[0], 1)
	if got := pops(t, p, 0); !slices.Equal(got, []string{"0/1"}) {
		t.Fatalf("Pop = %v, want 0/1 once the gap is filled", got)
	}
}

func TestExpire(t *testing.T) {
	p := New(Config{Lifetime: time.Minute})
	mustAdd(t, p, 0, tx(0, 0, 100, 1), 0, t0)
	mustAdd(t, p, 0, tx(0, 1, 100, 1), 0, t0.Add(30*time.Second))
	mustAdd(t, p, 1, tx(1, 0, 100, 1), 0, t0.Add(50*time.Second))
	if got := p.Expire(t0.Add(time.Minute)); len(got) != 0 {
		t.Fatalf("Expire at exactly Lifetime = %v, want nothing", labels(got))
	}
	if got := labels(p.Expire(t0.Add(61 * time.Second))); !slices.Equal(got, []string{"0/0"}) {
		t.Fatalf("Expire(t0+61s) = %v, want 0/0", got)
	}
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
	// Sender 0's nonce 1 stays, waiting for nonce 0.
	if got := pops(t, p, 0); !slices.Equal(got, []string{"1/0"}) {
		t.Fatalf("Pop = %v, want only 1/0", got)
	}
	mustAdd(t, p, 2, tx(2, 0, 100, 1), 0, t0.Add(40*time.Second)) // the caller's clock went back
	mustAdd(t, p, 3, tx(3, 0, 100, 1), 0, t0.Add(100*time.Second))
	if got := labels(p.Expire(t0.Add(150 * time.Second))); !slices.Equal(got, []string{"0/1", "2/0"}) {
		t.Fatalf("Expire(t0+150s) = %v, want 0/1 then 2/0 (by arrival)", got)
	}
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
	if p.Len() != 1 || p.Get(tx(3, 0, 100, 1).Hash()) == nil {
		t.Fatalf("Len = %d, want only 3/0 left", p.Len())
	}
}

func TestRemovedEntriesDoNotAccumulate(t *testing.T) {
	p := New(Config{Lifetime: time.Hour})
	// A gapped transaction that stays: Expire cannot trim past it.
	mustAdd(t, p, 0, tx(0, 5, 100, 1), 0, t0)
	for i := range uint64(400) {
		now := t0.Add(time.Duration(i) * time.Second)
		if i >= 300 {
			now = t0.Add(time.Duration(i%7) * time.Second) // the clock goes back now and then
		}
		mustAdd(t, p, 1, tx(1, i, 100, 1), i, now)
		if e := p.Pop(big.NewInt(0)); e == nil || label(e) != fmt.Sprintf("1/%d", i) {
			t.Fatalf("step %d: Pop = %v", i, e)
		}
		p.SetNonce(addrs[1], i+1)
		p.Expire(now)
		if err := p.Check(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if len(p.order) > 2*p.Len()+33 {
			t.Fatalf("step %d: %d entries kept for %d held: removed ones pile up", i, len(p.order), p.Len())
		}
	}
	if p.Len() != 1 || p.Get(tx(0, 5, 100, 1).Hash()) == nil {
		t.Fatalf("Len = %d, want the gapped transaction alone", p.Len())
	}
}

func TestOddBaseFees(t *testing.T) {
	p := New(Config{})
	mustAdd(t, p, 0, tx(0, 0, 100, 7), 0, t0)
	huge := new(big.Int).Lsh(big.NewInt(1), 300)
	if e := p.Pop(huge); e != nil {
		t.Fatalf("Pop(2^300) = %s, want nil: no fee cap reaches it", label(e))
	}
	if p.Executable(huge) != 0 || p.Len() != 1 {
		t.Fatalf("Executable(2^300) = %d, Len = %d; want 0 and the tx kept", p.Executable(huge), p.Len())
	}
	if p.Executable(nil) != 1 {
		t.Fatalf("Executable(nil) = %d, want 1: nil is base fee zero", p.Executable(nil))
	}
	if e := p.Pop(nil); e == nil || label(e) != "0/0" {
		t.Fatalf("Pop(nil) = %v, want 0/0", e)
	}
}

// TestSameCallsSameResults runs one scenario several times: map iteration
// order differs from run to run, the results must not.
func TestSameCallsSameResults(t *testing.T) {
	var txs []*types.Transaction
	for s := range keys {
		for n := range uint64(3) {
			txs = append(txs, tx(s, n, 50+uint64(s%3)*20, 20)) // many equal effective tips
		}
	}
	run := func() string {
		p := New(Config{Lifetime: 10 * time.Second})
		var out strings.Builder
		for i, tx := range txs {
			s := i / 3
			if _, err := p.Add(tx, addrs[s], 0, t0.Add(time.Duration(i%4)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		for round, base := range []int64{45, 80, 0, 45, 100, 0} {
			// Odd senders execute a round late (or lose their nonce).
			for s := 1; s < len(keys); s += 2 {
				if n, ok := p.Nonce(addrs[s]); ok {
					for _, d := range p.SetNonce(addrs[s], n+1) {
						fmt.Fprintf(&out, "drop:%s ", label(d))
					}
				}
			}
			for e := p.Pop(big.NewInt(base)); e != nil; e = p.Pop(big.NewInt(base)) {
				fmt.Fprintf(&out, "%d:%s@%d ", round, label(e), e.Arrival)
				if s := slices.Index(addrs, e.From); s%2 == 0 {
					p.SetNonce(e.From, e.Tx.Nonce()+1)
				}
			}
			if round == 2 {
				for _, e := range p.Expire(t0.Add(12 * time.Second)) {
					fmt.Fprintf(&out, "exp:%s ", label(e))
				}
			}
		}
		fmt.Fprintf(&out, "left:%d", p.Len())
		return out.String()
	}
	first := run()
	if !strings.Contains(first, "0:") {
		t.Fatalf("scenario popped nothing: %s", first)
	}
	for range 10 {
		if again := run(); again != first {
			t.Fatalf("same calls, different results:\n%s\n%s", first, again)
		}
	}
}

// model is the reference the property test holds the pool to: a list of
// held transactions, searched by brute force.
type model struct {
	cfg   Config
	held  []*mtx         // by arrival
	rec   map[int]uint64 // next nonce per sender with something held
	state map[int]uint64 // the test's executed state
	seq   uint64
}

type mtx struct {
	tx                 *types.Transaction
	s                  int
	nonce, feeCap, tip uint64
	arrival            uint64
	added              time.Time
}

func (m *model) find(s int, nonce uint64) int {
	return slices.IndexFunc(m.held, func(x *mtx) bool { return x.s == s && x.nonce == nonce })
}

func (m *model) count(s int) int {
	n := 0
	for _, x := range m.held {
		if x.s == s {
			n++
		}
	}
	return n
}

// forget drops the record of senders with nothing held.
func (m *model) forget() {
	for s := range keys {
		if m.count(s) == 0 {
			delete(m.rec, s)
		}
	}
}

func outbid(old, v, pct uint64) bool { return v > old && v >= old*(100+pct)/100 }

// add returns what Add should return: the replaced tx's hash, or an error.
func (m *model) add(x *mtx, stateNonce uint64) (*common.Hash, error) {
	for _, h := range m.held {
		if h.tx.Hash() == x.tx.Hash() {
			return nil, ErrAlreadyKnown
		}
	}
	next, ok := m.rec[x.s]
	if !ok || stateNonce > next {
		next = stateNonce
	}
	switch {
	case x.nonce < next:
		return nil, ErrNonceTooLow
	case x.nonce-next > m.cfg.MaxGap:
		return nil, ErrNonceGap
	}
	m.seq++
	x.arrival = m.seq
	if i := m.find(x.s, x.nonce); i >= 0 {
		old := m.held[i]
		if !outbid(old.feeCap, x.feeCap, m.cfg.PriceBump) || !outbid(old.tip, x.tip, m.cfg.PriceBump) {
			m.seq--
			return nil, ErrReplaceUnderpriced
		}
		m.held = append(slices.Delete(m.held, i, i+1), x)
		h := old.tx.Hash()
		return &h, nil
	}
	switch {
	case m.count(x.s) >= m.cfg.MaxPerAccount:
		m.seq--
		return nil, ErrAccountLimit
	case len(m.held) >= m.cfg.MaxTotal:
		m.seq--
		return nil, ErrPoolFull
	}
	if !ok {
		m.rec[x.s] = stateNonce
	}
	m.held = append(m.held, x)
	return nil, nil
}

// effTip is x's effective tip at base, and whether x's fee cap reaches base.
func effTip(x *mtx, base uint64) (uint64, bool) {
	if x.feeCap < base {
		return 0, false
	}
	return min(x.tip, x.feeCap-base), true
}

// executable lists the held txs that are their sender's next nonce and pay
// the base fee.
func (m *model) executable(base uint64) []*mtx {
	var out []*mtx
	for _, x := range m.held {
		if _, ok := effTip(x, base); ok && x.nonce == m.rec[x.s] {
			out = append(out, x)
		}
	}
	return out
}

// best is what Pop should return: max by (effective tip desc, arrival asc).
func (m *model) best(base uint64) *mtx {
	var best *mtx
	for _, x := range m.executable(base) {
		if best == nil {
			best = x
			continue
		}
		xt, _ := effTip(x, base)
		bt, _ := effTip(best, base)
		if xt > bt || (xt == bt && x.arrival < best.arrival) {
			best = x
		}
	}
	return best
}

func (m *model) remove(x *mtx) {
	m.held = slices.DeleteFunc(m.held, func(y *mtx) bool { return y == x })
	m.forget()
}

func hashes(es []*Entry) []common.Hash {
	out := []common.Hash{}
	for _, e := range es {
		out = append(out, e.Tx.Hash())
	}
	return out
}

func mhashes(xs []*mtx) []common.Hash {
	out := []common.Hash{}
	for _, x := range xs {
		out = append(out, x.tx.Hash())
	}
	return out
}

// TestPoolMatchesModel drives the pool and the model with the same random
// operations and demands the same answers, and the pool's invariants after
// each.
func TestPoolMatchesModel(t *testing.T) {
	const senders = 4
	signed := map[[5]uint64]*types.Transaction{} // signing is the slow part; same inputs sign the same tx
	sign := func(s int, nonce, feeCap, tip, value uint64) *types.Transaction {
		k := [5]uint64{uint64(s), nonce, feeCap, tip, value}
		if tx, ok := signed[k]; ok {
			return tx
		}
		tx := signTx(s, nonce, feeCap, tip, value)
		signed[k] = tx
		return tx
	}
	baseFees := []uint64{0, 5, 10, 20, 40}
	rapid.Check(t, func(t *rapid.T) {
		cfg := Config{
			MaxTotal:      rapid.IntRange(1, 10).Draw(t, "maxTotal"),
			MaxPerAccount: rapid.IntRange(1, 5).Draw(t, "maxPerAccount"),
			MaxGap:        rapid.Uint64Range(1, 4).Draw(t, "maxGap"),
			PriceBump:     rapid.SampledFrom([]uint64{1, 10, 50, 100}).Draw(t, "priceBump"),
			Lifetime:      time.Minute,
		}
		p := New(cfg)
		m := &model{cfg: cfg, rec: map[int]uint64{}, state: map[int]uint64{}}
		now := t0
		actions := map[string]func(*rapid.T){
			"add": func(t *rapid.T) {
				s := rapid.IntRange(0, senders-1).Draw(t, "sender")
				off := rapid.IntRange(-1, int(cfg.MaxGap)+1).Draw(t, "nonceOffset")
				nonce := max(int64(m.state[s])+int64(off), 0)
				tip := rapid.Uint64Range(0, 20).Draw(t, "tip")
				feeCap := tip + rapid.Uint64Range(0, 30).Draw(t, "feeCapOverTip")
				value := rapid.Uint64Range(0, 1).Draw(t, "value")
				stateNonce := m.state[s]
				if stateNonce > 0 && rapid.IntRange(0, 4).Draw(t, "staleState") == 0 {
					stateNonce-- // a caller a step behind the pool
				}
				x := &mtx{tx: sign(s, uint64(nonce), feeCap, tip, value), s: s, nonce: uint64(nonce), feeCap: feeCap, tip: tip, added: now}
				wantRepl, wantErr := m.add(x, stateNonce)
				repl, err := p.Add(x.tx, addrs[s], stateNonce, now)
				if !errors.Is(err, wantErr) || (err == nil) != (wantErr == nil) {
					t.Fatalf("Add(sender %d, nonce %d, state %d) = %v, want %v", s, nonce, stateNonce, err, wantErr)
				}
				if (repl == nil) != (wantRepl == nil) || (repl != nil && repl.Tx.Hash() != *wantRepl) {
					t.Fatalf("Add replaced %v, want %v", repl, wantRepl)
				}
				if err == nil && p.Get(x.tx.Hash()).Arrival != x.arrival {
					t.Fatalf("Arrival %d, want %d", p.Get(x.tx.Hash()).Arrival, x.arrival)
				}
			},
			"readd": func(t *rapid.T) {
				if len(m.held) == 0 {
					return
				}
				x := rapid.SampledFrom(m.held).Draw(t, "held")
				if _, err := p.Add(x.tx, addrs[x.s], m.state[x.s], now); !errors.Is(err, ErrAlreadyKnown) {
					t.Fatalf("re-Add of a held tx = %v, want ErrAlreadyKnown", err)
				}
			},
			"pop": func(t *rapid.T) {
				base := rapid.SampledFrom(baseFees).Draw(t, "baseFee")
				want := m.best(base)
				e := p.Pop(new(big.Int).SetUint64(base))
				if (e == nil) != (want == nil) {
					t.Fatalf("Pop(%d) = %v, want %v", base, e, want)
				}
				if e == nil {
					return
				}
				if e.Tx.Hash() != want.tx.Hash() || e.Arrival != want.arrival {
					t.Fatalf("Pop(%d) = sender %d nonce %d arrival %d, want sender %d nonce %d arrival %d",
						base, slices.Index(addrs, e.From), e.Tx.Nonce(), e.Arrival, want.s, want.nonce, want.arrival)
				}
				if e.Tx.Nonce() != m.rec[want.s] {
					t.Fatalf("Pop returned nonce %d, sender's next is %d", e.Tx.Nonce(), m.rec[want.s])
				}
				m.remove(want)
				if rapid.Bool().Draw(t, "executed") {
					m.state[want.s] = want.nonce + 1
					if _, ok := m.rec[want.s]; ok {
						m.rec[want.s] = want.nonce + 1
					}
					var wantDrop []*mtx
					for _, x := range m.held {
						if x.s == want.s && x.nonce <= want.nonce {
							wantDrop = append(wantDrop, x)
						}
					}
					got := p.SetNonce(e.From, want.nonce+1)
					if !slices.Equal(hashes(got), mhashes(wantDrop)) {
						t.Fatalf("SetNonce after Pop dropped %v, want %v", hashes(got), mhashes(wantDrop))
					}
					for _, x := range wantDrop {
						m.remove(x)
					}
				}
			},
			"setNonce": func(t *rapid.T) {
				s := rapid.IntRange(0, senders-1).Draw(t, "sender")
				n := uint64(max(int64(m.state[s])+int64(rapid.IntRange(-1, 3).Draw(t, "delta")), 0))
				m.state[s] = n
				var wantDrop []*mtx
				if _, ok := m.rec[s]; ok {
					m.rec[s] = n
					for _, x := range m.held {
						if x.s == s && x.nonce < n {
							wantDrop = append(wantDrop, x)
						}
					}
				}
				got := p.SetNonce(addrs[s], n)
				if !slices.Equal(hashes(got), mhashes(wantDrop)) {
					t.Fatalf("SetNonce(sender %d, %d) dropped %v, want %v", s, n, hashes(got), mhashes(wantDrop))
				}
				for _, x := range wantDrop {
					m.remove(x)
				}
			},
			"remove": func(t *rapid.T) {
				if len(m.held) == 0 || rapid.IntRange(0, 5).Draw(t, "unknown") == 0 {
					if e := p.Remove(sign(senders, 0, 1, 1, 0).Hash()); e != nil { // a sender the test never adds for
						t.Fatalf("Remove of an unknown hash = %v", e)
					}
					return
				}
				x := rapid.SampledFrom(m.held).Draw(t, "victim")
				if e := p.Remove(x.tx.Hash()); e == nil || e.Tx.Hash() != x.tx.Hash() {
					t.Fatalf("Remove = %v, want %v", e, x.tx.Hash())
				}
				m.remove(x)
			},
			"tick": func(t *rapid.T) {
				now = now.Add(time.Duration(rapid.IntRange(-5, 40).Draw(t, "seconds")) * time.Second)
			},
			"expire": func(t *rapid.T) {
				var want []*mtx
				for _, x := range m.held {
					if now.Sub(x.added) > cfg.Lifetime {
						want = append(want, x)
					}
				}
				got := p.Expire(now)
				if !slices.Equal(hashes(got), mhashes(want)) {
					t.Fatalf("Expire = %v, want %v", hashes(got), mhashes(want))
				}
				for _, x := range want {
					m.remove(x)
				}
			},
		}
		check := func(t *rapid.T) {
			if err := p.Check(); err != nil {
				t.Fatal(err)
			}
			if p.Len() != len(m.held) || p.Len() > cfg.MaxTotal {
				t.Fatalf("Len = %d, model holds %d, limit %d", p.Len(), len(m.held), cfg.MaxTotal)
			}
			for s := range senders {
				held := 0
				for _, x := range m.held {
					if x.s == s {
						held++
						if e := p.Get(x.tx.Hash()); e == nil || e.Arrival != x.arrival || e.From != addrs[s] {
							t.Fatalf("Get(%v) = %v, want arrival %d", x.tx.Hash(), e, x.arrival)
						}
					}
				}
				if held > cfg.MaxPerAccount {
					t.Fatalf("sender %d holds %d, limit %d", s, held, cfg.MaxPerAccount)
				}
				n, ok := p.Nonce(addrs[s])
				wn, wok := m.rec[s]
				if n != wn || ok != wok {
					t.Fatalf("Nonce(sender %d) = %d, %v; want %d, %v", s, n, ok, wn, wok)
				}
			}
			for _, base := range baseFees {
				if got, want := p.Executable(new(big.Int).SetUint64(base)), len(m.executable(base)); got != want {
					t.Fatalf("Executable(%d) = %d, want %d", base, got, want)
				}
			}
		}
		// Sequences long enough to reach the bounds and the compaction of
		// removed entries; adds weigh most.
		ops := []string{"add", "add", "add", "add", "readd", "pop", "pop", "setNonce", "remove", "tick", "expire"}
		check(t)
		for range rapid.IntRange(1, 200).Draw(t, "steps") {
			actions[rapid.SampledFrom(ops).Draw(t, "op")](t)
			check(t)
		}
	})
}

// Content shows each sender's gapless run from its next nonce as pending
// and what lies behind a gap as queued, by sender then nonce; Version
// moves with every change.
func TestContentSplitsPendingAndQueued(t *testing.T) {
	p := New(Config{})
	v0 := p.Version()
	mustAdd(t, p, 1, tx(1, 2, 100, 1), 0, t0)
	mustAdd(t, p, 0, tx(0, 3, 100, 1), 0, t0)
	mustAdd(t, p, 0, tx(0, 1, 100, 1), 0, t0)
	mustAdd(t, p, 0, tx(0, 0, 100, 1), 0, t0)
	if p.Version() == v0 {
		t.Fatal("Version did not move with admissions")
	}
	wantQueued := []string{"0/3", "1/2"}
	if addrs[1].Cmp(addrs[0]) < 0 {
		wantQueued = []string{"1/2", "0/3"}
	}
	pending, queued := p.Content()
	if got := labels(pending); !slices.Equal(got, []string{"0/0", "0/1"}) {
		t.Fatalf("pending %v, want 0/0 0/1", got)
	}
	if got := labels(queued); !slices.Equal(got, wantQueued) {
		t.Fatalf("queued %v, want sender 0's nonce 3 and sender 1's nonce 2, by address", got)
	}
	v1 := p.Version()
	if e := p.Pop(big.NewInt(0)); e == nil {
		t.Fatal("nothing executable")
	}
	if p.Version() == v1 {
		t.Fatal("Version did not move when a transaction left")
	}
	p.SetNonce(addrs[0], 1) // executed
	if pending, _ := p.Content(); !slices.Equal(labels(pending), []string{"0/1"}) {
		t.Fatalf("pending %v after one left", labels(pending))
	}
}

// Version changes with every change to what the pool holds (txpool_content
// is served again only when it does), and not on a call that changes
// nothing.
func TestVersionCountsEveryChange(t *testing.T) {
	p := New(Config{})
	last := p.Version()
	changed := func(what string) {
		t.Helper()
		if v := p.Version(); v <= last {
			t.Fatalf("%s: version %d, not above %d", what, v, last)
		}
		last = p.Version()
	}
	same := func(what string) {
		t.Helper()
		if v := p.Version(); v != last {
			t.Fatalf("%s: version %d, want %d (nothing changed)", what, v, last)
		}
	}
	mustAdd(t, p, 0, tx(0, 0, 100, 5), 0, t0)
	changed("Add")
	mustAdd(t, p, 1, tx(1, 0, 100, 5), 0, t0)
	changed("a second Add")
	mustAdd(t, p, 1, tx(1, 0, 200, 50), 0, t0)
	changed("a replacement")
	p.Peek(big.NewInt(0))
	same("Peek")
	p.Pop(big.NewInt(0))
	changed("Pop")
	third := tx(2, 0, 100, 5)
	mustAdd(t, p, 2, third, 0, t0)
	changed("Add")
	p.Remove(third.Hash())
	changed("Remove")
	p.Remove(third.Hash())
	same("Remove of what is gone")
	mustAdd(t, p, 3, tx(3, 1, 100, 5), 0, t0)
	changed("Add")
	p.SetNonce(addrs[3], 2)
	changed("SetNonce dropping one")
	mustAdd(t, p, 4, tx(4, 0, 100, 5), 0, t0)
	changed("Add")
	p.Expire(t0.Add(time.Hour))
	changed("Expire")
}

// Check finds a pool whose bookkeeping is broken: each inconsistency it
// guards against, planted by hand, is reported.
func TestCheckFindsCorruption(t *testing.T) {
	build := func() *Pool {
		p := New(Config{})
		mustAdd(t, p, 0, tx(0, 0, 100, 5), 0, t0)
		mustAdd(t, p, 0, tx(0, 1, 100, 5), 0, t0)
		mustAdd(t, p, 1, tx(1, 0, 100, 9), 0, t0)
		p.Peek(big.NewInt(0))
		if err := p.Check(); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name   string
		break_ func(p *Pool)
	}{
		{"an account under another address", func(p *Pool) { p.accounts[addrs[0]].addr = addrs[5] }},
		{"an account holding nothing", func(p *Pool) { p.accounts[addrs[2]] = &account{addr: addrs[2], idx: -1} }},
		{"an account over its bound", func(p *Pool) { p.cfg.MaxPerAccount = 1 }},
		{"a heap index that points elsewhere", func(p *Pool) {
			a, b := p.accounts[addrs[0]], p.accounts[addrs[1]]
			a.idx, b.idx = b.idx, a.idx
		}},
		{"a heap index past the heap", func(p *Pool) { p.accounts[addrs[0]].idx = len(p.ready) + 3 }},
		{"a heap index just past the heap", func(p *Pool) { p.accounts[addrs[0]].idx = len(p.ready) }},
		{"a stale tip in the heap", func(p *Pool) { p.accounts[addrs[1]].tip.SetUint64(1) }},
	} {
		p := build()
		c.break_(p)
		if err := p.Check(); err == nil {
			t.Errorf("%s: Check found nothing", c.name)
		}
	}
}
