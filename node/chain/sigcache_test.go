package chain

import (
	"encoding/binary"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// The cache answers what recovery answers, per signature (not per hash),
// remembers no failure, and stays within its bound.
func TestSignerCache(t *testing.T) {
	c := &sigCache{m: map[sigKey]common.Address{}}
	k1, _ := crypto.GenerateKey()
	k2, _ := crypto.GenerateKey()
	h := crypto.Keccak256Hash([]byte("mini-block"))
	s1, _ := crypto.Sign(h[:], k1)
	s2, _ := crypto.Sign(h[:], k2)
	for range 2 { // the second round is answered from the cache
		if a, err := c.recover(h, s1); err != nil || a != crypto.PubkeyToAddress(k1.PublicKey) {
			t.Fatalf("signer 1: %v %v", a, err)
		}
		if a, err := c.recover(h, s2); err != nil || a != crypto.PubkeyToAddress(k2.PublicKey) {
			t.Fatalf("signer 2 of the same hash: %v %v", a, err)
		}
	}
	bad := append([]byte(nil), s1...)
	bad[64] = 9
	if _, err := c.recover(h, bad); err == nil {
		t.Fatal("an invalid recovery id recovered")
	}
	if len(c.m) != 2 {
		t.Fatalf("%d entries, want the 2 valid signatures", len(c.m))
	}
	for i := range maxSigners + 10 {
		var hh common.Hash
		binary.BigEndian.PutUint64(hh[:], uint64(i))
		sig, _ := crypto.Sign(hh[:], k1)
		if _, err := c.recover(hh, sig); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.m) != maxSigners || len(c.ring) != maxSigners {
		t.Fatalf("%d entries, %d in the ring: want the bound %d", len(c.m), len(c.ring), maxSigners)
	}
}

// PrecheckSigners leaves a range response's signers in the cache, and
// takes garbage without a panic.
func TestPrecheckSigners(t *testing.T) {
	k, _ := crypto.GenerateKey()
	var raws [][]byte
	for n := uint64(1); n <= 3; n++ {
		mb := &MiniBlock{Header: MiniBlockHeader{Number: n, BlockNumber: 1, Index: n - 1}, Diff: &Diff{}}
		if err := mb.Seal(k); err != nil {
			t.Fatal(err)
		}
		raw, err := mb.Encode()
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, raw)
	}
	PrecheckSigners((&RangeResponse{ID: 1, From: 1, Head: 3, MiniBlocks: raws}).Encode())
	for _, raw := range raws {
		mb, err := DecodeMiniBlock(raw)
		if err != nil {
			t.Fatal(err)
		}
		var key sigKey
		h := mb.Header.Hash()
		copy(key[:], h[:])
		copy(key[common.HashLength:], mb.Signature)
		signers.mu.Lock()
		a, ok := signers.m[key]
		signers.mu.Unlock()
		if !ok || a != crypto.PubkeyToAddress(k.PublicKey) {
			t.Fatalf("mini-block %d: cached %v %v", mb.Header.Number, a, ok)
		}
	}
	for _, junk := range [][]byte{nil, {byte(FormatRangeResponseV1)}, {byte(FormatAttResponseV1), 1, 2}, []byte("garbage")} {
		PrecheckSigners(junk)
	}
}
