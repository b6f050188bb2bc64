package raftlog

import (
	"errors"
	"fmt"

	"github.com/meganode/meganode/node"
	"go.etcd.io/raft/v3"
)

// Peer is one member of the group: its raft id and its node's name.
type Peer struct {
	ID   uint64 // raft's id, not 0; the members are usually 1..n
	Node node.NodeID
}

// Config configures a Log. The zero value of every field but ID and Peers
// takes its default.
type Config struct {
	// ID is this member's raft id; Peers must hold it, with env.ID().
	ID uint64
	// Peers is the whole group, this member included; an odd number. The
	// group is static: membership changes are not supported.
	Peers []Peer

	// ElectionTicks is the election timeout in ticks (default 10): a
	// follower that hears nothing from its leader for that long stops
	// trusting it, and campaigns after a further random 0…ElectionTicks-1
	// ticks drawn from env.Rand(). A leader that does not hear from a quorum
	// for that long steps down (CheckQuorum).
	ElectionTicks int
	// HeartbeatTicks is how often a leader sends heartbeats (default 1).
	HeartbeatTicks int

	// Prefix is the disk key prefix of the log's records (default "raft/").
	// The log owns every key under it.
	Prefix []byte

	// MaxEntryBytes bounds one proposal (default 16 MiB): beyond it,
	// Propose returns ErrTooLarge.
	MaxEntryBytes int
	// MaxUncommittedBytes bounds the bytes the leader holds proposed and not
	// committed (raft's MaxUncommittedEntriesSize, default 64 MiB): beyond
	// it, Propose returns ErrBusy.
	MaxUncommittedBytes uint64
	// KeepEntries is how many entries below the owner's applied index the
	// log keeps for followers that lag (default 1024); older ones are
	// compacted away (see Applied).
	KeepEntries uint64

	// Applied is the last index the owner applied, from its own durable
	// state, when it reopens the log: Committed hands out only entries past
	// it. It must not exceed the log's durable commit index, which it
	// cannot if the owner applies only what Committed handed out.
	Applied uint64
}

// Defaults.
const (
	DefaultElectionTicks       = 10
	DefaultHeartbeatTicks      = 1
	DefaultMaxEntryBytes       = 16 << 20
	DefaultMaxUncommittedBytes = 64 << 20
	DefaultKeepEntries         = 1024

	// MaxSizePerMsg bounds the entries of one append message (one entry
	// larger than it travels alone).
	MaxSizePerMsg = 1 << 20
	// MaxInflightMsgs bounds the append messages in flight to one follower.
	MaxInflightMsgs = 256
)

// DefaultPrefix is the default disk key prefix.
var DefaultPrefix = []byte("raft/")

// Errors. Each is returned wrapped, with what was wrong.
var (
	// ErrNotLeader: a proposal on a member that is not the leader. The
	// error names the leader this member knows of, if any.
	ErrNotLeader = errors.New("raftlog: not the leader")
	// ErrTooLarge: a proposal over MaxEntryBytes.
	ErrTooLarge = errors.New("raftlog: entry too large")
	// ErrBusy: the leader holds MaxUncommittedBytes of uncommitted entries
	// (it wraps raft.ErrProposalDropped too).
	ErrBusy = errors.New("raftlog: busy")
	// ErrEmpty: an empty proposal (indistinguishable from raft's own empty
	// entries).
	ErrEmpty = errors.New("raftlog: empty entry")
	// ErrBadMessage: a peer's message that is malformed or not acceptable.
	ErrBadMessage = errors.New("raftlog: bad message")
	// ErrCorrupt: a disk record that fails its checks.
	ErrCorrupt = errors.New("raftlog: corrupt record")
	// ErrFailed: the log stopped (raft broke an invariant on a peer's
	// message); the owner must reopen it from disk with Open.
	ErrFailed = errors.New("raftlog: failed")
)

// withDefaults returns cfg with its defaults filled in, or an error saying
// what is wrong with it.
func (cfg Config) withDefaults(self node.NodeID) (Config, error) {
	if cfg.ElectionTicks == 0 {
		cfg.ElectionTicks = DefaultElectionTicks
	}
	if cfg.HeartbeatTicks == 0 {
		cfg.HeartbeatTicks = DefaultHeartbeatTicks
	}
	if len(cfg.Prefix) == 0 {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.MaxEntryBytes == 0 {
		cfg.MaxEntryBytes = DefaultMaxEntryBytes
	}
	if cfg.MaxUncommittedBytes == 0 {
		cfg.MaxUncommittedBytes = DefaultMaxUncommittedBytes
	}
	if cfg.KeepEntries == 0 {
		cfg.KeepEntries = DefaultKeepEntries
	}
	switch {
	case cfg.HeartbeatTicks < 1 || cfg.ElectionTicks <= cfg.HeartbeatTicks:
		return cfg, fmt.Errorf("raftlog: config: want 1 ≤ HeartbeatTicks (%d) < ElectionTicks (%d)", cfg.HeartbeatTicks, cfg.ElectionTicks)
	case cfg.MaxEntryBytes < 0:
		return cfg, fmt.Errorf("raftlog: config: MaxEntryBytes %d", cfg.MaxEntryBytes)
	case len(cfg.Peers)%2 == 0:
		return cfg, fmt.Errorf("raftlog: config: %d peers: the group must have an odd size", len(cfg.Peers))
	}
	found := false
	for i, p := range cfg.Peers {
		if p.ID == raft.None || raft.IsLocalMsgTarget(p.ID) || p.Node == "" {
			return cfg, fmt.Errorf("raftlog: config: peer %d (%d, %q): ids must be non-zero and nodes named", i, p.ID, p.Node)
		}
		for _, q := range cfg.Peers[:i] {
			if q.ID == p.ID || q.Node == p.Node {
				return cfg, fmt.Errorf("raftlog: config: peers %d %q and %d %q: ids and nodes must be unique", q.ID, q.Node, p.ID, p.Node)
			}
		}
		if p.ID == cfg.ID {
			if p.Node != self {
				return cfg, fmt.Errorf("raftlog: config: id %d is node %q, but this node is %q", p.ID, p.Node, self)
			}
			found = true
		}
	}
	if !found {
		return cfg, fmt.Errorf("raftlog: config: id %d is not among the peers", cfg.ID)
	}
	return cfg, nil
}
