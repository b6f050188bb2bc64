package runtime

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
)

// netPort is what the loop needs of the network (Network satisfies it).
type netPort interface {
	Send(to node.NodeID, msg []byte)
	Subscribe(topic node.Topic) error
	Publish(topic node.Topic, msg []byte)
}

// Syncer is a disk that can make what was committed to it durable (Disk,
// pebble, does). A Loop over a disk that is not one completes every sync
// at once: the disk has nothing to lose.
type Syncer interface {
	Sync() error
}

// Admitter is a node that admits transactions before its step (the
// sequencer): Admit decodes a raw transaction, runs the checks that need
// no state and recovers its sender, from any goroutine. The Loop runs it
// on the caller's goroutine, in a bounded pool, and hands the step the
// admitted transaction.
type Admitter interface {
	Admit(raw []byte) (*types.Transaction, error)
}

// LoopConfig bounds a node's event loop.
type LoopConfig struct {
	// Inbound bounds the network messages waiting for the loop; beyond it
	// they are dropped and counted (the network may lose messages; nodes
	// repair). Default 4096.
	Inbound int
	// Requests bounds the client calls waiting for the loop's step (sends);
	// beyond it a caller waits (back-pressure) until its context ends.
	// Default 1024.
	Requests int
	// Reads bounds the client calls served off the step at once; beyond
	// it a caller waits, until its context ends or for ReadTimeout at
	// most (then ErrBusy). Default 4 per CPU.
	Reads int
	// Calls bounds, among them, the heavy ones (eth_call, eth_estimateGas,
	// logs, traces) that run at once, so that they leave the step a core: a storm
	// of long calls queues behind this bound (for ReadTimeout at most,
	// then ErrBusy), and a queued call whose client gives up never runs.
	// Default: half the CPUs, at least one.
	Calls int
	// Admissions bounds the transactions admitted at once (decoding and
	// signature recovery, before the step); beyond it a caller waits until
	// its context ends. Default: one per CPU.
	Admissions int
	// ReadTimeout is the longest a read waits and runs, whatever its
	// client allows: an eth_call still running then stops with an error.
	// Default 5 s.
	ReadTimeout time.Duration
	// Subscribers bounds the mini-block subscriptions. Default 256.
	Subscribers int
	// Precheck, when set, runs on the network's goroutine for each inbound
	// message before it is queued for the step: the place to do a
	// message's costly, stateless checks (signature recovery) off the
	// step, where they parallelise across peers. It must be safe for
	// concurrent use and leave the outcome of the step's own checks as
	// it was (chain.PrecheckSigners warms the signer cache).
	Precheck func(msg []byte)
	Log      *slog.Logger
}

func (c LoopConfig) withDefaults() LoopConfig {
	if c.Inbound <= 0 {
		c.Inbound = 4096
	}
	if c.Requests <= 0 {
		c.Requests = 1024
	}
	if c.Reads <= 0 {
		c.Reads = 4 * goruntime.GOMAXPROCS(0)
	}
	if c.Calls <= 0 {
		c.Calls = max(1, goruntime.GOMAXPROCS(0)/2)
	}
	if c.Admissions <= 0 {
		c.Admissions = goruntime.GOMAXPROCS(0)
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = 5 * time.Second
	}
	if c.Subscribers <= 0 {
		c.Subscribers = 256
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c
}

// ErrStopped is returned to a client call made while the loop is not
// running (starting, or shut down).
var ErrStopped = errors.New("node is shutting down")

// ErrBusy is returned to a read that waited ReadTimeout for a slot
// (Config.Reads, Config.Calls) without getting one.
var ErrBusy = errors.New("node busy")

// ErrTooManySubscribers is returned when Subscribers subscriptions exist.
var ErrTooManySubscribers = errors.New("too many subscriptions")

// LoopMetrics count what went through a loop.
type LoopMetrics struct {
	Events, Messages, MessagesDropped, Requests, Timers uint64
	// Reads are the calls served off the step; ReadsAbandoned those whose
	// client was gone before they ran.
	Reads, ReadsAbandoned uint64
	// Admitted and Refused count the transactions admission passed to the
	// step and those it answered itself.
	Admitted, Refused uint64
	// Syncs are the syncs the node asked for; Fsyncs the disk syncs that
	// completed them (one per group).
	Syncs, Fsyncs uint64
}

type inbound struct {
	from node.NodeID
	msg  []byte
}

// synced is a completed group of syncs: every sync up to id.
type synced struct {
	id  node.SyncID
	err error
}

// Loop drives one node, exactly as the simulator does, from one
// goroutine: real timers, the network's messages, sends and the disk's
// sync completions become the node's events, one at a time. It is the
// node's node.Env. Around that step it runs, on other goroutines, what
// does not need it:
//
//   - admission (Admitter): decoding and signature recovery of sent
//     transactions, on the callers' goroutines, at most Admissions at once;
//   - reads (node.ReadServer): every call but a send, served from the
//     node's released view, at most Reads at once, each stopped when its
//     client goes away or its deadline passes;
//   - syncs: a writer goroutine makes the disk durable for the node's
//     Env.Sync calls, one fsync for all those waiting (group commit), and
//     hands the completion back to the step as OnSynced.
type Loop struct {
	cfg  LoopConfig
	id   node.NodeID
	n    node.Node
	disk node.Disk
	net  netPort
	rng  *rand.Rand

	msgs   chan inbound
	reqs   chan *request
	timers chan node.TimerID
	calls  chan func() // work to run on the loop (samplers)
	synced chan synced
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once

	soon []node.TimerID // zero-delay timers: fired once nothing else waits

	syncAsked atomic.Uint64 // the newest sync asked for
	syncWake  chan struct{} // wakes the writer

	readSlots  chan struct{}
	callSlots  chan struct{}
	admitSlots chan struct{}

	running atomic.Bool
	events  atomic.Uint64
	nmsgs   atomic.Uint64
	dropped atomic.Uint64
	nreqs   atomic.Uint64
	ntimers atomic.Uint64
	nreads  atomic.Uint64
	gone    atomic.Uint64
	admits  atomic.Uint64
	refused atomic.Uint64
	nsyncs  atomic.Uint64
	fsyncs  atomic.Uint64

	subMu sync.Mutex
	subs  map[uint64]chan *chain.MiniBlock
	subID uint64
}

// NewLoop returns the loop of node n, identified as id on the network,
// writing to disk. Call SetNetwork before Run.
func NewLoop(id node.NodeID, n node.Node, disk node.Disk, cfg LoopConfig) *Loop {
	cfg = cfg.withDefaults()
	var seed [16]byte
	if _, err := crand.Read(seed[:]); err != nil {
		panic(fmt.Sprintf("runtime: no crypto randomness: %v", err))
	}
	return &Loop{
		cfg: cfg, id: id, n: n, disk: disk,
		rng:        rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:]))),
		msgs:       make(chan inbound, cfg.Inbound),
		reqs:       make(chan *request, cfg.Requests),
		timers:     make(chan node.TimerID, 64),
		calls:      make(chan func(), 16),
		synced:     make(chan synced, 1),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
		syncWake:   make(chan struct{}, 1),
		readSlots:  make(chan struct{}, cfg.Reads),
		callSlots:  make(chan struct{}, cfg.Calls),
		admitSlots: make(chan struct{}, cfg.Admissions),
		subs:       map[uint64]chan *chain.MiniBlock{},
	}
}

// SetNetwork gives the loop its network. Deliver is the function the
// network must call with inbound messages.
func (l *Loop) SetNetwork(n netPort) { l.net = n }

// Deliver hands the loop a message from the network. It never blocks: a
// full inbound queue drops the message.
func (l *Loop) Deliver(from node.NodeID, msg []byte) {
	if l.cfg.Precheck != nil {
		l.cfg.Precheck(msg)
	}
	select {
	case l.msgs <- inbound{from, msg}:
	default:
		l.dropped.Add(1)
	}
}

// Metrics returns the loop's counters.
func (l *Loop) Metrics() LoopMetrics {
	return LoopMetrics{
		Events: l.events.Load(), Messages: l.nmsgs.Load(), MessagesDropped: l.dropped.Load(), Requests: l.nreqs.Load(),
		Timers: l.ntimers.Load(), Reads: l.nreads.Load(), ReadsAbandoned: l.gone.Load(), Admitted: l.admits.Load(),
		Refused: l.refused.Load(), Syncs: l.nsyncs.Load(), Fsyncs: l.fsyncs.Load(),
	}
}

// Running reports whether the node started and has not stopped.
func (l *Loop) Running() bool { return l.running.Load() }

// ErrSync is what Run returns when the disk failed to sync: what the node
// let out depends on it, so the process must stop and restart from what
// is durable.
var ErrSync = errors.New("disk sync failed")

// Run starts the node and drives it until ctx ends; then it stops between
// two events (the current step finishes) and returns. The caller then
// closes the network and the disk. Run returns the node's start error, or
// ErrSync if the disk could not sync.
func (l *Loop) Run(ctx context.Context) error {
	defer close(l.done)
	writerDone := make(chan struct{})
	go l.writer(writerDone)
	defer func() { <-writerDone }() // after shutdown stopped it
	defer l.shutdown()
	if err := l.n.Start(l); err != nil {
		return err
	}
	l.running.Store(true)
	for {
		if len(l.soon) > 0 {
			// Zero-delay timers fire once the node has taken everything
			// that was waiting for it: "when idle".
			select {
			case <-ctx.Done():
				return nil
			case s := <-l.synced:
				if err := l.onSynced(s); err != nil {
					return err
				}
			case id := <-l.timers:
				l.onTimer(id)
			case m := <-l.msgs:
				l.onMessage(m)
			case r := <-l.reqs:
				l.onRequest(r)
			case fn := <-l.calls:
				fn()
			default:
				id := l.soon[0]
				l.soon = l.soon[1:]
				l.onTimer(id)
			}
			l.events.Add(1)
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case s := <-l.synced:
			if err := l.onSynced(s); err != nil {
				return err
			}
		case id := <-l.timers:
			l.onTimer(id)
		case m := <-l.msgs:
			l.onMessage(m)
		case r := <-l.reqs:
			l.onRequest(r)
		case fn := <-l.calls:
			fn()
		}
		l.events.Add(1)
	}
}

func (l *Loop) onTimer(id node.TimerID) {
	l.ntimers.Add(1)
	l.n.OnTimer(id)
}

func (l *Loop) onMessage(m inbound) {
	l.nmsgs.Add(1)
	l.n.OnMessage(m.from, m.msg)
}

func (l *Loop) onRequest(r *request) {
	l.nreqs.Add(1)
	if r.ctx.Err() != nil {
		// The client is gone: drop the call before it runs.
		l.gone.Add(1)
		r.Respond(api.Failed(api.Errorf(api.KindUnavailable, "the client went away")).Encode())
		return
	}
	l.n.OnRequest(r)
}

func (l *Loop) onSynced(s synced) error {
	if s.err != nil {
		l.cfg.Log.Error("disk sync failed: stopping the node; it restarts from what is durable", "err", s.err)
		return fmt.Errorf("%w: %v", ErrSync, s.err)
	}
	l.n.OnSynced(s.id)
	return nil
}

// writer makes the disk durable for the node's syncs, off the step: it
// waits for a sync to be asked for, syncs the disk once for every sync
// asked so far, and tells the step.
func (l *Loop) writer(done chan struct{}) {
	defer close(done)
	var completed uint64
	syncer, _ := l.disk.(Syncer)
	for {
		select {
		case <-l.stop:
			return
		case <-l.syncWake:
		}
		for {
			target := l.syncAsked.Load()
			if target <= completed {
				break
			}
			var err error
			if syncer != nil {
				err = syncer.Sync()
			}
			l.fsyncs.Add(1)
			select {
			case l.synced <- synced{id: node.SyncID(target), err: err}:
			case <-l.stop:
				return
			}
			if err != nil {
				return
			}
			completed = target
		}
	}
}

func (l *Loop) shutdown() {
	l.running.Store(false)
	l.once.Do(func() { close(l.stop) })
	// Calls still queued get an answer: the node will not take them.
	for {
		select {
		case r := <-l.reqs:
			r.Respond(api.Failed(api.Errorf(api.KindUnavailable, "%v", ErrStopped)).Encode())
		default:
			l.subMu.Lock()
			for id, ch := range l.subs {
				close(ch)
				delete(l.subs, id)
			}
			l.subMu.Unlock()
			return
		}
	}
}

// Done is closed once Run has returned.
func (l *Loop) Done() <-chan struct{} { return l.done }

// OnLoop runs fn on the loop goroutine, between two events, and waits for
// it; it gives up when ctx ends or the loop stops. Samplers read node
// state with it.
func (l *Loop) OnLoop(ctx context.Context, fn func()) error {
	finished := make(chan struct{})
	select {
	case l.calls <- func() { fn(); close(finished) }:
	case <-ctx.Done():
		return ctx.Err()
	case <-l.stop:
		return ErrStopped
	}
	select {
	case <-finished:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-l.stop:
		return ErrStopped
	}
}

// The node.Env of the node. Its methods run on the loop goroutine.

// ID implements node.Env.
func (l *Loop) ID() node.NodeID { return l.id }

// Now implements node.Env: the wall clock.
func (l *Loop) Now() time.Time { return time.Now() }

// After implements node.Env with a real timer. A zero delay fires once
// the node has taken every event already waiting for it (when it is idle);
// a timer that fires while the loop is busy waits its turn; one that fires
// after shutdown is lost.
func (l *Loop) After(d time.Duration, id node.TimerID) {
	if d <= 0 {
		l.soon = append(l.soon, id)
		return
	}
	time.AfterFunc(d, func() {
		select {
		case l.timers <- id:
		case <-l.stop:
		}
	})
}

// Sync implements node.Env: the writer goroutine syncs the disk and the
// completion comes back as OnSynced.
func (l *Loop) Sync() node.SyncID {
	id := l.syncAsked.Add(1)
	l.nsyncs.Add(1)
	select {
	case l.syncWake <- struct{}{}:
	default: // the writer is awake already: it takes this one too
	}
	return node.SyncID(id)
}

// Send implements node.Env.
func (l *Loop) Send(to node.NodeID, msg []byte) {
	if l.net != nil {
		l.net.Send(to, bytes.Clone(msg))
	}
}

// Subscribe implements node.Env.
func (l *Loop) Subscribe(topic node.Topic) {
	if l.net == nil {
		return
	}
	if err := l.net.Subscribe(topic); err != nil {
		l.cfg.Log.Error("cannot subscribe", "topic", topic, "err", err)
	}
}

// Publish implements node.Env.
func (l *Loop) Publish(topic node.Topic, msg []byte) {
	if l.net != nil {
		l.net.Publish(topic, bytes.Clone(msg))
	}
}

// Disk implements node.Env.
func (l *Loop) Disk() node.Disk { return l.disk }

// Rand implements node.Env: seeded from crypto randomness at start.
func (l *Loop) Rand() *rand.Rand { return l.rng }

// Log implements node.Env.
func (l *Loop) Log() *slog.Logger { return l.cfg.Log }

// Mark implements node.Env: production does not count coverage marks.
func (l *Loop) Mark(string) {}

// Client calls.

// request is a client call, carried decoded (api.CallRequest) and answered
// with the answer itself (api.AnswerRequest): nothing is encoded between
// the RPC server and the node.
type request struct {
	ctx  context.Context
	call *api.Call
	done chan *api.Answer
}

func (r *request) Client() node.NodeID { return "rpc" }
func (r *request) Body() []byte        { return r.call.Encode() }
func (r *request) Call() *api.Call     { return r.call }

// Answer keeps the first answer; a node answers each request once.
func (r *request) Answer(a *api.Answer) {
	select {
	case r.done <- a:
	default:
	}
}

// Respond implements node.Request for a node that answers in bytes.
func (r *request) Respond(body []byte) {
	a, err := api.DecodeAnswer(body)
	if err != nil {
		a = api.Failed(fmt.Errorf("a malformed answer: %w", err))
	}
	r.Answer(a)
}

// Do runs a client call on the node and returns its answer. A send is
// admitted on the caller's goroutine (Admitter), then waits for room in
// the step's request queue (back-pressure); any other call is served off
// the step (node.ReadServer). Each waits until ctx ends or the loop stops;
// ctx ending also stops a running read (an EVM call) and drops a queued
// call before it runs.
func (l *Loop) Do(ctx context.Context, c *api.Call) (*api.Answer, error) {
	if !l.running.Load() {
		return nil, ErrStopped
	}
	r := &request{ctx: ctx, call: c, done: make(chan *api.Answer, 1)}
	send := c.Method == api.MethodSendTx || c.Method == api.MethodSendTxSync
	if rs, ok := l.n.(node.ReadServer); ok && !send {
		// ReadTimeout bounds the whole read, its wait for a slot included:
		// a client that keeps waiting gets ErrBusy, never silence.
		rctx, cancel := context.WithTimeout(ctx, l.cfg.ReadTimeout)
		defer cancel()
		if err := acquire(rctx, l.readSlots, l.stop); err != nil {
			return nil, busy(ctx, err, "reads", l.cfg.Reads)
		}
		defer func() { <-l.readSlots }()
		if heavy(c.Method) {
			if err := acquire(rctx, l.callSlots, l.stop); err != nil {
				l.gone.Add(1)
				return nil, busy(ctx, err, "heavy calls", l.cfg.Calls)
			}
			defer func() { <-l.callSlots }()
		}
		if ctx.Err() != nil {
			l.gone.Add(1)
			return nil, ctx.Err()
		}
		l.nreads.Add(1)
		r.ctx = rctx
		if rs.Serve(rctx, r) {
			return <-r.done, nil
		}
	}
	if ad, ok := l.n.(Admitter); ok && send && c.Tx == nil {
		if err := acquire(ctx, l.admitSlots, l.stop); err != nil {
			return nil, err
		}
		tx, err := ad.Admit(c.Raw)
		<-l.admitSlots
		if err != nil {
			l.refused.Add(1)
			return api.Failed(err), nil
		}
		l.admits.Add(1)
		cp := *c
		cp.Tx = tx
		r.call = &cp
	}
	select {
	case l.reqs <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-l.stop:
		return nil, ErrStopped
	}
	select {
	case a := <-r.done:
		return a, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-l.stop:
		return nil, ErrStopped
	}
}

// heavy reports whether a read may run long: it executes EVM code or
// scans many blocks.
func heavy(m api.Method) bool {
	return m == api.MethodCall || m == api.MethodEstimateGas || m == api.MethodLogs ||
		m == api.MethodTraceTx || m == api.MethodTraceCall || m == api.MethodTraceBlock || m == api.MethodAccessList ||
		m == api.MethodSimulate
}

// acquire takes a slot of a bounded pool, waiting until ctx ends or the
// loop stops.
// busy turns a failed wait for a read slot into the client's error: its
// own context's if the client gave up, ErrBusy if ReadTimeout ran out.
func busy(client context.Context, err error, what string, limit int) error {
	if client.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: all %d slots for %s stayed taken for the read timeout", ErrBusy, limit, what)
}

func acquire(ctx context.Context, slots chan struct{}, stop chan struct{}) error {
	select {
	case slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-stop:
		return ErrStopped
	}
}

// Mini-block subscriptions.

// EmitMiniBlock hands a mini-block the node applied to every subscriber;
// the roles' OnMiniBlock hook calls it on the loop goroutine. A
// subscriber whose buffer is full is dropped: its channel closes.
func (l *Loop) EmitMiniBlock(mb *chain.MiniBlock) {
	l.subMu.Lock()
	defer l.subMu.Unlock()
	for id, ch := range l.subs { // each subscriber independently: order cannot leak
		select {
		case ch <- mb:
		default:
			close(ch)
			delete(l.subs, id)
		}
	}
}

// MiniBlocks subscribes to the mini-blocks the node applies from now on.
// The channel closes when the subscriber falls buffer behind, when cancel
// is called, or when the loop stops. With too many subscribers the
// channel is returned closed.
func (l *Loop) MiniBlocks(buffer int) (<-chan *chain.MiniBlock, func()) {
	l.subMu.Lock()
	defer l.subMu.Unlock()
	ch := make(chan *chain.MiniBlock, max(buffer, 1))
	if len(l.subs) >= l.cfg.Subscribers || !l.running.Load() {
		close(ch)
		return ch, func() {}
	}
	l.subID++
	id := l.subID
	l.subs[id] = ch
	return ch, func() {
		l.subMu.Lock()
		defer l.subMu.Unlock()
		if c, ok := l.subs[id]; ok {
			close(c)
			delete(l.subs, id)
		}
	}
}
