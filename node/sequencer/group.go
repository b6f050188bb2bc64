package sequencer

import (
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/cover"
	"github.com/meganode/meganode/node/ledger"
	"github.com/meganode/meganode/node/mempool"
	"github.com/meganode/meganode/node/raftlog"
)

// A sequencer group: the sequencer as one member of a replicated group
// (Config.Group), whose leader executes and whose mini-blocks go through
// a raft log (node/raftlog) before anything depends on them.
//
//	leader: execute ─▶ seal (signed, term in the header) ─▶ Propose ─▶ raft: its disk and a quorum's
//	  ─▶ committed ─▶ every member: apply to its ledger, sync ─▶ announce (receipts; the leader publishes)
//
// The ledger of every member holds committed mini-blocks only, so there
// is nothing to undo when leadership moves. The leader proposes one
// mini-block at a time: it seals the next on the ledger the committed one
// made, and while one is in the log it executes nothing (the executor's
// base state must include the diff it flushed), so transactions that
// arrive meanwhile wait in the pool for the next (group commit over one
// quorum round trip).
//
// Fencing: a deposed leader (paused, or cut off) cannot get a proposal
// committed, since a quorum moved to a higher term, and it lets nothing
// out that is not committed; a committed entry is the same on every
// member (raft's log matching). So no two published mini-blocks
// conflict, whoever led. Every mini-block carries the term it was built
// in, terms never go back along the chain (ledger.Append refuses it), and
// a fullnode refuses a mini-block from a term older than its head's.

// Member is one member of a sequencer group.
type Member struct {
	ID   uint64         // raft id, not 0
	Node node.NodeID    // its node's name
	Key  common.Address // the key it signs mini-blocks with when it leads
}

// GroupConfig makes the sequencer a member of a replicated group.
type GroupConfig struct {
	// ID is this member's raft id; Members must hold it.
	ID uint64
	// Members is the whole group, this member included: an odd number
	// (3, say). Static: membership changes are a restart with a new
	// configuration everywhere.
	Members []Member
	// Tick is raft's tick: heartbeats go every tick, and a follower that
	// hears nothing from its leader for ElectionTicks ticks campaigns
	// after a further random 0…ElectionTicks-1 ticks. Defaults 1 ms and
	// 10: a leader lost is replaced 10 to 20 ms later, plus a vote's and
	// an append's round trip and syncs.
	Tick          time.Duration
	ElectionTicks int
	// KeepEntries is how many applied entries the raft log keeps for a
	// member that was down (default 100,000: about 17 minutes of
	// mini-blocks every 10 ms). A member down for longer must be seeded
	// again from a peer's data.
	KeepEntries uint64
	// MaxEntryBytes bounds one mini-block with its witness in the log
	// (default chain.MaxRecordSize).
	MaxEntryBytes int
	// Retired are keys the group's mini-blocks may be signed with besides
	// the members' own: a member's new key while it is rotated in (no
	// bound), and its old one once rotated out, up to the last mini-block
	// it signed (see the README, "Sequencer failover").
	Retired []chain.Key
}

// DefaultGroupKeepEntries is GroupConfig.KeepEntries's default.
const DefaultGroupKeepEntries = 100_000

func (g *GroupConfig) withDefaults(self common.Address) (*GroupConfig, error) {
	c := *g
	c.Members = append([]Member(nil), g.Members...)
	if c.Tick <= 0 {
		c.Tick = time.Millisecond
	}
	if c.ElectionTicks <= 0 {
		c.ElectionTicks = raftlog.DefaultElectionTicks
	}
	if c.KeepEntries == 0 {
		c.KeepEntries = DefaultGroupKeepEntries
	}
	if c.MaxEntryBytes <= 0 {
		c.MaxEntryBytes = chain.MaxRecordSize
	}
	found := false
	for _, m := range c.Members {
		if m.Key == (common.Address{}) {
			return nil, fmt.Errorf("sequencer: group member %d (%q) has no key", m.ID, m.Node)
		}
		if m.ID == c.ID {
			found = true
			if m.Key != self {
				return nil, fmt.Errorf("sequencer: group member %d's key is %v, but this sequencer signs with %v", m.ID, m.Key, self)
			}
		}
	}
	if !found {
		return nil, fmt.Errorf("sequencer: group id %d is not among the members", c.ID)
	}
	return &c, nil
}

// Keys are the group's keys: the members' and the retired ones, what
// fullnodes, provers and DA accept too.
func (g *GroupConfig) Keys() chain.KeySet {
	var k chain.KeySet
	for _, m := range g.Members {
		k = append(k, chain.Key{Addr: m.Key})
	}
	return append(k, g.Retired...)
}

// Timers: the raft tick, and a new leader's first close.
const (
	timerRaft node.TimerID = 6
	timerLead node.TimerID = 7
)

// GroupEventKind names what a GroupEvent reports.
type GroupEventKind uint8

// The group events.
const (
	GroupLed         GroupEventKind = iota + 1 // this member was elected, and has applied everything committed
	GroupSteppedDown                           // this member stopped leading
	GroupCommitted                             // a mini-block committed and applied here (not yet durable in the ledger)
	GroupLost                                  // this member's proposal was not committed: another leader's mini-block took its place
)

// GroupEvent is what a member tells Config.ObserveGroup.
type GroupEvent struct {
	Kind      GroupEventKind
	Term      uint64
	MiniBlock uint64
	At        time.Time // the member's clock
}

// proposal is the mini-block the leader has in the raft log.
type proposal struct {
	mb      *chain.MiniBlock
	raw     []byte
	witness []byte
	hash    common.Hash
	last    bool
	start   time.Time // when its close began
}

// group is a member's state.
type group struct {
	cfg     *GroupConfig
	log     *raftlog.Log
	leading bool // raft says this member leads
	ready   bool // and it applied everything committed: it executes
	term    uint64
	// proposed is the mini-block in the log, at most one.
	proposed *proposal
	// lagging: the member missed entries the group compacted away (see
	// applyEntry): it applies nothing more and never campaigns.
	lagging bool
	// backlog holds committed entries taken from the log and not applied
	// yet: those left when the ledger had to be reopened midway (the
	// reopened log hands them out again).
	backlog []raftlog.Entry
	// deferred are the sends that came while a mini-block was in the
	// log: the executor's base state lacks what it flushed until the
	// commit, so nothing reads it before (at most Config.MaxWaiters).
	deferred []deferredSend
}

type deferredSend struct {
	req node.Request
	c   *api.Call
}

func (s *Sequencer) observeGroup(kind GroupEventKind, term, mb uint64) {
	if s.cfg.ObserveGroup != nil {
		s.cfg.ObserveGroup(GroupEvent{Kind: kind, Term: term, MiniBlock: mb, At: s.env.Now()})
	}
}

// startGroup opens the member's raft log (after the ledger) and takes what
// it hands out; Start arms the raft tick.
func (s *Sequencer) startGroup() error {
	g := s.cfg.Group
	peers := make([]raftlog.Peer, len(g.Members))
	for i, m := range g.Members {
		peers[i] = raftlog.Peer{ID: m.ID, Node: m.Node}
	}
	// The log hands out what follows the entry the ledger's head came
	// from (recorded after each apply; with no record, everything it
	// keeps, and what the ledger holds already is skipped). Entries are
	// compacted only once the ledger holds them durably, so the first
	// kept one follows the head.
	log, err := raftlog.Open(s.env, raftlog.Config{
		ID: g.ID, Peers: peers, ElectionTicks: g.ElectionTicks, KeepEntries: g.KeepEntries, Applied: s.appliedIndex(),
		MaxEntryBytes: g.MaxEntryBytes, MaxUncommittedBytes: uint64(2 * g.MaxEntryBytes),
	})
	if err != nil {
		return fmt.Errorf("sequencer: raft log: %w", err)
	}
	s.grp = &group{cfg: g, log: log}
	s.drainGroup()
	return nil
}

// groupBusy reports whether a group member must not execute or close now:
// it does not lead, has not caught up, or has a mini-block in the log.
func (s *Sequencer) groupBusy() bool {
	g := s.grp
	return g != nil && (!g.ready || g.proposed != nil)
}

// propose puts a sealed mini-block in the raft log. What depends on it
// waits for its commit (applyEntry).
func (s *Sequencer) propose(mb *chain.MiniBlock, raw, witness []byte, last bool, start time.Time) error {
	g := s.grp
	entry := (&chain.GroupEntry{MiniBlock: raw, Witness: witness}).Encode()
	if err := g.log.Propose(entry); err != nil {
		return err
	}
	g.proposed = &proposal{mb: mb, raw: raw, witness: witness, hash: mb.Hash(), last: last, start: start}
	s.drainGroup()
	return nil
}

// onGroupTimer ticks raft.
func (s *Sequencer) onGroupTimer() {
	g := s.grp
	s.env.After(g.cfg.Tick, timerRaft)
	if s.down != nil {
		return // the ledger, and the log with it, reopen first
	}
	if err := g.log.Err(); err != nil {
		s.reopenGroup(err)
		return
	}
	g.log.Tick()
	s.drainGroup()
}

// reopenGroup reopens a raft log that stopped (raft broke on a peer's
// message): from its disk, as after a restart.
func (s *Sequencer) reopenGroup(err error) {
	s.env.Mark(cover.SeqGroupReopen)
	s.env.Log().Error("sequencer: the raft log stopped; reopening it", "err", err)
	s.stepDown("the raft log stopped")
	s.resolveProposal(nil)
	if err := s.startGroup(); err != nil {
		// Reopened with the ledger after RetryRecovery (recover).
		s.fail(fmt.Errorf("reopening the raft log: %w", err))
	}
}

// onGroupMessage takes a raft message from a member.
func (s *Sequencer) onGroupMessage(from node.NodeID, msg []byte) {
	if err := s.grp.log.Step(from, msg); err != nil {
		if errors.Is(err, raftlog.ErrFailed) {
			s.reopenGroup(err)
			return
		}
		s.env.Log().Warn("refused a raft message", "from", from, "err", err)
		return
	}
	s.drainGroup()
}

// drainGroup applies what the log committed and follows raft's view of
// who leads.
func (s *Sequencer) drainGroup() {
	g := s.grp
	g.backlog = append(g.backlog, g.log.Committed()...)
	for len(g.backlog) > 0 && s.down == nil && s.grp == g {
		e := g.backlog[0]
		g.backlog[0] = raftlog.Entry{}
		g.backlog = g.backlog[1:]
		s.applyEntry(e)
	}
	if s.grp != g {
		return // the ledger was reopened, and the log with it
	}
	leads := g.log.IsLeader()
	_, _, term := g.log.Leader()
	switch {
	case leads && !g.leading:
		g.leading, g.ready, g.term = true, false, term
	case !leads && g.leading:
		s.stepDown("another member was elected, or this one lost its quorum")
	}
	// A leader executes once everything committed is applied and its own
	// proposal of an earlier term, if any, is decided: committed, or
	// overtaken (the executor must start from a ledger that will not move
	// under it).
	if g.leading && !g.ready && !g.lagging && s.down == nil && len(g.backlog) == 0 && g.proposed == nil && g.log.CaughtUp() {
		s.takeOver()
	}
}

// applyEntry applies one committed entry to the ledger; its sync
// announces it, as a lone sequencer's own mini-blocks.
func (s *Sequencer) applyEntry(e raftlog.Entry) {
	g := s.grp
	if e.Snapshot || g.lagging {
		if !g.lagging {
			// The entries it lacks are gone from the group's logs: it
			// keeps voting and storing the log, but applies nothing and
			// never campaigns, until an operator seeds it again from a
			// peer's data directory.
			s.env.Mark(cover.SeqGroupGap)
			s.env.Log().Error("sequencer: this member lagged beyond the group's raft log: it votes but cannot lead; seed it again from a peer's data", "compacted to", e.Index)
			g.lagging = true
			g.log.SetPassive(true)
		}
		return
	}
	ge, mb, err := chain.DecodeGroupEntry(e.Data)
	if err != nil {
		node.Broken("sequencer: committed raft entry %d does not decode: %v", e.Index, err)
	}
	head, hash := s.led.Head()
	n := mb.Header.Number
	switch {
	case n < head.Number:
		return // the ledger has it: the log hands out what it keeps after a restart
	case n == head.Number:
		if mb.Hash() != hash {
			node.Broken("sequencer: committed mini-block %d is %v, the ledger holds %v", n, mb.Hash(), hash)
		}
		return
	case n > head.Number+1:
		node.Broken("sequencer: committed mini-block %d after ledger head %d", n, head.Number)
	}
	if err := mb.VerifyKeys(g.cfg.Keys()); err != nil {
		// Another member signs with a key this one does not take: a key
		// rotated in here last (the configuration's order is wrong). It
		// applies nothing more and never campaigns until restarted with
		// the key accepted.
		s.env.Log().Error("sequencer: a committed mini-block is signed by a key this member does not accept: add it (sequencers, sequencers-retired) and restart", "mini-block", n, "err", err)
		g.lagging = true
		g.log.SetPassive(true)
		return
	}
	raw, witness := ge.MiniBlock, ge.Witness
	p := g.proposed
	mine := p != nil && p.mb.Header.Number == n && p.hash == mb.Hash()
	if mine {
		mb = p.mb // the same pointer: the ledger reuses the body roots it computed
	} else {
		if p != nil && p.mb.Header.Number == n {
			s.resolveProposal(mb)
		}
	}
	if mb.Sealed != nil {
		err = s.led.AppendSealed(mb, raw, witness)
	} else {
		err = s.led.Append(mb, raw)
	}
	if errors.Is(err, ledger.ErrSealMismatch) || errors.Is(err, ledger.ErrNotNext) {
		node.Broken("sequencer: committed mini-block %d does not fit the ledger: %v", n, err)
	}
	if err != nil {
		s.fail(err)
		return
	}
	s.recordApplied(e.Index, n)
	s.observeGroup(GroupCommitted, mb.Header.Term, n)
	// Announced now: raftlog hands an entry out only once the sync of the
	// Ready that committed it completed, so the mini-block is durable on
	// this member's disk (in its raft log) and on a quorum's; a crash that
	// loses the ledger's batch gets it handed out again (the applied
	// record is never ahead of the ledger). The ledger's own sync only
	// lets the log compact what it covers.
	s.announce(n)
	if !s.out.Full() {
		index := e.Index
		s.out.Sync(func() {
			if s.grp == g {
				if err := g.log.Applied(index); err != nil {
					s.env.Log().Warn("raft log compaction", "err", err)
				}
			}
		})
	}
	if mine {
		g.proposed = nil
		if g.ready {
			s.closed(mb, p.last, p.start)
			s.sendDeferred()
		}
	}
}

// deferSend holds a send that came while a mini-block is in the log.
func (s *Sequencer) deferSend(req node.Request, c *api.Call) {
	g := s.grp
	if len(g.deferred) >= s.cfg.MaxWaiters {
		s.env.Mark(cover.SeqWaitersFull)
		api.Reply(req, api.Failed(api.Errorf(api.KindUnavailable, "sequencer busy: %d sends wait for the mini-block in the group's log; send again", len(g.deferred))), nil)
		return
	}
	g.deferred = append(g.deferred, deferredSend{req, c})
}

// sendDeferred takes the sends held while a mini-block was in the log.
func (s *Sequencer) sendDeferred() {
	g := s.grp
	for len(g.deferred) > 0 && g.ready && g.proposed == nil && s.down == nil {
		d := g.deferred[0]
		g.deferred[0] = deferredSend{}
		g.deferred = g.deferred[1:]
		s.send(d.req, d.c)
	}
}

// resolveProposal ends the wait for a proposal the log did not commit
// (winner took its place; nil: it is abandoned unresolved). Its
// transactions' waiters that the winner does not hold are told to send
// again: a new leader's pool starts empty.
func (s *Sequencer) resolveProposal(winner *chain.MiniBlock) {
	g := s.grp
	p := g.proposed
	if p == nil {
		return
	}
	g.proposed = nil
	s.env.Mark(cover.SeqGroupLost)
	s.observeGroup(GroupLost, p.mb.Header.Term, p.mb.Header.Number)
	in := map[common.Hash]bool{}
	if winner != nil {
		for _, tx := range winner.Txs {
			in[tx.Hash()] = true
		}
	}
	for _, tx := range p.mb.Txs {
		if h := tx.Hash(); !in[h] {
			s.answer(h, api.Failed(api.Errorf(api.KindUnavailable, "transaction %v was not committed: the sequencer group's leadership changed; send it again", h)))
		}
	}
	if g.ready {
		// Still leading (a proposal can be overtaken only by a newer
		// term, so this is rare): the block starts again from the ledger
		// once the winner is in it (drainGroup).
		g.ready = false
		s.dropWork(api.Errorf(api.KindUnavailable, "the sequencer group's leadership changed; send again"))
	}
}

// stepDown stops leading: what was executed and not proposed, and the
// pool, are dropped; their waiters are told to send to the leader. A
// proposal in the log stays until the log decides it.
func (s *Sequencer) stepDown(why string) {
	g := s.grp
	if !g.leading {
		return
	}
	s.env.Mark(cover.SeqGroupSteppedDown)
	s.env.Log().Warn("sequencer: no longer the group's leader", "term", g.term, "why", why)
	s.observeGroup(GroupSteppedDown, g.term, 0)
	g.leading, g.ready = false, false
	s.dropWork(s.notLeader())
}

// dropWork forgets the open block's unproposed work and the pool,
// answering their waiters with err.
func (s *Sequencer) dropWork(err *api.Error) {
	g := s.grp
	keep := map[common.Hash]bool{}
	if g.proposed != nil {
		for _, tx := range g.proposed.mb.Txs {
			keep[tx.Hash()] = true
		}
	}
	for _, tx := range s.pending {
		if h := tx.Hash(); !keep[h] {
			s.answer(h, api.Failed(err))
		}
	}
	pending, queued := s.pool.Content()
	for _, e := range append(pending, queued...) {
		s.answer(e.Tx.Hash(), api.Failed(err))
	}
	for _, d := range g.deferred {
		api.Reply(d.req, api.Failed(err), nil)
	}
	g.deferred = nil
	s.pool = mempool.New(s.cfg.Pool)
	s.observe(PoolEvent{Kind: PoolReset})
	s.blk, s.header, s.pending, s.receipts, s.access, s.ticks, s.miniGas = nil, nil, nil, nil, nil, 0, 0
	clear(s.executed)
	s.pub = publisher{id: s.pub.id}
	s.admitHeader.Store(nil)
}

// Leads reports whether the sequencer executes: a lone sequencer always,
// a group member while it leads and has applied everything committed.
// term is the member's raft term (0 alone).
func (s *Sequencer) Leads() (leads bool, term uint64) {
	if s.grp == nil {
		return true, 0
	}
	_, _, term = s.grp.log.Leader()
	return s.grp.ready && s.grp.log.IsLeader(), term
}

// notLeader is the error of a send to a member that does not lead.
func (s *Sequencer) notLeader() *api.Error {
	_, lead, term := s.grp.log.Leader()
	if lead == "" || lead == s.env.ID() {
		return api.Errorf(api.KindUnavailable, "the sequencer group is electing a leader (term %d); send again shortly", term)
	}
	return api.Errorf(api.KindUnavailable, "not the sequencer group's leader: the leader is %q (term %d); send there", lead, term)
}

// takeOver starts executing on a leader that applied everything
// committed: the open block, if the ledger has one, continues; a new pool
// starts empty.
func (s *Sequencer) takeOver() {
	g := s.grp
	g.ready = true
	s.env.Mark(cover.SeqGroupLed)
	head, _ := s.led.Head()
	s.env.Log().Info("sequencer: leading the group", "term", g.term, "head", head.Number)
	s.observeGroup(GroupLed, g.term, head.Number)
	s.blk, s.header, s.pending, s.receipts, s.access, s.ticks, s.miniGas = nil, nil, nil, nil, nil, 0, 0
	clear(s.executed)
	if open := s.led.OpenBlock(); len(open) > 0 {
		if err := s.resume(open); err != nil {
			s.fail(fmt.Errorf("sequencer: resume block: %w", err))
			return
		}
	}
	s.lastSeal = s.env.Now()
	s.publish()
	// Its first mini-block goes out at once, not at the schedule's next
	// tick: fullnodes and clients see the new leader a mini-block interval
	// sooner.
	s.env.After(0, timerLead)
}

// leadClose closes a new leader's first mini-block.
func (s *Sequencer) leadClose() {
	if s.down == nil && s.grp != nil && s.grp.ready && s.grp.proposed == nil {
		s.close(s.sealDue())
	}
}

// keyApplied is where a member records the raft index its ledger's head
// came from.
var keyApplied = []byte("seq/raft-applied")

type appliedRec struct{ Index, MiniBlock uint64 }

// recordApplied records, in its own batch after the ledger's, that the
// ledger's head, mini-block n, came from raft entry index: a restart then
// takes up the log after it. The record is never ahead of the ledger (a
// crash keeps a prefix of the batches) nor of raft's durable commit (only
// handed-out entries are applied); a lost one costs replaying entries the
// ledger skips.
func (s *Sequencer) recordApplied(index, n uint64) {
	b := s.env.Disk().NewBatch()
	b.Set(keyApplied, chain.FrameRLP(chain.FormatGroupAppliedV1, &appliedRec{index, n}))
	if err := b.Commit(); err != nil {
		s.env.Log().Warn("sequencer: cannot record the applied raft index", "index", index, "err", err)
	}
}

// appliedIndex is the recorded raft index of the ledger's head, or 0 when
// there is none, or it does not match the ledger (then the log hands out
// everything it keeps).
func (s *Sequencer) appliedIndex() uint64 {
	raw, err := s.env.Disk().Get(keyApplied)
	if err != nil {
		return 0
	}
	var r appliedRec
	if err := chain.UnframeRLP(chain.FormatGroupAppliedV1, raw, &r); err != nil {
		s.env.Log().Warn("sequencer: the applied raft index record is damaged; replaying the raft log", "err", err)
		return 0
	}
	if head, _ := s.led.Head(); r.MiniBlock > head.Number {
		s.env.Log().Warn("sequencer: the applied raft index names a mini-block past the ledger's head; replaying the raft log", "mini-block", r.MiniBlock, "head", head.Number)
		return 0
	}
	return r.Index
}
