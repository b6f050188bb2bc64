package exec

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/eth/tracers"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"
	mstate "github.com/meganode/meganode/node/state"
)

// State and block overrides of eth_call, eth_estimateGas,
// eth_createAccessList and debug_traceCall: go-ethereum's
// internal/ethapi/override, in its JSON, applied by wrapping the call's
// state.Reader (Overridden) and adjusting the header it runs in.

// OverrideAccount is go-ethereum's override of one account: state and
// stateDiff cannot both be set; state replaces the account's whole storage,
// stateDiff changes the slots it names.
type OverrideAccount struct {
	Nonce            *hexutil.Uint64             `json:"nonce,omitempty"`
	Code             *hexutil.Bytes              `json:"code,omitempty"`
	Balance          *hexutil.Big                `json:"balance,omitempty"`
	State            map[common.Hash]common.Hash `json:"state"` // nil: none; empty: clear the storage
	StateDiff        map[common.Hash]common.Hash `json:"stateDiff"`
	MovePrecompileTo *common.Address             `json:"movePrecompileToAddress,omitempty"`
}

// StateOverride is go-ethereum's set of overridden accounts.
type StateOverride map[common.Address]OverrideAccount

// BlockOverrides is go-ethereum's set of overridden header fields.
// Difficulty is a no-op after the merge, as in go-ethereum's eth_call;
// beaconRoot and withdrawals are refused, as go-ethereum refuses them
// outside eth_simulateV1.
type BlockOverrides struct {
	Number        *hexutil.Big       `json:"number,omitempty"`
	Difficulty    *hexutil.Big       `json:"difficulty,omitempty"`
	Time          *hexutil.Uint64    `json:"time,omitempty"`
	GasLimit      *hexutil.Uint64    `json:"gasLimit,omitempty"`
	FeeRecipient  *common.Address    `json:"feeRecipient,omitempty"`
	PrevRandao    *common.Hash       `json:"prevRandao,omitempty"`
	BaseFeePerGas *hexutil.Big       `json:"baseFeePerGas,omitempty"`
	BlobBaseFee   *hexutil.Big       `json:"blobBaseFee,omitempty"`
	BeaconRoot    *common.Hash       `json:"beaconRoot,omitempty"`
	Withdrawals   *types.Withdrawals `json:"withdrawals,omitempty"`
}

// Overrides are a call's state and block overrides, as they travel to the
// node (api.Call.Overrides holds their JSON).
type Overrides struct {
	State StateOverride   `json:"state,omitempty"`
	Block *BlockOverrides `json:"block,omitempty"`
}

// Empty reports whether o overrides nothing.
func (o *Overrides) Empty() bool {
	return o == nil || (len(o.State) == 0 && (o.Block == nil || *o.Block == BlockOverrides{}))
}

// DecodeOverrides decodes overrides' JSON; nil for none.
func DecodeOverrides(raw []byte) (*Overrides, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	o := new(Overrides)
	if err := json.Unmarshal(raw, o); err != nil {
		return nil, fmt.Errorf("invalid overrides: %w", err)
	}
	return o, nil
}

// TraceCallOverrides are the overrides of a traced call's configuration
// (go-ethereum's TraceCallConfig, whose override types are its own,
// internal, with the same JSON).
func TraceCallOverrides(cfg *tracers.TraceCallConfig) (*Overrides, error) {
	o := new(Overrides)
	if cfg.StateOverrides != nil {
		raw, err := json.Marshal(cfg.StateOverrides)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(raw, &o.State); err != nil {
			return nil, fmt.Errorf("invalid state overrides: %w", err)
		}
	}
	if cfg.BlockOverrides != nil {
		raw, err := json.Marshal(cfg.BlockOverrides)
		if err != nil {
			return nil, err
		}
		o.Block = new(BlockOverrides)
		if err := json.Unmarshal(raw, o.Block); err != nil {
			return nil, fmt.Errorf("invalid block overrides: %w", err)
		}
	}
	if o.Empty() {
		return nil, nil
	}
	return o, nil
}

// Header is header with the block overrides applied (go-ethereum's
// BlockOverrides.MakeHeader), or an error for an override go-ethereum
// refuses outside eth_simulateV1.
func (b *BlockOverrides) Header(header *types.Header) (*types.Header, error) {
	if b == nil {
		return header, nil
	}
	if b.BeaconRoot != nil {
		return nil, errors.New(`block override "beaconRoot" is not supported for this RPC method`)
	}
	if b.Withdrawals != nil {
		return nil, errors.New(`block override "withdrawals" is not supported for this RPC method`)
	}
	h := types.CopyHeader(header)
	if b.Number != nil {
		h.Number = new(big.Int).Set(b.Number.ToInt())
	}
	if b.Difficulty != nil && (h.Difficulty == nil || h.Difficulty.Sign() != 0) {
		h.Difficulty = new(big.Int).Set(b.Difficulty.ToInt())
	}
	if b.Time != nil {
		h.Time = uint64(*b.Time)
	}
	if b.GasLimit != nil {
		h.GasLimit = uint64(*b.GasLimit)
	}
	if b.FeeRecipient != nil {
		h.Coinbase = *b.FeeRecipient
	}
	if b.PrevRandao != nil {
		h.MixDigest = *b.PrevRandao
	}
	if b.BaseFeePerGas != nil {
		h.BaseFee = new(big.Int).Set(b.BaseFeePerGas.ToInt())
	}
	return h, nil
}

// Overridden is a state with a call's state overrides applied: a
// state.Reader that answers the overridden accounts, slots and code first,
// and the base state for the rest. It also carries what the call's EVM
// runs with: the precompiles (those of the fork but the overridden and
// moved ones) and the blob base fee of the block overrides. Call,
// TraceCall and CreateAccessList set their EVM up from it.
type Overridden struct {
	base        mstate.Reader
	accounts    map[common.Address]*overriddenAccount
	code        map[common.Hash][]byte
	precompiles vm.PrecompiledContracts // nil: the fork's
	blobBaseFee *big.Int
}

type overriddenAccount struct {
	acct    mstate.Account
	replace bool // 'state': the storage is slots alone
	slots   map[common.Hash]common.Hash
}

var _ mstate.Reader = (*Overridden)(nil)

// Apply applies o to a call on st in header: it returns the overridden
// state and header, with go-ethereum's errors for overrides it refuses
// (an account with both state and stateDiff, a precompile moved from an
// address that holds none or onto an overridden one). precompiles says
// whether precompiles are overridden and moved, as in eth_call (false: as
// in eth_createAccessList, where go-ethereum applies the overrides
// without precompiles, so that any move is refused).
func (o *Overrides) Apply(cc *params.ChainConfig, st mstate.Reader, header *types.Header, precompiles bool) (mstate.Reader, *types.Header, error) {
	if o.Empty() {
		return st, header, nil
	}
	header, err := o.Block.Header(header)
	if err != nil {
		return nil, nil, err
	}
	ov := &Overridden{base: st, accounts: make(map[common.Address]*overriddenAccount), code: make(map[common.Hash][]byte)}
	if o.Block != nil && o.Block.BlobBaseFee != nil {
		ov.blobBaseFee = new(big.Int).Set(o.Block.BlobBaseFee.ToInt())
	}
	var pre vm.PrecompiledContracts
	if precompiles {
		pre = vm.ActivePrecompiledContracts(cc.Rules(header.Number, true, header.Time))
		ov.precompiles = pre
	}
	moved := make(map[common.Address]bool)
	// order: in address order (Address.Cmp is a total order), as go-ethereum, so that the first error is the same.
	for _, addr := range slices.SortedFunc(maps.Keys(o.State), common.Address.Cmp) {
		a := o.State[addr]
		if moved[addr] {
			return nil, nil, fmt.Errorf("account %s has already been overridden by a precompile", addr.Hex())
		}
		p, isPrecompile := pre[addr]
		if a.MovePrecompileTo != nil {
			if !isPrecompile {
				return nil, nil, fmt.Errorf("account %s is not a precompile", addr.Hex())
			}
			if _, ok := o.State[*a.MovePrecompileTo]; ok {
				return nil, nil, fmt.Errorf("account %s is already overridden", a.MovePrecompileTo.Hex())
			}
			pre[*a.MovePrecompileTo] = p
			moved[*a.MovePrecompileTo] = true
		}
		if isPrecompile {
			delete(pre, addr)
		}
		acct, ok := st.Account(addr)
		if !ok {
			acct = mstate.Account{CodeHash: types.EmptyCodeHash}
		}
		oa := &overriddenAccount{acct: acct}
		if a.Nonce != nil {
			oa.acct.Nonce = uint64(*a.Nonce)
		}
		if a.Code != nil {
			code := []byte(*a.Code)
			oa.acct.CodeHash = types.EmptyCodeHash
			if len(code) > 0 {
				oa.acct.CodeHash = crypto.Keccak256Hash(code)
				ov.code[oa.acct.CodeHash] = code
			}
		}
		if a.Balance != nil {
			b, _ := uint256.FromBig(a.Balance.ToInt()) // as go-ethereum: wraps past 256 bits, which hexutil.Big refuses
			oa.acct.Balance = *b
		}
		if a.State != nil && a.StateDiff != nil {
			return nil, nil, fmt.Errorf("account %s has both 'state' and 'stateDiff'", addr.Hex())
		}
		switch {
		case a.State != nil:
			oa.replace, oa.slots = true, maps.Clone(a.State)
		case a.StateDiff != nil:
			oa.slots = maps.Clone(a.StateDiff)
		}
		ov.accounts[addr] = oa
	}
	return ov, header, nil
}

// Account implements state.Reader: an overridden account exists.
func (ov *Overridden) Account(addr common.Address) (mstate.Account, bool) {
	if oa := ov.accounts[addr]; oa != nil {
		return oa.acct, true
	}
	return ov.base.Account(addr)
}

// Storage implements state.Reader.
func (ov *Overridden) Storage(addr common.Address, key common.Hash) common.Hash {
	if oa := ov.accounts[addr]; oa != nil {
		if v, ok := oa.slots[key]; ok || oa.replace {
			return v
		}
	}
	return ov.base.Storage(addr, key)
}

// Code implements state.Reader.
func (ov *Overridden) Code(codeHash common.Hash) []byte {
	if code, ok := ov.code[codeHash]; ok {
		return code
	}
	return ov.base.Code(codeHash)
}

// overrideEVM sets a call's EVM up for its state: with an Overridden
// state, the overrides' precompiles and blob base fee.
func overrideEVM(evm *vm.EVM, st mstate.Reader) {
	ov, ok := st.(*Overridden)
	if !ok {
		return
	}
	if ov.precompiles != nil {
		evm.SetPrecompiles(ov.precompiles)
	}
	if ov.blobBaseFee != nil {
		evm.Context.BlobBaseFee = new(big.Int).Set(ov.blobBaseFee)
	}
}
