// Package fullnode is the fullnode role: it receives the sequencer's
// mini-blocks by gossip, checks the signature and the parent link, applies
// their diffs strictly in order without re-executing (node/ledger), buffers
// what arrives early, repairs gaps by range requests to the sequencer,
// other fullnodes and DA, and checks every sealed block's roots against its
// own state, halting on a mismatch. It tracks finality from the provers'
// attestations (a quorum finalizes a block), and believes a prover's fault
// report only once it has verified the report's evidence itself: the
// block's bundle, signed by the sequencer, failing the provers' own
// validation (prover.Validate) here too. A report that does not hold is
// refused and its prover marked, so no prover can veto an honest chain's
// finality. It serves the client API's reads at latest, safe, finalized,
// a block or a mini-block.
//
// Each mini-block is committed as it is applied, and its sync asked for
// without waiting (node.Outbox): the fullnode keeps applying while earlier
// mini-blocks sync, up to Config.MaxInFlight. Reads (Serve, off the step)
// and range answers come from the ledger's released view, which moves
// only when a sync completes: a client never reads what a crash could take
// back.
//
// In the data flow of DESIGN.md §1 it is downstream of the sequencer and
// DA, and upstream of clients; provers attest the blocks it checks.
package fullnode
