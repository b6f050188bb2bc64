package sequencer

import (
	"crypto/ecdsa"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/ledger"
)

// tipped is a transfer from k offering tip (fee cap 10 gwei).
func (f *fixture) tipped(k *ecdsa.PrivateKey, nonce uint64, tip *big.Int) *types.Transaction {
	return types.MustSignNewTx(k, f.signer, &types.DynamicFeeTx{
		ChainID: big.NewInt(testChainID), Nonce: nonce, GasTipCap: tip, GasFeeCap: big.NewInt(10 * params.GWei),
		Gas: 21_000, To: &sink, Value: big.NewInt(1),
	})
}

// refusedTip checks that raw is refused with go-ethereum's "below
// minimum" refusal, -32000 and its text, by Admit (the runtime's
// admission) and by the step, for both sends.
func (h *harness) refusedTip(raw []byte, want string) {
	h.t.Helper()
	check := func(where string, e *api.Error) {
		h.t.Helper()
		if e == nil || e.Kind != api.KindFee || e.ErrorCode() != -32000 || e.Message != want {
			h.t.Fatalf("%s: %+v, want kind fee, code -32000, %q", where, e, want)
		}
	}
	_, err := h.seq.Admit(raw)
	if err == nil {
		h.t.Fatalf("Admit: admitted, want %q", want)
	}
	check("Admit", ledger.AsError(err))
	for _, m := range []api.Method{api.MethodSendTx, api.MethodSendTxSync} {
		check(m.String(), answer(h.t, h.send(m, raw)).Err)
	}
}

// The default minimum tip, 1 wei, refuses a zero tip with go-ethereum's
// message and takes a 1-wei one; a configured minimum refuses a tip below
// it, a legacy gas price included, and zero is no minimum. A fee cap
// below the base fee keeps go-ethereum's own message.
func TestMinTip(t *testing.T) {
	f := newFixture()
	h := newHarness(t, f, nil)
	h.refusedTip(enc(t, f.tipped(f.keys[0], 0, new(big.Int))), "transaction gas price below minimum: gas tip cap 0, minimum needed 1")
	one := f.tipped(f.keys[0], 0, big.NewInt(1))
	if _, err := h.seq.Admit(enc(t, one)); err != nil {
		t.Fatalf("Admit of a 1-wei tip: %v", err)
	}
	r := h.send(api.MethodSendTx, enc(t, one))
	if mb := h.tick(); len(mb.Txs) != 1 || mb.Txs[0].Hash() != one.Hash() {
		t.Fatalf("mini-block %d holds %d transactions, want the 1-wei one", mb.Header.Number, len(mb.Txs))
	}
	if a := answer(t, r); a.Err != nil || a.Hash != one.Hash() {
		t.Fatalf("send of a 1-wei tip: %+v", a)
	}
	// Below the base fee (1 gwei at genesis), with a tip the minimum takes.
	low := types.MustSignNewTx(f.keys[1], f.signer, &types.DynamicFeeTx{
		ChainID: big.NewInt(testChainID), GasTipCap: big.NewInt(1), GasFeeCap: big.NewInt(params.GWei / 2),
		Gas: 21_000, To: &sink, Value: big.NewInt(1),
	})
	for _, m := range []api.Method{api.MethodSendTx, api.MethodSendTxSync} {
		a := answer(t, h.send(m, enc(t, low)))
		if a.Err == nil || a.Err.Kind != api.KindFee || !strings.HasPrefix(a.Err.Message, "max fee per gas less than block base fee: ") {
			t.Fatalf("%v below the base fee: %+v", m, a.Err)
		}
	}

	h = newHarness(t, f, func(c *Config) { c.MinTip = big.NewInt(2 * params.GWei) })
	h.refusedTip(enc(t, f.tipped(f.keys[0], 0, big.NewInt(2*params.GWei-1))), "transaction gas price below minimum: gas tip cap 1999999999, minimum needed 2000000000")
	legacy := types.MustSignNewTx(f.keys[0], f.signer, &types.LegacyTx{GasPrice: big.NewInt(params.GWei), Gas: 21_000, To: &sink, Value: big.NewInt(1)})
	h.refusedTip(enc(t, legacy), "transaction gas price below minimum: gas tip cap 1000000000, minimum needed 2000000000")
	if _, err := h.seq.Admit(enc(t, f.tipped(f.keys[0], 0, big.NewInt(2*params.GWei)))); err != nil {
		t.Fatalf("Admit at the minimum: %v", err)
	}

	h = newHarness(t, f, func(c *Config) { c.MinTip = new(big.Int) })
	if a := h.sendAsync(enc(t, f.tipped(f.keys[0], 0, new(big.Int)))); a.Err != nil {
		t.Fatalf("zero tip with no minimum: %v", a.Err)
	}
	if _, err := New(Config{Genesis: f.gen, Key: f.seqKey, MinTip: big.NewInt(-1)}); err == nil {
		t.Fatal("a negative minimum tip was taken")
	}
}

// A configuration without a genesis, a chain config or a key is refused
// by name, not run.
func TestNewRefusesAnIncompleteConfig(t *testing.T) {
	f := newFixture()
	noChain := *f.gen
	noChain.Config = nil
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no genesis", Config{Key: f.seqKey}, "genesis"},
		{"no chain config", Config{Genesis: &noChain, Key: f.seqKey}, "genesis"},
		{"no key", Config{Genesis: f.gen}, "signing key"},
	} {
		if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error naming the %s", c.name, err, c.want)
		}
	}
	if _, err := New(Config{Genesis: f.gen, Key: f.seqKey}); err != nil {
		t.Fatalf("a complete config: %v", err)
	}
}
