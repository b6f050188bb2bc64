package chainsim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/ledger"
	"github.com/meganode/meganode/node/mempool"
	"github.com/meganode/meganode/node/sequencer"
	"github.com/meganode/meganode/properties"
	"github.com/meganode/meganode/sim"
	"github.com/meganode/meganode/traces"
)

// The failover profile: a sequencer group of 3 (sequencer1…3) on raft,
// whose leader the scenario crashes, kills, pauses and cuts off, one
// fault at a time, while the world's own faults hit every other node.
// Clients send to the member they believe leads and move to the next
// when told it does not.

// FailoverProfile is the sequencer group's profile.
var FailoverProfile = NewProfile("failover", Variants{Group: 3})

// FailoverBenchProfile measures failover times (megasim bench): a group
// of 3 on a fast network (0.05–0.6 ms one way, syncs of 0.1–1 ms) with a
// 10 ms election timeout (10 ticks of 1 ms), no faults but the leader's
// loss, every 600 ms on average.
var FailoverBenchProfile = func() *sim.Profile {
	r := Ranges
	r.Latency, r.Jitter = sim.DurRange{Min: 100 * time.Microsecond, Max: 300 * time.Microsecond}, sim.Range{Max: 0.2}
	r.Drop, r.Duplicate, r.Reorder = sim.Range{}, sim.Range{}, sim.Range{}
	r.SyncLatency = sim.DurRange{Min: 100 * time.Microsecond, Max: time.Millisecond}
	r.FaultOn = 0
	r.Duration = sim.DurRange{Min: 3 * time.Second, Max: 4 * time.Second}
	v := Variants{Group: 3, ElectionTicks: 10}
	return &sim.Profile{Name: "failover-bench", Ranges: r, New: func(cfg *sim.Config, rng *rand.Rand) sim.Scenario { return New(cfg, rng, v) }}
}()

func init() {
	sim.Register(FailoverProfile)
	sim.Register(FailoverBenchProfile)
}

// PropFailover is the liveness bound of a sequencer group: after its
// leader is lost, committed mini-blocks resume within the run's failover
// bound (failoverBound) of simulated time.
const PropFailover = "P6 liveness (failover)"

// FailoverBound is the least failover bound.
const FailoverBound = 500 * time.Millisecond

// failoverBound bounds the time from a leader's loss to the group's next
// committed mini-block: FailoverBound, or 8 election timeouts T if more.
// Raft's tick is 1 ms and T is three of the run's slowest round trips (10
// ticks at least, about 90 at most with the chain profile's network): an
// election round takes T to 2T (the followers' randomized timeouts), then
// a pre-vote's, a vote's and two appends' round trips and syncs; the bound
// leaves room for three or four rounds lost to split votes (both followers
// campaign at once) or to the member with the shorter log campaigning
// first (the other refuses it its vote).
func (s *Scenario) failoverBound() time.Duration {
	return max(FailoverBound, 8*time.Duration(s.electionTicks)*groupTick)
}

// groupTick is the raft tick of the simulated group.
const groupTick = time.Millisecond

// seqMember names group member i (0-based).
func seqMember(i int) node.NodeID { return node.NodeID(fmt.Sprintf("sequencer%d", i+1)) }

// SeqIDs are the sequencer's node names: one, or the group's members.
func (s *Scenario) SeqIDs() []node.NodeID {
	if s.v.Group == 0 {
		return []node.NodeID{SequencerID}
	}
	ids := make([]node.NodeID, s.v.Group)
	for i := range ids {
		ids[i] = seqMember(i)
	}
	return ids
}

// SeqKeys are the keys mini-blocks may be signed with.
func (s *Scenario) SeqKeys() chain.KeySet {
	if s.v.Group == 0 {
		return chain.Keys(s.cast.SeqAddr)
	}
	return chain.Keys(s.cast.GroupAddrs[:s.v.Group]...)
}

func (s *Scenario) isSeq(id node.NodeID) bool { return slices.Contains(s.SeqIDs(), id) }

// groupConfig is member i's group configuration.
func (s *Scenario) groupConfig(i int) *sequencer.GroupConfig {
	g := &sequencer.GroupConfig{ID: uint64(i + 1), Tick: groupTick, ElectionTicks: s.electionTicks}
	for j := range s.v.Group {
		g.Members = append(g.Members, sequencer.Member{ID: uint64(j + 1), Node: seqMember(j), Key: s.cast.GroupAddrs[j]})
	}
	return g
}

// seqNode is what the checkers read of a sequencer.
type seqNode interface {
	Ledger() *ledger.Ledger
	Pool() *mempool.Pool
	Leads() (bool, uint64)
}

// leader is the member that leads at the newest term and executes, or
// "" if none does (a lone sequencer always leads).
func (s *Scenario) leader(w *sim.World) (node.NodeID, seqNode) {
	var best node.NodeID
	var bn seqNode
	var bt uint64
	for _, id := range s.SeqIDs() {
		n, ok := w.Node(id).(seqNode)
		if !ok || n.Ledger() == nil {
			continue
		}
		if leads, term := n.Leads(); leads && (bn == nil || term > bt) {
			best, bn, bt = id, n, term
		}
	}
	return best, bn
}

// newest is the member whose ledger holds the most: the chain the checks
// take as final (every member's is a prefix of it, checked).
func (s *Scenario) newest(w *sim.World) (node.NodeID, ledgerNode) {
	var best node.NodeID
	var bn ledgerNode
	var bh uint64
	for _, id := range s.SeqIDs() {
		n, ok := w.Node(id).(ledgerNode)
		if !ok || n.Ledger() == nil {
			continue
		}
		if h, _ := n.Ledger().Head(); bn == nil || h.Number > bh {
			best, bn, bh = id, n, h.Number
		}
	}
	return best, bn
}

// FaultTargets implements sim.FaultTargeter: with a group, the world's
// faults hit every node but the members, which only the leader faults
// hit, one at a time, so that a quorum is always up and the failover
// bound always applies.
func (s *Scenario) FaultTargets() []node.NodeID {
	var ids []node.NodeID
	for _, spec := range s.Nodes() {
		if s.v.Group == 0 || !s.isSeq(spec.ID) {
			ids = append(ids, spec.ID)
		}
	}
	return ids
}

// leaderFaults are the failover profile's faults, aimed at the leader.
func (s *Scenario) leaderFaults() []sim.FaultKind {
	if s.v.Group == 0 {
		return nil
	}
	every := 600 * time.Millisecond
	lead := func(kind string) func(*rand.Rand) traces.PlannedFault {
		return func(rng *rand.Rand) traces.PlannedFault {
			return traces.PlannedFault{Kind: kind, Node: "@leader", Symmetric: kind == sim.FaultSyncCrash && rng.IntN(2) == 0}
		}
	}
	// Any member, drawn now, hit when it comes if the group can take it
	// (see Resolve): the faults of the chain profile that a group's
	// durability rests on.
	member := func(kind string) func(*rand.Rand) traces.PlannedFault {
		return func(rng *rand.Rand) traces.PlannedFault {
			f := traces.PlannedFault{Kind: kind, Node: "@member", Peer: string(seqMember(rng.IntN(s.v.Group))), Symmetric: rng.IntN(2) == 0}
			if kind == sim.FaultSlowDisk {
				f.By = time.Duration(5+rng.IntN(46)) * time.Millisecond
			}
			return f
		}
	}
	return []sim.FaultKind{
		{Name: "leader crash", Every: every, Plan: lead(sim.FaultCrash)},
		{Name: "leader kill", Every: every, Plan: lead(sim.FaultKill)},
		{Name: "leader pause", Every: every, Plan: lead(sim.FaultPause)},
		{Name: "leader cut off", Every: every, Plan: lead(sim.FaultIsolate)},
		{Name: "leader sync crash", Every: 2 * every, Plan: lead(sim.FaultSyncCrash)},
		{Name: "member sync crash", Every: 2 * every, Plan: member(sim.FaultSyncCrash)},
		{Name: "member crash", Every: 2 * every, Plan: member(sim.FaultCrash)},
		{Name: "member slow disk", Every: 2 * every, Plan: member(sim.FaultSlowDisk)},
	}
}

// leaderLoss is a leader fault as it happened.
type leaderLoss struct {
	at   time.Duration
	node node.NodeID
	term uint64
	kind string
	heal time.Duration
}

// groupObs is a group event, with its member.
type groupObs struct {
	node node.NodeID
	ev   sequencer.GroupEvent
}

// Resolve implements sim.TargetResolver: "@leader" is the member leading
// now, "@member" the member the plan drew (Peer); either is hit only when
// every member runs, the last group fault is over (by 50 ms at least) and
// the group committed a mini-block since the last leader loss, so that a
// quorum stays up and each loss has its own resumption to measure. A
// fault that hits the leader (or, with a sync crash, will at its next
// sync) is a leader loss.
func (s *Scenario) Resolve(w *sim.World, f traces.PlannedFault) (node.NodeID, bool) {
	if (f.Node != "@leader" && f.Node != "@member") || w.Now() < s.faultFree {
		return "", false
	}
	if n := len(s.losses); n > 0 && !s.resumedAfter(w, s.losses[n-1]) {
		return "", false
	}
	for _, id := range s.SeqIDs() {
		if !w.Running(id) {
			return "", false
		}
	}
	id, n := s.leader(w)
	if n == nil {
		return "", false
	}
	_, term := n.Leads()
	target := id
	if f.Node == "@member" {
		target = node.NodeID(f.Peer)
	}
	if target == id && f.Kind != sim.FaultSlowDisk {
		s.losses = append(s.losses, leaderLoss{at: w.Now(), node: id, term: term, kind: f.Kind, heal: w.Now() + f.For})
	}
	s.faultFree = w.Now() + f.For + 50*time.Millisecond
	return target, true
}

// resumes reports whether a group event is the resumption of loss l: a
// mini-block committed after it by a newer term, or by the same leader
// once the fault is over. An entry of the old term that a new leader
// commits first is part of the failover, not its end.
func resumes(skew func(node.NodeID) time.Duration, o groupObs, l leaderLoss) (time.Duration, bool) {
	if o.ev.Kind != sequencer.GroupCommitted {
		return 0, false
	}
	// Member clocks start skewed (never jumped: the world's faults spare
	// the members): back to virtual time.
	at := o.ev.At.Add(-skew(o.node)).Sub(sim.Epoch)
	return at, at > l.at && (o.ev.Term > l.term || at >= l.heal)
}

// resumedAfter reports whether the group resumed after loss l.
func (s *Scenario) resumedAfter(w *sim.World, l leaderLoss) bool {
	for i := len(s.groupEvents) - 1; i >= 0; i-- {
		if _, ok := resumes(w.Skew, s.groupEvents[i], l); ok {
			return true
		}
	}
	return false
}

// failovers measures, for every leader loss, the time to the group's next
// committed mini-block: from a new leader (a failover), or from the same
// one once back (a pause or a cut shorter than an election). A loss whose
// resumption takes longer than the run's failoverBound is a violation.
func (s *Scenario) failovers(skew func(node.NodeID) time.Duration, now time.Duration) (times []time.Duration, resumed []time.Duration, out []traces.Violation) {
	for _, l := range s.losses {
		var found *groupObs
		var at time.Duration
		for i := range s.groupEvents {
			o := &s.groupEvents[i]
			if t, ok := resumes(skew, *o, l); ok && (found == nil || t < at) {
				found, at = o, t
			}
		}
		if found == nil {
			if now-l.at > s.failoverBound() {
				out = append(out, traces.Violation{Property: PropFailover, At: now,
					Detail: fmt.Sprintf("leader %s (term %d) lost at %v (%s); no mini-block committed after it by the end of the run (%v)", l.node, l.term, l.at, l.kind, now)})
			}
			continue
		}
		d := at - l.at
		what := "the next term's first mini-block"
		if found.ev.Term > l.term {
			times = append(times, d)
		} else {
			resumed = append(resumed, d)
			what = "the same leader's next mini-block"
		}
		if d > s.failoverBound() {
			out = append(out, traces.Violation{Property: PropFailover, At: at,
				Detail: fmt.Sprintf("leader %s (term %d) lost at %v (%s, for %v); %s committed %v later, beyond the bound %v", l.node, l.term, l.at, l.kind, l.heal-l.at, what, d, s.failoverBound())})
		}
	}
	return times, resumed, out
}

// checkGroup checks that every member's chain is a prefix of the final
// one (P8 among the members), and measures the failovers.
func (s *Scenario) checkGroup(w *sim.World, hashes []common.Hash) []traces.Violation {
	if s.v.Group == 0 {
		return nil
	}
	var out []traces.Violation
	for _, id := range s.SeqIDs() {
		n, ok := w.Node(id).(ledgerNode)
		if !ok || n.Ledger() == nil {
			continue
		}
		theirs, err := chainOf(n.Ledger())
		if err != nil {
			out = append(out, traces.Violation{Property: "P4 durability", At: w.Now(), Detail: fmt.Sprintf("%s cannot read its chain: %v", id, err)})
			continue
		}
		for i, mb := range theirs {
			if i >= len(hashes) || mb.Hash() != hashes[i] {
				out = append(out, traces.Violation{Property: "P8 no fork", At: w.Now(), Detail: fmt.Sprintf("group member %s holds mini-block %d as %v, unlike the final chain", id, mb.Header.Number, mb.Hash())})
				break
			}
		}
	}
	times, resumed, v := s.failovers(w.Skew, w.Now())
	out = append(out, v...)
	w.Stat("failovers", float64(len(times)))
	w.Stat("leader_losses", float64(len(s.losses)))
	w.Stat("resumed_same_leader", float64(len(resumed)))
	for _, t := range times {
		w.Stat("failover_ms", float64(t)/float64(time.Millisecond))
	}
	terms := 0
	for _, o := range s.groupEvents {
		if o.ev.Kind == sequencer.GroupLed {
			terms++
		}
	}
	w.Stat("leaders_elected", float64(terms))
	return out
}

// lostAcks counts the acknowledged transactions the final chain lacks.
func lostAcks(acks []properties.Ack, final []*chain.MiniBlock) int {
	in := map[common.Hash]bool{}
	for _, mb := range final {
		for _, tx := range mb.Txs {
			in[tx.Hash()] = true
		}
	}
	lost := 0
	for _, a := range acks {
		if !in[a.Tx] {
			lost++
		}
	}
	return lost
}
