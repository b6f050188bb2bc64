package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/consensus/misc/eip1559"
	"github.com/ethereum/go-ethereum/consensus/misc/eip4844"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/holiman/uint256"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/exec"
	"github.com/meganode/meganode/node/state"
)

// eth_simulateV1: go-ethereum's internal/ethapi/simulate.go (v1.17.10),
// over a view. The options (c.Data, go-ethereum's simOpts JSON) name
// blocks of calls; each block's header fields can be overridden and its
// state overridden before it runs; the calls run in order, as unsigned
// messages, on a copy-on-write layer over the state at c.Tag, each seeing
// the changes of all before it, in its block and in earlier ones. Nothing
// is written anywhere.
//
// As in go-ethereum: block numbers must increase (-38020) and gaps are
// filled with empty blocks, timestamps increase (-38021, 12 s apart by
// default), at most 256 blocks past the base (-38026), 5,000 calls a
// block and 10,000 in all; a call's gas defaults to what is left of its
// block's (asking more is -38015), its nonce to the account's; the gas of
// all calls together is bounded by the RPC gas cap (c.Gas, at most the
// node's exec.DefaultCallGas); without validation fees are not charged
// and the base fee is zero unless overridden, with validation the calls
// are checked as transactions (nonce -38010/-38011, base fee -38012,
// intrinsic gas -38013, funds -38014). A call that reverts answers code 3
// and its data, one that fails in the EVM -32015, in its result; the
// simulation goes on. traceTransfers adds each ether transfer to the
// logs, as ERC-7528 Transfer logs.
//
// Unlike go-ethereum, a simulated block's state root is not computed (the
// node keeps no trie of a view's state): stateRoot is zero, so the block
// hashes (which BLOCKHASH answers for simulated blocks) are not the ones
// geth gives. The context's end stops the simulation with the error
// eth_call gets then.

// Go-ethereum's bounds on a simulation.
const (
	MaxSimulateBlocks        = 256
	MaxSimulateCallsPerBlock = 5000
	MaxSimulateCalls         = 10000
	simTimestampIncrement    = 12
)

// Go-ethereum's error codes of eth_simulateV1 (internal/ethapi/errors.go).
const (
	simCodeNonceTooHigh            = -38011
	simCodeNonceTooLow             = -38010
	simCodeBaseFeeTooLow           = -38012
	simCodeIntrinsicGas            = -38013
	simCodeInsufficientFunds       = -38014
	simCodeBlockGasLimitReached    = -38015
	simCodeBlockNumberInvalid      = -38020
	simCodeBlockTimestampInvalid   = -38021
	simCodeSenderIsNotEOA          = -38024
	simCodeMaxInitCodeSizeExceeded = -38025
	simCodeClientLimitExceeded     = -38026
	simCodeInternalError           = -32603
	simCodeInvalidParams           = -32602
	simCodeVMError                 = -32015
)

// SimError is what a failed simulation's Answer.Value holds: go-ethereum's
// JSON-RPC code and message, which the API's kinds do not carry.
type SimError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// simError is a simulation refused with one of go-ethereum's codes.
type simError struct {
	code int
	kind api.Kind
	msg  string
}

func (e *simError) Error() string { return e.msg }

func simErrorf(code int, kind api.Kind, format string, args ...any) *simError {
	return &simError{code: code, kind: kind, msg: fmt.Sprintf(format, args...)}
}

// simTxError is go-ethereum's txValidationError: a call that cannot run as
// a transaction, by its reason.
func simTxError(err error) *simError {
	code, kind := simCodeInternalError, api.KindInvalidTx
	switch {
	case errors.Is(err, core.ErrNonceTooHigh):
		code, kind = simCodeNonceTooHigh, api.KindNonceGap
	case errors.Is(err, core.ErrNonceTooLow):
		code, kind = simCodeNonceTooLow, api.KindNonceTooLow
	case errors.Is(err, core.ErrSenderNoEOA):
		code = simCodeSenderIsNotEOA
	case errors.Is(err, core.ErrFeeCapVeryHigh), errors.Is(err, core.ErrTipVeryHigh), errors.Is(err, core.ErrTipAboveFeeCap):
		code, kind = simCodeInvalidParams, api.KindFee
	case errors.Is(err, core.ErrFeeCapTooLow):
		code, kind = simCodeBaseFeeTooLow, api.KindFee
	case errors.Is(err, core.ErrInsufficientFunds), errors.Is(err, core.ErrInsufficientFundsForTransfer):
		code, kind = simCodeInsufficientFunds, api.KindInsufficientFunds
	case errors.Is(err, core.ErrIntrinsicGas):
		code, kind = simCodeIntrinsicGas, api.KindIntrinsicGas
	case errors.Is(err, vm.ErrMaxInitCodeSizeExceeded):
		code = simCodeMaxInitCodeSizeExceeded
	}
	return &simError{code: code, kind: kind, msg: err.Error()}
}

// simOpts are eth_simulateV1's options, go-ethereum's simOpts (its field
// names, matched case-insensitively as encoding/json does).
type simOpts struct {
	BlockStateCalls        []simBlock
	TraceTransfers         bool
	Validation             bool
	ReturnFullTransactions bool
}

// simBlock is one block of calls, go-ethereum's: an override key that
// names no field is refused.
type simBlock struct {
	BlockOverrides *exec.BlockOverrides
	StateOverrides exec.StateOverride
	Calls          []simCallArgs
}

// UnmarshalJSON refuses block and account override keys that are not
// defined, as go-ethereum's simBlock does.
func (b *simBlock) UnmarshalJSON(input []byte) error {
	var dec struct {
		BlockOverrides json.RawMessage
		StateOverrides map[common.Address]json.RawMessage
		Calls          []simCallArgs
	}
	if err := json.Unmarshal(input, &dec); err != nil {
		return err
	}
	var res simBlock
	if dec.BlockOverrides != nil {
		if err := checkOverrideKeys(dec.BlockOverrides, reflect.TypeFor[exec.BlockOverrides](), "block override"); err != nil {
			return err
		}
		if err := json.Unmarshal(dec.BlockOverrides, &res.BlockOverrides); err != nil {
			return err
		}
	}
	if dec.StateOverrides != nil {
		res.StateOverrides = make(exec.StateOverride, len(dec.StateOverrides))
		for addr, raw := range dec.StateOverrides { // filling a map: order cannot leak
			if err := checkOverrideKeys(raw, reflect.TypeFor[exec.OverrideAccount](), "state override for "+addr.Hex()); err != nil {
				return err
			}
			var account exec.OverrideAccount
			if err := json.Unmarshal(raw, &account); err != nil {
				return err
			}
			res.StateOverrides[addr] = account
		}
	}
	res.Calls = dec.Calls
	*b = res
	return nil
}

// checkOverrideKeys is go-ethereum's: an error for a key of the JSON
// object that names no field of t, or a field another key names already
// (case-insensitively, as encoding/json matches them).
func checkOverrideKeys(input json.RawMessage, t reflect.Type, what string) error {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(input, &keys); err != nil || keys == nil {
		return nil
	}
	seen := make(map[int]string)
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		field := -1
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if strings.EqualFold(key, name) {
				field = i
				break
			}
		}
		if field < 0 {
			return fmt.Errorf("unknown field %q in %s", key, what)
		}
		if prev, ok := seen[field]; ok {
			return fmt.Errorf("keys %q and %q in %s name the same field", prev, key, what)
		}
		seen[field] = key
	}
	return nil
}

// simCallArgs is a simulated call: go-ethereum's TransactionArgs, but
// for the blob sidecar, which a simulation does not use.
type simCallArgs struct {
	From                 *common.Address              `json:"from"`
	To                   *common.Address              `json:"to"`
	Gas                  *hexutil.Uint64              `json:"gas"`
	GasPrice             *hexutil.Big                 `json:"gasPrice"`
	MaxFeePerGas         *hexutil.Big                 `json:"maxFeePerGas"`
	MaxPriorityFeePerGas *hexutil.Big                 `json:"maxPriorityFeePerGas"`
	Value                *hexutil.Big                 `json:"value"`
	Nonce                *hexutil.Uint64              `json:"nonce"`
	Data                 *hexutil.Bytes               `json:"data"`
	Input                *hexutil.Bytes               `json:"input"`
	AccessList           *types.AccessList            `json:"accessList,omitempty"`
	ChainID              *hexutil.Big                 `json:"chainId,omitempty"`
	BlobFeeCap           *hexutil.Big                 `json:"maxFeePerBlobGas"`
	BlobHashes           []common.Hash                `json:"blobVersionedHashes,omitempty"`
	AuthorizationList    []types.SetCodeAuthorization `json:"authorizationList"`
}

func (args *simCallArgs) from() common.Address {
	if args.From == nil {
		return common.Address{}
	}
	return *args.From
}

// data is the call's input: input before data, as go-ethereum.
func (args *simCallArgs) data() []byte {
	if args.Input != nil {
		return *args.Input
	}
	if args.Data != nil {
		return *args.Data
	}
	return nil
}

// callDefaults is go-ethereum's CallDefaults with no gas cap (the gas is
// set by then).
func (args *simCallArgs) callDefaults(baseFee, chainID *big.Int) error {
	if args.GasPrice != nil && (args.MaxFeePerGas != nil || args.MaxPriorityFeePerGas != nil) {
		return errors.New("both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified")
	}
	if args.To == nil {
		if args.BlobHashes != nil {
			return core.ErrBlobTxCreate
		}
		if args.AuthorizationList != nil {
			return core.ErrSetCodeTxCreate
		}
	}
	if args.ChainID == nil {
		args.ChainID = (*hexutil.Big)(new(big.Int).Set(chainID))
	} else if have := args.ChainID.ToInt(); have.Cmp(chainID) != 0 {
		return fmt.Errorf("chainId does not match node's (have=%v, want=%v)", have, chainID)
	}
	if args.Gas == nil {
		gas := hexutil.Uint64(math.MaxUint64 / 2)
		args.Gas = &gas
	}
	if args.Nonce == nil {
		args.Nonce = new(hexutil.Uint64)
	}
	if args.Value == nil {
		args.Value = new(hexutil.Big)
	}
	if baseFee == nil {
		if args.MaxFeePerGas != nil || args.MaxPriorityFeePerGas != nil {
			return errors.New("maxFeePerGas and maxPriorityFeePerGas are not valid before London is active")
		}
		if args.GasPrice == nil {
			args.GasPrice = new(hexutil.Big)
		}
	} else {
		if args.MaxFeePerGas == nil {
			args.MaxFeePerGas = new(hexutil.Big)
		}
		if args.MaxPriorityFeePerGas == nil {
			args.MaxPriorityFeePerGas = new(hexutil.Big)
		}
	}
	if args.BlobFeeCap == nil && args.BlobHashes != nil {
		args.BlobFeeCap = new(hexutil.Big)
	}
	return nil
}

// u256 is a non-nil hexutil.Big as a uint256 (zero for nil).
func u256(b *hexutil.Big) *uint256.Int {
	if b == nil {
		return new(uint256.Int)
	}
	v, _ := uint256.FromBig(b.ToInt()) // hexutil.Big holds 256 bits at most
	return v
}

func bigOf(b *hexutil.Big) *big.Int {
	if b == nil {
		return new(big.Int)
	}
	return new(big.Int).Set(b.ToInt())
}

// toMessage is go-ethereum's ToMessage, after callDefaults.
func (args *simCallArgs) toMessage(baseFee *big.Int, skipNonceCheck bool) *core.Message {
	var gasPrice, gasFeeCap, gasTipCap *uint256.Int
	switch {
	case baseFee == nil:
		gasPrice = u256(args.GasPrice)
		gasFeeCap, gasTipCap = gasPrice, gasPrice
	case args.GasPrice != nil:
		gasPrice = u256(args.GasPrice)
		gasFeeCap, gasTipCap = gasPrice, gasPrice
	default:
		gasFeeCap, gasTipCap = u256(args.MaxFeePerGas), u256(args.MaxPriorityFeePerGas)
		gasPrice = new(uint256.Int)
		if gasFeeCap.BitLen() > 0 || gasTipCap.BitLen() > 0 {
			bf, _ := uint256.FromBig(baseFee)
			gasPrice.Add(gasTipCap, bf)
			if gasPrice.Cmp(gasFeeCap) > 0 {
				gasPrice = gasFeeCap
			}
		}
	}
	var accessList types.AccessList
	if args.AccessList != nil {
		accessList = *args.AccessList
	}
	msg := &core.Message{
		From: args.from(), To: args.To, Value: u256(args.Value), Nonce: uint64(*args.Nonce), GasLimit: uint64(*args.Gas),
		GasPrice: gasPrice, GasFeeCap: gasFeeCap, GasTipCap: gasTipCap, Data: args.data(), AccessList: accessList,
		BlobGasFeeCap: u256(args.BlobFeeCap), BlobHashes: args.BlobHashes, SetCodeAuthorizations: args.AuthorizationList,
	}
	if skipNonceCheck {
		msg.SkipNonceCheck()
	}
	return msg.SkipEOACheck().SkipGasLimitCapCheck()
}

// toTransaction is go-ethereum's ToTransaction with a dynamic-fee
// default: the unsigned transaction the simulated block holds.
func (args *simCallArgs) toTransaction() *types.Transaction {
	usedType := types.DynamicFeeTxType
	switch {
	case args.AuthorizationList != nil:
		usedType = types.SetCodeTxType
	case args.BlobHashes != nil:
		usedType = types.BlobTxType
	}
	if args.GasPrice != nil {
		usedType = types.LegacyTxType
		if args.AccessList != nil {
			usedType = types.AccessListTxType
		}
	}
	al := types.AccessList{}
	if args.AccessList != nil {
		al = *args.AccessList
	}
	nonce, gas := uint64(*args.Nonce), uint64(*args.Gas)
	var data types.TxData
	switch usedType {
	case types.SetCodeTxType:
		auth := args.AuthorizationList
		if auth == nil {
			auth = []types.SetCodeAuthorization{}
		}
		data = &types.SetCodeTx{To: *args.To, ChainID: u256(args.ChainID), Nonce: nonce, Gas: gas,
			GasFeeCap: u256(args.MaxFeePerGas), GasTipCap: u256(args.MaxPriorityFeePerGas), Value: u256(args.Value),
			Data: args.data(), AccessList: al, AuthList: auth}
	case types.BlobTxType:
		data = &types.BlobTx{To: *args.To, ChainID: u256(args.ChainID), Nonce: nonce, Gas: gas,
			GasFeeCap: u256(args.MaxFeePerGas), GasTipCap: u256(args.MaxPriorityFeePerGas), Value: u256(args.Value),
			Data: args.data(), AccessList: al, BlobHashes: args.BlobHashes, BlobFeeCap: u256(args.BlobFeeCap)}
	case types.DynamicFeeTxType:
		data = &types.DynamicFeeTx{To: args.To, ChainID: bigOf(args.ChainID), Nonce: nonce, Gas: gas,
			GasFeeCap: bigOf(args.MaxFeePerGas), GasTipCap: bigOf(args.MaxPriorityFeePerGas), Value: bigOf(args.Value),
			Data: args.data(), AccessList: al}
	case types.AccessListTxType:
		data = &types.AccessListTx{To: args.To, ChainID: bigOf(args.ChainID), Nonce: nonce, Gas: gas,
			GasPrice: bigOf(args.GasPrice), Value: bigOf(args.Value), Data: args.data(), AccessList: al}
	default:
		data = &types.LegacyTx{To: args.To, Nonce: nonce, Gas: gas, GasPrice: bigOf(args.GasPrice), Value: bigOf(args.Value), Data: args.data()}
	}
	return types.NewTx(data)
}

// SimCallResult is a simulated call's result, go-ethereum's
// simCallResult.
type SimCallResult struct {
	ReturnValue hexutil.Bytes  `json:"returnData"`
	Logs        []*types.Log   `json:"logs"`
	GasUsed     hexutil.Uint64 `json:"gasUsed"`
	MaxUsedGas  hexutil.Uint64 `json:"maxUsedGas"`
	Status      hexutil.Uint64 `json:"status"`
	Error       *SimCallError  `json:"error,omitempty"`
}

// SimCallError is a failed call's error: 3 and the revert data for a
// revert, -32015 for a failure in the EVM.
type SimCallError struct {
	Message string `json:"message"`
	Code    int    `json:"code"`
	Data    string `json:"data,omitempty"`
}

// MarshalJSON writes no logs as an empty list, as go-ethereum.
func (r SimCallResult) MarshalJSON() ([]byte, error) {
	type alias SimCallResult
	if r.Logs == nil {
		r.Logs = []*types.Log{}
	}
	return json.Marshal(alias(r))
}

// SimulatedBlock is one simulated block as the node answers it
// (Answer.Value holds a JSON list of them): the block, RLP-encoded, with
// its transactions (the calls, unsigned), their senders, and the calls'
// results. The JSON-RPC server writes the block as eth_getBlockByNumber
// does and adds "calls".
type SimulatedBlock struct {
	Block   hexutil.Bytes    `json:"block"`
	Senders []common.Address `json:"senders"`
	Calls   []SimCallResult  `json:"calls"`
}

// simGasBudget is go-ethereum's gasBudget: the gas left to all the calls
// of a simulation.
type simGasBudget struct{ remaining uint64 }

func (b *simGasBudget) cap(gas uint64) uint64 { return min(gas, b.remaining) }

func (b *simGasBudget) consume(amount uint64) error {
	if amount > b.remaining {
		return fmt.Errorf("RPC gas cap exhausted: need %d, remaining %d", amount, b.remaining)
	}
	b.remaining -= amount
	return nil
}

// simulator runs one simulation on a view.
type simulator struct {
	v        *View
	ex       *exec.Executor
	cc       *params.ChainConfig
	base     *types.Header
	st       state.Reader // the state the next block runs on
	budget   simGasBudget
	validate bool
	traceTx  bool
	hashes   map[uint64]common.Hash // the simulated blocks' hashes, for BLOCKHASH
}

// serveSimulate answers eth_simulateV1 (MethodSimulate): the options in
// c.Data, the base state at c.Tag, c.Gas the gas budget (0: the node's).
func (v *View) serveSimulate(ctx context.Context, ex *exec.Executor, c *api.Call) *api.Answer {
	var opts simOpts
	if err := json.Unmarshal(c.Data, &opts); err != nil {
		return &api.Answer{Err: api.Errorf(api.KindInvalidInput, "invalid argument 0: %v", err)}
	}
	if err := checkSimulateSize(&opts); err != nil {
		return simFailed(api.Height{}, err)
	}
	at, aerr := v.Resolve(c.Tag)
	if aerr != nil {
		return &api.Answer{Err: aerr}
	}
	view, err := v.StateAt(at.MiniBlock)
	if err != nil {
		return &api.Answer{At: at, Err: AsError(err)}
	}
	gas := c.Gas
	if gas == 0 || gas > exec.DefaultCallGas {
		gas = exec.DefaultCallGas
	}
	sim := &simulator{
		v: v, ex: ex, cc: ex.Config().Chain, base: v.simBase(at), st: view,
		budget: simGasBudget{remaining: gas}, validate: opts.Validation, traceTx: opts.TraceTransfers,
		hashes: map[uint64]common.Hash{},
	}
	out, err := sim.execute(ctx, opts.BlockStateCalls)
	if err != nil {
		return simFailed(at, err)
	}
	if err := view.Err(); err != nil {
		return &api.Answer{At: at, Err: AsError(fmt.Errorf("%w: %v", ErrPruned, err))}
	}
	enc, err := json.Marshal(out)
	if err != nil {
		return &api.Answer{At: at, Err: api.Errorf(api.KindInternal, "encoding a simulation: %v", err)}
	}
	return &api.Answer{At: at, Value: enc}
}

// checkSimulateSize is go-ethereum's check of the request's size.
func checkSimulateSize(opts *simOpts) error {
	if len(opts.BlockStateCalls) == 0 {
		return simErrorf(simCodeInvalidParams, api.KindInvalidInput, "empty input")
	}
	if len(opts.BlockStateCalls) > MaxSimulateBlocks {
		return simErrorf(simCodeClientLimitExceeded, api.KindInvalidInput, "too many blocks")
	}
	total := 0
	for _, b := range opts.BlockStateCalls {
		if len(b.Calls) > MaxSimulateCallsPerBlock {
			return simErrorf(simCodeClientLimitExceeded, api.KindInvalidInput, "too many calls in block: %d > %d", len(b.Calls), MaxSimulateCallsPerBlock)
		}
		total += len(b.Calls)
		if total > MaxSimulateCalls {
			return simErrorf(simCodeClientLimitExceeded, api.KindInvalidInput, "too many calls: %d > %d", total, MaxSimulateCalls)
		}
	}
	return nil
}

// simFailed is the answer of a failed simulation: a code of go-ethereum's
// goes in Answer.Value too.
func simFailed(at api.Height, err error) *api.Answer {
	var se *simError
	if errors.As(err, &se) {
		body, _ := json.Marshal(SimError{Code: se.code, Message: se.msg})
		return &api.Answer{At: at, Err: &api.Error{Kind: se.kind, Message: se.msg}, Value: body}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &api.Answer{At: at, Err: AsError(err)}
	}
	var ae *api.Error
	if errors.As(err, &ae) {
		return &api.Answer{At: at, Err: ae}
	}
	// go-ethereum's plain errors (an override it refuses, a call's
	// defaults, the gas cap): -32000.
	return &api.Answer{At: at, Err: api.Errorf(api.KindInvalidTx, "%v", err)}
}

// simBase is the header of the block a simulation at height at builds on:
// the sealed block's when at is one, else the call header of at (an open
// block's, numbered as it, at its mini-block's time).
func (v *View) simBase(at api.Height) *types.Header {
	if s, err := v.SealedBlock(at.Block); err == nil && s.Last == at.MiniBlock {
		return s.Header
	}
	return v.callHeader(at)
}

// getHash answers BLOCKHASH: the chain's blocks up to the base, then the
// simulated ones.
func (sim *simulator) getHash(n uint64) common.Hash {
	switch b := sim.base.Number.Uint64(); {
	case n == b:
		return sim.base.Hash()
	case n < b:
		return sim.v.BlockHash(n)
	}
	return sim.hashes[n]
}

// execute runs the blocks, as go-ethereum's simulator.execute.
func (sim *simulator) execute(ctx context.Context, blocks []simBlock) ([]SimulatedBlock, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	blocks, err := sim.sanitizeChain(blocks)
	if err != nil {
		return nil, err
	}
	headers, err := sim.makeHeaders(blocks)
	if err != nil {
		return nil, err
	}
	out := make([]SimulatedBlock, len(blocks))
	parent := sim.base
	for i := range blocks {
		b, err := sim.processBlock(ctx, &blocks[i], headers[i], parent)
		if err != nil {
			return nil, err
		}
		out[i] = *b
		parent = headers[i]
	}
	return out, nil
}

// sanitizeChain is go-ethereum's: block numbers and timestamps default to
// the next ones and must increase; gaps in the numbers are filled with
// empty blocks; no block may be more than MaxSimulateBlocks past the base.
func (sim *simulator) sanitizeChain(blocks []simBlock) ([]simBlock, error) {
	var (
		res        = make([]simBlock, 0, len(blocks))
		base       = sim.base
		prevNumber = new(big.Int).Set(base.Number)
		prevTime   = base.Time
	)
	for _, block := range blocks {
		if block.BlockOverrides == nil {
			block.BlockOverrides = new(exec.BlockOverrides)
		} else {
			bo := *block.BlockOverrides
			block.BlockOverrides = &bo
		}
		if block.BlockOverrides.Number == nil {
			block.BlockOverrides.Number = (*hexutil.Big)(new(big.Int).Add(prevNumber, common.Big1))
		}
		if block.BlockOverrides.Withdrawals == nil {
			block.BlockOverrides.Withdrawals = &types.Withdrawals{}
		}
		number := block.BlockOverrides.Number.ToInt()
		diff := new(big.Int).Sub(number, prevNumber)
		if diff.Sign() <= 0 {
			return nil, simErrorf(simCodeBlockNumberInvalid, api.KindInvalidInput, "block numbers must be in order: %d <= %d", number, prevNumber)
		}
		if total := new(big.Int).Sub(number, base.Number); total.Cmp(big.NewInt(MaxSimulateBlocks)) > 0 {
			return nil, simErrorf(simCodeClientLimitExceeded, api.KindInvalidInput, "too many blocks")
		}
		for i := uint64(1); i < diff.Uint64(); i++ { // fill the gap
			n := new(big.Int).Add(prevNumber, new(big.Int).SetUint64(i))
			t := hexutil.Uint64(prevTime + simTimestampIncrement)
			res = append(res, simBlock{BlockOverrides: &exec.BlockOverrides{Number: (*hexutil.Big)(n), Time: &t, Withdrawals: &types.Withdrawals{}}})
			prevTime = uint64(t)
		}
		prevNumber = number
		if block.BlockOverrides.Time == nil {
			t := hexutil.Uint64(prevTime + simTimestampIncrement)
			block.BlockOverrides.Time = &t
		} else if t := uint64(*block.BlockOverrides.Time); t <= prevTime {
			return nil, simErrorf(simCodeBlockTimestampInvalid, api.KindInvalidInput, "block timestamps must be in order: %d <= %d", t, prevTime)
		}
		prevTime = uint64(*block.BlockOverrides.Time)
		res = append(res, block)
	}
	return res, nil
}

// makeHeaders is go-ethereum's: each block's preliminary header, its
// coinbase and gas limit carried from the one before, with its overrides.
func (sim *simulator) makeHeaders(blocks []simBlock) ([]*types.Header, error) {
	res := make([]*types.Header, len(blocks))
	header := sim.base
	for i, block := range blocks {
		o := block.BlockOverrides
		number, t := o.Number.ToInt(), uint64(*o.Time)
		h := &types.Header{
			UncleHash: types.EmptyUncleHash, ReceiptHash: types.EmptyReceiptsHash, TxHash: types.EmptyTxsHash,
			Coinbase: header.Coinbase, Difficulty: header.Difficulty, GasLimit: header.GasLimit,
		}
		if sim.cc.IsShanghai(number, t) {
			h.WithdrawalsHash = &types.EmptyWithdrawalsHash
		}
		if sim.cc.IsCancun(number, t) {
			h.ParentBeaconRoot = &common.Hash{}
			if o.BeaconRoot != nil {
				root := *o.BeaconRoot
				h.ParentBeaconRoot = &root
			}
		}
		if sim.cc.IsPostMerge(number.Uint64(), t) || h.Difficulty == nil {
			h.Difficulty = new(big.Int)
		}
		if o.Difficulty != nil && h.Difficulty.Sign() == 0 {
			return nil, simErrorf(simCodeInvalidParams, api.KindInvalidInput, "block %d: difficulty override is not allowed after the merge", number)
		}
		if header.SlotNumber != nil {
			slot := *header.SlotNumber + 1
			h.SlotNumber = &slot
		}
		h.Number = new(big.Int).Set(number)
		h.Time = t
		if o.Difficulty != nil {
			h.Difficulty = new(big.Int).Set(o.Difficulty.ToInt())
		}
		if o.GasLimit != nil {
			h.GasLimit = uint64(*o.GasLimit)
		}
		if o.FeeRecipient != nil {
			h.Coinbase = *o.FeeRecipient
		}
		if o.PrevRandao != nil {
			h.MixDigest = *o.PrevRandao
		}
		if o.BaseFeePerGas != nil {
			h.BaseFee = new(big.Int).Set(o.BaseFeePerGas.ToInt())
		}
		res[i] = h
		header = h
	}
	return res, nil
}

// processBlock runs one block, as go-ethereum's processBlock: its state
// overrides, its system calls, its calls, its withdrawals and requests;
// then the next block runs on its state.
func (sim *simulator) processBlock(ctx context.Context, block *simBlock, header, parent *types.Header) (*SimulatedBlock, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	header.ParentHash = parent.Hash()
	if sim.cc.IsLondon(header.Number) && header.BaseFee == nil {
		// Without validation the base fee is zero, so that a call with no
		// fee does not pay less than it.
		header.BaseFee = new(big.Int)
		if sim.validate {
			header.BaseFee = eip1559.CalcBaseFee(sim.cc, parent)
		}
	}
	if sim.cc.IsCancun(header.Number, header.Time) {
		var excess uint64
		if sim.cc.IsCancun(parent.Number, parent.Time) {
			excess = eip4844.CalcExcessBlobGas(sim.cc, parent, header.Time)
		}
		header.ExcessBlobGas = &excess
	}
	st := sim.st
	if len(block.StateOverrides) > 0 {
		var err error
		if st, _, err = (&exec.Overrides{State: block.StateOverrides}).Apply(sim.cc, st, header, true); err != nil {
			return nil, err
		}
	}
	cfg := exec.SimConfig{Validate: sim.validate, TraceTransfers: sim.traceTx}
	if block.BlockOverrides.BlobBaseFee != nil {
		cfg.BlobBaseFee = block.BlockOverrides.BlobBaseFee.ToInt()
	}
	sb := sim.ex.NewSimBlock(st, header, sim.getHash, cfg)
	sb.Begin()
	var (
		txs      = make([]*types.Transaction, len(block.Calls))
		receipts = make([]*types.Receipt, len(block.Calls))
		senders  = make([]common.Address, len(block.Calls))
		results  = make([]SimCallResult, len(block.Calls))
	)
	for i := range block.Calls {
		call := block.Calls[i]
		capped, err := sim.sanitizeCall(&call, sb, header)
		if err != nil {
			return nil, err
		}
		// EIP-2681 limits the nonce when the nonce checks are skipped too.
		if from := call.from(); !sim.validate && sb.Nonce(from) == math.MaxUint64 {
			return nil, simTxError(fmt.Errorf("%w: address %v, nonce: %d", core.ErrNonceMax, from.Hex(), uint64(math.MaxUint64)))
		}
		tx := call.toTransaction()
		msg := call.toMessage(header.BaseFee, !sim.validate)
		if !sim.validate {
			msg.SkipExecutionGasCapCheck()
		}
		res, err := sb.Apply(ctx, msg, tx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, simTxError(fmt.Errorf("err: %w (supplied gas %d)", err, msg.GasLimit))
		}
		if err := sim.budget.consume(res.Result.UsedGas); err != nil {
			return nil, err
		}
		txs[i], receipts[i], senders[i] = tx, res.Receipt, call.from()
		r := SimCallResult{ReturnValue: res.Result.Return(), Logs: res.Logs, GasUsed: hexutil.Uint64(res.Result.UsedGas),
			MaxUsedGas: hexutil.Uint64(res.Result.MaxUsedGas), Status: hexutil.Uint64(types.ReceiptStatusSuccessful)}
		if r.ReturnValue == nil {
			r.ReturnValue = hexutil.Bytes{}
		}
		if res.Result.Failed() {
			r.Status = hexutil.Uint64(types.ReceiptStatusFailed)
			if errors.Is(res.Result.Err, vm.ErrExecutionReverted) {
				revert := res.Result.Revert()
				msg := vm.ErrExecutionReverted.Error()
				if reason, err := abi.UnpackRevert(revert); err == nil {
					msg += ": " + reason
				}
				r.Error = &SimCallError{Message: msg, Code: api.CodeReverted, Data: hexutil.Encode(revert)}
			} else {
				msg := res.Result.Err.Error()
				if capped {
					msg += " (gas limit was capped by the RPC server's global gas cap)"
				}
				r.Error = &SimCallError{Message: msg, Code: simCodeVMError}
			}
		}
		results[i] = r
	}
	header.GasUsed = sb.GasUsed()
	if sim.cc.IsCancun(header.Number, header.Time) {
		used := sb.BlobGasUsed()
		header.BlobGasUsed = &used
	}
	body := &types.Body{Transactions: txs}
	if sim.cc.IsShanghai(header.Number, header.Time) {
		body.Withdrawals = *block.BlockOverrides.Withdrawals
		if body.Withdrawals == nil {
			body.Withdrawals = types.Withdrawals{}
		}
	}
	requests, diff, err := sb.End(body.Withdrawals)
	if err != nil {
		return nil, err
	}
	if requests != nil {
		h := types.CalcRequestsHash(requests)
		header.RequestsHash = &h
	}
	// The next block runs on this one's state: its overrides, then its
	// diff, over the state it started on.
	layer, ok := st.(*state.Layer)
	if !ok {
		layer = state.NewLayer(st)
	}
	if err := layer.Apply(diff); err != nil {
		return nil, api.Errorf(api.KindInternal, "simulated block %v: %v", header.Number, err)
	}
	sim.st = layer
	b := types.NewBlock(header, body, receipts, trie.NewStackTrie(nil))
	*header = *b.Header()
	hash := b.Hash()
	sim.hashes[header.Number.Uint64()] = hash
	for i := range results {
		for _, l := range results[i].Logs {
			l.BlockHash = hash
		}
	}
	enc, err := rlp.EncodeToBytes(b)
	if err != nil {
		return nil, api.Errorf(api.KindInternal, "encoding simulated block %v: %v", header.Number, err)
	}
	return &SimulatedBlock{Block: enc, Senders: senders, Calls: results}, nil
}

// sanitizeCall is go-ethereum's: the nonce defaults to the account's, the
// gas to what is left of the block's (asking more is refused), then both
// are capped by the simulation's gas budget; capped reports that it was.
func (sim *simulator) sanitizeCall(call *simCallArgs, sb *exec.SimBlock, header *types.Header) (capped bool, err error) {
	if call.Nonce == nil {
		nonce := hexutil.Uint64(sb.Nonce(call.from()))
		call.Nonce = &nonce
	}
	remaining := sb.GasAvailable()
	if call.Gas == nil {
		gas := hexutil.Uint64(remaining)
		call.Gas = &gas
	}
	if remaining < uint64(*call.Gas) {
		return false, simErrorf(simCodeBlockGasLimitReached, api.KindGasLimit, "block gas limit reached: remaining: %d, required: %d", remaining, uint64(*call.Gas))
	}
	gas := sim.budget.cap(uint64(*call.Gas))
	capped = gas < uint64(*call.Gas)
	g := hexutil.Uint64(gas)
	call.Gas = &g
	return capped, call.callDefaults(header.BaseFee, sim.cc.ChainID)
}
