package rpc_test

import (
	"bytes"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient/gethclient"
	"github.com/ethereum/go-ethereum/ethdb/memorydb"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/holiman/uint256"
)

// eth_getProof at latest proves the newest sealed block's state: the
// account and a slot the contract wrote verify against that block's state
// root, as a light client checks them; an older block is refused.
func TestGetProofVerifiesAgainstTheStateRoot(t *testing.T) {
	h := newHarness(t)
	ctx := h.ctx()
	alice := h.b.keys[0]
	deploy := h.send(h.tx(alice, nil, new(big.Int), 200_000, deployCode(runtime)))
	store := h.send(h.tx(alice, &deploy.ContractAddress, new(big.Int), 100_000, common.Hash{31: 0x2a}.Bytes()))
	h.sealed(store.BlockNumber.Uint64())
	gc := gethclient.New(h.raw)
	for _, who := range []common.Address{deploy.ContractAddress, addr(alice), {0xde, 0xad}} {
		var (
			p    *gethclient.AccountResult
			head *types.Header
		)
		// The proof and the header must be of the same block: retry if a
		// block sealed in between.
		for range 10 {
			before, err := h.ec.HeaderByNumber(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if p, err = gc.GetProof(ctx, who, []string{"0x0", "0x1"}, nil); err != nil {
				t.Fatal(err)
			}
			if head, err = h.ec.HeaderByNumber(ctx, nil); err != nil {
				t.Fatal(err)
			}
			if before.Hash() == head.Hash() {
				break
			}
		}
		db := memorydb.New()
		for _, n := range p.AccountProof {
			b := common.FromHex(n)
			_ = db.Put(crypto.Keccak256(b), b)
		}
		enc, err := trie.VerifyProof(head.Root, crypto.Keccak256(who[:]), db)
		if err != nil {
			t.Fatalf("account proof of %v against block %d's root: %v", who, head.Number, err)
		}
		balance, err := h.ec.BalanceAt(ctx, who, head.Number)
		if err != nil || balance.Cmp(p.Balance) != 0 {
			t.Fatalf("balance %v, proof says %v (%v)", balance, p.Balance, err)
		}
		if who == (common.Address{0xde, 0xad}) {
			if enc != nil || p.StorageHash != types.EmptyRootHash {
				t.Fatalf("an absent account proved present: %x %+v", enc, p)
			}
			continue
		}
		want, _ := rlp.EncodeToBytes(&types.StateAccount{Nonce: p.Nonce, Balance: uint256.MustFromBig(p.Balance), Root: p.StorageHash, CodeHash: p.CodeHash[:]})
		if !bytes.Equal(enc, want) {
			t.Fatalf("account %v: proved %x, answered %x", who, enc, want)
		}
		if who != deploy.ContractAddress {
			continue
		}
		sp := p.StorageProof[0]
		sdb := memorydb.New()
		for _, n := range sp.Proof {
			b := common.FromHex(n)
			_ = sdb.Put(crypto.Keccak256(b), b)
		}
		v, err := trie.VerifyProof(p.StorageHash, crypto.Keccak256(common.Hash{}.Bytes()), sdb)
		if err != nil {
			t.Fatalf("slot 0: %v", err)
		}
		_, content, _, _ := rlp.Split(v)
		if new(big.Int).SetBytes(content).Int64() != 0x2a || sp.Value.Int64() != 0x2a {
			t.Fatalf("slot 0 proved %x, answered %v; the contract stored 0x2a", content, sp.Value)
		}
	}
	// Older blocks are refused, naming the newest sealed one.
	_, err := gc.GetProof(ctx, addr(alice), nil, big.NewInt(0))
	if err == nil || !strings.Contains(err.Error(), "proofs are served for the newest sealed block only") {
		t.Fatalf("proof at genesis: %v", err)
	}
}
