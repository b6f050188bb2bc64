package sequencer

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/exec"
	"github.com/meganode/meganode/node/internal/nodetest"
	"github.com/meganode/meganode/node/ledger"
	"github.com/meganode/meganode/node/memdisk"
)

var miner = common.HexToAddress("0x30000000000000000000000000000000000000c0")

// fixture is a small chain: a few funded keys, a poor one, two contracts.
type fixture struct {
	gen    *core.Genesis
	seqKey *ecdsa.PrivateKey
	keys   []*ecdsa.PrivateKey
	poor   *ecdsa.PrivateKey // 1000 wei
	signer types.Signer
}

func newFixture() *fixture {
	f := &fixture{seqKey: testKey("sequencer", 0), poor: testKey("poor", 0),
		signer: types.LatestSignerForChainID(big.NewInt(testChainID))}
	for i := range 4 {
		f.keys = append(f.keys, testKey("account", i))
	}
	f.gen = nodetest.Genesis(f.keys, types.GenesisAlloc{crypto.PubkeyToAddress(f.poor.PublicKey): {Balance: big.NewInt(1000)}})
	return f
}

func (f *fixture) tx(k *ecdsa.PrivateKey, nonce uint64, to common.Address, value int64, gas uint64, data []byte) *types.Transaction {
	return types.MustSignNewTx(k, f.signer, &types.DynamicFeeTx{
		ChainID: big.NewInt(testChainID), Nonce: nonce, GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(10 * params.GWei),
		Gas: gas, To: &to, Value: big.NewInt(value), Data: data,
	})
}

// nth is the i-th transaction of a varied stream: a transfer, a call that
// logs, a call that writes storage.
func (f *fixture) nth(k *ecdsa.PrivateKey, nonce uint64, i int) *types.Transaction {
	switch i % 3 {
	case 1:
		return f.tx(k, nonce, logger, 0, 100_000, nil)
	case 2:
		return f.tx(k, nonce, setter, 0, 100_000, common.BigToHash(big.NewInt(int64(i+1))).Bytes())
	}
	return f.tx(k, nonce, sink, int64(i+1), 21_000, nil)
}

func enc(t testing.TB, tx *types.Transaction) []byte {
	t.Helper()
	b, err := tx.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func addr(k *ecdsa.PrivateKey) common.Address { return crypto.PubkeyToAddress(k.PublicKey) }

// harness runs one sequencer over a fake env and a memdisk.
type harness struct {
	t    *testing.T
	f    *fixture
	cfg  Config
	disk *memdisk.Disk
	env  *fakeEnv
	seq  *Sequencer
}

func newHarness(t *testing.T, f *fixture, mutate func(*Config)) *harness {
	t.Helper()
	cfg := Config{Genesis: f.gen, Key: f.seqKey, Coinbase: miner, MiniBlockInterval: 10 * time.Millisecond, MiniBlocksPerBlock: 100, MinGap: -1}
	if mutate != nil {
		mutate(&cfg)
	}
	h := &harness{t: t, f: f, cfg: cfg, disk: memdisk.New(), env: newFakeEnv("seq", nil, t0.Add(time.Second))}
	h.env.Store = h.disk
	h.start()
	return h
}

func (h *harness) start() {
	h.t.Helper()
	s, err := New(h.cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := s.Start(h.env); err != nil {
		h.t.Fatal(err)
	}
	h.seq = s
	h.env.CompleteSyncs(s) // the start's barrier
}

// restart drops the sequencer, as a crash does, and starts a new one over
// the same disk and clock. What was published stays recorded.
func (h *harness) restart() {
	h.t.Helper()
	old := h.env
	h.env = newFakeEnv("seq", h.disk, old.Clock)
	h.env.Published = old.Published
	h.start()
}

// tick moves the clock one interval and fires the mini-block timer.
func (h *harness) tick() *chain.MiniBlock {
	h.t.Helper()
	h.env.Clock = h.env.Clock.Add(h.cfg.MiniBlockInterval)
	return h.fireTick()
}

// fireTick fires the mini-block timer without moving the clock, completes
// the sync it asked for, and returns the mini-block it then published.
func (h *harness) fireTick() *chain.MiniBlock {
	h.t.Helper()
	n := len(h.env.Published)
	h.env.FireAndSync(h.t, h.seq, timerTick)
	if len(h.env.Published) != n+1 {
		h.t.Fatalf("tick published %d mini-blocks, want 1", len(h.env.Published)-n)
	}
	mb, err := chain.DecodeMiniBlock(h.env.Published[n])
	if err != nil {
		h.t.Fatal(err)
	}
	if err := mb.VerifySigner(addr(h.f.seqKey)); err != nil {
		h.t.Fatal(err)
	}
	return mb
}

func (h *harness) call(c *api.Call) *fakeReq {
	r := &fakeReq{Call: c.Encode()}
	h.seq.OnRequest(r)
	return r
}

func (h *harness) send(m api.Method, raw []byte) *fakeReq {
	return h.call(&api.Call{Method: m, Raw: raw})
}

// sendAsync sends raw with eth_sendRawTransaction and returns its answer,
// ticking while it has none: a transaction that executes at once is
// answered once its mini-block is durable.
func (h *harness) sendAsync(raw []byte) *api.Answer {
	h.t.Helper()
	r := h.send(api.MethodSendTx, raw)
	for range 3 {
		if len(r.Answers) > 0 {
			break
		}
		h.tick()
	}
	return answer(h.t, r)
}

// answer decodes the one answer r got.
func answer(t testing.TB, r *fakeReq) *api.Answer {
	t.Helper()
	if len(r.Answers) != 1 {
		t.Fatalf("%d answers, want 1", len(r.Answers))
	}
	a, err := api.DecodeAnswer(r.Answers[0])
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (h *harness) nonce(a common.Address, tag api.Tag) uint64 {
	h.t.Helper()
	ans := answer(h.t, h.call(&api.Call{Method: api.MethodNonce, Address: a, Tag: tag}))
	if ans.Err != nil {
		h.t.Fatalf("nonce of %v: %v", a, ans.Err)
	}
	return ans.Nonce
}

func (h *harness) balance(a common.Address) *big.Int {
	h.t.Helper()
	ans := answer(h.t, h.call(&api.Call{Method: api.MethodBalance, Address: a, Tag: api.Latest}))
	if ans.Err != nil {
		h.t.Fatalf("balance of %v: %v", a, ans.Err)
	}
	return new(big.Int).SetBytes(ans.Value)
}

func mbKey(n uint64) []byte { return binary.BigEndian.AppendUint64([]byte("ledger/mb/"), n) }

func TestSyncSendIsAnsweredAfterTheMiniBlockIsDurable(t *testing.T) {
	f := newFixture()
	h := newHarness(t, f, nil)
	tx := f.tx(f.keys[0], 0, sink, 5, 21_000, nil)
	req := h.send(api.MethodSendTxSync, enc(t, tx))
	if len(req.Answers) != 0 {
		t.Fatalf("sync send answered before the tick: %d answers", len(req.Answers))
	}
	if len(h.env.Published) != 0 {
		t.Fatalf("published %d mini-blocks before the tick", len(h.env.Published))
	}
	if _, err := h.disk.Get(mbKey(1)); err == nil {
		t.Fatal("mini-block 1 on disk before the tick")
	}
	if n := h.nonce(addr(f.keys[0]), api.Latest); n != 0 {
		t.Fatalf("latest nonce %d before the tick, want 0", n)
	}

	mb := h.tick()
	a := answer(t, req)
	if a.Err != nil {
		t.Fatalf("sync send failed: %v", a.Err)
	}
	r := a.Receipt
	if r == nil || r.TxHash != tx.Hash() || r.Status != types.ReceiptStatusSuccessful || r.MiniBlock != 1 || r.GasUsed != 21_000 || r.BlockNumber != 1 {
		t.Fatalf("receipt %+v, want tx %v, success, mini-block 1, block 1, 21000 gas", r, tx.Hash())
	}
	stored, err := h.disk.Get(mbKey(1))
	if err != nil {
		t.Fatalf("mini-block 1 not on disk after the answer: %v", err)
	}
	if !bytes.Equal(stored, h.env.Published[0]) {
		t.Fatal("published mini-block differs from the one on disk")
	}
	if mb.Header.Number != 1 || len(mb.Txs) != 1 || mb.Txs[0].Hash() != tx.Hash() {
		t.Fatalf("published mini-block %d with %d txs, want 1 with the tx", mb.Header.Number, len(mb.Txs))
	}
	if n := h.nonce(addr(f.keys[0]), api.Latest); n != 1 {
		t.Fatalf("latest nonce %d after the tick, want 1", n)
	}
}

func TestRepeatedSendIsExecutedOnce(t *testing.T) {
	f := newFixture()
	h := newHarness(t, f, nil)
	tx := f.tx(f.keys[0], 0, sink, 7, 21_000, nil)
	raw := enc(t, tx)
	r1 := h.send(api.MethodSendTxSync, raw)
	r2 := h.send(api.MethodSendTxSync, raw)
	r3 := h.send(api.MethodSendTx, raw)
	if len(r1.Answers)+len(r2.Answers) != 0 {
		t.Fatal("sync sends answered before the tick")
	}
	// A plain resend of a pending transaction is "already known", as in
	// go-ethereum.
	if a := answer(t, r3); a.Err == nil || a.Err.Kind != api.KindAlreadyKnown || a.Err.Message != "already known" {
		t.Fatalf("async resend: %+v", a)
	}
	h.tick()
	a1, a2 := answer(t, r1), answer(t, r2)
	if a1.Receipt == nil || !reflect.DeepEqual(a1.Receipt, a2.Receipt) {
		t.Fatalf("waiters of one tx got different answers: %+v / %+v", a1.Receipt, a2.Receipt)
	}
	// After the fact: the same receipt at once, nothing executed again.
	r4 := h.send(api.MethodSendTxSync, raw)
	a4 := answer(t, r4)
	if !reflect.DeepEqual(a4.Receipt, a1.Receipt) {
		t.Fatalf("resend after execution: receipt %+v, want %+v", a4.Receipt, a1.Receipt)
	}
	// A plain resend of a transaction in a sealed block: "nonce too low".
	if a := answer(t, h.send(api.MethodSendTx, raw)); a.Err == nil || a.Err.Kind != api.KindNonceTooLow || !strings.Contains(a.Err.Message, "nonce too low: address") {
		t.Fatalf("async resend after execution: %+v", a)
	}
	for range 3 {
		if mb := h.tick(); len(mb.Txs) != 0 {
			t.Fatalf("mini-block %d executed %d txs again", mb.Header.Number, len(mb.Txs))
		}
	}
	if n := h.nonce(addr(f.keys[0]), api.Latest); n != 1 {
		t.Fatalf("nonce %d, want 1", n)
	}
	if b := h.balance(sink); b.Int64() != 7 {
		t.Fatalf("sink balance %v, want 7", b)
	}
}

func TestBadSendsGetTheirKind(t *testing.T) {
	f := newFixture()
	h := newHarness(t, f, func(c *Config) { c.Pool.MaxGap = 4 })
	// One executed transaction, for "nonce too low".
	if a := h.sendAsync(enc(t, f.tx(f.keys[1], 0, sink, 1, 21_000, nil))); a.Err != nil {
		t.Fatal(a.Err)
	}
	h.tick()

	wrongChain := types.MustSignNewTx(f.keys[0], types.LatestSignerForChainID(big.NewInt(1)), &types.DynamicFeeTx{
		ChainID: big.NewInt(1), Nonce: 0, GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(10 * params.GWei),
		Gas: 21_000, To: &sink, Value: big.NewInt(1),
	})
	good := f.tx(f.keys[0], 0, sink, 1, 21_000, nil)
	v, _, sv := good.RawSignatureValues()
	sig := make([]byte, 65) // [R ‖ S ‖ V] with R left zero
	sv.FillBytes(sig[32:64])
	sig[64] = byte(v.Uint64())
	badSig, err := good.WithSignature(f.signer, sig)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		raw  []byte
		want api.Kind
	}{
		{"malformed", []byte{0x02, 0xc3, 0x01, 0x02}, api.KindInvalidInput},
		{"empty", nil, api.KindInvalidInput},
		{"wrong chain id", enc(t, wrongChain), api.KindWrongChainID},
		{"bad signature", enc(t, badSig), api.KindBadSignature},
		{"nonce too low", enc(t, f.tx(f.keys[1], 0, sink, 2, 21_000, nil)), api.KindNonceTooLow},
		{"nonce gap", enc(t, f.tx(f.keys[2], 5, sink, 1, 21_000, nil)), api.KindNonceGap},
		{"insufficient funds", enc(t, f.tx(f.poor, 0, sink, params.Ether, 21_000, nil)), api.KindInsufficientFunds},
		{"oversized", enc(t, f.tx(f.keys[3], 0, sink, 1, 3_000_000, make([]byte, 128*1024+1))), api.KindOversized},
	}
	for _, c := range cases {
		for _, m := range []api.Method{api.MethodSendTxSync, api.MethodSendTx} {
			a := answer(t, h.send(m, c.raw))
			if a.Err == nil || a.Err.Kind != c.want {
				t.Errorf("%s (%v): answer %+v, want kind %v", c.name, m, a.Err, c.want)
			}
		}
	}
	// A call that does not decode at all.
	bad := &fakeReq{Call: []byte{0x51, 1, 2, 3, 4, 5}}
	h.seq.OnRequest(bad)
	if a := answer(t, bad); a.Err == nil || a.Err.Kind != api.KindInvalidInput {
		t.Errorf("undecodable call: %+v, want invalid input", a.Err)
	}
	// Nothing of it ran.
	if mb := h.tick(); len(mb.Txs) != 0 {
		t.Fatalf("refused transactions executed: %d in mini-block %d", len(mb.Txs), mb.Header.Number)
	}
	if n := h.nonce(addr(f.keys[1]), api.Latest); n != 1 {
		t.Fatalf("nonce of the executed sender %d, want 1", n)
	}
	for _, k := range []*ecdsa.PrivateKey{f.keys[0], f.keys[2], f.keys[3], f.poor} {
		if n := h.nonce(addr(k), api.Latest); n != 0 {
			t.Fatalf("nonce of %v is %d, want 0", addr(k), n)
		}
	}
}

func TestGappedTxRunsOnceTheGapFills(t *testing.T) {
	f := newFixture()
	h := newHarness(t, f, func(c *Config) { c.Pool.MaxGap = 4 })
	k := f.keys[0]
	tx1 := f.tx(k, 1, sink, 2, 21_000, nil)
	tx0 := f.tx(k, 0, sink, 1, 21_000, nil)
	if a := answer(t, h.send(api.MethodSendTx, enc(t, tx1))); a.Err != nil || a.Hash != tx1.Hash() {
		t.Fatalf("gapped send within MaxGap refused: %+v", a)
	}
	// The farthest nonce MaxGap allows is held too.
	if a := answer(t, h.send(api.MethodSendTx, enc(t, f.tx(f.keys[1], 4, sink, 1, 21_000, nil)))); a.Err != nil {
		t.Fatalf("nonce next+MaxGap refused: %v", a.Err)
	}
	if mb := h.tick(); len(mb.Txs) != 0 {
		t.Fatalf("a gapped transaction ran: %d txs", len(mb.Txs))
	}
	req := h.send(api.MethodSendTxSync, enc(t, tx0))
	if len(req.Answers) != 0 {
		t.Fatal("sync send answered before the tick")
	}
	mb := h.tick()
	if len(mb.Txs) != 2 || mb.Txs[0].Hash() != tx0.Hash() || mb.Txs[1].Hash() != tx1.Hash() {
		t.Fatalf("mini-block %d holds %d txs, want nonce 0 then nonce 1", mb.Header.Number, len(mb.Txs))
	}
	a := answer(t, req)
	if a.Err != nil || a.Receipt == nil || a.Receipt.TxHash != tx0.Hash() || a.Receipt.TxIndex != 0 {
		t.Fatalf("sync answer %+v", a)
	}
	r1 := answer(t, h.call(&api.Call{Method: api.MethodReceipt, Hash: tx1.Hash()}))
	if r1.Err != nil || r1.Receipt.TxIndex != 1 || r1.Receipt.MiniBlock != mb.Header.Number || r1.Receipt.CumulativeGasUsed != 42_000 {
		t.Fatalf("receipt of nonce 1: %+v / %v", r1.Receipt, r1.Err)
	}
	if n := h.nonce(addr(k), api.Latest); n != 2 {
		t.Fatalf("nonce %d, want 2", n)
	}
}

// blockOf collects the mini-blocks, transactions and receipts of block b from the
// published stream.
func blockOf(t testing.TB, published [][]byte, b uint64) (mbs []*chain.MiniBlock, txs types.Transactions, rs types.Receipts) {
	t.Helper()
	for _, raw := range published {
		mb, err := chain.DecodeMiniBlock(raw)
		if err != nil {
			t.Fatal(err)
		}
		if mb.Header.BlockNumber == b {
			mbs = append(mbs, mb)
			txs = append(txs, mb.Txs...)
			rs = append(rs, mb.Receipts...)
		}
	}
	return mbs, txs, rs
}

func TestEveryKthMiniBlockSealsABlock(t *testing.T) {
	const K = 4
	f := newFixture()
	h := newHarness(t, f, func(c *Config) { c.MiniBlocksPerBlock = K; c.BlockGap = -1 })
	parent := h.seq.Ledger().Genesis().Header()
	nonces := map[int]uint64{}
	sealed := 0
	for i := range 3*K + 1 {
		if i%5 != 4 { // some mini-blocks stay empty
			for j := range 1 + i%2 {
				ki := (i + j) % len(f.keys)
				h.send(api.MethodSendTx, enc(t, f.nth(f.keys[ki], nonces[ki], i+j)))
				nonces[ki]++
			}
		}
		mb := h.tick()
		wantBlock, wantIndex := uint64(i/K+1), uint64(i%K)
		if mb.Header.BlockNumber != wantBlock || mb.Header.Index != wantIndex {
			t.Fatalf("mini-block %d is #%d of block %d, want #%d of %d", mb.Header.Number, mb.Header.Index, mb.Header.BlockNumber, wantIndex, wantBlock)
		}
		if (i%K == K-1) != mb.Seals() {
			t.Fatalf("mini-block %d (#%d of its block) seals: %v", mb.Header.Number, mb.Header.Index, mb.Seals())
		}
		if !mb.Seals() {
			continue
		}
		sealed++
		s := mb.Sealed
		if root := h.seq.Ledger().State().Root(); s.Root != root {
			t.Fatalf("block %d: header root %v, ledger state %v", s.Number, s.Root, root)
		}
		mbs, txs, rs := blockOf(t, h.env.Published, wantBlock)
		if len(mbs) != K {
			t.Fatalf("block %d has %d mini-blocks, want %d", wantBlock, len(mbs), K)
		}
		if got := types.DeriveSha(txs, trie.NewStackTrie(nil)); s.TxHash != got {
			t.Fatalf("block %d: tx root %v, the %d txs of its mini-blocks give %v", wantBlock, s.TxHash, len(txs), got)
		}
		if got := types.DeriveSha(rs, trie.NewStackTrie(nil)); s.ReceiptHash != got {
			t.Fatalf("block %d: receipt root %v, want %v", wantBlock, s.ReceiptHash, got)
		}
		var gas uint64
		for _, m := range mbs {
			gas += m.Header.GasUsed
		}
		if s.GasUsed != gas || (len(rs) > 0 && rs[len(rs)-1].CumulativeGasUsed != gas) {
			t.Fatalf("block %d: gas used %d, mini-blocks sum to %d", wantBlock, s.GasUsed, gas)
		}
		if s.ParentHash != parent.Hash() || s.Time < parent.Time || s.Number.Uint64() != parent.Number.Uint64()+1 {
			t.Fatalf("block %d does not extend block %d", s.Number, parent.Number)
		}
		b, err := h.seq.Ledger().Block(wantBlock)
		if err != nil || b.Hash() != s.Hash() || len(b.Transactions()) != len(txs) {
			t.Fatalf("ledger block %d: %v", wantBlock, err)
		}
		for i, tx := range txs {
			r := answer(t, h.call(&api.Call{Method: api.MethodReceipt, Hash: tx.Hash()}))
			if r.Err != nil || r.Receipt.BlockHash != s.Hash() || r.Receipt.BlockNumber != wantBlock || r.Receipt.TxIndex != uint64(i) {
				t.Fatalf("block %d: receipt of tx %d: %+v (%v)", wantBlock, i, r.Receipt, r.Err)
			}
		}
		if a := answer(t, h.call(&api.Call{Method: api.MethodHead})); a.Safe != wantBlock || a.At.MiniBlock != mb.Header.Number {
			t.Fatalf("head answer %+v after sealing block %d", a, wantBlock)
		}
		parent = s
	}
	if sealed != 3 {
		t.Fatalf("sealed %d blocks, want 3", sealed)
	}
}

func TestRecoveryContinuesTheOpenBlock(t *testing.T) {
	const K = 4
	f := newFixture()
	mutate := func(c *Config) { c.MiniBlocksPerBlock = K; c.BlockGap = -1; c.Ledger = ledger.Config{SnapshotEvery: 3} }
	ref, h := newHarness(t, f, mutate), newHarness(t, f, mutate)
	var hashes []common.Hash
	step := func(h *harness, i int) *chain.MiniBlock {
		k := f.keys[i%len(f.keys)]
		h.send(api.MethodSendTx, enc(t, f.nth(k, uint64(i/len(f.keys)), i)))
		return h.tick()
	}
	for i := range 6 { // block 1 sealed at 4 (with a snapshot), block 2 open with 5 and 6
		hashes = append(hashes, step(ref, i).Hash())
		step(h, i)
	}
	led := h.seq.Ledger()
	head, headHash := led.Head()
	root := led.State().Root()
	var receipts [][]byte
	for _, raw := range h.env.Published {
		mb, _ := chain.DecodeMiniBlock(raw)
		for _, tx := range mb.Txs {
			receipts = append(receipts, h.call(&api.Call{Method: api.MethodReceipt, Hash: tx.Hash()}).Answers[0])
		}
	}
	if _, err := h.disk.Get([]byte("ledger/snap")); err != nil {
		t.Fatalf("no snapshot on disk: %v", err)
	}

	h.restart()
	led = h.seq.Ledger()
	if h2, hh2 := led.Head(); h2 != head || hh2 != headHash {
		t.Fatalf("head after restart %d (%v), before %d (%v)", h2.Number, hh2, head.Number, headHash)
	}
	if r := led.State().Root(); r != root {
		t.Fatalf("state root after restart %v, before %v", r, root)
	}
	if len(led.OpenBlock()) != 2 {
		t.Fatalf("open block holds %d mini-blocks after restart, want 2", len(led.OpenBlock()))
	}
	i := 0
	for _, raw := range h.env.Published {
		mb, _ := chain.DecodeMiniBlock(raw)
		for _, tx := range mb.Txs {
			got := h.call(&api.Call{Method: api.MethodReceipt, Hash: tx.Hash()}).Answers[0]
			if !bytes.Equal(got, receipts[i]) {
				t.Fatalf("receipt of %v differs after restart", tx.Hash())
			}
			i++
		}
	}

	for i := 6; i < 11; i++ {
		want := step(ref, i)
		mb := step(h, i)
		if i == 6 && (mb.Header.Number != head.Number+1 || mb.Header.BlockNumber != head.BlockNumber || mb.Header.Index != head.Index+1) {
			t.Fatalf("first mini-block after restart: %d, #%d of block %d; want %d, #%d of block %d",
				mb.Header.Number, mb.Header.Index, mb.Header.BlockNumber, head.Number+1, head.Index+1, head.BlockNumber)
		}
		if mb.Hash() != want.Hash() {
			t.Fatalf("mini-block %d after restart differs from the run without a crash", mb.Header.Number)
		}
		hashes = append(hashes, want.Hash())
	}

	// A fresh ledger accepts the whole published stream, seals checked.
	gb, gs, err := exec.Genesis(f.gen)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := ledger.Open(memdisk.New(), f.gen.Config, gb, gs, ledger.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.env.Published) != len(hashes) {
		t.Fatalf("published %d mini-blocks across the restart, want %d", len(h.env.Published), len(hashes))
	}
	for i, raw := range h.env.Published {
		mb, err := chain.DecodeMiniBlock(raw)
		if err != nil {
			t.Fatal(err)
		}
		if mb.Hash() != hashes[i] {
			t.Fatalf("published mini-block %d differs from the run without a crash", i+1)
		}
		if err := fresh.Append(mb, raw); err != nil {
			t.Fatalf("fresh ledger refuses mini-block %d: %v", mb.Header.Number, err)
		}
	}
	if fresh.State().Root() != h.seq.Ledger().State().Root() || fresh.Safe().Header.Number.Uint64() != 2 {
		t.Fatalf("fresh ledger at root %v safe %v, sequencer at %v", fresh.State().Root(), fresh.Safe().Header.Number, h.seq.Ledger().State().Root())
	}
}

func TestTimesAreMonotonicWhenTheClockJumpsBack(t *testing.T) {
	const K = 3
	f := newFixture()
	h := newHarness(t, f, func(c *Config) { c.MiniBlocksPerBlock = K })
	var mbs []*chain.MiniBlock
	nonce := uint64(0)
	send := func() {
		h.send(api.MethodSendTx, enc(t, f.tx(f.keys[0], nonce, sink, 1, 21_000, nil)))
		nonce++
	}
	for range 4 {
		send()
		mbs = append(mbs, h.tick())
	}
	// Back an hour, then again a little, ticking in between; a send between
	// ticks opens a block at the (backwards) clock.
	for _, jump := range []time.Duration{-time.Hour, 5 * time.Millisecond, -time.Minute, -time.Second} {
		for range 4 {
			h.env.Clock = h.env.Clock.Add(jump)
			send()
			mbs = append(mbs, h.fireTick())
		}
	}
	h.env.Clock = h.env.Clock.Add(2 * time.Hour)
	for range 3 {
		mbs = append(mbs, h.tick())
	}
	var lastBlock *types.Header
	for i, mb := range mbs {
		if i > 0 && mb.Header.TimeMicros <= mbs[i-1].Header.TimeMicros {
			t.Fatalf("mini-block %d at %d µs, after %d µs", mb.Header.Number, mb.Header.TimeMicros, mbs[i-1].Header.TimeMicros)
		}
		if mb.Seals() {
			if lastBlock != nil && mb.Sealed.Time < lastBlock.Time {
				t.Fatalf("block %d at %d, before block %d at %d", mb.Sealed.Number, mb.Sealed.Time, lastBlock.Number, lastBlock.Time)
			}
			lastBlock = mb.Sealed
		}
	}
	if lastBlock == nil || lastBlock.Number.Uint64() < 5 {
		t.Fatalf("sealed too few blocks: %v", lastBlock)
	}
	if n := h.nonce(addr(f.keys[0]), api.Latest); n != nonce {
		t.Fatalf("nonce %d, want %d", n, nonce)
	}
}

// failDisk is a memdisk whose next commits fail, writing nothing.
type failDisk struct {
	*memdisk.Disk
	fail int
}

func (d *failDisk) NewBatch() node.Batch { return &failBatch{Batch: d.Disk.NewBatch(), d: d} }

type failBatch struct {
	node.Batch
	d *failDisk
}

func (b *failBatch) Commit() error {
	if b.d.fail > 0 {
		b.d.fail--
		return errors.New("injected disk failure")
	}
	return b.Batch.Commit()
}

func TestDiskErrorDropsTheMiniBlockAndRecovers(t *testing.T) {
	f := newFixture()
	h := newHarness(t, f, nil)
	disk := &failDisk{Disk: h.disk}
	h.env = newFakeEnv("seq", disk, h.env.Clock)
	h.start() // over the failing disk
	tx := f.tx(f.keys[0], 0, sink, 3, 21_000, nil)
	req := h.send(api.MethodSendTxSync, enc(t, tx))

	disk.fail = 1
	h.env.Clock = h.env.Clock.Add(h.cfg.MiniBlockInterval)
	h.env.Fire(t, h.seq, timerTick)
	if len(h.env.Published) != 0 || len(req.Answers) != 0 {
		t.Fatalf("after a failed write: %d published, %d answers", len(h.env.Published), len(req.Answers))
	}
	if h.seq.Ledger() != nil {
		t.Fatal("ledger still served after a disk error")
	}
	// Sends wait for the recovery; reads are served from what was durable.
	if a := answer(t, h.call(&api.Call{Method: api.MethodSendTxSync, Raw: enc(t, tx)})); a.Err == nil || a.Err.Kind != api.KindUnavailable {
		t.Fatalf("a send while recovering: %+v, want unavailable", a.Err)
	}
	if a := answer(t, h.call(&api.Call{Method: api.MethodHead})); a.Err != nil || a.At.MiniBlock != 0 {
		t.Fatalf("a read while recovering: %+v at %d, want the durable head 0", a.Err, a.At.MiniBlock)
	}
	// A tick while down publishes nothing.
	h.env.Clock = h.env.Clock.Add(h.cfg.MiniBlockInterval)
	h.env.Fire(t, h.seq, timerTick)
	if len(h.env.Published) != 0 {
		t.Fatal("published while recovering")
	}

	h.env.Clock = h.env.Clock.Add(h.cfg.RetryRecovery)
	h.env.FireAndSync(t, h.seq, timerRecover)
	if a := answer(t, req); a.Err == nil || a.Err.Kind != api.KindUnavailable {
		t.Fatalf("waiter of the lost mini-block: %+v, want unavailable", a.Err)
	}
	if head, _ := h.seq.Ledger().Head(); head.Number != 0 {
		t.Fatalf("head %d after recovery, want 0: the failed mini-block was never durable", head.Number)
	}
	// The client retries; the transaction runs once, in mini-block 1.
	req = h.send(api.MethodSendTxSync, enc(t, tx))
	mb := h.tick()
	if a := answer(t, req); a.Err != nil || a.Receipt.MiniBlock != 1 || mb.Header.Number != 1 || len(mb.Txs) != 1 {
		t.Fatalf("retry: %+v, mini-block %d with %d txs", a.Err, mb.Header.Number, len(mb.Txs))
	}
	if n := h.nonce(addr(f.keys[0]), api.Latest); n != 1 {
		t.Fatalf("nonce %d, want 1", n)
	}
}

// loggedReq records, in a log shared by several requests, the order in
// which they are answered.
type loggedReq struct {
	fakeReq
	i   int
	log *[]int
}

func (r *loggedReq) Respond(b []byte) {
	*r.log = append(*r.log, r.i)
	r.fakeReq.Respond(b)
}

// After a disk error the sequencer answers every waiting sync send
// "unavailable". In the simulator, Respond sends a packet, and each send
// draws latency, loss and duplication from the network's PRNG, so the order
// of the answers must follow from the inputs for a seed to replay a run.
func TestWaitersDroppedOnRecoveryAreAnsweredInADeterministicOrder(t *testing.T) {
	f := newFixture()
	var first []int
	for run := range 10 {
		h := newHarness(t, f, nil)
		disk := &failDisk{Disk: h.disk}
		h.env = newFakeEnv("seq", disk, h.env.Clock)
		h.start()
		var log []int
		for i := range 8 {
			tx := f.tx(f.keys[i%4], uint64(i/4), sink, int64(i+1), 21_000, nil)
			r := &loggedReq{fakeReq: fakeReq{Call: (&api.Call{Method: api.MethodSendTxSync, Raw: enc(t, tx)}).Encode()}, i: i, log: &log}
			h.seq.OnRequest(r)
		}
		if len(log) != 0 {
			t.Fatalf("run %d: %d answers before the tick", run, len(log))
		}
		disk.fail = 1
		h.env.Clock = h.env.Clock.Add(h.cfg.MiniBlockInterval)
		h.env.Fire(t, h.seq, timerTick)
		h.env.Clock = h.env.Clock.Add(h.cfg.RetryRecovery)
		h.env.Fire(t, h.seq, timerRecover)
		if len(log) != 8 {
			t.Fatalf("run %d: %d waiters answered on recovery, want 8", run, len(log))
		}
		if run == 0 {
			first = log
		} else if !slices.Equal(log, first) {
			t.Fatalf("run %d answered the waiters in order %v, run 0 in %v", run, log, first)
		}
	}
}

func TestServesRangeRequests(t *testing.T) {
	f := newFixture()
	h := newHarness(t, f, func(c *Config) { c.MiniBlocksPerBlock = 2 })
	for i := range 5 {
		h.send(api.MethodSendTx, enc(t, f.tx(f.keys[0], uint64(i), sink, 1, 21_000, nil)))
		h.tick()
	}
	h.seq.OnMessage("full", (&chain.RangeRequest{ID: 42, From: 2, Count: 3}).Encode())
	h.seq.OnMessage("full", []byte{byte(chain.FormatRangeRequestV1), 1, 2, 3, 4, 5}) // garbage: ignored
	h.seq.OnMessage("full", h.env.Published[0])                                      // not a request: ignored
	if len(h.env.Sent) != 1 || h.env.Sent[0].To != "full" {
		t.Fatalf("sent %d messages, want one range response to full", len(h.env.Sent))
	}
	resp, err := chain.DecodeRangeResponse(h.env.Sent[0].Msg)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ID != 42 || resp.From != 2 || resp.Head != 5 || len(resp.MiniBlocks) != 3 {
		t.Fatalf("response id %d from %d head %d with %d mini-blocks", resp.ID, resp.From, resp.Head, len(resp.MiniBlocks))
	}
	for i, raw := range resp.MiniBlocks {
		if !bytes.Equal(raw, h.env.Published[1+i]) {
			t.Fatalf("served mini-block %d differs from the published one", 2+i)
		}
	}
}

func TestSyncSendTimesOutButStaysPooled(t *testing.T) {
	f := newFixture()
	h := newHarness(t, f, nil)
	tx1 := f.tx(f.keys[0], 1, sink, 1, 21_000, nil)
	req := h.call(&api.Call{Method: api.MethodSendTxSync, Raw: enc(t, tx1), TimeoutMs: 150})
	for range 25 { // 250 ms: the expiry check runs every 100 ms
		h.env.Clock = h.env.Clock.Add(h.cfg.MiniBlockInterval)
		h.env.RunDue(t, h.seq)
	}
	if a := answer(t, req); a.Err == nil || a.Err.Kind != api.KindTimeout {
		t.Fatalf("gapped sync send after 250 ms (timeout 150 ms): %+v, want timeout", a.Err)
	}
	h.send(api.MethodSendTx, enc(t, f.tx(f.keys[0], 0, sink, 1, 21_000, nil)))
	if mb := h.tick(); len(mb.Txs) != 2 || mb.Txs[1].Hash() != tx1.Hash() {
		t.Fatalf("after the gap filled: %d txs", len(mb.Txs))
	}
}

// eth_sendRawTransaction of a transaction that executes at once answers
// its hash only once the mini-block holding it is durable, so that the
// client's first receipt poll finds the receipt; one that waits in the
// pool (a nonce gap) is answered at once.
func TestPlainSendAnsweredOnceItsReceiptIsDurable(t *testing.T) {
	f := newFixture()
	h := newHarness(t, f, func(c *Config) { c.Pool.MaxGap = 4 })
	tx := f.tx(f.keys[0], 0, sink, 7, 21_000, nil)
	r := h.send(api.MethodSendTx, enc(t, tx))
	if len(r.Answers) != 0 {
		t.Fatal("answered before its mini-block was durable")
	}
	if rc := h.call(&api.Call{Method: api.MethodReceipt, Hash: tx.Hash()}); answer(t, rc).Err == nil {
		t.Fatal("a receipt served before its mini-block was durable")
	}
	h.tick()
	if a := answer(t, r); a.Err != nil || a.Hash != tx.Hash() {
		t.Fatalf("answer %+v", a)
	}
	if a := answer(t, h.call(&api.Call{Method: api.MethodReceipt, Hash: tx.Hash()})); a.Err != nil || a.Receipt == nil {
		t.Fatalf("receipt right after the hash: %+v", a)
	}
	gapped := h.send(api.MethodSendTx, enc(t, f.tx(f.keys[1], 2, sink, 1, 21_000, nil)))
	if a := answer(t, gapped); a.Err != nil {
		t.Fatalf("a gapped send: %+v", a)
	}
}
