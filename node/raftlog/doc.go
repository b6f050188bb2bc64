// Package raftlog is a replicated log of opaque entries for a small static
// group (3 members, say), run by etcd-io/raft's RawNode over node.Env: no
// goroutine, no clock, no socket of its own. The owner, a role, drives it
// from its step: Tick at a fixed period, Step with the group's messages,
// OnSynced with its sync completions, Propose on the leader; it takes what
// was committed from Committed and says what it applied with Applied.
//
// # Where it sits
//
// The sequencer becomes a replicated group (issue 16). Its leader executes
// transactions and builds mini-blocks as before, but a mini-block is
// acknowledged and published only once the group has it:
//
//	leader sequencer ─mini-block─▶ raftlog.Propose ─▶ raft append ─▶ its disk and the followers' disks
//	  ─▶ a quorum has it durable: committed ─▶ Committed() on every member
//	     ─▶ leader: receipts, acknowledgements, gossip (Outbox) │ followers: apply the mini-block
//
// A follower applies the committed mini-blocks in order, so that it can
// take over, with the same state, when it is elected.
//
// # Nothing leaves before it is durable
//
// Raft hands its work out as a Ready: a hard state (term, vote, commit),
// entries and maybe a snapshot to persist, messages to send, entries
// committed. The log takes one Ready at a time. It writes the Ready's
// state in one Batch (entries keyed by index; the uncommitted tail a new
// leader overwrote deleted in the same batch), commits it, asks the Env
// for a sync, and keeps the Ready. Only when OnSynced says that sync
// completed does it send the Ready's messages, hand out its committed
// entries and let raft advance. Until then it takes no new Ready; Step,
// Tick and Propose still run raft, whose new work waits for the next one.
// So a follower's append acknowledgement and a vote never leave before
// what they promise is on disk. A leader sends its appends and heartbeats
// while it writes them (raft thesis §10.2.1; etcd's server does the same),
// when its Ready holds nothing else and changes no vote: what it hands out
// as committed still waits for its own sync, so nothing anyone acts on is
// committed before the leader and a quorum hold it durably. A Ready with
// nothing to write (heartbeats, rejections) goes out at once: what it
// depends on was synced with an earlier one. While a Ready waits for its
// sync, raft's later messages wait for the next Ready: a leader's next
// heartbeats wait for one sync, and a sync slower than the election
// timeout costs it its leadership.
//
// A crash loses at most the Readys not synced, whose messages never left:
// the log reopens (Open) from what is durable. The Config.Applied the
// owner passes there comes from the owner's own durable state: raft hands
// out only entries past it, and it cannot exceed the durable commit index,
// since Committed hands out only what a completed sync covers.
//
// # Disk
//
// Records live under Config.Prefix: the hard state, the entries by index,
// the compaction point, and a guard record. Every record, like every
// message on the wire, is versioned and checksummed (crc32c); a bad one is
// an error naming what is wrong. Every batch writes the guard first: the
// simulated disk tears a crash's first lost batch by cutting its first
// write short, and so only ever tears the guard, which is never read. Open
// drops entries from a corrupt one on if it lies past the durable commit
// index (an unsynced tail); a corrupt record at or below it is an error.
//
// # Compaction and snapshots
//
// Applied compacts: entries more than KeepEntries below the owner's
// applied index leave raft's storage and the disk (one batch, no sync).
// A follower that lags further behind than that gets a raft snapshot that
// carries no data: Committed hands it out as an Entry with Snapshot set,
// whose Index says up to where the owner must fetch its state elsewhere
// (issue 16's next step: a mini-block state sync). KeepEntries should be
// large enough for a member's usual downtime.
//
// # Bounds
//
// A proposal is at most MaxEntryBytes (ErrTooLarge); the leader holds at
// most MaxUncommittedBytes proposed and not committed (ErrBusy); an append
// message carries at most MaxSizePerMsg of entries (or one larger entry),
// and at most MaxInflightMsgs of them are in flight to a follower. Raft's
// CheckQuorum and PreVote are on: a leader cut off from a quorum steps down
// within an election timeout, and a member that rejoins does not disrupt
// the group with a higher term.
//
// # Determinism
//
// Raft draws its randomized election timeout from crypto/rand (raft.go,
// lockedRand.Intn, called by resetRandomizedElectionTimeout), with no way
// to inject a source. The log therefore never lets raft's own election
// timer run: it ticks raft only while it leads (heartbeats and CheckQuorum
// count plain ticks, no randomness). On a follower or candidate it runs its
// own timer, restarted where raft restarts its electionElapsed (a message
// from the leader, a vote granted, a new term or state): after
// ElectionTicks without the leader it forgets it (ForgetLeader: raft then
// grants pre-votes and votes, as it does once its lease is over), and
// after a timeout drawn from env.Rand() in ElectionTicks…2·ElectionTicks-1
// it campaigns (Campaign). Raft still reads crypto/rand at every reset, but
// the value is never used: same seed, same run. Everything else raft does
// is deterministic (its progress map is visited in sorted order).
package raftlog
