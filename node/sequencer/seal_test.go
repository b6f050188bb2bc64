package sequencer

import (
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
)

// A receipt never leaves before its block: a block seals at the first
// close that finds a transaction in it, BlockGap after the last seal at
// the earliest (a timer arms that close), and the receipt names it. Until
// then the transaction shows at pending and nowhere else: not at latest,
// not as a receipt. Blocks without transactions seal at their K-th tick.
func TestReceiptsWaitForTheirBlockSeal(t *testing.T) {
	const K, gap = 6, 25 * time.Millisecond
	f := newFixture()
	h := newHarness(t, f, func(c *Config) { c.MiniBlocksPerBlock = K; c.BlockGap = gap })
	led := h.seq.Ledger
	from := addr(f.keys[0])

	// The first transaction's mini-block seals its block: no seal before.
	first := f.tx(f.keys[0], 0, sink, 1, 21_000, nil)
	req := h.send(api.MethodSendTxSync, enc(t, first))
	mb := h.tick()
	if !mb.Seals() || len(mb.Txs) != 1 {
		t.Fatalf("mini-block %d with %d txs seals: %v, want its block sealed with it", mb.Header.Number, len(mb.Txs), mb.Seals())
	}
	checkReceipt(t, h, answer(t, req), first.Hash(), mb.Sealed.Number.Uint64())
	sealedAt := h.env.Clock

	// The second comes within the gap: its mini-block closes on the next
	// tick without sealing, and the receipt waits.
	second := f.tx(f.keys[0], 1, sink, 1, 21_000, nil)
	req = h.send(api.MethodSendTxSync, enc(t, second))
	mb = h.tick()
	if mb.Seals() || len(mb.Txs) != 1 {
		t.Fatalf("mini-block %d, %v after the last seal, seals: %v", mb.Header.Number, h.env.Clock.Sub(sealedAt), mb.Seals())
	}
	if len(req.Answers) != 0 {
		t.Fatal("a receipt answered before its block sealed")
	}
	if a := answer(t, h.call(&api.Call{Method: api.MethodReceipt, Hash: second.Hash()})); a.Err == nil || a.Err.Kind != api.KindNotFound {
		t.Fatalf("the receipt of a transaction of the open block is served: %+v", a)
	}
	if n := h.nonce(from, api.Latest); n != 1 {
		t.Fatalf("latest nonce %d, want 1: latest is the newest sealed block", n)
	}
	// A plain resend of it is a pending duplicate: "already known".
	if a := answer(t, h.send(api.MethodSendTx, enc(t, second))); a.Err == nil || a.Err.Kind != api.KindAlreadyKnown {
		t.Fatalf("a plain resend of a transaction of the open block: %+v", a)
	}
	if n := h.nonce(from, api.Pending); n != 2 {
		t.Fatalf("pending nonce %d, want 2: pending holds the open block's transactions", n)
	}
	// The seal is armed BlockGap after the last one: a tick before it
	// does not seal, the timer does.
	mb = h.tick()
	if mb.Seals() || len(req.Answers) != 0 {
		t.Fatalf("sealed %v after the last seal, gap %v", h.env.Clock.Sub(sealedAt), gap)
	}
	h.env.Clock = sealedAt.Add(gap)
	n := len(h.env.Published)
	h.env.FireAndSync(t, h.seq, timerSeal)
	if len(h.env.Published) != n+1 {
		t.Fatalf("the seal timer published %d mini-blocks, want 1", len(h.env.Published)-n)
	}
	sealing, err := chain.DecodeMiniBlock(h.env.Published[n])
	if err != nil || !sealing.Seals() || len(sealing.Txs) != 0 {
		t.Fatalf("the seal timer's mini-block: %v, seals %v", err, sealing != nil && sealing.Seals())
	}
	checkReceipt(t, h, answer(t, req), second.Hash(), sealing.Sealed.Number.Uint64())
	if n := h.nonce(from, api.Latest); n != 2 {
		t.Fatalf("latest nonce %d after the seal, want 2", n)
	}
	if p, b := led().Safe().Header, mb.Header.BlockNumber; p.Number.Uint64() != b {
		t.Fatalf("safe block %v, want %d", p.Number, b)
	}

	// Without transactions, a block seals at its K-th tick only.
	for i := 1; i <= K; i++ {
		mb = h.tick()
		if mb.Seals() != (i == K) {
			t.Fatalf("empty tick %d of %d seals: %v", i, K, mb.Seals())
		}
	}
}

// checkReceipt checks that a sync send's receipt names sealed block n by
// its hash, that the block is there to fetch and holds the transaction,
// and that eth_getTransactionReceipt answers the same.
func checkReceipt(t *testing.T, h *harness, a *api.Answer, tx common.Hash, n uint64) {
	t.Helper()
	if a.Err != nil || a.Receipt == nil {
		t.Fatalf("sync send: %+v", a)
	}
	r := a.Receipt
	want := h.seq.Ledger().BlockHash(n)
	if r.BlockNumber != n || r.BlockHash != want || want == (common.Hash{}) {
		t.Fatalf("receipt in block %d %v, want block %d %v", r.BlockNumber, r.BlockHash, n, want)
	}
	b, err := h.seq.Ledger().Block(n)
	if err != nil || b.Hash() != want || b.Transaction(tx) == nil {
		t.Fatalf("block %d of the receipt: %v", n, err)
	}
	again := answer(t, h.call(&api.Call{Method: api.MethodReceipt, Hash: tx}))
	if again.Err != nil || again.Receipt.BlockHash != want {
		t.Fatalf("eth_getTransactionReceipt: %+v", again)
	}
	head := answer(t, h.call(&api.Call{Method: api.MethodHead}))
	if head.Safe < n {
		t.Fatalf("head's newest block %d, behind the receipt's %d", head.Safe, n)
	}
}
