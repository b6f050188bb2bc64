// Package fullnode is the fullnode role: it receives the sequencer's
// mini-blocks by gossip, checks the signature and the parent link, applies
// their diffs strictly in order without re-executing (node/ledger), buffers
// what arrives early, repairs gaps by range requests to the sequencer and
// other fullnodes, and checks every sealed block's roots against its own
// state, halting on a mismatch. It serves the client API's reads
// (node/api) at latest, safe, a block or a mini-block.
//
// In the data flow of DESIGN.md §1 it is downstream of the sequencer and
// upstream of clients; provers will attest the blocks it checks.
package fullnode
