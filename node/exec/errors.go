package exec

import (
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/txpool"
	"github.com/ethereum/go-ethereum/core/types"
)

// Reason classifies why a transaction was refused.
type Reason uint8

// The reasons a transaction is refused. Each TxError also wraps
// go-ethereum's own error, so its message is the one geth gives and
// errors.Is(err, core.ErrNonceTooLow) and the like work.
const (
	ReasonInvalid           Reason = iota // any other consensus rule
	ReasonBadSignature                    // the signature does not recover a sender
	ReasonWrongChainID                    // signed for another chain
	ReasonNonceTooLow                     // nonce below the account's
	ReasonNonceTooHigh                    // nonce above the account's
	ReasonInsufficientFunds               // balance below gas * price + value
	ReasonIntrinsicGas                    // gas below the intrinsic (or floor data) cost
	ReasonGasLimit                        // gas above the block's limit or the per-transaction cap
	ReasonOversized                       // encoded size above the limit
	ReasonTxType                          // a type this chain does not accept (blob transactions)
	ReasonFee                             // fee cap below base fee, tip above fee cap, …
	ReasonSenderNotEOA                    // the sender has code (EIP-3607)
)

var reasonNames = [...]string{
	ReasonInvalid: "invalid", ReasonBadSignature: "bad signature", ReasonWrongChainID: "wrong chain id",
	ReasonNonceTooLow: "nonce too low", ReasonNonceTooHigh: "nonce too high",
	ReasonInsufficientFunds: "insufficient funds", ReasonIntrinsicGas: "intrinsic gas too low",
	ReasonGasLimit: "gas limit", ReasonOversized: "oversized", ReasonTxType: "transaction type not supported",
	ReasonFee: "fee", ReasonSenderNotEOA: "sender not an EOA",
}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", r)
}

// TxError is a refused transaction. The state is exactly as it was before.
type TxError struct {
	Reason Reason
	Err    error
}

func (e *TxError) Error() string { return e.Err.Error() }
func (e *TxError) Unwrap() error { return e.Err }

// classify wraps err, one of go-ethereum's transaction errors, in a TxError.
func classify(err error) *TxError {
	var te *TxError
	if errors.As(err, &te) {
		return te
	}
	r := ReasonInvalid
	switch {
	case errors.Is(err, types.ErrInvalidChainId):
		r = ReasonWrongChainID
	case errors.Is(err, txpool.ErrInvalidSender), errors.Is(err, types.ErrInvalidSig):
		r = ReasonBadSignature
	case errors.Is(err, core.ErrNonceTooLow):
		r = ReasonNonceTooLow
	case errors.Is(err, core.ErrNonceTooHigh), errors.Is(err, core.ErrNonceMax):
		r = ReasonNonceTooHigh
	case errors.Is(err, core.ErrInsufficientFunds), errors.Is(err, core.ErrInsufficientFundsForTransfer):
		r = ReasonInsufficientFunds
	case errors.Is(err, core.ErrIntrinsicGas), errors.Is(err, core.ErrFloorDataGas):
		r = ReasonIntrinsicGas
	case errors.Is(err, txpool.ErrGasLimit), errors.Is(err, core.ErrGasLimitReached), errors.Is(err, core.ErrGasLimitTooHigh),
		errors.Is(err, ErrBlobGasLimit):
		r = ReasonGasLimit
	case errors.Is(err, txpool.ErrOversizedData):
		r = ReasonOversized
	case errors.Is(err, core.ErrTxTypeNotSupported):
		r = ReasonTxType
	case errors.Is(err, core.ErrFeeCapTooLow), errors.Is(err, core.ErrTipAboveFeeCap), errors.Is(err, core.ErrFeeCapVeryHigh),
		errors.Is(err, core.ErrTipVeryHigh), errors.Is(err, core.ErrBlobFeeCapTooLow):
		r = ReasonFee
	case errors.Is(err, core.ErrSenderNoEOA):
		r = ReasonSenderNotEOA
	}
	return &TxError{Reason: r, Err: err}
}

// ErrBlobGasLimit is returned for a blob transaction that does not fit in
// what is left of the block's blob gas.
var ErrBlobGasLimit = errors.New("blob gas limit reached")
