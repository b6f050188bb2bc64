package runtime

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/memdisk"
)

// echo is a node that answers every call with its method's number as the
// nonce, counts timers and messages, and re-arms a timer.
type echo struct {
	env      node.Env
	timers   int
	messages []string
	started  chan struct{}
	block    chan struct{} // a message "block" waits on it
}

func (e *echo) Start(env node.Env) error {
	e.env = env
	env.After(time.Millisecond, 7)
	close(e.started)
	return nil
}
func (e *echo) OnTimer(id node.TimerID) {
	e.timers++
	if e.timers < 3 {
		e.env.After(time.Millisecond, id)
	}
}
func (e *echo) OnMessage(from node.NodeID, msg []byte) {
	if string(msg) == "block" {
		<-e.block
	}
	e.messages = append(e.messages, string(from)+":"+string(msg))
}
func (e *echo) OnSynced(node.SyncID) {}
func (e *echo) OnRequest(r node.Request) {
	c, err := api.DecodeCall(r.Body())
	if err != nil {
		r.Respond(api.Failed(err).Encode())
		return
	}
	r.Respond((&api.Answer{Nonce: uint64(c.Method)}).Encode())
}

func TestLoopDrivesTheNode(t *testing.T) {
	n := &echo{started: make(chan struct{}), block: make(chan struct{})}
	l := NewLoop("me", n, memdisk.New(), LoopConfig{Inbound: 2})
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- l.Run(ctx) }()
	<-n.started
	a, err := l.Do(ctx, &api.Call{Method: api.MethodHead})
	if err != nil || a.Nonce != uint64(api.MethodHead) {
		t.Fatalf("answer %+v %v", a, err)
	}
	// Messages arrive in order; a full inbound queue drops, it does not block.
	l.Deliver("peer", []byte("block"))
	time.Sleep(20 * time.Millisecond) // the loop is now stuck in "block"
	for i := range 5 {
		l.Deliver("peer", []byte{'a' + byte(i)})
	}
	if m := l.Metrics(); m.MessagesDropped != 3 {
		t.Fatalf("dropped %d of 5 with room for 2", m.MessagesDropped)
	}
	close(n.block)
	// Timers fire on the loop: three in all.
	deadline := time.Now().Add(5 * time.Second)
	for {
		var timers, msgs int
		if err := l.OnLoop(ctx, func() { timers, msgs = n.timers, len(n.messages) }); err != nil {
			t.Fatal(err)
		}
		if timers == 3 && msgs == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timers %d, messages %d", timers, msgs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := n.messages; got[0] != "peer:block" || got[1] != "peer:a" || got[2] != "peer:b" {
		t.Fatalf("messages %v", got)
	}
	// Subscribers get mini-blocks; a slow one is dropped, not waited for.
	fast, cancelFast := l.MiniBlocks(4)
	slow, _ := l.MiniBlocks(1)
	if err := l.OnLoop(ctx, func() {
		for i := range 3 {
			l.EmitMiniBlock(&chain.MiniBlock{Header: chain.MiniBlockHeader{Number: uint64(i + 1)}})
		}
	}); err != nil {
		t.Fatal(err)
	}
	if len(fast) != 3 {
		t.Fatalf("fast subscriber got %d", len(fast))
	}
	<-slow
	if _, open := <-slow; open {
		t.Fatal("the slow subscriber was not dropped")
	}
	cancelFast()
	// Shutdown: Run returns, calls fail cleanly.
	cancel()
	if err := <-runErr; err != nil {
		t.Fatal(err)
	}
	if _, err := l.Do(context.Background(), &api.Call{Method: api.MethodHead}); !errors.Is(err, ErrStopped) {
		t.Fatalf("call after shutdown: %v", err)
	}
}

// A call waits for room in a full request queue until its context ends.
func TestLoopBackPressure(t *testing.T) {
	n := &echo{started: make(chan struct{}), block: make(chan struct{})}
	l := NewLoop("me", n, memdisk.New(), LoopConfig{Requests: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = l.Run(ctx) }()
	<-n.started
	l.Deliver("peer", []byte("block")) // the loop stops taking events
	time.Sleep(20 * time.Millisecond)
	first := make(chan error, 1)
	go func() { _, err := l.Do(ctx, &api.Call{Method: api.MethodHead}); first <- err }()
	time.Sleep(20 * time.Millisecond)
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	if _, err := l.Do(short, &api.Call{Method: api.MethodHead}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second call with a full queue: %v", err)
	}
	close(n.block)
	if err := <-first; err != nil {
		t.Fatalf("first call: %v", err)
	}
}

// Precheck runs on the delivering goroutine, before the message is queued
// for the step, and for every message, even one the full queue drops.
func TestLoopPrecheckBeforeTheStep(t *testing.T) {
	n := &echo{started: make(chan struct{}), block: make(chan struct{})}
	var prechecked []string
	l := NewLoop("me", n, memdisk.New(), LoopConfig{Inbound: 1, Precheck: func(msg []byte) { prechecked = append(prechecked, string(msg)) }})
	// Not running: the first message waits in the queue, the second is
	// dropped; both were prechecked, here, on this goroutine.
	l.Deliver("a", []byte("one"))
	l.Deliver("a", []byte("two"))
	if len(prechecked) != 2 || prechecked[0] != "one" || prechecked[1] != "two" {
		t.Fatalf("prechecked %q", prechecked)
	}
	if m := l.Metrics(); m.MessagesDropped != 1 {
		t.Fatalf("dropped %d, want 1", m.MessagesDropped)
	}
}
