package exec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/tracers"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"
	"github.com/meganode/meganode/node/state"
)

var (
	// slotReader returns the storage slot named by its first calldata word
	// (slot 0 without calldata).
	slotReader = common.FromHex("0x60003554" + "60005260206000f3")
	// blockReader returns NUMBER and TIMESTAMP.
	blockReader = common.FromHex("0x4360005242602052" + "60406000f3")
	// balanceProbe returns its own slot 0 and the balance of 0x5a.
	balanceProbe = common.FromHex("0x600054600052605a31602052" + "60406000f3")
	ovAddr       = common.HexToAddress("0x4001")
	ovEmpty      = common.HexToAddress("0x4002")
	ovOther      = common.HexToAddress("0x5a")
)

func overrideEnv(t *testing.T) (*Executor, *state.Mem, *types.Header) {
	t.Helper()
	ex, err := New(Config{Chain: DefaultChainConfig(testChainID), Policy: DefaultPolicy()})
	if err != nil {
		t.Fatal(err)
	}
	st, err := state.FromAlloc(types.GenesisAlloc{
		ovAddr: {Code: slotReader, Balance: big.NewInt(100), Nonce: 3, Storage: map[common.Hash]common.Hash{
			{}: common.BigToHash(big.NewInt(7)), {31: 1}: common.BigToHash(big.NewInt(9)),
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	header := &types.Header{Number: big.NewInt(5), Time: 60, Coinbase: coinbase, GasLimit: 30_000_000,
		BaseFee: big.NewInt(params.GWei), Difficulty: new(big.Int)}
	return ex, st, header
}

func decodeOverrides(t *testing.T, js string) *Overrides {
	t.Helper()
	o, err := DecodeOverrides([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func word(n int64) []byte { return common.BigToHash(big.NewInt(n)).Bytes() }

// callSlot calls slotReader at addr on st for slot.
func callSlot(t *testing.T, ex *Executor, st state.Reader, header *types.Header, addr common.Address, slot byte) []byte {
	t.Helper()
	out, _, err := ex.Call(context.Background(), st, header, noHash, addrA, &addr, common.Hash{31: slot}.Bytes(), 0, nil)
	if err != nil {
		t.Fatalf("call %v slot %d: %v", addr, slot, err)
	}
	return out
}

// TestOverriddenReaderAnswersOverridesFirst: stateDiff changes the slots it
// names and keeps the rest, state replaces the whole storage, nonce and
// balance replace the account's, code on an empty address makes it exist
// with that code, and a call reads all of it; the base state is untouched.
func TestOverriddenReaderAnswersOverridesFirst(t *testing.T) {
	ex, st, header := overrideEnv(t)
	cc := ex.Config().Chain
	diff := decodeOverrides(t, `{"state":{"0x0000000000000000000000000000000000004001":{"stateDiff":{"0x0000000000000000000000000000000000000000000000000000000000000000":"0x0000000000000000000000000000000000000000000000000000000000000005"},"balance":"0x2a","nonce":"0x9"},
		"0x0000000000000000000000000000000000004002":{"code":"`+hexutil.Encode(slotReader)+`"}}}`)
	rd, h, err := diff.Apply(cc, st, header, true)
	if err != nil {
		t.Fatal(err)
	}
	if h != header {
		t.Fatal("no block overrides: the header changed")
	}
	if got := rd.Storage(ovAddr, common.Hash{}); got != common.BigToHash(big.NewInt(5)) {
		t.Fatalf("stateDiff slot 0 = %v, want 5", got)
	}
	if got := rd.Storage(ovAddr, common.Hash{31: 1}); got != common.BigToHash(big.NewInt(9)) {
		t.Fatalf("stateDiff kept slot 1 = %v, want the base's 9", got)
	}
	acct, ok := rd.Account(ovAddr)
	if !ok || acct.Balance.Uint64() != 42 || acct.Nonce != 9 || acct.CodeHash != crypto.Keccak256Hash(slotReader) {
		t.Fatalf("overridden account = %+v (exists %v), want balance 42, nonce 9, its code", acct, ok)
	}
	if out := callSlot(t, ex, rd, header, ovAddr, 0); !bytes.Equal(out, word(5)) {
		t.Fatalf("call reads slot 0 = %x, want 5", out)
	}
	if out := callSlot(t, ex, rd, header, ovAddr, 1); !bytes.Equal(out, word(9)) {
		t.Fatalf("call reads slot 1 = %x, want 9", out)
	}
	// Code on an empty address.
	if _, ok := st.Account(ovEmpty); ok {
		t.Fatal("the empty address exists in the base state")
	}
	acct, ok = rd.Account(ovEmpty)
	if !ok || !bytes.Equal(rd.Code(acct.CodeHash), slotReader) {
		t.Fatalf("code override on an empty address: exists %v, code %x", ok, rd.Code(acct.CodeHash))
	}
	if out := callSlot(t, ex, rd, header, ovEmpty, 0); !bytes.Equal(out, word(0)) {
		t.Fatalf("call to the overridden code = %x, want slot 0 (zero)", out)
	}
	// 'state' replaces the storage.
	repl := decodeOverrides(t, `{"state":{"0x0000000000000000000000000000000000004001":{"state":{"0x0000000000000000000000000000000000000000000000000000000000000001":"0x0000000000000000000000000000000000000000000000000000000000000003"}}}}`)
	rd, _, err = repl.Apply(cc, st, header, true)
	if err != nil {
		t.Fatal(err)
	}
	if out := callSlot(t, ex, rd, header, ovAddr, 0); !bytes.Equal(out, word(0)) {
		t.Fatalf("'state' left slot 0 = %x, want zero", out)
	}
	if out := callSlot(t, ex, rd, header, ovAddr, 1); !bytes.Equal(out, word(3)) {
		t.Fatalf("'state' slot 1 = %x, want 3", out)
	}
	// An empty 'state' clears the storage: it is not 'no state'.
	clear := decodeOverrides(t, `{"state":{"0x0000000000000000000000000000000000004001":{"state":{}}}}`)
	if rd, _, err = clear.Apply(cc, st, header, true); err != nil {
		t.Fatal(err)
	}
	if got := rd.Storage(ovAddr, common.Hash{}); got != (common.Hash{}) {
		t.Fatalf("empty 'state': slot 0 = %v, want zero", got)
	}
	// The base is untouched.
	if got := st.Storage(ovAddr, common.Hash{}); got != common.BigToHash(big.NewInt(7)) {
		t.Fatalf("base slot 0 = %v, want 7", got)
	}
}

// TestOverridesRefusedWithGethsErrors: go-ethereum's messages for an
// account with both state and stateDiff, a move from a non-precompile,
// and the block overrides it refuses.
func TestOverridesRefusedWithGethsErrors(t *testing.T) {
	ex, st, header := overrideEnv(t)
	for _, c := range []struct{ js, want string }{
		{`{"state":{"0x0000000000000000000000000000000000004001":{"state":{},"stateDiff":{}}}}`,
			"account 0x0000000000000000000000000000000000004001 has both 'state' and 'stateDiff'"},
		{`{"state":{"0x0000000000000000000000000000000000004001":{"movePrecompileToAddress":"0x0000000000000000000000000000000000004002"}}}`,
			"account 0x0000000000000000000000000000000000004001 is not a precompile"},
		{`{"state":{"0x0000000000000000000000000000000000000004":{"movePrecompileToAddress":"0x0000000000000000000000000000000000004001"},"0x0000000000000000000000000000000000004001":{"balance":"0x1"}}}`,
			"account 0x0000000000000000000000000000000000004001 is already overridden"},
		{`{"block":{"beaconRoot":"0x0000000000000000000000000000000000000000000000000000000000000001"}}`,
			`block override "beaconRoot" is not supported for this RPC method`},
	} {
		_, _, err := decodeOverrides(t, c.js).Apply(ex.Config().Chain, st, header, true)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: err %v, want %q", c.js, err, c.want)
		}
	}
}

// TestMovedPrecompile: a precompile moved to another address runs there,
// and no longer at its own.
func TestMovedPrecompile(t *testing.T) {
	ex, st, header := overrideEnv(t)
	identity, dest := common.BytesToAddress([]byte{4}), common.HexToAddress("0x4444")
	o := decodeOverrides(t, `{"state":{"0x0000000000000000000000000000000000000004":{"movePrecompileToAddress":"0x0000000000000000000000000000000000004444"}}}`)
	rd, _, err := o.Apply(ex.Config().Chain, st, header, true)
	if err != nil {
		t.Fatal(err)
	}
	in := []byte{1, 2, 3}
	if out, _, err := ex.Call(context.Background(), rd, header, noHash, addrA, &dest, in, 0, nil); err != nil || !bytes.Equal(out, in) {
		t.Fatalf("moved identity = %x, %v; want %x", out, err, in)
	}
	if out, _, err := ex.Call(context.Background(), rd, header, noHash, addrA, &identity, in, 0, nil); err != nil || len(out) != 0 {
		t.Fatalf("identity's own address after the move = %x, %v; want nothing", out, err)
	}
	if out, _, err := ex.Call(context.Background(), st, header, noHash, addrA, &identity, in, 0, nil); err != nil || !bytes.Equal(out, in) {
		t.Fatalf("identity without overrides = %x, %v; want %x", out, err, in)
	}
}

// TestBlockOverridesReachTheCall: number and time overrides are what
// NUMBER and TIMESTAMP see; fee recipient, gas limit and prevRandao go
// into the header; the header given is not changed.
func TestBlockOverridesReachTheCall(t *testing.T) {
	ex, st, header := overrideEnv(t)
	o := decodeOverrides(t, `{"state":{"0x0000000000000000000000000000000000004002":{"code":"`+hexutil.Encode(blockReader)+`"}},
		"block":{"number":"0x1234","time":"0x5678","feeRecipient":"0x0000000000000000000000000000000000000abc","gasLimit":"0x2faf080","prevRandao":"0x0000000000000000000000000000000000000000000000000000000000000077"}}`)
	rd, h, err := o.Apply(ex.Config().Chain, st, header, true)
	if err != nil {
		t.Fatal(err)
	}
	if h.Coinbase != common.HexToAddress("0xabc") || h.GasLimit != 50_000_000 || h.MixDigest != (common.Hash{31: 0x77}) {
		t.Fatalf("overridden header: coinbase %v gas limit %d prevRandao %v", h.Coinbase, h.GasLimit, h.MixDigest)
	}
	if header.Number.Uint64() != 5 || header.Time != 60 {
		t.Fatal("the block overrides changed the header given")
	}
	addr := ovEmpty
	out, _, err := ex.Call(context.Background(), rd, h, noHash, addrA, &addr, nil, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := append(word(0x1234), word(0x5678)...); !bytes.Equal(out, want) {
		t.Fatalf("NUMBER, TIMESTAMP = %x, want %x", out, want)
	}
}

// TestTraceCallOverridesConvert: the overrides of go-ethereum's
// TraceCallConfig come over with their values.
func TestTraceCallOverridesConvert(t *testing.T) {
	cfg := new(tracers.TraceCallConfig)
	if err := json.Unmarshal([]byte(`{"stateOverrides":{"0x0000000000000000000000000000000000004001":{"balance":"0x2a","stateDiff":{"0x0000000000000000000000000000000000000000000000000000000000000000":"0x0000000000000000000000000000000000000000000000000000000000000005"}}},"blockOverrides":{"number":"0x99"}}`), cfg); err != nil {
		t.Fatal(err)
	}
	o, err := TraceCallOverrides(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := o.State[ovAddr]
	if a.Balance.ToInt().Int64() != 42 || a.StateDiff[common.Hash{}] != common.BigToHash(big.NewInt(5)) || a.State != nil {
		t.Fatalf("converted account override %+v", a)
	}
	if o.Block == nil || o.Block.Number.ToInt().Int64() != 0x99 {
		t.Fatalf("converted block overrides %+v", o.Block)
	}
	if o, err := TraceCallOverrides(new(tracers.TraceCallConfig)); o != nil || err != nil {
		t.Fatalf("no overrides: %v, %v", o, err)
	}
}

// TestCreateAccessList: the list holds the callee with the slot it read
// and the account whose balance it read, not the sender; the gas used is
// that of a call with the list; a reverting call answers its failure.
func TestCreateAccessList(t *testing.T) {
	ex, st, header := overrideEnv(t)
	o := decodeOverrides(t, `{"state":{"0x0000000000000000000000000000000000004002":{"code":"`+hexutil.Encode(balanceProbe)+`"}}}`)
	rd, _, err := o.Apply(ex.Config().Chain, st, header, false)
	if err != nil {
		t.Fatal(err)
	}
	to := ovEmpty
	acl, used, vmErr, err := ex.CreateAccessList(context.Background(), rd, header, noHash, addrA, &to, nil, 0, nil)
	if err != nil || vmErr != nil {
		t.Fatal(err, vmErr)
	}
	want := types.AccessList{
		{Address: ovOther, StorageKeys: []common.Hash{}},
		{Address: ovEmpty, StorageKeys: []common.Hash{{}}},
	}
	got, _ := json.Marshal(acl)
	wantJS, _ := json.Marshal(want)
	if !bytes.Equal(got, wantJS) {
		t.Fatalf("access list %s, want %s", got, wantJS)
	}
	// 21000 + EIP-2930: 2400 per address, 1900 per slot, then the code's
	// warm accesses (SLOAD 100, BALANCE 100) and the rest.
	_, plain, err := ex.Call(context.Background(), rd, header, noHash, addrA, &to, nil, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if used <= params.TxGas || used == plain {
		t.Fatalf("gas used %d (without the list %d): the list was not used", used, plain)
	}
	// A reverting call: its failure, no error.
	revert := decodeOverrides(t, `{"state":{"0x0000000000000000000000000000000000004002":{"code":"0x60006000fd"}}}`)
	rd, _, _ = revert.Apply(ex.Config().Chain, st, header, false)
	_, _, vmErr, err = ex.CreateAccessList(context.Background(), rd, header, noHash, addrA, &to, nil, 0, nil)
	if err != nil || vmErr == nil || vmErr.Error() != "execution reverted" {
		t.Fatalf("reverting call: err %v, vmErr %v", err, vmErr)
	}
	// A call that cannot run: go-ethereum's "failed to apply transaction".
	_, _, _, err = ex.CreateAccessList(context.Background(), st, header, noHash, addrA, &to, nil, 0, uint256.NewInt(1))
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("failed to apply transaction")) {
		t.Fatalf("value the sender lacks: err %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, _, err := ex.CreateAccessList(ctx, st, header, noHash, addrA, &to, nil, 0, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: err %v", err)
	}
}
