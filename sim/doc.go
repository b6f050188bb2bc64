// Package sim is the deterministic world every node role is tested in.
//
// It drives the same node code production runs (DESIGN.md §2) from one
// goroutine: one event queue ordered by virtual time and sequence number,
// a virtual clock that jumps to the next event, and one seeded PRNG from
// which every other random stream is split. Around the nodes it builds a
// hostile world: a network that drops, duplicates, reorders and delays
// messages and can be partitioned or clogged; a disk per node that loses
// unsynced writes on a crash, tears the last one, and fails or corrupts
// reads and writes on demand; crashes, restarts, pauses, clock skew and
// clock jumps. Simulated clients call the nodes over that network and keep
// a history for the checkers (properties/).
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
