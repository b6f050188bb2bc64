package exec

import (
	"bytes"
	"context"
	"errors"
	"math/big"
	"reflect"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/params"
	"github.com/meganode/meganode/model/contracts"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/state"
)

var (
	tokenAddr = common.HexToAddress("0x2001")
	probeAddr = common.HexToAddress("0x2002")
	holder    = common.HexToAddress("0x3001")
	noHash    = func(uint64) common.Hash { return common.Hash{} }
)

// callEnv is a state holding the Token (with one balance set) and the
// Probe, and an executor to call them.
func callEnv(t *testing.T) (*Executor, *state.Mem, *types.Header) {
	t.Helper()
	ex, err := New(Config{Chain: DefaultChainConfig(testChainID), Policy: DefaultPolicy()})
	if err != nil {
		t.Fatal(err)
	}
	st, err := state.FromAlloc(types.GenesisAlloc{
		tokenAddr: {Code: contracts.Token.Runtime, Storage: map[common.Hash]common.Hash{
			contracts.TokenBalanceSlot(holder): common.BigToHash(big.NewInt(123_456_789)),
		}},
		probeAddr: {Code: contracts.Probe.Runtime},
	})
	if err != nil {
		t.Fatal(err)
	}
	header := &types.Header{Number: big.NewInt(5), Time: 60, Coinbase: coinbase, GasLimit: 30_000_000,
		BaseFee: big.NewInt(params.GWei), Difficulty: new(big.Int)}
	return ex, st, header
}

func TestCallReadsTokenBalance(t *testing.T) {
	ex, st, header := callEnv(t)
	for _, c := range []struct {
		who  common.Address
		want int64
	}{{holder, 123_456_789}, {addrA, 0}} {
		// From an account that does not exist and pays nothing: eth_call
		// makes no balance or nonce checks.
		out, used, err := ex.Call(context.Background(), st, header, noHash, common.Address{0xf0}, ptr(tokenAddr), contracts.TokenBalanceOf(c.who), 0, nil)
		if err != nil {
			t.Fatalf("balanceOf(%v): %v", c.who, err)
		}
		want := common.BigToHash(big.NewInt(c.want)).Bytes()
		if !bytes.Equal(out, want) {
			t.Fatalf("balanceOf(%v) = %x, want %x", c.who, out, want)
		}
		if used <= params.TxGas {
			t.Fatalf("gas used %d: the contract did not run", used)
		}
	}
}

func TestCallRevertReturnsRevertData(t *testing.T) {
	ex, st, header := callEnv(t)
	out, used, err := ex.Call(context.Background(), st, header, noHash, addrA, ptr(probeAddr), contracts.ProbeFail("x"), 100_000, nil)
	if !errors.Is(err, ErrReverted) {
		t.Fatalf("got %v, want ErrReverted", err)
	}
	reason, uerr := abi.UnpackRevert(out)
	if uerr != nil || reason != "x" {
		t.Fatalf("revert data %x unpacks to %q (%v), want \"x\"", out, reason, uerr)
	}
	if used == 0 {
		t.Fatal("a reverted call reports no gas used")
	}
}

// An eth_call stops when its context ends (the client went away, or its
// deadline passed), long before its gas would run out, with the context's
// error; one whose context ended before it began does not run at all.
func TestCallStopsWhenItsContextEnds(t *testing.T) {
	ex, st, header := callEnv(t)
	loop := []byte{0x5b, 0x60, 0x00, 0x56} // JUMPDEST PUSH1 0 JUMP: forever
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, used, err := ex.Call(ctx, st, header, noHash, addrA, nil, loop, DefaultCallGas, nil)
		if err == nil {
			err = errors.New("no error")
		}
		_ = used
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled call ended with %v, want context.Canceled", err)
	}
	ctx, stop := context.WithTimeout(context.Background(), 0)
	defer stop()
	if _, used, err := ex.Call(ctx, st, header, noHash, addrA, nil, loop, DefaultCallGas, nil); !errors.Is(err, context.DeadlineExceeded) || used != 0 {
		t.Fatalf("a call past its deadline: used %d, %v", used, err)
	}
	// The same call with a live context runs to its gas cap.
	if _, used, err := ex.Call(context.Background(), st, header, noHash, addrA, nil, loop, 1_000_000, nil); !errors.Is(err, vm.ErrOutOfGas) || used != 1_000_000 {
		t.Fatalf("the loop with 1M gas: used %d, %v", used, err)
	}
}

func TestCallOutOfGasIsNotARevert(t *testing.T) {
	ex, st, header := callEnv(t)
	// Enough for the intrinsic cost, not for 100 rounds of burn.
	out, _, err := ex.Call(context.Background(), st, header, noHash, addrA, ptr(probeAddr), contracts.ProbeBurn(100), 60_000, nil)
	if err == nil || errors.Is(err, ErrReverted) {
		t.Fatalf("got %v, want a non-revert failure", err)
	}
	if !errors.Is(err, vm.ErrOutOfGas) {
		t.Fatalf("got %v, want out of gas", err)
	}
	if out != nil {
		t.Fatalf("a failed call returned %x", out)
	}
}

func TestCallChangesNoState(t *testing.T) {
	ex, st, header := callEnv(t)
	before := st.Copy().(*state.Mem)
	root := st.Root()
	slot, val := common.Hash{31: 5}, common.Hash{31: 7}
	for _, c := range []struct {
		to      common.Address
		data    []byte
		reverts bool
	}{
		{tokenAddr, contracts.TokenBalanceOf(holder), false},
		{tokenAddr, contracts.TokenTransfer(addrB, big.NewInt(1000)), false}, // from holder: moves balance inside the call
		{probeAddr, contracts.ProbeStore(slot, val), false},
		{probeAddr, contracts.ProbeBurn(3), false},
		{probeAddr, contracts.ProbeEmitMany(4), false},
		{probeAddr, contracts.ProbeFail("x"), true},
	} {
		_, _, err := ex.Call(context.Background(), st, header, noHash, holder, ptr(c.to), c.data, 0, nil)
		if c.reverts != errors.Is(err, ErrReverted) || (!c.reverts && err != nil) {
			t.Fatalf("call %x to %v: %v", c.data[:4], c.to, err)
		}
	}
	if st.Root() != root {
		t.Fatal("a call changed the state root")
	}
	if d := state.FirstDifference(before, st); d != "" {
		t.Fatalf("a call changed the state: %s", d)
	}
	if st.Storage(probeAddr, slot) != (common.Hash{}) {
		t.Fatal("Probe.store wrote through a call")
	}
	if acc, ok := st.Account(common.Address{0xf0}); ok {
		t.Fatalf("a call created its sender: %+v", acc)
	}
	// The transfer succeeded inside its call, but a later call still sees
	// the stored balance, not the moved one.
	out, _, err := ex.Call(context.Background(), st, header, noHash, holder, ptr(tokenAddr), contracts.TokenBalanceOf(holder), 0, nil)
	if err != nil || new(big.Int).SetBytes(out).Int64() != 123_456_789 {
		t.Fatalf("balance after calls: %x, %v", out, err)
	}
}

// resumeEnv is newEnv with the Probe deployed, for transactions that emit
// logs.
func resumeEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, DefaultPolicy())
	if err := e.st.Apply(&chain.Diff{Accounts: []chain.AccountDiff{{Address: probeAddr, Flags: chain.SetCode, Code: contracts.Probe.Runtime}}}); err != nil {
		t.Fatal(err)
	}
	return e
}

// resumeTxs are transactions with differing gas and log counts, including
// one that emits nothing and one that reverts.
func resumeTxs(e *env) []*types.Transaction {
	return []*types.Transaction{
		e.tx(keyA, ptr(probeAddr), nil, 200_000, contracts.ProbeEmitMany(2)),
		e.tx(keyA, ptr(addrB), big.NewInt(5), 21_000, nil),
		e.tx(keyA, ptr(probeAddr), nil, 200_000, contracts.ProbeEmitMany(3)),
		e.tx(keyA, ptr(probeAddr), nil, 200_000, contracts.ProbeFail("no")),
		e.tx(keyA, ptr(probeAddr), nil, 200_000, contracts.ProbeEmitMany(1)),
		e.tx(keyA, ptr(probeAddr), nil, 200_000, contracts.ProbeEmitMany(4)),
	}
}

func TestResumeBlockContinuesReceipts(t *testing.T) {
	// The whole block in one go.
	whole := resumeEnv(t)
	txs := resumeTxs(whole)
	b := whole.block()
	b.Begin()
	var want []*types.Receipt
	for _, tx := range txs {
		r, _, err := b.ApplyTx(tx)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, r)
	}
	if err := whole.st.Apply(b.Flush()); err != nil {
		t.Fatal(err)
	}
	// Sanity: the logs are numbered across the block.
	if n := want[5].Logs[3].Index; n != 9 {
		t.Fatalf("last log has index %d, want 9", n)
	}
	if want[3].Status != types.ReceiptStatusFailed {
		t.Fatal("the failing call did not fail")
	}

	for k := 0; k < len(txs); k++ {
		e := resumeEnv(t)
		first := e.block()
		first.Begin()
		var got []*types.Receipt
		for _, tx := range txs[:k] {
			r, _, err := first.ApplyTx(tx)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, r)
		}
		if err := e.st.Apply(first.Flush()); err != nil {
			t.Fatal(err)
		}
		// A restarted sequencer: only the flushed state and the totals.
		rest, err := e.ex.ResumeBlock(e.st, e.header, noHash, first.GasUsed(), first.BlobGasUsed(), first.TxCount(), first.LogCount())
		if err != nil {
			t.Fatalf("k=%d: %v", k, err)
		}
		if rest.GasUsed() != first.GasUsed() || rest.TxCount() != k || rest.LogCount() != first.LogCount() {
			t.Fatalf("k=%d: resumed with gas %d, txs %d, logs %d", k, rest.GasUsed(), rest.TxCount(), rest.LogCount())
		}
		for _, tx := range txs[k:] {
			r, _, err := rest.ApplyTx(tx)
			if err != nil {
				t.Fatalf("k=%d: %v", k, err)
			}
			got = append(got, r)
		}
		if err := e.st.Apply(rest.Flush()); err != nil {
			t.Fatal(err)
		}
		for i := range want {
			w, g := want[i], got[i]
			if g.CumulativeGasUsed != w.CumulativeGasUsed || g.TransactionIndex != w.TransactionIndex ||
				g.GasUsed != w.GasUsed || g.Status != w.Status || len(g.Logs) != len(w.Logs) {
				t.Fatalf("k=%d, tx %d: got cumulative gas %d, index %d, gas %d, status %d, %d logs; want %d, %d, %d, %d, %d",
					k, i, g.CumulativeGasUsed, g.TransactionIndex, g.GasUsed, g.Status, len(g.Logs),
					w.CumulativeGasUsed, w.TransactionIndex, w.GasUsed, w.Status, len(w.Logs))
			}
			for j := range w.Logs {
				if g.Logs[j].Index != w.Logs[j].Index || g.Logs[j].TxIndex != w.Logs[j].TxIndex {
					t.Fatalf("k=%d, tx %d, log %d: index %d (tx %d), want %d (tx %d)", k, i, j,
						g.Logs[j].Index, g.Logs[j].TxIndex, w.Logs[j].Index, w.Logs[j].TxIndex)
				}
			}
			if !reflect.DeepEqual(g, w) {
				t.Fatalf("k=%d, tx %d: receipts differ:\n got %+v\nwant %+v", k, i, g, w)
			}
		}
		if rest.GasUsed() != b.GasUsed() || rest.TxCount() != b.TxCount() || rest.LogCount() != b.LogCount() {
			t.Fatalf("k=%d: totals gas %d txs %d logs %d, want %d %d %d", k,
				rest.GasUsed(), rest.TxCount(), rest.LogCount(), b.GasUsed(), b.TxCount(), b.LogCount())
		}
		if d := state.FirstDifference(e.st, whole.st); d != "" || e.st.Root() != whole.st.Root() {
			t.Fatalf("k=%d: state differs from the uninterrupted block: %s", k, d)
		}
	}
}

func TestResumeBlockRefusesGasAboveTheLimit(t *testing.T) {
	e := resumeEnv(t)
	if _, err := e.ex.ResumeBlock(e.st, e.header, noHash, e.header.GasLimit+1, 0, 1, 0); err == nil {
		t.Fatal("resumed a block that used more gas than its limit")
	}
	// A block resumed nearly full has only the gas left that it had.
	b, err := e.ex.ResumeBlock(e.st, e.header, noHash, e.header.GasLimit-20_000, 0, 7, 0)
	if err != nil {
		t.Fatal(err)
	}
	if b.GasLeft() != 20_000 {
		t.Fatalf("gas left %d, want 20000", b.GasLeft())
	}
	_, _, err = b.ApplyTx(e.tx(keyA, ptr(addrB), big.NewInt(1), 21_000, nil))
	var te *TxError
	if !errors.As(err, &te) || te.Reason != ReasonGasLimit {
		t.Fatalf("got %v, want a gas limit refusal", err)
	}
}
