package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/consensus/misc/eip1559"
	"github.com/ethereum/go-ethereum/consensus/misc/eip4844"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/tracers"
	"github.com/ethereum/go-ethereum/params"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/exec"
	"github.com/meganode/meganode/node/state"
)

// Traces: go-ethereum's debug_traceTransaction, debug_traceBlockByNumber
// and ByHash, and debug_traceCall, answered with go-ethereum's JSON in
// Answer.Value.
//
// A transaction is traced on the state it ran on, rebuilt: the state
// after the mini-block before its own (StateAt), then the transactions of
// its mini-block before it, re-executed untraced, in the block it belongs
// to as the sequencer executed it (the block's start, its system calls,
// when the mini-block is the block's first; the block resumed after the
// gas, transactions and logs of its earlier mini-blocks otherwise). A
// block is traced from the state before its first mini-block, all its
// transactions in order. Each traced execution is checked against the
// receipt the chain holds: a trace that does not reproduce it is refused,
// never served.

// serveTraceTx answers debug_traceTransaction.
func (v *View) serveTraceTx(ctx context.Context, ex *exec.Executor, c *api.Call) *api.Answer {
	cfg, aerr := traceConfig(c.Trace, false)
	if aerr != nil {
		return &api.Answer{Err: aerr}
	}
	r, mb, loc, err := v.Receipt(c.Hash)
	if err != nil {
		return Failed(err)
	}
	at := api.Height{MiniBlock: loc.MiniBlock, Block: mb.Header.BlockNumber}
	start, aerr := v.traceStart(ex, mb)
	if aerr != nil {
		return &api.Answer{At: at, Err: aerr}
	}
	st, err := v.StateAt(mb.Header.Number - 1)
	if err != nil {
		return &api.Answer{At: at, Err: AsError(err)}
	}
	traces, err := ex.TraceTxs(ctx, st, start, mb.Txs[:loc.Index+1], int(loc.Index), cfg)
	if aerr := traceChecked(st, err, traces, []*types.Receipt{r}); aerr != nil {
		return &api.Answer{At: at, Err: aerr}
	}
	return &api.Answer{At: at, Value: traces[0].Result}
}

// blockTrace is one transaction's entry in a block's trace, as
// go-ethereum's txTraceResult.
type blockTrace struct {
	TxHash common.Hash     `json:"txHash"`
	Result json.RawMessage `json:"result,omitempty"`
}

// serveTraceBlock answers debug_traceBlockByNumber (c.Number) and
// debug_traceBlockByHash (c.Hash, when set): a sealed block only.
func (v *View) serveTraceBlock(ctx context.Context, ex *exec.Executor, c *api.Call) *api.Answer {
	cfg, aerr := traceConfig(c.Trace, false)
	if aerr != nil {
		return &api.Answer{Err: aerr}
	}
	n := c.Number
	if c.Hash != (common.Hash{}) {
		var err error
		if n, err = v.BlockNumber(c.Hash); err != nil {
			if errors.Is(err, ErrNotFound) {
				return &api.Answer{Err: api.Errorf(api.KindNotFound, "block %s not found", c.Hash.Hex())}
			}
			return Failed(err)
		}
	}
	if n == 0 {
		return &api.Answer{Err: api.Errorf(api.KindInvalidInput, "genesis is not traceable")}
	}
	s, err := v.SealedBlock(n)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return &api.Answer{Err: api.Errorf(api.KindNotFound, "block #%d not found", n)}
		}
		return Failed(err)
	}
	at := api.Height{MiniBlock: s.Last, Block: n}
	var txs []*types.Transaction
	var receipts []*types.Receipt
	for m := s.First; m <= s.Last; m++ {
		mb, _, err := v.MiniBlock(m)
		if err != nil {
			return &api.Answer{At: at, Err: AsError(err)}
		}
		txs, receipts = append(txs, mb.Txs...), append(receipts, mb.Receipts...)
	}
	st, err := v.StateAt(s.First - 1)
	if err != nil {
		return &api.Answer{At: at, Err: AsError(err)}
	}
	start := exec.TraceStart{Header: s.Header, GetHash: v.BlockHash, BlockHash: s.Header.Hash(), Begin: true}
	traces, err := ex.TraceTxs(ctx, st, start, txs, 0, cfg)
	if aerr := traceChecked(st, err, traces, receipts); aerr != nil {
		return &api.Answer{At: at, Err: aerr}
	}
	out := make([]blockTrace, len(traces))
	for i, t := range traces {
		out[i] = blockTrace{TxHash: t.TxHash, Result: t.Result}
	}
	enc, err := json.Marshal(out)
	if err != nil {
		return &api.Answer{At: at, Err: api.Errorf(api.KindInternal, "encoding block %d's traces: %v", n, err)}
	}
	return &api.Answer{At: at, Value: enc}
}

// serveTraceCall answers debug_traceCall: the call eth_call would run at
// c.Tag, traced.
func (v *View) serveTraceCall(ctx context.Context, ex *exec.Executor, c *api.Call) *api.Answer {
	cfg, aerr := traceConfig(c.Trace, true)
	if aerr != nil {
		return &api.Answer{Err: aerr}
	}
	at, value, st, failed := v.callAt(c)
	if failed != nil {
		return failed
	}
	rd, header, aerr := v.traceCallOverridden(ex, c.Trace, st, at) // override.go
	if aerr != nil {
		return &api.Answer{At: at, Err: aerr}
	}
	res, err := ex.TraceCall(ctx, rd, header, v.BlockHash, c.From, callee(c), c.Data, c.Gas, value, cfg)
	if aerr := traceChecked(st, err, nil, nil); aerr != nil {
		return &api.Answer{At: at, Err: aerr}
	}
	return &api.Answer{At: at, Value: res}
}

// traceStart is where the transactions of mini-block mb start: right after
// mini-block mb-1, in mb's block.
func (v *View) traceStart(ex *exec.Executor, mb *chain.MiniBlock) (exec.TraceStart, *api.Error) {
	header, hash, aerr := v.traceHeader(ex, mb.Header.BlockNumber)
	if aerr != nil {
		return exec.TraceStart{}, aerr
	}
	start := exec.TraceStart{Header: header, GetHash: v.BlockHash, BlockHash: hash}
	if mb.Header.Index == 0 {
		start.Begin = true
		return start, nil
	}
	if len(mb.Receipts) == 0 {
		return exec.TraceStart{}, api.Errorf(api.KindInternal, "mini-block %d holds no receipts", mb.Header.Number)
	}
	r := mb.Receipts[0]
	start.GasUsed = r.CumulativeGasUsed - r.GasUsed
	start.Txs, start.Logs = int(mb.Header.TxOffset), int(mb.Header.LogOffset)
	return start, nil
}

// traceHeader is block n's header as the sequencer executed it, with its
// hash: a sealed block's own; for the open block, the header the
// sequencer derives from its parent and the time of its first mini-block
// (openHeader), and the zero hash.
func (v *View) traceHeader(ex *exec.Executor, n uint64) (*types.Header, common.Hash, *api.Error) {
	if n <= v.safe.Header.Number.Uint64() {
		s, err := v.SealedBlock(n)
		if err != nil {
			return nil, common.Hash{}, AsError(err)
		}
		return s.Header, s.Header.Hash(), nil
	}
	if len(v.open) == 0 || v.open[0].Header.BlockNumber != n {
		return nil, common.Hash{}, api.Errorf(api.KindNotFound, "block #%d not found", n)
	}
	return openHeader(ex.Config().Chain, v.safe.Header, v.open[0].Header.TimeMicros), common.Hash{}, nil
}

// openHeader is the header of the block after parent whose first
// mini-block is at firstMicros, as the sequencer derives it, but for the
// coinbase, which the chain does not carry before the block seals: the
// parent's (the sequencer's coinbase is a setting, the same for every
// block; the genesis block's may differ).
func openHeader(cc *params.ChainConfig, parent *types.Header, firstMicros uint64) *types.Header {
	return NextHeader(cc, parent, firstMicros, parent.Coinbase)
}

// NextHeader derives the header of the block after parent, opened at
// firstMicros (the time of its first mini-block), paying coinbase: the
// sequencer opens each block with it, and a trace of the open block
// rebuilds it.
func NextHeader(cc *params.ChainConfig, parent *types.Header, firstMicros uint64, coinbase common.Address) *types.Header {
	// Blocks seal as fast as every mini-block, so several share a second:
	// a block's time is its first mini-block's second, never before its
	// parent's.
	t := max(parent.Time, firstMicros/1_000_000)
	h := &types.Header{
		ParentHash: parent.Hash(), UncleHash: types.EmptyUncleHash, Coinbase: coinbase,
		Number: new(big.Int).Add(parent.Number, common.Big1), GasLimit: parent.GasLimit, Time: t,
		Difficulty: new(big.Int), MixDigest: crypto.Keccak256Hash(parent.Hash().Bytes()),
		BaseFee: eip1559.CalcBaseFee(cc, parent),
	}
	if cc.IsShanghai(h.Number, t) {
		h.WithdrawalsHash = &types.EmptyWithdrawalsHash
	}
	if cc.IsCancun(h.Number, t) {
		zero, excess := common.Hash{}, eip4844.CalcExcessBlobGas(cc, parent, t)
		var used uint64
		h.ExcessBlobGas, h.BlobGasUsed, h.ParentBeaconRoot = &excess, &used, &zero
	}
	return h
}

// traceChecked is a trace's error, if any: the executor's, a traced
// execution that does not reproduce the chain's receipt, or the state
// leaving the history's window while the trace read it.
func traceChecked(st *state.View, err error, traces []exec.TxTrace, receipts []*types.Receipt) *api.Error {
	if err != nil {
		return traceError(err)
	}
	if receipts != nil && len(traces) != len(receipts) {
		return api.Errorf(api.KindInternal, "traced %d transactions, the chain holds %d receipts", len(traces), len(receipts))
	}
	for i, r := range receipts {
		got := traces[i].Receipt
		if got == nil || got.TxHash != r.TxHash || got.GasUsed != r.GasUsed || got.CumulativeGasUsed != r.CumulativeGasUsed || got.Status != r.Status {
			return api.Errorf(api.KindInternal, "%v: transaction %v: traced execution does not reproduce its receipt (gas used %d, receipt %d)",
				exec.ErrDiverged, r.TxHash, gasOf(got), r.GasUsed)
		}
	}
	if err := st.Err(); err != nil {
		return AsError(fmt.Errorf("%w: %v", ErrPruned, err))
	}
	return nil
}

func gasOf(r *types.Receipt) uint64 {
	if r == nil {
		return 0
	}
	return r.GasUsed
}

// traceError classifies a trace's failure: a timeout is go-ethereum's
// "execution timeout", a tracer that cannot be built invalid input, a
// re-execution that diverged an internal error; the rest as AsError does.
func traceError(err error) *api.Error {
	var te *exec.TracerError
	switch {
	case errors.Is(err, exec.ErrTraceTimeout), errors.Is(err, context.DeadlineExceeded):
		return api.Errorf(api.KindTimeout, "%v", exec.ErrTraceTimeout)
	case errors.As(err, &te):
		return api.Errorf(api.KindInvalidInput, "%v", err)
	case errors.Is(err, exec.ErrDiverged):
		return api.Errorf(api.KindInternal, "%v", err)
	}
	return AsError(err)
}

// traceConfig decodes a trace's configuration: go-ethereum's TraceConfig,
// or a traced call's TraceCallConfig, whose transaction index is not
// supported (its overrides: traceCallOverridden); nil for none.
func traceConfig(raw []byte, call bool) (*tracers.TraceConfig, *api.Error) {
	if len(raw) == 0 {
		return nil, nil
	}
	if !call {
		cfg := new(tracers.TraceConfig)
		if err := json.Unmarshal(raw, cfg); err != nil {
			return nil, api.Errorf(api.KindInvalidInput, "invalid trace configuration: %v", err)
		}
		return cfg, nil
	}
	cfg := new(tracers.TraceCallConfig)
	if err := json.Unmarshal(raw, cfg); err != nil {
		return nil, api.Errorf(api.KindInvalidInput, "invalid trace configuration: %v", err)
	}
	if err := exec.CheckTraceCallConfig(cfg); err != nil {
		return nil, api.Errorf(api.KindInvalidInput, "%v", err)
	}
	return &cfg.TraceConfig, nil
}
