package runtime

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/internal/nodetest"
	"github.com/meganode/meganode/node/memdisk"
	"github.com/meganode/meganode/node/sequencer"
)

// The work around the step: syncs on the writer goroutine, reads and
// admission on the callers' goroutines, zero-delay timers when idle.

// syncer is a node that commits a batch and asks for a sync on every
// timer, and records the completions it hears of.
type syncer struct {
	env     node.Env
	asked   []node.SyncID
	heard   []node.SyncID
	started chan struct{}
}

func (s *syncer) Start(env node.Env) error {
	s.env = env
	close(s.started)
	return nil
}
func (s *syncer) OnTimer(node.TimerID) {
	b := s.env.Disk().NewBatch()
	b.Set([]byte("k"), []byte("v"))
	if err := b.Commit(); err != nil {
		panic(err)
	}
	s.asked = append(s.asked, s.env.Sync())
}
func (s *syncer) OnSynced(id node.SyncID)                  { s.heard = append(s.heard, id) }
func (s *syncer) OnMessage(node.NodeID, []byte)            {}
func (s *syncer) OnRequest(node.Request)                   {}
func (s *syncer) Serve(context.Context, node.Request) bool { return false }

// countingDisk is a memdisk that counts its syncs and can hold them.
type countingDisk struct {
	*memdisk.Disk
	syncs atomic.Int64
	gate  chan struct{} // a sync waits for it, when set
}

func (d *countingDisk) Sync() error {
	if d.gate != nil {
		<-d.gate
	}
	d.syncs.Add(1)
	return nil
}

// Syncs complete on the writer goroutine, in order, as the node's events;
// the syncs asked for while one is in progress complete together, with one
// disk sync (group commit).
func TestLoopSyncsOffTheStep(t *testing.T) {
	n := &syncer{started: make(chan struct{})}
	disk := &countingDisk{Disk: memdisk.New(), gate: make(chan struct{})}
	l := NewLoop("me", n, disk, LoopConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = l.Run(ctx) }()
	<-n.started
	// The first sync blocks in the disk; four more are asked meanwhile.
	for range 5 {
		if err := l.OnLoop(ctx, func() { n.OnTimer(1) }); err != nil {
			t.Fatal(err)
		}
	}
	var heard int
	_ = l.OnLoop(ctx, func() { heard = len(n.heard) })
	if heard != 0 {
		t.Fatal("a sync completed while the disk had not synced")
	}
	close(disk.gate)
	deadline := time.Now().Add(5 * time.Second)
	for {
		var asked, got []node.SyncID
		_ = l.OnLoop(ctx, func() { asked, got = append(asked, n.asked...), append(got, n.heard...) })
		if len(got) > 0 && got[len(got)-1] == asked[len(asked)-1] {
			for i := 1; i < len(got); i++ {
				if got[i] <= got[i-1] {
					t.Fatalf("completions out of order: %v", got)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("asked %v, heard %v", asked, got)
		}
		time.Sleep(time.Millisecond)
	}
	if s := disk.syncs.Load(); s < 1 || s > 3 {
		t.Fatalf("%d disk syncs for 5 syncs asked while the first was held, want 1 to 3 (grouped)", s)
	}
	if m := l.Metrics(); m.Syncs != 5 || m.Fsyncs != uint64(disk.syncs.Load()) {
		t.Fatalf("metrics %+v, disk syncs %d", m, disk.syncs.Load())
	}
}

// idler arms a zero-delay timer and records, in order, the messages and
// the timer it gets.
type idler struct {
	env     node.Env
	got     []string
	started chan struct{}
	block   chan struct{}
}

func (n *idler) Start(env node.Env) error { n.env = env; close(n.started); return nil }
func (n *idler) OnTimer(node.TimerID)     { n.got = append(n.got, "idle") }
func (n *idler) OnSynced(node.SyncID)     {}
func (n *idler) OnRequest(node.Request)   {}
func (n *idler) OnMessage(_ node.NodeID, msg []byte) {
	if string(msg) == "block" {
		n.env.After(0, 1)
		<-n.block
	}
	n.got = append(n.got, string(msg))
}

// A zero-delay timer fires once the node has taken what was waiting for
// it: it is how a sequencer closes a mini-block when idle.
func TestZeroDelayTimerFiresWhenIdle(t *testing.T) {
	n := &idler{started: make(chan struct{}), block: make(chan struct{})}
	l := NewLoop("me", n, memdisk.New(), LoopConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = l.Run(ctx) }()
	<-n.started
	l.Deliver("peer", []byte("block"))
	time.Sleep(10 * time.Millisecond) // the loop holds "block"
	for _, m := range []string{"a", "b", "c"} {
		l.Deliver("peer", []byte(m))
	}
	close(n.block)
	deadline := time.Now().Add(5 * time.Second)
	for {
		var got []string
		_ = l.OnLoop(ctx, func() { got = append(got, n.got...) })
		if len(got) == 5 {
			if strings.Join(got, ",") != "block,a,b,c,idle" {
				t.Fatalf("events %v: the zero-delay timer did not wait for the queued messages", got)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("events %v", got)
		}
		time.Sleep(time.Millisecond)
	}
}

// loopAddr holds a contract that loops until its gas runs out.
var loopAddr = common.HexToAddress("0x4000000000000000000000000000000000000004")

// watched is a sequencer whose reads report when they begin and end.
type watched struct {
	*sequencer.Sequencer
	mu        sync.Mutex
	inflight  int
	most      int // the most calls running at once
	started   int
	mini      *atomic.Int64
	allIn     int64 // mini-blocks when the 8 calls were released together
	firstOut  int64 // mini-blocks when the first call ended
	firstDone bool
	hold      chan struct{} // when set, an eth_call holds its slot until it closes
	perCall   []int64       // mini-blocks closed while each call ran, in the order the calls ended
}

func (w *watched) Serve(ctx context.Context, req node.Request) bool {
	c, err := api.CallOf(req)
	if err != nil || c.Method != api.MethodCall {
		return w.Sequencer.Serve(ctx, req)
	}
	w.mu.Lock()
	w.inflight++
	w.most = max(w.most, w.inflight)
	w.started++
	w.mu.Unlock()
	if w.hold != nil {
		<-w.hold
	}
	from := w.mini.Load()
	served := w.Sequencer.Serve(ctx, req)
	w.mu.Lock()
	w.perCall = append(w.perCall, w.mini.Load()-from)
	if !w.firstDone {
		w.firstDone, w.firstOut = true, w.mini.Load()
	}
	w.inflight--
	w.mu.Unlock()
	return served
}

func storm(t *testing.T, calls int, readTimeout ...time.Duration) (*Loop, *watched, context.Context, func()) {
	t.Helper()
	key := nodetest.Key("sequencer", 0)
	gen := nodetest.Genesis(nil, types.GenesisAlloc{loopAddr: {Code: []byte{0x5b, 0x60, 0x00, 0x56}}}) // JUMPDEST PUSH1 0 JUMP
	var minis atomic.Int64
	seq, err := sequencer.New(sequencer.Config{
		Genesis: gen, Key: key, MiniBlockInterval: 10 * time.Millisecond, MiniBlocksPerBlock: 100, MinGap: -1,
		OnMiniBlock: func(*chain.MiniBlock) { minis.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	w := &watched{Sequencer: seq, mini: &minis}
	cfg := LoopConfig{Reads: 16, Calls: calls, Log: slog.New(slog.DiscardHandler)}
	if len(readTimeout) > 0 {
		cfg.ReadTimeout = readTimeout[0]
	}
	l := NewLoop("sequencer", w, memdisk.New(), cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = l.Run(ctx); close(done) }()
	for minis.Load() < 3 { // running
		time.Sleep(time.Millisecond)
	}
	return l, w, ctx, func() { cancel(); <-done }
}

// While 8 clients run 50M-gas eth_calls, the sequencer's mini-block timer
// keeps its interval: the calls run off its step, a bounded number at a
// time (by default half the CPUs), so the step keeps a core and mini-blocks
// keep closing. (In a loop that served reads on its step, no mini-block
// could close while a call ran.) The assertion counts events, never
// times: every call saw at least two mini-blocks close while it ran (a
// 50M-gas call lasts several 10 ms intervals on any machine).
func TestLongCallsDoNotStopTheMiniBlockTimer(t *testing.T) {
	l, w, ctx, stop := storm(t, 0, time.Minute) // each call runs to its gas, however slow the build (-race)
	defer stop()
	var wg sync.WaitGroup
	answers := make([]*api.Answer, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := l.Do(ctx, &api.Call{Method: api.MethodCall, Address: loopAddr, Gas: 50_000_000, Tag: api.Latest})
			if err != nil {
				a = api.Failed(err)
			}
			answers[i] = a
		}()
	}
	wg.Wait()
	for i, a := range answers {
		if a.Err == nil || !strings.Contains(a.Err.Message, "out of gas") {
			t.Fatalf("call %d: %+v, want it to run out of its 50M gas", i, a.Err)
		}
	}
	if w.started != 8 || w.most > l.cfg.Calls {
		t.Fatalf("%d calls served off the step, at most %d at once; want 8, at most %d", w.started, w.most, l.cfg.Calls)
	}
	t.Logf("%d heavy calls at a time: mini-blocks closed while each call ran: %v", l.cfg.Calls, w.perCall)
	for i, n := range w.perCall {
		if n < 2 {
			t.Fatalf("call %d saw %d mini-blocks close while it ran (all: %v); want at least 2", i, n, w.perCall)
		}
	}
	if m := l.Metrics(); m.Reads < 8 || m.Requests != 0 {
		t.Fatalf("loop metrics %+v: the calls must be reads, never requests on the step", m)
	}
}

// Even with all 8 calls running at once, more than the cores, the step is
// not stopped: mini-blocks close while every call is in flight.
func TestMiniBlocksCloseWhileAllCallsRun(t *testing.T) {
	l, w, ctx, stop := storm(t, 8)
	defer stop()
	w.hold = make(chan struct{}) // all 8 start together
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = l.Do(ctx, &api.Call{Method: api.MethodCall, Address: loopAddr, Gas: 50_000_000, Tag: api.Latest})
		}()
	}
	for {
		w.mu.Lock()
		in := w.inflight
		w.mu.Unlock()
		if in == 8 {
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	w.allIn = w.mini.Load()
	close(w.hold)
	wg.Wait()
	if w.started != 8 || w.most != 8 {
		t.Fatalf("%d calls served off the step, at most %d at once; want 8 and 8", w.started, w.most)
	}
	closed := w.firstOut - w.allIn
	t.Logf("mini-blocks closed while all 8 calls ran: %d", closed)
	if closed < 1 {
		t.Fatalf("no mini-block closed while the 8 calls were all running")
	}
}

// A client that gives up stops its call: the EVM is interrupted, and a call
// still waiting for a read slot never runs.
func TestAbandonedCallsStop(t *testing.T) {
	l, w, ctx, stop := storm(t, 8)
	defer stop()
	var wg sync.WaitGroup
	errs := make([]error, 12)
	for i := range 12 { // 8 slots: 4 wait
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
			defer cancel()
			a, err := l.Do(cctx, &api.Call{Method: api.MethodCall, Address: loopAddr, Gas: 50_000_000, Tag: api.Latest})
			if err == nil && a.Err != nil {
				err = a.Err
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			t.Fatalf("call %d ran to completion", i)
		}
		var ae *api.Error
		if !errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &ae) && ae.Kind == api.KindTimeout) {
			t.Fatalf("call %d: %v, want its deadline", i, err)
		}
	}
	if w.started > 12 {
		t.Fatalf("%d calls ran", w.started)
	}
}

// Heavy reads run at most Calls at once; the rest wait, and a waiting one
// whose client gives up never runs.
func TestHeavyCallsAreBounded(t *testing.T) {
	l, w, ctx, stop := storm(t, 2)
	defer stop()
	var wg sync.WaitGroup
	call := func(d time.Duration) {
		defer wg.Done()
		cctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		_, _ = l.Do(cctx, &api.Call{Method: api.MethodCall, Address: loopAddr, Gas: 50_000_000, Tag: api.Latest})
	}
	wg.Add(2)
	go call(10 * time.Second)
	go call(10 * time.Second)
	for {
		w.mu.Lock()
		in := w.inflight
		w.mu.Unlock()
		if in == 2 {
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	// Two run; these wait, and give up before a slot frees.
	wg.Add(4)
	for range 4 {
		go call(time.Millisecond)
	}
	wg.Wait()
	if w.most > 2 || w.started != 2 {
		t.Fatalf("%d heavy calls ran, at most %d at once; the bound is 2 and the others gave up waiting", w.started, w.most)
	}
	if m := l.Metrics(); m.ReadsAbandoned != 4 {
		t.Fatalf("%d queued calls dropped when their clients gave up, want 4: %+v", m.ReadsAbandoned, m)
	}
	// A light read does not wait behind heavy ones.
	if a, err := l.Do(ctx, &api.Call{Method: api.MethodHead}); err != nil || a.Err != nil {
		t.Fatalf("head: %+v %v", a, err)
	}
}

// A client that would wait for a heavy-call slot longer than the read
// timeout gets ErrBusy, naming the limit, and its call never runs; the
// call that held the slot past the timeout ends with a timeout error.
func TestWaitingForASlotIsBounded(t *testing.T) {
	l, w, ctx, stop := storm(t, 1, 100*time.Millisecond)
	defer stop()
	w.hold = make(chan struct{})
	first := make(chan *api.Answer, 1)
	go func() {
		a, err := l.Do(ctx, &api.Call{Method: api.MethodCall, Address: loopAddr, Gas: 50_000_000, Tag: api.Latest})
		if err != nil {
			a = api.Failed(err)
		}
		first <- a
	}()
	for {
		w.mu.Lock()
		in := w.inflight
		w.mu.Unlock()
		if in == 1 {
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	_, err := l.Do(ctx, &api.Call{Method: api.MethodCall, Address: loopAddr, Gas: 50_000_000, Tag: api.Latest})
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "all 1 slots for heavy calls") {
		t.Fatalf("waiting call: %v, want ErrBusy naming the limit", err)
	}
	close(w.hold)
	if a := <-first; a.Err == nil || a.Err.Kind != api.KindTimeout {
		t.Fatalf("the running call: %+v, want it stopped at the read timeout", a.Err)
	}
	if w.started != 1 {
		t.Fatalf("%d calls ran, want only the first", w.started)
	}
}

// Sends are admitted before the step (decoded, checked, sender recovered
// on the caller's goroutine); a bad one is refused there and never takes
// the step's time.
func TestAdmissionBeforeTheLoop(t *testing.T) {
	key := nodetest.Key("account", 0)
	gen := nodetest.Genesis([]*ecdsa.PrivateKey{key}, nil)
	seq, err := sequencer.New(sequencer.Config{Genesis: gen, Key: nodetest.Key("sequencer", 0), MiniBlockInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	l := NewLoop("sequencer", seq, memdisk.New(), LoopConfig{Log: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = l.Run(ctx) }()
	for !l.Running() {
		time.Sleep(time.Millisecond)
	}
	signer := types.LatestSignerForChainID(big.NewInt(nodetest.ChainID))
	tx := types.MustSignNewTx(key, signer, &types.DynamicFeeTx{ChainID: big.NewInt(nodetest.ChainID), Nonce: 0,
		GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(10 * params.GWei), Gas: 21_000, To: &nodetest.Sink, Value: big.NewInt(1)})
	raw, _ := tx.MarshalBinary()
	a, err := l.Do(ctx, &api.Call{Method: api.MethodSendTxSync, Raw: raw})
	if err != nil || a.Err != nil || a.Receipt == nil || a.Receipt.From != crypto.PubkeyToAddress(key.PublicKey) {
		t.Fatalf("admitted send: %+v %v", a, err)
	}
	bad := types.MustSignNewTx(key, signer, &types.DynamicFeeTx{ChainID: big.NewInt(nodetest.ChainID), Nonce: 1,
		GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(10 * params.GWei), Gas: 20_000, To: &nodetest.Sink})
	braw, _ := bad.MarshalBinary()
	requests := l.Metrics().Requests
	a, err = l.Do(ctx, &api.Call{Method: api.MethodSendTxSync, Raw: braw})
	if err != nil || a.Err == nil || a.Err.Kind != api.KindIntrinsicGas {
		t.Fatalf("refused send: %+v %v", a, err)
	}
	if m := l.Metrics(); m.Requests != requests || m.Refused != 1 || m.Admitted != 1 {
		t.Fatalf("metrics %+v: the refused send must not reach the step", m)
	}
}
