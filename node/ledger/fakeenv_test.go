package ledger_test

import (
	"bytes"
	"log/slog"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/meganode/meganode/node"
)

// fakeEnv is a hand-driven node.Env: the clock moves only when a test moves
// it, timers wait in a sorted list until a test fires them, and sends and
// publishes are recorded.
type fakeEnv struct {
	id        node.NodeID
	now       time.Time
	disk      node.Disk
	rng       *rand.Rand
	log       *slog.Logger
	timers    []fakeTimer // by due time, then arming order
	armed     uint64
	sent      []sentMsg
	published [][]byte
	subs      []node.Topic
}

type fakeTimer struct {
	at  time.Time
	seq uint64
	id  node.TimerID
}

type sentMsg struct {
	to  node.NodeID
	msg []byte
}

func newFakeEnv(id node.NodeID, disk node.Disk, now time.Time) *fakeEnv {
	return &fakeEnv{id: id, now: now, disk: disk, rng: rand.New(rand.NewPCG(1, 2)), log: slog.New(slog.DiscardHandler)}
}

func (e *fakeEnv) ID() node.NodeID        { return e.id }
func (e *fakeEnv) Now() time.Time         { return e.now }
func (e *fakeEnv) Disk() node.Disk        { return e.disk }
func (e *fakeEnv) Rand() *rand.Rand       { return e.rng }
func (e *fakeEnv) Log() *slog.Logger      { return e.log }
func (e *fakeEnv) Subscribe(t node.Topic) { e.subs = append(e.subs, t) }

func (e *fakeEnv) Send(to node.NodeID, msg []byte) {
	e.sent = append(e.sent, sentMsg{to: to, msg: bytes.Clone(msg)})
}

func (e *fakeEnv) Publish(_ node.Topic, msg []byte) {
	e.published = append(e.published, bytes.Clone(msg))
}

func (e *fakeEnv) After(d time.Duration, id node.TimerID) {
	t := fakeTimer{at: e.now.Add(d), seq: e.armed, id: id}
	e.armed++
	i, _ := slices.BinarySearchFunc(e.timers, t, func(a, b fakeTimer) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return int(a.seq) - int(b.seq)
	})
	e.timers = slices.Insert(e.timers, i, t)
}

// fire takes the earliest pending timer with id off the list and delivers
// it to n. The clock does not move: the test sets it.
func (e *fakeEnv) fire(t testing.TB, n node.Node, id node.TimerID) {
	t.Helper()
	i := slices.IndexFunc(e.timers, func(x fakeTimer) bool { return x.id == id })
	if i < 0 {
		t.Fatalf("no timer %d pending", id)
	}
	e.timers = slices.Delete(e.timers, i, i+1)
	n.OnTimer(id)
}

// fakeReq is a client request that records its answers.
type fakeReq struct {
	body    []byte
	answers [][]byte
}

func (r *fakeReq) Client() node.NodeID { return "client" }
func (r *fakeReq) Body() []byte        { return r.body }
func (r *fakeReq) Respond(b []byte)    { r.answers = append(r.answers, bytes.Clone(b)) }
