package raftlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/memdisk"
	pb "go.etcd.io/raft/v3/raftpb"
)

// The test harness: a group of members over hand-driven Envs. Messages go
// into one queue and are delivered in order; syncs complete when the
// harness settles, except on a member that holds them; ticks happen when a
// test says. No real time, no goroutine: a seed replays a run.

type packet struct {
	from, to node.NodeID
	msg      []byte
}

// tenv is one member's node.Env.
type tenv struct {
	c        *cluster
	id       node.NodeID
	disk     node.Disk
	rng      *rand.Rand
	log      *slog.Logger
	syncs    []node.SyncID // asked for, not completed
	lastSync node.SyncID
	marks    map[node.SyncID]int // the crash disk's mark at each sync, if the disk is one
}

func (e *tenv) ID() node.NodeID                   { return e.id }
func (e *tenv) Now() time.Time                    { return time.Unix(0, 0) }
func (e *tenv) After(time.Duration, node.TimerID) {}
func (e *tenv) Subscribe(node.Topic)              {}
func (e *tenv) Publish(node.Topic, []byte)        {}
func (e *tenv) Disk() node.Disk                   { return e.disk }
func (e *tenv) Rand() *rand.Rand                  { return e.rng }
func (e *tenv) Log() *slog.Logger                 { return e.log }
func (e *tenv) Mark(string)                       {}

func (e *tenv) Send(to node.NodeID, msg []byte) {
	p := packet{e.id, to, bytes.Clone(msg)}
	e.c.sent = append(e.c.sent, p)
	e.c.queue = append(e.c.queue, p)
}

func (e *tenv) Sync() node.SyncID {
	e.lastSync++
	e.syncs = append(e.syncs, e.lastSync)
	if cd, ok := e.disk.(*crashDisk); ok {
		if e.marks == nil {
			e.marks = map[node.SyncID]int{}
		}
		e.marks[e.lastSync] = cd.commits
	}
	return e.lastSync
}

type member struct {
	c    *cluster
	env  *tenv
	cfg  Config
	log  *Log
	hold bool // syncs complete only when the test says
	down bool // closed: messages to it are lost
	got  []Entry
}

type cluster struct {
	t     testing.TB
	ms    []*member
	queue []packet
	sent  []packet                        // everything ever sent
	cut   func(from, to node.NodeID) bool // drops a message when true
	trace []byte                          // digest of what happened, for determinism
}

// newCluster starts n members, raft ids 1…n on nodes n1…nn, over empty
// memdisks; mod adjusts every member's Config.
func newCluster(t testing.TB, n int, seed uint64, mod func(*Config)) *cluster {
	t.Helper()
	c := &cluster{t: t}
	var peers []Peer
	for i := 1; i <= n; i++ {
		peers = append(peers, Peer{ID: uint64(i), Node: node.NodeID(fmt.Sprintf("n%d", i))})
	}
	for i, p := range peers {
		lg := slog.New(slog.DiscardHandler)
		if os.Getenv("RAFTLOG_DEBUG") != "" {
			lg = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", p.Node)
		}
		env := &tenv{c: c, id: p.Node, disk: memdisk.New(), rng: rand.New(rand.NewPCG(seed, uint64(i))), log: lg}
		cfg := Config{ID: p.ID, Peers: peers}
		if mod != nil {
			mod(&cfg)
		}
		m := &member{c: c, env: env, cfg: cfg}
		m.open(0)
		c.ms = append(c.ms, m)
	}
	return c
}

func (m *member) open(applied uint64) {
	m.c.t.Helper()
	cfg := m.cfg
	cfg.Applied = applied
	l, err := Open(m.env, cfg)
	if err != nil {
		m.c.t.Fatalf("%s: Open: %v", m.env.id, err)
	}
	m.log, m.down = l, false
}

// close drops the member's Log, as a process crash would (memdisk keeps
// everything committed, so nothing is lost): its syncs in flight vanish.
func (m *member) close() {
	m.log, m.down, m.env.syncs = nil, true, nil
}

// drain takes what the member's log committed, and applies it.
func (m *member) drain() {
	if m.down {
		return
	}
	ents := m.log.Committed()
	for _, e := range ents {
		m.c.note("commit %s %d %d %t %x", m.env.id, e.Index, e.Term, e.Snapshot, e.Data)
		if n := len(m.got); n > 0 && e.Index <= m.got[n-1].Index {
			m.c.t.Fatalf("%s: committed %d after %d", m.env.id, e.Index, m.got[n-1].Index)
		}
	}
	m.got = append(m.got, ents...)
	if err := m.log.Applied(m.log.Status().Handed); err != nil {
		m.c.t.Fatalf("%s: Applied: %v", m.env.id, err)
	}
}

// completeSyncs completes every sync the member asked for.
func (m *member) completeSyncs() bool {
	if m.down || len(m.env.syncs) == 0 {
		return false
	}
	id := m.env.syncs[len(m.env.syncs)-1]
	m.env.syncs = nil
	if cd, ok := m.env.disk.(*crashDisk); ok {
		cd.syncThrough(m.env.marks[id])
	}
	m.c.note("synced %s %d", m.env.id, id)
	m.log.OnSynced(id)
	m.drain()
	return true
}

func (m *member) data() []string {
	var out []string
	for _, e := range m.got {
		if !e.Snapshot {
			out = append(out, string(e.Data))
		}
	}
	return out
}

func (c *cluster) note(format string, args ...any) {
	h := sha256.Sum256(fmt.Appendf(c.trace, format, args...))
	c.trace = h[:]
}

func (c *cluster) member(id node.NodeID) *member {
	for _, m := range c.ms {
		if m.env.id == id {
			return m
		}
	}
	return nil
}

// deliverOne delivers the first queued message, if any.
func (c *cluster) deliverOne() bool {
	if len(c.queue) == 0 {
		return false
	}
	p := c.queue[0]
	c.queue = c.queue[1:]
	dst := c.member(p.to)
	if dst == nil || dst.down || (c.cut != nil && c.cut(p.from, p.to)) {
		c.note("drop %s %s %x", p.from, p.to, p.msg)
		return true
	}
	c.note("deliver %s %s %x", p.from, p.to, p.msg)
	if err := dst.log.Step(p.from, p.msg); err != nil {
		c.t.Fatalf("%s: Step from %s: %v", p.to, p.from, err)
	}
	dst.drain()
	return true
}

// settle delivers every message and completes every sync (but those of
// members that hold them) until nothing moves.
func (c *cluster) settle() {
	c.t.Helper()
	for i := 0; ; i++ {
		if i > 1_000_000 {
			c.t.Fatal("the group does not settle")
		}
		if c.deliverOne() {
			continue
		}
		moved := false
		for _, m := range c.ms {
			if !m.hold && m.completeSyncs() {
				moved = true
			}
		}
		if !moved {
			return
		}
	}
}

// tick ticks every member that is up n times, settling after each.
func (c *cluster) tick(n int) {
	c.t.Helper()
	for range n {
		for _, m := range c.ms {
			if !m.down {
				m.log.Tick()
				m.drain()
			}
		}
		c.settle()
	}
}

// leader returns the member that leads at the highest term, or nil.
func (c *cluster) leader() *member {
	var best *member
	for _, m := range c.ms {
		if !m.down && m.log.IsLeader() && (best == nil || m.log.Status().Term > best.log.Status().Term) {
			best = m
		}
	}
	return best
}

// waitLeader ticks until a leader is known to every member that is up and
// not cut off from it, and returns it with the ticks it took.
func (c *cluster) waitLeader(maxTicks int) (*member, int) {
	c.t.Helper()
	for i := 0; ; i++ {
		if l := c.leader(); l != nil && c.agree(l) {
			return l, i
		}
		if i == maxTicks {
			c.t.Fatalf("no leader after %d ticks", maxTicks)
		}
		c.tick(1)
	}
}

func (c *cluster) agree(l *member) bool {
	_, want, term := l.log.Leader()
	for _, m := range c.ms {
		if m.down || (c.cut != nil && (c.cut(l.env.id, m.env.id) || c.cut(m.env.id, l.env.id))) {
			continue
		}
		if _, n, t := m.log.Leader(); n != want || t != term {
			return false
		}
	}
	return true
}

func (c *cluster) followers(l *member) []*member {
	var out []*member
	for _, m := range c.ms {
		if m != l {
			out = append(out, m)
		}
	}
	return out
}

// propose proposes data on m, failing the test on an error.
func (c *cluster) propose(m *member, data string) {
	c.t.Helper()
	if err := m.log.Propose([]byte(data)); err != nil {
		c.t.Fatalf("%s: Propose(%q): %v", m.env.id, data, err)
	}
	m.drain()
}

// msgType decodes a packet's raft message type.
func msgType(t testing.TB, p packet) *pb.Message {
	t.Helper()
	m, err := decodeMessage(p.msg, 1<<30)
	if err != nil {
		t.Fatalf("decoding a sent message: %v", err)
	}
	return m
}

// sentOf returns the messages of type typ sent by from since packet i.
func (c *cluster) sentOf(from node.NodeID, typ pb.MessageType, since int) []*pb.Message {
	var out []*pb.Message
	for _, p := range c.sent[since:] {
		if p.from != from {
			continue
		}
		if m := msgType(c.t, p); m.GetType() == typ {
			out = append(out, m)
		}
	}
	return out
}

// diskEntries reads the entry records on a member's disk.
func diskEntries(t testing.TB, d node.Disk, prefix []byte) map[uint64]*pb.Entry {
	t.Helper()
	out := map[uint64]*pb.Entry{}
	err := d.Iterate(entryPrefix(prefix), func(k, v []byte) error {
		i := binary.BigEndian.Uint64(k[len(prefix)+1:])
		e, err := decodeEntry(k, v, i)
		if err != nil {
			return err
		}
		out[i] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// crashDisk is a memdisk that can crash: what was committed since the last
// sync is lost, and the first lost batch's first write lands cut short, as
// on the simulated disk (sim.Disk, which this package's tests cannot
// import without a cycle once the simulator runs it).
type crashDisk struct {
	*memdisk.Disk
	durable map[string][]byte
	pending [][]op // committed, not synced
	commits int    // batches committed
	synced  int    // batches durable
}

type op struct {
	key, value []byte
	del        bool
}

func newCrashDisk() *crashDisk { return &crashDisk{Disk: memdisk.New(), durable: map[string][]byte{}} }

func (d *crashDisk) NewBatch() node.Batch { return &crashBatch{d: d, b: d.Disk.NewBatch()} }

type crashBatch struct {
	d   *crashDisk
	b   node.Batch
	ops []op
}

func (b *crashBatch) Set(k, v []byte) {
	b.b.Set(k, v)
	b.ops = append(b.ops, op{key: bytes.Clone(k), value: bytes.Clone(v)})
}

func (b *crashBatch) Delete(k []byte) {
	b.b.Delete(k)
	b.ops = append(b.ops, op{key: bytes.Clone(k), del: true})
}

func (b *crashBatch) Len() int { return b.b.Len() }

func (b *crashBatch) Commit() error {
	if err := b.b.Commit(); err != nil {
		return err
	}
	b.d.pending = append(b.d.pending, b.ops)
	b.d.commits++
	return nil
}

func (d *crashDisk) syncThrough(mark int) {
	for ; d.synced < mark; d.synced++ {
		for _, o := range d.pending[0] {
			if o.del {
				delete(d.durable, string(o.key))
			} else {
				d.durable[string(o.key)] = o.value
			}
		}
		d.pending = d.pending[1:]
	}
}

// crash loses what was not synced, tearing the first lost batch's first
// write (it lands cut to half), and reports how many batches were lost.
func (d *crashDisk) crash() int {
	lost := len(d.pending)
	if lost > 0 && len(d.pending[0]) > 0 {
		if o := d.pending[0][0]; !o.del {
			d.durable[string(o.key)] = o.value[:len(o.value)/2]
		}
	}
	d.pending, d.commits = nil, d.synced
	d.Disk = memdisk.New()
	b := d.Disk.NewBatch()
	for k, v := range d.durable { // order: filling a map-backed disk
		b.Set([]byte(k), v)
	}
	if err := b.Commit(); err != nil {
		panic(err)
	}
	return lost
}
