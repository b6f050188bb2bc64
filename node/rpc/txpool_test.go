package rpc_test

import (
	"math/big"
	"strconv"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// txpool_status and txpool_content show a transaction behind a nonce gap
// as queued, with geth's shape, until the gap fills and both run.
func TestTxpool(t *testing.T) {
	h := newHarness(t)
	ctx := h.ctx()
	alice, bob := h.b.keys[0], h.b.keys[1]
	from := addr(alice)
	gapped := h.tx(alice, ptr(addr(bob)), big.NewInt(1), 21_000, nil) // nonce 0, held back
	later := h.tx(alice, ptr(addr(bob)), big.NewInt(1), 21_000, nil)  // nonce 1: behind the gap
	if err := h.ec.SendTransaction(ctx, later); err != nil {
		t.Fatal(err)
	}
	status := func() map[string]hexutil.Uint {
		var st map[string]hexutil.Uint
		if err := h.raw.CallContext(ctx, &st, "txpool_status"); err != nil {
			t.Fatal(err)
		}
		return st
	}
	waitFor := func(pending, queued hexutil.Uint) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			st := status()
			if st["pending"] == pending && st["queued"] == queued {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("txpool_status %v, want pending %d queued %d", st, pending, queued)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitFor(0, 1)
	var content map[string]map[string]map[string]struct {
		Hash        common.Hash     `json:"hash"`
		From        common.Address  `json:"from"`
		Nonce       hexutil.Uint64  `json:"nonce"`
		BlockHash   *common.Hash    `json:"blockHash"`
		BlockNumber *hexutil.Big    `json:"blockNumber"`
		Index       *hexutil.Uint64 `json:"transactionIndex"`
	}
	if err := h.raw.CallContext(ctx, &content, "txpool_content"); err != nil {
		t.Fatal(err)
	}
	got, ok := content["queued"][from.Hex()][strconv.FormatUint(later.Nonce(), 10)]
	if !ok || got.Hash != later.Hash() || got.From != from || got.BlockHash != nil || got.BlockNumber != nil || got.Index != nil || len(content["pending"]) != 0 {
		t.Fatalf("txpool_content %+v", content)
	}
	if err := h.ec.SendTransaction(ctx, gapped); err != nil {
		t.Fatal(err)
	}
	h.receipt(later.Hash())
	waitFor(0, 0)
}
