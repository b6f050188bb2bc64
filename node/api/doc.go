// Package api is the client API's semantics, shared by every way in: the
// calls (send, send-and-wait-for-receipt, receipts and transactions, reads
// and calls at a block tag, gas estimates, blocks by number and hash, logs,
// fee history and mini-blocks), their answers, the errors with
// go-ethereum's messages and JSON-RPC codes, and the versioned,
// checksummed codec that carries them as bytes.
//
// In the data flow of DESIGN.md §1 a client's call reaches a node as a
// Request (node.Request) whose body is an encoded Call; the sequencer
// answers sends, every node answers reads with ServeRead from its ledger
// (node/ledger). The simulator's clients use this codec over the simulated
// network; the JSON-RPC server (node/rpc) translates to and from it.
package api
