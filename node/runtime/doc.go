// Package runtime is the production runtime: what a node runs on outside the
// simulator.
//
// It and node/rpc are the only code under node/ that touches real time,
// goroutines, sockets and files; every role is a deterministic state machine
// that sees the world only through node.Env and node.Disk (see package node).
// The simulator (sim/) backs the same contracts with a virtual clock, a
// simulated network and a fault-injecting simulated disk.
//
// Today it holds the production Disk: pebble (github.com/cockroachdb/pebble/v2)
// on the OS file system, opened with OpenDisk, or on any pebble vfs.FS with
// OpenDiskFS (tests use vfs.NewMem and vfs.NewCrashableMem). The tests in
// sim/disk_honesty_test.go hold the simulated disk's crash model to what this
// Disk does. The event loop, libp2p networking and the JSON-RPC server arrive
// here later.
package runtime
