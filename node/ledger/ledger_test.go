package ledger_test

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/exec"
	"github.com/meganode/meganode/node/internal/nodetest"
	"github.com/meganode/meganode/node/ledger"
	"github.com/meganode/meganode/node/memdisk"
	"github.com/meganode/meganode/node/sequencer"
	"github.com/meganode/meganode/node/state"
)

// stream is what a real sequencer published, with what its ledger held
// after each mini-block.
type stream struct {
	gen    *core.Genesis
	seqKey *ecdsa.PrivateKey
	keys   []*ecdsa.PrivateKey
	gb     *types.Block
	gs     *state.Mem
	raws   [][]byte           // raws[i] is mini-block i+1
	mbs    []*chain.MiniBlock // decoded raws
	roots  []common.Hash      // roots[n]: state root after mini-block n (0: genesis)
	seq    *sequencer.Sequencer
}

// produce runs a sequencer for n mini-blocks of K per block, with a few
// transactions (transfers, logs, storage writes) in most of them.
func produce(t *testing.T, n, K int) *stream {
	t.Helper()
	s := &stream{seqKey: testKey("sequencer", 0)}
	for i := range 3 {
		s.keys = append(s.keys, testKey("account", i))
	}
	s.gen = nodetest.Genesis(s.keys, nil)
	var err error
	if s.gb, s.gs, err = exec.Genesis(s.gen); err != nil {
		t.Fatal(err)
	}
	seq, err := sequencer.New(sequencer.Config{Genesis: s.gen, Key: s.seqKey, MiniBlockInterval: 10 * time.Millisecond, MiniBlocksPerBlock: K, MinGap: -1, BlockGap: -1})
	if err != nil {
		t.Fatal(err)
	}
	env := newFakeEnv("seq", memdisk.New(), t0.Add(time.Second))
	if err := seq.Start(env); err != nil {
		t.Fatal(err)
	}
	env.CompleteSyncs(seq)
	s.seq = seq
	s.roots = []common.Hash{s.gb.Root()}
	signer := types.LatestSignerForChainID(big.NewInt(testChainID))
	nonces := make([]uint64, len(s.keys))
	for i := range n {
		var reqs []*fakeReq
		for j := range i % 3 { // 0, 1 or 2 transactions
			ki := (i + j) % len(s.keys)
			to, data, gas := sink, []byte(nil), uint64(21_000)
			switch (i + j) % 3 {
			case 1:
				to, gas = logger, 100_000
			case 2:
				to, gas, data = setter, 100_000, common.BigToHash(big.NewInt(int64(i+1))).Bytes()
			}
			tx := types.MustSignNewTx(s.keys[ki], signer, &types.DynamicFeeTx{ChainID: big.NewInt(testChainID), Nonce: nonces[ki],
				GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(10 * params.GWei), Gas: gas, To: &to, Value: big.NewInt(int64(i + 1)), Data: data})
			nonces[ki]++
			raw, _ := tx.MarshalBinary()
			req := &fakeReq{Call: (&api.Call{Method: api.MethodSendTx, Raw: raw}).Encode()}
			seq.OnRequest(req)
			reqs = append(reqs, req)
		}
		env.Clock = env.Clock.Add(10 * time.Millisecond)
		env.RunDue(t, seq)
		for _, req := range reqs { // answered once durable
			if len(req.Answers) != 1 {
				t.Fatalf("send: %d answers", len(req.Answers))
			}
			if a, err := api.DecodeAnswer(req.Answers[0]); err != nil || a.Err != nil {
				t.Fatalf("send: %v %v", err, a.Err)
			}
		}
		if len(env.Published) != i+1 {
			t.Fatalf("published %d mini-blocks after %d ticks", len(env.Published), i+1)
		}
		s.roots = append(s.roots, seq.Ledger().State().Root())
	}
	s.raws = env.Published
	for _, raw := range s.raws {
		mb, err := chain.DecodeMiniBlock(raw)
		if err != nil {
			t.Fatal(err)
		}
		s.mbs = append(s.mbs, mb)
	}
	return s
}

func (s *stream) open(t *testing.T, disk node.Disk, cfg ledger.Config) *ledger.Ledger {
	t.Helper()
	l, err := ledger.Open(disk, s.gen.Config, s.gb, s.gs, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// appendN appends mini-blocks from..to (1-based, inclusive).
func (s *stream) appendN(t *testing.T, l *ledger.Ledger, from, to int) {
	t.Helper()
	for n := from; n <= to; n++ {
		if err := l.Append(s.mbs[n-1], s.raws[n-1]); err != nil {
			t.Fatalf("append %d: %v", n, err)
		}
	}
}

func mbKey(n uint64) []byte { return binary.BigEndian.AppendUint64([]byte("ledger/mb/"), n) }

func checkHead(t *testing.T, l *ledger.Ledger, s *stream, n int) {
	t.Helper()
	head, hash := l.Head()
	wantHash := s.gb.Hash()
	if n > 0 {
		wantHash = s.mbs[n-1].Hash()
	}
	if head.Number != uint64(n) || hash != wantHash {
		t.Fatalf("head %d (%v), want %d (%v)", head.Number, hash, n, wantHash)
	}
	if root := l.State().Root(); root != s.roots[n] {
		t.Fatalf("state root at %d: %v, want %v", n, root, s.roots[n])
	}
}

func receiptBytes(t *testing.T, r *types.Receipt) []byte {
	t.Helper()
	b, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return append(b, binary.BigEndian.AppendUint64(r.TxHash.Bytes(), uint64(r.TransactionIndex)<<32|r.GasUsed)...)
}

func TestOpenEmptyDiskIsGenesis(t *testing.T) {
	s := produce(t, 1, 2)
	l := s.open(t, memdisk.New(), ledger.Config{})
	checkHead(t, l, s, 0)
	if safe := l.Safe(); safe.Header.Hash() != s.gb.Hash() {
		t.Fatalf("safe %v, want genesis %v", safe.Header.Hash(), s.gb.Hash())
	}
	if len(l.OpenBlock()) != 0 || l.Poisoned() != nil {
		t.Fatal("fresh ledger has an open block or is poisoned")
	}
	if _, err := l.StateAt(0); err != nil {
		t.Fatalf("state at genesis: %v", err)
	}
	if _, _, err := l.MiniBlock(1); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("mini-block 1 on a fresh ledger: %v, want ErrNotFound", err)
	}
}

func TestAppendOnlyExtendsTheHead(t *testing.T) {
	s := produce(t, 5, 3)
	disk := memdisk.New()
	l := s.open(t, disk, ledger.Config{})
	s.appendN(t, l, 1, 2)
	checkHead(t, l, s, 2)

	// Skipping one, repeating one, or a right number on a wrong parent.
	wrongParent, err := chain.DecodeMiniBlock(s.raws[2])
	if err != nil {
		t.Fatal(err)
	}
	wrongParent.Header.ParentHash = common.Hash{0xbb}
	if err := wrongParent.Seal(s.seqKey); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		mb   *chain.MiniBlock
	}{{"skip", s.mbs[3]}, {"repeat", s.mbs[1]}, {"first again", s.mbs[0]}, {"wrong parent", wrongParent}} {
		name, mb := c.name, c.mb
		if err := l.Append(mb, nil); !errors.Is(err, ledger.ErrNotNext) {
			t.Fatalf("%s: append of mini-block %d at head 2: %v, want ErrNotNext", name, mb.Header.Number, err)
		}
		checkHead(t, l, s, 2)
	}
	if _, err := disk.Get(mbKey(4)); err == nil {
		t.Fatal("a refused mini-block was written to disk")
	}
	// raw nil: Append encodes it.
	if err := l.Append(s.mbs[2], nil); err != nil {
		t.Fatal(err)
	}
	s.appendN(t, l, 4, 5)
	checkHead(t, l, s, 5)
	if stored, err := disk.Get(mbKey(3)); err != nil || !bytes.Equal(stored, s.raws[2]) {
		t.Fatalf("stored mini-block 3 differs from the published one (%v)", err)
	}
	if safe := l.Safe(); safe.Header.Hash() != s.mbs[2].Sealed.Hash() || safe.First != 1 || safe.Last != 3 || safe.PrevLast != 0 {
		t.Fatalf("safe block %v [%d..%d], want block 1 [1..3]", safe.Header.Number, safe.First, safe.Last)
	}
}

func TestReopenRestoresTheLedger(t *testing.T) {
	const N = 15
	s := produce(t, N, 2) // seals at every even mini-block, snapshots at 4, 8, 12
	cfg := ledger.Config{SnapshotEvery: 3}
	for n := 1; n <= N; n++ {
		disk := memdisk.New()
		orig := s.open(t, disk, cfg)
		s.appendN(t, orig, 1, n)
		_, snapErr := disk.Get([]byte("ledger/snap"))
		if (n >= 4) != (snapErr == nil) {
			t.Fatalf("after %d mini-blocks: snapshot on disk %v, want %v", n, snapErr == nil, n >= 4)
		}
		l := s.open(t, disk, cfg)
		checkHead(t, l, s, n)
		h1, _ := orig.Head()
		h2, _ := l.Head()
		if h1 != h2 {
			t.Fatalf("reopened at %d: header %+v, want %+v", n, h2, h1)
		}
		a, b := orig.Safe(), l.Safe()
		if a.Header.Hash() != b.Header.Hash() || a.First != b.First || a.Last != b.Last || a.PrevLast != b.PrevLast {
			t.Fatalf("reopened at %d: safe %v [%d..%d], want %v [%d..%d]", n, b.Header.Number, b.First, b.Last, a.Header.Number, a.First, a.Last)
		}
		if len(l.OpenBlock()) != len(orig.OpenBlock()) {
			t.Fatalf("reopened at %d: open block of %d, want %d", n, len(l.OpenBlock()), len(orig.OpenBlock()))
		}
		for i := 1; i <= n; i++ {
			for _, tx := range s.mbs[i-1].Txs {
				r1, _, loc1, err1 := orig.Receipt(tx.Hash())
				r2, _, loc2, err2 := l.Receipt(tx.Hash())
				if uint64(i) > a.Last {
					// The open block's receipts are out once it seals.
					if !errors.Is(err1, ledger.ErrNotFound) || !errors.Is(err2, ledger.ErrNotFound) {
						t.Fatalf("reopened at %d: receipt of %v in the open block: %v/%v, want ErrNotFound", n, tx.Hash(), err1, err2)
					}
					continue
				}
				if err1 != nil || err2 != nil || loc1 != loc2 || !bytes.Equal(receiptBytes(t, r1), receiptBytes(t, r2)) {
					t.Fatalf("reopened at %d: receipt of %v: %v/%v, %+v/%+v", n, tx.Hash(), err1, err2, loc1, loc2)
				}
			}
		}
		for b := uint64(1); b <= a.Header.Number.Uint64(); b++ {
			b1, err1 := orig.Block(b)
			b2, err2 := l.Block(b)
			if err1 != nil || err2 != nil || b1.Hash() != b2.Hash() || len(b1.Transactions()) != len(b2.Transactions()) {
				t.Fatalf("reopened at %d: block %d: %v / %v", n, b, err1, err2)
			}
		}
		st, err := l.StateAt(uint64(n))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := s.seq.Ledger().StateAt(uint64(n))
		for _, k := range s.keys {
			a := crypto.PubkeyToAddress(k.PublicKey)
			got, _ := st.Account(a)
			exp, _ := want.Account(a)
			if got != exp {
				t.Fatalf("reopened at %d: account %v is %+v, want %+v", n, a, got, exp)
			}
		}
		if st.Storage(setter, common.Hash{}) != want.Storage(setter, common.Hash{}) {
			t.Fatalf("reopened at %d: setter slot differs", n)
		}
		// The reopened ledger carries on.
		s.appendN(t, l, n+1, N)
		checkHead(t, l, s, N)
	}
}

func TestTornLastRecordIsDropped(t *testing.T) {
	s := produce(t, 7, 3) // seals at 3 and 6
	for _, torn := range []int{7, 6, 5} {
		disk := memdisk.New()
		l := s.open(t, disk, ledger.Config{})
		s.appendN(t, l, 1, torn)
		raw := s.raws[torn-1]
		b := disk.NewBatch()
		b.Set(mbKey(uint64(torn)), raw[:len(raw)/2])
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
		l = s.open(t, disk, ledger.Config{})
		checkHead(t, l, s, torn-1)
		for _, tx := range s.mbs[torn-1].Txs {
			if _, _, _, err := l.Receipt(tx.Hash()); !errors.Is(err, ledger.ErrNotFound) {
				t.Fatalf("torn %d: receipt of a dropped tx: %v, want ErrNotFound", torn, err)
			}
		}
		if torn == 6 {
			if _, err := l.SealedBlock(2); !errors.Is(err, ledger.ErrNotFound) {
				t.Fatalf("torn seal: sealed block 2: %v, want ErrNotFound", err)
			}
			if l.Safe().Header.Number.Uint64() != 1 {
				t.Fatalf("torn seal: safe block %v, want 1", l.Safe().Header.Number)
			}
		}
		// The dropped mini-block can be appended again, and survives a reopen.
		s.appendN(t, l, torn, torn)
		checkHead(t, s.open(t, disk, ledger.Config{}), s, torn)
		if len(s.mbs[torn-1].Txs) > 0 && uint64(torn) <= l.Safe().Last {
			if _, _, _, err := l.Receipt(s.mbs[torn-1].Txs[0].Hash()); err != nil {
				t.Fatalf("torn %d: receipt after re-append: %v", torn, err)
			}
		}
	}
}

func TestCorruptRecordBeforeTheTailFailsOpen(t *testing.T) {
	s := produce(t, 7, 3)
	for _, c := range []struct {
		name   string
		damage func(raw []byte) []byte
	}{
		{"flipped byte", func(raw []byte) []byte {
			raw = bytes.Clone(raw)
			raw[len(raw)/2] ^= 0x40
			return raw
		}},
		{"truncated", func(raw []byte) []byte { return raw[:len(raw)-3] }},
		{"another number", func([]byte) []byte { return s.raws[4] }},
	} {
		name, damage := c.name, c.damage
		disk := memdisk.New()
		s.appendN(t, s.open(t, disk, ledger.Config{}), 1, 7)
		b := disk.NewBatch()
		b.Set(mbKey(4), damage(s.raws[3]))
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
		if _, err := ledger.Open(disk, s.gen.Config, s.gb, s.gs, ledger.Config{}); !errors.Is(err, ledger.ErrCorrupt) {
			t.Fatalf("%s: open with mini-block 4 of 7 damaged: %v, want ErrCorrupt", name, err)
		}
	}
}

func TestDoctoredSealPoisons(t *testing.T) {
	s := produce(t, 6, 3) // seals at 3 and 6
	seal := s.mbs[5]
	if !seal.Seals() {
		t.Fatal("mini-block 6 does not seal")
	}
	for _, c := range []struct {
		name   string
		doctor func(h *types.Header)
	}{
		{"root", func(h *types.Header) { h.Root = common.Hash{1} }},
		{"tx root", func(h *types.Header) { h.TxHash = common.Hash{2} }},
		{"receipts", func(h *types.Header) { h.ReceiptHash = common.Hash{3} }},
		{"gas used", func(h *types.Header) { h.GasUsed++ }},
		{"bloom", func(h *types.Header) { h.Bloom[0] ^= 1 }},
		{"parent", func(h *types.Header) { h.ParentHash = common.Hash{4} }},
	} {
		name, doctor := c.name, c.doctor
		mb, err := chain.DecodeMiniBlock(s.raws[5])
		if err != nil {
			t.Fatal(err)
		}
		doctor(mb.Sealed)
		if err := mb.Seal(s.seqKey); err != nil {
			t.Fatal(err)
		}
		raw, err := mb.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if mb, err = chain.DecodeMiniBlock(raw); err != nil {
			t.Fatalf("%s: doctored mini-block does not decode: %v", name, err)
		}
		disk := memdisk.New()
		l := s.open(t, disk, ledger.Config{})
		s.appendN(t, l, 1, 5)
		if err := l.Append(mb, raw); !errors.Is(err, ledger.ErrSealMismatch) {
			t.Fatalf("%s: doctored seal appended: %v, want ErrSealMismatch", name, err)
		}
		if !errors.Is(l.Poisoned(), ledger.ErrSealMismatch) {
			t.Fatalf("%s: ledger not poisoned: %v", name, l.Poisoned())
		}
		for _, n := range []uint64{0, 4, 5} {
			if _, err := l.StateAt(n); !errors.Is(err, ledger.ErrSealMismatch) {
				t.Fatalf("%s: StateAt(%d) of a poisoned ledger: %v", name, n, err)
			}
		}
		if err := l.Append(s.mbs[5], s.raws[5]); !errors.Is(err, ledger.ErrSealMismatch) {
			t.Fatalf("%s: poisoned ledger appended: %v", name, err)
		}
		// Nothing of it reached the disk: a reopen is at 5 and takes the true seal.
		l = s.open(t, disk, ledger.Config{})
		checkHead(t, l, s, 5)
		s.appendN(t, l, 6, 6)
		checkHead(t, l, s, 6)
	}
}

func TestStateAtPrunedAndFuture(t *testing.T) {
	s := produce(t, 6, 3)
	l := s.open(t, memdisk.New(), ledger.Config{Window: 2})
	s.appendN(t, l, 1, 6)
	if _, err := l.StateAt(7); !errors.Is(err, ledger.ErrFuture) {
		t.Fatalf("StateAt(7) at head 6: %v, want ErrFuture", err)
	}
	for _, n := range []uint64{0, 3, 4} {
		if _, err := l.StateAt(n); !errors.Is(err, ledger.ErrPruned) {
			t.Fatalf("StateAt(%d) with window 2 at head 6: %v, want ErrPruned", n, err)
		}
	}
	for _, n := range []uint64{5, 6} {
		st, err := l.StateAt(n)
		if err != nil {
			t.Fatalf("StateAt(%d): %v", n, err)
		}
		want, _ := s.seq.Ledger().StateAt(n)
		for _, k := range s.keys {
			a := crypto.PubkeyToAddress(k.PublicKey)
			got, _ := st.Account(a)
			exp, _ := want.Account(a)
			if got != exp {
				t.Fatalf("StateAt(%d): account %v is %+v, want %+v", n, a, got, exp)
			}
		}
	}
	// Retain: mini-blocks older than it are gone from disk.
	l = s.open(t, memdisk.New(), ledger.Config{Retain: 3, SnapshotEvery: 1})
	s.appendN(t, l, 1, 6)
	if _, _, err := l.MiniBlock(2); !errors.Is(err, ledger.ErrPruned) {
		t.Fatalf("mini-block 2 with retain 3 at head 6: %v, want ErrPruned", err)
	}
	if _, _, err := l.MiniBlock(4); err != nil {
		t.Fatalf("mini-block 4 with retain 3 at head 6: %v", err)
	}
}

func TestServeRange(t *testing.T) {
	s := produce(t, 10, 4)
	l := s.open(t, memdisk.New(), ledger.Config{})
	s.appendN(t, l, 1, 10)
	if l.View() != nil {
		t.Fatal("a view was released before any Release")
	}
	// Only what is released is served: mini-blocks 7 to 10 are applied, not
	// yet durable.
	l.Release(6)
	if resp := l.View().ServeRange(&chain.RangeRequest{ID: 1, From: 5, Count: 10}, 1<<30); resp.Head != 6 || len(resp.MiniBlocks) != 2 {
		t.Fatalf("served head %d and %d mini-blocks from a view released at 6", resp.Head, len(resp.MiniBlocks))
	}
	l.Release(10)
	check := func(req chain.RangeRequest, maxBytes int, want []int) {
		t.Helper()
		resp := l.View().ServeRange(&req, maxBytes)
		if resp.ID != req.ID || resp.From != req.From || resp.Head != 10 {
			t.Fatalf("%+v: response id %d from %d head %d", req, resp.ID, resp.From, resp.Head)
		}
		if len(resp.MiniBlocks) != len(want) {
			t.Fatalf("%+v, %d bytes: %d mini-blocks, want %v", req, maxBytes, len(resp.MiniBlocks), want)
		}
		for i, n := range want {
			if !bytes.Equal(resp.MiniBlocks[i], s.raws[n-1]) {
				t.Fatalf("%+v: mini-block #%d is not mini-block %d", req, i, n)
			}
		}
		// It survives the wire.
		if _, err := chain.DecodeRangeResponse(resp.Encode()); err != nil {
			t.Fatal(err)
		}
	}
	huge := 1 << 30
	check(chain.RangeRequest{ID: 7, From: 3, Count: 4}, huge, []int{3, 4, 5, 6})
	check(chain.RangeRequest{ID: 8, From: 8, Count: 10}, huge, []int{8, 9, 10})
	check(chain.RangeRequest{ID: 9, From: 10, Count: 1}, huge, []int{10})
	check(chain.RangeRequest{ID: 10, From: 11, Count: 5}, huge, nil)
	two := len(s.raws[2]) + len(s.raws[3])
	check(chain.RangeRequest{ID: 11, From: 3, Count: 4}, two, []int{3, 4})
	check(chain.RangeRequest{ID: 12, From: 3, Count: 4}, two-1, []int{3})
	check(chain.RangeRequest{ID: 13, From: 3, Count: 4}, 1, []int{3}) // at least one
}

// A ledger whose Retain is smaller than the distance between snapshots
// deletes, before the next snapshot is taken, mini-blocks that recovery needs
// to re-apply from the last one.
func TestReopenWithSmallRetain(t *testing.T) {
	s := produce(t, 10, 2)
	disk := memdisk.New()
	l := s.open(t, disk, ledger.Config{Retain: 3})
	s.appendN(t, l, 1, 10)
	checkHead(t, l, s, 10)
	l2, err := ledger.Open(disk, s.gen.Config, s.gb, s.gs, ledger.Config{Retain: 3})
	if err != nil {
		return // refusing to open is an acceptable answer
	}
	checkHead(t, l2, s, 10)
}

func TestBlockNumberByHash(t *testing.T) {
	const N = 13
	s := produce(t, N, 3) // seals at 3, 6, 9, 12
	disk := memdisk.New()
	orig := s.open(t, disk, ledger.Config{Cache: 2}) // only the two newest seals in memory
	s.appendN(t, orig, 1, N)
	check := func(l *ledger.Ledger, name string) {
		t.Helper()
		if n, err := l.BlockNumber(s.gb.Hash()); err != nil || n != 0 {
			t.Fatalf("%s: genesis: %d %v", name, n, err)
		}
		for b := uint64(1); b <= 4; b++ {
			h := s.mbs[3*b-1].Sealed.Hash()
			if n, err := l.BlockNumber(h); err != nil || n != b {
				t.Fatalf("%s: block %d by hash: %d %v", name, b, n, err)
			}
		}
		for _, h := range []common.Hash{{1}, s.mbs[0].Hash()} {
			if _, err := l.BlockNumber(h); !errors.Is(err, ledger.ErrNotFound) {
				t.Fatalf("%s: unknown hash %v: %v, want ErrNotFound", name, h, err)
			}
		}
	}
	check(orig, "appended")
	check(s.open(t, disk, ledger.Config{Cache: 1}), "reopened")

	// A record written by a seal that was not applied (a torn tail) names
	// no block.
	torn := memdisk.New()
	l := s.open(t, torn, ledger.Config{})
	s.appendN(t, l, 1, 12)
	raw := s.raws[11]
	b := torn.NewBatch()
	b.Set(mbKey(12), raw[:len(raw)/2])
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	l = s.open(t, torn, ledger.Config{})
	if _, err := l.BlockNumber(s.mbs[11].Sealed.Hash()); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("hash of a torn seal: %v, want ErrNotFound", err)
	}
	if n, err := l.BlockNumber(s.mbs[8].Sealed.Hash()); err != nil || n != 3 {
		t.Fatalf("block 3 after the torn seal: %d %v", n, err)
	}

	// A damaged record is an error, never a wrong answer.
	h := s.mbs[2].Sealed.Hash()
	key := append([]byte("ledger/bh/"), h[:]...)
	good, err := disk.Get(key)
	if err != nil {
		t.Fatalf("no record under ledger/bh/<hash>: %v", err)
	}
	bad := bytes.Clone(good)
	bad[len(bad)/2] ^= 0x10
	b = disk.NewBatch()
	b.Set(key, bad)
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.open(t, disk, ledger.Config{Cache: 1}).BlockNumber(h); !errors.Is(err, ledger.ErrCorrupt) {
		t.Fatalf("damaged record: %v, want ErrCorrupt", err)
	}
}

// Clients read views while the owner applies and releases mini-blocks, on
// other goroutines, at once: every read answers from its view's height,
// whatever the owner has applied since, and a view's head never goes back.
// (go test -race checks that they share nothing unguarded.)
func TestViewsAreReadWhileTheOwnerAppends(t *testing.T) {
	s := produce(t, 40, 4)
	l := s.open(t, memdisk.New(), ledger.Config{})
	// What each account's nonce is after each mini-block.
	nonces := make([]map[common.Address]uint64, len(s.mbs)+1)
	nonces[0] = map[common.Address]uint64{}
	signer := types.LatestSignerForChainID(big.NewInt(testChainID))
	for i, mb := range s.mbs {
		next := map[common.Address]uint64{}
		for a, n := range nonces[i] { // copying a map: order cannot leak
			next[a] = n
		}
		for _, tx := range mb.Txs {
			from, err := types.Sender(signer, tx)
			if err != nil {
				t.Fatal(err)
			}
			next[from] = tx.Nonce() + 1
		}
		nonces[i+1] = next
	}
	accounts := []common.Address{crypto.PubkeyToAddress(s.keys[0].PublicKey), crypto.PubkeyToAddress(s.keys[1].PublicKey)}
	l.Release(0)
	stop := make(chan struct{})
	errs := make(chan error, 4)
	for r := range 4 {
		go func() {
			var last uint64
			for {
				select {
				case <-stop:
					errs <- nil
					return
				default:
				}
				v := l.View()
				head, _ := v.Head()
				if head.Number < last {
					errs <- fmt.Errorf("reader %d: the view went back from %d to %d", r, last, head.Number)
					return
				}
				last = head.Number
				st, err := v.StateAt(head.Number)
				if err != nil {
					errs <- err
					return
				}
				for _, a := range accounts {
					if acct, _ := st.Account(a); acct.Nonce != nonces[head.Number][a] {
						errs <- fmt.Errorf("reader %d: nonce of %v at %d is %d, want %d", r, a, head.Number, acct.Nonce, nonces[head.Number][a])
						return
					}
				}
				if last := v.Safe().Last; last > 0 {
					// The newest sealed block's last mini-block's receipts
					// are out; those of the open block are not.
					mb := s.mbs[last-1]
					for _, tx := range mb.Txs {
						if _, _, loc, err := v.Receipt(tx.Hash()); err != nil || loc.MiniBlock != last {
							errs <- fmt.Errorf("reader %d: receipt of %v at %d: %v %v", r, tx.Hash(), head.Number, loc, err)
							return
						}
					}
				}
				// A transaction of the open block, or of a later
				// mini-block, is not there yet.
				if int(head.Number) < len(s.mbs) {
					for _, tx := range s.mbs[v.Safe().Last].Txs {
						if _, _, _, err := v.Receipt(tx.Hash()); !errors.Is(err, ledger.ErrNotFound) {
							errs <- fmt.Errorf("reader %d: a receipt of mini-block %d from the view at %d: %v", r, head.Number+1, head.Number, err)
							return
						}
					}
				}
				if _, err := v.Block(v.Safe().Header.Number.Uint64()); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for n := 1; n <= len(s.mbs); n++ {
		if err := l.Append(s.mbs[n-1], s.raws[n-1]); err != nil {
			t.Fatal(err)
		}
		if n%3 == 0 || n == len(s.mbs) {
			l.Release(uint64(n)) // a sync completed: releases reach back over several appends
		}
	}
	close(stop)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := l.View().Number(); got != uint64(len(s.mbs)) {
		t.Fatalf("released view at %d, want %d", got, len(s.mbs))
	}
}

// A sequencer group's terms never go back along the chain: a mini-block
// from an older term than the head's is refused (ErrNotNext), one from the
// same or a newer term applies.
func TestAppendRefusesAnOlderTerm(t *testing.T) {
	s := produce(t, 3, 10)
	l := s.open(t, memdisk.New(), ledger.Config{})
	resign := func(n int, term uint64, parent common.Hash) *chain.MiniBlock {
		mb, err := chain.DecodeMiniBlock(s.raws[n-1])
		if err != nil {
			t.Fatal(err)
		}
		mb.Header.Term, mb.Header.ParentHash = term, parent
		if err := mb.Seal(s.seqKey); err != nil {
			t.Fatal(err)
		}
		return mb
	}
	_, genesis := l.Head()
	one := resign(1, 5, genesis)
	if err := l.Append(one, nil); err != nil {
		t.Fatal(err)
	}
	if err := l.Append(resign(2, 4, one.Hash()), nil); !errors.Is(err, ledger.ErrNotNext) {
		t.Fatalf("term 4 after term 5: %v, want ErrNotNext", err)
	}
	if err := l.Append(resign(2, 5, one.Hash()), nil); err != nil {
		t.Fatalf("the same term again: %v", err)
	}
	if head, _ := l.Head(); head.Number != 2 || head.Term != 5 {
		t.Fatalf("head %d at term %d, want 2 at term 5", head.Number, head.Term)
	}
}
