package runtime

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	gethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/chain"
)

// hostileSlack is how far below its head a receiver still takes a
// mini-block (as cmd/meganode's validator does with its own slack):
// validation runs in parallel, so a mini-block may be validated after a
// later one was delivered.
const hostileSlack = 64

func genKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := gethcrypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signedMiniBlock is mini-block number n signed by key; salt makes it
// differ from another of the same number (gossip is identified by its
// content).
func signedMiniBlock(t *testing.T, key *ecdsa.PrivateKey, n, salt uint64) []byte {
	t.Helper()
	mb := &chain.MiniBlock{Header: chain.MiniBlockHeader{Number: n, BlockNumber: 1, TimeMicros: salt}, Diff: &chain.Diff{}}
	if err := mb.Seal(key); err != nil {
		t.Fatal(err)
	}
	raw, err := mb.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// chainNode is a node that takes the sequencer's mini-blocks by gossip: its
// validator checks the signature and ignores what is well behind its head,
// the newest mini-block delivered.
type chainNode struct {
	p    *P2P
	box  *inbox
	head atomic.Uint64
}

func startChainNode(t *testing.T, cfg P2PConfig, seq common.Address) *chainNode {
	t.Helper()
	n := &chainNode{box: &inbox{}}
	cfg.Validate = func(topic node.Topic, msg []byte) error {
		if topic != chain.TopicMiniBlocks {
			return fmt.Errorf("unknown topic %q", topic)
		}
		mb, err := chain.DecodeMiniBlock(msg)
		if err != nil {
			return err
		}
		if err := mb.VerifySigner(seq); err != nil {
			return err
		}
		if h := n.head.Load(); mb.Header.Number+hostileSlack < h {
			return fmt.Errorf("mini-block %d, head %d: %w", mb.Header.Number, h, ErrStale)
		}
		return nil
	}
	if cfg.Key == nil {
		cfg.Key = newP2PKey(t)
	}
	if cfg.Listen == nil {
		cfg.Listen = []string{loopback}
	}
	p, err := NewP2P(cfg, func(from node.NodeID, msg []byte) {
		n.box.deliver(from, msg)
		if mb, err := chain.DecodeMiniBlock(msg); err == nil {
			for h := n.head.Load(); mb.Header.Number > h && !n.head.CompareAndSwap(h, mb.Header.Number); h = n.head.Load() {
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	n.p = p
	return n
}

// hostilePeer is a bare libp2p host with GossipSub that speaks our
// protocol (no pubsub signatures, messages identified by their hash) but
// validates nothing and floods what it publishes to every subscriber, in
// the mesh or not, as an attacker would.
type hostilePeer struct {
	h      host.Host
	ps     *pubsub.PubSub
	t      *pubsub.Topic
	ctx    context.Context
	cancel context.CancelFunc
}

func startHostile(t *testing.T, topic node.Topic, peers ...*P2P) *hostilePeer {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings(loopback), libp2p.DisableRelay(), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	hp := &hostilePeer{h: h, ctx: ctx, cancel: cancel}
	t.Cleanup(hp.close)
	hp.ps, err = pubsub.NewGossipSub(ctx, h,
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(func(m *pb.Message) string {
			h := sha256.Sum256(m.Data)
			return string(h[:])
		}),
		pubsub.WithMaxMessageSize(2<<20),
		pubsub.WithFloodPublish(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range peers {
		if err := h.Connect(ctx, peer.AddrInfo{ID: p.self, Addrs: p.host.Addrs()}); err != nil {
			t.Fatal(err)
		}
	}
	if hp.t, err = hp.ps.Join(string(topic)); err != nil {
		t.Fatal(err)
	}
	ids := make([]peer.ID, len(peers))
	for i, p := range peers {
		ids[i] = p.self
	}
	knowsSubscribers(t, hp.ps, topic, ids...)
	sub, err := hp.t.Subscribe()
	if err != nil {
		t.Fatal(err)
	}
	go func() { // drain what the honest peers forward
		for {
			if _, err := sub.Next(ctx); err != nil {
				return
			}
		}
	}()
	return hp
}

func (hp *hostilePeer) publish(t *testing.T, msg []byte) {
	t.Helper()
	if err := hp.t.Publish(hp.ctx, msg); err != nil {
		t.Fatal(err)
	}
}

func (hp *hostilePeer) close() {
	hp.cancel()
	_ = hp.h.Close()
}

// knowsSubscribers polls until ps knows that every one of ids subscribes
// to topic, so that it joins the topic's mesh with them at once.
func knowsSubscribers(t *testing.T, ps *pubsub.PubSub, topic node.Topic, ids ...peer.ID) {
	t.Helper()
	eventually(t, 10*time.Second, "subscriptions known", func() bool {
		known := map[peer.ID]bool{}
		for _, id := range ps.ListPeers(string(topic)) {
			known[id] = true
		}
		for _, id := range ids {
			if !known[id] {
				return false
			}
		}
		return true
	})
}

// A hostile peer on the mini-block topic publishes garbage, mini-blocks
// signed by a key of its own, messages beyond the size bound, and
// replays of old mini-blocks the sequencer did sign. The honest receivers
// deliver every mini-block the sequencer's node publishes and nothing
// else; the stale replays are ignored without cost to the hostile peer;
// the forgeries bring its score at both receivers below the graylist
// threshold, while the honest peers' scores stay at 0 or above.
func TestHostilePeer(t *testing.T) {
	const topic = chain.TopicMiniBlocks
	const maxMsg = 64 << 10
	seqKey := genKey(t)
	seq := gethcrypto.PubkeyToAddress(seqKey.PublicKey)

	r1 := startChainNode(t, P2PConfig{MaxMessageBytes: maxMsg}, seq)
	r2 := startChainNode(t, P2PConfig{MaxMessageBytes: maxMsg, Peers: r1.p.Addrs()}, seq)
	receivers := []*chainNode{r1, r2}
	for _, r := range receivers {
		if err := r.p.Subscribe(topic); err != nil {
			t.Fatal(err)
		}
	}
	s := startChainNode(t, P2PConfig{MaxMessageBytes: maxMsg, Peers: append(r1.p.Addrs(), r2.p.Addrs()...)}, seq)
	knowsSubscribers(t, s.p.ps, topic, r1.p.self, r2.p.self)
	if err := s.p.Subscribe(topic); err != nil {
		t.Fatal(err)
	}
	h := startHostile(t, topic, r1.p, r2.p)
	hid := h.h.ID()

	var (
		mu     sync.Mutex
		honest = map[string]uint64{} // what the sequencer's node published, and its number
		last   uint64
	)
	publish := func(n uint64) {
		raw := signedMiniBlock(t, seqKey, n, 0)
		mu.Lock()
		honest[string(raw)], last = n, n
		mu.Unlock()
		s.p.Publish(topic, raw)
	}
	allHonestDelivered := func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range receivers {
			// From the publisher, or relayed by the other receiver.
			got := map[string]bool{}
			r.box.mu.Lock()
			for _, x := range r.box.got {
				got[x.msg] = true
			}
			r.box.mu.Unlock()
			for raw := range honest {
				if !got[raw] {
					return false
				}
			}
		}
		return true
	}

	// The honest stream, part 1: it sets the receivers' heads.
	for n := uint64(100); n < 150; n++ {
		publish(n)
		time.Sleep(2 * time.Millisecond)
	}
	eventually(t, 15*time.Second, "the first honest mini-blocks at both receivers", allHonestDelivered)

	// Replays of old mini-blocks the sequencer signed: ignored, at no cost.
	salt := uint64(0)
	eventually(t, 15*time.Second, "stale replays ignored at both receivers", func() bool {
		salt++
		h.publish(t, signedMiniBlock(t, seqKey, 1+salt%20, salt))
		time.Sleep(20 * time.Millisecond)
		return r1.p.Metrics().Ignored > 0 && r2.p.Metrics().Ignored > 0
	})
	// A replay of what the receivers have seen is a duplicate: dropped.
	mu.Lock()
	for raw := range honest {
		h.publish(t, []byte(raw))
		break
	}
	mu.Unlock()
	ignoredAt := time.Now()
	for i, r := range receivers {
		eventually(t, 10*time.Second, "a score snapshot after the replays", func() bool {
			_, at := r.p.scores.get()
			return at.After(ignoredAt)
		})
		sc, ok := r.p.PeerScores()[hid]
		if !ok || sc < 0 {
			t.Errorf("receiver %d scores the hostile peer %v (known %v) after stale replays only: want 0 or more", i+1, sc, ok)
		}
		if m := r.p.Metrics(); m.Rejected != 0 {
			t.Errorf("receiver %d rejected %d messages before any forgery", i+1, m.Rejected)
		}
	}

	// Forgeries, while the honest stream goes on.
	graylisted := func() bool {
		for _, r := range receivers {
			if sc, ok := r.p.PeerScores()[hid]; !ok || sc >= graylistThreshold {
				return false
			}
		}
		return true
	}
	forger := genKey(t)
	i := 0
	eventually(t, 20*time.Second, "the hostile peer graylisted at both receivers", func() bool {
		i++
		h.publish(t, []byte(fmt.Sprintf("garbage %d", i)))
		h.publish(t, signedMiniBlock(t, forger, 10_000+uint64(i), 0))
		big := bytes.Repeat([]byte{0x21}, 100<<10)
		copy(big[1:], fmt.Sprint(i))
		h.publish(t, big)
		publish(200 + uint64(i))
		time.Sleep(20 * time.Millisecond)
		return graylisted()
	})
	t.Logf("graylisted after %d rounds of forgeries", i)
	// The honest stream, part 3, after the graylisting (above part 2's
	// numbers, however many rounds it took).
	for n := uint64(1_000_000); n < 1_000_010; n++ {
		publish(n)
	}
	eventually(t, 15*time.Second, "every honest mini-block at both receivers", allHonestDelivered)

	mu.Lock()
	defer mu.Unlock()
	for k, r := range receivers {
		name := fmt.Sprintf("receiver %d", k+1)
		if n := r.box.count(func(x received) bool { _, ok := honest[x.msg]; return !ok }); n != 0 {
			t.Errorf("%s was delivered %d messages the sequencer's node did not publish", name, n)
		}
		if got := r.head.Load(); got != last {
			t.Errorf("%s's head is %d, want %d (the last honest mini-block)", name, got, last)
		}
		m := r.p.Metrics()
		// Size refusals are Rejects too, counted apart.
		if m.Rejected == 0 || m.ReceiveRefused == 0 || m.Rejected+m.ReceiveRefused < 11 || m.Graylisted == 0 {
			t.Errorf("%s's metrics %+v: want forgeries rejected, oversized ones refused, a peer graylisted", name, m)
		}
		for id, sc := range r.p.PeerScores() {
			if id != hid && sc < 0 {
				t.Errorf("%s scores the honest peer %s at %v", name, id, sc)
			}
		}
		t.Logf("%s: scores %v, metrics %+v", name, r.p.PeerScores(), m)
	}
	h.close()
	for _, p := range []*P2P{r1.p, r2.p, s.p} {
		_ = p.Close()
	}
	noP2PGoroutines(t)
}

// With an allow-list, a peer off it can neither connect nor be dialled;
// a peer on it, and a static peer, can.
func TestP2PAllowList(t *testing.T) {
	b := startP2P(t, P2PConfig{})
	c := startP2P(t, P2PConfig{})
	d := startP2P(t, P2PConfig{})
	// A allows B by id, D as a static peer; C is a stranger.
	a := startP2P(t, P2PConfig{AllowPeers: []string{string(b.p.Self())}, Peers: d.p.Addrs()})
	for _, n := range []testNode{b, c} {
		ai, err := peer.AddrInfoFromString(a.p.Addrs()[0])
		if err != nil {
			t.Fatal(err)
		}
		n.p.host.Peerstore().AddAddrs(ai.ID, ai.Addrs, time.Hour)
	}
	ci, err := peer.AddrInfoFromString(c.p.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	a.p.host.Peerstore().AddAddrs(ci.ID, ci.Addrs, time.Hour)
	bi, err := peer.AddrInfoFromString(b.p.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	a.p.host.Peerstore().AddAddrs(bi.ID, bi.Addrs, time.Hour)

	b.p.Send(a.p.Self(), []byte("from B"))
	c.p.Send(a.p.Self(), []byte("from C"))
	a.p.Send(b.p.Self(), []byte("to B"))
	a.p.Send(c.p.Self(), []byte("to C"))
	a.p.Send(d.p.Self(), []byte("to D"))
	eventually(t, 10*time.Second, "A hears from B", func() bool { return a.box.has(b.p.Self(), "from B") })
	eventually(t, 10*time.Second, "B hears from A", func() bool { return b.box.has(a.p.Self(), "to B") })
	eventually(t, 10*time.Second, "D, a static peer, hears from A", func() bool { return d.box.has(a.p.Self(), "to D") })
	// Both ways refused: C's connection, and A's dial to C.
	eventually(t, 10*time.Second, "A refuses C twice", func() bool { return a.p.Metrics().GaterRefused >= 2 })
	time.Sleep(300 * time.Millisecond)
	if a.box.has(c.p.Self(), "from C") || c.box.has(a.p.Self(), "to C") {
		t.Error("a message crossed between A and a peer off its allow-list")
	}
	for _, id := range a.p.host.Network().Peers() {
		if id == c.p.self {
			t.Error("A is connected to C, off its allow-list")
		}
	}
	if m := b.p.Metrics(); m.GaterRefused != 0 {
		t.Errorf("B, without an allow-list, refused %d connections", m.GaterRefused)
	}
	t.Logf("A's metrics %+v", a.p.Metrics())

	if _, err := NewP2P(P2PConfig{Key: newP2PKey(t), AllowPeers: []string{"not a peer id"}}, func(node.NodeID, []byte) {}); err == nil {
		t.Error("NewP2P took a bad allowed peer id")
	}
	for _, n := range []testNode{a, b, c, d} {
		_ = n.p.Close()
	}
	noP2PGoroutines(t)
}

// A peer that sends requests beyond its burst is answered with refusals
// for the excess, and the role sees the burst only; other messages and
// other peers are not limited.
func TestP2PRequestRateLimit(t *testing.T) {
	const burst = 5
	// A refill so slow that none happens during the test.
	a := startP2P(t, P2PConfig{RequestRate: 0.001, RequestBurst: burst})
	b := startP2P(t, P2PConfig{Peers: a.p.Addrs()})
	c := startP2P(t, P2PConfig{Peers: a.p.Addrs()})

	requests := func(i uint64) []byte {
		switch i % 4 {
		case 0:
			return (&chain.RangeRequest{ID: i, From: 1, Count: 1}).Encode()
		case 1:
			return (&chain.AttRequest{ID: i, From: 1, Count: 1}).Encode()
		case 2:
			return (&chain.BlockRangeRequest{ID: i, From: 1, Count: 1}).Encode()
		}
		return (&chain.DAGet{ID: i, Hashes: []common.Hash{{1}}}).Encode()
	}
	const sent = 20
	for i := range uint64(sent) {
		b.p.Send(a.p.Self(), requests(i))
		b.p.Send(a.p.Self(), []byte(fmt.Sprint("hello ", i)))
	}
	isRefusal := func(r received) bool { return chain.Kind([]byte(r.msg)) == chain.FormatRefusalV1 }
	eventually(t, 10*time.Second, "B's refusals", func() bool { return b.box.count(isRefusal) >= sent-burst })
	eventually(t, 10*time.Second, "B's other messages", func() bool {
		return a.box.count(func(r received) bool { return strings.HasPrefix(r.msg, "hello ") }) == sent
	})
	for i := range uint64(burst) {
		c.p.Send(a.p.Self(), requests(i))
	}
	isRequestFrom := func(from node.NodeID) func(received) bool {
		return func(r received) bool { return r.from == from && isRequest(chain.Kind([]byte(r.msg))) }
	}
	eventually(t, 10*time.Second, "C's requests, within its own burst", func() bool { return a.box.count(isRequestFrom(c.p.Self())) == burst })
	time.Sleep(200 * time.Millisecond)

	if n := a.box.count(isRequestFrom(b.p.Self())); n != burst {
		t.Errorf("A's role saw %d of B's requests, want %d", n, burst)
	}
	if n := b.box.count(isRefusal); n != sent-burst {
		t.Errorf("B got %d refusals, want %d", n, sent-burst)
	}
	if n := c.box.count(isRefusal); n != 0 {
		t.Errorf("C got %d refusals within its burst", n)
	}
	b.box.mu.Lock()
	for _, r := range b.box.got {
		ref, err := chain.DecodeRefusal([]byte(r.msg))
		if err != nil {
			t.Errorf("a refusal does not decode: %v", err)
			continue
		}
		if r.from != a.p.Self() || !isRequest(ref.Request) || ref.RetryAfterMillis == 0 || !strings.Contains(ref.Reason, "rate limit") {
			t.Errorf("refusal %+v from %s", ref, r.from)
		}
	}
	b.box.mu.Unlock()
	if m := a.p.Metrics(); m.RateLimited != sent-burst {
		t.Errorf("A's RateLimited %d, want %d", m.RateLimited, sent-burst)
	}

	// A negative rate: no limit at all.
	free := startP2P(t, P2PConfig{RequestRate: -1})
	if free.p.limiter != nil {
		t.Error("a negative request rate still limits")
	}
	for _, n := range []testNode{a, b, c, free} {
		_ = n.p.Close()
	}
	noP2PGoroutines(t)
}

// The bucket refills at its rate up to its burst, says how long until the
// next request, and the limiter forgets the least recently heard peer at
// its bound.
func TestRateLimiterBuckets(t *testing.T) {
	l := newRateLimiter(10, 3, 2)
	ids := make([]peer.ID, 3)
	for i := range ids {
		id, err := PeerIDFromKey(newP2PKey(t))
		if err != nil {
			t.Fatal(err)
		}
		if ids[i], err = peer.Decode(string(id)); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Unix(1000, 0)
	for i := range 3 {
		if ok, _ := l.allow(ids[0], t0); !ok {
			t.Fatalf("request %d within the burst refused", i)
		}
	}
	ok, wait := l.allow(ids[0], t0)
	if ok || wait != 100*time.Millisecond {
		t.Fatalf("beyond the burst: %v, wait %v; want refused, 100ms", ok, wait)
	}
	if ok, _ := l.allow(ids[0], t0.Add(50*time.Millisecond)); ok {
		t.Fatal("half a token let a request through")
	}
	if ok, _ := l.allow(ids[0], t0.Add(100*time.Millisecond)); !ok {
		t.Fatal("a refilled token refused")
	}
	// An hour later: the burst, not more.
	later := t0.Add(time.Hour)
	n := 0
	for {
		if ok, _ := l.allow(ids[0], later); !ok {
			break
		}
		n++
	}
	if n != 3 {
		t.Fatalf("%d requests after a long pause, want the burst, 3", n)
	}
	// Peers 1 and 2 arrive: peer 0, the least recently heard, is forgotten
	// and comes back with a full bucket.
	l.allow(ids[1], later)
	l.allow(ids[2], later)
	if l.tracked() != 2 {
		t.Fatalf("%d peers tracked, bound 2", l.tracked())
	}
	if ok, _ := l.allow(ids[0], later); !ok {
		t.Fatal("a forgotten peer is still limited")
	}
	if l.tracked() != 2 {
		t.Fatalf("%d peers tracked, bound 2", l.tracked())
	}
	// A rate so slow that the wait is capped.
	slow := newRateLimiter(1e-12, 1, 1)
	slow.allow(ids[0], t0)
	if ok, wait := slow.allow(ids[0], t0); ok || wait != maxRetryAfter {
		t.Fatalf("a slow bucket: %v, %v", ok, wait)
	}
}

// The scoring parameters pass GossipSub's own checks, and with them an
// honest peer's credit never pays for more than one forgery.
func TestScoreParams(t *testing.T) {
	if scoreCap+scoreInvalidWeight > 0 || scoreCap+4*scoreInvalidWeight >= 0 {
		t.Error("the credit cap pays for more than one forgery")
	}
	if !(0 > gossipThreshold && gossipThreshold > publishThreshold && publishThreshold > graylistThreshold) {
		t.Error("thresholds out of order")
	}
	if acceptPXThreshold <= scoreCap {
		t.Error("peer exchange reachable")
	}
	// How many forgeries (no credit) bring a peer below each threshold.
	below := func(th float64) int {
		n := 0
		for float64(n*n)*scoreInvalidWeight >= th {
			n++
		}
		return n
	}
	if g, p, gl := below(gossipThreshold), below(publishThreshold), below(graylistThreshold); g != 4 || p != 8 || gl != 11 {
		t.Errorf("forgeries to the thresholds: %d, %d, %d; the comments say 4, 8, 11", g, p, gl)
	}
	// GossipSub checks them as a node starts.
	n := startP2P(t, P2PConfig{})
	if err := n.p.Subscribe("t"); err != nil {
		t.Fatal(err)
	}
}
