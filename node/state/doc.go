// Package state is the world state a node keeps in memory: accounts,
// storage and code, changed only by applying diffs (chain.Diff), with its
// Ethereum-compatible commitment (the Merkle-Patricia state root) and
// snapshots to a node.Disk.
//
// In the data flow of DESIGN.md §1 the sequencer's executor reads it through
// Reader while executing, and the sequencer and every fullnode Apply each
// mini-block's diff to it; at every sealed block they compute Root and the
// fullnode compares it with the header. Nothing here executes code.
//
// State is an interface so the backend can be swapped for speed. Mem keeps
// flat maps for reads (what execution hits) and go-ethereum tries for the
// commitment, updated lazily: Apply only marks what changed, and Root hashes
// just the changed paths.
package state
