package exec

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/meganode/meganode/node/chain"
	mstate "github.com/meganode/meganode/node/state"
)

// Simulation: the execution side of go-ethereum's eth_simulateV1
// (internal/ethapi/simulate.go and logtracer.go, v1.17.10). A SimBlock
// executes calls, as unsigned messages, in order in one simulated block on
// a state: each sees the changes of the ones before it, and the block's
// diff (End) is what the next simulated block runs on. A tracer collects
// each call's logs with their positions in the block and, when asked, the
// ether transfers as ERC-7528 pseudo-logs, as go-ethereum's does.

var (
	// SimTransferTopic is keccak256("Transfer(address,address,uint256)"),
	// the topic of a traced transfer's log.
	SimTransferTopic = common.HexToHash("ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef")
	// SimTransferAddress is the ERC-7528 address a traced transfer's log
	// comes from.
	SimTransferAddress = common.HexToAddress("0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE")
)

// SimConfig is how a simulated block executes.
type SimConfig struct {
	// Validate runs the calls as transactions (nonce, balance, base fee
	// checks); otherwise fees are not checked (go-ethereum's NoBaseFee).
	Validate bool
	// TraceTransfers adds each ether transfer to the call's logs.
	TraceTransfers bool
	// BlobBaseFee, when set, is the block's blob base fee (a block
	// override); otherwise the header's excess blob gas gives it.
	BlobBaseFee *big.Int
}

// SimBlock executes the calls of one simulated block.
type SimBlock struct {
	b       *Block
	tracer  *simTracer
	okLogs  []*types.Log // the successful calls' logs, for the deposit requests
	blobGas uint64
}

// SimCall is one executed call: go-ethereum's execution result, the
// tracer's logs (the call's logs and, when traced, its transfers, with
// their block positions; none for a failed call) and the call's receipt
// (with the state's logs, for the block's roots and bloom).
type SimCall struct {
	Result  *core.ExecutionResult
	Logs    []*types.Log
	Receipt *types.Receipt
}

// NewSimBlock starts a simulated block described by header on st (which
// may be an Overridden state: its precompiles apply). Begin runs its
// system calls; then Apply each call; then End.
func (e *Executor) NewSimBlock(st mstate.Reader, header *types.Header, getHash vm.GetHashFunc, cfg SimConfig) *SimBlock {
	tracer := &simTracer{traceTransfers: cfg.TraceTransfers, blockNumber: header.Number.Uint64(), blockTime: header.Time}
	sim := &Executor{cfg: e.cfg}
	sim.cfg.VM.Tracer = tracer.hooks()
	sim.cfg.VM.NoBaseFee = !cfg.Validate
	b := sim.NewBlock(st, header, getHash)
	b.evm = vm.NewEVM(b.evm.Context, &hookedOverlay{overlay: b.sdb, hooks: sim.cfg.VM.Tracer}, e.cfg.Chain, sim.cfg.VM)
	overrideEVM(b.evm, st) // override.go
	if cfg.BlobBaseFee != nil {
		b.evm.Context.BlobBaseFee = new(big.Int).Set(cfg.BlobBaseFee)
	}
	return &SimBlock{b: b, tracer: tracer}
}

// Begin runs the system calls of the block's start (EIP-4788, EIP-2935),
// as go-ethereum's PreExecution.
func (s *SimBlock) Begin() { s.b.Begin() }

// Nonce is an account's nonce as the block's calls so far left it.
func (s *SimBlock) Nonce(addr common.Address) uint64 { return s.b.sdb.GetNonce(addr) }

// GasAvailable is the largest gas a further call can take in the block.
func (s *SimBlock) GasAvailable() uint64 { return s.b.gp.Available(false) }

// GasUsed is the block's gas used so far.
func (s *SimBlock) GasUsed() uint64 { return s.b.gp.Used() }

// BlobGasUsed is the blob gas of the block's calls.
func (s *SimBlock) BlobGasUsed() uint64 { return s.blobGas }

// Apply executes msg, the message of tx (which it describes: its hash,
// type and nonce go into the logs and receipt), as the block's next call.
// A message that cannot execute at all (a nonce, balance or fee check in
// validation mode, the block's gas) fails with go-ethereum's error and
// changes nothing; so does one stopped by ctx's end, with ctx's error.
func (s *SimBlock) Apply(ctx context.Context, msg *core.Message, tx *types.Transaction) (*SimCall, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	b := s.b
	s.tracer.reset(tx.Hash(), uint(b.txs))
	b.sdb.SetTxContext(tx.Hash(), b.txs, 0)
	gasBefore := b.gp.Snapshot()
	stop := context.AfterFunc(ctx, b.evm.Cancel)
	result, err := core.ApplyMessage(b.evm, msg, b.gp)
	stop()
	if cerr := ctx.Err(); cerr != nil || err != nil {
		b.sdb.discardTx()
		b.gp.Set(gasBefore)
		if cerr != nil {
			return nil, fmt.Errorf("simulate: %w", cerr)
		}
		return nil, err
	}
	b.evm.StateDB.Finalise(b.rules)
	receipt := &types.Receipt{
		Type: tx.Type(), Status: types.ReceiptStatusSuccessful, CumulativeGasUsed: b.gp.CumulativeUsed(),
		TxHash: tx.Hash(), GasUsed: result.UsedGas, Logs: b.sdb.takeLogs(),
		BlockNumber: new(big.Int).Set(b.header.Number), TransactionIndex: uint(b.txs),
	}
	if result.Failed() {
		receipt.Status = types.ReceiptStatusFailed
	}
	if receipt.Logs == nil {
		receipt.Logs = []*types.Log{}
	}
	for _, l := range receipt.Logs {
		l.BlockNumber, l.BlockTimestamp = b.header.Number.Uint64(), b.header.Time
	}
	if tx.Type() == types.BlobTxType {
		receipt.BlobGasUsed = tx.BlobGas()
		receipt.BlobGasPrice = b.evm.Context.BlobBaseFee
		s.blobGas += receipt.BlobGasUsed
	}
	if tx.To() == nil {
		receipt.ContractAddress = crypto.CreateAddress(msg.From, tx.Nonce())
	}
	receipt.Bloom = types.CreateBloom(receipt)
	b.txs++
	call := &SimCall{Result: result, Logs: s.tracer.takeLogs(), Receipt: receipt}
	if !result.Failed() {
		s.okLogs = append(s.okLogs, call.Logs...)
	}
	return call, nil
}

// End ends the block as go-ethereum's PostExecution: the withdrawals
// (from Shanghai), then, from Prague, the requests (the deposits among
// the successful calls' logs, the EIP-7002 and EIP-7251 queues, nil
// before Prague). It returns them and the block's state diff, against the
// state the block was started on.
func (s *SimBlock) End(withdrawals types.Withdrawals) ([][]byte, *chain.Diff, error) {
	b := s.b
	if b.rules.IsShanghai && len(withdrawals) > 0 {
		core.ProcessWithdrawals(withdrawals, b.evm, 0, nil)
	}
	var requests [][]byte
	if b.rules.IsPrague {
		requests = [][]byte{}
		if err := core.ParseDepositLogs(&requests, s.okLogs, b.e.cfg.Chain); err != nil {
			return nil, nil, fmt.Errorf("failed to parse deposit logs: %w", err)
		}
		if err := core.ProcessWithdrawalQueue(&requests, b.rules, b.evm, 0, nil); err != nil {
			return nil, nil, fmt.Errorf("failed to process withdrawal queue: %w", err)
		}
		if err := core.ProcessConsolidationQueue(&requests, b.rules, b.evm, 0, nil); err != nil {
			return nil, nil, fmt.Errorf("failed to process consolidation queue: %w", err)
		}
	}
	return requests, b.Flush(), nil
}

// simTracer is go-ethereum's simulation tracer (internal/ethapi
// logtracer.go): it records every log, and the ether transfers (a call's
// or a creation's value, a self-destruct's balance; not a delegate call's
// or a callcode's) as logs when traceTransfers, frame by frame, dropping
// a reverted frame's. Log indexes run across the block.
type simTracer struct {
	logs           [][]*types.Log // one list per open call frame
	count          int
	traceTransfers bool
	blockNumber    uint64
	blockTime      uint64
	txHash         common.Hash
	txIndex        uint
}

func (t *simTracer) hooks() *tracing.Hooks {
	return &tracing.Hooks{OnEnter: t.onEnter, OnExit: t.onExit, OnLog: t.onLog}
}

func (t *simTracer) onEnter(depth int, typ byte, from, to common.Address, input []byte, gas uint64, value *big.Int) {
	t.logs = append(t.logs, make([]*types.Log, 0))
	if op := vm.OpCode(typ); op != vm.DELEGATECALL && op != vm.CALLCODE && value != nil && value.Sign() > 0 {
		t.captureTransfer(from, to, value)
	}
}

func (t *simTracer) onExit(depth int, output []byte, gasUsed uint64, err error, reverted bool) {
	if depth == 0 {
		if reverted && len(t.logs) > 0 {
			t.count -= len(t.logs[0])
			t.logs[0] = nil
		}
		return
	}
	size := len(t.logs)
	if size <= 1 {
		return
	}
	call := t.logs[size-1]
	t.logs = t.logs[:size-1]
	size--
	// A failed frame's logs are the newest: their indexes are free again.
	if reverted {
		t.count -= len(call)
	} else {
		t.logs[size-1] = append(t.logs[size-1], call...)
	}
}

func (t *simTracer) onLog(l *types.Log) { t.captureLog(l.Address, l.Topics, l.Data) }

func (t *simTracer) captureLog(address common.Address, topics []common.Hash, data []byte) {
	if len(t.logs) == 0 {
		return // outside any frame: a system call's, which has no logs
	}
	t.logs[len(t.logs)-1] = append(t.logs[len(t.logs)-1], &types.Log{
		Address: address, Topics: topics, Data: data,
		BlockNumber: t.blockNumber, BlockTimestamp: t.blockTime,
		TxHash: t.txHash, TxIndex: t.txIndex, Index: uint(t.count),
	})
	t.count++
}

func (t *simTracer) captureTransfer(from, to common.Address, value *big.Int) {
	if !t.traceTransfers {
		return
	}
	topics := []common.Hash{SimTransferTopic, common.BytesToHash(from.Bytes()), common.BytesToHash(to.Bytes())}
	t.captureLog(SimTransferAddress, topics, common.BigToHash(value).Bytes())
}

// reset starts the next call; system calls before it left their frames.
func (t *simTracer) reset(txHash common.Hash, txIndex uint) {
	t.logs, t.txHash, t.txIndex = nil, txHash, txIndex
}

// takeLogs are the call's logs (the outermost frame's).
func (t *simTracer) takeLogs() []*types.Log {
	if len(t.logs) == 0 {
		return nil
	}
	return t.logs[0]
}
