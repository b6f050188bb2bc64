// Package properties holds the checkers: each takes what nodes did (and,
// in the simulator, what clients saw) and returns a *Violation naming the
// property that failed and the evidence, or nil.
//
// They compare the nodes with the sequential specification in model/. The
// checker here re-executes a run of blocks with go-ethereum's own StateDB
// (model.Reference) and requires, for every transaction, the same verdict
// (executed or refused), the same receipt and the same state root as the
// node's: the heart of P3, state-diff equivalence (DESIGN.md §5).
// Linearizability (checked in the chain's own order, O(n log n), with
// porcupine's search for what has no place), durability, prover
// soundness, the sequencer's ordering (P9, over its pool record), liveness
// and determinism join it with the simulator.
package properties
