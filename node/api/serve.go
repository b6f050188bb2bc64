package api

import (
	"errors"
	"strings"

	"github.com/ethereum/go-ethereum/core"
	"github.com/holiman/uint256"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/exec"
	"github.com/meganode/meganode/node/ledger"
)

// LedgerError turns a ledger error into the API's.
func LedgerError(err error) *Error {
	switch {
	case errors.Is(err, ledger.ErrSealMismatch):
		return Errorf(KindHalted, "node halted: %v", err)
	case errors.Is(err, ledger.ErrNotFound):
		return Errorf(KindNotFound, "%v", err)
	case errors.Is(err, ledger.ErrPruned):
		return Errorf(KindPruned, "%v", err)
	case errors.Is(err, ledger.ErrFuture):
		return Errorf(KindFuture, "%v", err)
	}
	return Errorf(KindUnavailable, "%v", err)
}

// Resolve finds the mini-block a tag names on a ledger.
// fin is nil on a node that does not track finality.
func Resolve(l *ledger.Ledger, fin *Finality, t Tag) (Height, *Error) {
	head, _ := l.Head()
	switch t.Kind {
	case TagFinalized:
		if fin == nil {
			return Height{}, Errorf(KindUnavailable, "this node does not track finality: ask a fullnode")
		}
		if fin.Block == 0 {
			return Height{}, nil
		}
		s, err := l.SealedBlock(fin.Block)
		if err != nil {
			return Height{}, LedgerError(err)
		}
		return Height{MiniBlock: s.Last, Block: fin.Block}, nil
	case TagLatest:
		return Height{MiniBlock: head.Number, Block: head.BlockNumber}, nil
	case TagSafe:
		s := l.Safe()
		return Height{MiniBlock: s.Last, Block: s.Header.Number.Uint64()}, nil
	case TagBlock:
		s, err := l.SealedBlock(t.Number)
		if err != nil {
			if errors.Is(err, ledger.ErrNotFound) && t.Number > l.Safe().Header.Number.Uint64() {
				return Height{}, Errorf(KindFuture, "block %d is not sealed yet (safe is %d)", t.Number, l.Safe().Header.Number)
			}
			return Height{}, LedgerError(err)
		}
		return Height{MiniBlock: s.Last, Block: t.Number}, nil
	case TagMiniBlock:
		if t.Number > head.Number {
			return Height{}, Errorf(KindFuture, "mini-block %d is not reached yet (head is %d)", t.Number, head.Number)
		}
		if t.Number == 0 {
			return Height{}, nil
		}
		mb, _, err := l.MiniBlock(t.Number)
		if err != nil {
			return Height{}, LedgerError(err)
		}
		return Height{MiniBlock: t.Number, Block: mb.Header.BlockNumber}, nil
	}
	return Height{}, Errorf(KindInvalidInput, "unknown block tag %v", t)
}

// ServeRead answers the calls every node serves the same way from its
// ledger: reads and calls at a tag, gas estimates, receipts and
// transactions, blocks by number and hash, logs, fee history, mini-blocks
// and the head. It returns nil for a method it does not serve (sending).
// fin is nil on a node that does not track finality.
func ServeRead(l *ledger.Ledger, ex *exec.Executor, fin *Finality, c *Call) *Answer {
	if err := l.Poisoned(); err != nil {
		return &Answer{Err: LedgerError(err)}
	}
	switch c.Method {
	case MethodHead:
		head, _ := l.Head()
		a := &Answer{At: Height{MiniBlock: head.Number, Block: head.BlockNumber}, Safe: l.Safe().Header.Number.Uint64()}
		if fin != nil {
			a.Finalized, a.Fault = fin.Block, fin.Fault
		}
		return a
	case MethodReceipt, MethodTx:
		r, mb, loc, err := l.Receipt(c.Hash)
		if err != nil {
			return &Answer{Err: LedgerError(err)}
		}
		raw, err := mb.Txs[loc.Index].MarshalBinary()
		if err != nil {
			return Failed(err)
		}
		return &Answer{Receipt: ToReceipt(l, r, mb, loc), Value: raw}
	case MethodBlock:
		return serveBlock(l, c.Number)
	case MethodBlockByHash:
		n, err := l.BlockNumber(c.Hash)
		if err != nil {
			return &Answer{Err: LedgerError(err)}
		}
		return serveBlock(l, n)
	case MethodLogs:
		return serveLogs(l, fin, c.Filter)
	case MethodFeeHistory:
		return serveFeeHistory(l, ex, fin, c)
	case MethodMiniBlock:
		_, raw, err := l.MiniBlock(c.Number)
		if err != nil {
			return &Answer{Err: LedgerError(err)}
		}
		return &Answer{MiniBlock: raw}
	}
	if !c.Method.IsRead() && c.Method != MethodEstimateGas {
		return nil
	}
	at, aerr := Resolve(l, fin, c.Tag)
	if aerr != nil {
		return &Answer{Err: aerr}
	}
	st, err := l.StateAt(at.MiniBlock)
	if err != nil {
		return &Answer{Err: LedgerError(err)}
	}
	a := &Answer{At: at}
	acct, _ := st.Account(c.Address)
	switch c.Method {
	case MethodBalance:
		v := acct.Balance.Bytes32()
		a.Value = v[:]
	case MethodNonce:
		a.Nonce = acct.Nonce
	case MethodCode:
		a.Value = st.Code(acct.CodeHash)
		if a.Value == nil {
			a.Value = []byte{}
		}
	case MethodStorage:
		v := st.Storage(c.Address, c.Key)
		a.Value = v[:]
	case MethodEstimateGas:
		gas, aerr := estimateGas(ex, st, callHeader(l, at), l.BlockHash, c)
		if aerr != nil {
			return &Answer{At: at, Err: aerr}
		}
		a.Gas = gas
	case MethodCall:
		value, verr := callValue(c)
		if verr != nil {
			return &Answer{At: at, Err: verr}
		}
		out, _, err := ex.Call(st, callHeader(l, at), l.BlockHash, c.From, callee(c), c.Data, c.Gas, value)
		if errors.Is(err, exec.ErrReverted) {
			return &Answer{At: at, Err: &Error{Kind: KindReverted, Message: "execution reverted", Data: out}}
		}
		if errors.Is(err, core.ErrInsufficientFunds) || errors.Is(err, core.ErrInsufficientFundsForTransfer) {
			return &Answer{At: at, Err: Errorf(KindInsufficientFunds, "%s", strings.TrimPrefix(err.Error(), "call: "))}
		}
		if err != nil {
			return &Answer{At: at, Err: Errorf(KindInvalidInput, "%v", err)}
		}
		a.Value = out
		if a.Value == nil {
			a.Value = []byte{}
		}
	}
	return a
}

// callHeader is the header a call at height at runs in: the newest sealed
// block's, numbered as the block of at, with the time of its mini-block.
func callHeader(l *ledger.Ledger, at Height) *types.Header {
	header := types.CopyHeader(l.Safe().Header)
	header.Number.SetUint64(at.Block)
	if mb, _, err := l.MiniBlock(at.MiniBlock); err == nil {
		header.Time = mb.Header.TimeMicros / 1_000_000
	}
	return header
}

// callee is the recipient of a call or estimate: nil for a creation.
func callee(c *Call) *common.Address {
	if c.Create {
		return nil
	}
	to := c.Address
	return &to
}

func serveBlock(l *ledger.Ledger, n uint64) *Answer {
	b, err := l.Block(n)
	if err != nil {
		return &Answer{Err: blockError(l, err, n)}
	}
	enc, err := chain.EncodeBlock(b)
	if err != nil {
		return Failed(err)
	}
	return &Answer{Block: enc, At: Height{Block: n}}
}

func blockError(l *ledger.Ledger, err error, n uint64) *Error {
	if errors.Is(err, ledger.ErrNotFound) && n > l.Safe().Header.Number.Uint64() {
		return Errorf(KindFuture, "block %d is not sealed yet", n)
	}
	return LedgerError(err)
}

// ToReceipt builds the API's receipt from a stored one.
func ToReceipt(l *ledger.Ledger, r *types.Receipt, mb *chain.MiniBlock, loc ledger.TxLoc) *Receipt {
	out := &Receipt{
		TxHash: r.TxHash, Status: r.Status, GasUsed: r.GasUsed, CumulativeGasUsed: r.CumulativeGasUsed,
		EffectiveGasPrice: r.EffectiveGasPrice, ContractAddress: r.ContractAddress, Logs: r.Logs,
		BlockNumber: mb.Header.BlockNumber, TxIndex: uint64(r.TransactionIndex), MiniBlock: loc.MiniBlock,
	}
	if out.Logs == nil {
		out.Logs = []*types.Log{}
	}
	if len(out.Logs) > 0 {
		out.LogIndex = uint64(out.Logs[0].Index)
	}
	if mb.Header.BlockNumber <= l.Safe().Header.Number.Uint64() {
		out.BlockHash = l.BlockHash(mb.Header.BlockNumber)
	}
	return out
}

// callValue is a call's value as the executor takes it: nil for none; a
// value above 256 bits is refused.
func callValue(c *Call) (*uint256.Int, *Error) {
	if c.Value == nil || c.Value.Sign() == 0 {
		return nil, nil
	}
	v, overflow := uint256.FromBig(c.Value)
	if overflow || c.Value.Sign() < 0 {
		return nil, Errorf(KindInvalidInput, "value %v out of range", c.Value)
	}
	return v, nil
}
