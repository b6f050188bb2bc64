package rpc_test

import (
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
)

// traced is a chain for the debug tests: the test contract deployed, then
// called with 42 (it stores it and logs).
type traced struct {
	h                *harness
	contract         common.Address
	deploy, call     *types.Transaction
	deployR, receipt *types.Receipt
}

func newTraced(t *testing.T) *traced {
	h := newHarness(t)
	alice := h.b.keys[0]
	c := &traced{h: h}
	c.deploy = h.tx(alice, nil, nil, 200_000, deployCode(runtime))
	c.deployR = h.send(c.deploy)
	c.contract = c.deployR.ContractAddress
	c.call = h.tx(alice, &c.contract, nil, 100_000, common.BigToHash(big.NewInt(42)).Bytes())
	c.receipt = h.send(c.call)
	if c.receipt.Status != types.ReceiptStatusSuccessful || len(c.receipt.Logs) != 1 {
		t.Fatalf("the call's receipt %+v", c.receipt)
	}
	return c
}

// rpcCallTrace is callTracer's frame, the fields the tests read.
type rpcCallTrace struct {
	Type    string          `json:"type"`
	From    common.Address  `json:"from"`
	To      common.Address  `json:"to"`
	Gas     hexutil.Uint64  `json:"gas"`
	GasUsed hexutil.Uint64  `json:"gasUsed"`
	Output  hexutil.Bytes   `json:"output"`
	Logs    json.RawMessage `json:"logs"`
}

// wantTraceError checks that err is a JSON-RPC error with code and a
// message holding msg.
func wantTraceError(t *testing.T, what string, err error, code int, msg string) {
	t.Helper()
	var re gethrpc.Error
	if !errors.As(err, &re) || re.ErrorCode() != code || !strings.Contains(err.Error(), msg) {
		t.Fatalf("%s: error %v, want %d %q", what, err, code, msg)
	}
}

func TestDebugTraceTransaction(t *testing.T) {
	c := newTraced(t)
	h, ctx := c.h, c.h.ctx()
	alice := addr(h.b.keys[0])

	// The struct logger, the default: the contract's steps, its gas the
	// receipt's.
	var sl struct {
		Gas         uint64 `json:"gas"`
		Failed      bool   `json:"failed"`
		ReturnValue string `json:"returnValue"`
		StructLogs  []struct {
			Op string `json:"op"`
		} `json:"structLogs"`
	}
	if err := h.raw.CallContext(ctx, &sl, "debug_traceTransaction", c.call.Hash()); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, l := range sl.StructLogs {
		ops = append(ops, l.Op)
	}
	if sl.Gas != c.receipt.GasUsed || sl.Failed || !strings.Contains(strings.Join(ops, " "), "SSTORE PUSH1 PUSH1 PUSH1 LOG1 STOP") {
		t.Fatalf("struct logger: gas %d (receipt %d), failed %v, ops %v", sl.Gas, c.receipt.GasUsed, sl.Failed, ops)
	}
	// Its options: without the stack.
	var bare struct {
		StructLogs []map[string]json.RawMessage `json:"structLogs"`
	}
	if err := h.raw.CallContext(ctx, &bare, "debug_traceTransaction", c.call.Hash(), map[string]any{"disableStack": true}); err != nil {
		t.Fatal(err)
	}
	if len(bare.StructLogs) != len(sl.StructLogs) || bare.StructLogs[0]["stack"] != nil {
		t.Fatalf("disableStack: %d steps, first %v", len(bare.StructLogs), bare.StructLogs[0])
	}

	// callTracer.
	var f rpcCallTrace
	if err := h.raw.CallContext(ctx, &f, "debug_traceTransaction", c.call.Hash(), map[string]any{"tracer": "callTracer", "tracerConfig": map[string]any{"withLog": true}}); err != nil {
		t.Fatal(err)
	}
	if f.Type != "CALL" || f.From != alice || f.To != c.contract || uint64(f.GasUsed) != c.receipt.GasUsed || uint64(f.Gas) != c.call.Gas() || len(f.Logs) == 0 {
		t.Fatalf("callTracer: %+v; receipt gas %d", f, c.receipt.GasUsed)
	}
	// The creation too.
	if err := h.raw.CallContext(ctx, &f, "debug_traceTransaction", c.deploy.Hash(), map[string]any{"tracer": "callTracer"}); err != nil {
		t.Fatal(err)
	}
	if f.Type != "CREATE" || f.To != c.contract || uint64(f.GasUsed) != c.deployR.GasUsed || string(f.Output) != string(runtime) {
		t.Fatalf("callTracer of the creation: %+v; receipt gas %d", f, c.deployR.GasUsed)
	}

	// prestateTracer: the sender's balance before the call, which is its
	// balance now (it sent nothing since) plus what the call cost.
	var pre map[common.Address]struct {
		Balance *hexutil.Big `json:"balance"`
		Nonce   uint64       `json:"nonce"`
	}
	if err := h.raw.CallContext(ctx, &pre, "debug_traceTransaction", c.call.Hash(), map[string]any{"tracer": "prestateTracer"}); err != nil {
		t.Fatal(err)
	}
	now, err := h.ec.BalanceAt(ctx, alice, nil)
	if err != nil {
		t.Fatal(err)
	}
	cost := new(big.Int).Mul(new(big.Int).SetUint64(c.receipt.GasUsed), c.receipt.EffectiveGasPrice)
	if got := pre[alice]; got.Balance == nil || got.Balance.ToInt().Cmp(new(big.Int).Add(now, cost)) != 0 || got.Nonce != c.call.Nonce() {
		t.Fatalf("prestate of the sender %+v, want balance %v nonce %d", got, new(big.Int).Add(now, cost), c.call.Nonce())
	}
	if _, ok := pre[c.contract]; !ok {
		t.Fatalf("prestate without the contract: %v", pre)
	}

	// Errors: an unknown transaction, an unknown tracer, a bad
	// configuration, a timeout.
	var res json.RawMessage
	err = h.raw.CallContext(ctx, &res, "debug_traceTransaction", common.Hash{1})
	wantTraceError(t, "unknown transaction", err, -32000, "transaction not found")
	err = h.raw.CallContext(ctx, &res, "debug_traceTransaction", c.call.Hash(), map[string]any{"tracer": "noSuchTracer"})
	wantTraceError(t, "unknown tracer", err, -32602, `tracer "noSuchTracer" not found`)
	err = h.raw.CallContext(ctx, &res, "debug_traceTransaction", c.call.Hash(), map[string]any{"tracer": 7})
	wantTraceError(t, "bad configuration", err, -32602, "invalid argument 1")
	err = h.raw.CallContext(ctx, &res, "debug_traceTransaction", c.call.Hash(), map[string]any{"timeout": "soon"})
	wantTraceError(t, "bad timeout", err, -32000, "invalid duration")
	for _, timeout := range []string{"0s", "1ns"} {
		err = h.raw.CallContext(ctx, &res, "debug_traceTransaction", c.call.Hash(), map[string]any{"tracer": "callTracer", "timeout": timeout})
		wantTraceError(t, "timeout "+timeout, err, -32000, "execution timeout")
	}
	// A generous timeout is no timeout.
	if err := h.raw.CallContext(ctx, &res, "debug_traceTransaction", c.call.Hash(), map[string]any{"tracer": "callTracer", "timeout": "10s"}); err != nil {
		t.Fatal(err)
	}
}

func TestDebugTraceCall(t *testing.T) {
	c := newTraced(t)
	h, ctx := c.h, c.h.ctx()
	alice := addr(h.b.keys[1])
	// Without calldata the contract returns its slot 0: the 42 stored.
	var f rpcCallTrace
	args := map[string]any{"from": alice, "to": c.contract}
	if err := h.raw.CallContext(ctx, &f, "debug_traceCall", args, "latest", map[string]any{"tracer": "callTracer"}); err != nil {
		t.Fatal(err)
	}
	if f.Type != "CALL" || f.From != alice || f.To != c.contract || f.GasUsed <= 21_000 || common.BytesToHash(f.Output) != common.BigToHash(big.NewInt(42)) {
		t.Fatalf("traced call %+v", f)
	}
	// At the block before the deployment the contract has no code.
	before := hexutil.EncodeUint64(c.deployR.BlockNumber.Uint64() - 1)
	f = rpcCallTrace{}
	if err := h.raw.CallContext(ctx, &f, "debug_traceCall", args, before, map[string]any{"tracer": "callTracer"}); err != nil {
		t.Fatal(err)
	}
	if f.GasUsed != 21_000 || len(f.Output) != 0 {
		t.Fatalf("traced call before the deployment %+v", f)
	}
	// The struct logger, with no block named (latest).
	var sl struct {
		Gas        uint64            `json:"gas"`
		StructLogs []json.RawMessage `json:"structLogs"`
	}
	if err := h.raw.CallContext(ctx, &sl, "debug_traceCall", args, nil); err != nil {
		t.Fatal(err)
	}
	if sl.Gas <= 21_000 || len(sl.StructLogs) == 0 {
		t.Fatalf("struct logger of a call: gas %d, %d steps", sl.Gas, len(sl.StructLogs))
	}
	var res json.RawMessage
	overrides := map[string]any{"tracer": "callTracer", "stateOverrides": map[string]any{alice.Hex(): map[string]any{"state": map[string]any{}, "stateDiff": map[string]any{}}}}
	err := h.raw.CallContext(ctx, &res, "debug_traceCall", args, "latest", overrides)
	wantTraceError(t, "state overrides", err, -32000, "has both 'state' and 'stateDiff'")
	err = h.raw.CallContext(ctx, &res, "debug_traceCall", args, "latest", map[string]any{"timeout": "0s"})
	wantTraceError(t, "timeout", err, -32000, "execution timeout")
}

func TestDebugTraceBlock(t *testing.T) {
	c := newTraced(t)
	h, ctx := c.h, c.h.ctx()
	n := c.receipt.BlockNumber.Uint64()
	h.sealed(n)
	block, err := h.ec.BlockByNumber(ctx, new(big.Int).SetUint64(n))
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]any{"tracer": "callTracer"}
	var byNumber []struct {
		TxHash common.Hash  `json:"txHash"`
		Result rpcCallTrace `json:"result"`
	}
	if err := h.raw.CallContext(ctx, &byNumber, "debug_traceBlockByNumber", hexutil.EncodeUint64(n), cfg); err != nil {
		t.Fatal(err)
	}
	if len(byNumber) != len(block.Transactions()) {
		t.Fatalf("%d traces for %d transactions", len(byNumber), len(block.Transactions()))
	}
	found := false
	for i, tx := range block.Transactions() {
		if byNumber[i].TxHash != tx.Hash() {
			t.Fatalf("trace %d is of %v, transaction %d is %v", i, byNumber[i].TxHash, i, tx.Hash())
		}
		if tx.Hash() == c.call.Hash() {
			found = true
			if r := byNumber[i].Result; r.To != c.contract || uint64(r.GasUsed) != c.receipt.GasUsed {
				t.Fatalf("the call's trace in the block %+v, receipt gas %d", r, c.receipt.GasUsed)
			}
		}
	}
	if !found {
		t.Fatalf("block %d does not hold the call", n)
	}
	var rawNumber, rawHash json.RawMessage
	if err := h.raw.CallContext(ctx, &rawNumber, "debug_traceBlockByNumber", hexutil.EncodeUint64(n), cfg); err != nil {
		t.Fatal(err)
	}
	if err := h.raw.CallContext(ctx, &rawHash, "debug_traceBlockByHash", block.Hash(), cfg); err != nil {
		t.Fatal(err)
	}
	if string(rawHash) != string(rawNumber) {
		t.Fatalf("by hash:\n%s\nby number:\n%s", rawHash, rawNumber)
	}
	// The struct logger's entries too.
	var sl []struct {
		TxHash common.Hash `json:"txHash"`
		Result struct {
			Gas uint64 `json:"gas"`
		} `json:"result"`
	}
	if err := h.raw.CallContext(ctx, &sl, "debug_traceBlockByHash", block.Hash()); err != nil || len(sl) != len(block.Transactions()) {
		t.Fatalf("struct logger of the block: %d entries, %v", len(sl), err)
	}
	var res json.RawMessage
	err = h.raw.CallContext(ctx, &res, "debug_traceBlockByNumber", hexutil.EncodeUint64(1_000_000), cfg)
	wantTraceError(t, "a block not sealed", err, -32000, "block #1000000 not found")
	err = h.raw.CallContext(ctx, &res, "debug_traceBlockByHash", common.Hash{3}, cfg)
	wantTraceError(t, "an unknown hash", err, -32000, "block 0x0300000000000000000000000000000000000000000000000000000000000000 not found")
	err = h.raw.CallContext(ctx, &res, "debug_traceBlockByNumber", "earliest", cfg)
	wantTraceError(t, "genesis", err, -32000, "genesis is not traceable")
	err = h.raw.CallContext(ctx, &res, "debug_traceBlockByNumber", hexutil.EncodeUint64(n), map[string]any{"timeout": "0s"})
	wantTraceError(t, "timeout", err, -32000, "execution timeout")
}
