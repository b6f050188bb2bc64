// Package runtime is the production runtime: what a node runs on outside the
// simulator.
//
// It and node/rpc are the only code under node/ that touches real time,
// goroutines, sockets and files; every role is a deterministic state machine
// that sees the world only through node.Env and node.Disk (see package node).
// The simulator (sim/) backs the same contracts with a virtual clock, a
// simulated network and a fault-injecting simulated disk.
//
// In the data flow of DESIGN.md §2 it sits between a role and the world:
//
//   - Loop drives one node from one goroutine, exactly as the simulator
//     does: real timers (time.AfterFunc), the network's messages and client
//     calls become the node's events, one at a time. Loop is the node's
//     node.Env. Its queues are bounded: inbound messages beyond the limit
//     are dropped and counted (nodes repair, as in the simulator); client
//     calls wait for room (back-pressure) until their context ends. On
//     shutdown it stops between two events and answers queued calls.
//   - P2P is the network: libp2p with a static topology, GossipSub topics
//     for mini-blocks, blocks and attestations, and a stream protocol for
//     direct messages (range repair, DA, attestation requests). Peers are
//     authenticated by their peer id, which is the node's NodeID.
//   - Disk is pebble (github.com/cockroachdb/pebble/v2) on the OS file
//     system (OpenDisk) or any pebble vfs.FS (OpenDiskFS; tests use
//     vfs.NewMem and vfs.NewCrashableMem). sim/disk_honesty_test.go holds
//     the simulated disk's crash model to what this Disk does.
//
// cmd/meganode wires a role, a Loop, P2P, Disk and the JSON-RPC server of
// node/rpc together.
package runtime
