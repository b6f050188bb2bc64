package rpc_test

import (
	"context"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/stateless"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/rlp"
)

// meganode_getBlockWitness gives what a stateless client needs: go-ethereum
// re-executes the sealed block on it alone and reaches the header's state
// and receipts roots. meganode_getAttestations on the sequencer names a
// fullnode to ask.
func TestBlockWitnessExecutesStatelessly(t *testing.T) {
	h := newHarness(t)
	ctx := h.ctx()
	alice, bob := h.b.keys[0], h.b.keys[1]
	deploy := h.send(h.tx(alice, nil, new(big.Int), 200_000, deployCode(runtime)))
	r := h.send(h.tx(bob, &deploy.ContractAddress, new(big.Int), 100_000, common.Hash{31: 5}.Bytes()))
	n := r.BlockNumber.Uint64()
	h.sealed(n)
	var raw hexutil.Bytes
	if err := h.raw.CallContext(ctx, &raw, "meganode_getBlockWitness", hexutil.Uint64(n)); err != nil {
		t.Fatal(err)
	}
	var w stateless.Witness
	if err := rlp.DecodeBytes(raw, &w); err != nil {
		t.Fatalf("decoding the witness: %v", err)
	}
	block, err := h.ec.BlockByNumber(ctx, new(big.Int).SetUint64(n))
	if err != nil {
		t.Fatal(err)
	}
	bare := types.CopyHeader(block.Header())
	bare.Root, bare.ReceiptHash = common.Hash{}, common.Hash{}
	root, receipts, err := core.ExecuteStateless(context.Background(), h.b.gen.Config, vm.Config{}, types.NewBlockWithHeader(bare).WithBody(*block.Body()), &w)
	if err != nil {
		t.Fatalf("stateless execution on the witness: %v", err)
	}
	if root != block.Root() || receipts != block.ReceiptHash() {
		t.Fatalf("stateless execution: roots %v %v, header %v %v", root, receipts, block.Root(), block.ReceiptHash())
	}
	var none hexutil.Bytes
	if err := h.raw.CallContext(ctx, &none, "meganode_getBlockWitness", hexutil.Uint64(1<<40)); err == nil {
		t.Fatal("a witness of a block not sealed")
	}
	var atts []any
	if err := h.raw.CallContext(ctx, &atts, "meganode_getAttestations", hexutil.Uint64(n)); err == nil || !strings.Contains(err.Error(), "ask a fullnode") {
		t.Fatalf("attestations on the sequencer: %v", err)
	}
}
