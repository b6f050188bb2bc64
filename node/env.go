package node

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"
)

// NodeID names a participant on the network: a node or a client.
type NodeID string

// TimerID identifies a timer. The node chooses it and gets it back in
// OnTimer; a node that no longer wants a timer ignores it when it fires.
type TimerID uint64

// Topic is a gossip topic.
type Topic string

// SyncID names a sync a node asked for with Env.Sync. Ids grow: a node's
// OnSynced(id) says that sync id and every sync before it completed.
type SyncID uint64

// Env is everything a node may touch of the world. The simulator gives it
// a virtual clock, a simulated network and disk and a seeded PRNG; the
// production runtime gives it the wall clock, libp2p, pebble and a PRNG
// seeded from crypto randomness. A node does all its IO through Env and
// nothing else, so that one seed replays one run to the bit.
type Env interface {
	// ID is this node's own name.
	ID() NodeID
	// Now is the node's clock: virtual in simulation, where it may be skewed
	// or jump, as real clocks do.
	Now() time.Time
	// After makes OnTimer(id) run once, d from now.
	After(d time.Duration, id TimerID)
	// Send sends msg to one peer. Delivery is unreliable: a message may be
	// dropped, duplicated, reordered or delayed. msg is copied.
	Send(to NodeID, msg []byte)
	// Subscribe makes the node receive what is published on topic.
	Subscribe(topic Topic)
	// Publish gossips msg to every other subscriber of topic, as
	// unreliably as Send.
	Publish(topic Topic, msg []byte)
	// Disk is the node's store. What a node commits to it is visible at
	// once and survives a restart of the node's process, but only a sync
	// makes it survive a crash of the machine.
	Disk() Disk
	// Sync asks for every batch the node committed to its Disk so far to
	// be made durable, and returns the sync's id. It does not wait: the
	// completion comes back later as the node's OnSynced event (etcd-io/raft's
	// Ready/Advance idea), so that the node keeps working while the disk
	// syncs, and nothing that depends on the write leaves the node before
	// (see Outbox). Several syncs may be in flight; they complete in order.
	Sync() SyncID
	// Rand is the node's random stream.
	Rand() *rand.Rand
	// Log is the node's logger.
	Log() *slog.Logger
	// Mark counts a coverage mark: the node reached the named rare path
	// (see package node/cover). The simulator aggregates marks over a
	// sweep; production ignores them.
	Mark(name string)
}

// Request is a client's call to a node's API.
type Request interface {
	// Client is who called.
	Client() NodeID
	// Body is the encoded call.
	Body() []byte
	// Respond sends the encoded answer. A node answers each request once,
	// now or later; answers after the first are ignored.
	Respond(body []byte)
}

// Node is a role: a deterministic state machine driven by its runtime.
// The runtime calls one method at a time, never concurrently.
type Node interface {
	// Start (re)starts the node from what its Disk holds. A crash discards
	// the node; a restart calls Start on a new one over the same Disk.
	Start(env Env) error
	// OnMessage delivers a message sent or published by a peer.
	OnMessage(from NodeID, msg []byte)
	// OnTimer fires a timer set with Env.After.
	OnTimer(id TimerID)
	// OnRequest hands the node a client call that its step must handle
	// (a send); reads are served off the step (see ReadServer).
	OnRequest(req Request)
	// OnSynced says that the node's sync id, and every sync it asked for
	// before, completed: what it had committed before asking is durable.
	// A runtime may report a group of syncs once, by the newest id.
	OnSynced(id SyncID)
}

// ReadServer is implemented by a node that answers reads off its step:
// from an immutable view of its state at a durable mini-block, concurrently
// with the step and with each other. The runtime offers every client call
// to Serve first; a call Serve declines (a send) goes to OnRequest.
type ReadServer interface {
	// Serve answers req and reports true if it is a read; it returns false,
	// without answering, for a call the step must take. It must not change
	// the node. ctx ends when the client is gone or the call's deadline
	// passes: a long call (eth_call) stops then, with an error.
	Serve(ctx context.Context, req Request) bool
}
