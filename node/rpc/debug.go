package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/eth/tracers"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/exec"
)

// The debug namespace: go-ethereum's tracing API (eth/tracers/api.go),
// run by the node with go-ethereum's own tracers: debug_traceTransaction,
// debug_traceCall, debug_traceBlockByNumber and debug_traceBlockByHash.
// The configuration is go-ethereum's TraceConfig (TraceCallConfig for
// debug_traceCall), checked here and handed to the node as JSON; the
// answer is the tracer's JSON, as the node produced it.
//
// The timeout ("timeout", default 5 s as in go-ethereum) is the call's
// context deadline: on the node, a trace past it stops its tracer and the
// EVM, and the call fails with go-ethereum's "execution timeout"; an
// answer that comes after it is dropped the same way. It bounds the whole
// call (a block's transactions together, where go-ethereum bounds each),
// and the node's own read timeout caps it.

// defaultTraceTimeout is go-ethereum's.
const defaultTraceTimeout = 5 * time.Second

type debugAPI struct{ s *Server }

// traceConfig decodes a trace's configuration, argument arg of its call,
// into cfg, with go-ethereum's error for one that does not decode.
func traceConfig(raw *json.RawMessage, arg int, cfg any) error {
	if raw == nil {
		return nil
	}
	if err := json.Unmarshal(*raw, cfg); err != nil {
		return &invalidParamsError{fmt.Sprintf("invalid argument %d: %v", arg, err)}
	}
	return nil
}

// trace runs a trace call with its configuration (raw, decoded in cfg)
// under its timeout, and maps a timeout to go-ethereum's error.
func (d *debugAPI) trace(ctx context.Context, c *api.Call, raw *json.RawMessage, cfg *tracers.TraceConfig) (*api.Answer, error) {
	if raw != nil {
		if len(*raw) > api.MaxTraceConfig {
			return nil, &invalidParamsError{fmt.Sprintf("trace configuration of %d bytes, limit %d", len(*raw), api.MaxTraceConfig)}
		}
		c.Trace = *raw
	}
	timeout := defaultTraceTimeout
	if cfg.Timeout != nil {
		var err error
		if timeout, err = time.ParseDuration(*cfg.Timeout); err != nil {
			return nil, &rpcError{code: api.CodeServer, msg: err.Error()}
		}
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	a, err := d.s.do(tctx, c)
	if ctx.Err() == nil && errors.Is(tctx.Err(), context.DeadlineExceeded) {
		// Past the trace's own timeout, whatever came back (nothing, or an
		// answer too late).
		return nil, errTraceTimeout
	}
	if a != nil && a.Err != nil && a.Err.Kind == api.KindTimeout {
		return a, errTraceTimeout // the node's deadline
	}
	return a, err
}

// errTraceTimeout is go-ethereum's error for a trace past its timeout.
var errTraceTimeout = &rpcError{code: api.CodeServer, msg: "execution timeout"}

// TraceTransaction is debug_traceTransaction.
func (d *debugAPI) TraceTransaction(ctx context.Context, hash common.Hash, config *json.RawMessage) (json.RawMessage, error) {
	cfg := new(tracers.TraceConfig)
	if err := traceConfig(config, 1, cfg); err != nil {
		return nil, err
	}
	a, err := d.trace(ctx, &api.Call{Method: api.MethodTraceTx, Hash: hash}, config, cfg)
	if err != nil {
		if notFound(a) {
			return nil, &rpcError{code: api.CodeServer, msg: "transaction not found"}
		}
		return nil, err
	}
	return json.RawMessage(a.Value), nil
}

// TraceCall is debug_traceCall: the call eth_call would run at the block
// (latest when none), traced.
func (d *debugAPI) TraceCall(ctx context.Context, args transactionArgs, bnh *gethrpc.BlockNumberOrHash, config *json.RawMessage) (json.RawMessage, error) {
	cfg := new(tracers.TraceCallConfig)
	if err := traceConfig(config, 2, cfg); err != nil {
		return nil, err
	}
	if err := exec.CheckTraceCallConfig(cfg); err != nil {
		return nil, &invalidParamsError{err.Error()}
	}
	c := &api.Call{Method: api.MethodTraceCall}
	if err := args.call(c); err != nil {
		return nil, err
	}
	d.s.capGas(c)
	t, err := d.s.tag(ctx, bnh)
	if err != nil {
		return nil, err
	}
	c.Tag = t
	a, err := d.trace(ctx, c, config, &cfg.TraceConfig)
	if err != nil {
		return nil, err
	}
	return json.RawMessage(a.Value), nil
}

// TraceBlockByNumber is debug_traceBlockByNumber: a sealed block's
// transactions, traced in order, as [{txHash, result}].
func (d *debugAPI) TraceBlockByNumber(ctx context.Context, number gethrpc.BlockNumber, config *json.RawMessage) (json.RawMessage, error) {
	cfg := new(tracers.TraceConfig)
	if err := traceConfig(config, 1, cfg); err != nil {
		return nil, err
	}
	n, err := d.s.blockNumber(ctx, number)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, &rpcError{code: api.CodeServer, msg: "genesis is not traceable"}
	}
	a, err := d.trace(ctx, &api.Call{Method: api.MethodTraceBlock, Number: n}, config, cfg)
	if err != nil {
		if notFound(a) {
			return nil, &rpcError{code: api.CodeServer, msg: fmt.Sprintf("block #%d not found", n)}
		}
		return nil, err
	}
	return json.RawMessage(a.Value), nil
}

// TraceBlockByHash is debug_traceBlockByHash.
func (d *debugAPI) TraceBlockByHash(ctx context.Context, hash common.Hash, config *json.RawMessage) (json.RawMessage, error) {
	cfg := new(tracers.TraceConfig)
	if err := traceConfig(config, 1, cfg); err != nil {
		return nil, err
	}
	a, err := d.trace(ctx, &api.Call{Method: api.MethodTraceBlock, Hash: hash}, config, cfg)
	if err != nil {
		if notFound(a) {
			return nil, &rpcError{code: api.CodeServer, msg: fmt.Sprintf("block %s not found", hash.Hex())}
		}
		return nil, err
	}
	return json.RawMessage(a.Value), nil
}
