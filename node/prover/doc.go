// Package prover is the prover role: it validates sealed blocks
// statelessly and signs what it finds.
//
// In the data flow of DESIGN.md §1 it sits after the sequencer's seal and
// DA: every sealed block reaches it as a bundle (chain.BlockBundle: the
// block's signed mini-blocks and go-ethereum's core/stateless witness) by
// gossip on chain.TopicBlocks, or from DA when gossip missed it. It
// checks the block from the bundle alone (Validate): the header against
// its parent, each mini-block's receipts and exact diff against
// re-execution on the witness, and go-ethereum's own stateless execution
// against the header's roots. Blocks are independent, so they are
// validated in any order and several at once. For a valid block it
// publishes a signed chain.Attestation on chain.TopicAttestations; for an invalid
// one a signed chain.FaultReport naming the first mismatch and carrying the
// bundle as its evidence, which fullnodes validate themselves (Validate is
// theirs too) before they stop finality; a failure the witness alone could
// cause is marked inconclusive (Verdict.Inconclusive). Fullnodes collect
// these to finalize blocks. Statements are stored on disk and go
// out (published, or served to a fullnode that asks) only once their sync
// completed (node.Outbox), so a restarted prover neither forgets nor
// repeats, and never takes back what it said.
package prover
