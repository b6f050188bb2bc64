package runtime

import (
	"bytes"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/meganode/meganode/node"
)

const loopback = "/ip4/127.0.0.1/tcp/0"

func newP2PKey(t testing.TB) []byte {
	t.Helper()
	sk, _, err := crypto.GenerateSecp256k1Key(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sk.Raw()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

type received struct {
	from node.NodeID
	msg  string
}

// inbox records what a node is delivered.
type inbox struct {
	mu  sync.Mutex
	got []received
}

func (b *inbox) deliver(from node.NodeID, msg []byte) {
	b.mu.Lock()
	b.got = append(b.got, received{from, string(msg)})
	b.mu.Unlock()
}

func (b *inbox) count(match func(received) bool) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, r := range b.got {
		if match(r) {
			n++
		}
	}
	return n
}

func (b *inbox) has(from node.NodeID, msg string) bool {
	return b.count(func(r received) bool { return r.from == from && r.msg == msg }) > 0
}

// hasPrefix: gossip is identified by its content, so a message published
// again until it arrives must differ each time.
func (b *inbox) hasPrefix(from node.NodeID, prefix string) bool {
	return b.count(func(r received) bool { return r.from == from && strings.HasPrefix(r.msg, prefix) }) > 0
}

// eventually polls cond every 10 ms for up to d and says how long it took.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

type testNode struct {
	p   *P2P
	box *inbox
}

func startP2P(t *testing.T, cfg P2PConfig) testNode {
	t.Helper()
	if cfg.Key == nil {
		cfg.Key = newP2PKey(t)
	}
	if cfg.Listen == nil {
		cfg.Listen = []string{loopback}
	}
	box := &inbox{}
	p, err := NewP2P(cfg, box.deliver)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return testNode{p, box}
}

// noP2PGoroutines fails if a goroutine of a P2P is still running a little
// while after every network of the test is closed.
func noP2PGoroutines(t *testing.T) {
	t.Helper()
	var stacks string
	deadline := time.Now().Add(5 * time.Second)
	for {
		buf := make([]byte, 1<<22)
		stacks = string(buf[:goruntime.Stack(buf, true)])
		if !strings.Contains(stacks, "node/runtime.(*P2P)") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("P2P goroutines left after Close:\n%s", stacks)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestP2PLineTopology(t *testing.T) {
	start := time.Now()
	c := startP2P(t, P2PConfig{})
	b := startP2P(t, P2PConfig{Peers: c.p.Addrs()})
	a := startP2P(t, P2PConfig{Peers: b.p.Addrs()})
	nodes := []testNode{a, b, c}
	// A and C are not static peers: let each know the other's address,
	// as identify or a config would, so that Send can dial it.
	for _, pair := range [][2]testNode{{a, c}, {c, a}} {
		ai, err := peer.AddrInfoFromString(pair[1].p.Addrs()[0])
		if err != nil {
			t.Fatal(err)
		}
		pair[0].p.host.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.TempAddrTTL)
	}

	const topic = node.Topic("blocks")
	for _, n := range nodes {
		if err := n.p.Subscribe(topic); err != nil {
			t.Fatal(err)
		}
		if err := n.p.Subscribe(topic); err != nil { // twice is harmless
			t.Fatal(err)
		}
	}

	// Direct messages between every ordered pair, each sent once: it
	// waits in its queue until the connection is up.
	for _, x := range nodes {
		for _, y := range nodes {
			if x.p != y.p {
				x.p.Send(y.p.Self(), []byte(fmt.Sprintf("direct %s->%s", x.p.Self(), y.p.Self())))
			}
		}
	}
	for _, x := range nodes {
		for _, y := range nodes {
			if x.p == y.p {
				continue
			}
			msg := fmt.Sprintf("direct %s->%s", x.p.Self(), y.p.Self())
			eventually(t, 10*time.Second, "direct message "+msg, func() bool { return y.box.has(x.p.Self(), msg) })
		}
	}
	t.Logf("direct messages between all pairs: %v", time.Since(start))

	// Gossip: each node publishes until every other node got one of its
	// messages (the mesh forms meanwhile); a publisher never gets its own.
	isGossip := func(from node.NodeID) func(received) bool {
		return func(r received) bool { return r.from == from && strings.HasPrefix(r.msg, "gossip ") }
	}
	for _, x := range nodes {
		i := 0
		took := eventually(t, 10*time.Second, "gossip from "+string(x.p.Self()), func() bool {
			for _, y := range nodes {
				if y.p != x.p && y.box.count(isGossip(x.p.Self())) == 0 {
					i++
					x.p.Publish(topic, []byte(fmt.Sprintf("gossip %s %d", x.p.Self(), i)))
					time.Sleep(40 * time.Millisecond)
					return false
				}
			}
			return true
		})
		t.Logf("gossip from node %d reached the others in %v after %d publishes", slicesIndex(nodes, x), took, i)
	}
	for _, x := range nodes {
		if n := x.box.count(isGossip(x.p.Self())); n != 0 {
			t.Errorf("%s got %d of its own gossip messages", x.p.Self(), n)
		}
		if n := x.box.count(func(r received) bool { return r.from == x.p.Self() }); n != 0 {
			t.Errorf("%s got %d messages from itself", x.p.Self(), n)
		}
	}
	// A's gossip reaches C only through B, still signed by A.
	if c.box.count(isGossip(a.p.Self())) == 0 {
		t.Error("C got no gossip from A")
	}

	// A message to oneself is delivered at once, as in the simulator.
	a.p.Send(a.p.Self(), []byte("self"))
	if !a.box.has(a.p.Self(), "self") {
		t.Error("a message to oneself was not delivered")
	}

	mb := b.p.Metrics()
	if mb.Peers < 2 || mb.Sent < 2 || mb.Received < 2 || mb.Published == 0 || mb.SendDropped != 0 {
		t.Errorf("B's metrics: %+v", mb)
	}
	// Bytes: at least one byte per message counted (every message here has
	// a payload), and no more than the messages could hold.
	if mb.SentBytes < mb.Sent+mb.Published || mb.ReceivedBytes < mb.Received || mb.SentBytes > (mb.Sent+mb.Published)<<20 {
		t.Errorf("B's byte counts: %+v", mb)
	}
	t.Logf("metrics A %+v B %+v C %+v", a.p.Metrics(), mb, c.p.Metrics())

	for _, n := range nodes {
		if err := n.p.Close(); err != nil {
			t.Error(err)
		}
		if err := n.p.Close(); err != nil { // twice is harmless
			t.Error(err)
		}
	}
	// After Close: nothing blocks, nothing is delivered, Subscribe fails.
	before := a.box.count(func(received) bool { return true })
	a.p.Send(b.p.Self(), []byte("late"))
	a.p.Publish(topic, []byte("late"))
	a.p.Send(a.p.Self(), []byte("late"))
	if err := a.p.Subscribe("other"); err == nil {
		t.Error("Subscribe after Close did not fail")
	}
	if after := a.box.count(func(received) bool { return true }); after != before {
		t.Error("a message was delivered after Close")
	}
	noP2PGoroutines(t)
	t.Logf("total %v", time.Since(start))
}

func slicesIndex(nodes []testNode, x testNode) int {
	for i, n := range nodes {
		if n.p == x.p {
			return i
		}
	}
	return -1
}

func TestP2PMessageTooBig(t *testing.T) {
	b := startP2P(t, P2PConfig{MaxMessageBytes: 1024})
	a := startP2P(t, P2PConfig{MaxMessageBytes: 4096, Peers: b.p.Addrs()})

	// Refused on send, counted, never queued.
	a.p.Send(b.p.Self(), bytes.Repeat([]byte{1}, 4097))
	a.p.Publish("t", bytes.Repeat([]byte{1}, 4097))
	if m := a.p.Metrics(); m.SendDropped != 1 || m.PublishDropped != 1 || m.Sent != 0 {
		t.Fatalf("oversized sends not refused: %+v", m)
	}

	// Within A's bound, beyond B's: refused on receive.
	a.p.Send(b.p.Self(), bytes.Repeat([]byte{2}, 2000))
	eventually(t, 10*time.Second, "B refuses a direct message too big", func() bool { return b.p.Metrics().ReceiveRefused == 1 })
	// The stream was reset; the next message gets through on a new one.
	eventually(t, 10*time.Second, "a small message after the refusal", func() bool {
		a.p.Send(b.p.Self(), []byte("small"))
		time.Sleep(20 * time.Millisecond)
		return b.box.has(a.p.Self(), "small")
	})

	// Gossip: B's validator refuses what is bigger than its bound.
	const topic = node.Topic("t")
	for _, n := range []testNode{a, b} {
		if err := n.p.Subscribe(topic); err != nil {
			t.Fatal(err)
		}
	}
	try := 0
	eventually(t, 10*time.Second, "B gets a small gossip message", func() bool {
		try++
		a.p.Publish(topic, []byte(fmt.Sprintf("gossip small %d", try)))
		time.Sleep(20 * time.Millisecond)
		return b.box.hasPrefix(a.p.Self(), "gossip small")
	})
	refused := b.p.Metrics().ReceiveRefused
	a.p.Publish(topic, bytes.Repeat([]byte{3}, 2000))
	eventually(t, 10*time.Second, "B refuses a gossip message too big", func() bool { return b.p.Metrics().ReceiveRefused > refused })

	if n := b.box.count(func(r received) bool { return len(r.msg) > 1024 }); n != 0 {
		t.Errorf("B was delivered %d messages beyond its bound", n)
	}
	t.Logf("metrics A %+v B %+v", a.p.Metrics(), b.p.Metrics())
	_ = a.p.Close()
	_ = b.p.Close()
	noP2PGoroutines(t)
}

func TestP2PSendQueueFull(t *testing.T) {
	// A peer nobody listens for: port 1 refuses connections.
	ghost, err := PeerIDFromKey(newP2PKey(t))
	if err != nil {
		t.Fatal(err)
	}
	a := startP2P(t, P2PConfig{SendQueue: 1, PublishQueue: 1, Peers: []string{"/ip4/127.0.0.1/tcp/1/p2p/" + string(ghost)}})

	const n = 1000
	start := time.Now()
	for i := range n {
		a.p.Send(ghost, []byte(fmt.Sprint(i)))
	}
	for i := range n {
		a.p.Publish("nobody", []byte(fmt.Sprint(i)))
	}
	took := time.Since(start)
	if took > time.Second {
		t.Errorf("%d sends and publishes took %v", 2*n, took)
	}
	m := a.p.Metrics()
	// One message is held by the writer (while it redials) and one queued.
	if m.SendDropped < n-2 || m.Sent != 0 {
		t.Errorf("full send queue: %+v", m)
	}
	if m.PublishDropped < n/2 {
		t.Errorf("full publish queue: %+v", m)
	}
	t.Logf("%d sends and %d publishes in %v; metrics %+v", n, n, took, m)

	// Close does not wait for the writer's backoff.
	time.Sleep(300 * time.Millisecond)
	start = time.Now()
	if err := a.p.Close(); err != nil {
		t.Error(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Close took %v", took)
	}
	noP2PGoroutines(t)
}

func TestP2PPeerRestart(t *testing.T) {
	keyB := newP2PKey(t)
	b := startP2P(t, P2PConfig{Key: keyB})
	addr := b.p.Addrs()[0]
	a := startP2P(t, P2PConfig{Peers: []string{addr}})

	a.p.Send(b.p.Self(), []byte("before"))
	eventually(t, 10*time.Second, "message before the restart", func() bool { return b.box.has(a.p.Self(), "before") })

	if err := b.p.Close(); err != nil {
		t.Fatal(err)
	}
	m, err := ma.NewMultiaddr(addr)
	if err != nil {
		t.Fatal(err)
	}
	port, err := m.ValueForProtocol(ma.P_TCP)
	if err != nil {
		t.Fatal(err)
	}
	// A sends while B is down: those messages wait or are lost.
	a.p.Send(b.p.Self(), []byte("while down"))
	time.Sleep(200 * time.Millisecond)

	restarted := time.Now()
	b2 := startP2P(t, P2PConfig{Key: keyB, Listen: []string{"/ip4/127.0.0.1/tcp/" + port}})
	if b2.p.Self() != b.p.Self() {
		t.Fatalf("same key, another id: %s %s", b2.p.Self(), b.p.Self())
	}
	i := 0
	took := eventually(t, 10*time.Second, "message after the restart", func() bool {
		i++
		a.p.Send(b.p.Self(), []byte(fmt.Sprint("after ", i)))
		time.Sleep(20 * time.Millisecond)
		return b2.box.count(func(r received) bool { return r.from == a.p.Self() && strings.HasPrefix(r.msg, "after ") }) > 0
	})
	t.Logf("restarted peer reached after %v (%d sends); 'while down' delivered: %v; metrics A %+v",
		took, i, b2.box.has(a.p.Self(), "while down"), a.p.Metrics())
	// And back, over the connection A made.
	b2.p.Send(a.p.Self(), []byte("back"))
	eventually(t, 10*time.Second, "message from the restarted peer", func() bool { return a.box.has(b.p.Self(), "back") })
	t.Logf("restart to round trip: %v", time.Since(restarted))

	_ = a.p.Close()
	_ = b2.p.Close()
	noP2PGoroutines(t)
}

func TestP2PPeerIDFromKey(t *testing.T) {
	key := newP2PKey(t)
	id, err := PeerIDFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	n := startP2P(t, P2PConfig{Key: key})
	if n.p.Self() != id || node.NodeID(n.p.host.ID().String()) != id {
		t.Errorf("PeerIDFromKey %s, Self %s, host %s", id, n.p.Self(), n.p.host.ID())
	}
	for _, a := range n.p.Addrs() {
		if !strings.HasPrefix(a, "/ip4/127.0.0.1/tcp/") || !strings.HasSuffix(a, "/p2p/"+string(id)) {
			t.Errorf("address %s", a)
		}
	}
	if _, err := PeerIDFromKey(key[:31]); err == nil {
		t.Error("a short key gave a peer id")
	}
	if _, err := NewP2P(P2PConfig{Key: key[:31]}, func(node.NodeID, []byte) {}); err == nil {
		t.Error("NewP2P accepted a short key")
	}
	if _, err := NewP2P(P2PConfig{Key: key, Listen: []string{loopback}, Peers: []string{"/ip4/127.0.0.1/tcp/1"}}, func(node.NodeID, []byte) {}); err == nil {
		t.Error("NewP2P accepted a static peer without /p2p/")
	}
}

// TestP2PCloseLeavesNoGoroutines checks that, once libp2p's process-wide
// goroutines exist, a network's life leaves nothing running.
func TestP2PCloseLeavesNoGoroutines(t *testing.T) {
	exchange := func() {
		b := startP2P(t, P2PConfig{})
		a := startP2P(t, P2PConfig{Peers: b.p.Addrs()})
		for _, n := range []testNode{a, b} {
			if err := n.p.Subscribe("t"); err != nil {
				t.Fatal(err)
			}
		}
		a.p.Send(b.p.Self(), []byte("hi"))
		eventually(t, 10*time.Second, "direct message", func() bool { return b.box.has(a.p.Self(), "hi") })
		try := 0
		eventually(t, 10*time.Second, "gossip", func() bool {
			try++
			b.p.Publish("t", []byte(fmt.Sprintf("g%d", try)))
			time.Sleep(20 * time.Millisecond)
			return a.box.hasPrefix(b.p.Self(), "g")
		})
		_ = a.p.Close()
		_ = b.p.Close()
	}
	exchange() // warm up libp2p's global goroutines
	noP2PGoroutines(t)
	time.Sleep(100 * time.Millisecond)
	base := goruntime.NumGoroutine()
	exchange()
	deadline := time.Now().Add(5 * time.Second)
	for goruntime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<22)
			t.Fatalf("%d goroutines before, %d after:\n%s", base, goruntime.NumGoroutine(), buf[:goruntime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestP2PQUIC(t *testing.T) {
	b := startP2P(t, P2PConfig{Listen: []string{"/ip4/127.0.0.1/udp/0/quic-v1"}})
	addrs := b.p.Addrs()
	if len(addrs) != 1 || !strings.Contains(addrs[0], "/quic-v1/") {
		t.Fatalf("addresses %v", addrs)
	}
	a := startP2P(t, P2PConfig{Peers: addrs})
	a.p.Send(b.p.Self(), []byte("over quic"))
	eventually(t, 10*time.Second, "message over QUIC", func() bool { return b.box.has(a.p.Self(), "over quic") })
	_ = a.p.Close()
	_ = b.p.Close()
	noP2PGoroutines(t)
}

func TestP2PLargeMessage(t *testing.T) {
	b := startP2P(t, P2PConfig{})
	a := startP2P(t, P2PConfig{Peers: b.p.Addrs()})
	for _, n := range []testNode{a, b} {
		if err := n.p.Subscribe("big"); err != nil {
			t.Fatal(err)
		}
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 8<<20/16) // 8 MiB
	start := time.Now()
	a.p.Send(b.p.Self(), big)
	eventually(t, 10*time.Second, "an 8 MiB direct message", func() bool { return b.box.has(a.p.Self(), string(big)) })
	t.Logf("8 MiB direct: %v", time.Since(start))
	start = time.Now()
	try := 0
	eventually(t, 10*time.Second, "an 8 MiB gossip message", func() bool {
		// Until B's subscription is known, a publish reaches nobody; each
		// try differs (gossip is identified by its content).
		try++
		msg := bytes.Clone(big)
		binary.BigEndian.PutUint64(msg, uint64(try))
		a.p.Publish("big", msg)
		time.Sleep(50 * time.Millisecond)
		return b.box.count(func(r received) bool {
			return r.from == a.p.Self() && len(r.msg) == len(big) && r.msg[8:] == string(big[8:])
		}) >= 2
	})
	t.Logf("8 MiB gossip: %v; metrics A %+v", time.Since(start), a.p.Metrics())
}

// A gossip message the validator rejects is neither delivered nor
// forwarded: in the line A–B–C, a forgery A publishes stops at B, while
// A's honest messages reach C through B. A stale one is ignored, not
// counted as rejected.
func TestP2PValidatorStopsForgeries(t *testing.T) {
	validate := func(_ node.Topic, msg []byte) error {
		switch {
		case strings.HasPrefix(string(msg), "forged"):
			return errors.New("bad signature")
		case strings.HasPrefix(string(msg), "stale"):
			return fmt.Errorf("old height: %w", ErrStale)
		}
		return nil
	}
	c := startP2P(t, P2PConfig{Validate: validate})
	b := startP2P(t, P2PConfig{Peers: c.p.Addrs(), Validate: validate})
	a := startP2P(t, P2PConfig{Peers: b.p.Addrs()}) // the forger validates nothing
	const topic = node.Topic("miniblocks")
	for _, n := range []testNode{a, b, c} {
		if err := n.p.Subscribe(topic); err != nil {
			t.Fatal(err)
		}
	}
	i := 0
	eventually(t, 10*time.Second, "A's honest gossip reaches C through B", func() bool {
		i++
		a.p.Publish(topic, []byte(fmt.Sprintf("forged %d", i)))
		a.p.Publish(topic, []byte(fmt.Sprintf("stale %d", i)))
		a.p.Publish(topic, []byte(fmt.Sprintf("honest %d", i)))
		time.Sleep(40 * time.Millisecond)
		return c.box.hasPrefix(b.p.Self(), "honest") || c.box.hasPrefix(a.p.Self(), "honest")
	})
	// Let whatever was in flight land.
	time.Sleep(200 * time.Millisecond)
	for name, n := range map[string]testNode{"B": b, "C": c} {
		if k := n.box.count(func(r received) bool {
			return strings.HasPrefix(r.msg, "forged") || strings.HasPrefix(r.msg, "stale")
		}); k != 0 {
			t.Errorf("%s was delivered %d forged or stale messages", name, k)
		}
	}
	mb := b.p.Metrics()
	if mb.Rejected == 0 || mb.Ignored == 0 {
		t.Errorf("B's metrics %+v: want forgeries rejected and stale messages ignored", mb)
	}
	if mc := c.p.Metrics(); mc.Rejected != 0 {
		t.Errorf("C rejected %d messages: B forwarded forgeries", mc.Rejected)
	}
}
