package contracts

import (
	"bytes"
	"errors"
	"math/big"
	"reflect"
	"strconv"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/core/vm/runtime"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"
)

var (
	alice = common.HexToAddress("0xa11ce")
	bob   = common.HexToAddress("0xb0b")
	carol = common.HexToAddress("0xca201")
)

// chain runs each deploy/call as one "transaction" over an in-memory StateDB,
// finalising after it so EIP-6780 and transient storage see tx boundaries.
type chain struct {
	t     *testing.T
	db    *state.StateDB
	rules params.Rules
	txs   int
}

type result struct {
	ret  []byte
	logs []*types.Log
	err  error
}

func newChain(t *testing.T) *chain {
	t.Helper()
	db, err := state.New(types.EmptyRootHash, state.NewDatabaseForTesting())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []common.Address{alice, bob} {
		db.AddBalance(a, uint256.NewInt(1e18), tracing.BalanceChangeUnspecified)
	}
	cfg := params.MergedTestChainConfig // Cancun and later forks active
	return &chain{t: t, db: db, rules: cfg.Rules(new(big.Int), true, 0)}
}

func (c *chain) config(from common.Address, value int64, gas uint64) *runtime.Config {
	c.txs++
	c.db.SetTxContext(common.BigToHash(big.NewInt(int64(c.txs))), c.txs, 0)
	return &runtime.Config{ChainConfig: params.MergedTestChainConfig, Origin: from,
		Value: big.NewInt(value), GasLimit: gas, State: c.db}
}

func (c *chain) finish(ret []byte, err error) result {
	c.db.Finalise(c.rules)
	logs := c.db.GetLogs(common.BigToHash(big.NewInt(int64(c.txs))), 0, common.Hash{}, 0)
	return result{ret: ret, logs: logs, err: err}
}

func (c *chain) deploy(from common.Address, code []byte, value int64) common.Address {
	c.t.Helper()
	_, addr, _, err := runtime.Create(code, c.config(from, value, 30_000_000))
	c.finish(nil, err)
	if err != nil {
		c.t.Fatalf("deploy: %v", err)
	}
	return addr
}

func (c *chain) try(from, to common.Address, data []byte, value int64, gas uint64) result {
	ret, _, err := runtime.Call(to, data, c.config(from, value, gas))
	return c.finish(ret, err)
}

func (c *chain) call(from, to common.Address, data []byte, value int64) result {
	c.t.Helper()
	r := c.try(from, to, data, value, 30_000_000)
	if r.err != nil {
		c.t.Fatalf("call %x: %v (ret %x)", data[:min(4, len(data))], r.err, r.ret)
	}
	return r
}

// uint calls a view returning a single uint256 or address word.
func (c *chain) uint(to common.Address, data []byte) *big.Int {
	c.t.Helper()
	return new(big.Int).SetBytes(c.call(alice, to, data, 0).ret)
}

func (c *chain) balance(a common.Address) uint64 { return c.db.GetBalance(a).Uint64() }

// wantCustomError checks r reverted with the named custom error and arguments.
func wantCustomError(t *testing.T, r result, con *Contract, name string, args ...any) {
	t.Helper()
	if !errors.Is(r.err, vm.ErrExecutionReverted) {
		t.Fatalf("err = %v, want revert %s", r.err, name)
	}
	e := con.ABI.Errors[name]
	got, err := e.Unpack(r.ret)
	if err != nil {
		t.Fatalf("revert data %x is not %s: %v", r.ret, name, err)
	}
	vals := got.([]any)
	if len(vals) != len(args) {
		t.Fatalf("%s args = %v, want %v", name, vals, args)
	}
	for i, v := range vals {
		w, isBig := args[i].(*big.Int)
		if isBig && w.Cmp(v.(*big.Int)) != 0 || !isBig && !reflect.DeepEqual(v, args[i]) {
			t.Fatalf("%s args = %v, want %v", name, vals, args)
		}
	}
}

func word(a common.Address) common.Hash { return common.BytesToHash(a[:]) }

func e18(n int64) *big.Int { return new(big.Int).Mul(big.NewInt(n), big.NewInt(1e18)) }

func TestArtifactsAndLayout(t *testing.T) {
	want := map[string]map[string]common.Hash{
		"Token":   {"balanceOf": common.Hash{}, "allowance": {31: 1}, "totalSupply": TokenTotalSupplySlot(), "name": {31: 3}, "symbol": {31: 4}},
		"AMM":     {"token0": AMMToken0Slot(), "token1": AMMToken1Slot(), "reserve0": AMMReserve0Slot(), "reserve1": AMMReserve1Slot()},
		"Child":   {"value": ChildValueSlot()},
		"Probe":   {"sink": {}},
		"Factory": {},
	}
	for name, slots := range want {
		a, err := readArtifact(name)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]common.Hash{}
		for _, s := range a.StorageLayout.Storage {
			n, err := strconv.ParseUint(s.Slot, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			got[s.Label] = slot(n)
		}
		if !reflect.DeepEqual(got, slots) {
			t.Errorf("%s storage layout = %v, want %v", name, got, slots)
		}
	}
	// Child2Address hashes Child.Bytecode, so Factory must embed exactly it.
	if !bytes.Contains(Factory.Bytecode, Child.Bytecode) {
		t.Error("Factory bytecode does not embed Child's creation code: rebuild with build.sh")
	}
	// Deployed code equals the artifact's runtime code (no immutables).
	c := newChain(t)
	for _, con := range []*Contract{Factory, Child, Probe} {
		if addr := c.deploy(alice, con.Bytecode, 0); !bytes.Equal(c.db.GetCode(addr), con.Runtime) {
			t.Errorf("%s: deployed code differs from Runtime", con.Name)
		}
	}
	if addr := c.deploy(alice, TokenDeployCode("A", "A", big.NewInt(1)), 0); !bytes.Equal(c.db.GetCode(addr), Token.Runtime) {
		t.Error("Token: deployed code differs from Runtime")
	}
}

func TestSelectors(t *testing.T) {
	for _, tc := range []struct {
		data []byte
		sel  string
	}{
		{TokenTransfer(bob, big.NewInt(1)), "a9059cbb"},
		{TokenApprove(bob, big.NewInt(1)), "095ea7b3"},
		{TokenTransferFrom(alice, bob, big.NewInt(1)), "23b872dd"},
		{TokenBalanceOf(bob), "70a08231"},
	} {
		if got := common.Bytes2Hex(tc.data[:4]); got != tc.sel || len(tc.data) < 36 {
			t.Errorf("selector %s, want %s (len %d)", got, tc.sel, len(tc.data))
		}
	}
	if got := AMMSwapOut(big.NewInt(100), big.NewInt(1000), big.NewInt(1000)); got.Int64() != 90 {
		t.Errorf("AMMSwapOut(100, 1000, 1000) = %v, want 90", got) // 99700000/1099700
	}
}

func TestTokenTransfer(t *testing.T) {
	c := newChain(t)
	supply := e18(1_000_000)
	tok := c.deploy(alice, TokenDeployCode("Mega", "MEGA", supply), 0)

	if got := c.uint(tok, TokenBalanceOf(alice)); got.Cmp(supply) != 0 {
		t.Fatalf("balanceOf(alice) = %v, want %v", got, supply)
	}
	if got := c.uint(tok, Token.pack("decimals")); got.Int64() != 18 {
		t.Errorf("decimals = %v", got)
	}
	out, err := Token.ABI.Unpack("symbol", c.call(alice, tok, Token.pack("symbol"), 0).ret)
	if err != nil || out[0] != "MEGA" {
		t.Errorf("symbol = %v, %v", out, err)
	}

	r := c.call(alice, tok, TokenTransfer(bob, big.NewInt(100)), 0)
	if new(big.Int).SetBytes(r.ret).Int64() != 1 {
		t.Errorf("transfer returned %x, want true", r.ret)
	}
	if len(r.logs) != 1 {
		t.Fatalf("got %d logs, want 1", len(r.logs))
	}
	l := r.logs[0]
	wantTopics := []common.Hash{Token.ABI.Events["Transfer"].ID, word(alice), word(bob)}
	if l.Address != tok || !reflect.DeepEqual(l.Topics, wantTopics) || new(big.Int).SetBytes(l.Data).Int64() != 100 {
		t.Errorf("Transfer log = %+v", l)
	}
	rest := new(big.Int).Sub(supply, big.NewInt(100))
	if got := c.uint(tok, TokenBalanceOf(alice)); got.Cmp(rest) != 0 {
		t.Errorf("balanceOf(alice) = %v, want %v", got, rest)
	}
	if got := c.uint(tok, TokenBalanceOf(bob)); got.Int64() != 100 {
		t.Errorf("balanceOf(bob) = %v, want 100", got)
	}
	if got := c.db.GetState(tok, TokenBalanceSlot(bob)).Big(); got.Int64() != 100 {
		t.Errorf("bob's balance slot = %v, want 100", got)
	}
	if got := c.db.GetState(tok, TokenTotalSupplySlot()).Big(); got.Cmp(supply) != 0 {
		t.Errorf("totalSupply slot = %v, want %v", got, supply)
	}
}

func TestTokenRevertsAndAllowance(t *testing.T) {
	c := newChain(t)
	tok := c.deploy(alice, TokenDeployCode("T", "T", big.NewInt(1000)), 0)
	c.call(alice, tok, TokenTransfer(bob, big.NewInt(10)), 0)

	r := c.try(bob, tok, TokenTransfer(carol, big.NewInt(11)), 0, 1_000_000)
	wantCustomError(t, r, Token, "InsufficientBalance", bob, big.NewInt(10), big.NewInt(11))
	if len(r.logs) != 0 || c.uint(tok, TokenBalanceOf(bob)).Int64() != 10 || c.uint(tok, TokenBalanceOf(carol)).Sign() != 0 {
		t.Error("reverted transfer changed state or logged")
	}

	r = c.try(bob, tok, TokenTransferFrom(alice, bob, big.NewInt(1)), 0, 1_000_000)
	wantCustomError(t, r, Token, "InsufficientAllowance", alice, bob, big.NewInt(0), big.NewInt(1))

	c.call(alice, tok, TokenApprove(bob, big.NewInt(50)), 0)
	if got := c.db.GetState(tok, TokenAllowanceSlot(alice, bob)).Big(); got.Int64() != 50 {
		t.Fatalf("allowance slot = %v, want 50", got)
	}
	c.call(bob, tok, TokenTransferFrom(alice, carol, big.NewInt(20)), 0)
	if got := c.uint(tok, Token.pack("allowance", alice, bob)); got.Int64() != 30 {
		t.Errorf("allowance = %v, want 30", got)
	}
	if got := c.db.GetState(tok, TokenAllowanceSlot(alice, bob)).Big(); got.Int64() != 30 {
		t.Errorf("allowance slot = %v, want 30", got)
	}
	if c.uint(tok, TokenBalanceOf(carol)).Int64() != 20 || c.uint(tok, TokenBalanceOf(alice)).Int64() != 970 {
		t.Error("transferFrom moved wrong amounts")
	}
}

// TestTokenGenesisSlots builds a Token purely from code and storage writes.
func TestTokenGenesisSlots(t *testing.T) {
	c := newChain(t)
	tok := common.HexToAddress("0x70c3")
	c.db.SetCode(tok, Token.Runtime, tracing.CodeChangeUnspecified)
	c.db.SetState(tok, TokenBalanceSlot(alice), common.BigToHash(big.NewInt(777)))
	c.db.SetState(tok, TokenAllowanceSlot(alice, bob), common.BigToHash(big.NewInt(5)))
	c.db.SetState(tok, TokenTotalSupplySlot(), common.BigToHash(big.NewInt(777)))
	c.db.Finalise(c.rules)

	if got := c.uint(tok, TokenBalanceOf(alice)); got.Int64() != 777 {
		t.Errorf("balanceOf(alice) = %v, want 777", got)
	}
	if got := c.uint(tok, Token.pack("allowance", alice, bob)); got.Int64() != 5 {
		t.Errorf("allowance(alice, bob) = %v, want 5", got)
	}
	if got := c.uint(tok, Token.pack("totalSupply")); got.Int64() != 777 {
		t.Errorf("totalSupply = %v, want 777", got)
	}
	c.call(bob, tok, TokenTransferFrom(alice, carol, big.NewInt(5)), 0)
	if c.uint(tok, TokenBalanceOf(alice)).Int64() != 772 || c.uint(tok, TokenBalanceOf(carol)).Int64() != 5 {
		t.Error("transferFrom on genesis-built state moved wrong amounts")
	}
}

func TestAMM(t *testing.T) {
	c := newChain(t)
	t0 := c.deploy(alice, TokenDeployCode("Zero", "T0", e18(1_000_000)), 0)
	t1 := c.deploy(alice, TokenDeployCode("One", "T1", e18(1_000_000)), 0)
	pool := c.deploy(alice, AMMDeployCode(t0, t1), 0)
	if c.db.GetState(pool, AMMToken0Slot()) != word(t0) || c.db.GetState(pool, AMMToken1Slot()) != word(t1) {
		t.Fatal("token slots do not hold the constructor's addresses")
	}

	r := c.try(alice, pool, AMMSwap(true, big.NewInt(1), common.Big0), 0, 1_000_000)
	wantCustomError(t, r, AMM, "EmptyReserves")

	maxU := new(big.Int).Sub(new(big.Int).Lsh(common.Big1, 256), common.Big1)
	c.call(alice, t0, TokenApprove(pool, maxU), 0)
	c.call(alice, t1, TokenApprove(pool, maxU), 0)
	r0, r1 := e18(1000), e18(4000)
	c.call(alice, pool, AMMAddLiquidity(r0, r1), 0)
	if c.uint(t0, TokenBalanceOf(pool)).Cmp(r0) != 0 || c.uint(t1, TokenBalanceOf(pool)).Cmp(r1) != 0 {
		t.Fatal("addLiquidity did not pull the tokens")
	}

	in := e18(10)
	// 10e18*997*4000e18 / (1000e18*1000 + 10e18*997)
	want, _ := new(big.Int).SetString("39486321375882451954", 10)
	if got := AMMSwapOut(in, r0, r1); got.Cmp(want) != 0 {
		t.Fatalf("AMMSwapOut = %v, want %v", got, want)
	}

	r = c.try(alice, pool, AMMSwap(true, in, new(big.Int).Add(want, common.Big1)), 0, 1_000_000)
	wantCustomError(t, r, AMM, "Slippage", want, new(big.Int).Add(want, common.Big1))

	bal1 := c.uint(t1, TokenBalanceOf(alice))
	r = c.call(alice, pool, AMMSwap(true, in, want), 0)
	if got := new(big.Int).SetBytes(r.ret); got.Cmp(want) != 0 {
		t.Fatalf("swap out = %v, want %v", got, want)
	}
	if got := new(big.Int).Sub(c.uint(t1, TokenBalanceOf(alice)), bal1); got.Cmp(want) != 0 {
		t.Errorf("alice received %v, want %v", got, want)
	}
	n0, n1 := new(big.Int).Add(r0, in), new(big.Int).Sub(r1, want)
	res, err := AMM.ABI.Unpack("getReserves", c.call(alice, pool, AMMGetReserves(), 0).ret)
	if err != nil || res[0].(*big.Int).Cmp(n0) != 0 || res[1].(*big.Int).Cmp(n1) != 0 {
		t.Errorf("getReserves = %v (%v), want %v %v", res, err, n0, n1)
	}
	if c.db.GetState(pool, AMMReserve0Slot()).Big().Cmp(n0) != 0 || c.db.GetState(pool, AMMReserve1Slot()).Big().Cmp(n1) != 0 {
		t.Error("reserve slots disagree with getReserves")
	}
	if new(big.Int).Mul(n0, n1).Cmp(new(big.Int).Mul(r0, r1)) < 0 {
		t.Error("k decreased")
	}

	// Reverse direction uses reserve1 as input.
	back := AMMSwapOut(want, n1, n0)
	r = c.call(alice, pool, AMMSwap(false, want, back), 0)
	if new(big.Int).SetBytes(r.ret).Cmp(back) != 0 || back.Cmp(in) >= 0 {
		t.Errorf("reverse swap out = %x, want %v (< %v)", r.ret, back, in)
	}
	if len(r.logs) != 3 || r.logs[2].Topics[0] != AMM.ABI.Events["Swap"].ID {
		t.Errorf("reverse swap logs = %d, want 2 Transfers and a Swap", len(r.logs))
	}
}

func TestFactory(t *testing.T) {
	c := newChain(t)
	f := c.deploy(alice, Factory.Bytecode, 0)

	r := c.call(alice, f, FactoryDeploy(), 0)
	child := common.BytesToAddress(r.ret)
	if want := crypto.CreateAddress(f, 1); child != want {
		t.Errorf("deploy() = %v, want %v", child, want)
	}
	if !bytes.Equal(c.db.GetCode(child), Child.Runtime) || c.db.GetState(child, ChildValueSlot()) != (common.Hash{31: 1}) {
		t.Error("CREATE child has wrong code or value")
	}

	salt := [32]byte{31: 7}
	r = c.call(alice, f, FactoryDeploy2(salt), 5)
	child2 := common.BytesToAddress(r.ret)
	if want := Child2Address(f, salt); child2 != want {
		t.Fatalf("deploy2() = %v, want Child2Address %v", child2, want)
	}
	if !bytes.Equal(c.db.GetCode(child2), Child.Runtime) || c.balance(child2) != 5 {
		t.Error("CREATE2 child has wrong code or balance")
	}
	ev := Factory.ABI.Events["Deployed"]
	if len(r.logs) != 1 || !reflect.DeepEqual(r.logs[0].Topics, []common.Hash{ev.ID, word(child2), salt}) {
		t.Errorf("Deployed log = %+v", r.logs)
	}
	if r := c.try(alice, f, FactoryDeploy2(salt), 0, 1_000_000); !errors.Is(r.err, vm.ErrExecutionReverted) {
		t.Errorf("second deploy2 with same salt: err = %v, want revert", r.err)
	}

	c.call(bob, child2, ChildSet(big.NewInt(42)), 0)
	if got := c.uint(child2, ChildGet()); got.Int64() != 42 {
		t.Errorf("get() = %v, want 42", got)
	}

	// Destroying in a later transaction only moves the balance (EIP-6780).
	c.call(bob, child2, ChildDestroy(carol), 0)
	if c.balance(carol) != 5 || c.balance(child2) != 0 || !bytes.Equal(c.db.GetCode(child2), Child.Runtime) {
		t.Error("late destroy: want balance moved and code kept")
	}
}

func TestFactoryDeployAndDestroy(t *testing.T) {
	c := newChain(t)
	f := c.deploy(alice, Factory.Bytecode, 0)
	salt := [32]byte{1}
	want := Child2Address(f, salt)

	for i := range 2 { // the second run works because the first really deleted the account
		r := c.call(alice, f, FactoryDeployAndDestroy(salt, carol), 9)
		if got := common.BytesToAddress(r.ret); got != want {
			t.Fatalf("run %d: deployAndDestroy() = %v, want %v", i, got, want)
		}
		if c.db.Exist(want) || len(c.db.GetCode(want)) != 0 || c.db.GetState(want, ChildValueSlot()) != (common.Hash{}) {
			t.Fatalf("run %d: child still exists after the transaction", i)
		}
		if got := c.balance(carol); got != uint64(9*(i+1)) {
			t.Fatalf("run %d: beneficiary balance = %d", i, got)
		}
	}
}

func TestProbeFail(t *testing.T) {
	c := newChain(t)
	p := c.deploy(alice, Probe.Bytecode, 0)
	r := c.try(alice, p, ProbeFail("boom"), 0, 1_000_000)
	if !errors.Is(r.err, vm.ErrExecutionReverted) {
		t.Fatalf("err = %v, want revert", r.err)
	}
	if reason, err := abi.UnpackRevert(r.ret); err != nil || reason != "boom" {
		t.Errorf("reason = %q, %v; want boom", reason, err)
	}
}

func TestProbeBurn(t *testing.T) {
	c := newChain(t)
	p := c.deploy(alice, Probe.Bytecode, 0)
	sinkSlot := func(i int64) common.Hash { return mappingSlot(common.BigToHash(big.NewInt(i)), common.Hash{}) }

	r := c.try(alice, p, ProbeBurn(1000), 0, 200_000)
	if !errors.Is(r.err, vm.ErrOutOfGas) {
		t.Fatalf("burn(1000) with 200k gas: err = %v, want out of gas", r.err)
	}
	if c.db.GetState(p, sinkSlot(0)) != (common.Hash{}) {
		t.Error("out-of-gas burn left storage behind")
	}

	r = c.call(alice, p, ProbeBurn(2), 0)
	var h common.Hash
	for i := int64(0); i < 2; i++ {
		h = crypto.Keccak256Hash(h[:], common.BigToHash(big.NewInt(i)).Bytes())
		if got := c.db.GetState(p, sinkSlot(i)); got != h {
			t.Errorf("sink[%d] = %v, want %v", i, got, h)
		}
	}
	if common.BytesToHash(r.ret) != h {
		t.Errorf("burn(2) = %x, want %v", r.ret, h)
	}
}

func TestProbeTransient(t *testing.T) {
	c := newChain(t)
	p := c.deploy(alice, Probe.Bytecode, 0)
	root := c.db.IntermediateRoot(c.rules)
	for i := range 2 { // transient storage resets between transactions
		if got := c.uint(p, ProbeTCount()); got.Int64() != 2 {
			t.Errorf("tcount() #%d = %v, want 2", i, got)
		}
	}
	if got := c.uint(p, ProbeTStoreThenRevert()); got.Int64() != 123 {
		t.Errorf("tstoreThenRevert() = %v, want 123", got)
	}
	if c.db.IntermediateRoot(c.rules) != root {
		t.Error("transient-storage calls changed persistent state")
	}
}

func TestProbeStorageAndLogs(t *testing.T) {
	c := newChain(t)
	p := c.deploy(alice, Probe.Bytecode, 0)
	slot5, val := common.Hash{31: 5}, common.HexToHash("0xdead")
	c.call(alice, p, ProbeStore(slot5, val), 0)
	if got := c.db.GetState(p, slot5); got != val {
		t.Fatalf("slot 5 = %v, want %v", got, val)
	}
	c.call(alice, p, ProbeClear(slot5), 0)
	if got := c.db.GetState(p, slot5); got != (common.Hash{}) {
		t.Errorf("slot 5 after clear = %v", got)
	}

	r := c.call(bob, p, ProbeEmitMany(3), 0)
	if len(r.logs) != 3 {
		t.Fatalf("emitMany(3) logged %d", len(r.logs))
	}
	for i, l := range r.logs {
		want := []common.Hash{Probe.ABI.Events["Tick"].ID, common.BigToHash(big.NewInt(int64(i))), word(bob)}
		if l.Address != p || !reflect.DeepEqual(l.Topics, want) {
			t.Errorf("log %d = %+v", i, l)
		}
	}
}

func TestProbeSelfDestruct(t *testing.T) {
	c := newChain(t)
	p := c.deploy(alice, Probe.Bytecode, 0)
	c.call(alice, p, nil, 10) // receive()
	if c.balance(p) != 10 {
		t.Fatalf("probe balance = %d, want 10", c.balance(p))
	}
	c.call(bob, p, ProbeSelfDestruct(carol), 0)
	// Not created in this transaction: EIP-6780 only sends the balance.
	if c.balance(carol) != 10 || c.balance(p) != 0 || !bytes.Equal(c.db.GetCode(p), Probe.Runtime) {
		t.Errorf("after selfDestruct: carol %d, probe %d, code kept %v", c.balance(carol), c.balance(p), len(c.db.GetCode(p)) > 0)
	}
}
