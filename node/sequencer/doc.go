// Package sequencer is the sequencer role: it admits transactions into
// the mempool (node/mempool), executes them the moment they can run
// (node/exec), and every mini-block interval turns what it executed into a
// signed mini-block (txs, receipts, exact state diff). The mini-block is
// synced to the WAL (node/ledger) before any of its receipts is returned
// and before it is published on the gossip topic; every K mini-blocks the
// last one also carries the sealed EVM block header.
//
// In the data flow of DESIGN.md §1 it sits between clients (node/api) and
// the fullnodes (node/fullnode), which receive its mini-blocks by gossip
// and range requests. On restart it restores the snapshot, re-applies the
// WAL by diff and continues the open block.
package sequencer
