package rpc_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/meganode/meganode/node/exec"
	"github.com/meganode/meganode/node/internal/nodetest"
	"github.com/meganode/meganode/node/rpc"
)

var sendMethods = []string{"eth_sendRawTransaction", "eth_sendRawTransactionSync", "realtime_sendRawTransaction"}

// refused checks that every send method refuses tx with -32000 and msg.
func (h *harness) refused(tx *types.Transaction, msg string) {
	h.t.Helper()
	raw, err := tx.MarshalBinary()
	if err != nil {
		h.t.Fatal(err)
	}
	for _, m := range sendMethods {
		var out json.RawMessage
		err := h.raw.CallContext(h.ctx(), &out, m, hexutil.Encode(raw))
		var re gethrpc.Error
		if !errors.As(err, &re) || re.ErrorCode() != -32000 || err.Error() != msg {
			h.t.Fatalf("%s: %v, want -32000 %q", m, err, msg)
		}
	}
}

// sendSync sends tx with eth_sendRawTransactionSync and wants it executed.
func (h *harness) sendSync(tx *types.Transaction) {
	h.t.Helper()
	raw, err := tx.MarshalBinary()
	if err != nil {
		h.t.Fatal(err)
	}
	var r *types.Receipt
	if err := h.raw.CallContext(h.ctx(), &r, "eth_sendRawTransactionSync", hexutil.Encode(raw)); err != nil || r == nil || r.TxHash != tx.Hash() {
		h.t.Fatalf("send of %v: %+v %v", tx.Hash(), r, err)
	}
}

// unprotected signs a legacy transfer without a chain id (pre-EIP-155)
// from the backend's i-th key with its next nonce.
func (h *harness) unprotected(i int, gasPrice *big.Int) *types.Transaction {
	key := h.b.keys[i]
	tx := types.MustSignNewTx(key, types.HomesteadSigner{}, &types.LegacyTx{
		Nonce: h.nonces[addr(key)], GasPrice: gasPrice, Gas: 21_000, To: &nodetest.Sink, Value: big.NewInt(1)})
	if tx.Protected() {
		h.t.Fatal("a Homestead-signed transaction is replay-protected")
	}
	h.nonces[addr(key)]++
	return tx
}

// A transaction without replay protection is refused over RPC, by every
// send, with go-ethereum's message; a protected legacy one is not. With
// AllowUnprotectedTxs it is sent and executed.
func TestUnprotectedTxsRefused(t *testing.T) {
	const msg = "only replay-protected (EIP-155) transactions allowed over RPC"
	h := newHarness(t)
	h.refused(h.unprotected(0, big.NewInt(10*params.GWei)), msg)
	h.nonces[addr(h.b.keys[0])] = 0
	protected := types.MustSignNewTx(h.b.keys[0], types.NewEIP155Signer(big.NewInt(nodetest.ChainID)), &types.LegacyTx{
		GasPrice: big.NewInt(10 * params.GWei), Gas: 21_000, To: &nodetest.Sink, Value: big.NewInt(1)})
	h.sendSync(protected)

	h = newHarnessWith(t, rpc.Config{AllowUnprotectedTxs: true})
	h.sendSync(h.unprotected(0, big.NewInt(10*params.GWei)))
}

// A transaction whose fee cap × gas exceeds the fee cap (1 ether by
// default) is refused with go-ethereum's message; one at the cap is sent;
// the cap is configurable, and a negative one is none. The fee is checked
// before replay protection, as go-ethereum does.
func TestTxFeeCap(t *testing.T) {
	h := newHarness(t)
	alice := h.b.keys[0]
	sign := func(feeCap int64, gas uint64) *types.Transaction {
		from := addr(alice)
		tx := types.MustSignNewTx(alice, h.signer, &types.DynamicFeeTx{ChainID: big.NewInt(nodetest.ChainID), Nonce: h.nonces[from],
			GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(feeCap), Gas: gas, To: &nodetest.Sink, Value: big.NewInt(1)})
		h.nonces[from]++
		return tx
	}
	over := sign(100_000*params.GWei, 21_000) // 2.1 ether
	h.refused(over, "tx fee (2.10 ether) exceeds the configured cap (1.00 ether)")
	h.nonces[addr(alice)] = 0
	h.refused(h.unprotected(0, big.NewInt(100_000*params.GWei)), "tx fee (2.10 ether) exceeds the configured cap (1.00 ether)")
	h.nonces[addr(alice)] = 0
	h.sendSync(sign(40_000*params.GWei, 25_000)) // exactly 1 ether

	h = newHarnessWith(t, rpc.Config{TxFeeCap: 0.0001})
	h.refused(h.tx(alice, &nodetest.Sink, big.NewInt(1), 21_000, nil), "tx fee (0.00 ether) exceeds the configured cap (0.00 ether)") // 0.00021 ether

	h = newHarnessWith(t, rpc.Config{TxFeeCap: -1})
	h.sendSync(over)
}

// syncBuffer is a log sink the server's goroutines write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) take() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.b.String()
	s.b.Reset()
	return out
}

var (
	// gasLeft is init code returning the gas left at its first opcode:
	// GAS PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN; an eth_call creating
	// with it returns the gas the call got, less 53,122 (intrinsic: a
	// creation, 7 non-zero and 2 zero bytes, one word of init code) and 2.
	gasLeft = hexutil.Bytes{0x5a, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3}
	// spin is init code that loops until out of gas: JUMPDEST PUSH1 0
	// JUMP; its estimate fails naming the upper bound it searched.
	spin = hexutil.Bytes{0x5b, 0x60, 0x00, 0x56}
)

// callGas is the gas an eth_call creating with gasLeft got (gas 0: the
// call names none).
func (h *harness) callGas(gas uint64) uint64 {
	h.t.Helper()
	args := map[string]any{"input": gasLeft}
	if gas != 0 {
		args["gas"] = hexutil.Uint64(gas)
	}
	var out hexutil.Bytes
	if err := h.raw.CallContext(h.ctx(), &out, "eth_call", args, "latest"); err != nil {
		h.t.Fatalf("eth_call: %v", err)
	}
	return new(big.Int).SetBytes(out).Uint64() + 53_124
}

// estimateBound is the upper bound an eth_estimateGas of spin searched.
func (h *harness) estimateBound(gas uint64) string {
	h.t.Helper()
	args := map[string]any{"input": spin}
	if gas != 0 {
		args["gas"] = hexutil.Uint64(gas)
	}
	var out hexutil.Uint64
	err := h.raw.CallContext(h.ctx(), &out, "eth_estimateGas", args, "latest")
	if err == nil || !strings.HasPrefix(err.Error(), "gas required exceeds allowance (") {
		h.t.Fatalf("eth_estimateGas of a loop: %v %v", out, err)
	}
	return err.Error()
}

// GasCap caps the gas of eth_call and eth_estimateGas: a call naming more
// gets the cap, with go-ethereum's warning; one naming none gets the cap;
// one naming less gets what it named. Without a cap (0), the node's own
// bound, exec.DefaultCallGas, is all there is.
func TestGasCap(t *testing.T) {
	var logs syncBuffer
	h := newHarnessWith(t, rpc.Config{GasCap: 1_000_000, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	for _, c := range []struct {
		gas  uint64 // 0: none named
		want uint64
		warn bool
	}{
		{5_000_000, 1_000_000, true},
		{0, 1_000_000, false},
		{500_000, 500_000, false},
		{1_000_000, 1_000_000, false},
	} {
		if got := h.callGas(c.gas); got != c.want {
			t.Errorf("eth_call naming %v gas got %d, want %d", c.gas, got, c.want)
		}
		if warned := strings.Contains(logs.take(), `level=WARN msg="Caller gas above allowance, capping" requested=5000000 cap=1000000`); warned != c.warn {
			t.Errorf("eth_call naming %v gas: warned %v, want %v", c.gas, warned, c.warn)
		}
	}
	if got := h.estimateBound(5_000_000); got != "gas required exceeds allowance (1000000)" {
		t.Errorf("estimate naming more than the cap: %q", got)
	}
	if !strings.Contains(logs.take(), "Caller gas above allowance, capping") {
		t.Error("the capped estimate was not logged")
	}
	if got := h.estimateBound(0); got != "gas required exceeds allowance (1000000)" {
		t.Errorf("estimate naming no gas: %q", got)
	}

	// No cap: the node's bound, and the estimate's block gas limit (10M
	// here).
	h = newHarnessWith(t, rpc.Config{})
	if got := h.callGas(5_000_000); got != 5_000_000 {
		t.Errorf("uncapped eth_call naming 5M gas got %d", got)
	}
	if got := h.callGas(2 * exec.DefaultCallGas); got != exec.DefaultCallGas {
		t.Errorf("uncapped eth_call naming 100M gas got %d, want the node's %d", got, exec.DefaultCallGas)
	}
	if got := h.estimateBound(5_000_000); got != "gas required exceeds allowance (5000000)" {
		t.Errorf("uncapped estimate naming 5M gas: %q", got)
	}
	if got := h.estimateBound(0); got != "gas required exceeds allowance (10000000)" {
		t.Errorf("uncapped estimate naming no gas: %q", got)
	}
	if rpc.DefaultGasCap != 50_000_000 {
		t.Errorf("DefaultGasCap %d, want go-ethereum's 50,000,000", rpc.DefaultGasCap)
	}
}
