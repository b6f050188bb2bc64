// Package exec runs transactions with go-ethereum's EVM and returns, for
// each one, its receipt and its exact state diff.
//
// In the data flow of DESIGN.md §1 it is the sequencer's "execute" step:
// the mempool hands it transactions one at a time, as they arrive; a Block
// executes them against the state (node/state) and, every mini-block
// interval, Flush merges what they changed into the mini-block's diff and
// applies it to the state. Fullnodes never call this package: they apply the
// diffs. Provers and the conformance runner re-execute through it.
//
// Execution uses go-ethereum's own state transition (core.ApplyMessage) and
// interpreter, over a vm.StateDB of this package (overlay) that reads the flat
// state instead of tries and tracks exactly what each transaction changed.
// The diff leaves out reverted changes and values written back to what they
// were; it includes destroyed accounts and slots set back to zero.
//
// Tracing (trace.go) re-executes what the chain executed under
// go-ethereum's tracers (debug_trace*): TraceTxs runs a block's
// transactions from a point of the block (its start, or resumed after its
// earlier mini-blocks) and traces those from an index on, each under a
// fresh tracer hooked into the EVM and into the state as go-ethereum's
// traceTx does; TraceCall traces what Call runs. A trace stops when its
// context ends, with "execution timeout" past its deadline.
//
// A transaction the chain refuses (bad signature, wrong chain id, nonce,
// funds, intrinsic gas, gas above the limits, oversized, blob transactions
// under the default Policy) comes back as a *TxError carrying go-ethereum's
// message, and leaves the state exactly as it was.
package exec
