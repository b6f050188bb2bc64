package state

import (
	"bytes"
	"errors"
	"math/big"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethdb/memorydb"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/holiman/uint256"
	"github.com/meganode/meganode/node/chain"
)

// verify checks p against root as a client would: the account proof gives
// the account's RLP (or its absence), each slot proof its value from the
// storage root.
func verify(t *testing.T, root common.Hash, p *AccountProof) {
	t.Helper()
	db := memorydb.New()
	for _, n := range p.Proof {
		if err := db.Put(crypto.Keccak256(n), n); err != nil {
			t.Fatal(err)
		}
	}
	enc, err := trie.VerifyProof(root, crypto.Keccak256(p.Address[:]), db)
	if err != nil {
		t.Fatalf("account proof of %v: %v", p.Address, err)
	}
	if enc == nil {
		if p.Nonce != 0 || !p.Balance.IsZero() || p.StorageHash != types.EmptyRootHash || p.CodeHash != types.EmptyCodeHash {
			t.Fatalf("absent account %v proved with fields %+v", p.Address, p)
		}
	} else {
		want, _ := rlp.EncodeToBytes(&types.StateAccount{Nonce: p.Nonce, Balance: &p.Balance, Root: p.StorageHash, CodeHash: p.CodeHash[:]})
		if !bytes.Equal(enc, want) {
			t.Fatalf("account %v: the proof gives %x, the answer says %x", p.Address, enc, want)
		}
	}
	for _, sp := range p.StorageProof {
		if p.StorageHash == types.EmptyRootHash {
			if len(sp.Proof) != 0 || sp.Value != (common.Hash{}) {
				t.Fatalf("slot %v of %v, whose storage is empty: %+v", sp.Key, p.Address, sp)
			}
			continue
		}
		sdb := memorydb.New()
		for _, n := range sp.Proof {
			_ = sdb.Put(crypto.Keccak256(n), n)
		}
		v, err := trie.VerifyProof(p.StorageHash, crypto.Keccak256(sp.Key[:]), sdb)
		if err != nil {
			t.Fatalf("slot %v of %v: %v", sp.Key, p.Address, err)
		}
		var got common.Hash
		if len(v) > 0 {
			_, content, _, _ := rlp.Split(v)
			got = common.BytesToHash(content)
		}
		if got != sp.Value {
			t.Fatalf("slot %v of %v: the proof gives %v, the answer %v", sp.Key, p.Address, got, sp.Value)
		}
	}
}

// Proofs prove the state of the last checkpoint against its root, while
// the state goes on changing (slots changed, an account deleted, one
// created); a newer checkpoint retires them.
func TestProofsProveTheCheckpoint(t *testing.T) {
	a, b, c := common.Address{1}, common.Address{2}, common.Address{3}
	m, err := FromAlloc(types.GenesisAlloc{
		a: {Balance: big.NewInt(5), Nonce: 2, Storage: map[common.Hash]common.Hash{{1}: {9}, {2}: {8}}},
		b: {Balance: big.NewInt(7), Code: []byte{0x00}, Storage: map[common.Hash]common.Hash{{3}: {7}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	root := m.Checkpoint()
	p := m.Proofs()
	if p == nil || p.Root() != root {
		t.Fatal("no proofs of the checkpoint")
	}
	check := func() {
		t.Helper()
		for _, addr := range []common.Address{a, b, c} {
			got, err := p.Prove(addr, []common.Hash{{1}, {2}, {3}, {4}})
			if err != nil {
				t.Fatal(err)
			}
			verify(t, root, got)
			switch addr {
			case a:
				if got.Nonce != 2 || got.Balance.Uint64() != 5 || got.StorageProof[0].Value != (common.Hash{9}) || got.StorageProof[1].Value != (common.Hash{8}) {
					t.Fatalf("account a as of the checkpoint: %+v", got)
				}
			case b:
				if got.StorageProof[2].Value != (common.Hash{7}) || got.CodeHash == types.EmptyCodeHash {
					t.Fatalf("account b as of the checkpoint: %+v", got)
				}
			case c:
				if got.Nonce != 0 || got.StorageHash != types.EmptyRootHash {
					t.Fatalf("account c did not exist at the checkpoint: %+v", got)
				}
			}
		}
	}
	check()
	// The state moves on: a's slots change, b is deleted, c is created.
	d := &chain.Diff{Accounts: []chain.AccountDiff{
		{Address: a, Flags: chain.SetNonce, Nonce: 3, Storage: []chain.Slot{{Key: common.Hash{1}, Value: common.Hash{}}, {Key: common.Hash{2}, Value: common.Hash{6}}}},
		{Address: b, Flags: chain.Deleted},
		{Address: c, Flags: chain.SetBalance | chain.SetNonce, Nonce: 1, Balance: *uint256.NewInt(4), Storage: []chain.Slot{{Key: common.Hash{4}, Value: common.Hash{4}}}},
	}}
	if err := m.Apply(d); err != nil {
		t.Fatal(err)
	}
	check() // before the owner's Root
	if m.Root() == root {
		t.Fatal("the root did not change")
	}
	check() // after it
	newRoot := m.Checkpoint()
	if _, err := p.Prove(a, nil); !errors.Is(err, ErrProofsMoved) {
		t.Fatalf("old proofs after a new checkpoint: %v", err)
	}
	got, err := m.Proofs().Prove(c, []common.Hash{{4}})
	if err != nil {
		t.Fatal(err)
	}
	verify(t, newRoot, got)
	if got.Nonce != 1 || got.StorageProof[0].Value != (common.Hash{4}) {
		t.Fatalf("account c at the new checkpoint: %+v", got)
	}
}

// Proofs run concurrently with the owner's changes (go test -race).
func TestProofsWhileTheStateChanges(t *testing.T) {
	a := common.Address{1}
	m, err := FromAlloc(types.GenesisAlloc{a: {Balance: big.NewInt(5), Storage: map[common.Hash]common.Hash{{1}: {1}}}})
	if err != nil {
		t.Fatal(err)
	}
	m.Checkpoint()
	p := m.Proofs()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				got, err := p.Prove(a, []common.Hash{{1}})
				if errors.Is(err, ErrProofsMoved) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				if got.StorageProof[0].Value != (common.Hash{1}) {
					t.Errorf("slot 1 proved as %v, the checkpoint holds 1", got.StorageProof[0].Value)
					return
				}
			}
		}()
	}
	for i := range 200 {
		d := &chain.Diff{Accounts: []chain.AccountDiff{{Address: a, Flags: chain.SetNonce, Nonce: uint64(i + 1),
			Storage: []chain.Slot{{Key: common.Hash{1}, Value: common.BigToHash(big.NewInt(int64(i + 2)))}}}}}
		if err := m.Apply(d); err != nil {
			t.Fatal(err)
		}
		m.Root()
	}
	close(stop)
	wg.Wait()
}
