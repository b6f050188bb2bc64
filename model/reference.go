package model

import (
	"context"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/consensus"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/triedb"
	"github.com/holiman/uint256"
)

// Reference executes transactions with go-ethereum's StateDB.
type Reference struct {
	config *params.ChainConfig
	sdb    *state.StateDB
}

// NewReference returns a reference executor whose state is alloc.
func NewReference(config *params.ChainConfig, alloc types.GenesisAlloc) (*Reference, error) {
	db := rawdb.NewMemoryDatabase()
	sdb, err := state.New(types.EmptyRootHash, state.NewDatabase(triedb.NewDatabase(db, triedb.HashDefaults), state.NewCodeDB(db)))
	if err != nil {
		return nil, err
	}
	for addr, a := range alloc { // StateDB writes commute: order cannot leak
		sdb.SetCode(addr, a.Code, tracing.CodeChangeUnspecified)
		sdb.SetNonce(addr, a.Nonce, tracing.NonceChangeUnspecified)
		if a.Balance != nil {
			sdb.SetBalance(addr, uint256.MustFromBig(a.Balance), tracing.BalanceChangeUnspecified)
		}
		for k, v := range a.Storage { // as above
			sdb.SetState(addr, k, v)
		}
	}
	root, err := sdb.Commit(params.Rules{}, 0) // materialising the alloc is no state transition: empty accounts stay
	if err != nil {
		return nil, err
	}
	if sdb, err = state.New(root, sdb.Database()); err != nil {
		return nil, err
	}
	return &Reference{config: config, sdb: sdb}, nil
}

// StateDB is the reference's state, for reads.
func (r *Reference) StateDB() *state.StateDB { return r.sdb }

// Root is the state root after everything applied so far.
func (r *Reference) Root() common.Hash {
	return r.sdb.IntermediateRoot(r.config.Rules(common.Big0, true, 0))
}

// RefBlock executes one block's transactions.
type RefBlock struct {
	r       *Reference
	header  *types.Header
	evm     *vm.EVM
	gp      *core.GasPool
	index   int
	logBase uint // logs the StateDB holds from earlier blocks
}

// NewBlock starts a block with the given header; getHash answers BLOCKHASH.
//
// Blocks share one StateDB: go-ethereum's Commit refuses to wipe the storage
// of an EIP-161-empty account after Cancun ("unexpected storage wiping"),
// which a genesis may legitimately hold and a touch deletes, so the
// reference never commits and hashes with IntermediateRoot instead. The one
// block-scoped counter a StateDB keeps, the log index, is rebased per block.
func (r *Reference) NewBlock(header *types.Header, getHash vm.GetHashFunc) (*RefBlock, error) {
	ctx := core.NewEVMBlockContext(header, headerChain{r.config}, &header.Coinbase)
	ctx.GetHash = getHash
	return &RefBlock{
		r: r, header: header,
		evm:     vm.NewEVM(ctx, r.sdb, r.config, vm.Config{}),
		gp:      core.NewGasPool(header.GasLimit),
		logBase: uint(len(r.sdb.Logs())),
	}, nil
}

// ApplyTx executes tx as go-ethereum's block processor does. A transaction
// that is not valid in the block returns go-ethereum's error and leaves the
// state as it was.
func (b *RefBlock) ApplyTx(tx *types.Transaction) (*types.Receipt, error) {
	snap := b.r.sdb.Snapshot()
	gp := b.gp.Snapshot()
	b.r.sdb.SetTxContext(tx.Hash(), b.index, 0)
	receipt, _, err := core.ApplyTransaction(context.Background(), b.evm, b.gp, b.r.sdb, b.header, tx)
	if err != nil {
		b.r.sdb.RevertToSnapshot(snap)
		b.gp.Set(gp)
		return nil, err
	}
	for _, l := range receipt.Logs {
		l.Index -= b.logBase
	}
	b.index++
	return receipt, nil
}

// headerChain is the little of a chain that the EVM block context needs.
type headerChain struct{ config *params.ChainConfig }

func (c headerChain) Config() *params.ChainConfig                 { return c.config }
func (c headerChain) CurrentHeader() *types.Header                { return nil }
func (c headerChain) GetHeader(common.Hash, uint64) *types.Header { return nil }
func (c headerChain) GetHeaderByNumber(uint64) *types.Header      { return nil }
func (c headerChain) GetHeaderByHash(common.Hash) *types.Header   { return nil }
func (c headerChain) Engine() consensus.Engine                    { return nil }

// ReceiptsEqual compares what a receipt commits to and what a user reads:
// type, status, gas used, cumulative gas, contract address, logs and bloom.
// It returns "" when they match, or the first difference.
func ReceiptsEqual(a, b *types.Receipt) string {
	switch {
	case a.Type != b.Type:
		return fmt.Sprintf("type %d vs %d", a.Type, b.Type)
	case a.Status != b.Status:
		return fmt.Sprintf("status %d vs %d", a.Status, b.Status)
	case a.GasUsed != b.GasUsed:
		return fmt.Sprintf("gas used %d vs %d", a.GasUsed, b.GasUsed)
	case a.CumulativeGasUsed != b.CumulativeGasUsed:
		return fmt.Sprintf("cumulative gas %d vs %d", a.CumulativeGasUsed, b.CumulativeGasUsed)
	case a.ContractAddress != b.ContractAddress:
		return fmt.Sprintf("contract address %v vs %v", a.ContractAddress, b.ContractAddress)
	case a.TxHash != b.TxHash:
		return fmt.Sprintf("tx hash %v vs %v", a.TxHash, b.TxHash)
	case a.Bloom != b.Bloom:
		return "bloom differs"
	case len(a.Logs) != len(b.Logs):
		return fmt.Sprintf("%d logs vs %d", len(a.Logs), len(b.Logs))
	}
	for i := range a.Logs {
		x, y := a.Logs[i], b.Logs[i]
		if x.Address != y.Address || fmt.Sprint(x.Topics) != fmt.Sprint(y.Topics) || string(x.Data) != string(y.Data) || x.Index != y.Index {
			return fmt.Sprintf("log %d differs: %+v vs %+v", i, x, y)
		}
	}
	if a.BlobGasUsed != b.BlobGasUsed || (a.BlobGasPrice == nil) != (b.BlobGasPrice == nil) ||
		(a.BlobGasPrice != nil && a.BlobGasPrice.Cmp(b.BlobGasPrice) != 0) {
		return "blob gas differs"
	}
	return ""
}

// Root is the state root after the block's transactions so far.
func (b *RefBlock) Root() common.Hash { return b.r.sdb.IntermediateRoot(b.evm.GetRules()) }

// Begin runs the block-start system calls (EIP-4788, EIP-2935) as
// go-ethereum's block processor does.
func (b *RefBlock) Begin() {
	if b.header.ParentBeaconRoot != nil && b.evm.GetRules().IsCancun {
		core.ProcessBeaconBlockRoot(*b.header.ParentBeaconRoot, b.evm, nil)
	}
	if b.evm.GetRules().IsPrague {
		core.ProcessParentBlockHash(b.header.ParentHash, b.evm, nil)
	}
}

// End runs the block-end system calls (EIP-7002, EIP-7251) as go-ethereum's
// block processor does, and returns the execution requests (nil before
// Prague).
func (b *RefBlock) End() ([][]byte, error) {
	rules := b.evm.GetRules()
	if !rules.IsPrague {
		return nil, nil
	}
	requests := [][]byte{}
	if err := core.ProcessWithdrawalQueue(&requests, rules, b.evm, 0, nil); err != nil {
		return nil, err
	}
	if err := core.ProcessConsolidationQueue(&requests, rules, b.evm, 0, nil); err != nil {
		return nil, err
	}
	return requests, nil
}
