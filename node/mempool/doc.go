// Package mempool is the sequencer's transaction pool: it holds the
// transactions that cannot execute yet and decides the order of those that
// can.
//
// In the data flow of DESIGN.md §1 it sits between validation and execution:
//
//	client ─tx─▶ sequencer: validate ─▶ mempool ─▶ execute ─▶ mini-block ─▶ WAL ─▶ receipt
//
// The sequencer executes a transaction the moment it arrives, so the pool is
// usually empty or nearly so. What it holds is what had to wait: a
// transaction whose nonce is ahead of its sender's next nonce (a nonce gap),
// one whose fee cap is below the current base fee, or one that did not fit
// the block's gas or the mini-block's. When several are ready, Peek shows
// and Pop hands out the one paying the highest effective tip at the base
// fee, earliest arrival first among equals (Config.Order may make it
// arrival alone), and the sequencer executes it and tells the pool the
// sender's new nonce with SetNonce, which may make the sender's next
// transaction ready. That order is the chain's P9.
//
// The pool trusts its caller for everything that needs the chain or the
// cryptography: the sender is recovered and the transaction checked
// statelessly (signature, chain id, intrinsic gas, size) before Add, and the
// caller passes the sender's nonce in the executed state. The pool only
// deals with nonces, fees, bounds and order.
//
// Everything the outside world can grow is bounded (Config): transactions
// in all, transactions per sender, how far ahead of the state a nonce may
// be, and how long a transaction may wait. At a bound Add refuses; the pool
// never evicts one client's transaction to make room for another's. The
// pool reads no clock (the caller passes its own) and its output never
// depends on map order: the same calls in the same order give the same
// results.
package mempool
