// Package ledger is a node's applied chain, shared by the sequencer and
// the fullnodes: the live state with a window of history for reads at a
// height, the mini-blocks applied (on disk, for receipts and range
// requests), the sealed blocks, periodic state snapshots, and recovery.
//
// In the data flow of DESIGN.md §1 the sequencer appends each mini-block
// it executed (its WAL) and the fullnodes append each mini-block they
// receive, strictly in order; a mini-block that seals an EVM block is
// checked against the state and body the ledger computed (a mismatch
// poisons it). On start, Open loads the newest snapshot and re-applies
// the stored mini-blocks after it, by diff, without re-executing.
package ledger
