// Package chain defines what crosses the wire and lands on disk: the state
// diff, the mini-block, the sealed EVM block (go-ethereum's types.Block), and
// their codecs.
//
// In the data flow of DESIGN.md §1 the sequencer's executor (node/exec)
// produces a Diff per transaction and merges them into the mini-block's Diff;
// the sequencer wraps transactions, receipts and that Diff into a signed
// MiniBlock, writes it to its WAL and streams it; fullnodes decode it, check
// its signature and parent link, and apply its Diff to their state
// (node/state) without re-executing.
//
// Every encoding here is go-ethereum RLP framed by a format byte in front and
// a CRC-32C behind (see Frame). Decoders never panic: bad input is an error
// that says what was wrong. They are canonical: a decoded value re-encodes to
// the same bytes, so a hash over an encoding is a hash over its meaning.
package chain
