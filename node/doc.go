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
//	client ─tx─▶ sequencer: mempool ─▶ exec ─▶ mini-block ─▶ WAL(Disk, sync) ─▶ receipt
//	                                        └─▶ fullnodes apply the diff to state, check sealed roots
//	                                        └─▶ provers validate sealed blocks statelessly
//
// This package defines the contracts between a node and its runtime: Node,
// the state machine every role implements; Env, the only way a node touches
// the world; Request, a client call; and Disk, the synchronous key-value
// store a node keeps its durable data in. Sub-packages: chain (types and
// codecs), state (world state and its root), exec (EVM execution with exact
// state diffs), memdisk (an in-memory Disk), runtime (production only).
package node
