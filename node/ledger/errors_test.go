package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/txpool"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/exec"
	"github.com/meganode/meganode/node/ledger"
)

// The executor's refusals reach clients classified by their reason, with
// go-ethereum's message.
func TestAsErrorClassifiesTransactionErrors(t *testing.T) {
	cases := []struct {
		reason exec.Reason
		geth   error
		want   api.Kind
	}{
		{exec.ReasonBadSignature, txpool.ErrInvalidSender, api.KindBadSignature},
		{exec.ReasonWrongChainID, types.ErrInvalidChainId, api.KindWrongChainID},
		{exec.ReasonNonceTooLow, core.ErrNonceTooLow, api.KindNonceTooLow},
		{exec.ReasonNonceTooHigh, core.ErrNonceTooHigh, api.KindNonceGap},
		{exec.ReasonInsufficientFunds, core.ErrInsufficientFunds, api.KindInsufficientFunds},
		{exec.ReasonIntrinsicGas, core.ErrIntrinsicGas, api.KindIntrinsicGas},
		{exec.ReasonGasLimit, core.ErrGasLimitReached, api.KindGasLimit},
		{exec.ReasonOversized, txpool.ErrOversizedData, api.KindOversized},
		{exec.ReasonTxType, core.ErrTxTypeNotSupported, api.KindTxType},
		{exec.ReasonFee, core.ErrFeeCapTooLow, api.KindFee},
		{exec.ReasonSenderNotEOA, core.ErrSenderNoEOA, api.KindInvalidTx},
		{exec.ReasonInvalid, errors.New("some other rule"), api.KindInvalidTx},
	}
	for _, c := range cases {
		t.Run(c.reason.String(), func(t *testing.T) {
			// As the executor returns it, and wrapped by a caller on the way.
			te := &exec.TxError{Reason: c.reason, Err: fmt.Errorf("%w: address 0x01", c.geth)}
			for _, err := range []error{te, fmt.Errorf("send: %w", te)} {
				e := ledger.AsError(err)
				if e.Kind != c.want {
					t.Fatalf("%v: kind %v, want %v", err, e.Kind, c.want)
				}
				if e.Message != err.Error() || !strings.Contains(e.Message, c.geth.Error()) {
					t.Fatalf("message %q does not carry %q", e.Message, c.geth)
				}
				if e.ErrorCode() != api.CodeServer {
					t.Fatalf("code %d, want %d", e.ErrorCode(), api.CodeServer)
				}
			}
		})
	}
}

// The ledger's own errors and a call's end get their kinds too.
func TestAsErrorLedgerErrors(t *testing.T) {
	for _, c := range []struct {
		err  error
		want api.Kind
	}{
		{fmt.Errorf("%w: block 9", ledger.ErrNotFound), api.KindNotFound},
		{fmt.Errorf("%w: mini-block 3", ledger.ErrPruned), api.KindPruned},
		{fmt.Errorf("%w: mini-block 300", ledger.ErrFuture), api.KindFuture},
		{fmt.Errorf("%w: root", ledger.ErrSealMismatch), api.KindHalted},
		{ledger.ErrStarting, api.KindUnavailable},
		{context.DeadlineExceeded, api.KindTimeout},
		{context.Canceled, api.KindUnavailable},
		{errors.New("disk on fire"), api.KindUnavailable},
		{api.Errorf(api.KindReverted, "x"), api.KindReverted},
	} {
		if got := ledger.AsError(c.err); got.Kind != c.want {
			t.Errorf("%v: %v, want %v", c.err, got.Kind, c.want)
		}
	}
}
