package exec

import (
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/txpool"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"
)

// ValidateTx runs the checks that need no state, in the order go-ethereum's
// transaction pool runs them, and returns the sender. Consensus checks that
// need state (nonce, balance) happen during execution.
func (e *Executor) ValidateTx(tx *types.Transaction, header *types.Header) (common.Address, error) {
	return e.validate(tx, header, e.Signer(header), e.Rules(header))
}

func (e *Executor) validate(tx *types.Transaction, header *types.Header, signer types.Signer, rules params.Rules) (common.Address, error) {
	p := &e.cfg.Policy
	if p.RejectBlobTxs && tx.Type() == types.BlobTxType {
		return common.Address{}, classify(fmt.Errorf("%w: blob transactions are not accepted by this chain", core.ErrTxTypeNotSupported))
	}
	if p.MaxTxSize > 0 && tx.Size() > p.MaxTxSize {
		return common.Address{}, classify(fmt.Errorf("%w: transaction size %v, limit %v", txpool.ErrOversizedData, tx.Size(), p.MaxTxSize))
	}
	if p.Stateless {
		if err := statelessChecks(tx, header, rules); err != nil {
			return common.Address{}, classify(err)
		}
	}
	from, err := types.Sender(signer, tx)
	if err != nil {
		return common.Address{}, classify(fmt.Errorf("%w: %w", txpool.ErrInvalidSender, err))
	}
	if p.Stateless {
		if err := gasChecks(tx, from, rules); err != nil {
			return common.Address{}, classify(err)
		}
	}
	return from, nil
}

// statelessChecks mirrors txpool.ValidateTransaction up to the signature.
func statelessChecks(tx *types.Transaction, header *types.Header, rules params.Rules) error {
	switch {
	case !rules.IsBerlin && tx.Type() != types.LegacyTxType,
		!rules.IsLondon && tx.Type() == types.DynamicFeeTxType,
		!rules.IsCancun && tx.Type() == types.BlobTxType,
		!rules.IsPrague && tx.Type() == types.SetCodeTxType:
		return fmt.Errorf("%w: type %d not enabled by the fork rules", core.ErrTxTypeNotSupported, tx.Type())
	}
	if tx.To() == nil {
		if err := vm.CheckMaxInitCodeSize(&rules, uint64(len(tx.Data()))); err != nil {
			return err
		}
	}
	if rules.IsOsaka && tx.Gas() > params.MaxTxGas {
		return fmt.Errorf("%w (cap: %d, tx: %d)", core.ErrGasLimitTooHigh, params.MaxTxGas, tx.Gas())
	}
	if header.GasLimit < tx.Gas() {
		return fmt.Errorf("%w: gas %d, block gas limit %d", txpool.ErrGasLimit, tx.Gas(), header.GasLimit)
	}
	if tx.GasFeeCap().BitLen() > 256 {
		return core.ErrFeeCapVeryHigh
	}
	if tx.GasTipCap().BitLen() > 256 {
		return core.ErrTipVeryHigh
	}
	if tx.GasFeeCapIntCmp(tx.GasTipCap()) < 0 {
		return core.ErrTipAboveFeeCap
	}
	return nil
}

// gasChecks mirrors txpool.ValidateTransaction from the nonce limit on.
func gasChecks(tx *types.Transaction, from common.Address, rules params.Rules) error {
	if tx.Nonce()+1 < tx.Nonce() {
		return core.ErrNonceMax
	}
	value, overflow := uint256.FromBig(tx.Value())
	if overflow {
		return core.ErrInsufficientFunds
	}
	intrinsic, err := core.IntrinsicGas(tx.Data(), tx.AccessList(), tx.SetCodeAuthorizations(), from, tx.To(), value, rules)
	if err != nil {
		return err
	}
	if tx.Gas() < intrinsic {
		return fmt.Errorf("%w: gas %v, minimum needed %v", core.ErrIntrinsicGas, tx.Gas(), intrinsic)
	}
	if rules.IsPrague {
		floor, err := core.FloorDataGas(rules, from, tx.To(), value, tx.Data(), tx.AccessList())
		if err != nil {
			return err
		}
		if tx.Gas() < floor {
			return fmt.Errorf("%w: gas %v, minimum needed %v", core.ErrFloorDataGas, tx.Gas(), floor)
		}
	}
	if tx.Type() == types.SetCodeTxType && len(tx.SetCodeAuthorizations()) == 0 {
		return fmt.Errorf("%w (sender %v)", core.ErrEmptyAuthList, from)
	}
	return nil
}
