package chainsim

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/meganode/meganode/model/contracts"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/da"
	"github.com/meganode/meganode/node/fullnode"
	"github.com/meganode/meganode/node/ledger"
	"github.com/meganode/meganode/node/mempool"
	"github.com/meganode/meganode/node/prover"
	"github.com/meganode/meganode/node/sequencer"
	"github.com/meganode/meganode/sim"
	"github.com/meganode/meganode/traces"
)

// SequencerID is the sequencer's name; fullnodes are fullnode1, fullnode2,
// …, provers prover1, prover2, …, and DA is DAID.
const (
	SequencerID node.NodeID = "sequencer"
	DAID        node.NodeID = "da"
)

// Ranges is the chain profile's swarm: 1 sequencer and 2–5 fullnodes
// (Nodes counts these), 1 DA node and 2–4 provers (the scenario draws
// them), 2–8 clients, and every fault kind the world has.
var Ranges = sim.Ranges{
	Nodes:     sim.IntRange{Min: 3, Max: 6},
	Clients:   sim.IntRange{Min: 2, Max: 8},
	Duration:  sim.DurRange{Min: 1 * time.Second, Max: 4 * time.Second},
	Liveness:  20 * time.Second,
	Latency:   sim.DurRange{Min: 100 * time.Microsecond, Max: 3 * time.Millisecond},
	Jitter:    sim.Range{Min: 0, Max: 1},
	Drop:      sim.Range{Min: 0, Max: 0.05},
	Duplicate: sim.Range{Min: 0, Max: 0.05},
	Reorder:   sim.Range{Min: 0, Max: 0.1},
	FaultOn:   0.6,

	CrashEvery:     sim.DurRange{Min: 300 * time.Millisecond, Max: 2 * time.Second},
	PauseEvery:     sim.DurRange{Min: 300 * time.Millisecond, Max: 2 * time.Second},
	PartitionEvery: sim.DurRange{Min: 300 * time.Millisecond, Max: 3 * time.Second},
	ClogEvery:      sim.DurRange{Min: 300 * time.Millisecond, Max: 3 * time.Second},
	ClockJumpEvery: sim.DurRange{Min: 300 * time.Millisecond, Max: 3 * time.Second},
	KillEvery:      sim.DurRange{Min: 300 * time.Millisecond, Max: 2 * time.Second},
	SyncCrashEvery: sim.DurRange{Min: 300 * time.Millisecond, Max: 2 * time.Second},
	SlowDiskEvery:  sim.DurRange{Min: 300 * time.Millisecond, Max: 3 * time.Second},
	SlowDiskBy:     sim.DurRange{Min: 5 * time.Millisecond, Max: 100 * time.Millisecond},
	SyncLatency:    sim.DurRange{Min: 20 * time.Microsecond, Max: 4 * time.Millisecond},
	DownFor:        sim.DurRange{Min: 10 * time.Millisecond, Max: 500 * time.Millisecond},
	MaxSkew:        2 * time.Second,
	Disk: struct{ ReadError, WriteError, CorruptRead, TornWrite sim.Range }{
		ReadError: sim.Range{Max: 0.01}, WriteError: sim.Range{Max: 0.01}, CorruptRead: sim.Range{Max: 0.01}, TornWrite: sim.Range{Min: 0.2, Max: 1},
	},
	ThinkTime: sim.DurRange{Min: time.Millisecond, Max: 30 * time.Millisecond},
	Timeout:   300 * time.Millisecond,
}

// Variants let tests build deliberately wrong clusters; the zero value is
// the real one.
type Variants struct {
	Sequencer func(cfg sequencer.Config) node.Node
	Fullnode  func(cfg fullnode.Config) node.Node
	Prover    func(cfg prover.Config) node.Node
	// Byzantine are the byzantine behaviours a run draws one of (see
	// byzantine.go); none: every node is honest.
	Byzantine []ByzKind
	// Group is the size of the sequencer group (the failover profile);
	// 0: a lone sequencer.
	Group int
	// ElectionTicks fixes a group's election timeout, in ticks of 1 ms;
	// 0: three of the run's slowest round trips (10 ticks at least).
	ElectionTicks int
	// Tight shrinks every bound (pool, waiters, buffers, caches, pending
	// bundles, response sizes) so that runs reach them: the tight profile.
	Tight bool
}

// Profile is the chain profile; importing this package registers it.
var Profile = NewProfile("chain", Variants{})

// NewProfile returns a chain profile under a name, with variants.
func NewProfile(name string, v Variants) *sim.Profile {
	return &sim.Profile{Name: name, Ranges: Ranges, New: func(cfg *sim.Config, rng *rand.Rand) sim.Scenario {
		return New(cfg, rng, v)
	}}
}

func init() { sim.Register(Profile) }

// poolGap is the pool's nonce gap limit in the simulation.
const poolGap = 16

// Scenario runs a chain in the world.
type Scenario struct {
	cast      *Cast
	v         Variants
	fullnodes []node.NodeID
	provers   []node.NodeID
	pfaults   proverFaults
	byz       *byzantine // nil: an honest sequencer
	bug       buggify    // the knobs this seed turned
	finTarget uint64     // the safe block when the liveness phase began: it must be finalized
	skewed    bool       // clocks jump in this run: node-measured delays mean nothing
	interval  time.Duration
	minGap    time.Duration // the sequencer's early-close gap; negative: interval only
	blockGap  time.Duration // the sequencer's least gap between seals of blocks with transactions; negative: K-th tick only
	perBlock  int
	sendShare float64
	badShare  float64
	seed      uint64
	nclients  int
	perGroup  int    // clients per account group (P1 checks each group on its own)
	shared    bool   // clients send from every account of their group, on shared nonce sequences
	lag       uint64 // mini-blocks a caught-up fullnode may trail by: those in flight
	// electionTicks is a sequencer group's election timeout, in ticks of
	// groupTick.
	electionTicks int

	meta map[common.Hash]*callMeta // by keccak of the call's body

	// poolEvents is each sequencer's record of its pool decisions, over
	// every incarnation (P9): one record per group member.
	poolEvents map[node.NodeID][]sequencer.PoolEvent

	// A sequencer group's run: what its members saw, the leader faults
	// as they happened, and when the next may come.
	groupEvents []groupObs
	losses      []leaderLoss
	faultFree   time.Duration
}

// callMeta is what the scenario knows of a call it made, for the checkers.
type callMeta struct {
	client  int
	group   int
	account int // index in the group
	from    int // a send's sender, by global index
	send    bool
	kind    sendKind
	tx      *types.Transaction // nil for malformed input
	to      int                // recipient's index in the group
	amount  *big.Int
	token   bool // a token balance read (eth_call balanceOf)
	read    common.Address
}

type sendKind uint8

const (
	kindTransfer sendKind = iota + 1
	kindToken
	kindSwap
	kindDeploy
	kindRevert
	kindBadSig
	kindWrongChain
	kindNonceLow
	kindNonceGap
	kindNoFunds
	kindOversized
	kindMalformed
	kindQueued // a transfer a few nonces ahead (buggify's small pool): it waits in the pool
)

// queuedShare is the share of sends ahead of their nonce when the seed's
// pool is small (buggify).
const queuedShare = 0.15

var kindNames = map[sendKind]string{
	kindTransfer: "transfer", kindToken: "token transfer", kindSwap: "swap", kindDeploy: "deploy", kindRevert: "reverting call",
	kindBadSig: "bad signature", kindWrongChain: "wrong chain id", kindNonceLow: "nonce too low", kindNonceGap: "nonce gap", kindQueued: "ahead of its nonce",
	kindNoFunds: "insufficient funds", kindOversized: "oversized", kindMalformed: "malformed",
}

// New builds the scenario for cfg.
func New(cfg *sim.Config, rng *rand.Rand, v Variants) *Scenario {
	s := &Scenario{
		cast: TheCast(), v: v, seed: cfg.Seed, nclients: min(cfg.Clients, maxClients),
		interval:   time.Duration(5+rng.IntN(16)) * time.Millisecond,
		perBlock:   5 + rng.IntN(16),
		minGap:     -1,
		sendShare:  0.2 + 0.4*rng.Float64(),
		badShare:   0.05 + 0.2*rng.Float64(),
		meta:       map[common.Hash]*callMeta{},
		poolEvents: map[node.NodeID][]sequencer.PoolEvent{},
	}
	switch rng.IntN(3) {
	case 1:
		s.minGap = time.Millisecond
	case 2:
		s.minGap = s.interval / 2
	}
	switch rng.IntN(4) {
	case 0:
		s.blockGap = -1 // blocks seal at their K-th tick only
	case 1:
		s.blockGap = time.Microsecond // every close that finds a transaction seals
	case 2:
		s.blockGap = s.interval / 2
	case 3:
		s.blockGap = 2 * s.interval
	}
	if v.Tight && s.blockGap >= 0 {
		// A fullnode whose every bound is tiny repairs 4 mini-blocks a
		// round trip: seals between closes (a timer's mini-block each)
		// would outrun its catch-up for good.
		s.blockGap = max(s.blockGap, 2*s.interval)
	}
	// A group's election timeout: three of its slowest round trips (two
	// one-way latencies and two syncs: an acknowledgement waits for the
	// sync before it), and 10 ticks at least.
	rtt := 2*time.Duration(float64(cfg.Latency.Max)*(1+cfg.Jitter)) + 2*cfg.SyncLatency.Max
	s.electionTicks = max(10, int((3*rtt+groupTick-1)/groupTick))
	if v.ElectionTicks > 0 {
		s.electionTicks = v.ElectionTicks
	}
	s.lag = 1 + uint64(2*float64(cfg.Latency.Max)*(1+cfg.Jitter)/float64(s.interval))
	if s.minGap > 0 {
		s.lag = 1 + uint64(2*float64(cfg.Latency.Max)*(1+cfg.Jitter)/float64(s.minGap))
	}
	for i := range cfg.Nodes - 1 {
		s.fullnodes = append(s.fullnodes, node.NodeID(fmt.Sprintf("fullnode%d", i+1)))
	}
	for i := range 2 + rng.IntN(maxProvers-1) {
		s.provers = append(s.provers, node.NodeID(fmt.Sprintf("prover%d", i+1)))
	}
	s.pfaults = drawProverFaults(cfg, rng)
	s.skewed = cfg.Faults.ClockJump > 0
	if len(v.Byzantine) > 0 {
		s.byz = newByzantine(rng, v.Byzantine, s.perBlock, len(s.provers))
	}
	// Drawn last, so that every draw above is the same with or without
	// them.
	if !v.Tight {
		s.bug = drawBuggify(rng)
		if s.bug.byzantine && s.byz == nil && v.Group == 0 {
			// (A group's members sign with their own keys: the
			// byzantine actors are the lone sequencer's profiles'.)
			s.byz = newByzantine(rng, ByzKinds, s.perBlock, len(s.provers))
		}
		if s.bug.buffer > 0 && s.blockGap >= 0 {
			// As in the tight profile: a fullnode that repairs a few
			// mini-blocks a round trip cannot follow seals between closes.
			s.blockGap = max(s.blockGap, 2*s.interval)
		}
	}
	if s.byz != nil {
		for len(s.provers) < s.byz.needsProvers() {
			s.provers = append(s.provers, node.NodeID(fmt.Sprintf("prover%d", len(s.provers)+1)))
		}
	}
	// The workload's shape, drawn last of all: with shared accounts, many
	// clients send from one account group's accounts, on the same nonce
	// sequences, and read them as they go.
	s.perGroup = clientsPerGroup
	if rng.Float64() < sharedShare {
		s.shared = true
		s.perGroup = 2 + rng.IntN(maxClients-1)
	}
	early := "on the interval only"
	if s.minGap > 0 {
		early = fmt.Sprintf("early when idle, %v apart at least", s.minGap)
	}
	seal := "at the last interval only"
	if s.blockGap >= 0 {
		seal = fmt.Sprintf("sooner with transactions, %v apart at least", s.blockGap)
	}
	seqs := "1 sequencer"
	if v.Group > 0 {
		seqs = fmt.Sprintf("a group of %d sequencers (raft tick %v, election timeout %d ticks; the leader crashed, killed, paused or cut off)", v.Group, groupTick, s.electionTicks)
	}
	cfg.Scenario = fmt.Sprintf("chain: %s, %d fullnodes, %d provers, DA, mini-block every %v (%s), %d intervals per block (sealed %s), %.0f%% sends (%.0f%% of them bad input); %s",
		seqs, len(s.fullnodes), len(s.provers), s.interval, early, s.perBlock, seal, 100*s.sendShare, 100*s.badShare, s.pfaults)
	if s.byz != nil {
		cfg.Scenario += "; " + s.byz.String()
	}
	if b := s.bug.String(); b != "" {
		cfg.Scenario += "; " + b
	}
	if s.shared {
		cfg.Scenario += fmt.Sprintf("; shared accounts: %d clients a group", min(s.perGroup, s.nclients))
	}
	return s
}

// sharedShare is the share of seeds whose clients share their group's
// accounts.
const sharedShare = 0.4

// SequencerConfig is the sequencer's configuration in this scenario (a
// group's first member's).
func (s *Scenario) SequencerConfig() sequencer.Config { return s.MemberConfig(0) }

// MemberConfig is the configuration of the sequencer, or of group member
// i.
func (s *Scenario) MemberConfig(i int) sequencer.Config {
	id := s.SeqIDs()[i]
	cfg := sequencer.Config{
		Genesis: s.cast.Genesis, Key: s.cast.SeqKey, Coinbase: coinbase,
		MiniBlockInterval: s.interval, MiniBlocksPerBlock: s.perBlock, MinGap: s.minGap, BlockGap: s.blockGap,
		Pool:        mempool.Config{MaxGap: poolGap},
		Ledger:      ledger.Config{SnapshotEvery: uint64(2 * s.perBlock)},
		SyncTimeout: 200 * time.Millisecond,
		DA:          DAID, RetryDA: 50 * time.Millisecond,
	}
	if s.byz != nil && (s.byz.kind == ByzConsistentLie || s.byz.kind == ByzAttestAll) {
		cfg.AlterDiff = s.byz.alter
	}
	if b := s.bug; b.pool > 0 {
		cfg.Pool.MaxTotal, cfg.Pool.MaxPerAccount, cfg.Pool.Lifetime = b.pool, b.pool, b.lifetime
	}
	if b := s.bug; b.waiters > 0 {
		cfg.MaxWaiters, cfg.MaxWaitersPerTx = b.waiters, 1
	}
	if b := s.bug; b.inFlight > 0 {
		cfg.MaxInFlight = b.inFlight
	}
	if b := s.bug; b.syncWait > 0 {
		cfg.SyncTimeout = b.syncWait
	}
	if b := s.bug; b.miniGas > 0 {
		cfg.MaxMiniBlockGas = b.miniGas
	}
	cfg.ObservePool = func(e sequencer.PoolEvent) { s.poolEvents[id] = append(s.poolEvents[id], e) }
	if s.v.Group > 0 {
		cfg.Key = s.cast.GroupKeys[i]
		cfg.Group = s.groupConfig(i)
		cfg.ObserveGroup = func(e sequencer.GroupEvent) { s.groupEvents = append(s.groupEvents, groupObs{id, e}) }
	}
	if s.v.Tight {
		cfg.Pool = mempool.Config{MaxGap: 4, MaxTotal: 4, MaxPerAccount: 4}
		cfg.MaxWaiters, cfg.MaxWaitersPerTx = 4, 1
		cfg.Ledger.Cache = 4
		cfg.MaxPutBytes = 1 // one block a put
		cfg.MaxInFlight = 2 // syncs in flight
		cfg.MaxMiniBlockGas = 42_000
	}
	return cfg
}

// FullnodeConfig is a fullnode's configuration in this scenario.
func (s *Scenario) FullnodeConfig(id node.NodeID) fullnode.Config {
	sources := s.SeqIDs()
	for _, f := range s.fullnodes {
		if f != id {
			sources = append(sources, f)
		}
	}
	sources = append(sources, DAID)
	cfg := fullnode.Config{
		Genesis: s.cast.Genesis, Sequencers: s.SeqKeys(), Sources: sources,
		Ledger:  ledger.Config{SnapshotEvery: uint64(2 * s.perBlock)},
		Provers: s.cast.ProverAddrs[:len(s.provers)], ProverNodes: s.provers,
	}
	if b := s.bug; b.buffer > 0 {
		// A range answer beyond the buffer is dropped as gossip is: the
		// repair batch is the buffer.
		cfg.MaxBuffered, cfg.RepairBatch = b.buffer, uint64(b.buffer)
	}
	if s.v.Tight {
		cfg.MaxBuffered, cfg.RepairBatch, cfg.Ledger.Cache, cfg.MaxAttAhead, cfg.MaxInFlight = 4, 4, 4, 8, 2
	}
	return cfg
}

// Nodes implements sim.Scenario.
func (s *Scenario) Nodes() []sim.NodeSpec {
	var specs []sim.NodeSpec
	for i, id := range s.SeqIDs() {
		specs = append(specs, sim.NodeSpec{ID: id, New: func() node.Node {
			if s.v.Sequencer != nil {
				return s.v.Sequencer(s.MemberConfig(i))
			}
			n, err := sequencer.New(s.MemberConfig(i))
			if err != nil {
				panic(err) // the scenario's own configuration
			}
			if s.byz != nil && (s.byz.kind == ByzPublishedLie || s.byz.kind == ByzEquivocation) {
				return byzSequencer{n, s}
			}
			return n
		}})
	}
	for _, id := range s.fullnodes {
		specs = append(specs, sim.NodeSpec{ID: id, New: func() node.Node {
			if s.v.Fullnode != nil {
				return s.v.Fullnode(s.FullnodeConfig(id))
			}
			n, err := fullnode.New(s.FullnodeConfig(id))
			if err != nil {
				panic(err)
			}
			return n
		}})
	}
	specs = append(specs, sim.NodeSpec{ID: DAID, New: func() node.Node {
		n, err := da.New(s.DAConfig())
		if err != nil {
			panic(err)
		}
		return n
	}})
	for i, id := range s.provers {
		specs = append(specs, sim.NodeSpec{ID: id, New: func() node.Node {
			if s.v.Prover != nil {
				return s.v.Prover(s.ProverConfig(i))
			}
			cfg := s.ProverConfig(i)
			if s.byz != nil && i == s.byz.liar && s.byz.kind == ByzAttestAll {
				p := NewAttestAll(cfg)
				p.Stamped = func(n uint64) { s.byz.attests[n] = true }
				return p
			}
			n, err := prover.New(cfg)
			if err != nil {
				panic(err)
			}
			if s.byz != nil && i == s.byz.liar && s.byz.kind == ByzFalseReports {
				return &liarProver{Prover: n, s: s, key: cfg.Key}
			}
			return n
		}})
	}
	if s.byz != nil && s.byz.kind == ByzFlood {
		specs = append(specs, sim.NodeSpec{ID: FlooderID, New: func() node.Node { return &flooder{s: s, key: flooderKey()} }})
	}
	return specs
}

// groupOf gives an account's group and index in the group.
func (s *Scenario) groupOf(account int) (group, index int) {
	client := account / accountsPerClient
	g := client / s.perGroup
	return g, account - g*s.perGroup*accountsPerClient
}

func (s *Scenario) groupAccounts(g int) []int {
	var out []int
	for c := g * s.perGroup; c < (g+1)*s.perGroup && c < s.nclients; c++ {
		for a := range accountsPerClient {
			out = append(out, c*accountsPerClient+a)
		}
	}
	return out
}

func (s *Scenario) groups() int { return (s.nclients + s.perGroup - 1) / s.perGroup }

type clientState struct {
	idx      int
	nonce    map[int]uint64 // by account: the nonce its next send takes
	known    map[int]bool   // the nonce is known
	resend   []byte         // an undecided send, sent again
	tries    int
	lastAt   uint64      // newest safe block seen, for reads at a block
	lastMini uint64      // newest mini-block seen, for reads of a mini-block
	lastTx   common.Hash // the newest transaction of the client with a receipt
	seq      int         // the sequencer (group member) the client sends to
}

// seqFor is the sequencer a client sends to: the group member it believes
// leads.
func (s *Scenario) seqFor(st *clientState) node.NodeID {
	ids := s.SeqIDs()
	return ids[st.seq%len(ids)]
}

// Converged implements sim.Scenario: every fullnode holds the sequencer's
// head, nothing is halted, and the sequencer has nothing left to execute.
func (s *Scenario) Converged(w *sim.World) (bool, string) {
	lead, seq := s.leader(w)
	if seq == nil {
		if s.v.Group > 0 {
			return false, "no member of the sequencer group leads"
		}
		return false, "the sequencer is down"
	}
	if s.v.Group > 0 {
		// Every member holds the leader's committed head.
		head, _ := seq.Ledger().Head()
		for _, id := range s.SeqIDs() {
			n, ok := w.Node(id).(seqNode)
			if !ok || n.Ledger() == nil {
				return false, fmt.Sprintf("group member %s is down", id)
			}
			if h, _ := n.Ledger().Head(); h.Number+s.lag < head.Number {
				return false, fmt.Sprintf("group member %s is at mini-block %d, the leader %s at %d", id, h.Number, lead, head.Number)
			}
		}
	}
	// What the pool holds ahead of a gap cannot run: only what it could
	// execute must be gone.
	if pending, queued := seq.Pool().Content(); len(pending) > 0 {
		n := len(pending) + len(queued)
		detail := ""
		for _, e := range append(pending, queued...)[:min(n, 3)] {
			acct, _ := seq.Ledger().State().Account(e.From)
			detail += fmt.Sprintf(" %v nonce %d (the account's %d);", e.From, e.Tx.Nonce(), acct.Nonce)
		}
		return false, fmt.Sprintf("the sequencer's pool holds %d transactions, first:%s", n, strings.TrimSuffix(detail, ";"))
	}
	if s.byz != nil && s.byz.lying() {
		return s.byzantineConverged(w, seq.Ledger())
	}
	head, hash := seq.Ledger().Head()
	for _, id := range s.fullnodes {
		f, ok := w.Node(id).(interface {
			Ledger() *ledger.Ledger
			Halted() error
		})
		if !ok || f.Ledger() == nil {
			return false, fmt.Sprintf("%s is down", id)
		}
		if s.expectedHalt(f) {
			continue // it saw the sequencer equivocate
		}
		if err := f.Halted(); err != nil {
			return false, fmt.Sprintf("%s halted: %v", id, err)
		}
		fh, fhash := f.Ledger().Head()
		if fh.Number+s.lag < head.Number || fh.Number > head.Number {
			return false, fmt.Sprintf("%s is at mini-block %d, the sequencer at %d", id, fh.Number, head.Number)
		}
		if fh.Number == head.Number && fhash != hash {
			return false, fmt.Sprintf("%s holds another mini-block %d than the sequencer", id, fh.Number)
		}
	}
	return s.provingConverged(w, seq.Ledger())
}

// Check implements sim.Scenario.
func (s *Scenario) Check(w *sim.World) []traces.Violation {
	return s.check(w)
}

func bodyKey(b []byte) common.Hash { return crypto.Keccak256Hash(b) }

// NextCall implements sim.Scenario.
func (s *Scenario) NextCall(c *sim.Client) (node.NodeID, []byte, bool) {
	st, _ := c.Data.(*clientState)
	if st == nil {
		var id int
		fmt.Sscanf(string(c.ID), "client%d", &id)
		st = &clientState{idx: id - 1, nonce: map[int]uint64{}, known: map[int]bool{}}
		c.Data = st
	}
	if st.idx >= maxClients {
		return "", nil, false
	}
	s.learn(st, c.Last())
	if st.resend != nil {
		st.tries++
		if st.tries <= 5 {
			return s.seqFor(st), st.resend, true
		}
		st.resend = nil
	}
	for a := range accountsPerClient {
		if acct := st.idx*accountsPerClient + a; !st.known[acct] {
			return s.seqFor(st), s.nonceRead(st, acct), true
		}
	}
	if c.Rand.Float64() < s.sendShare {
		if !s.shared {
			return s.seqFor(st), s.send(c, st, -1), true
		}
		// Any account of the group, at the nonce this client believes;
		// others send from it too.
		g, _ := s.groupOf(st.idx * accountsPerClient)
		members := s.groupAccounts(g)
		acct := members[c.Rand.IntN(len(members))]
		if !st.known[acct] {
			return s.seqFor(st), s.nonceRead(st, acct), true
		}
		return s.seqFor(st), s.send(c, st, acct), true
	}
	return s.read(c, st)
}

// nonceRead asks the sequencer for an account's nonce, at pending, as
// wallets ask: latest does not count the open block's transactions yet.
func (s *Scenario) nonceRead(st *clientState, acct int) []byte {
	addr := s.cast.Addrs[acct]
	return s.record(&callMeta{client: st.idx, read: addr}, &api.Call{Method: api.MethodNonce, Address: addr, Tag: api.Pending})
}

// record remembers a call's meaning and returns its encoding.
func (s *Scenario) record(m *callMeta, call *api.Call) []byte {
	body := call.Encode()
	if _, ok := s.meta[bodyKey(body)]; !ok {
		s.meta[bodyKey(body)] = m
	}
	return body
}

// learn updates the client from its previous call's answer.
func (s *Scenario) learn(st *clientState, last *sim.Op) {
	if last == nil {
		return
	}
	m := s.meta[bodyKey(last.Input)]
	if m == nil {
		return
	}
	if m.kind == kindQueued {
		// Sent ahead of its nonce on purpose: it runs if the client's
		// own sends fill the gap before the pool lets it go; the client
		// neither waits for it nor sends it again.
		return
	}
	if last.TimedOut {
		// The call got no answer: a send is undecided (below); a read
		// taught nothing.
		if m.send {
			s.undecided(st, last, m.from)
		}
		return
	}
	a, err := api.DecodeAnswer(last.Output)
	if err != nil {
		return
	}
	if s.v.Group > 0 && a.Err != nil && a.Err.Kind == api.KindUnavailable && s.isSeq(last.Node) && last.Node == s.seqFor(st) {
		st.seq++ // not the leader (or not yet): try the next member
	}
	if a.Err == nil && a.Safe > st.lastAt {
		st.lastAt = a.Safe
	}
	if a.Err == nil && a.At.MiniBlock > st.lastMini {
		st.lastMini = a.At.MiniBlock
	}
	if !m.send {
		if s.shared {
			// Several clients may ask the same; the answer is this
			// client's to learn from only if it is a pending nonce.
			if call, err := api.DecodeCall(last.Input); a.Err == nil && err == nil && call.Method == api.MethodNonce && call.Tag.Kind == api.TagPending && s.isSeq(last.Node) {
				if acct := s.accountIndex(call.Address); acct >= 0 && !st.known[acct] {
					st.nonce[acct], st.known[acct] = a.Nonce, true
				}
			}
			return
		}
		if a.Err == nil && m.client == st.idx && m.read != (common.Address{}) && s.isSeq(last.Node) {
			for i := range accountsPerClient {
				acct := st.idx*accountsPerClient + i
				if s.cast.Addrs[acct] == m.read && !st.known[acct] && !m.token {
					st.nonce[acct], st.known[acct] = a.Nonce, true
				}
			}
		}
		return
	}
	acct := m.from
	switch {
	case a.Err == nil && a.Receipt != nil:
		st.resend = nil
		st.lastTx = a.Receipt.TxHash
		if m.tx != nil && m.tx.Nonce() == st.nonce[acct] {
			st.nonce[acct]++
		} else if m.tx != nil && s.shared {
			st.nonce[acct] = max(st.nonce[acct], m.tx.Nonce()+1)
		}
	case a.Err != nil && definite(a.Err.Kind):
		st.resend = nil
		if a.Err.Kind == api.KindNonceTooLow && m.kind != kindNonceLow {
			// The client's nonce is behind (a send it saw no answer to
			// ran): ask for it, as a wallet does.
			st.known[acct] = false
		}
	default:
		s.undecided(st, last, acct)
	}
}

// undecided handles a send that may still execute: the client sends it
// again; after a few tries, it asks for the nonce instead.
func (s *Scenario) undecided(st *clientState, last *sim.Op, acct int) {
	if st.resend == nil {
		st.resend, st.tries = last.Input, 0
	}
	if st.tries >= 5 {
		st.resend, st.known[acct] = nil, false
	}
}

// definite reports whether a send refused with kind can never execute
// later (the answer settles it), as the client sees it.
func definite(k api.Kind) bool {
	switch k {
	case api.KindBadSignature, api.KindWrongChainID, api.KindOversized, api.KindInvalidInput, api.KindNonceTooLow,
		api.KindIntrinsicGas, api.KindGasLimit, api.KindTxType, api.KindNonceGap, api.KindInsufficientFunds:
		return true
	}
	return false
}

const gasPrice = 2_000_000_000 // fee cap: 2 gwei; tips 1–1000 wei

// send draws a send from account (its global index; negative: one of
// the client's own, drawn).
func (s *Scenario) send(c *sim.Client, st *clientState, account int) []byte {
	r := c.Rand
	if account < 0 {
		account = st.idx*accountsPerClient + r.IntN(accountsPerClient)
	}
	g, gi := s.groupOf(account)
	members := s.groupAccounts(g)
	key := s.cast.Keys[account]
	m := &callMeta{client: st.idx, group: g, account: gi, from: account, send: true}
	nonce := st.nonce[account]
	tip := big.NewInt(1 + r.Int64N(1000))
	tx := &types.DynamicFeeTx{ChainID: big.NewInt(ChainID), Nonce: nonce, GasTipCap: tip, GasFeeCap: big.NewInt(gasPrice), Gas: 21000}
	signer := s.cast.Signer
	if r.Float64() < s.badShare {
		m.kind = sendKind(int(kindBadSig) + r.IntN(int(kindMalformed-kindBadSig)+1))
	} else {
		m.kind = sendKind(int(kindTransfer) + r.IntN(int(kindRevert)))
	}
	if s.bug.pool > 0 && r.Float64() < queuedShare {
		m.kind = kindQueued
	}
	toMember := func() common.Address {
		j := members[r.IntN(len(members))]
		_, m.to = s.groupOf(j)
		return s.cast.Addrs[j]
	}
	switch m.kind {
	case kindTransfer, kindBadSig, kindWrongChain, kindNonceLow, kindNonceGap, kindQueued:
		to := toMember()
		tx.To, tx.Value = &to, big.NewInt(1+r.Int64N(1e15))
		m.amount = tx.Value
	case kindNoFunds:
		to := toMember()
		tx.To, tx.Value = &to, new(big.Int).Mul(startBalance, big.NewInt(1000))
		m.amount = tx.Value
	case kindToken:
		to := toMember()
		m.amount = new(big.Int).Mul(big.NewInt(r.Int64N(600)), ether)
		tx.To, tx.Data, tx.Gas = &tokenAddr, contracts.TokenTransfer(to, m.amount), 100_000
	case kindSwap:
		tx.To, tx.Data, tx.Gas = &ammAddr, contracts.AMMSwap(r.IntN(2) == 0, new(big.Int).Mul(big.NewInt(1+r.Int64N(50)), ether), big.NewInt(0)), 200_000
	case kindDeploy:
		tx.Data, tx.Gas = contracts.Child.Bytecode, 500_000
	case kindRevert:
		tx.To, tx.Data, tx.Gas = &probeAddr, contracts.ProbeFail("simulated revert"), 100_000
	case kindOversized:
		to := toMember()
		tx.To, tx.Data, tx.Gas = &to, make([]byte, 140*1024), 10_000_000
	}
	switch m.kind {
	case kindWrongChain:
		signer = s.cast.WrongSign
		tx.ChainID = big.NewInt(1)
	case kindNonceLow:
		if nonce == 0 {
			m.kind = kindNonceGap
		} else {
			tx.Nonce = nonce - 1 - uint64(r.IntN(int(nonce)))
		}
	}
	if m.kind == kindNonceGap {
		tx.Nonce = nonce + poolGap + 1 + uint64(r.IntN(100))
	}
	if m.kind == kindQueued {
		// Within the pool's gap: held until the nonces before it run
		// (the client's own next sends), or until the pool lets it go.
		tx.Nonce = nonce + 1 + uint64(r.IntN(3))
	}

	if m.kind == kindMalformed {
		raw := make([]byte, 1+r.IntN(200))
		for i := range raw {
			raw[i] = byte(r.IntN(256))
		}
		return s.record(m, &api.Call{Method: api.MethodSendTxSync, Raw: raw, TimeoutMs: 200})
	}
	signed, err := types.SignNewTx(key, signer, tx)
	if err != nil {
		panic(err)
	}
	if m.kind == kindQueued {
		// Sent as wallets send: answered with its hash at once, it waits
		// in the pool.
		m.tx = signed
		raw, err := signed.MarshalBinary()
		if err != nil {
			panic(err)
		}
		return s.record(m, &api.Call{Method: api.MethodSendTx, Raw: raw})
	}
	if m.kind == kindBadSig {
		v, _, ss := signed.RawSignatureValues()
		signed, err = signed.WithSignature(s.cast.Signer, append(append(make([]byte, 32), common.LeftPadBytes(ss.Bytes(), 32)...), byte(v.Uint64())))
		if err != nil {
			panic(err)
		}
	}
	m.tx = signed
	raw, err := signed.MarshalBinary()
	if err != nil {
		panic(err)
	}
	return s.record(m, &api.Call{Method: api.MethodSendTxSync, Raw: raw, TimeoutMs: 200})
}

func (s *Scenario) read(c *sim.Client, st *clientState) (node.NodeID, []byte, bool) {
	r := c.Rand
	to := s.seqFor(st)
	if len(s.fullnodes) > 0 && r.Float64() < 0.6 {
		to = s.fullnodes[r.IntN(len(s.fullnodes))]
	}
	account := r.IntN(s.nclients * accountsPerClient)
	if s.shared && r.Float64() < 0.7 {
		// Mostly the group's own accounts: reads racing the group's sends.
		g, _ := s.groupOf(st.idx * accountsPerClient)
		members := s.groupAccounts(g)
		account = members[r.IntN(len(members))]
	}
	g, gi := s.groupOf(account)
	addr := s.cast.Addrs[account]
	m := &callMeta{client: st.idx, group: g, account: gi, read: addr}
	tag := api.Latest
	switch x := r.Float64(); {
	case x < 0.1:
		tag = api.Safe
	case x < 0.2 && st.lastAt > 0:
		tag = api.AtBlock(1 + uint64(r.IntN(int(st.lastAt))))
	case x < 0.27 && !s.isSeq(to):
		tag = api.Finalized // fullnodes track finality; the sequencer does not
	case x < 0.37:
		tag = api.Pending // the open block's transactions executed, their receipts not out
	}
	var call *api.Call
	switch r.IntN(10) {
	case 6:
		code := []common.Address{tokenAddr, ammAddr, probeAddr, addr}[r.IntN(4)]
		m.read = code
		call = &api.Call{Method: api.MethodCode, Address: code, Tag: tag}
	case 7:
		if st.lastTx == (common.Hash{}) {
			call = &api.Call{Method: api.MethodHead}
			break
		}
		call = &api.Call{Method: api.MethodReceipt, Hash: st.lastTx}
	case 8:
		call = &api.Call{Method: api.MethodMiniBlock, Number: 1 + uint64(r.IntN(int(st.lastMini+1)))}
	case 9:
		call = &api.Call{Method: api.MethodBlock, Number: uint64(r.IntN(int(st.lastAt + 1)))}
	case 0, 1:
		call = &api.Call{Method: api.MethodBalance, Address: addr, Tag: tag}
	case 2:
		call = &api.Call{Method: api.MethodNonce, Address: addr, Tag: tag}
	case 3:
		m.token = true
		call = &api.Call{Method: api.MethodCall, Address: tokenAddr, From: addr, Data: contracts.TokenBalanceOf(addr), Tag: tag}
	case 4:
		m.token = true
		call = &api.Call{Method: api.MethodStorage, Address: tokenAddr, Key: contracts.TokenBalanceSlot(addr), Tag: tag}
	default:
		call = &api.Call{Method: api.MethodHead}
	}
	return to, s.record(m, call), true
}

func tokenSlot(holder common.Address) common.Hash { return contracts.TokenBalanceSlot(holder) }
