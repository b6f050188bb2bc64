package exec

import (
	"context"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/tracers"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"
	"github.com/meganode/meganode/node/state"
)

// structResult is the struct logger's answer (logger.ExecutionResult).
type structResult struct {
	Gas         uint64          `json:"gas"`
	Failed      bool            `json:"failed"`
	ReturnValue string          `json:"returnValue"`
	StructLogs  []structLogLine `json:"structLogs"`
}

type structLogLine struct {
	Op    string   `json:"op"`
	Depth int      `json:"depth"`
	Stack []string `json:"stack"`
}

// callFrame is callTracer's answer, the fields the tests read.
type callFrame struct {
	Type    string          `json:"type"`
	From    common.Address  `json:"from"`
	To      common.Address  `json:"to"`
	Gas     hexutil.Uint64  `json:"gas"`
	GasUsed hexutil.Uint64  `json:"gasUsed"`
	Output  hexutil.Bytes   `json:"output"`
	Error   string          `json:"error"`
	Logs    []callFrameLog  `json:"logs"`
	Calls   json.RawMessage `json:"calls"`
}

type callFrameLog struct {
	Address common.Address `json:"address"`
	Topics  []common.Hash  `json:"topics"`
}

func named(tracer string, tracerConfig string) *tracers.TraceConfig {
	cfg := &tracers.TraceConfig{Tracer: &tracer}
	if tracerConfig != "" {
		cfg.TracerConfig = json.RawMessage(tracerConfig)
	}
	return cfg
}

// traceBlock executes a transfer, a call that stores its input and a call
// that logs, as one block (the chain's receipts), and returns them with
// the block's start.
func traceBlock(t *testing.T) (*env, []*types.Transaction, []*types.Receipt, TraceStart) {
	t.Helper()
	e := newEnv(t, DefaultPolicy())
	txs := []*types.Transaction{
		e.tx(keyA, &addrB, big.NewInt(7), params.TxGas, nil),
		e.tx(keyA, ptr(setSlotFromInput), nil, 100_000, common.BigToHash(big.NewInt(42)).Bytes()),
		e.tx(keyA, ptr(logger), nil, 100_000, nil),
	}
	b := e.block()
	b.Begin()
	var receipts []*types.Receipt
	for _, tx := range txs {
		r, _, err := b.ApplyTx(tx)
		if err != nil {
			t.Fatal(err)
		}
		receipts = append(receipts, r)
	}
	return e, txs, receipts, TraceStart{Header: e.header, GetHash: noHash, Begin: true}
}

// The struct logger (no tracer named) traces the transactions from the
// index asked, on the state the ones before left: its gas is each
// receipt's, its steps are the contract's opcodes.
func TestTraceTxsStructLogger(t *testing.T) {
	e, txs, receipts, start := traceBlock(t)
	traces, err := e.ex.TraceTxs(context.Background(), e.st, start, txs, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(traces) != 2 {
		t.Fatalf("%d traces, want 2", len(traces))
	}
	for i, tr := range traces {
		r := receipts[i+1]
		var res structResult
		if err := json.Unmarshal(tr.Result, &res); err != nil {
			t.Fatalf("trace %d: %v: %s", i, err, tr.Result)
		}
		if tr.TxHash != r.TxHash || res.Gas != r.GasUsed || res.Failed || len(res.StructLogs) == 0 {
			t.Fatalf("trace %d: hash %v gas %d failed %v %d steps; receipt %v gas %d", i, tr.TxHash, res.Gas, res.Failed, len(res.StructLogs), r.TxHash, r.GasUsed)
		}
		if tr.Receipt.GasUsed != r.GasUsed || tr.Receipt.CumulativeGasUsed != r.CumulativeGasUsed {
			t.Fatalf("trace %d: traced receipt gas %d/%d, chain's %d/%d", i, tr.Receipt.GasUsed, tr.Receipt.CumulativeGasUsed, r.GasUsed, r.CumulativeGasUsed)
		}
	}
	var set structResult
	if err := json.Unmarshal(traces[0].Result, &set); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, l := range set.StructLogs {
		ops = append(ops, l.Op)
	}
	if got := strings.Join(ops, " "); got != "PUSH1 CALLDATALOAD PUSH1 SSTORE STOP" {
		t.Fatalf("setSlotFromInput's steps: %s", got)
	}
	// The SSTORE's stack holds the slot and the stored 42.
	if st := set.StructLogs[3].Stack; len(st) != 2 || st[0] != "0x2a" || st[1] != "0x0" {
		t.Fatalf("SSTORE's stack %v", st)
	}
}

// callTracer's frames name the call, its callee and its gas used, which
// is the receipt's; with withLog the frame carries the logs, which the
// hooked state hands the tracer.
func TestTraceTxsCallTracer(t *testing.T) {
	e, txs, receipts, start := traceBlock(t)
	traces, err := e.ex.TraceTxs(context.Background(), e.st, start, txs, 0, named("callTracer", `{"withLog":true}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []common.Address{addrB, setSlotFromInput, logger}
	for i, tr := range traces {
		var f callFrame
		if err := json.Unmarshal(tr.Result, &f); err != nil {
			t.Fatalf("trace %d: %v: %s", i, err, tr.Result)
		}
		if f.Type != "CALL" || f.From != addrA || f.To != want[i] || uint64(f.GasUsed) != receipts[i].GasUsed || uint64(f.Gas) != txs[i].Gas() {
			t.Fatalf("trace %d: %+v; receipt gas %d", i, f, receipts[i].GasUsed)
		}
	}
	var f callFrame
	_ = json.Unmarshal(traces[2].Result, &f)
	if len(f.Logs) != 1 || f.Logs[0].Address != logger || len(f.Logs[0].Topics) != 1 || f.Logs[0].Topics[0] != common.BigToHash(big.NewInt(7)) {
		t.Fatalf("the logging call's logs: %+v", f.Logs)
	}
}

// A transaction of a mini-block after the block's first is traced on the
// state after the earlier mini-blocks, the block resumed: the same traces
// and receipts as from the block's start.
func TestTraceTxsResumedBlockMatchesTheBlockStart(t *testing.T) {
	e, txs, receipts, start := traceBlock(t)
	cfg := named("prestateTracer", `{"diffMode":true}`)
	whole, err := e.ex.TraceTxs(context.Background(), e.st, start, txs, 1, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The first mini-block: the block's start and the transfer.
	b := e.block()
	b.Begin()
	if _, _, err := b.ApplyTx(txs[0]); err != nil {
		t.Fatal(err)
	}
	after := apply(t, e.st, b.Flush())
	resumed := TraceStart{Header: e.header, GetHash: noHash, GasUsed: receipts[0].CumulativeGasUsed, Txs: 1}
	rest, err := e.ex.TraceTxs(context.Background(), after, resumed, txs[1:], 0, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rest {
		if string(rest[i].Result) != string(whole[i].Result) {
			t.Fatalf("trace %d resumed:\n%s\nfrom the block's start:\n%s", i, rest[i].Result, whole[i].Result)
		}
		if r := rest[i].Receipt; r.CumulativeGasUsed != receipts[i+1].CumulativeGasUsed || r.TransactionIndex != receipts[i+1].TransactionIndex {
			t.Fatalf("trace %d resumed: cumulative gas %d index %d, want %d %d", i, r.CumulativeGasUsed, r.TransactionIndex,
				receipts[i+1].CumulativeGasUsed, receipts[i+1].TransactionIndex)
		}
	}
	// The prestate shows the sender's balance before the second
	// transaction: after the transfer's value and fee.
	var diff struct {
		Pre map[common.Address]struct {
			Balance *hexutil.Big `json:"balance"`
		} `json:"pre"`
	}
	if err := json.Unmarshal(rest[0].Result, &diff); err != nil {
		t.Fatal(err)
	}
	acct, _ := after.Account(addrA)
	if got := diff.Pre[addrA].Balance; got == nil || got.ToInt().Cmp(acct.Balance.ToBig()) != 0 {
		t.Fatalf("sender's pre-balance %v, state has %v", got, acct.Balance)
	}
}

// What a trace cannot do fails it: an unknown tracer (JavaScript is not
// built in), a bad tracer configuration, and transactions that do not
// execute where the trace says they ran.
func TestTraceTxsRefusals(t *testing.T) {
	e, txs, _, start := traceBlock(t)
	var te *TracerError
	if _, err := e.ex.TraceTxs(context.Background(), e.st, start, txs, 0, named("{ result: function() {} }", "")); !errors.As(err, &te) {
		t.Fatalf("a JavaScript tracer: %v", err)
	}
	if _, err := e.ex.TraceTxs(context.Background(), e.st, start, txs, 0, named("callTracer", `{"onlyTopCall":"yes"}`)); !errors.As(err, &te) {
		t.Fatalf("a bad tracer configuration: %v", err)
	}
	// Without the transfer before it, the second transaction's nonce is
	// too high: the rebuilt state is not the one it ran on.
	if _, err := e.ex.TraceTxs(context.Background(), e.st, start, txs[1:], 1, nil); !errors.Is(err, ErrDiverged) {
		t.Fatalf("re-executing on the wrong state: %v", err)
	}
	// Traced itself there, it fails as go-ethereum's does.
	if _, err := e.ex.TraceTxs(context.Background(), e.st, start, txs[1:], 0, nil); err == nil || !strings.Contains(err.Error(), "tracing failed: nonce too high") {
		t.Fatalf("tracing on the wrong state: %v", err)
	}
}

// deadlineAt is a context whose deadline passes (or which is cancelled,
// with cancelled set) when the state first reads code: in the middle of
// the traced execution, at a point that does not depend on timing.
type deadlineAt struct {
	context.Context
	done      chan struct{}
	fired     atomic.Bool
	cancelled bool
}

func newDeadlineAt(cancelled bool) *deadlineAt {
	return &deadlineAt{Context: context.Background(), done: make(chan struct{}), cancelled: cancelled}
}

func (c *deadlineAt) Done() <-chan struct{} { return c.done }
func (c *deadlineAt) Err() error {
	if !c.fired.Load() {
		return nil
	}
	if c.cancelled {
		return context.Canceled
	}
	return context.DeadlineExceeded
}
func (c *deadlineAt) fire() {
	if c.fired.CompareAndSwap(false, true) {
		close(c.done)
	}
}

// codeTrigger is a state that fires ctx when the code of hash is read.
type codeTrigger struct {
	state.Reader
	ctx  *deadlineAt
	hash common.Hash
}

func (r codeTrigger) Code(h common.Hash) []byte {
	if h == r.hash {
		r.ctx.fire()
	}
	return r.Reader.Code(h)
}

// A trace whose deadline passes while it runs stops, tracer and EVM, with
// go-ethereum's "execution timeout"; one whose client goes away stops
// with the context's error; one past its deadline before it starts runs
// nothing.
func TestTraceStopsWhenItsContextEnds(t *testing.T) {
	e := newEnv(t, DefaultPolicy())
	loop, loopCode := common.HexToAddress("0x10ff"), []byte{byte(vm.JUMPDEST), byte(vm.PUSH1), 0, byte(vm.JUMP)} // forever
	alloc := testAlloc()
	alloc[loop] = types.Account{Code: loopCode}
	_, st, err := Genesis(&core.Genesis{Config: e.ex.cfg.Chain, Alloc: alloc, GasLimit: 30_000_000, BaseFee: big.NewInt(params.GWei)})
	if err != nil {
		t.Fatal(err)
	}
	e.st = st
	tx := e.tx(keyA, &loop, nil, 16_000_000, nil)
	// Resumed, so that the block's system calls (which read code) do not
	// run first.
	start := TraceStart{Header: e.header, GetHash: noHash}
	trigger := func(ctx *deadlineAt) state.Reader { return codeTrigger{e.st, ctx, crypto.Keccak256Hash(loopCode)} }
	for _, cancelled := range []bool{false, true} {
		ctx := newDeadlineAt(cancelled)
		began := time.Now()
		_, err := e.ex.TraceTxs(ctx, trigger(ctx), start, []*types.Transaction{tx}, 0, named("callTracer", ""))
		switch {
		case !cancelled && !errors.Is(err, ErrTraceTimeout):
			t.Fatalf("past its deadline: %v", err)
		case cancelled && !errors.Is(err, context.Canceled):
			t.Fatalf("cancelled: %v", err)
		}
		t.Logf("stopped after %v: %v", time.Since(began), err)
	}
	// The same call from a trace: stopped too.
	ctx := newDeadlineAt(false)
	if _, err := e.ex.TraceCall(ctx, trigger(ctx), e.header, noHash, addrA, &loop, nil, 16_000_000, nil, nil); !errors.Is(err, ErrTraceTimeout) {
		t.Fatalf("a traced call past its deadline: %v", err)
	}
	past, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	reads := &countingReader{Reader: e.st}
	if _, err := e.ex.TraceTxs(past, reads, start, []*types.Transaction{tx}, 0, nil); !errors.Is(err, ErrTraceTimeout) || reads.n.Load() != 0 {
		t.Fatalf("a trace past its deadline before it began: %v, %d reads", err, reads.n.Load())
	}
	// With a live context the loop runs out of gas: a result, not an error.
	e.nonces[addrA] = 0
	res, err := e.ex.TraceTxs(context.Background(), e.st, start, []*types.Transaction{e.tx(keyA, &loop, nil, 200_000, nil)}, 0, named("callTracer", ""))
	if err != nil {
		t.Fatalf("the loop with a live context: %v", err)
	}
	if !strings.Contains(string(res[0].Result), "out of gas") {
		t.Fatalf("the loop with a live context: %s", res[0].Result)
	}
}

type countingReader struct {
	state.Reader
	n atomic.Int64
}

func (r *countingReader) Account(a common.Address) (state.Account, bool) {
	r.n.Add(1)
	return r.Reader.Account(a)
}

// debug_traceCall: the call eth_call runs, traced; its gas is Call's.
func TestTraceCall(t *testing.T) {
	e := newEnv(t, DefaultPolicy())
	input := common.BigToHash(big.NewInt(5)).Bytes()
	_, used, err := e.ex.Call(context.Background(), e.st, e.header, noHash, addrB, ptr(setSlotFromInput), input, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.ex.TraceCall(context.Background(), e.st, e.header, noHash, addrB, ptr(setSlotFromInput), input, 0, nil, named("callTracer", ""))
	if err != nil {
		t.Fatal(err)
	}
	var f callFrame
	if err := json.Unmarshal(res, &f); err != nil {
		t.Fatal(err)
	}
	if f.Type != "CALL" || f.From != addrB || f.To != setSlotFromInput || uint64(f.GasUsed) != used || f.Error != "" {
		t.Fatalf("traced call %+v, eth_call used %d", f, used)
	}
	// A reverting call is a result; a value its sender cannot pay fails.
	res, err = e.ex.TraceCall(context.Background(), e.st, e.header, noHash, addrA, ptr(sstoreThenRevert), nil, 0, nil, nil)
	var sr structResult
	if err != nil || json.Unmarshal(res, &sr) != nil || !sr.Failed || len(sr.StructLogs) == 0 {
		t.Fatalf("a reverting call: %v %s", err, res)
	}
	if _, err := e.ex.TraceCall(context.Background(), e.st, e.header, noHash, addrB, ptr(setSlotFromInput), nil, 0, uint256.NewInt(2), nil); err == nil ||
		!strings.Contains(err.Error(), "tracing failed: insufficient funds") {
		t.Fatalf("a call whose value the sender cannot pay: %v", err)
	}
}

// The hooked state calls go-ethereum's state hooks as its hooked StateDB
// does: changes that change something, logs after their position is set,
// and a self-destructed account's balance, nonce and code at Finalise.
func TestHookedOverlayCallsTheStateHooks(t *testing.T) {
	e := newEnv(t, DefaultPolicy())
	var got []string
	hooks := &tracing.Hooks{
		OnBalanceChange: func(a common.Address, prev, next *big.Int, r tracing.BalanceChangeReason) {
			got = append(got, "balance "+a.Hex()[:6]+" "+prev.String()+"->"+next.String()+" "+r.String())
		},
		OnNonceChangeV2: func(a common.Address, prev, next uint64, r tracing.NonceChangeReason) {
			got = append(got, "nonce "+a.Hex()[:6]+" "+big.NewInt(int64(prev)).String()+"->"+big.NewInt(int64(next)).String())
		},
		OnCodeChangeV2: func(a common.Address, _ common.Hash, prev []byte, _ common.Hash, code []byte, _ tracing.CodeChangeReason) {
			got = append(got, "code "+a.Hex()[:6]+" "+hexutil.Encode(prev)+"->"+hexutil.Encode(code))
		},
		OnStorageChange: func(a common.Address, k, prev, next common.Hash) {
			got = append(got, "storage "+a.Hex()[:6]+" "+prev.Big().String()+"->"+next.Big().String())
		},
		OnLog: func(l *types.Log) {
			got = append(got, "log "+l.Address.Hex()[:6]+" index "+big.NewInt(int64(l.Index)).String())
		},
	}
	s := &hookedOverlay{overlay: newOverlay(e.st), hooks: hooks}
	s.logIndex = 3
	x := common.HexToAddress("0x7777")
	s.AddBalance(x, uint256.NewInt(5), tracing.BalanceChangeTransfer)
	s.AddBalance(x, uint256.NewInt(0), tracing.BalanceChangeTransfer) // no change: no hook
	s.SubBalance(x, uint256.NewInt(2), tracing.BalanceChangeTransfer)
	s.SetNonce(x, 1, tracing.NonceChangeEoACall)
	s.SetCode(x, []byte{1}, tracing.CodeChangeContractCreation)
	s.SetCode(x, []byte{1}, tracing.CodeChangeContractCreation) // the same code: no hook
	s.SetState(x, common.Hash{}, common.BigToHash(big.NewInt(9)))
	s.SetState(x, common.Hash{}, common.BigToHash(big.NewInt(9))) // the same value: no hook
	s.AddLog(&types.Log{Address: x})
	s.SelfDestruct(x)
	s.Finalise(e.ex.Rules(e.header))
	want := []string{
		"balance 0x0000 0->5 Transfer",
		"balance 0x0000 5->3 Transfer",
		"nonce 0x0000 0->1",
		"code 0x0000 0x->0x01",
		"storage 0x0000 0->9",
		"log 0x0000 index 3",
		"balance 0x0000 3->0 BalanceDecreaseSelfdestructBurn",
		"nonce 0x0000 1->0",
		"code 0x0000 0x01->0x",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("hooks called:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s.Exist(x) {
		t.Fatal("the self-destructed account survived Finalise")
	}
}
