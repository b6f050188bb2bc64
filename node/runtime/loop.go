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
	"sync"
	"sync/atomic"
	"time"

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

// LoopConfig bounds a node's event loop.
type LoopConfig struct {
	// Inbound bounds the network messages waiting for the loop; beyond it
	// they are dropped and counted (the network may lose messages; nodes
	// repair). Default 4096.
	Inbound int
	// Requests bounds the client calls waiting for the loop; beyond it a
	// caller waits (back-pressure) until its context ends. Default 1024.
	Requests int
	// Subscribers bounds the mini-block subscriptions. Default 256.
	Subscribers int
	Log         *slog.Logger
}

func (c LoopConfig) withDefaults() LoopConfig {
	if c.Inbound <= 0 {
		c.Inbound = 4096
	}
	if c.Requests <= 0 {
		c.Requests = 1024
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

// ErrTooManySubscribers is returned when Subscribers subscriptions exist.
var ErrTooManySubscribers = errors.New("too many subscriptions")

// LoopMetrics count what went through a loop.
type LoopMetrics struct {
	Events, Messages, MessagesDropped, Requests, Timers uint64
}

type inbound struct {
	from node.NodeID
	msg  []byte
}

// Loop drives one node, exactly as the simulator does, from one
// goroutine: real timers, the network's messages and client calls become
// the node's events, one at a time. It is the node's node.Env.
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
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once

	running atomic.Bool
	events  atomic.Uint64
	nmsgs   atomic.Uint64
	dropped atomic.Uint64
	nreqs   atomic.Uint64
	ntimers atomic.Uint64

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
		rng:    rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:]))),
		msgs:   make(chan inbound, cfg.Inbound),
		reqs:   make(chan *request, cfg.Requests),
		timers: make(chan node.TimerID, 64),
		calls:  make(chan func(), 16),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		subs:   map[uint64]chan *chain.MiniBlock{},
	}
}

// SetNetwork gives the loop its network. Deliver is the function the
// network must call with inbound messages.
func (l *Loop) SetNetwork(n netPort) { l.net = n }

// Deliver hands the loop a message from the network. It never blocks: a
// full inbound queue drops the message.
func (l *Loop) Deliver(from node.NodeID, msg []byte) {
	select {
	case l.msgs <- inbound{from, msg}:
	default:
		l.dropped.Add(1)
	}
}

// Metrics returns the loop's counters.
func (l *Loop) Metrics() LoopMetrics {
	return LoopMetrics{Events: l.events.Load(), Messages: l.nmsgs.Load(), MessagesDropped: l.dropped.Load(), Requests: l.nreqs.Load(), Timers: l.ntimers.Load()}
}

// Running reports whether the node started and has not stopped.
func (l *Loop) Running() bool { return l.running.Load() }

// Run starts the node and drives it until ctx ends; then it stops between
// two events (the current step finishes) and returns. The caller then
// closes the network and the disk. Run returns the node's start error, if
// any.
func (l *Loop) Run(ctx context.Context) error {
	defer close(l.done)
	defer l.shutdown()
	if err := l.n.Start(l); err != nil {
		return err
	}
	l.running.Store(true)
	for {
		select {
		case <-ctx.Done():
			return nil
		case id := <-l.timers:
			l.ntimers.Add(1)
			l.n.OnTimer(id)
		case m := <-l.msgs:
			l.nmsgs.Add(1)
			l.n.OnMessage(m.from, m.msg)
		case r := <-l.reqs:
			l.nreqs.Add(1)
			l.n.OnRequest(r)
		case fn := <-l.calls:
			fn()
		}
		l.events.Add(1)
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

// After implements node.Env with a real timer. A timer that fires while
// the loop is busy waits its turn; one that fires after shutdown is lost.
func (l *Loop) After(d time.Duration, id node.TimerID) {
	time.AfterFunc(max(d, 0), func() {
		select {
		case l.timers <- id:
		case <-l.stop:
		}
	})
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

type request struct {
	body []byte
	done chan []byte
}

func (r *request) Client() node.NodeID { return "rpc" }
func (r *request) Body() []byte        { return r.body }

// Respond keeps the first answer; a node answers each request once.
func (r *request) Respond(body []byte) {
	select {
	case r.done <- bytes.Clone(body):
	default:
	}
}

// Do runs a client call on the node and returns its answer. It waits for
// room in the request queue (back-pressure) and for the answer, until ctx
// ends or the loop stops.
func (l *Loop) Do(ctx context.Context, c *api.Call) (*api.Answer, error) {
	if !l.running.Load() {
		return nil, ErrStopped
	}
	r := &request{body: c.Encode(), done: make(chan []byte, 1)}
	select {
	case l.reqs <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-l.stop:
		return nil, ErrStopped
	}
	select {
	case body := <-r.done:
		return api.DecodeAnswer(body)
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-l.stop:
		return nil, ErrStopped
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
