package exec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/types/bal"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/tracers"
	structlogger "github.com/ethereum/go-ethereum/eth/tracers/logger"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"
	mstate "github.com/meganode/meganode/node/state"

	// go-ethereum's native tracers (callTracer, prestateTracer, …)
	// register themselves in tracers.DefaultDirectory, as in geth.
	_ "github.com/ethereum/go-ethereum/eth/tracers/native"
)

// Tracing: go-ethereum's debug_trace* over this package's execution,
// following go-ethereum's eth/tracers/api.go (traceTx): a fresh tracer per
// transaction, from its TraceConfig (the struct logger when it names none,
// else the tracer of tracers.DefaultDirectory it names), hooked into the
// EVM and into the state (a vm.StateDB that calls the tracer's state
// hooks, as core/state's hooked state does), with OnTxStart and OnTxEnd
// around the transaction. The timeout is the context's: a trace whose
// context passes its deadline stops its tracer with "execution timeout"
// and cancels the EVM; one whose client went away cancels the EVM.

// ErrTraceTimeout is a trace stopped by its context's deadline:
// go-ethereum's "execution timeout".
var ErrTraceTimeout = errors.New("execution timeout")

// ErrDiverged wraps the failure to re-execute a transaction that the
// chain executed: the state or block a trace rebuilt is not the one the
// transaction ran in.
var ErrDiverged = errors.New("re-execution diverged from the chain")

// TracerError is a tracer that cannot be built from its configuration: a
// name no tracer has, or a tracer configuration the tracer refuses.
type TracerError struct{ Err error }

func (e *TracerError) Error() string { return e.Err.Error() }
func (e *TracerError) Unwrap() error { return e.Err }

// TraceStart is where the transactions of a trace start executing: the
// block they belong to and how far the block had got.
type TraceStart struct {
	// Header is the block as the sequencer executed it (number, time,
	// coinbase, gas limit, base fee, prevRandao, blob fields, parent hash
	// and beacon root); GetHash answers BLOCKHASH.
	Header  *types.Header
	GetHash vm.GetHashFunc
	// BlockHash is the block's hash as the tracers see it (their
	// tracers.Context): zero while the block is open.
	BlockHash common.Hash
	// Begin: the state is the one before the block, whose start (its
	// system calls, Block.Begin) runs first. Otherwise the state is the
	// one after the block's first GasUsed gas, Txs transactions and Logs
	// logs (a resumed block: ResumeBlock).
	Begin     bool
	GasUsed   uint64
	Txs, Logs int
}

// TxTrace is one transaction's trace: the tracer's result, and the
// receipt of the traced execution (for checking it against the chain's).
type TxTrace struct {
	TxHash  common.Hash
	Result  json.RawMessage
	Receipt *types.Receipt
}

// TraceTxs executes txs in order on st from at, and traces those from
// index from on, each with its own tracer built from cfg (nil: the struct
// logger with its defaults); the ones before from are re-executed
// untraced. It answers one TxTrace per traced transaction.
//
// A transaction before from that fails to execute fails the trace with
// ErrDiverged; a traced one that fails (it cannot, if at is right) with
// go-ethereum's "tracing failed". When ctx passes its deadline the trace
// ends with ErrTraceTimeout; when ctx is cancelled, with its error.
func (e *Executor) TraceTxs(ctx context.Context, st mstate.Reader, at TraceStart, txs []*types.Transaction, from int, cfg *tracers.TraceConfig) ([]TxTrace, error) {
	if from < 0 || from > len(txs) {
		return nil, fmt.Errorf("exec: trace from transaction %d of %d", from, len(txs))
	}
	if cfg == nil {
		cfg = new(tracers.TraceConfig)
	}
	// A tracer that cannot be built fails the trace before anything runs.
	if _, err := e.newTracer(cfg, new(tracers.Context)); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, traceEnded(err)
	}
	// The untraced part runs without the executor's own tracer, if any.
	plain := &Executor{cfg: e.cfg}
	plain.cfg.VM.Tracer = nil
	var b *Block
	if at.Begin {
		b = plain.NewBlock(st, at.Header, at.GetHash)
		b.Begin()
	} else {
		var err error
		if b, err = plain.ResumeBlock(st, at.Header, at.GetHash, at.GasUsed, 0, at.Txs, at.Logs); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrDiverged, err)
		}
	}
	stop := context.AfterFunc(ctx, b.evm.Cancel)
	defer stop()
	for _, tx := range txs[:from] {
		if _, _, err := b.ApplyTx(tx); err != nil {
			if ctx.Err() != nil {
				return nil, traceEnded(ctx.Err())
			}
			return nil, fmt.Errorf("%w: transaction %d (%v) of block %v: %w", ErrDiverged, b.txs, tx.Hash(), at.Header.Number, err)
		}
	}
	if err := ctx.Err(); err != nil {
		// The EVM may have been cancelled halfway through a transaction.
		return nil, traceEnded(err)
	}
	out := make([]TxTrace, 0, len(txs)-from)
	for _, tx := range txs[from:] {
		t, err := b.trace(ctx, at.BlockHash, tx, cfg)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// trace executes tx in the block, as ApplyTx does, under a tracer: the
// body of go-ethereum's traceTx and core.ApplyTransactionWithEVM.
func (b *Block) trace(ctx context.Context, blockHash common.Hash, tx *types.Transaction, cfg *tracers.TraceConfig) (TxTrace, error) {
	tracer, err := b.e.newTracer(cfg, &tracers.Context{
		BlockHash: blockHash, BlockNumber: new(big.Int).Set(b.header.Number), TxIndex: b.txs, TxHash: tx.Hash(),
	})
	if err != nil {
		return TxTrace{}, err
	}
	from, err := types.Sender(b.signer, tx)
	if err != nil {
		return TxTrace{}, tracingFailed(err)
	}
	evm := b.tracingEVM(b.evm.Context, tracer)
	defer evm.Release()
	stop := stopOnEnd(ctx, tracer, evm)
	untraced := b.evm
	b.evm = evm // ApplyTx runs on it, and finalises through its hooked state
	if tracer.OnTxStart != nil {
		tracer.OnTxStart(evm.GetVMContext(), tx, from)
	}
	receipt, _, err := b.ApplyTx(tx)
	if tracer.OnTxEnd != nil {
		tracer.OnTxEnd(receipt, err)
	}
	b.evm = untraced
	if !stop() {
		// The context ended while the transaction ran: the EVM was
		// cancelled (and the tracer stopped), the trace is cut short.
		return TxTrace{}, traceEnded(ctx.Err())
	}
	if err != nil {
		return TxTrace{}, tracingFailed(err)
	}
	res, err := tracer.GetResult()
	if err != nil {
		return TxTrace{}, err
	}
	return TxTrace{TxHash: tx.Hash(), Result: res, Receipt: receipt}, nil
}

// tracingEVM is an EVM of the block's state under tracer: go-ethereum's
// traceTx runs with NoBaseFee, which changes nothing for a transaction
// that pays a fee.
func (b *Block) tracingEVM(bctx vm.BlockContext, tracer *tracers.Tracer) *vm.EVM {
	cfg := b.e.cfg.VM
	cfg.Tracer, cfg.NoBaseFee = tracer.Hooks, true
	return vm.NewEVM(bctx, &hookedOverlay{overlay: b.sdb, hooks: tracer.Hooks}, b.e.cfg.Chain, cfg)
}

// stopOnEnd arms the end of a traced execution when ctx ends: past its
// deadline the tracer is stopped with ErrTraceTimeout, and either way the
// EVM is cancelled (between opcodes). The returned stop disarms it, and
// reports false if ctx ended first.
func stopOnEnd(ctx context.Context, tracer *tracers.Tracer, evm *vm.EVM) (stop func() bool) {
	return context.AfterFunc(ctx, func() {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			tracer.Stop(ErrTraceTimeout)
		}
		evm.Cancel()
	})
}

// traceEnded is a trace's error for its context's: ErrTraceTimeout past
// its deadline, the context's error otherwise.
func traceEnded(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return ErrTraceTimeout
	}
	return fmt.Errorf("trace: %w", err)
}

// tracingFailed is go-ethereum's error for a traced transaction or call
// that could not execute, classified as a refused transaction.
func tracingFailed(err error) error {
	return &TxError{Reason: classify(err).Reason, Err: fmt.Errorf("tracing failed: %w", err)}
}

// newTracer builds cfg's tracer, as go-ethereum's traceTx does: the struct
// logger when cfg names none, else the tracer of DefaultDirectory it
// names. JavaScript tracers are not built in: a name that is not a native
// tracer's is refused.
func (e *Executor) newTracer(cfg *tracers.TraceConfig, tctx *tracers.Context) (*tracers.Tracer, error) {
	if cfg.Tracer == nil {
		l := structlogger.NewStructLogger(cfg.Config)
		return &tracers.Tracer{Hooks: l.Hooks(), GetResult: l.GetResult, Stop: l.Stop}, nil
	}
	name := *cfg.Tracer
	if tracers.DefaultDirectory.IsJS(name) {
		// IsJS is true for a name no tracer registered: only the native
		// tracers are.
		return nil, &TracerError{fmt.Errorf("tracer %q not found: this node runs go-ethereum's native tracers, not JavaScript ones", name)}
	}
	tracerCfg := cfg.TracerConfig
	if string(tracerCfg) == "null" {
		tracerCfg = nil
	}
	t, err := tracers.DefaultDirectory.New(name, tctx, tracerCfg, e.cfg.Chain)
	if err != nil {
		return nil, &TracerError{err}
	}
	return t, nil
}

// TraceCall traces a call as go-ethereum's debug_traceCall does, on the
// state and in the block Call would run it in, with the same gas, value
// and checks; cfg is as TraceTxs'. It answers the tracer's result; a call
// that cannot execute (insufficient funds for its value, …) fails with
// "tracing failed", a reverted one is a result.
func (e *Executor) TraceCall(ctx context.Context, st mstate.Reader, header *types.Header, getHash vm.GetHashFunc, from common.Address, to *common.Address, data []byte, gas uint64, value *uint256.Int, cfg *tracers.TraceConfig) (json.RawMessage, error) {
	if value == nil {
		value = new(uint256.Int)
	}
	if gas == 0 || gas > DefaultCallGas {
		gas = DefaultCallGas
	}
	if cfg == nil {
		cfg = new(tracers.TraceConfig)
	}
	tracer, err := e.newTracer(cfg, new(tracers.Context))
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, traceEnded(err)
	}
	bctx := callBlockContext(header, getHash, gas)
	sdb := newOverlay(st)
	// The transaction the tracers are shown, as go-ethereum builds it
	// from the call's arguments.
	nonce := sdb.GetNonce(from)
	tx := types.NewTx(&types.DynamicFeeTx{
		ChainID: new(big.Int).Set(e.cfg.Chain.ChainID), Nonce: nonce, GasTipCap: new(big.Int), GasFeeCap: new(big.Int),
		Gas: gas, To: to, Value: value.ToBig(), Data: data,
	})
	vmcfg := e.cfg.VM
	vmcfg.Tracer, vmcfg.NoBaseFee = tracer.Hooks, true
	hooked := &hookedOverlay{overlay: sdb, hooks: tracer.Hooks}
	evm := vm.NewEVM(bctx, hooked, e.cfg.Chain, vmcfg)
	defer evm.Release()
	overrideEVM(evm, st) // override.go
	stop := stopOnEnd(ctx, tracer, evm)
	msg := (&core.Message{
		From: from, To: to, Data: data, GasLimit: gas, Nonce: nonce,
		GasPrice: new(uint256.Int), GasFeeCap: new(uint256.Int), GasTipCap: new(uint256.Int), Value: value,
	}).SkipNonceCheck().SkipEOACheck().SkipGasLimitCapCheck()
	sdb.SetTxContext(tx.Hash(), 0, 0)
	if tracer.OnTxStart != nil {
		tracer.OnTxStart(evm.GetVMContext(), tx, from)
	}
	var receipt *types.Receipt
	result, err := core.ApplyMessage(evm, msg, core.NewGasPool(gas))
	if err == nil {
		hooked.Finalise(evm.GetRules())
		receipt = &types.Receipt{
			Type: tx.Type(), Status: types.ReceiptStatusSuccessful, CumulativeGasUsed: result.UsedGas, TxHash: tx.Hash(),
			GasUsed: result.UsedGas, EffectiveGasPrice: new(big.Int), Logs: sdb.takeLogs(), BlockNumber: new(big.Int).Set(header.Number),
		}
		if result.Failed() {
			receipt.Status = types.ReceiptStatusFailed
		}
		if receipt.Logs == nil {
			receipt.Logs = []*types.Log{}
		}
		if to == nil {
			receipt.ContractAddress = crypto.CreateAddress(from, nonce)
		}
		receipt.Bloom = types.CreateBloom(receipt)
	}
	if tracer.OnTxEnd != nil {
		tracer.OnTxEnd(receipt, err)
	}
	if !stop() {
		return nil, traceEnded(ctx.Err())
	}
	if err != nil {
		return nil, tracingFailed(err)
	}
	return tracer.GetResult()
}

// hookedOverlay is the overlay with go-ethereum's tracing hooks on its
// state changes: what core/state's hooked state (NewHookedState) does for
// a StateDB, hook for hook.
type hookedOverlay struct {
	*overlay
	hooks *tracing.Hooks
}

var _ vm.StateDB = (*hookedOverlay)(nil)

// SubBalance implements vm.StateDB.
func (s *hookedOverlay) SubBalance(addr common.Address, amount *uint256.Int, reason tracing.BalanceChangeReason) uint256.Int {
	prev := s.overlay.SubBalance(addr, amount, reason)
	if s.hooks.OnBalanceChange != nil && !amount.IsZero() {
		s.hooks.OnBalanceChange(addr, prev.ToBig(), new(uint256.Int).Sub(&prev, amount).ToBig(), reason)
	}
	return prev
}

// AddBalance implements vm.StateDB.
func (s *hookedOverlay) AddBalance(addr common.Address, amount *uint256.Int, reason tracing.BalanceChangeReason) uint256.Int {
	prev := s.overlay.AddBalance(addr, amount, reason)
	if s.hooks.OnBalanceChange != nil && !amount.IsZero() {
		s.hooks.OnBalanceChange(addr, prev.ToBig(), new(uint256.Int).Add(&prev, amount).ToBig(), reason)
	}
	return prev
}

// SetNonce implements vm.StateDB.
func (s *hookedOverlay) SetNonce(addr common.Address, nonce uint64, reason tracing.NonceChangeReason) {
	prev := s.overlay.GetNonce(addr)
	s.overlay.SetNonce(addr, nonce, reason)
	if s.hooks.OnNonceChangeV2 != nil {
		s.hooks.OnNonceChangeV2(addr, prev, nonce, reason)
	} else if s.hooks.OnNonceChange != nil {
		s.hooks.OnNonceChange(addr, prev, nonce)
	}
}

// SetCode implements vm.StateDB.
func (s *hookedOverlay) SetCode(addr common.Address, code []byte, reason tracing.CodeChangeReason) []byte {
	prev := s.overlay.SetCode(addr, code, reason)
	if s.hooks.OnCodeChangeV2 != nil || s.hooks.OnCodeChange != nil {
		prevHash, codeHash := crypto.Keccak256Hash(prev), crypto.Keccak256Hash(code)
		if prevHash != codeHash {
			if s.hooks.OnCodeChangeV2 != nil {
				s.hooks.OnCodeChangeV2(addr, prevHash, prev, codeHash, code, reason)
			} else {
				s.hooks.OnCodeChange(addr, prevHash, prev, codeHash, code)
			}
		}
	}
	return prev
}

// SetState implements vm.StateDB.
func (s *hookedOverlay) SetState(addr common.Address, key, value common.Hash) common.Hash {
	prev := s.overlay.SetState(addr, key, value)
	if s.hooks.OnStorageChange != nil && prev != value {
		s.hooks.OnStorageChange(addr, key, prev, value)
	}
	return prev
}

// AddLog implements vm.StateDB.
func (s *hookedOverlay) AddLog(l *types.Log) {
	s.overlay.AddLog(l) // fills the log's position first
	if s.hooks.OnLog != nil {
		s.hooks.OnLog(l)
	}
}

// Finalise implements vm.StateDB: the self-destructed accounts' balance,
// nonce and code changes go to the hooks, in address order, before the
// overlay deletes them.
func (s *hookedOverlay) Finalise(rules params.Rules) *bal.ConstructionBlockAccessList {
	h := s.hooks
	if h.OnBalanceChange == nil && h.OnNonceChangeV2 == nil && h.OnNonceChange == nil && h.OnCodeChangeV2 == nil && h.OnCodeChange == nil {
		return s.overlay.Finalise(rules)
	}
	var destructed []common.Address
	for addr := range s.dirties { // collected, then sorted: order cannot leak
		if obj := s.objects[addr]; obj != nil && obj.selfDestructed {
			destructed = append(destructed, addr)
		}
	}
	slices.SortFunc(destructed, func(a, b common.Address) int { return a.Cmp(b) })
	for _, addr := range destructed {
		obj := s.objects[addr]
		if !rules.IsAmsterdam && h.OnBalanceChange != nil && !obj.balance.IsZero() {
			h.OnBalanceChange(addr, obj.balance.ToBig(), new(big.Int), tracing.BalanceDecreaseSelfdestructBurn)
		}
		if h.OnNonceChangeV2 != nil {
			h.OnNonceChangeV2(addr, obj.nonce, 0, tracing.NonceChangeSelfdestruct)
		} else if h.OnNonceChange != nil {
			h.OnNonceChange(addr, obj.nonce, 0)
		}
		if obj.codeHash == types.EmptyCodeHash {
			continue
		}
		code := obj.loadCode(s.base)
		if h.OnCodeChangeV2 != nil {
			h.OnCodeChangeV2(addr, obj.codeHash, code, types.EmptyCodeHash, nil, tracing.CodeChangeSelfDestruct)
		} else if h.OnCodeChange != nil {
			h.OnCodeChange(addr, obj.codeHash, code, types.EmptyCodeHash, nil)
		}
	}
	return s.overlay.Finalise(rules)
}

// CheckTraceCallConfig refuses what a traced call's configuration asks
// that the node does not support yet: a transaction index. Its state and
// block overrides are applied (TraceCallOverrides).
func CheckTraceCallConfig(cfg *tracers.TraceCallConfig) error {
	if cfg.TxIndex != nil {
		return errors.New("txIndex is not supported yet")
	}
	return nil
}
