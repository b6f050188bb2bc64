package rpc_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/internal/nodetest"
	"github.com/meganode/meganode/node/memdisk"
	"github.com/meganode/meganode/node/sequencer"
)

// seqBackend is a Backend over a real, in-process sequencer on a
// hand-driven environment: a goroutine ticks it (10 ms of its virtual
// clock every tickEvery of real time) and hands the mini-blocks it applies
// to the subscribers; Do runs a call under the same lock and waits for
// its answer (a synchronous send's comes with a later tick).
type seqBackend struct {
	mu      sync.Mutex
	seq     *sequencer.Sequencer
	env     *nodetest.Env
	gen     *core.Genesis
	keys    []*ecdsa.PrivateKey
	genesis common.Hash
	applied uint64 // the newest mini-block handed to subscribers
	subs    map[int]chan *chain.MiniBlock
	nextSub int

	stop, done chan struct{}
}

const (
	tickEvery = 2 * time.Millisecond
	testK     = 5 // mini-blocks per block
)

// newSeqBackend starts a sequencer on a genesis of nodetest.Genesis with
// a block gas limit of 10M and three funded accounts.
func newSeqBackend(t testing.TB) *seqBackend {
	t.Helper()
	b := &seqBackend{subs: map[int]chan *chain.MiniBlock{}, stop: make(chan struct{}), done: make(chan struct{})}
	for i := range 3 {
		b.keys = append(b.keys, nodetest.Key("account", i))
	}
	b.gen = nodetest.Genesis(b.keys, nil)
	b.gen.GasLimit = 10_000_000
	seq, err := sequencer.New(sequencer.Config{Genesis: b.gen, Key: nodetest.Key("sequencer", 0),
		MiniBlockInterval: 10 * time.Millisecond, MiniBlocksPerBlock: testK})
	if err != nil {
		t.Fatal(err)
	}
	b.env = nodetest.NewEnv("seq", memdisk.New(), nodetest.T0.Add(time.Second))
	if err := seq.Start(b.env); err != nil {
		t.Fatal(err)
	}
	b.env.CompleteSyncs(seq)
	b.seq, b.genesis = seq, seq.Ledger().Genesis().Hash()
	go b.run()
	t.Cleanup(b.close)
	return b
}

func (b *seqBackend) run() {
	defer close(b.done)
	tick := time.NewTicker(tickEvery)
	defer tick.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-tick.C:
			b.tick()
		}
	}
}

// tick advances the clock by one mini-block interval, fires the timers
// due, and hands what was applied to the subscribers.
func (b *seqBackend) tick() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.env.Clock = b.env.Clock.Add(10 * time.Millisecond)
	for len(b.env.Timers) > 0 && !b.env.Timers[0].At.After(b.env.Clock) {
		id := b.env.Timers[0].ID
		b.env.Timers = b.env.Timers[1:]
		b.seq.OnTimer(id)
		b.env.CompleteSyncs(b.seq)
	}
	l := b.seq.Ledger()
	if l == nil || l.View() == nil {
		return
	}
	v := l.View()
	for ; b.applied < v.Number(); b.applied++ {
		mb, _, err := v.MiniBlock(b.applied + 1)
		if err != nil {
			panic(err)
		}
		for id, ch := range b.subs { // each subscriber on its own: order cannot leak
			select {
			case ch <- mb:
			default:
				close(ch)
				delete(b.subs, id)
			}
		}
	}
	b.env.Published, b.env.Gossip, b.env.Sent = nil, nil, nil // keep memory flat
}

func (b *seqBackend) close() {
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	<-b.done
}

// request is a client request answered through a channel.
type request struct {
	body []byte
	ch   chan []byte
}

func (r *request) Client() node.NodeID { return "rpc" }
func (r *request) Body() []byte        { return r.body }
func (r *request) Respond(body []byte) {
	select {
	case r.ch <- bytes.Clone(body):
	default:
	}
}

func (b *seqBackend) Do(ctx context.Context, c *api.Call) (*api.Answer, error) {
	r := &request{body: c.Encode(), ch: make(chan []byte, 1)}
	b.mu.Lock()
	b.seq.OnRequest(r)
	b.mu.Unlock()
	select {
	case body := <-r.ch:
		return api.DecodeAnswer(body)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (b *seqBackend) ChainID() uint64 { return nodetest.ChainID }

func (b *seqBackend) MiniBlocks(buffer int) (<-chan *chain.MiniBlock, func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ch := make(chan *chain.MiniBlock, max(buffer, 1))
	b.nextSub++
	id := b.nextSub
	b.subs[id] = ch
	return ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if c, ok := b.subs[id]; ok {
			close(c)
			delete(b.subs, id)
		}
	}
}
