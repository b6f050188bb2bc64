package model

import (
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
)

func TestReferenceExecutesAndRefuses(t *testing.T) {
	key, _ := crypto.HexToECDSA("b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291")
	from := crypto.PubkeyToAddress(key.PublicKey)
	cfg := params.MergedTestChainConfig
	alloc := types.GenesisAlloc{from: {Balance: big.NewInt(params.Ether)}}
	ref, err := NewReference(cfg, alloc)
	if err != nil {
		t.Fatal(err)
	}
	if want := (&core.Genesis{Config: cfg, Alloc: alloc}).ToBlock().Root(); ref.Root() != want {
		t.Fatalf("genesis root %v, want %v", ref.Root(), want)
	}
	header := &types.Header{Number: big.NewInt(1), Time: 1, GasLimit: 30_000_000, BaseFee: big.NewInt(1), Difficulty: new(big.Int)}
	b, err := ref.NewBlock(header, func(uint64) common.Hash { return common.Hash{} })
	if err != nil {
		t.Fatal(err)
	}
	sign := func(nonce uint64) *types.Transaction {
		return types.MustSignNewTx(key, types.LatestSigner(cfg), &types.DynamicFeeTx{ChainID: cfg.ChainID, Nonce: nonce,
			GasTipCap: big.NewInt(1), GasFeeCap: big.NewInt(2), Gas: 21000, To: &common.Address{1}, Value: big.NewInt(5)})
	}
	r, err := b.ApplyTx(sign(0))
	if err != nil || r.Status != types.ReceiptStatusSuccessful || r.GasUsed != 21000 {
		t.Fatalf("receipt %+v, err %v", r, err)
	}
	root := b.Root()
	if _, err := b.ApplyTx(sign(5)); err == nil {
		t.Fatal("a nonce gap was executed")
	}
	if b.Root() != root {
		t.Fatal("a refused transaction changed the state")
	}
}

func TestReceiptsEqualSeesEveryField(t *testing.T) {
	base := func() *types.Receipt {
		return &types.Receipt{Type: 2, Status: 1, GasUsed: 5, CumulativeGasUsed: 9,
			Logs: []*types.Log{{Address: common.Address{1}, Topics: []common.Hash{{2}}, Data: []byte{3}}}}
	}
	if d := ReceiptsEqual(base(), base()); d != "" {
		t.Fatalf("equal receipts differ: %s", d)
	}
	for name, change := range map[string]func(r *types.Receipt){
		"type":       func(r *types.Receipt) { r.Type = 0 },
		"status":     func(r *types.Receipt) { r.Status = 0 },
		"gas":        func(r *types.Receipt) { r.GasUsed++ },
		"cumulative": func(r *types.Receipt) { r.CumulativeGasUsed++ },
		"contract":   func(r *types.Receipt) { r.ContractAddress = common.Address{9} },
		"log topic":  func(r *types.Receipt) { r.Logs[0].Topics[0] = common.Hash{7} },
		"log data":   func(r *types.Receipt) { r.Logs[0].Data = nil },
		"log index":  func(r *types.Receipt) { r.Logs[0].Index = 4 },
		"bloom":      func(r *types.Receipt) { r.Bloom[0] = 1 },
		"blob gas":   func(r *types.Receipt) { r.BlobGasUsed = 1 },
	} {
		r := base()
		change(r)
		if ReceiptsEqual(base(), r) == "" {
			t.Errorf("a changed %s went unnoticed", name)
		}
	}
}
