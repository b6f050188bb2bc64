// Package model is the sequential specification the checkers compare the
// nodes against.
//
// Reference is an independent re-execution of the chain with go-ethereum's
// own state.StateDB and core.ApplyTransaction, the path every Ethereum client
// is measured against. Nothing here uses node/exec or node/state: a bug there
// cannot hide by being repeated here. The properties (properties/) execute the
// same transactions both ways and require the same receipts and the same
// state root after every transaction.
//
// The porcupine model of the client API joins this package with the
// simulator.
package model
