package rpc

import (
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/exec"
)

// The protections go-ethereum's RPC puts in front of its node
// (internal/ethapi, v1.17.10), with its defaults and messages:
//
//   - a raw transaction whose fee, fee cap × gas, exceeds Config.TxFeeCap
//     (1 ether) is refused: "tx fee (X ether) exceeds the configured cap
//     (Y ether)" (SubmitTransaction's checkTxFee);
//   - then one without EIP-155 replay protection, unless
//     Config.AllowUnprotectedTxs: "only replay-protected (EIP-155)
//     transactions allowed over RPC";
//   - eth_call and eth_estimateGas get at most Config.GasCap gas
//     (CallDefaults and the gas estimator): more is capped, with a
//     warning in the log, not refused.
//
// Both refusals are -32000, go-ethereum's code for them. They are the
// RPC's, as in go-ethereum: the node (and the simulator, which calls it
// directly) does not see them. The minimum tip (--miner.gasprice) is the
// sequencer's admission, not the RPC's: node/sequencer.Config.MinTip.

// DefaultTxFeeCap is Config.TxFeeCap's default, go-ethereum's
// --rpc.txfeecap: 1 ether.
const DefaultTxFeeCap = 1.0

// DefaultGasCap is go-ethereum's --rpc.gascap, 50,000,000, which is also
// the node's own bound on a call's gas (exec.DefaultCallGas): Config.GasCap
// can lower what a call gets, never raise it above that.
const DefaultGasCap = exec.DefaultCallGas

// errUnprotected is go-ethereum's refusal of a transaction without
// replay protection.
var errUnprotected = &rpcError{code: api.CodeServer, msg: "only replay-protected (EIP-155) transactions allowed over RPC"}

// decodeSend decodes a raw transaction sent over RPC and runs the RPC's
// checks on it, in go-ethereum's order: the fee cap, then replay
// protection.
func (s *Server) decodeSend(input hexutil.Bytes) (*types.Transaction, error) {
	tx, err := decodeTx(input)
	if err != nil {
		return nil, err
	}
	if err := checkTxFee(tx.GasPrice(), tx.Gas(), s.cfg.TxFeeCap); err != nil {
		return nil, err
	}
	if !s.cfg.AllowUnprotectedTxs && !tx.Protected() {
		return nil, errUnprotected
	}
	return tx, nil
}

// checkTxFee is go-ethereum's: the fee, gasPrice × gas (the fee cap of a
// dynamic-fee transaction), in ether against the cap; a cap of 0 or less
// is none.
func checkTxFee(gasPrice *big.Int, gas uint64, cap float64) error {
	if cap <= 0 {
		return nil
	}
	feeEth := new(big.Float).Quo(new(big.Float).SetInt(new(big.Int).Mul(gasPrice, new(big.Int).SetUint64(gas))), new(big.Float).SetInt(big.NewInt(params.Ether)))
	feeFloat, _ := feeEth.Float64()
	if feeFloat > cap {
		return &rpcError{code: api.CodeServer, msg: fmt.Sprintf("tx fee (%.2f ether) exceeds the configured cap (%.2f ether)", feeFloat, cap)}
	}
	return nil
}

// capGas applies Config.GasCap to an eth_call or eth_estimateGas, as
// go-ethereum does: a call naming more gas gets the cap, with go-ethereum's
// warning in the log; a call naming none gets the cap (go-ethereum's
// CallDefaults). The node bounds a call's gas on its own, at
// exec.DefaultCallGas, and estimates below the block gas limit (and
// Osaka's 2^24 per transaction), so a call naming no gas is left to the
// node (Gas 0, "the node's cap") unless the cap is lower than that bound.
// Then an estimate naming none searches up to the cap even where the
// block gas limit is lower (go-ethereum takes the lower): the node, not
// told the cap, takes it for the gas the caller named.
func (s *Server) capGas(c *api.Call) {
	gasCap := s.cfg.GasCap
	switch {
	case gasCap == 0:
	case c.Gas > gasCap:
		s.cfg.Log.Warn("Caller gas above allowance, capping", "requested", c.Gas, "cap", gasCap)
		c.Gas = gasCap
	case c.Gas == 0 && gasCap < exec.DefaultCallGas:
		c.Gas = gasCap
	}
}
