package raftlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/meganode/meganode/node"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Entry is a committed entry of the log.
type Entry struct {
	Index, Term uint64
	// Data is what was proposed. It is shared with the log: read only.
	Data []byte
	// Snapshot marks a gap: the group compacted the entries up to Index
	// away before this member got them (it lagged more than KeepEntries
	// behind, or was down). Data is empty; the owner must get its state at
	// Index from elsewhere. The entries after it follow as usual.
	Snapshot bool
}

// Log is one member's replicated log. It is driven like a role: the owner
// calls it from its own step, one call at a time, and forwards its ticks,
// the group's messages and its sync completions (see the package doc).
type Log struct {
	env    node.Env
	cfg    Config
	voters []uint64 // sorted
	cs     *pb.ConfState
	maxMsg int // bound on a message's size
	store  *storage
	rn     *raft.RawNode

	// On disk: entry records first…last (none while last < first) and the
	// compaction point (snapIndex, snapTerm).
	first, last         uint64
	snapIndex, snapTerm uint64
	guard               uint64 // the guard record's counter

	// The Ready taken from raft and not released yet: written to the disk
	// (or not, after a write error), then waiting for sync syncID.
	rd      *raft.Ready
	written bool
	sent    bool // its messages went out already (a leader's: see settle)
	syncing bool
	syncID  node.SyncID
	diskErr error // the last write error, cleared by a write that succeeds

	out     []Entry // committed, not handed out yet
	handed  uint64  // the last index put in out, or skipped (raft's applied)
	applied uint64  // the owner's applied index

	// The election timer, ours rather than raft's (see the package doc):
	// ticks since the leader was last heard from, and the timeout drawn.
	elapsed, timeout int
	seen             view // raft's state as the timer last saw it

	failed error // set when raft broke: the Log is dead

	passive bool // never campaigns (SetPassive)
}

type view struct {
	term, vote, lead uint64
	state            raft.StateType
}

// storage is raft's MemoryStorage, mirroring the disk, with the group's
// static configuration: raft reads the voters from InitialState, so the
// log needs no bootstrap entries.
type storage struct {
	*raft.MemoryStorage
	cs *pb.ConfState
}

func (s *storage) InitialState() (*pb.HardState, *pb.ConfState, error) {
	hs, _, err := s.MemoryStorage.InitialState()
	return hs, proto.Clone(s.cs).(*pb.ConfState), err
}

// Open opens this member's log from env.Disk(): it reads back the hard
// state (term, vote, commit), the compaction point and the entries, and
// starts raft over them as a follower. Entries after a corrupt one that is
// past the durable commit index are dropped (a tail that was never
// synced); a corrupt record at or below it is an error naming its key.
func Open(env node.Env, cfg Config) (*Log, error) {
	cfg, err := cfg.withDefaults(env.ID())
	if err != nil {
		return nil, err
	}
	l := &Log{env: env, cfg: cfg, maxMsg: MaxSizePerMsg + cfg.MaxEntryBytes + 64<<10}
	for _, p := range cfg.Peers {
		l.voters = append(l.voters, p.ID)
	}
	slices.Sort(l.voters)
	l.cs = &pb.ConfState{Voters: l.voters}
	l.store = &storage{MemoryStorage: raft.NewMemoryStorage(), cs: l.cs}
	hs, err := l.load()
	if err != nil {
		return nil, err
	}
	if cfg.Applied > hs.GetCommit() {
		return nil, fmt.Errorf("raftlog: the owner applied %d, beyond the log's durable commit %d", cfg.Applied, hs.GetCommit())
	}
	l.applied = cfg.Applied
	l.handed = max(cfg.Applied, l.snapIndex)
	if cfg.Applied < l.snapIndex {
		l.out = append(l.out, Entry{Index: l.snapIndex, Term: l.snapTerm, Snapshot: true})
	}
	rc := &raft.Config{
		ID:                        cfg.ID,
		ElectionTick:              cfg.ElectionTicks,
		HeartbeatTick:             cfg.HeartbeatTicks,
		Storage:                   l.store,
		Applied:                   l.handed,
		MaxSizePerMsg:             MaxSizePerMsg,
		MaxUncommittedEntriesSize: cfg.MaxUncommittedBytes,
		MaxInflightMsgs:           MaxInflightMsgs,
		CheckQuorum:               true,
		PreVote:                   true,
		Logger:                    logger{env.Log().With("raft", cfg.ID)},
		DisableProposalForwarding: true,
		StepDownOnRemoval:         true,
	}
	if l.rn, err = newRawNode(rc); err != nil {
		return nil, err
	}
	l.seen = l.view()
	l.resetTimer()
	l.settle() // committed entries past Applied come out at once
	return l, nil
}

// newRawNode starts raft, turning a panic over what was read from the disk
// into an error.
func newRawNode(rc *raft.Config) (rn *raft.RawNode, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: raft refuses the state on disk: %v", ErrCorrupt, r)
		}
	}()
	return raft.NewRawNode(rc)
}

// load reads the log's records into l.store and returns the hard state.
func (l *Log) load() (*pb.HardState, error) {
	disk, p := l.env.Disk(), l.cfg.Prefix
	hs := &pb.HardState{}
	if v, err := get(disk, hardKey(p)); err != nil {
		return nil, err
	} else if v != nil {
		if hs, err = decodeHard(hardKey(p), v); err != nil {
			return nil, err
		}
	}
	if v, err := get(disk, snapKey(p)); err != nil {
		return nil, err
	} else if v != nil {
		if l.snapIndex, l.snapTerm, err = decodeSnap(snapKey(p), v); err != nil {
			return nil, err
		}
	}

	var (
		ents []*pb.Entry
		drop [][]byte // keys to delete: below the compaction point, or past a corrupt record
		cut  error    // the first corrupt record past the commit index
		next = l.snapIndex + 1
	)
	err := disk.Iterate(entryPrefix(p), func(k, v []byte) error {
		if len(k) != len(p)+9 {
			return fmt.Errorf("%w: %q: not an entry key", ErrCorrupt, k)
		}
		i := binary.BigEndian.Uint64(k[len(p)+1:])
		if i <= l.snapIndex || cut != nil {
			drop = append(drop, slices.Clone(k))
			return nil
		}
		e, err := decodeEntry(k, v, i)
		if err == nil && i != next {
			err = fmt.Errorf("%w: %q: entry %d where %d is due", ErrCorrupt, k, i, next)
		}
		if err != nil {
			if i <= hs.GetCommit() {
				return err // committed, so it was synced: the disk lost it
			}
			cut = err
			drop = append(drop, slices.Clone(k))
			return nil
		}
		ents = append(ents, e)
		next++
		return nil
	})
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			err = fmt.Errorf("raftlog: reading the entries: %w", err)
		}
		return nil, err
	}
	last := l.snapIndex + uint64(len(ents))
	if hs.GetCommit() > last {
		return nil, fmt.Errorf("%w: %q: commit %d is beyond the last entry %d", ErrCorrupt, hardKey(p), hs.GetCommit(), last)
	}
	if hs.GetCommit() < l.snapIndex {
		hs.Commit = new(l.snapIndex) // what was compacted was committed
	}
	if cut != nil {
		l.env.Log().Warn("raftlog: dropping the log's unsynced tail", "from", last+1, "records", len(drop), "err", cut)
	}
	if len(drop) > 0 {
		b := disk.NewBatch()
		l.setGuard(b)
		for _, k := range drop {
			b.Delete(k)
		}
		if err := b.Commit(); err != nil {
			return nil, fmt.Errorf("raftlog: deleting %d dropped records: %w", len(drop), err)
		}
	}
	if l.snapIndex > 0 {
		snap := &pb.Snapshot{Metadata: &pb.SnapshotMetadata{Index: new(l.snapIndex), Term: new(l.snapTerm), ConfState: l.cs}}
		if err := l.store.ApplySnapshot(snap); err != nil {
			return nil, fmt.Errorf("raftlog: restoring the compaction point %d: %w", l.snapIndex, err)
		}
	}
	if err := l.store.Append(ents); err != nil {
		return nil, fmt.Errorf("raftlog: restoring the entries: %w", err)
	}
	if err := l.store.SetHardState(hs); err != nil {
		return nil, err
	}
	l.first, l.last = l.snapIndex+1, last
	return hs, nil
}

// get reads key's value: nil if it is not stored.
func get(disk node.Disk, key []byte) ([]byte, error) {
	v, err := disk.Get(key)
	switch {
	case errors.Is(err, node.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("raftlog: reading %q: %w", key, err)
	case v == nil:
		return []byte{}, nil
	}
	return v, nil
}

// Tick advances the log's clock by one tick; the owner calls it at a fixed
// period (10 ms, say). A leader ticks raft (heartbeats, CheckQuorum); a
// follower or candidate runs the election timer.
func (l *Log) Tick() {
	if l.failed != nil {
		return
	}
	if st := l.rn.BasicStatus(); st.RaftState == raft.StateLeader {
		l.rn.Tick()
	} else {
		l.elapsed++
		if l.elapsed >= l.cfg.ElectionTicks && st.RaftState == raft.StateFollower && st.Lead != raft.None {
			// The leader's lease is over: grant (pre-)votes again, as raft
			// does once its electionElapsed reaches ElectionTick.
			_ = l.rn.ForgetLeader()
		}
		if l.elapsed >= l.timeout && !l.passive {
			_ = l.rn.Campaign()
			l.seen = l.view()
			l.resetTimer()
		}
	}
	l.settle()
}

// Step takes a peer's message, as the owner received it from node from.
// A message that is malformed, fails its checksum, is addressed to another
// member or does not come from the member from names is refused with an
// error (ErrBadMessage); so is one raft would not take. If raft breaks on
// a message that passed those checks (a member that does not follow the
// protocol), Step returns an error wrapping ErrFailed and the Log is dead:
// the owner reopens it from disk.
func (l *Log) Step(from node.NodeID, msg []byte) error {
	if l.failed != nil {
		return l.failed
	}
	m, err := decodeMessage(msg, l.maxMsg)
	if err != nil {
		return fmt.Errorf("%w (from %q)", err, from)
	}
	i := slices.IndexFunc(l.cfg.Peers, func(p Peer) bool { return p.Node == from })
	if i < 0 {
		return fmt.Errorf("%w: %s from %q, not a member of the group", ErrBadMessage, m.GetType(), from)
	}
	if err := checkMessage(m, l.cfg.ID, l.cfg.Peers[i].ID, l.voters, l.cfg.MaxEntryBytes); err != nil {
		return fmt.Errorf("%w (from %q)", err, from)
	}
	if err := l.step(m); err != nil {
		return err
	}
	switch m.GetType() {
	case pb.MsgApp, pb.MsgHeartbeat, pb.MsgSnap:
		if st := l.rn.BasicStatus(); st.Lead == m.GetFrom() && st.GetTerm() == m.GetTerm() {
			l.elapsed = 0 // heard from the leader
		}
	}
	l.settle()
	return nil
}

func (l *Log) step(m *pb.Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			l.failed = fmt.Errorf("%w: raft broke on %s from %d at term %d: %v", ErrFailed, m.GetType(), m.GetFrom(), m.GetTerm(), r)
			l.env.Log().Error("raftlog: the log stops", "err", l.failed)
			err = l.failed
		}
	}()
	if err := l.rn.Step(m); err != nil {
		return fmt.Errorf("%w: %s from %d: %v", ErrBadMessage, m.GetType(), m.GetFrom(), err)
	}
	return nil
}

// Propose appends data to the log, if this member leads the group. It is
// committed, or not, later: it comes out of Committed on every member once
// a quorum has it on disk. If the leader loses its leadership first, the
// entry may still commit under the next leader, or be overwritten: the
// owner learns which from Committed (an entry is its own if Index and Term
// match what it proposed), not from Propose.
func (l *Log) Propose(data []byte) error {
	if l.failed != nil {
		return l.failed
	}
	switch {
	case len(data) == 0:
		return ErrEmpty
	case len(data) > l.cfg.MaxEntryBytes:
		return fmt.Errorf("%w: %d bytes, over %d", ErrTooLarge, len(data), l.cfg.MaxEntryBytes)
	}
	if st := l.rn.BasicStatus(); st.RaftState != raft.StateLeader {
		return l.notLeader(st)
	}
	if err := l.rn.Propose(data); err != nil {
		if errors.Is(err, raft.ErrProposalDropped) {
			return fmt.Errorf("%w: the leader holds its bound of %d bytes proposed and not committed: %w", ErrBusy, l.cfg.MaxUncommittedBytes, err)
		}
		return fmt.Errorf("raftlog: propose: %w", err)
	}
	l.settle()
	return nil
}

func (l *Log) notLeader(st raft.BasicStatus) error {
	if st.Lead == raft.None {
		return fmt.Errorf("%w: no leader is known at term %d", ErrNotLeader, st.GetTerm())
	}
	return fmt.Errorf("%w: the leader is %q (raft id %d) at term %d", ErrNotLeader, l.nodeOf(st.Lead), st.Lead, st.GetTerm())
}

// OnSynced takes the owner's sync completion: sync id, and every sync
// before it, completed. The log releases the Ready it was waiting for if
// its sync is among them; other ids are not its own and change nothing.
func (l *Log) OnSynced(id node.SyncID) {
	if l.failed != nil || !l.syncing || id < l.syncID {
		return
	}
	l.syncing = false
	l.settle()
}

// Committed returns the entries committed and not handed out yet, in
// order, each once, or nil. Raft's empty entries (one per election) are
// not handed out, but their indexes pass. The owner calls it after every
// call into the log that can commit (Step, Tick, OnSynced, Propose).
func (l *Log) Committed() []Entry {
	out := l.out
	l.out = nil
	return out
}

// Applied says that the owner applied, durably, every entry up to index.
// Entries more than KeepEntries below it are compacted away, from raft's
// storage and from the disk (one batch, not synced: losing it in a crash
// loses nothing). A follower that later needs them gets a Snapshot entry.
func (l *Log) Applied(index uint64) error {
	if l.failed != nil {
		return l.failed
	}
	if index > l.handed {
		return fmt.Errorf("raftlog: applied %d, beyond %d handed out", index, l.handed)
	}
	if index <= l.applied {
		return nil
	}
	l.applied = index
	keep := l.cfg.KeepEntries
	if index <= keep {
		return nil
	}
	to := index - keep
	if to < l.snapIndex+max(keep/8, 1) {
		return nil // compact in steps, not at every entry
	}
	term, err := l.store.Term(to)
	if err != nil {
		return fmt.Errorf("raftlog: compacting to %d: %w", to, err)
	}
	p := l.cfg.Prefix
	b := l.env.Disk().NewBatch()
	l.setGuard(b)
	b.Set(snapKey(p), encodeSnap(snapKey(p), to, term))
	for i := l.first; i <= to; i++ {
		b.Delete(entryKey(p, i))
	}
	if err := b.Commit(); err != nil {
		return fmt.Errorf("raftlog: compacting to %d: %w", to, err)
	}
	if _, err := l.store.CreateSnapshot(to, l.cs, nil); err != nil {
		node.Broken("raftlog: snapshot at %d over a log compacted to %d: %v", to, l.snapIndex, err)
	}
	if err := l.store.Compact(to); err != nil {
		node.Broken("raftlog: compacting to %d over a log compacted to %d: %v", to, l.snapIndex, err)
	}
	l.snapIndex, l.snapTerm, l.first = to, term, to+1
	return nil
}

// Leader is the leader this member knows of (raft id and node; 0 and ""
// if none) and its term.
func (l *Log) Leader() (id uint64, n node.NodeID, term uint64) {
	st := l.rn.BasicStatus()
	return st.Lead, l.nodeOf(st.Lead), st.GetTerm()
}

// IsLeader reports whether this member leads the group.
func (l *Log) IsLeader() bool { return l.rn.BasicStatus().RaftState == raft.StateLeader }

// CaughtUp reports whether this member leads the group and has handed
// out everything committed, up to an entry of its own term: every entry a
// previous leader may have committed is then out, and what the owner
// builds next follows the whole committed log. (A new leader's first
// entry, raft's empty one, commits everything before it.)
func (l *Log) CaughtUp() bool {
	st := l.rn.BasicStatus()
	if st.RaftState != raft.StateLeader || l.failed != nil || len(l.out) > 0 || l.handed < st.GetCommit() {
		return false
	}
	t, err := l.store.Term(st.GetCommit())
	return err == nil && t == st.GetTerm()
}

// SetPassive stops (or lets again) this member campaigning: it still
// votes and replicates, but never becomes leader (only a member that
// campaigns can). The owner sets it while it cannot lead, such as while
// its state lags beyond the log.
func (l *Log) SetPassive(p bool) { l.passive = p }

// Err is what stopped the log (it wraps ErrFailed), or nil.
func (l *Log) Err() error { return l.failed }

// Status is what tests and metrics read of a member.
type Status struct {
	ID                 uint64
	State              string // StateFollower, StatePreCandidate, StateCandidate, StateLeader
	Term, Vote, Commit uint64 // raft's hard state, in memory
	Lead               uint64
	LeadNode           node.NodeID
	Handed             uint64 // the last index handed out by Committed (or skipped)
	Applied            uint64 // the owner's, as Applied said
	First, Last        uint64 // the entries on disk (none while Last < First)
	Compacted          uint64 // the compaction point: entries up to it are gone
	Waiting            bool   // a Ready waits for its sync
	DiskErr            error  // the last write error, until a write succeeds
	Err                error  // see Err
}

// Status returns the member's status.
func (l *Log) Status() Status {
	st := l.rn.BasicStatus()
	return Status{
		ID: l.cfg.ID, State: st.RaftState.String(),
		Term: st.GetTerm(), Vote: st.GetVote(), Commit: st.GetCommit(),
		Lead: st.Lead, LeadNode: l.nodeOf(st.Lead),
		Handed: l.handed, Applied: l.applied,
		First: l.first, Last: l.last, Compacted: l.snapIndex,
		Waiting: l.syncing, DiskErr: l.diskErr, Err: l.failed,
	}
}

// settle runs raft's Readys until one waits for its sync, or none is left,
// and keeps the election timer in step with raft's state.
func (l *Log) settle() {
	l.observe()
	for l.failed == nil {
		if l.rd == nil {
			if !l.rn.HasReady() {
				break
			}
			rd := l.rn.Ready()
			l.rd, l.written = &rd, false
		}
		if !l.written {
			if !l.sent && l.rn.BasicStatus().RaftState == raft.StateLeader && leaderMayPresend(l.rd) {
				// A leader sends its appends and heartbeats while it
				// writes them (raft thesis §10.2.1; etcd's server does the
				// same): what it hands out still waits for its own sync
				// (release), and raft counts a follower's acknowledgement
				// only once that follower synced. So its heartbeats never
				// wait behind its disk.
				for _, m := range l.rd.Messages {
					l.send(m)
				}
				l.sent = true
			}
			wrote, err := l.write(l.rd)
			if err != nil {
				if l.diskErr == nil {
					l.env.Log().Warn("raftlog: writing a Ready failed; retrying at the next tick", "err", err)
				}
				l.diskErr = err
				break
			}
			l.diskErr, l.written = nil, true
			if wrote {
				l.syncID, l.syncing = l.env.Sync(), true
			}
		}
		if l.syncing {
			break
		}
		l.release()
	}
	l.observe()
}

// write commits rd's state to the disk in one batch and mirrors it in
// raft's storage. It reports whether there was anything to write.
func (l *Log) write(rd *raft.Ready) (bool, error) {
	hasSnap, hasHard := !raft.IsEmptySnap(rd.Snapshot), !raft.IsEmptyHardState(rd.HardState)
	if !hasSnap && !hasHard && len(rd.Entries) == 0 {
		return false, nil
	}
	p := l.cfg.Prefix
	b := l.env.Disk().NewBatch()
	l.setGuard(b)
	first, last, snapIndex, snapTerm := l.first, l.last, l.snapIndex, l.snapTerm
	if hasSnap {
		md := rd.Snapshot.GetMetadata()
		snapIndex, snapTerm = md.GetIndex(), md.GetTerm()
		b.Set(snapKey(p), encodeSnap(snapKey(p), snapIndex, snapTerm))
		for i := first; i <= last; i++ {
			b.Delete(entryKey(p, i)) // raft replaced its whole log
		}
		first, last = snapIndex+1, snapIndex
	}
	if n := len(rd.Entries); n > 0 {
		lo, hi := rd.Entries[0].GetIndex(), rd.Entries[n-1].GetIndex()
		if lo <= snapIndex || lo > last+1 || hi != lo+uint64(n)-1 {
			node.Broken("raftlog: raft appends entries %d…%d to a log of %d…%d", lo, hi, first, last)
		}
		for _, e := range rd.Entries {
			k := entryKey(p, e.GetIndex())
			b.Set(k, encodeEntry(k, e))
		}
		for i := hi + 1; i <= last; i++ {
			b.Delete(entryKey(p, i)) // the uncommitted tail a new leader overwrote
		}
		last = hi
	}
	if hasHard {
		b.Set(hardKey(p), encodeHard(hardKey(p), rd.HardState))
	}
	if err := b.Commit(); err != nil {
		return false, fmt.Errorf("raftlog: writing the log: %w", err)
	}
	if hasSnap {
		if err := l.store.ApplySnapshot(rd.Snapshot); err != nil {
			node.Broken("raftlog: raft's snapshot %d over storage compacted to %d: %v", snapIndex, l.snapIndex, err)
		}
	}
	if err := l.store.Append(rd.Entries); err != nil {
		node.Broken("raftlog: appending to raft's storage: %v", err)
	}
	if hasHard {
		_ = l.store.SetHardState(proto.Clone(rd.HardState).(*pb.HardState))
	}
	l.first, l.last, l.snapIndex, l.snapTerm = first, last, snapIndex, snapTerm
	return true, nil
}

// setGuard makes the guard record b's first write. The simulated disk
// tears a crash's first lost batch by cutting its first write short: the
// guard takes that, and no record the log reads is ever torn.
func (l *Log) setGuard(b node.Batch) {
	l.guard++
	k := guardKey(l.cfg.Prefix)
	b.Set(k, sealRecord(k, binary.BigEndian.AppendUint64(nil, l.guard)))
}

// release lets out what waited for the Ready's write to be durable: its
// messages and its committed entries; then raft advances.
func (l *Log) release() {
	rd := l.rd
	sent := l.sent
	l.rd, l.written, l.syncing, l.sent = nil, false, false, false
	if !sent {
		for _, m := range rd.Messages {
			l.send(m)
		}
	}
	if !raft.IsEmptySnap(rd.Snapshot) {
		md := rd.Snapshot.GetMetadata()
		l.out = append(l.out, Entry{Index: md.GetIndex(), Term: md.GetTerm(), Snapshot: true})
		l.handed = md.GetIndex()
	}
	for _, e := range rd.CommittedEntries {
		if e.GetIndex() <= l.handed {
			continue
		}
		l.handed = e.GetIndex()
		if e.GetType() == pb.EntryNormal && len(e.GetData()) > 0 {
			l.out = append(l.out, Entry{Index: e.GetIndex(), Term: e.GetTerm(), Data: e.GetData()})
		}
	}
	l.rn.Advance(*rd)
	for _, m := range rd.Messages {
		if m.GetType() == pb.MsgSnap {
			// The network gives no word of delivery: take every snapshot as
			// lost, so that the leader probes the follower again and sends
			// another if it still needs one (they carry no data).
			l.rn.ReportSnapshot(m.GetTo(), raft.SnapshotFailure)
		}
	}
}

func (l *Log) send(m *pb.Message) {
	n := l.nodeOf(m.GetTo())
	if n == "" {
		node.Broken("raftlog: raft sends %s to %d, not a member", m.GetType(), m.GetTo())
	}
	if m.GetType() == pb.MsgPreVoteResp && !m.GetReject() {
		// It would vote for that candidate: it holds off its own campaign
		// for a timeout, as raft does once it grants a vote, so that two
		// followers that lost the leader together split their votes less
		// often (liveness only: a pre-vote changes no state).
		l.elapsed = 0
	}
	l.env.Send(n, encodeMessage(m))
}

func (l *Log) nodeOf(id uint64) node.NodeID {
	if i := slices.IndexFunc(l.cfg.Peers, func(p Peer) bool { return p.ID == id }); i >= 0 {
		return l.cfg.Peers[i].Node
	}
	return ""
}

func (l *Log) view() view {
	st := l.rn.BasicStatus()
	return view{term: st.GetTerm(), vote: st.GetVote(), lead: st.Lead, state: st.RaftState}
}

// observe restarts the election timer where raft would restart its own:
// on a change of term or state (a new timeout), on a vote granted.
func (l *Log) observe() {
	v := l.view()
	switch {
	case v.term != l.seen.term || v.state != l.seen.state:
		l.resetTimer()
	case v.vote != l.seen.vote:
		l.elapsed = 0
	}
	l.seen = v
}

// resetTimer restarts the election timer with a timeout drawn from the
// node's random stream: ElectionTicks plus 0…ElectionTicks-1.
func (l *Log) resetTimer() {
	l.elapsed = 0
	l.timeout = l.cfg.ElectionTicks + l.env.Rand().IntN(l.cfg.ElectionTicks)
}

// leaderMayPresend reports whether a leader's Ready may send its messages
// before its write is durable: when they are appends, heartbeats and
// snapshots only (a leader's), and the Ready changes no vote (a leader's
// hard state changes its commit index only: the term and vote it was
// elected with were synced before its vote requests went out).
func leaderMayPresend(rd *raft.Ready) bool {
	if !raft.IsEmptyHardState(rd.HardState) && rd.HardState.GetVote() == raft.None {
		return false
	}
	for _, m := range rd.Messages {
		switch m.GetType() {
		case pb.MsgApp, pb.MsgHeartbeat, pb.MsgSnap:
		default:
			return false
		}
	}
	return true
}
