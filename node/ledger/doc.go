// Package ledger is a node's applied chain, shared by the sequencer and
// the fullnodes: the live state with a window of history for reads at a
// height, the mini-blocks applied (on disk, for receipts and range
// requests), the sealed blocks, periodic state snapshots, recovery, and
// the views and read engine clients are served from.
//
// In the data flow of DESIGN.md §1 the sequencer appends each mini-block
// it executed (its WAL) and the fullnodes append each mini-block they
// receive, strictly in order: Append applies the diff to the state (the
// only time it is applied) and commits the mini-block in one batch,
// unsynced. A mini-block that seals an EVM block is checked against the
// state and body the ledger computed (a mismatch poisons it).
//
// What a ledger lets out goes through views (View): immutable pictures of
// the ledger at a mini-block. The owner releases a mini-block's view
// (Release) once the sync that covers it completed; until then nothing of
// it reaches a client or a peer. The read engine (Serve: reads and calls at
// a tag, gas estimates, receipts, blocks, logs, fee history, traces) and range
// answers work on a view, from any goroutine, concurrently with the
// owner's step: the state through its history under a read lock held for
// one read at a time, the indexes under the ledger's read lock, the rest
// from disk. An EVM call on a view stops when its context ends. A trace
// (trace.go) rebuilds a transaction's state: the state after the
// mini-block before its own, then the transactions before it in its
// mini-block, re-executed in its block as the sequencer executed it (the
// open block's header derived as the sequencer derives it), and is
// refused if the traced execution does not reproduce the receipt. The owner
// decides by the tip (Tip), the view of everything applied.
//
// On start, Open loads the newest snapshot and re-applies the stored
// mini-blocks after it, by diff, without re-executing, and releases
// nothing: a killed process leaves unsynced writes readable, so the owner
// syncs first.
package ledger
