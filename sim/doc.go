// Package sim is the deterministic world every node role is tested in.
//
// It drives the same node code production runs (DESIGN.md §2) from one
// goroutine: one event queue ordered by virtual time and sequence number,
// a virtual clock that jumps to the next event, and one seeded PRNG from
// which every other random stream is split. Around the nodes it builds a
// hostile world: a network that drops, duplicates, reorders and delays
// messages and can be partitioned or clogged; a disk per node that
// completes a node's syncs after a drawn delay (slower while a slow-disk
// fault lasts), loses unsynced writes when the machine crashes, tears the
// first one lost, and fails or corrupts reads and writes on demand; crashes
// of the machine, kills of the process alone (the disk keeps what was
// committed, unsynced), crashes timed inside a sync (before it is durable,
// or after and before the node hears of it), restarts, pauses, clock skew
// and clock jumps. A node hears of a sync as its own event, after the
// disk made it durable, so the order of a node's IO is something the world
// sees and breaks. Reads are served inline from the node's views, as
// production serves them off the step. Simulated clients call the nodes
// over that network and keep a history for the checkers (properties/).
//
// The world checks two things itself: liveness, which includes that every
// call delivered to a node that stayed up is answered (a client never
// waits in silence), and the nodes' invariants: a panic in node code
// (node.Invariant) is a violation of the run, and the node goes down as
// its process would.
//
// A run is driven by a plan (plan.go): the cluster, every fault with its
// time and target, and every client operation with its time. A seed
// derives a plan within the ranges of a profile (DerivePlan); what the
// plan does not list comes from streams split from the seed in a fixed
// order. Every run records a trace (traces/) holding its plan and an event
// log that hashes to the run's fingerprint; the same plan and the same
// build give the same fingerprint, and replaying a trace runs its plan and
// finds the first event that differs. Shrink (shrink.go) reduces a failing
// plan by delta debugging while the same property fails. A scenario can
// add its own fault kinds (ScenarioFaults) and explain a failure
// (Explainer); nodes report coverage marks (node/cover) that the world
// counts per run for the sweep report.
package sim
