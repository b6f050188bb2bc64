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
//   - Loop drives one node's step from one goroutine, exactly as the
//     simulator does: real timers (time.AfterFunc; a zero delay fires once
//     nothing else waits, "when idle"), the network's messages, sends and
//     the disk's sync completions become the node's events, one at a time.
//     Loop is the node's node.Env. Around the step it runs what does not
//     need it, on every core: admission of sent transactions (decoding,
//     signature recovery, stateless checks) on the callers' goroutines in
//     a bounded pool; reads (node.ReadServer) off the step, from the
//     node's released view, bounded too, each stopped when its client goes
//     away or its deadline passes; and a writer goroutine that syncs the
//     disk once for every group of syncs the node asked for (group commit)
//     and hands the completion back as OnSynced. Its queues are bounded:
//     inbound messages beyond the limit are dropped and counted (nodes
//     repair, as in the simulator); client calls wait for room
//     (back-pressure) until their context ends, and a call whose client is
//     gone is dropped before it runs. A failed sync stops the node (it
//     restarts from what is durable). On shutdown it stops between two
//     events and answers queued calls.
//   - P2P is the network: libp2p with a static topology, GossipSub topics
//     for mini-blocks, blocks and attestations, and a stream protocol for
//     direct messages (range repair, DA, attestation requests). Peers are
//     authenticated by their peer id, which is the node's NodeID.
//     Gossip is checked before it is delivered or forwarded
//     (P2PConfig.Validate, on GossipSub's goroutines), and what the check
//     rejects costs its sender: GossipSub peer scoring counts only
//     rejected (forged, malformed, oversized) messages, squared and
//     decaying over an hour, so an honest peer never scores below 0 while
//     a forger is pruned from the mesh after at most two forgeries and graylisted
//     (its RPCs ignored) after eleven; stale messages (ErrStale) are
//     ignored at no cost (PeerScores, P2PMetrics.Graylisted). With
//     P2PConfig.AllowPeers the network is permissioned: a connection
//     gater refuses connections to and from any peer neither listed nor
//     static (GaterRefused). Requests by direct message (range, DA block
//     range and get, attestation requests) pass a token bucket per peer
//     (P2PConfig.RequestRate and RequestBurst, 500/s and 1000 by default,
//     far above what honest requesters send; at most 4096 peers tracked,
//     the least recently heard forgotten first); one beyond it never
//     reaches the role and is answered with a chain.Refusal
//     (RateLimited).
//   - Disk is pebble (github.com/cockroachdb/pebble/v2) on the OS file
//     system (OpenDisk) or any pebble vfs.FS (OpenDiskFS; tests use
//     vfs.NewMem and vfs.NewCrashableMem). A commit goes into pebble's
//     write-ahead log unsynced, on the step; Sync, on the writer goroutine,
//     syncs the log through everything committed before. sim/disk_honesty_test.go holds
//     the simulated disk's crash model to what this Disk does.
//
// cmd/meganode wires a role, a Loop, P2P, Disk and the JSON-RPC server of
// node/rpc together.
package runtime
