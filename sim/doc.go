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
// A seed derives the whole run: the configuration (within the ranges of a
// profile), the fault schedule and the workload. Every run records a trace
// (traces/) whose event log hashes to the run's fingerprint; the same seed
// and the same build give the same fingerprint, and replaying a trace
// finds the first event that differs.
package sim
