package exec

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/consensus/misc/eip4844"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/state"
)

// Config is what an Executor runs under.
type Config struct {
	// Chain gives the fork rules and the chain id. Amsterdam is not
	// supported.
	Chain *params.ChainConfig
	// VM configures go-ethereum's interpreter (tracers, extra EIPs).
	VM vm.Config
	// Policy is what this chain refuses on top of Ethereum's rules.
	Policy Policy
}

// Policy holds the admission rules a sequencer applies on top of
// consensus. The zero Policy enforces consensus rules only, which is what
// re-execution (provers, conformance) wants.
type Policy struct {
	// MaxTxSize is the largest encoded transaction accepted, in bytes; 0
	// means no limit.
	MaxTxSize uint64
	// RejectBlobTxs refuses EIP-4844 transactions: this chain has no blob
	// data availability.
	RejectBlobTxs bool
	// Stateless runs the signature, size, type, gas and fee checks before
	// execution, as a transaction pool would, so a bad transaction gets the
	// error geth's pool would give.
	Stateless bool
}

// DefaultMaxTxSize is go-ethereum's transaction pool limit (4 × 32 KiB).
const DefaultMaxTxSize = 4 * 32 * 1024

// DefaultPolicy is the sequencer's policy.
func DefaultPolicy() Policy {
	return Policy{MaxTxSize: DefaultMaxTxSize, RejectBlobTxs: true, Stateless: true}
}

// DefaultChainConfig returns the default fork rules: the newest fork that
// go-ethereum's params.MergedTestChainConfig enables, under chainID.
func DefaultChainConfig(chainID uint64) *params.ChainConfig {
	c := *params.MergedTestChainConfig
	c.ChainID = new(big.Int).SetUint64(chainID)
	return &c
}

// Executor executes transactions under one Config. It holds no state of
// its own; Blocks do.
type Executor struct {
	cfg Config
}

// New returns an Executor, or an error for a configuration it cannot run.
func New(cfg Config) (*Executor, error) {
	if cfg.Chain == nil || cfg.Chain.ChainID == nil {
		return nil, errors.New("exec: chain config with a chain id is required")
	}
	if cfg.Chain.AmsterdamTime != nil || cfg.Chain.IsUBT(common.Big0, 0) {
		return nil, errors.New("exec: Amsterdam and binary-trie rules are not supported")
	}
	return &Executor{cfg: cfg}, nil
}

// Config returns the executor's configuration.
func (e *Executor) Config() Config { return e.cfg }

// Signer is the transaction signer for a block.
func (e *Executor) Signer(header *types.Header) types.Signer {
	return types.MakeSigner(e.cfg.Chain, header.Number, header.Time)
}

// Rules are the fork rules in force for a block.
func (e *Executor) Rules(header *types.Header) params.Rules {
	return e.cfg.Chain.Rules(header.Number, header.Difficulty == nil || header.Difficulty.Sign() == 0, header.Time)
}

// Block executes the transactions of one EVM block, in order, against a
// state. It spans the block's mini-blocks: receipts carry the block's
// cumulative gas and indexes, and each Flush ends a mini-block.
type Block struct {
	e       *Executor
	st      state.Reader
	header  *types.Header
	rules   params.Rules
	signer  types.Signer
	sdb     *overlay
	evm     *vm.EVM
	gp      *core.GasPool
	blobGas uint64
	txs     int
	begun   bool
}

// NewBlock starts executing the block described by header (number, time,
// coinbase, gas limit, base fee, prevRandao in MixDigest, excess blob gas,
// parent hash and parent beacon root) on st. getHash answers BLOCKHASH.
// The block only reads st: each Flush returns a mini-block's diff, which
// the caller applies to st.
func (e *Executor) NewBlock(st state.Reader, header *types.Header, getHash vm.GetHashFunc) *Block {
	ctx := vm.BlockContext{
		CanTransfer: core.CanTransfer,
		Transfer:    core.Transfer,
		GetHash:     getHash,
		Coinbase:    header.Coinbase,
		GasLimit:    header.GasLimit,
		BlockNumber: new(big.Int).Set(header.Number),
		Time:        header.Time,
		Difficulty:  new(big.Int),
		BaseFee:     header.BaseFee,
	}
	if header.Difficulty != nil {
		ctx.Difficulty.Set(header.Difficulty)
	}
	if ctx.Difficulty.Sign() == 0 {
		random := header.MixDigest
		ctx.Random = &random
	}
	if header.ExcessBlobGas != nil {
		ctx.BlobBaseFee = eip4844.CalcBlobFee(e.cfg.Chain, header)
	}
	sdb := newOverlay(st)
	b := &Block{
		e: e, st: st, header: header, sdb: sdb,
		signer: e.Signer(header),
		evm:    vm.NewEVM(ctx, sdb, e.cfg.Chain, e.cfg.VM),
		gp:     core.NewGasPool(header.GasLimit),
	}
	b.rules = b.evm.GetRules()
	return b
}

// ResumeBlock continues executing a block whose Begin and first
// transactions already ran and were flushed into st, as a restarted
// sequencer does after re-applying its log: gasUsed, blobGasUsed, txs and
// logs are the block's totals so far, so that the next receipt carries the
// right cumulative gas and indexes.
func (e *Executor) ResumeBlock(st state.Reader, header *types.Header, getHash vm.GetHashFunc, gasUsed, blobGasUsed uint64, txs, logs int) (*Block, error) {
	if gasUsed > header.GasLimit {
		return nil, fmt.Errorf("exec: resume block %d: %d gas used exceeds the limit %d", header.Number, gasUsed, header.GasLimit)
	}
	b := e.NewBlock(st, header, getHash)
	if err := b.gp.CheckGasLegacy(gasUsed); err != nil {
		return nil, fmt.Errorf("exec: resume block %d: %w", header.Number, err)
	}
	if err := b.gp.ChargeGasLegacy(0, gasUsed); err != nil {
		return nil, fmt.Errorf("exec: resume block %d: %w", header.Number, err)
	}
	b.begun = true
	b.txs = txs
	b.blobGas = blobGasUsed
	b.sdb.logIndex = uint(logs)
	return b, nil
}

// Account reads an account as the block's execution sees it, including
// transactions not yet flushed.
func (b *Block) Account(addr common.Address) (nonce uint64, balance *uint256.Int) {
	return b.sdb.GetNonce(addr), b.sdb.GetBalance(addr).Clone()
}

// GasLeft is the block gas not used yet.
func (b *Block) GasLeft() uint64 { return b.header.GasLimit - b.gp.CumulativeUsed() }

// LogCount is the number of logs the block's transactions emitted so far.
func (b *Block) LogCount() int { return int(b.sdb.logIndex) }

// Header is the header the block executes under.
func (b *Block) Header() *types.Header { return b.header }

// GasUsed is the gas used by the block's transactions so far.
func (b *Block) GasUsed() uint64 { return b.gp.CumulativeUsed() }

// BlobGasUsed is the blob gas used by the block's transactions so far.
func (b *Block) BlobGasUsed() uint64 { return b.blobGas }

// TxCount is the number of transactions executed so far.
func (b *Block) TxCount() int { return b.txs }

// Begin runs the system calls the fork requires at the start of a block:
// EIP-4788 (parent beacon root) and EIP-2935 (parent hash). Their state
// changes go into the next Flush. Call it once, before any transaction.
func (b *Block) Begin() {
	if b.begun {
		panic("exec: Begin called twice")
	}
	b.begun = true
	if b.header.ParentBeaconRoot != nil && b.rules.IsCancun {
		core.ProcessBeaconBlockRoot(*b.header.ParentBeaconRoot, b.evm, nil)
	}
	if b.rules.IsPrague {
		core.ProcessParentBlockHash(b.header.ParentHash, b.evm, nil)
	}
}

// End runs the system calls the fork requires at the end of a block
// (EIP-7002 withdrawal and EIP-7251 consolidation queues) and returns the
// execution requests for the header's requests hash; nil before Prague.
func (b *Block) End() ([][]byte, error) {
	if !b.rules.IsPrague {
		return nil, nil
	}
	requests := [][]byte{}
	if err := core.ProcessWithdrawalQueue(&requests, b.rules, b.evm, 0, nil); err != nil {
		return nil, fmt.Errorf("exec: block %d: %w", b.header.Number, err)
	}
	if err := core.ProcessConsolidationQueue(&requests, b.rules, b.evm, 0, nil); err != nil {
		return nil, fmt.Errorf("exec: block %d: %w", b.header.Number, err)
	}
	return requests, nil
}

// ApplyTx executes tx and returns its receipt and its exact state diff. A
// refused transaction returns a *TxError and changes nothing. The receipt's
// block hash is left zero: the block is not sealed yet.
func (b *Block) ApplyTx(tx *types.Transaction) (*types.Receipt, *chain.Diff, error) {
	from, err := b.e.validate(tx, b.header, b.signer, b.rules)
	if err != nil {
		return nil, nil, err
	}
	msg, err := core.TransactionToMessage(tx, b.signer, b.header.BaseFee)
	if err != nil {
		return nil, nil, classify(err)
	}
	var blobGas uint64
	if tx.Type() == types.BlobTxType {
		blobGas = tx.BlobGas()
		if limit := eip4844.MaxBlobGasPerBlock(b.e.cfg.Chain, b.header.Time); b.blobGas+blobGas > limit {
			return nil, nil, classify(fmt.Errorf("%w: have %d, want %d", ErrBlobGasLimit, limit-b.blobGas, blobGas))
		}
	}
	b.sdb.SetTxContext(tx.Hash(), b.txs, 0)
	gasBefore := b.gp.Snapshot()
	result, err := core.ApplyMessage(b.evm, msg, b.gp)
	if err != nil {
		b.sdb.discardTx()
		b.gp.Set(gasBefore)
		return nil, nil, classify(err)
	}
	b.evm.StateDB.Finalise(b.rules) // the overlay, or a trace's hooked one (trace.go)
	receipt := &types.Receipt{
		Type:              tx.Type(),
		Status:            types.ReceiptStatusSuccessful,
		CumulativeGasUsed: b.gp.CumulativeUsed(),
		TxHash:            tx.Hash(),
		GasUsed:           result.UsedGas,
		EffectiveGasPrice: msg.GasPrice.ToBig(),
		Logs:              b.sdb.takeLogs(),
		BlockNumber:       new(big.Int).Set(b.header.Number),
		TransactionIndex:  uint(b.txs),
	}
	if result.Failed() {
		receipt.Status = types.ReceiptStatusFailed
	}
	if receipt.Logs == nil {
		receipt.Logs = []*types.Log{}
	}
	for _, l := range receipt.Logs {
		l.BlockNumber = b.header.Number.Uint64()
	}
	if blobGas > 0 {
		receipt.BlobGasUsed = blobGas
		receipt.BlobGasPrice = b.evm.Context.BlobBaseFee
	}
	if tx.To() == nil {
		receipt.ContractAddress = crypto.CreateAddress(from, tx.Nonce())
	}
	receipt.Bloom = types.CreateBloom(receipt)
	b.txs++
	b.blobGas += blobGas
	return receipt, b.sdb.txDiff, nil
}

// Flush ends a mini-block: it returns the exact diff of everything executed
// since the previous Flush (or the start of the block). The diff equals the
// merge of the transactions' diffs in effect, and additionally leaves out
// values that changed and changed back within the mini-block.
//
// The block forgets what it executed: its next reads go to the state it was
// given, so the caller applies the diff there (a sequencer's ledger does,
// once) before the block executes anything more.
func (b *Block) Flush() *chain.Diff {
	d := b.sdb.flushDiff()
	b.sdb.reset()
	return d
}
