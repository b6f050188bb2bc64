package rpc

import (
	"context"
	"encoding/json"
	"fmt"

	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/exec"
)

// State and block overrides of eth_call and eth_estimateGas (go-ethereum's
// internal/ethapi/override, in its JSON), and eth_createAccessList. The
// overrides travel to the node as JSON in api.Call.Overrides, at most
// api.MaxOverrides bytes, where node/exec applies them over the call's
// state and header; go-ethereum's refusals (an account with both 'state'
// and 'stateDiff', …) come back as its -32000 errors.

type (
	stateOverride  = exec.StateOverride
	blockOverrides = exec.BlockOverrides
)

// setOverrides puts a call's overrides (nil: none) in c.
func setOverrides(c *api.Call, so *stateOverride, bo *blockOverrides) error {
	ov := &exec.Overrides{Block: bo}
	if so != nil {
		ov.State = *so
	}
	if ov.Empty() {
		return nil
	}
	raw, err := json.Marshal(ov)
	if err != nil {
		return &invalidParamsError{fmt.Sprintf("invalid overrides: %v", err)}
	}
	if len(raw) > api.MaxOverrides {
		return &invalidParamsError{fmt.Sprintf("overrides of %d bytes, limit %d", len(raw), api.MaxOverrides)}
	}
	c.Overrides = raw
	return nil
}

// CreateAccessList is eth_createAccessList: the EIP-2930 access list of
// the call eth_call would run at the block (latest when none), with state
// overrides, as go-ethereum's {accessList, gasUsed, error}. The call's own
// accessList argument is not read: the list starts empty.
func (e *ethAPI) CreateAccessList(ctx context.Context, args transactionArgs, bnh *gethrpc.BlockNumberOrHash, so *stateOverride) (json.RawMessage, error) {
	c := &api.Call{Method: api.MethodAccessList}
	if err := args.call(c); err != nil {
		return nil, err
	}
	if err := setOverrides(c, so, nil); err != nil {
		return nil, err
	}
	e.s.capGas(c)
	a, err := e.read(ctx, c, bnh)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(a.Value), nil
}
