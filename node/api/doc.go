// Package api is the client API's protocol, shared by every way in: the
// calls (send, send-and-wait-for-receipt, receipts and transactions, reads
// and calls at a block tag, gas estimates, blocks by number and hash, logs,
// fee history and mini-blocks), their answers, the errors with
// go-ethereum's messages and JSON-RPC codes, and the versioned,
// checksummed codec that carries them as bytes. It holds no semantics of
// its own: the read engine that answers the calls lives with the data, in
// node/ledger, and the sends in the sequencer.
//
// In the data flow of DESIGN.md §1 a client's call reaches a node as a
// Request (node.Request) whose body is an encoded Call; the production
// runtime hands it over decoded (CallRequest, AnswerRequest), with a send's
// transaction already admitted (Call.Tx), so that nothing is encoded
// between the JSON-RPC server (node/rpc) and the node. The simulator's
// clients use the codec over the simulated network.
package api
