package sequencer

import (
	"context"
	"math/big"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/memdisk"
	"github.com/meganode/meganode/node/mempool"
)

// With a mini-block gas bound of one transfer, what arrives beyond it
// waits in the pool and runs in the next mini-blocks, best tip first,
// and the observer is told each admission and execution in order (P9's
// record). Under OrderArrival the same sends run in arrival order.
func TestMiniBlockGasBoundRunsTheBestFirst(t *testing.T) {
	tips := []int64{5, 1, 9, 7} // one sender each
	for _, order := range []mempool.Order{mempool.OrderTip, mempool.OrderArrival} {
		f := newFixture()
		var events []PoolEvent
		h := newHarness(t, f, func(c *Config) {
			c.MaxMiniBlockGas = 21_000
			c.Pool.Order = order
			c.ObservePool = func(e PoolEvent) { events = append(events, e) }
		})
		for i, tip := range tips {
			h.send(api.MethodSendTx, enc(t, f.tipped(f.keys[i], 0, big.NewInt(tip))))
		}
		var ran []int64
		for range 4 {
			mb := h.tick()
			if len(mb.Txs) != 1 {
				t.Fatalf("mini-block %d holds %d transfers, want 1 (the bound)", mb.Header.Number, len(mb.Txs))
			}
			for _, tx := range mb.Txs {
				ran = append(ran, tx.GasTipCap().Int64())
			}
		}
		// The first ran on arrival, alone; the rest waited together.
		want := []int64{5, 9, 7, 1}
		if order == mempool.OrderArrival {
			want = tips
		}
		if !slices.Equal(ran, want) {
			t.Fatalf("order %d: tips ran %v, want %v", order, ran, want)
		}
		var kinds []PoolEventKind
		var executed []int64
		for _, e := range events {
			kinds = append(kinds, e.Kind)
			if e.Kind == PoolExecuted {
				executed = append(executed, e.Tx.GasTipCap().Int64())
				if e.BaseFee == nil || e.Failed {
					t.Fatalf("executed event %+v: want the base fee, not failed", e)
				}
			}
			if e.Kind == PoolAdmitted && (e.From == (common.Address{}) || e.Nonce != 0) {
				t.Fatalf("admitted event %+v: want the sender and its nonce 0", e)
			}
		}
		if !slices.Equal(executed, want) {
			t.Fatalf("observed executions %v, want %v", executed, want)
		}
		if kinds[0] != PoolReset || kinds[1] != PoolAdmitted || kinds[2] != PoolExecuted {
			t.Fatalf("events start %v, want reset, admitted, executed", kinds[:3])
		}
	}
}

// A replaced transaction is observed dropped before its replacement is
// observed admitted.
func TestObservedReplacement(t *testing.T) {
	f := newFixture()
	var events []PoolEvent
	h := newHarness(t, f, func(c *Config) { c.ObservePool = func(e PoolEvent) { events = append(events, e) } })
	// Nonce 1 waits behind the missing 0, so that it can be replaced.
	first := f.tipped(f.keys[0], 1, big.NewInt(10))
	second := types.MustSignNewTx(f.keys[0], f.signer, &types.DynamicFeeTx{
		ChainID: big.NewInt(testChainID), Nonce: 1, GasTipCap: big.NewInt(20), GasFeeCap: big.NewInt(20 * params.GWei),
		Gas: 21_000, To: &sink, Value: big.NewInt(1),
	})
	if a := h.sendAsync(enc(t, first)); a.Err != nil {
		t.Fatal(a.Err)
	}
	r := h.send(api.MethodSendTx, enc(t, second))
	if a := answer(t, r); a.Err != nil {
		t.Fatal(a.Err)
	}
	var got []PoolEventKind
	for _, e := range events[1:] {
		got = append(got, e.Kind)
	}
	want := []PoolEventKind{PoolAdmitted, PoolDropped, PoolAdmitted}
	if !slices.Equal(got, want) || events[2].Tx.Hash() != first.Hash() || events[3].Tx.Hash() != second.Hash() {
		t.Fatalf("events %v, want %v (the first dropped, then the second admitted)", got, want)
	}
}

// Serve takes every read, answering it once, so that the runtime never
// hands a read to the step; it declines a send without answering it.
func TestServeTakesReadsAndDeclinesSends(t *testing.T) {
	f := newFixture()
	// Before its first sync, a sequencer has no view to read from: it
	// answers that it is starting, and still takes the read.
	early, err := New(Config{Genesis: f.gen, Key: f.seqKey})
	if err != nil {
		t.Fatal(err)
	}
	env := newFakeEnv("seq", nil, t0)
	env.Store = memdisk.New()
	if err := early.Start(env); err != nil {
		t.Fatal(err)
	}
	r := &fakeReq{Call: (&api.Call{Method: api.MethodBalance, Address: sink, Tag: api.Latest}).Encode()}
	if !early.Serve(context.Background(), r) || len(r.Answers) != 1 {
		t.Fatalf("a read before the first sync: taken %v, %d answers; want taken, 1", len(r.Answers) > 0, len(r.Answers))
	}
	if a := answer(t, r); a.Err == nil || a.Err.Kind != api.KindUnavailable {
		t.Fatalf("a read before the first sync: %+v, want unavailable (starting)", a)
	}
	h := newHarness(t, f, nil)
	h.tick()
	for _, c := range []*api.Call{
		{Method: api.MethodHead},
		{Method: api.MethodBalance, Address: sink, Tag: api.Latest},
		{Method: api.MethodNonce, Address: sink, Tag: api.Pending},
		{Method: api.MethodMiniBlock, Number: 1},
	} {
		r := &fakeReq{Call: c.Encode()}
		if !h.seq.Serve(context.Background(), r) {
			t.Fatalf("%v: Serve declined a read", c.Method)
		}
		if len(r.Answers) != 1 {
			t.Fatalf("%v: %d answers, want 1", c.Method, len(r.Answers))
		}
	}
	for _, m := range []api.Method{api.MethodSendTx, api.MethodSendTxSync} {
		r := &fakeReq{Call: (&api.Call{Method: m, Raw: enc(t, f.tipped(f.keys[0], 0, big.NewInt(1)))}).Encode()}
		if h.seq.Serve(context.Background(), r) || len(r.Answers) != 0 {
			t.Fatalf("%v: Serve took a send (%d answers)", m, len(r.Answers))
		}
	}
}
