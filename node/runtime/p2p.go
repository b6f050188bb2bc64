package runtime

import (
	"bufio"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	pubsub "github.com/libp2p/go-libp2p-pubsub"
	pb "github.com/libp2p/go-libp2p-pubsub/pb"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/control"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	libp2pquic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/chain"
)

// Network is what a node's event loop needs from the network. Send and
// Publish never block: each has a bounded outbound queue, and a message
// beyond its limit is dropped and counted (nodes repair what is lost, as
// they do in the simulator). Inbound messages, direct or gossiped, go to
// the deliver function given at construction, which must not block.
type Network interface {
	Self() node.NodeID
	Send(to node.NodeID, msg []byte)
	Subscribe(topic node.Topic) error
	Publish(topic node.Topic, msg []byte)
	Close() error
}

// P2PConfig configures the libp2p network of a node.
type P2PConfig struct {
	// Key is the node's libp2p identity: a secp256k1 private key, 32 bytes.
	// The node's NodeID is the peer ID it gives (see PeerIDFromKey).
	Key []byte
	// Listen are the multiaddrs to listen on, e.g. /ip4/127.0.0.1/tcp/9000
	// (TCP; /udp/.../quic-v1 also works). Empty: listen nowhere (dial only).
	Listen []string
	// Peers are full multiaddrs, with /p2p/<peer id>, of the peers to
	// connect to and keep connected (static topology).
	Peers []string
	// MaxMessageBytes bounds a message, direct or gossiped: bigger ones are
	// refused on send and on receive. Default 16 MiB.
	MaxMessageBytes int
	// SendQueue bounds the direct messages waiting for one peer. Default
	// 1024. Beyond it the writer holds one message while it reaches the
	// peer (a batch while it retries a failed write). It also bounds
	// gossipsub's per-peer outbound queue (in RPCs).
	SendQueue int
	// PublishQueue bounds the gossip messages waiting to be published.
	// Default 4096.
	PublishQueue int
	// Validate, when set, checks each gossip message before it is
	// delivered or forwarded (GossipSub's validator): nil accepts it; an
	// error wrapping ErrStale or ErrNotOurs ignores it (not delivered, not forwarded,
	// the sender not blamed); any other error rejects it (not delivered,
	// not forwarded, counted in ReceiveRejected). It runs on GossipSub's
	// validation goroutines, up to ValidateConcurrency at once, never on
	// the node's loop; it must be safe for concurrent use.
	Validate func(topic node.Topic, msg []byte) error
	// ValidateConcurrency bounds the messages validated at once; beyond
	// it GossipSub drops incoming messages (its throttle). Default 64.
	ValidateConcurrency int
	// AllowPeers, when not empty, makes the network permissioned: a
	// connection gater refuses every connection, inbound or outbound, to
	// a peer that is neither in AllowPeers nor one of Peers (the static
	// peers are always allowed). Each entry is a peer id, or a multiaddr
	// ending in /p2p/<peer id>. Refusals are counted in GaterRefused.
	// Empty (the default): any peer may connect.
	AllowPeers []string
	// RequestRate and RequestBurst bound the requests each remote peer
	// may send by direct message (range requests, DA block range
	// requests and gets, attestation requests): a token bucket per peer,
	// refilled at RequestRate a second and holding at most RequestBurst.
	// A request beyond it is not delivered; the requester is answered
	// with a chain.Refusal (with the time until the bucket holds a
	// request again) and it is counted in RateLimited. Defaults
	// DefaultRequestRate and DefaultRequestBurst; a negative RequestRate
	// disables the limit. Other messages are never limited.
	RequestRate  float64
	RequestBurst int
	Log          *slog.Logger
}

// Default request limits (P2PConfig.RequestRate, RequestBurst). Honest
// requesters wait for an answer before they ask again (a fullnode's range
// repair, a prover's DA fetch) or ask once per sealed block and peer
// (attestation requests), a few to a few hundred a second while catching
// up: the limits leave a wide margin, and only a peer that floods meets
// them.
const (
	DefaultRequestRate  = 500  // requests a second per peer, sustained
	DefaultRequestBurst = 1000 // requests a peer may send at once
)

// ErrStale marks a gossip message that is valid but old (a validator's
// verdict): ignored, not rejected.
var ErrStale = errors.New("stale message")

// ErrNotOurs marks a gossip message that is well formed and validly
// signed, but by a key this node does not take statements from (a
// validator's verdict): ignored, not rejected. Another honest node, which
// knows no such list, would relay it; rejecting it would make this node
// blame that honest relayer.
var ErrNotOurs = errors.New("signed by a key this node does not take")

func (c P2PConfig) withDefaults() P2PConfig {
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = 16 << 20
	}
	if c.SendQueue <= 0 {
		c.SendQueue = 1024
	}
	if c.ValidateConcurrency <= 0 {
		c.ValidateConcurrency = 64
	}
	if c.PublishQueue <= 0 {
		c.PublishQueue = 4096
	}
	if c.RequestRate == 0 {
		c.RequestRate = DefaultRequestRate
	}
	if c.RequestBurst <= 0 {
		c.RequestBurst = DefaultRequestBurst
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c
}

// P2PMetrics count what went through a P2P network. Sent counts direct
// messages written to a stream; SendDropped those refused (too big, bad
// peer id, full queue, closed) or lost (the stream failed twice).
// Received counts messages delivered, direct and gossiped; ReceiveRefused
// those refused for their size. Published counts gossip messages handed to
// pubsub; PublishDropped those refused or dropped. Peers is the number of
// peers connected now. SentBytes and ReceivedBytes count the payload bytes
// of the messages counted by Sent and Published, and by Received (framing
// and libp2p's own traffic aside).
type P2PMetrics struct {
	Sent, SendDropped, Received, ReceiveRefused, Published, PublishDropped, Peers uint64
	SentBytes, ReceivedBytes                                                      uint64
	// Rejected and Ignored count gossip messages P2PConfig.Validate
	// refused: forged or malformed, and stale.
	Rejected, Ignored uint64
	// GaterRefused counts connections (inbound, or dials) refused because
	// the peer is not on the allow-list (P2PConfig.AllowPeers).
	GaterRefused uint64
	// RateLimited counts requests refused for their sender's rate limit
	// (P2PConfig.RequestRate), each answered with a chain.Refusal.
	RateLimited uint64
	// Graylisted is the number of peers whose gossip score is below
	// graylistThreshold (their RPCs are ignored), connected or with their
	// score kept after they left, at the last score snapshot (see
	// PeerScores).
	Graylisted uint64
}

// MsgProtocol is the libp2p stream protocol of direct messages: a
// sequence of frames, each a uvarint length and that many bytes.
const MsgProtocol = protocol.ID("/meganode/msg/1")

// Bounds and timings of the network, fixed.
const (
	maxPeerWriters  = 4096             // peers with a live outbound queue at once
	maxTopics       = 256              // topics joined
	subBuffer       = 1024             // pubsub subscription buffer
	pubsubOverhead  = 64 << 10         // pubsub framing on top of a message's data
	batchMessages   = 256              // direct messages written before a flush
	batchBytes      = 1 << 20          // bytes written before a flush
	writerBuffer    = 64 << 10         // bufio buffers of streams
	dialTimeout     = 5 * time.Second  // one attempt to reach a peer
	writeTimeout    = 10 * time.Second // one batch written to a stream
	minBackoff      = 50 * time.Millisecond
	maxBackoff      = 2 * time.Second
	keepAlivePeriod = time.Second // static peers are checked this often
	writerIdle      = time.Minute // an idle writer stops (and closes its stream)
	writeAttempts   = 2           // streams a batch is tried on before it is dropped
	maxRatePeers    = 4096        // peers with a request bucket; beyond, the least recently active is forgotten
	maxRetryAfter   = time.Hour   // the most a refusal asks a requester to wait
)

// GossipSub peer scoring (pubsub.WithPeerScore). A peer's score at a node
// is a small credit for useful behaviour, less a penalty for invalid
// messages (the validator's Reject: forged, malformed or too big) that
// grows with the square of their number and decays with time. Nothing
// else counts against a peer: a stale message (ErrStale: Ignore) costs
// nothing, and the other penalties GossipSub offers are off — mesh
// delivery deficits (P3, P3b: a quiet topic would punish honest peers), IP
// colocation (P6: a devnet's peers all share 127.0.0.1) and protocol slips
// (P7: broken IWANT promises under load). An honest peer, whose every
// message validates, therefore never goes below 0. A peer below 0 is
// pruned from the mesh at the next heartbeat (a second) and not grafted
// again; below the thresholds it loses gossip, then our publications, then
// every RPC it sends is ignored (graylisted).
const (
	// scoreTopicWeight weighs every topic alike.
	scoreTopicWeight = 1
	// P1, time in a topic's mesh: +0.01 a second (scoreTimeInMeshWeight a
	// scoreTimeInMeshQuantum), up to scoreTimeInMeshCap quanta (+1).
	scoreTimeInMeshWeight  = 0.01
	scoreTimeInMeshQuantum = time.Second
	scoreTimeInMeshCap     = 100
	// P2, first deliveries: +0.5 for each message the peer was first to
	// bring, the count capped at scoreFirstDeliveryCap (+5) and decaying
	// to nothing over scoreFirstDeliveryDecay.
	scoreFirstDeliveryWeight = 0.5
	scoreFirstDeliveryCap    = 10
	scoreFirstDeliveryDecay  = time.Minute
	// P4, invalid messages: scoreInvalidWeight × (count)², −10 for one,
	// −1,000 for ten; the count decays to nothing over scoreInvalidDecay,
	// so that a peer graylisted for 11 forgeries is heard again after
	// about a minute, and for 20 after about nine.
	scoreInvalidWeight = -10
	scoreInvalidDecay  = time.Hour
	// scoreCap bounds the credit (P1 and P2, all topics together): +10,
	// so that credit banked by relaying honest messages pays for at most
	// one forgery.
	scoreCap = 10
	// scoreDecayInterval is how often counters decay (GossipSub's default);
	// a counter under scoreDecayToZero is 0.
	scoreDecayInterval = time.Second
	scoreDecayToZero   = 0.01
	// scoreRetain is how long the score of a peer that disconnected is
	// kept (GossipSub keeps only scores at or below 0): reconnecting does
	// not wash a penalty away.
	scoreRetain = time.Hour
	// scoreInspectPeriod is how often the snapshot PeerScores returns is
	// taken.
	scoreInspectPeriod = time.Second

	// gossipThreshold: below it (4 forgeries), no gossip (IHAVE/IWANT) is
	// sent to or taken from the peer.
	gossipThreshold = -100
	// publishThreshold: below it (8 forgeries), the node's own messages
	// are not published to the peer.
	publishThreshold = -500
	// graylistThreshold: below it (11 forgeries), every RPC of the peer is
	// ignored.
	graylistThreshold = -1000
	// acceptPXThreshold is beyond any score a peer can reach (scoreCap):
	// peer exchange is never taken up (the topology is static).
	acceptPXThreshold = 100
	// opportunisticGraftThreshold: when the median score of a topic's
	// mesh falls below it, GossipSub grafts better-scoring peers.
	opportunisticGraftThreshold = 1
)

// peerScoreParams are the scoring parameters of the node (topics get
// theirs as they are joined: topicScoreParams).
func peerScoreParams() *pubsub.PeerScoreParams {
	return &pubsub.PeerScoreParams{
		Topics:            map[string]*pubsub.TopicScoreParams{},
		TopicScoreCap:     scoreCap,
		AppSpecificScore:  func(peer.ID) float64 { return 0 },
		AppSpecificWeight: 0,
		DecayInterval:     scoreDecayInterval,
		DecayToZero:       scoreDecayToZero,
		RetainScore:       scoreRetain,
	}
}

// topicScoreParams are the scoring parameters of each joined topic.
func topicScoreParams() *pubsub.TopicScoreParams {
	decay := func(d time.Duration) float64 {
		return pubsub.ScoreParameterDecayWithBase(d, scoreDecayInterval, scoreDecayToZero)
	}
	return &pubsub.TopicScoreParams{
		TopicWeight:                    scoreTopicWeight,
		TimeInMeshWeight:               scoreTimeInMeshWeight,
		TimeInMeshQuantum:              scoreTimeInMeshQuantum,
		TimeInMeshCap:                  scoreTimeInMeshCap,
		FirstMessageDeliveriesWeight:   scoreFirstDeliveryWeight,
		FirstMessageDeliveriesDecay:    decay(scoreFirstDeliveryDecay),
		FirstMessageDeliveriesCap:      scoreFirstDeliveryCap,
		InvalidMessageDeliveriesWeight: scoreInvalidWeight,
		InvalidMessageDeliveriesDecay:  decay(scoreInvalidDecay),
	}
}

func peerScoreThresholds() *pubsub.PeerScoreThresholds {
	return &pubsub.PeerScoreThresholds{
		GossipThreshold:             gossipThreshold,
		PublishThreshold:            publishThreshold,
		GraylistThreshold:           graylistThreshold,
		AcceptPXThreshold:           acceptPXThreshold,
		OpportunisticGraftThreshold: opportunisticGraftThreshold,
	}
}

// scoreBook holds the last snapshot of the peers' scores.
type scoreBook struct {
	mu     sync.Mutex
	scores map[peer.ID]float64
	at     time.Time // when the snapshot was taken
}

func (b *scoreBook) set(scores map[peer.ID]float64) {
	b.mu.Lock()
	b.scores, b.at = scores, time.Now()
	b.mu.Unlock()
}

func (b *scoreBook) get() (map[peer.ID]float64, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[peer.ID]float64, len(b.scores))
	for id, s := range b.scores {
		out[id] = s
	}
	return out, b.at
}

func (b *scoreBook) graylisted() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := uint64(0)
	for _, s := range b.scores {
		if s < graylistThreshold {
			n++
		}
	}
	return n
}

// allowGater is the connection gater of a permissioned network: it lets
// through only the peers of its list, both ways.
type allowGater struct {
	allow   map[peer.ID]bool
	refused atomic.Uint64
}

var _ connmgr.ConnectionGater = (*allowGater)(nil)

func (g *allowGater) check(id peer.ID) bool {
	if g.allow[id] {
		return true
	}
	g.refused.Add(1)
	return false
}

// InterceptPeerDial refuses to dial a peer off the list.
func (g *allowGater) InterceptPeerDial(id peer.ID) bool { return g.check(id) }

// InterceptAddrDial is reached only for peers InterceptPeerDial allowed.
func (g *allowGater) InterceptAddrDial(id peer.ID, _ ma.Multiaddr) bool { return g.check(id) }

// InterceptAccept lets every inbound connection reach the handshake, which
// authenticates the peer's id (InterceptSecured).
func (g *allowGater) InterceptAccept(network.ConnMultiaddrs) bool { return true }

// InterceptSecured refuses an authenticated peer off the list, inbound or
// outbound, before any stream is opened.
func (g *allowGater) InterceptSecured(_ network.Direction, id peer.ID, _ network.ConnMultiaddrs) bool {
	return g.check(id)
}

// InterceptUpgraded lets through what InterceptSecured allowed.
func (g *allowGater) InterceptUpgraded(network.Conn) (bool, control.DisconnectReason) { return true, 0 }

// parseAllowList is the allow-list: AllowPeers (peer ids, or multiaddrs
// with /p2p/) and the static peers. Nil when AllowPeers is empty.
func parseAllowList(allow []string, static []peer.AddrInfo) (map[peer.ID]bool, error) {
	if len(allow) == 0 {
		return nil, nil
	}
	out := map[peer.ID]bool{}
	for _, s := range allow {
		var id peer.ID
		if len(s) > 0 && s[0] == '/' {
			ai, err := peer.AddrInfoFromString(s)
			if err != nil {
				return nil, fmt.Errorf("runtime: allowed peer %q: %w", s, err)
			}
			id = ai.ID
		} else {
			var err error
			if id, err = peer.Decode(s); err != nil {
				return nil, fmt.Errorf("runtime: allowed peer %q: %w", s, err)
			}
		}
		out[id] = true
	}
	for _, ai := range static {
		out[ai.ID] = true
	}
	return out, nil
}

// isRequest says whether a direct message of kind k is a request that
// the per-peer rate limit applies to.
func isRequest(k chain.Format) bool {
	switch k {
	case chain.FormatRangeRequestV1, chain.FormatBlockRangeRequestV1, chain.FormatDAGetV1, chain.FormatAttRequestV1:
		return true
	}
	return false
}

// rateLimiter is a token bucket per peer, for at most max peers: at the
// bound, the peer least recently heard from is forgotten (and starts
// afresh, with a full bucket, if it asks again).
type rateLimiter struct {
	rate, burst float64
	max         int
	mu          sync.Mutex
	peers       map[peer.ID]*list.Element // of *bucket
	lru         *list.List                // front: the most recently heard from
}

type bucket struct {
	id     peer.ID
	tokens float64
	last   time.Time
}

func newRateLimiter(rate float64, burst, max int) *rateLimiter {
	return &rateLimiter{rate: rate, burst: float64(burst), max: max, peers: map[peer.ID]*list.Element{}, lru: list.New()}
}

// allow takes a token from id's bucket at now. When there is none it says
// how long until there is one.
func (l *rateLimiter) allow(id peer.ID, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b *bucket
	if e := l.peers[id]; e != nil {
		b = e.Value.(*bucket)
		l.lru.MoveToFront(e)
		if dt := now.Sub(b.last); dt > 0 {
			b.tokens = min(l.burst, b.tokens+dt.Seconds()*l.rate)
		}
		b.last = now
	} else {
		if len(l.peers) >= l.max {
			old := l.lru.Back()
			l.lru.Remove(old)
			delete(l.peers, old.Value.(*bucket).id)
		}
		b = &bucket{id: id, tokens: l.burst, last: now}
		l.peers[id] = l.lru.PushFront(b)
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := maxRetryAfter
	if s := (1 - b.tokens) / l.rate; s < maxRetryAfter.Seconds() {
		wait = time.Duration(math.Ceil(s * float64(time.Second)))
	}
	return false, wait
}

// tracked is the number of peers with a bucket.
func (l *rateLimiter) tracked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.peers)
}

// ErrNetClosed is returned by calls on a closed P2P network.
var ErrNetClosed = errors.New("runtime: network closed")

// PeerIDFromKey returns the NodeID (the libp2p peer ID) that a secp256k1
// private key gives: configs name nodes by it.
func PeerIDFromKey(key []byte) (node.NodeID, error) {
	sk, err := crypto.UnmarshalSecp256k1PrivateKey(key)
	if err != nil {
		return "", err
	}
	id, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		return "", err
	}
	return node.NodeID(id.String()), nil
}

// P2P is the production Network: libp2p with direct messages on streams
// of MsgProtocol and gossip on GossipSub (signed messages, strict
// verification). Peers authenticate by peer ID through libp2p's secure
// channel; the sender of a gossip message is its signed author.
//
// Direct messages to a peer go through one bounded queue drained by one
// writer goroutine over one long-lived stream, opened (and the peer
// dialled) on demand and reopened with a bounded backoff when it fails;
// messages wait in the queue meanwhile. Static peers are redialled every
// second while disconnected.
type P2P struct {
	cfg     P2PConfig
	log     *slog.Logger
	host    host.Host
	ps      *pubsub.PubSub
	self    peer.ID
	deliver func(node.NodeID, []byte)
	ctx     context.Context
	cancel  context.CancelFunc

	mu      sync.Mutex // guards closed, writers, wg.Add
	closed  bool
	writers map[peer.ID]*peerWriter
	wg      sync.WaitGroup

	tmu    sync.Mutex // guards topics; held while talking to pubsub
	topics map[node.Topic]*joined

	pubq   chan pubItem
	static []peer.AddrInfo

	scores  *scoreBook
	gater   *allowGater  // nil: no allow-list
	limiter *rateLimiter // nil: requests are not limited

	sent, sendDropped, received, receiveRefused, published, publishDropped atomic.Uint64
	receiveRejected, receiveIgnored, rateLimited                           atomic.Uint64
	sentBytes, receivedBytes                                               atomic.Uint64
}

var _ Network = (*P2P)(nil)

type pubItem struct {
	topic node.Topic
	msg   []byte
}

type joined struct {
	t   *pubsub.Topic
	sub *pubsub.Subscription
}

type peerWriter struct {
	id   peer.ID
	q    chan []byte
	wake chan struct{} // a connection to the peer came up
}

// NewP2P starts a libp2p host listening on cfg.Listen, connects to the
// static peers (in the background) and hands every inbound message to
// deliver, which may be called from several goroutines at once and must
// not block. deliver is never called for the node's own gossip, nor after
// Close returns.
func NewP2P(cfg P2PConfig, deliver func(from node.NodeID, msg []byte)) (*P2P, error) {
	cfg = cfg.withDefaults()
	if deliver == nil {
		return nil, errors.New("runtime: NewP2P needs a deliver function")
	}
	sk, err := crypto.UnmarshalSecp256k1PrivateKey(cfg.Key)
	if err != nil {
		return nil, fmt.Errorf("runtime: p2p key: %w", err)
	}
	self, err := peer.IDFromPrivateKey(sk)
	if err != nil {
		return nil, fmt.Errorf("runtime: p2p key: %w", err)
	}
	static, err := parsePeers(cfg.Peers, self)
	if err != nil {
		return nil, err
	}
	allow, err := parseAllowList(cfg.AllowPeers, static)
	if err != nil {
		return nil, err
	}

	opts := []libp2p.Option{
		libp2p.Identity(sk),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(libp2pquic.NewTransport),
		libp2p.DisableRelay(),
		libp2p.DisableMetrics(),
		libp2p.UserAgent("meganode"),
	}
	if len(cfg.Listen) == 0 {
		opts = append(opts, libp2p.NoListenAddrs)
	} else {
		opts = append(opts, libp2p.ListenAddrStrings(cfg.Listen...))
	}
	var gater *allowGater
	if allow != nil {
		gater = &allowGater{allow: allow}
		opts = append(opts, libp2p.ConnectionGater(gater))
	}
	h, err := libp2p.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("runtime: libp2p host: %w", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	// Messages are not signed by libp2p: every payload we gossip carries
	// its own signature (mini-blocks and bundles the sequencer's, statements
	// the provers'), checked by the node that takes it, so a second,
	// pubsub-level signature would only cost each hop an ECDSA sign or
	// verify. Messages are then identified by the hash of their content.
	// Peers are scored (see scoreTopicWeight): one that sends what the
	// validator rejects is pruned from the mesh, then graylisted.
	scores := &scoreBook{}
	ps, err := pubsub.NewGossipSub(ctx, h,
		pubsub.WithMessageSignaturePolicy(pubsub.StrictNoSign),
		pubsub.WithNoAuthor(),
		pubsub.WithMessageIdFn(func(m *pb.Message) string {
			h := sha256.Sum256(m.Data)
			return string(h[:])
		}),
		pubsub.WithMaxMessageSize(cfg.MaxMessageBytes+pubsubOverhead),
		pubsub.WithPeerOutboundQueueSize(cfg.SendQueue),
		pubsub.WithPeerScore(peerScoreParams(), peerScoreThresholds()),
		pubsub.WithPeerScoreInspect(pubsub.PeerScoreInspectFn(scores.set), scoreInspectPeriod),
	)
	if err != nil {
		cancel()
		_ = h.Close()
		return nil, fmt.Errorf("runtime: gossipsub: %w", err)
	}

	p := &P2P{
		cfg:     cfg,
		log:     cfg.Log.With("p2p", self.String()),
		host:    h,
		ps:      ps,
		self:    self,
		deliver: deliver,
		ctx:     ctx,
		cancel:  cancel,
		writers: map[peer.ID]*peerWriter{},
		topics:  map[node.Topic]*joined{},
		pubq:    make(chan pubItem, cfg.PublishQueue),
		static:  static,
		scores:  scores,
		gater:   gater,
	}
	if cfg.RequestRate > 0 {
		p.limiter = newRateLimiter(cfg.RequestRate, cfg.RequestBurst, maxRatePeers)
	}

	for _, ai := range static {
		h.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.PermanentAddrTTL)
		h.ConnManager().Protect(ai.ID, "meganode-static")
	}
	h.SetStreamHandler(MsgProtocol, p.handleStream)
	h.Network().Notify(&network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) { p.kick(c.RemotePeer()) },
	})

	p.wg.Add(1 + len(static))
	go p.publisher()
	for _, ai := range static {
		go p.keepConnected(ai.ID)
	}
	return p, nil
}

func parsePeers(addrs []string, self peer.ID) ([]peer.AddrInfo, error) {
	var out []peer.AddrInfo
	index := map[peer.ID]int{}
	for _, s := range addrs {
		ai, err := peer.AddrInfoFromString(s)
		if err != nil {
			return nil, fmt.Errorf("runtime: static peer %q: %w", s, err)
		}
		if ai.ID == self {
			continue
		}
		if i, ok := index[ai.ID]; ok {
			out[i].Addrs = append(out[i].Addrs, ai.Addrs...)
			continue
		}
		index[ai.ID] = len(out)
		out = append(out, *ai)
	}
	return out, nil
}

// Self is the node's peer ID.
func (p *P2P) Self() node.NodeID { return node.NodeID(p.self.String()) }

// Addrs are the full multiaddrs, with /p2p/, where the node listens.
func (p *P2P) Addrs() []string {
	mas, err := peer.AddrInfoToP2pAddrs(&peer.AddrInfo{ID: p.self, Addrs: p.host.Addrs()})
	if err != nil {
		return nil
	}
	out := make([]string, len(mas))
	for i, a := range mas {
		out[i] = a.String()
	}
	return out
}

// Metrics returns the counters.
func (p *P2P) Metrics() P2PMetrics {
	var gaterRefused uint64
	if p.gater != nil {
		gaterRefused = p.gater.refused.Load()
	}
	return P2PMetrics{
		Sent:           p.sent.Load(),
		SendDropped:    p.sendDropped.Load(),
		Received:       p.received.Load(),
		ReceiveRefused: p.receiveRefused.Load(),
		Rejected:       p.receiveRejected.Load(),
		Ignored:        p.receiveIgnored.Load(),
		Published:      p.published.Load(),
		PublishDropped: p.publishDropped.Load(),
		Peers:          uint64(len(p.host.Network().Peers())),
		SentBytes:      p.sentBytes.Load(),
		ReceivedBytes:  p.receivedBytes.Load(),
		GaterRefused:   gaterRefused,
		RateLimited:    p.rateLimited.Load(),
		Graylisted:     p.scores.graylisted(),
	}
}

// PeerScores returns the GossipSub scores of the peers this node scores
// (connected, or disconnected with a score kept), as of the last snapshot,
// taken every scoreInspectPeriod. An honest peer scores 0 or more; one
// below graylistThreshold is graylisted.
func (p *P2P) PeerScores() map[peer.ID]float64 {
	s, _ := p.scores.get()
	return s
}

// Send queues msg for peer to; it never blocks. msg must not be changed
// afterwards. A message to the node itself is delivered at once, as the
// simulator does.
func (p *P2P) Send(to node.NodeID, msg []byte) {
	if len(msg) > p.cfg.MaxMessageBytes {
		p.sendDropped.Add(1)
		p.log.Debug("p2p: message too big to send", "to", to, "size", len(msg))
		return
	}
	id, err := peer.Decode(string(to))
	if err != nil {
		p.sendDropped.Add(1)
		p.log.Debug("p2p: send to a bad peer id", "to", to, "err", err)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		p.sendDropped.Add(1)
		return
	}
	if id == p.self {
		p.sent.Add(1)
		p.received.Add(1)
		p.sentBytes.Add(uint64(len(msg)))
		p.receivedBytes.Add(uint64(len(msg)))
		p.deliver(to, msg)
		return
	}
	w := p.writers[id]
	if w == nil {
		if len(p.writers) >= maxPeerWriters {
			p.sendDropped.Add(1)
			p.log.Debug("p2p: too many peers with queued messages", "to", to)
			return
		}
		w = &peerWriter{id: id, q: make(chan []byte, p.cfg.SendQueue), wake: make(chan struct{}, 1)}
		p.writers[id] = w
		p.wg.Add(1)
		go p.write(w)
	}
	select {
	case w.q <- msg:
	default:
		p.sendDropped.Add(1)
	}
}

// kick wakes the writer of a peer that just connected, if it waits.
func (p *P2P) kick(id peer.ID) {
	p.mu.Lock()
	w := p.writers[id]
	p.mu.Unlock()
	if w != nil {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// write is the writer goroutine of one peer: it drains the peer's queue
// into one stream, in batches flushed together, and stops when it has been
// idle for writerIdle. While the peer cannot be reached it holds the first
// message and redials with a backoff from minBackoff to maxBackoff (woken
// early when a connection to the peer comes up); the queue fills and then
// drops meanwhile. A batch whose write fails is tried once more on a new
// stream (so the peer may get it twice), then dropped and counted.
func (p *P2P) write(w *peerWriter) {
	defer p.wg.Done()
	var (
		s     network.Stream
		bw    *bufio.Writer
		batch [][]byte
	)
	defer func() {
		if s != nil {
			_ = s.Reset()
		}
	}()
	idle := time.NewTimer(writerIdle)
	defer idle.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-w.wake:
			continue
		case <-idle.C:
			if p.retire(w) {
				return
			}
			idle.Reset(writerIdle)
			continue
		case m := <-w.q:
			batch = append(batch[:0], m)
		}

		// The writer holds one message while it reaches the peer, then
		// takes what else is queued, up to a batch, once the stream is up.
		backoff, drained := minBackoff, false
		for attempt := 0; ; {
			if s == nil {
				var err error
				s, err = p.openStream(w.id)
				if err != nil {
					if p.ctx.Err() != nil {
						return
					}
					p.log.Debug("p2p: cannot reach peer", "peer", w.id, "err", err, "retry", backoff)
					failed := time.Now()
					t := time.NewTimer(backoff)
					select {
					case <-p.ctx.Done():
						t.Stop()
						return
					case <-w.wake:
						// A connection came up: try at once, but not
						// sooner than minBackoff after the failure (a
						// peer whose gater refuses us after the
						// handshake would be redialled in a loop).
						t.Reset(minBackoff - time.Since(failed))
						select {
						case <-p.ctx.Done():
							t.Stop()
							return
						case <-t.C:
						}
					case <-t.C:
					}
					t.Stop()
					backoff = min(2*backoff, maxBackoff)
					continue
				}
				backoff = minBackoff
				if bw == nil {
					bw = bufio.NewWriterSize(s, writerBuffer)
				} else {
					bw.Reset(s)
				}
			}
			if !drained {
				batch = drainQueue(w.q, batch)
				drained = true
			}
			err := writeBatch(s, bw, batch)
			if err == nil {
				p.sent.Add(uint64(len(batch)))
				for _, m := range batch {
					p.sentBytes.Add(uint64(len(m)))
				}
				break
			}
			_ = s.Reset()
			s = nil
			attempt++
			if attempt >= writeAttempts || p.ctx.Err() != nil {
				p.sendDropped.Add(uint64(len(batch)))
				p.log.Debug("p2p: messages lost", "peer", w.id, "n", len(batch), "err", err)
				break
			}
		}
		clear(batch)
		idle.Reset(writerIdle)
	}
}

// drainQueue appends to batch what q holds, up to a batch.
func drainQueue(q chan []byte, batch [][]byte) [][]byte {
	size := 0
	for _, m := range batch {
		size += len(m)
	}
	for len(batch) < batchMessages && size < batchBytes {
		select {
		case m := <-q:
			batch = append(batch, m)
			size += len(m)
		default:
			return batch
		}
	}
	return batch
}

// retire removes an idle writer unless a message arrived meanwhile.
func (p *P2P) retire(w *peerWriter) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(w.q) > 0 {
		return false
	}
	delete(p.writers, w.id)
	return true
}

func (p *P2P) openStream(id peer.ID) (network.Stream, error) {
	if p.host.Network().Connectedness(id) != network.Connected {
		p.clearDialBackoff(id)
	}
	ctx, cancel := context.WithTimeout(p.ctx, dialTimeout)
	defer cancel()
	return p.host.NewStream(ctx, id, MsgProtocol)
}

// clearDialBackoff forgets the swarm's dial backoff for a peer: it grows
// to minutes, and the network keeps its own, bounded, backoff instead.
func (p *P2P) clearDialBackoff(id peer.ID) {
	if sw, ok := p.host.Network().(*swarm.Swarm); ok {
		sw.Backoff().Clear(id)
	}
}

func writeBatch(s network.Stream, bw *bufio.Writer, batch [][]byte) error {
	_ = s.SetWriteDeadline(time.Now().Add(writeTimeout))
	var hdr [binary.MaxVarintLen64]byte
	for _, m := range batch {
		n := binary.PutUvarint(hdr[:], uint64(len(m)))
		if _, err := bw.Write(hdr[:n]); err != nil {
			return err
		}
		if _, err := bw.Write(m); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// track registers a goroutine that may call deliver; false once closed.
func (p *P2P) track() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.wg.Add(1)
	return true
}

// handleStream reads the frames of an inbound stream of MsgProtocol.
func (p *P2P) handleStream(s network.Stream) {
	if !p.track() {
		_ = s.Reset()
		return
	}
	defer p.wg.Done()
	from := s.Conn().RemotePeer()
	r := bufio.NewReaderSize(s, writerBuffer)
	for {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			if errors.Is(err, io.EOF) {
				_ = s.Close()
			} else {
				_ = s.Reset()
			}
			return
		}
		if n > uint64(p.cfg.MaxMessageBytes) {
			p.receiveRefused.Add(1)
			p.log.Debug("p2p: refused a message too big", "from", from, "size", n)
			_ = s.Reset()
			return
		}
		msg := make([]byte, n)
		if _, err := io.ReadFull(r, msg); err != nil {
			_ = s.Reset()
			return
		}
		if p.ctx.Err() != nil {
			_ = s.Reset()
			return
		}
		if k := chain.Kind(msg); p.limiter != nil && isRequest(k) {
			if ok, wait := p.limiter.allow(from, time.Now()); !ok {
				p.refuse(from, k, wait)
				continue
			}
		}
		p.received.Add(1)
		p.receivedBytes.Add(uint64(len(msg)))
		p.deliver(node.NodeID(from.String()), msg)
	}
}

// refuse answers a request beyond its sender's rate limit with a
// chain.Refusal, instead of delivering it.
func (p *P2P) refuse(from peer.ID, k chain.Format, wait time.Duration) {
	p.rateLimited.Add(1)
	p.log.Debug("p2p: request refused: rate limit", "from", from, "request", k, "retry", wait)
	r := &chain.Refusal{
		Request:          k,
		Reason:           fmt.Sprintf("rate limited: %g requests a second per peer, burst %d", p.cfg.RequestRate, p.cfg.RequestBurst),
		RetryAfterMillis: uint64((wait + time.Millisecond - 1) / time.Millisecond),
	}
	p.Send(node.NodeID(from.String()), r.Encode())
}

// keepConnected redials a static peer every keepAlivePeriod while it is
// not connected, one attempt at a time.
func (p *P2P) keepConnected(id peer.ID) {
	defer p.wg.Done()
	t := time.NewTicker(keepAlivePeriod)
	defer t.Stop()
	for {
		if p.host.Network().Connectedness(id) != network.Connected {
			p.clearDialBackoff(id)
			ctx, cancel := context.WithTimeout(p.ctx, dialTimeout)
			err := p.host.Connect(ctx, peer.AddrInfo{ID: id})
			cancel()
			if err != nil && p.ctx.Err() == nil {
				p.log.Debug("p2p: static peer unreachable", "peer", id, "err", err)
			}
		}
		select {
		case <-p.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Subscribe joins topic: its messages from other nodes are delivered from
// now on. Subscribing twice is harmless.
func (p *P2P) Subscribe(topic node.Topic) error {
	p.tmu.Lock()
	defer p.tmu.Unlock()
	j, err := p.join(topic)
	if err != nil {
		return err
	}
	if j.sub != nil {
		return nil
	}
	sub, err := j.t.Subscribe(pubsub.WithBufferSize(subBuffer))
	if err != nil {
		return fmt.Errorf("runtime: subscribe %q: %w", topic, err)
	}
	if !p.track() {
		sub.Cancel()
		return ErrNetClosed
	}
	j.sub = sub
	go p.read(sub)
	return nil
}

// join returns the joined topic, joining it if needed. p.tmu is held.
func (p *P2P) join(topic node.Topic) (*joined, error) {
	if j := p.topics[topic]; j != nil {
		return j, nil
	}
	if p.ctx.Err() != nil {
		return nil, ErrNetClosed
	}
	if len(p.topics) >= maxTopics {
		return nil, fmt.Errorf("runtime: more than %d topics", maxTopics)
	}
	opts := []pubsub.ValidatorOpt{pubsub.WithValidatorInline(true)}
	if p.cfg.Validate != nil {
		// Signature checks run on GossipSub's validation goroutines, in
		// parallel, never on the node's loop.
		opts = []pubsub.ValidatorOpt{pubsub.WithValidatorConcurrency(p.cfg.ValidateConcurrency)}
	}
	if err := p.ps.RegisterTopicValidator(string(topic), p.validate, opts...); err != nil {
		return nil, fmt.Errorf("runtime: topic %q: %w", topic, err)
	}
	t, err := p.ps.Join(string(topic))
	if err != nil {
		_ = p.ps.UnregisterTopicValidator(string(topic))
		return nil, fmt.Errorf("runtime: join %q: %w", topic, err)
	}
	if err := t.SetScoreParams(topicScoreParams()); err != nil {
		_ = t.Close()
		_ = p.ps.UnregisterTopicValidator(string(topic))
		return nil, fmt.Errorf("runtime: topic %q: %w", topic, err)
	}
	j := &joined{t: t}
	p.topics[topic] = j
	return j, nil
}

func (p *P2P) validate(_ context.Context, from peer.ID, m *pubsub.Message) pubsub.ValidationResult {
	if len(m.Data) > p.cfg.MaxMessageBytes {
		if from != p.self {
			p.receiveRefused.Add(1)
		}
		return pubsub.ValidationReject
	}
	if p.cfg.Validate == nil || from == p.self {
		return pubsub.ValidationAccept
	}
	switch err := p.cfg.Validate(node.Topic(m.GetTopic()), m.Data); {
	case err == nil:
		return pubsub.ValidationAccept
	case errors.Is(err, ErrStale), errors.Is(err, ErrNotOurs):
		p.receiveIgnored.Add(1)
		return pubsub.ValidationIgnore
	default:
		p.receiveRejected.Add(1)
		p.cfg.Log.Debug("gossip rejected", "topic", m.GetTopic(), "from", from, "err", err)
		return pubsub.ValidationReject
	}
}

// read delivers the messages of one subscription, but the node's own.
func (p *P2P) read(sub *pubsub.Subscription) {
	defer p.wg.Done()
	for {
		m, err := sub.Next(p.ctx)
		if err != nil {
			return
		}
		// Messages have no author (see NewP2P): the peer that relayed one
		// names it, which is all a node uses the sender of gossip for.
		from := m.ReceivedFrom
		if from == p.self {
			continue
		}
		if len(m.Data) > p.cfg.MaxMessageBytes {
			p.receiveRefused.Add(1)
			continue
		}
		p.received.Add(1)
		p.receivedBytes.Add(uint64(len(m.Data)))
		p.deliver(node.NodeID(from.String()), m.Data)
	}
}

// Publish queues msg for gossip on topic; it never blocks. msg must not be
// changed afterwards. The topic is joined if needed (without subscribing).
func (p *P2P) Publish(topic node.Topic, msg []byte) {
	if len(msg) > p.cfg.MaxMessageBytes || p.ctx.Err() != nil {
		p.publishDropped.Add(1)
		return
	}
	select {
	case p.pubq <- pubItem{topic, msg}:
	default:
		p.publishDropped.Add(1)
	}
}

// publisher drains the publish queue.
func (p *P2P) publisher() {
	defer p.wg.Done()
	for {
		var it pubItem
		select {
		case <-p.ctx.Done():
			return
		case it = <-p.pubq:
		}
		p.tmu.Lock()
		j, err := p.join(it.topic)
		p.tmu.Unlock()
		if err == nil {
			err = j.t.Publish(p.ctx, it.msg)
		}
		if err != nil {
			p.publishDropped.Add(1)
			if p.ctx.Err() == nil {
				p.log.Debug("p2p: publish failed", "topic", it.topic, "err", err)
			}
			continue
		}
		p.published.Add(1)
		p.sentBytes.Add(uint64(len(it.msg)))
	}
}

// Close stops every goroutine of the network and closes the host. Nothing
// is delivered after it returns.
func (p *P2P) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()

	p.cancel() // stops the writers, readers, publisher, keep-alive loops and pubsub
	err := p.host.Close()
	p.wg.Wait()
	return err
}
