package node

import (
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
	// Disk is the node's durable store. It survives crashes and restarts.
	Disk() Disk
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
	// OnRequest hands the node a client call.
	OnRequest(req Request)
}
