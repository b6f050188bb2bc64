package rpc_test

import (
	"context"
	"encoding/json"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
)

// overridden is a harness with the test contract deployed and 0x11 stored
// in its slot 0.
type overridden struct {
	h        *harness
	ctx      context.Context
	from     common.Address
	contract common.Address
}

func newOverridden(t *testing.T) *overridden {
	h := newHarness(t)
	key := h.b.keys[0]
	r := h.send(h.tx(key, nil, nil, 200_000, deployCode(runtime)))
	if r.Status != types.ReceiptStatusSuccessful {
		t.Fatal("deployment failed")
	}
	if r := h.send(h.tx(key, &r.ContractAddress, nil, 100_000, common.BigToHash(big.NewInt(0x11)).Bytes())); r.Status != types.ReceiptStatusSuccessful {
		t.Fatal("store failed")
	}
	return &overridden{h: h, ctx: h.ctx(), from: addr(key), contract: r.ContractAddress}
}

// call runs eth_call with overrides (nil: none) and returns its output.
func (o *overridden) call(args map[string]any, so, bo any) (hexutil.Bytes, error) {
	var out hexutil.Bytes
	err := o.h.raw.CallContext(o.ctx, &out, "eth_call", args, "latest", so, bo)
	return out, err
}

func mustWord(t *testing.T, what string, out hexutil.Bytes, err error, want int64) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if common.BytesToHash(out) != common.BigToHash(big.NewInt(want)) || len(out) != 32 {
		t.Fatalf("%s = %v, want %#x", what, out, want)
	}
}

var (
	// returns99 returns 0x99.
	returns99 = "0x609960005260206000f3"
	// numberTime returns NUMBER and TIMESTAMP.
	numberTime = "0x436000524260205260406000f3"
	emptyAddr  = common.HexToAddress("0xbeef")
	slot0      = common.Hash{}.Hex()
	slot1      = common.Hash{31: 1}.Hex()
)

func TestCallStateOverrides(t *testing.T) {
	o := newOverridden(t)
	args := map[string]any{"from": o.from, "to": o.contract}
	out, err := o.call(args, nil, nil)
	mustWord(t, "no overrides", out, err, 0x11)

	// A balance override covers a value the sender lacks.
	big30 := new(big.Int).Exp(big.NewInt(10), big.NewInt(30), nil)
	rich := map[string]any{"from": o.from, "to": o.contract, "value": (*hexutil.Big)(big30)}
	if _, err := o.call(rich, nil, nil); err == nil {
		t.Fatal("a value above the balance did not fail without an override")
	}
	out, err = o.call(rich, map[string]any{o.from.Hex(): map[string]any{"balance": (*hexutil.Big)(new(big.Int).Mul(big30, big.NewInt(2)))}}, nil)
	mustWord(t, "balance override", out, err, 0x11)

	// Code on an empty address.
	empty := map[string]any{"from": o.from, "to": emptyAddr}
	if out, err := o.call(empty, nil, nil); err != nil || len(out) != 0 {
		t.Fatalf("empty address without overrides: %x %v", out, err)
	}
	out, err = o.call(empty, map[string]any{emptyAddr.Hex(): map[string]any{"code": returns99}}, nil)
	mustWord(t, "code override", out, err, 0x99)

	// stateDiff: slot 0 as overridden, read back by the contract.
	out, err = o.call(args, map[string]any{o.contract.Hex(): map[string]any{"stateDiff": map[string]any{slot0: common.BigToHash(big.NewInt(0x22))}}}, nil)
	mustWord(t, "stateDiff slot 0", out, err, 0x22)
	// A stateDiff of another slot keeps slot 0.
	out, err = o.call(args, map[string]any{o.contract.Hex(): map[string]any{"stateDiff": map[string]any{slot1: common.BigToHash(big.NewInt(0x22))}}}, nil)
	mustWord(t, "stateDiff slot 1", out, err, 0x11)
	// state replaces the whole storage: slot 0 is gone.
	out, err = o.call(args, map[string]any{o.contract.Hex(): map[string]any{"state": map[string]any{slot1: common.BigToHash(big.NewInt(0x22))}}}, nil)
	mustWord(t, "state without slot 0", out, err, 0)

	// Both: go-ethereum's error.
	_, err = o.call(args, map[string]any{o.contract.Hex(): map[string]any{"state": map[string]any{}, "stateDiff": map[string]any{}}}, nil)
	wantTraceError(t, "state and stateDiff", err, -32000, "account "+o.contract.Hex()+" has both 'state' and 'stateDiff'")
	// Nothing stayed: the contract still holds 0x11.
	out, err = o.call(args, nil, nil)
	mustWord(t, "after the overrides", out, err, 0x11)
}

func TestCallBlockOverrides(t *testing.T) {
	o := newOverridden(t)
	args := map[string]any{"from": o.from, "to": emptyAddr}
	code := map[string]any{emptyAddr.Hex(): map[string]any{"code": numberTime}}
	out, err := o.call(args, code, map[string]any{"number": "0x1234", "time": "0x5678"})
	if err != nil {
		t.Fatal(err)
	}
	if want := append(common.BigToHash(big.NewInt(0x1234)).Bytes(), common.BigToHash(big.NewInt(0x5678)).Bytes()...); string(out) != string(want) {
		t.Fatalf("NUMBER, TIMESTAMP = %x, want %x", out, want)
	}
	// Without block overrides, the chain's.
	out, err = o.call(args, code, nil)
	if err != nil || len(out) != 64 || new(big.Int).SetBytes(out[:32]).Uint64() == 0x1234 || new(big.Int).SetBytes(out[32:]).Uint64() == 0x5678 {
		t.Fatalf("without block overrides: %x %v", out, err)
	}
	_, err = o.call(args, code, map[string]any{"beaconRoot": common.Hash{1}})
	wantTraceError(t, "beaconRoot", err, -32000, `block override "beaconRoot" is not supported for this RPC method`)
}

func TestEstimateGasWithOverrides(t *testing.T) {
	o := newOverridden(t)
	// Storing into an empty address that the override gives the test
	// contract's code: an SSTORE, well above a plain transfer.
	args := map[string]any{"from": o.from, "to": emptyAddr, "data": hexutil.Bytes(common.BigToHash(big.NewInt(1)).Bytes())}
	var plain, with hexutil.Uint64
	if err := o.h.raw.CallContext(o.ctx, &plain, "eth_estimateGas", args, "latest"); err != nil {
		t.Fatal(err)
	}
	so := map[string]any{emptyAddr.Hex(): map[string]any{"code": hexutil.Bytes(runtime)}}
	if err := o.h.raw.CallContext(o.ctx, &with, "eth_estimateGas", args, "latest", so); err != nil {
		t.Fatal(err)
	}
	if plain >= 30_000 || with < plain+20_000 {
		t.Fatalf("estimate without the code %d, with it %d: want a transfer, then an SSTORE more", plain, with)
	}
	var res hexutil.Uint64
	err := o.h.raw.CallContext(o.ctx, &res, "eth_estimateGas", args, "latest", map[string]any{emptyAddr.Hex(): map[string]any{"state": map[string]any{}, "stateDiff": map[string]any{}}})
	wantTraceError(t, "estimate with state and stateDiff", err, -32000, "has both 'state' and 'stateDiff'")
}

func TestCreateAccessList(t *testing.T) {
	o := newOverridden(t)
	var res struct {
		AccessList types.AccessList `json:"accessList"`
		GasUsed    hexutil.Uint64   `json:"gasUsed"`
		Error      string           `json:"error"`
	}
	args := map[string]any{"from": o.from, "to": o.contract}
	if err := o.h.raw.CallContext(o.ctx, &res, "eth_createAccessList", args, "latest"); err != nil {
		t.Fatal(err)
	}
	want := types.AccessList{{Address: o.contract, StorageKeys: []common.Hash{{}}}}
	got, _ := json.Marshal(res.AccessList)
	wantJS, _ := json.Marshal(want)
	if string(got) != string(wantJS) || res.Error != "" {
		t.Fatalf("access list %s (error %q), want %s", got, res.Error, wantJS)
	}
	// 21000, 2400 for the address and 1900 for the slot, then a warm SLOAD
	// and the rest of the code.
	if res.GasUsed <= 21_000+2_400+1_900 {
		t.Fatalf("gas used %d", res.GasUsed)
	}
	// With a state override, a reverting callee: its failure in "error".
	so := map[string]any{emptyAddr.Hex(): map[string]any{"code": "0x60006000fd"}}
	res.AccessList, res.Error = nil, ""
	if err := o.h.raw.CallContext(o.ctx, &res, "eth_createAccessList", map[string]any{"from": o.from, "to": emptyAddr}, "latest", so); err != nil {
		t.Fatal(err)
	}
	if res.Error != "execution reverted" || len(res.AccessList) != 0 {
		t.Fatalf("reverting call: %+v", res)
	}
}

func TestDebugTraceCallOverrides(t *testing.T) {
	o := newOverridden(t)
	var f struct {
		Output hexutil.Bytes `json:"output"`
	}
	args := map[string]any{"from": o.from, "to": o.contract}
	cfg := map[string]any{"tracer": "callTracer", "stateOverrides": map[string]any{o.contract.Hex(): map[string]any{"stateDiff": map[string]any{slot0: common.BigToHash(big.NewInt(0x33))}}}}
	if err := o.h.raw.CallContext(o.ctx, &f, "debug_traceCall", args, "latest", cfg); err != nil {
		t.Fatal(err)
	}
	if common.BytesToHash(f.Output) != common.BigToHash(big.NewInt(0x33)) {
		t.Fatalf("traced call with a stateDiff returned %x, want 0x33", f.Output)
	}
}
