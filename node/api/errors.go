package api

import (
	"errors"
	"fmt"
)

// Kind classifies a failed call, so that clients (and the simulator's
// checkers) can tell the reasons apart without parsing messages.
type Kind uint8

// The kinds of failure. The transaction kinds match node/exec's reasons
// and the pool's refusals; each carries go-ethereum's message.
const (
	KindInternal          Kind = iota // a bug or an unexpected failure
	KindInvalidInput                  // the call or the transaction does not decode
	KindUnknownMethod                 // no such method
	KindBadSignature                  // the signature does not recover a sender
	KindWrongChainID                  // signed for another chain
	KindNonceTooLow                   // nonce below the account's
	KindNonceGap                      // nonce too far above the account's
	KindInsufficientFunds             // balance below gas × fee cap + value
	KindIntrinsicGas                  // gas below the intrinsic cost
	KindGasLimit                      // gas above the block gas limit
	KindOversized                     // transaction above the size limit
	KindTxType                        // a transaction type this chain refuses (blob)
	KindFee                           // fee cap below base fee, tip above fee cap, tip below the minimum, …
	KindInvalidTx                     // any other rule the transaction breaks
	KindAlreadyKnown                  // the transaction is known already: pooled, or executed in the open block
	KindUnderpriced                   // a replacement that does not pay enough more
	KindPoolFull                      // the pool (or the sender's share of it) is full
	KindNotFound                      // no such transaction, block or mini-block
	KindPruned                        // the state at that height is no longer kept
	KindFuture                        // the height is not reached yet
	KindTimeout                       // the transaction is pending, its receipt did not come in time
	KindUnavailable                   // the node cannot serve now (starting, catching up, overloaded); retry
	KindHalted                        // the node found its state disagrees with a sealed block and stopped
	KindReverted                      // the call reverted (eth_call)
	KindReplaced                      // a pending transaction was replaced by one paying more
	kindEnd
)

var kindNames = [...]string{
	KindInternal: "internal", KindInvalidInput: "invalid input", KindUnknownMethod: "unknown method",
	KindBadSignature: "bad signature", KindWrongChainID: "wrong chain id", KindNonceTooLow: "nonce too low",
	KindNonceGap: "nonce gap", KindInsufficientFunds: "insufficient funds", KindIntrinsicGas: "intrinsic gas",
	KindGasLimit: "gas limit", KindOversized: "oversized", KindTxType: "transaction type", KindFee: "fee",
	KindInvalidTx: "invalid transaction", KindAlreadyKnown: "already known", KindUnderpriced: "underpriced",
	KindPoolFull: "pool full", KindNotFound: "not found", KindPruned: "pruned", KindFuture: "future",
	KindTimeout: "timeout", KindUnavailable: "unavailable", KindHalted: "halted", KindReverted: "reverted",
	KindReplaced: "replaced",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// JSON-RPC error codes, as go-ethereum uses them.
const (
	CodeServer        = -32000 // transaction and state errors
	CodeMethod        = -32601
	CodeInvalidParams = -32602
	CodeInternal      = -32603
	CodeReverted      = 3 // eth_call execution reverted
	CodeTimeout       = 4 // EIP-7966: the receipt did not come within the timeout
)

// Error is a failed call: its kind, the JSON-RPC code and message, and
// for reverted calls the revert data.
type Error struct {
	Kind    Kind
	Message string
	Data    []byte
}

func (e *Error) Error() string { return e.Message }

// ErrorCode is the JSON-RPC error code (go-ethereum's rpc.Error).
func (e *Error) ErrorCode() int { return int(codeOf(e.Kind)) }

// Errorf builds an Error of a kind.
func Errorf(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

func codeOf(k Kind) int64 {
	switch k {
	case KindInvalidInput:
		return CodeInvalidParams
	case KindUnknownMethod:
		return CodeMethod
	case KindInternal:
		return CodeInternal
	case KindReverted:
		return CodeReverted
	case KindTimeout:
		return CodeTimeout
	}
	return CodeServer
}

// AsError turns any error into an *Error: an *Error stays itself, a call
// that does not decode is invalid input (or an unknown method), anything
// else is internal. What a node's ledger or executor said is classified by
// node/ledger's AsError, which knows their errors.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, ErrBadCall) {
		k := KindInvalidInput
		if errors.Is(err, errUnknownMethod) {
			k = KindUnknownMethod
		}
		return &Error{Kind: k, Message: err.Error()}
	}
	return &Error{Kind: KindInternal, Message: err.Error()}
}

// NoFinality is the message of the error a read at the finalized tag gets
// from a node that does not track finality (the sequencer); the JSON-RPC
// server may add where to ask.
const NoFinality = "this node does not track finality: ask a fullnode"
