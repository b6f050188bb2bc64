package ledger

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/eth/tracers"
	"github.com/holiman/uint256"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/exec"
	"github.com/meganode/meganode/node/state"
)

// Calls with overrides (eth_call, eth_estimateGas, debug_traceCall and
// eth_createAccessList with go-ethereum's state and block overrides), and
// eth_createAccessList.

// overridden is the state and header a call at height at runs on: st and
// the call header, with the call's overrides (c.Overrides) applied.
// precompiles is as exec.Overrides.Apply's. An override go-ethereum
// refuses fails with its message (-32000, as go-ethereum answers it).
func (v *View) overridden(ex *exec.Executor, st state.Reader, at api.Height, c *api.Call, precompiles bool) (state.Reader, *types.Header, *api.Error) {
	header := v.callHeader(at)
	ov, err := exec.DecodeOverrides(c.Overrides)
	if err != nil {
		return nil, nil, api.Errorf(api.KindInvalidInput, "%v", err)
	}
	return applyOverrides(ex, ov, st, header, precompiles)
}

func applyOverrides(ex *exec.Executor, ov *exec.Overrides, st state.Reader, header *types.Header, precompiles bool) (state.Reader, *types.Header, *api.Error) {
	rd, h, err := ov.Apply(ex.Config().Chain, st, header, precompiles)
	if err != nil {
		return nil, nil, api.Errorf(api.KindInvalidTx, "%v", err)
	}
	return rd, h, nil
}

// accessListResult is eth_createAccessList's answer, go-ethereum's
// accessListResult.
type accessListResult struct {
	Accesslist *types.AccessList `json:"accessList"`
	Error      string            `json:"error,omitempty"`
	GasUsed    hexutil.Uint64    `json:"gasUsed"`
}

// serveAccessList answers eth_createAccessList: the call eth_call would
// run at c.Tag, with its state overrides (go-ethereum takes no block
// overrides there, and moves no precompiles).
func (v *View) serveAccessList(ctx context.Context, ex *exec.Executor, c *api.Call) *api.Answer {
	at, value, view, failed := v.callAt(c)
	if failed != nil {
		return failed
	}
	ov, err := exec.DecodeOverrides(c.Overrides)
	if err != nil {
		return &api.Answer{At: at, Err: api.Errorf(api.KindInvalidInput, "%v", err)}
	}
	if ov != nil && ov.Block != nil {
		return &api.Answer{At: at, Err: api.Errorf(api.KindInvalidInput, "eth_createAccessList takes no block overrides")}
	}
	st, header, aerr := applyOverrides(ex, ov, view, v.callHeader(at), false)
	if aerr != nil {
		return &api.Answer{At: at, Err: aerr}
	}
	acl, used, vmErr, err := ex.CreateAccessList(ctx, st, header, v.BlockHash, c.From, callee(c), c.Data, c.Gas, value)
	switch {
	case ctx.Err() != nil:
		return &api.Answer{At: at, Err: AsError(ctx.Err())}
	case err != nil:
		return &api.Answer{At: at, Err: api.Errorf(api.KindInvalidTx, "%v", err)}
	}
	if err := view.Err(); err != nil {
		return &api.Answer{At: at, Err: AsError(fmt.Errorf("%w: %v", ErrPruned, err))}
	}
	res := accessListResult{Accesslist: &acl, GasUsed: hexutil.Uint64(used)}
	if vmErr != nil {
		res.Error = vmErr.Error()
	}
	enc, err := json.Marshal(res)
	if err != nil {
		return &api.Answer{At: at, Err: api.Errorf(api.KindInternal, "encoding an access list: %v", err)}
	}
	return &api.Answer{At: at, Value: enc}
}

// traceCallOverridden is the state and header of a traced call at height
// at: with the state and block overrides of its configuration (raw, the
// JSON of go-ethereum's TraceCallConfig), applied as eth_call applies
// them.
func (v *View) traceCallOverridden(ex *exec.Executor, raw []byte, st state.Reader, at api.Height) (state.Reader, *types.Header, *api.Error) {
	header := v.callHeader(at)
	if len(raw) == 0 {
		return st, header, nil
	}
	cfg := new(tracers.TraceCallConfig)
	if err := json.Unmarshal(raw, cfg); err != nil {
		return nil, nil, api.Errorf(api.KindInvalidInput, "invalid trace configuration: %v", err)
	}
	ov, err := exec.TraceCallOverrides(cfg)
	if err != nil {
		return nil, nil, api.Errorf(api.KindInvalidInput, "%v", err)
	}
	return applyOverrides(ex, ov, st, header, true)
}

// callAt is where a call runs: the height its tag names, its value, and
// the state there; or the answer that refuses it.
func (v *View) callAt(c *api.Call) (api.Height, *uint256.Int, *state.View, *api.Answer) {
	at, aerr := v.Resolve(c.Tag)
	if aerr != nil {
		return at, nil, nil, &api.Answer{Err: aerr}
	}
	value, aerr := callValue(c)
	if aerr != nil {
		return at, nil, nil, &api.Answer{At: at, Err: aerr}
	}
	st, err := v.StateAt(at.MiniBlock)
	if err != nil {
		return at, nil, nil, &api.Answer{At: at, Err: AsError(err)}
	}
	return at, value, st, nil
}
