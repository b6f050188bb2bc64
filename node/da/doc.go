// Package da is the DA role: the durable, content-addressed store of what
// the sequencer produced.
//
// In the data flow of DESIGN.md §1 the sequencer, once it seals an EVM
// block, publishes the block's bundle (chain.BlockBundle: its signed
// mini-blocks, which carry transactions, receipts and state diffs, the
// last one the sealed header; and the block's witness) to DA in a
// chain.DAPut. DA opens each bundle (signatures, numbering, parent links,
// transactions root, witness headers), stores it and its mini-blocks in one
// batch, and answers with a chain.DAAck once that batch's sync completed
// (node.Outbox): an ack means durable, so the sequencer may forget what DA
// acknowledged. It serves only what is durable too. DA never
// executes anything; whether a block's diffs and roots are right is for the
// provers and fullnodes to find out.
//
// Readers come to DA the way they come to any peer:
//
//   - fullnodes repair gaps with chain.RangeRequest, which DA answers from
//     its mini-blocks exactly as a fullnode or the sequencer does (so DA is
//     one more entry in a fullnode's list of repair sources);
//   - provers fetch (block, witness) bundles with chain.BlockRangeRequest;
//   - anyone fetches a blob by its keccak256 with chain.DAGet (a bundle by
//     its DA commitment, a mini-block by the hash of its framed bytes).
//
// DA holds blocks contiguously from 1: a bundle that does not extend what
// it holds is refused (the sequencer resends from DA's head, which every
// ack carries), and a second, different bundle signed for a block it holds
// is refused as equivocation.
//
// Disk layout (node.Disk; every value framed, so versioned and checksummed):
//
//	da/blob/<hash>   framed bytes whose keccak256 is hash: a bundle or a mini-block
//	da/blk/<N>       block N's bundle commitment (chain.FormatDARefV1)
//	da/mb/<n>        keccak256 of mini-block n's framed bytes (chain.FormatDARefV1)
//	da/head          the newest block and mini-block held contiguously, with
//	                 their hashes (chain.FormatDAHeadV1)
//
// Numbers in keys are 8-byte big-endian. A blob is checked against its key
// on every read: a mismatch is a corrupt record, never served.
package da
