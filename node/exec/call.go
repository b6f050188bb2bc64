package exec

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/holiman/uint256"
	mstate "github.com/meganode/meganode/node/state"
)

// DefaultCallGas is the gas an eth_call gets when the caller names none.
const DefaultCallGas = 50_000_000

// ErrReverted is wrapped by Call's error for a call that reverted; the
// revert data comes back as the output.
var ErrReverted = errors.New("execution reverted")

// Call runs a message against a read-only state, as eth_call does: no
// nonce or fee checks, nothing written anywhere; a value (nil: none) must
// be covered by the sender's balance, or the call fails with
// core.ErrInsufficientFundsForTransfer. header is the block the call
// pretends to run in (number, time, base fee, coinbase).
//
// The gas is capped at DefaultCallGas, and the call stops early, with an
// error, when ctx ends (its deadline passed, or its client went away): the
// interpreter checks between opcodes.
func (e *Executor) Call(ctx context.Context, st mstate.Reader, header *types.Header, getHash vm.GetHashFunc, from common.Address, to *common.Address, data []byte, gas uint64, value *uint256.Int) (out []byte, used uint64, err error) {
	if value == nil {
		value = new(uint256.Int)
	}
	if gas == 0 || gas > DefaultCallGas {
		gas = DefaultCallGas
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("call: %w", err)
	}
	bctx := callBlockContext(header, getHash, gas)
	cfg := e.cfg.VM
	cfg.NoBaseFee = true
	sdb := newOverlay(st)
	evm := vm.NewEVM(bctx, sdb, e.cfg.Chain, cfg)
	overrideEVM(evm, st) // override.go
	stop := context.AfterFunc(ctx, evm.Cancel)
	defer stop()
	msg := (&core.Message{
		From: from, To: to, Data: data, GasLimit: gas,
		GasPrice: new(uint256.Int), GasFeeCap: new(uint256.Int), GasTipCap: new(uint256.Int), Value: value,
	}).SkipNonceCheck().SkipEOACheck().SkipGasLimitCapCheck()
	result, err := core.ApplyMessage(evm, msg, core.NewGasPool(gas))
	if err := ctx.Err(); err != nil {
		// Stopped, or done after the client was gone: either way the
		// answer is the context's end.
		return nil, 0, fmt.Errorf("call: %w", err)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("call: %w", err)
	}
	if result.Failed() {
		if errors.Is(result.Err, vm.ErrExecutionReverted) {
			return result.Revert(), result.UsedGas, fmt.Errorf("%w", ErrReverted)
		}
		return nil, result.UsedGas, fmt.Errorf("call: %w", result.Err)
	}
	return result.ReturnData, result.UsedGas, nil
}

// callBlockContext is the block a call (eth_call, a traced call, an
// access list's runs) pretends to run in: header's number, time, coinbase
// and randomness, a gas limit that holds the call's gas, and no base fee
// (calls pay nothing).
func callBlockContext(header *types.Header, getHash vm.GetHashFunc, gas uint64) vm.BlockContext {
	random := header.MixDigest
	return vm.BlockContext{
		CanTransfer: core.CanTransfer,
		Transfer:    core.Transfer,
		GetHash:     getHash,
		Coinbase:    header.Coinbase,
		GasLimit:    max(header.GasLimit, gas),
		BlockNumber: new(big.Int).Set(header.Number),
		Time:        header.Time,
		Difficulty:  new(big.Int),
		BaseFee:     new(big.Int),
		Random:      &random,
	}
}
