// Package sequencer is the sequencer role: it admits transactions into
// the mempool (node/mempool), executes them the moment they can run
// (node/exec), and turns what it executed into signed mini-blocks (txs,
// receipts, exact state diff), sealing standard EVM blocks: as soon as a
// block holds a transaction (no sooner than Config.BlockGap after the
// previous seal), and every K intervals in any case.
//
// Closing a mini-block is a pipeline of four stages: execute (transactions
// run as they arrive), seal (the executor's diff, the header, and at the
// end of a block the sealed header and the witness, signed), persist (the
// ledger, node/ledger, applies and commits it in one batch; the Outbox,
// node.Outbox, asks for the sync) and announce (once the sync completes,
// and never before, the ledger releases the mini-block's view, and the
// mini-block is published and, when it seals a block, the block's
// receipts answered from that view and its bundle sent to the provers and
// DA). A receipt never leaves before its block is sealed: it carries the
// block's hash, and the block is there to fetch. The sequencer does
// not wait for the sync: it executes the next mini-block meanwhile (group
// commit), with up to Config.MaxInFlight syncs in flight.
//
// Mini-blocks close at the latest every interval, on a schedule that does
// not drift with the work done, and earlier (no sooner than Config.MinGap
// after the previous one) when the sequencer is idle with executed
// transactions waiting. A block seals at the first close that finds a
// transaction in it, at least Config.BlockGap after the last seal (a timer
// arms that close), and at its K-th scheduled tick in any case: while load
// is light each transaction gets its block at mini-block speed, and under
// load blocks seal every BlockGap.
//
// Admission (Admit) is a pure function of a raw transaction: decoding, the
// stateless checks and the sender's recovery, once. The production runtime
// runs it on every core before the step; the simulator inline. Reads are
// served off the step (Serve) from the released view.
//
// A sequencer may be one member of a replicated group (Config.Group,
// group.go): only the raft leader executes, each mini-block goes through
// the group's raft log (node/raftlog) before anything depends on it, and
// every member applies the committed mini-blocks to its ledger, so that
// whichever is elected next carries on at the next height. The raft term
// is in each mini-block's header (fencing).
//
// In the data flow of DESIGN.md §1 it sits between clients (node/api) and
// the fullnodes (node/fullnode), which receive its mini-blocks by gossip
// and range requests. On restart it restores the snapshot, re-applies the
// WAL by diff, continues the open block, and lets nothing it recovered out
// before a first sync makes it durable.
package sequencer
