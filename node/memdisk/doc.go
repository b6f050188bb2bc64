// Package memdisk is an in-memory node.Disk: every commit is immediately
// "durable", and nothing is ever lost or torn.
//
// In the data flow of DESIGN.md §1 it stands where a node's durable store
// stands (the sequencer's WAL and snapshots, a fullnode's mini-blocks) in
// unit tests and tools that need a Disk without a file system. The simulator
// has its own fault-injecting disk, and production uses pebble.
package memdisk
