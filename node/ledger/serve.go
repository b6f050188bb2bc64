package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/holiman/uint256"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/exec"
)

// The read engine: every client call but a send, answered from a view,
// off the owner's step.

// AsError turns an error of the ledger or of the executor into the API's:
// the ledger's by what went wrong, a transaction's refusal by its reason
// (node/exec), anything else as api.AsError does.
func AsError(err error) *api.Error {
	var e *api.Error
	var te *exec.TxError
	switch {
	case errors.As(err, &e):
		return e
	case errors.As(err, &te):
		return &api.Error{Kind: txKind(te.Reason), Message: err.Error()}
	case errors.Is(err, ErrSealMismatch):
		return api.Errorf(api.KindHalted, "node halted: %v", err)
	case errors.Is(err, ErrNotFound):
		return api.Errorf(api.KindNotFound, "%v", err)
	case errors.Is(err, ErrPruned):
		return api.Errorf(api.KindPruned, "%v", err)
	case errors.Is(err, ErrFuture):
		return api.Errorf(api.KindFuture, "%v", err)
	case errors.Is(err, ErrCorrupt), errors.Is(err, ErrStarting):
		return api.Errorf(api.KindUnavailable, "%v", err)
	case errors.Is(err, context.DeadlineExceeded):
		return api.Errorf(api.KindTimeout, "execution aborted: the call's deadline passed")
	case errors.Is(err, context.Canceled):
		return api.Errorf(api.KindUnavailable, "execution aborted: the client went away")
	}
	if a := api.AsError(err); a.Kind != api.KindInternal {
		return a
	}
	return api.Errorf(api.KindUnavailable, "%v", err)
}

// txKind is the API's kind of a transaction refused for reason.
func txKind(r exec.Reason) api.Kind {
	switch r {
	case exec.ReasonBadSignature:
		return api.KindBadSignature
	case exec.ReasonWrongChainID:
		return api.KindWrongChainID
	case exec.ReasonNonceTooLow:
		return api.KindNonceTooLow
	case exec.ReasonNonceTooHigh:
		return api.KindNonceGap
	case exec.ReasonInsufficientFunds:
		return api.KindInsufficientFunds
	case exec.ReasonIntrinsicGas:
		return api.KindIntrinsicGas
	case exec.ReasonGasLimit:
		return api.KindGasLimit
	case exec.ReasonOversized:
		return api.KindOversized
	case exec.ReasonTxType:
		return api.KindTxType
	case exec.ReasonFee:
		return api.KindFee
	}
	return api.KindInvalidTx
}

// Failed is an answer carrying err, classified by AsError.
func Failed(err error) *api.Answer { return &api.Answer{Err: AsError(err)} }

// Resolve finds the mini-block a tag names in the view.
func (v *View) Resolve(t api.Tag) (api.Height, *api.Error) {
	switch t.Kind {
	case api.TagFinalized:
		if !v.fin.Tracked {
			return api.Height{}, &api.Error{Kind: api.KindUnavailable, Message: api.NoFinality}
		}
		if v.fin.Block == 0 {
			return api.Height{}, nil
		}
		s, err := v.SealedBlock(v.fin.Block)
		if err != nil {
			return api.Height{}, AsError(err)
		}
		return api.Height{MiniBlock: s.Last, Block: v.fin.Block}, nil
	case api.TagLatest, api.TagSafe:
		// The newest sealed block: what eth_getBlockByNumber("latest")
		// describes, whose receipts are out.
		return api.Height{MiniBlock: v.safe.Last, Block: v.safe.Header.Number.Uint64()}, nil
	case api.TagPending:
		// The newest mini-block: the open block's transactions executed,
		// their receipts not out yet, as go-ethereum's pending block.
		return api.Height{MiniBlock: v.head.Number, Block: v.head.BlockNumber}, nil
	case api.TagBlock:
		s, err := v.SealedBlock(t.Number)
		if err != nil {
			if errors.Is(err, ErrNotFound) && t.Number > v.safe.Header.Number.Uint64() {
				return api.Height{}, api.Errorf(api.KindFuture, "block %d is not sealed yet (safe is %d)", t.Number, v.safe.Header.Number)
			}
			return api.Height{}, AsError(err)
		}
		return api.Height{MiniBlock: s.Last, Block: t.Number}, nil
	case api.TagMiniBlock:
		if t.Number > v.head.Number {
			return api.Height{}, api.Errorf(api.KindFuture, "mini-block %d is not reached yet (head is %d)", t.Number, v.head.Number)
		}
		if t.Number == 0 {
			return api.Height{}, nil
		}
		mb, _, err := v.MiniBlock(t.Number)
		if err != nil {
			return api.Height{}, AsError(err)
		}
		return api.Height{MiniBlock: t.Number, Block: mb.Header.BlockNumber}, nil
	}
	return api.Height{}, api.Errorf(api.KindInvalidInput, "unknown block tag %v", t)
}

// Serve answers the calls every node serves the same way from its view:
// reads and calls at a tag, gas estimates, receipts and transactions,
// blocks by number and hash, logs, fee history, traces (trace.go),
// mini-blocks and the head. It returns nil for a method it does not serve
// (a send). It runs off the owner's step, concurrently with it and with
// other calls; ctx ends a long EVM call (eth_call, eth_estimateGas, a
// trace) with an error.
func (v *View) Serve(ctx context.Context, ex *exec.Executor, c *api.Call) *api.Answer {
	if v.poisoned != nil {
		return &api.Answer{Err: AsError(v.poisoned)}
	}
	switch c.Method {
	case api.MethodSendTx, api.MethodSendTxSync:
		return nil
	case api.MethodHead:
		a := &api.Answer{At: api.Height{MiniBlock: v.head.Number, Block: v.head.BlockNumber}, Safe: v.safe.Header.Number.Uint64()}
		a.Finalized, a.Fault = v.fin.Block, v.fin.Fault
		return a
	case api.MethodReceipt, api.MethodTx:
		r, mb, loc, err := v.Receipt(c.Hash)
		if err != nil {
			return Failed(err)
		}
		tx := mb.Txs[loc.Index]
		raw, err := tx.MarshalBinary()
		if err != nil {
			return Failed(err)
		}
		return &api.Answer{Receipt: v.ToReceipt(r, mb, loc), Value: raw}
	case api.MethodBlock:
		return v.serveBlock(c.Number)
	case api.MethodBlockByHash:
		n, err := v.BlockNumber(c.Hash)
		if err != nil {
			return Failed(err)
		}
		return v.serveBlock(n)
	case api.MethodLogs:
		return v.serveLogs(c.Filter)
	case api.MethodFeeHistory:
		return v.serveFeeHistory(ex, c)
	case api.MethodProof:
		return v.serveProof(c)
	case api.MethodWitness:
		if n := c.Number; n == 0 || n > v.safe.Header.Number.Uint64() {
			return &api.Answer{Err: api.Errorf(api.KindNotFound, "block %d is not a sealed block after genesis", n)}
		}
		w, err := v.l.Witness(c.Number)
		if errors.Is(err, ErrNotFound) {
			return &api.Answer{Err: api.Errorf(api.KindNotFound, "witness of block %d not kept here: the sequencer keeps those DA has not taken, and %d blocks more; DA keeps them all", c.Number, WitnessRetain)}
		}
		if err != nil {
			return Failed(err)
		}
		return &api.Answer{Value: w}
	case api.MethodAttestations:
		return &api.Answer{Err: &api.Error{Kind: api.KindUnavailable, Message: api.NoFinality}}
	case api.MethodPool:
		return &api.Answer{} // a node without a pool (the sequencer serves its own)
	case api.MethodTraceTx:
		return v.serveTraceTx(ctx, ex, c) // trace.go
	case api.MethodTraceBlock:
		return v.serveTraceBlock(ctx, ex, c)
	case api.MethodTraceCall:
		return v.serveTraceCall(ctx, ex, c)
	case api.MethodAccessList:
		return v.serveAccessList(ctx, ex, c) // override.go
	case api.MethodSimulate:
		return v.serveSimulate(ctx, ex, c) // simulate.go
	case api.MethodMiniBlock:
		_, raw, err := v.MiniBlock(c.Number)
		if err != nil {
			return Failed(err)
		}
		return &api.Answer{MiniBlock: raw}
	}
	if !c.Method.IsRead() && c.Method != api.MethodEstimateGas {
		return &api.Answer{Err: api.Errorf(api.KindUnknownMethod, "method %v not served", c.Method)}
	}
	at, aerr := v.Resolve(c.Tag)
	if aerr != nil {
		return &api.Answer{Err: aerr}
	}
	st, err := v.StateAt(at.MiniBlock)
	if err != nil {
		return Failed(err)
	}
	a := &api.Answer{At: at}
	acct, _ := st.Account(c.Address)
	switch c.Method {
	case api.MethodBalance:
		b := acct.Balance.Bytes32()
		a.Value = b[:]
	case api.MethodNonce:
		a.Nonce = acct.Nonce
	case api.MethodCode:
		a.Value = st.Code(acct.CodeHash)
		if a.Value == nil {
			a.Value = []byte{}
		}
	case api.MethodStorage:
		s := st.Storage(c.Address, c.Key)
		a.Value = s[:]
	case api.MethodEstimateGas:
		rd, header, aerr := v.overridden(ex, st, at, c, true) // override.go
		if aerr != nil {
			return &api.Answer{At: at, Err: aerr}
		}
		gas, aerr := estimateGas(ctx, ex, rd, header, v.BlockHash, c)
		if aerr != nil {
			return &api.Answer{At: at, Err: aerr}
		}
		a.Gas = gas
	case api.MethodCall:
		value, verr := callValue(c)
		if verr != nil {
			return &api.Answer{At: at, Err: verr}
		}
		rd, header, aerr := v.overridden(ex, st, at, c, true) // override.go
		if aerr != nil {
			return &api.Answer{At: at, Err: aerr}
		}
		out, _, err := ex.Call(ctx, rd, header, v.BlockHash, c.From, callee(c), c.Data, c.Gas, value)
		switch {
		case ctx.Err() != nil:
			return &api.Answer{At: at, Err: AsError(ctx.Err())}
		case errors.Is(err, exec.ErrReverted):
			return &api.Answer{At: at, Err: &api.Error{Kind: api.KindReverted, Message: "execution reverted", Data: out}}
		case errors.Is(err, core.ErrInsufficientFunds), errors.Is(err, core.ErrInsufficientFundsForTransfer):
			return &api.Answer{At: at, Err: api.Errorf(api.KindInsufficientFunds, "%s", strings.TrimPrefix(err.Error(), "call: "))}
		case err != nil:
			return &api.Answer{At: at, Err: api.Errorf(api.KindInvalidInput, "%v", err)}
		}
		a.Value = out
		if a.Value == nil {
			a.Value = []byte{}
		}
	}
	if err := st.Err(); err != nil {
		// The height left the history's window while the call read it: its
		// answer may be wrong.
		return &api.Answer{At: at, Err: AsError(fmt.Errorf("%w: %v", ErrPruned, err))}
	}
	return a
}

// callHeader is the header a call at height at runs in: the newest sealed
// block's, numbered as the block of at, with the time of its mini-block.
func (v *View) callHeader(at api.Height) *types.Header {
	header := types.CopyHeader(v.safe.Header)
	header.Number.SetUint64(at.Block)
	if mb, _, err := v.MiniBlock(at.MiniBlock); err == nil {
		header.Time = mb.Header.TimeMicros / 1_000_000
	}
	return header
}

// callee is the recipient of a call or estimate: nil for a creation.
func callee(c *api.Call) *common.Address {
	if c.Create {
		return nil
	}
	to := c.Address
	return &to
}

func (v *View) serveBlock(n uint64) *api.Answer {
	b, err := v.Block(n)
	if err != nil {
		if errors.Is(err, ErrNotFound) && n > v.safe.Header.Number.Uint64() {
			return &api.Answer{Err: api.Errorf(api.KindFuture, "block %d is not sealed yet", n)}
		}
		return Failed(err)
	}
	enc, err := chain.EncodeBlock(b)
	if err != nil {
		return Failed(err)
	}
	return &api.Answer{Block: enc, At: api.Height{Block: n}, Senders: v.l.senders(b.Transactions())}
}

// senders are the transactions' senders, recovered once: a transaction
// the ledger holds keeps its sender once known (go-ethereum caches it in
// the transaction, and the sequencer's were recovered at admission).
func (l *Ledger) senders(txs []*types.Transaction) []common.Address {
	if len(txs) == 0 {
		return nil
	}
	out := make([]common.Address, len(txs))
	for i, tx := range txs {
		out[i] = l.sender(tx)
	}
	return out
}

// sender is a transaction's sender (zero for one that does not recover,
// which a ledger never holds).
func (l *Ledger) sender(tx *types.Transaction) common.Address {
	from, _ := types.Sender(l.signer, tx)
	return from
}

// ToReceipt builds the API's receipt from a stored one.
func (v *View) ToReceipt(r *types.Receipt, mb *chain.MiniBlock, loc TxLoc) *api.Receipt {
	out := &api.Receipt{
		TxHash: r.TxHash, Status: r.Status, GasUsed: r.GasUsed, CumulativeGasUsed: r.CumulativeGasUsed,
		EffectiveGasPrice: r.EffectiveGasPrice, ContractAddress: r.ContractAddress, Logs: r.Logs,
		BlockNumber: mb.Header.BlockNumber, TxIndex: uint64(r.TransactionIndex), MiniBlock: loc.MiniBlock,
		From: v.l.sender(mb.Txs[loc.Index]),
	}
	if out.Logs == nil {
		out.Logs = []*types.Log{}
	}
	if len(out.Logs) > 0 {
		out.LogIndex = uint64(out.Logs[0].Index)
	}
	if s, err := v.SealedBlock(mb.Header.BlockNumber); err == nil && mb.Header.BlockNumber > 0 {
		out.BlockHash = s.Header.Hash()
		// The ledger's receipts are shared and carry no block hash: the
		// logs go out as copies that do.
		logs := make([]*types.Log, len(out.Logs))
		for i, lg := range out.Logs {
			cp := *lg
			cp.BlockHash, cp.BlockTimestamp = out.BlockHash, s.Header.Time
			logs[i] = &cp
		}
		out.Logs = logs
	}
	return out
}

// callValue is a call's value as the executor takes it: nil for none; a
// value above 256 bits is refused.
func callValue(c *api.Call) (*uint256.Int, *api.Error) {
	if c.Value == nil || c.Value.Sign() == 0 {
		return nil, nil
	}
	val, overflow := uint256.FromBig(c.Value)
	if overflow || c.Value.Sign() < 0 {
		return nil, api.Errorf(api.KindInvalidInput, "value %v out of range", c.Value)
	}
	return val, nil
}
