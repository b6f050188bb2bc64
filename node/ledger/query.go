package ledger

import (
	"context"
	"errors"
	"math/big"
	"math/bits"
	"slices"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/consensus/misc/eip1559"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/params"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/exec"
	"github.com/meganode/meganode/node/state"
)

// The queries that span blocks (logs, fee history) and gas estimation.

// filterBlock resolves one end of a log filter to a block number.
func (v *View) filterBlock(t api.Tag) (uint64, *api.Error) {
	switch t.Kind {
	case api.TagLatest, api.TagSafe, api.TagPending:
		// Logs are those of sealed blocks: a pending block's logs have no
		// block hash to carry.
		return v.safe.Header.Number.Uint64(), nil
	case api.TagFinalized:
		if !v.fin.Tracked {
			return 0, &api.Error{Kind: api.KindUnavailable, Message: api.NoFinality}
		}
		return v.fin.Block, nil
	case api.TagBlock:
		return t.Number, nil
	}
	return 0, api.Errorf(api.KindInvalidInput, "a log filter takes block numbers and tags, not %v", t)
}

// serveLogs answers eth_getLogs: the logs of the sealed blocks in the
// range, each with its block's hash and time (the open block's logs show
// in the miniBlocks and stateChanges streams, not here). A sealed block
// whose bloom excludes the filter is skipped without reading its
// mini-blocks.
func (v *View) serveLogs(f *api.LogFilter) *api.Answer {
	if f == nil {
		f = &api.LogFilter{}
	}
	if len(f.Topics) > api.MaxLogTopics {
		return &api.Answer{Err: api.Errorf(api.KindInvalidInput, "exceed max topics")}
	}
	if len(f.Addresses) > api.MaxLogAddresses || slices.ContainsFunc(f.Topics, func(t []common.Hash) bool { return len(t) > api.MaxLogAddresses }) {
		return &api.Answer{Err: api.Errorf(api.KindInvalidInput, "exceed max addresses or topics per search position")}
	}
	safe := v.safe.Header.Number.Uint64()
	var from, to uint64
	if f.BlockHash != (common.Hash{}) {
		n, err := v.BlockNumber(f.BlockHash)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return &api.Answer{Err: api.Errorf(api.KindNotFound, "unknown block")}
			}
			return Failed(err)
		}
		from, to = n, n
	} else {
		var aerr *api.Error
		if from, aerr = v.filterBlock(f.From); aerr != nil {
			return &api.Answer{Err: aerr}
		}
		if to, aerr = v.filterBlock(f.To); aerr != nil {
			return &api.Answer{Err: aerr}
		}
		if from > to {
			return &api.Answer{Err: api.Errorf(api.KindInvalidInput, "invalid block range params")}
		}
		if to-from > api.MaxLogBlocks {
			return &api.Answer{Err: api.Errorf(api.KindInvalidInput, "exceed maximum block range %d", api.MaxLogBlocks)}
		}
		if to > safe {
			return &api.Answer{Err: api.Errorf(api.KindInvalidInput, "block range extends beyond current head block")}
		}
	}
	var out api.Logs
	add := func(mbs []*chain.MiniBlock, hash common.Hash, time uint64) *api.Error {
		for _, mb := range mbs {
			for _, r := range mb.Receipts {
				for _, lg := range r.Logs {
					if !matchLog(lg, f) {
						continue
					}
					if len(out) == api.MaxLogs {
						return api.Errorf(api.KindInvalidInput, "query returned more than %d results", api.MaxLogs)
					}
					cp := *lg // the ledger's receipts are shared: never change them
					cp.BlockHash, cp.BlockTimestamp = hash, time
					out = append(out, &cp)
				}
			}
		}
		return nil
	}
	for n := max(from, 1); n <= to; n++ { // the genesis block has no logs
		s, err := v.SealedBlock(n)
		if err != nil {
			return Failed(err)
		}
		if !bloomMatch(s.Header.Bloom, f) {
			continue
		}
		mbs := make([]*chain.MiniBlock, 0, s.Last-s.First+1)
		for m := s.First; m <= s.Last; m++ {
			mb, _, err := v.MiniBlock(m)
			if err != nil {
				return Failed(err)
			}
			mbs = append(mbs, mb)
		}
		if aerr := add(mbs, s.Header.Hash(), s.Header.Time); aerr != nil {
			return &api.Answer{Err: aerr}
		}
	}
	return &api.Answer{Logs: out, At: api.Height{MiniBlock: v.safe.Last, Block: safe}}
}

// matchLog reports whether a log passes a filter's addresses and topics,
// as go-ethereum's filterLogs does.
func matchLog(lg *types.Log, f *api.LogFilter) bool {
	if len(f.Addresses) > 0 && !slices.Contains(f.Addresses, lg.Address) {
		return false
	}
	if len(f.Topics) > len(lg.Topics) {
		return false
	}
	for i, sub := range f.Topics {
		if len(sub) > 0 && !slices.Contains(sub, lg.Topics[i]) {
			return false
		}
	}
	return true
}

// bloomMatch reports whether a block's bloom may hold logs the filter
// selects.
func bloomMatch(b types.Bloom, f *api.LogFilter) bool {
	if len(f.Addresses) > 0 && !slices.ContainsFunc(f.Addresses, func(a common.Address) bool { return types.BloomLookup(b, a) }) {
		return false
	}
	for _, sub := range f.Topics {
		if len(sub) > 0 && !slices.ContainsFunc(sub, func(t common.Hash) bool { return types.BloomLookup(b, t) }) {
			return false
		}
	}
	return true
}

// serveFeeHistory answers eth_feeHistory over sealed blocks, newest at the
// call's tag (latest and safe: the newest sealed block).
func (v *View) serveFeeHistory(ex *exec.Executor, c *api.Call) *api.Answer {
	ps := c.Percentiles
	if len(ps) > api.MaxPercentiles {
		return &api.Answer{Err: api.Errorf(api.KindInvalidInput, "invalid reward percentile: over the query limit %d", api.MaxPercentiles)}
	}
	for i, p := range ps {
		if p > 1_000_000 || (i > 0 && p < ps[i-1]) {
			return &api.Answer{Err: api.Errorf(api.KindInvalidInput, "invalid reward percentile: %f", float64(p)/10_000)}
		}
	}
	safe := v.safe.Header.Number.Uint64()
	var newest uint64
	switch c.Tag.Kind {
	case api.TagLatest, api.TagSafe, api.TagPending:
		newest = safe
	case api.TagFinalized:
		if !v.fin.Tracked {
			return &api.Answer{Err: &api.Error{Kind: api.KindUnavailable, Message: api.NoFinality}}
		}
		newest = v.fin.Block
	case api.TagBlock:
		newest = c.Tag.Number
		if newest > safe {
			return &api.Answer{Err: api.Errorf(api.KindFuture, "request beyond head block: requested %d, head %d", newest, safe)}
		}
	default:
		return &api.Answer{Err: api.Errorf(api.KindInvalidInput, "fee history takes a block number or tag, not %v", c.Tag)}
	}
	count := min(c.Number, api.MaxFeeHistory, newest+1)
	if len(ps) > 0 {
		count = min(count, api.MaxFeeHistoryRewards)
	}
	h := &api.FeeHistory{}
	if count == 0 {
		return &api.Answer{FeeHistory: h}
	}
	h.Oldest = newest + 1 - count
	var last *types.Header
	for n := h.Oldest; n <= newest; n++ {
		s, err := v.SealedBlock(n)
		if err != nil {
			return Failed(err)
		}
		last = s.Header
		h.BaseFee = append(h.BaseFee, BaseFee(s.Header))
		h.GasUsed = append(h.GasUsed, s.Header.GasUsed)
		h.GasLimit = append(h.GasLimit, s.Header.GasLimit)
		if len(ps) > 0 {
			r, aerr := v.rewards(s, ps)
			if aerr != nil {
				return &api.Answer{Err: aerr}
			}
			h.Reward = append(h.Reward, r)
		}
	}
	next := new(big.Int)
	if cc := ex.Config().Chain; last.BaseFee != nil && cc.IsLondon(new(big.Int).Add(last.Number, common.Big1)) {
		next = eip1559.CalcBaseFee(cc, last)
	}
	h.BaseFee = append(h.BaseFee, next)
	return &api.Answer{FeeHistory: h, At: api.Height{MiniBlock: v.safe.Last, Block: safe}}
}

// rewards computes a sealed block's effective tips at the percentiles (in
// millionths) of its gas, as go-ethereum's fee history does.
func (v *View) rewards(s *Sealed, ps []uint64) ([]*big.Int, *api.Error) {
	type tip struct {
		reward *big.Int
		gas    uint64
	}
	var tips []tip
	base := BaseFee(s.Header)
	for m := s.First; s.First > 0 && m <= s.Last; m++ {
		mb, _, err := v.MiniBlock(m)
		if err != nil {
			return nil, AsError(err)
		}
		for i, tx := range mb.Txs {
			tips = append(tips, tip{tx.EffectiveGasTipValue(base), mb.Receipts[i].GasUsed})
		}
	}
	out := make([]*big.Int, len(ps))
	if len(tips) == 0 {
		for i := range out {
			out[i] = new(big.Int)
		}
		return out, nil
	}
	slices.SortStableFunc(tips, func(a, b tip) int { return a.reward.Cmp(b.reward) })
	idx, sum := 0, tips[0].gas
	for i, p := range ps {
		hi, lo := bits.Mul64(s.Header.GasUsed, p)
		threshold, _ := bits.Div64(hi, lo, 1_000_000) // p ≤ 1,000,000: no overflow
		for sum < threshold && idx < len(tips)-1 {
			idx++
			sum += tips[idx].gas
		}
		out[i] = new(big.Int).Set(tips[idx].reward)
	}
	return out, nil
}

// estimateErrorRatio is how far above the least gas an estimate may be,
// as go-ethereum allows, to save executions.
const estimateErrorRatio = 0.015

// estimateGas finds the least gas with which the call succeeds, by binary
// search as go-ethereum's gas estimator does: between what one execution
// at the upper bound used and the upper bound (the call's gas, else the
// block's gas limit, capped per transaction from Osaka on).
func estimateGas(ctx context.Context, ex *exec.Executor, st state.Reader, header *types.Header, getHash vm.GetHashFunc, c *api.Call) (uint64, *api.Error) {
	to := callee(c)
	if c.Value != nil && c.Value.Sign() > 0 {
		acct, _ := st.Account(c.From)
		if acct.Balance.ToBig().Cmp(c.Value) < 0 {
			return 0, api.Errorf(api.KindInsufficientFunds, "%v", core.ErrInsufficientFundsForTransfer)
		}
	}
	hi := header.GasLimit
	if c.Gas >= params.TxGas {
		hi = c.Gas
	}
	cc := ex.Config().Chain
	if cc.IsOsaka(header.Number, header.Time) && !cc.IsAmsterdam(header.Number, header.Time) && hi > params.MaxTxGas {
		hi = params.MaxTxGas
	}
	hi = min(hi, exec.DefaultCallGas)
	value, verr := callValue(c)
	if verr != nil {
		return 0, verr
	}
	run := func(gas uint64) (used uint64, out []byte, err error) {
		out, used, err = ex.Call(ctx, st, header, getHash, c.From, to, c.Data, gas, value)
		return used, out, err
	}
	// A plain transfer to an account without code costs exactly what it
	// uses at the intrinsic gas.
	if len(c.Data) == 0 && to != nil && hi >= params.TxGas {
		if acct, _ := st.Account(*to); acct.CodeHash == types.EmptyCodeHash || acct.CodeHash == (common.Hash{}) {
			if used, _, err := run(params.TxGas); err == nil {
				return used, nil
			}
		}
	}
	used, out, err := run(hi)
	switch {
	case ctx.Err() != nil:
		return 0, AsError(ctx.Err())
	case errors.Is(err, exec.ErrReverted):
		return 0, &api.Error{Kind: api.KindReverted, Message: "execution reverted", Data: out}
	case errors.Is(err, vm.ErrOutOfGas), errors.Is(err, core.ErrIntrinsicGas), errors.Is(err, core.ErrFloorDataGas):
		return 0, api.Errorf(api.KindInvalidTx, "gas required exceeds allowance (%d)", hi)
	case err != nil:
		return 0, api.Errorf(api.KindInvalidTx, "%s", strings.TrimPrefix(err.Error(), "call: "))
	}
	lo := max(used, 1) - 1
	if optimistic := (used + params.CallStipend) * 64 / 63; optimistic < hi {
		if _, _, err := run(optimistic); err != nil {
			lo = optimistic
		} else {
			hi = optimistic
		}
	}
	for lo+1 < hi {
		if ctx.Err() != nil {
			return 0, AsError(ctx.Err())
		}
		if float64(hi-lo)/float64(hi) < estimateErrorRatio {
			break
		}
		mid := lo + (hi-lo)/2
		if mid > lo*2 {
			mid = lo * 2
		}
		if _, _, err := run(mid); err != nil {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi, nil
}
