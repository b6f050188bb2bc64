package rpc

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/meganode/meganode/node/api"
)

// eth_simulateV1: go-ethereum's (internal/ethapi SimulateV1, v1.17.10).
// The options travel to the node as their JSON in api.Call.Data, where
// node/ledger runs the simulation (simulate.go there); the node answers
// each simulated block encoded with its senders and its calls' results,
// which are written here as go-ethereum writes them: the block as
// eth_getBlockByNumber does (full transactions, with their senders, when
// returnFullTransactions) with "calls" added. A refusal with one of
// go-ethereum's simulation codes (-38010 …) comes back with that code.

// maxSimulateInput bounds the options' JSON: what fits in one call.
const maxSimulateInput = api.MaxCallSize - 4<<10

// simulatedBlock is node/ledger's SimulatedBlock, as it comes over the
// wire.
type simulatedBlock struct {
	Block   hexutil.Bytes    `json:"block"`
	Senders []common.Address `json:"senders"`
	Calls   json.RawMessage  `json:"calls"`
}

// simError is node/ledger's SimError: a failed simulation's code.
type simError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// SimulateV1 is eth_simulateV1: the blocks of calls of opts simulated on
// the state of the block (latest when none), under the gas cap
// (Config.GasCap, at most the node's own).
func (e *ethAPI) SimulateV1(ctx context.Context, opts json.RawMessage, bnh *gethrpc.BlockNumberOrHash) ([]map[string]any, error) {
	if len(opts) > maxSimulateInput {
		return nil, &invalidParamsError{fmt.Sprintf("simulation input of %d bytes, limit %d", len(opts), maxSimulateInput)}
	}
	var flags struct{ ReturnFullTransactions bool }
	if err := json.Unmarshal(opts, &flags); err != nil {
		return nil, &invalidParamsError{fmt.Sprintf("invalid argument 0: %v", err)}
	}
	c := &api.Call{Method: api.MethodSimulate, Data: opts, Gas: e.s.cfg.GasCap}
	a, err := e.read(ctx, c, bnh)
	if err != nil {
		if a != nil && a.Err != nil && len(a.Value) > 0 {
			var se simError
			if json.Unmarshal(a.Value, &se) == nil && se.Code != 0 {
				return nil, &rpcError{code: se.Code, msg: se.Message}
			}
		}
		return nil, err
	}
	var blocks []simulatedBlock
	if err := json.Unmarshal(a.Value, &blocks); err != nil {
		return nil, &rpcError{code: api.CodeInternal, msg: "malformed simulation answer: " + err.Error()}
	}
	out := make([]map[string]any, len(blocks))
	for i, sb := range blocks {
		b := new(types.Block)
		if err := rlp.DecodeBytes(sb.Block, b); err != nil {
			return nil, &rpcError{code: api.CodeInternal, msg: "malformed simulated block: " + err.Error()}
		}
		fields := marshalBlock(b, flags.ReturnFullTransactions, e.s.signer, sb.Senders)
		fields["calls"] = sb.Calls
		out[i] = fields
	}
	return out, nil
}
