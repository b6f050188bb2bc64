package exec

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	gethlogger "github.com/ethereum/go-ethereum/eth/tracers/logger"
	"github.com/holiman/uint256"
	mstate "github.com/meganode/meganode/node/state"
)

// MaxAccessListRuns bounds the executions of CreateAccessList: each run
// adds what the previous one touched, so the list grows monotonically and
// settles; the bound only guards the node against a pathological call.
const MaxAccessListRuns = 256

// CreateAccessList builds the EIP-2930 access list of a call, as
// go-ethereum's eth_createAccessList does (internal/ethapi AccessList):
// it runs the call, as Call would (gas, value, no fee), under
// go-ethereum's access list tracer, again with the list found, until the
// list stops changing. The sender, the recipient (the created address for
// a creation) and the precompiles are left out. It answers the list, the
// gas the last run used, and the run's own failure (vmErr: a revert, out
// of gas, …); err is a call that cannot run at all, with go-ethereum's
// "failed to apply transaction" message.
func (e *Executor) CreateAccessList(ctx context.Context, st mstate.Reader, header *types.Header, getHash vm.GetHashFunc, from common.Address, to *common.Address, data []byte, gas uint64, value *uint256.Int) (acl types.AccessList, used uint64, vmErr, err error) {
	if value == nil {
		value = new(uint256.Int)
	}
	if gas == 0 || gas > DefaultCallGas {
		gas = DefaultCallGas
	}
	nonce := newOverlay(st).GetNonce(from)
	dest := crypto.CreateAddress(from, nonce)
	if to != nil {
		dest = *to
	}
	rules := e.cfg.Chain.Rules(header.Number, true, header.Time)
	exclude := map[common.Address]struct{}{from: {}, dest: {}}
	for _, addr := range vm.ActivePrecompiles(rules) {
		exclude[addr] = struct{}{}
	}
	prev := gethlogger.NewAccessListTracer(nil, exclude)
	for range MaxAccessListRuns {
		if err := ctx.Err(); err != nil {
			return nil, 0, nil, fmt.Errorf("call: %w", err)
		}
		list := prev.AccessList()
		tracer := gethlogger.NewAccessListTracer(list, exclude)
		res, err := e.runAccessList(ctx, st, header, getHash, tracer, &core.Message{
			From: from, To: to, Data: data, GasLimit: gas, Nonce: nonce, AccessList: list,
			GasPrice: new(uint256.Int), GasFeeCap: new(uint256.Int), GasTipCap: new(uint256.Int), Value: value,
		})
		if err := ctx.Err(); err != nil {
			return nil, 0, nil, fmt.Errorf("call: %w", err)
		}
		if err != nil {
			tx := types.NewTx(&types.LegacyTx{Nonce: nonce, GasPrice: new(big.Int), Gas: gas, To: to, Value: value.ToBig(), Data: data, V: new(big.Int), R: new(big.Int), S: new(big.Int)})
			return nil, 0, nil, fmt.Errorf("failed to apply transaction: %v err: %v", tx.Hash(), err)
		}
		if tracer.Equal(prev) {
			return list, res.UsedGas, res.Err, nil
		}
		prev = tracer
	}
	return nil, 0, nil, fmt.Errorf("access list did not settle in %d runs", MaxAccessListRuns)
}

// runAccessList runs msg once under tracer, on a fresh overlay of st.
func (e *Executor) runAccessList(ctx context.Context, st mstate.Reader, header *types.Header, getHash vm.GetHashFunc, tracer *gethlogger.AccessListTracer, msg *core.Message) (*core.ExecutionResult, error) {
	bctx := callBlockContext(header, getHash, msg.GasLimit)
	cfg := e.cfg.VM
	cfg.Tracer, cfg.NoBaseFee = tracer.Hooks(), true
	evm := vm.NewEVM(bctx, newOverlay(st), e.cfg.Chain, cfg)
	defer evm.Release()
	overrideEVM(evm, st)
	stop := context.AfterFunc(ctx, evm.Cancel)
	defer stop()
	msg.SkipNonceCheck().SkipEOACheck().SkipGasLimitCapCheck()
	return core.ApplyMessage(evm, msg, core.NewGasPool(msg.GasLimit))
}
