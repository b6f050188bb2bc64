// Package node holds the contracts every node role is written against, and,
// in its sub-packages, the roles themselves and everything they share.
//
// A role (sequencer, fullnode, prover, DA) is a deterministic state machine.
// It touches the world only through what it is given: the clock, the network,
// randomness and its Disk. The production runtime (node/runtime) backs those
// with real timers, libp2p and pebble; the simulator (sim/) backs them with a
// virtual clock, a simulated network and a simulated disk, all driven by one
// seeded PRNG. Because of that, nothing under node/ outside node/runtime and
// node/rpc reads the wall clock, starts goroutines, opens files or sockets, or
// lets map iteration order leak into its output.
//
// Data flows one way (DESIGN.md §1):
//
//	client ─tx─▶ admission ─▶ sequencer: mempool ─▶ exec ─▶ mini-block ─▶ commit ─▶ sync … completion ─▶ receipt, gossip
//	                                                     └─▶ fullnodes apply the diff to state, check sealed roots
//	                                                     └─▶ provers validate sealed blocks statelessly
//
// A node is a pipeline around its step, not one step that does everything.
// Admission (decoding, signature recovery, stateless checks) runs before
// the step; reads are served off it (ReadServer) from immutable views of
// the state at a durable mini-block; and a durable write completes later:
// the node commits a batch, asks its Env for a sync, and hears of the
// completion as its own event (OnSynced). Whatever depends on the write
// leaves the node only then, through an Outbox, never by the order of
// statements. The simulator completes syncs after a drawn delay and may
// crash a node in between, so it sees the order of IO and can break it.
//
// This package defines the contracts between a node and its runtime: Node,
// the state machine every role implements; Env, the only way a node touches
// the world; Request, a client call; ReadServer, the reads a node serves
// off its step; Disk, the key-value store a node keeps its data in;
// Outbox, the outputs that wait for a sync; and Invariant, what node code
// panics with when an invariant breaks. Sub-packages: chain (types, codecs,
// gossip topics), state (world state, its root and history), exec (EVM
// execution with exact state diffs), ledger (a node's applied chain, its
// views and read engine), api (the client protocol), memdisk (an
// in-memory Disk), runtime and rpc (production only).
package node
