package chain

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
)

// A lone sequencer's header (term 0) encodes exactly as before the term
// existed, so its chains and signatures stay valid; a group's header
// carries its term through encoding and into the hash.
func TestTermIsAnOptionalField(t *testing.T) {
	h := testMiniBlock(t).Header
	type before struct { // the header's layout before the term
		Number, BlockNumber, Index, TimeMicros uint64
		ParentHash                             common.Hash
		GasUsed, TxOffset, LogOffset           uint64
		TxHash, ReceiptHash, DiffHash          common.Hash
		SealHash                               common.Hash
	}
	old, err := rlp.EncodeToBytes(&before{h.Number, h.BlockNumber, h.Index, h.TimeMicros, h.ParentHash, h.GasUsed, h.TxOffset, h.LogOffset, h.TxHash, h.ReceiptHash, h.DiffHash, h.SealHash})
	if err != nil {
		t.Fatal(err)
	}
	now, err := rlp.EncodeToBytes(&h)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(old, now) {
		t.Fatal("a term-0 header does not encode as the header before the term")
	}
	mb := testMiniBlock(t)
	mb.Header.Term = 7
	if err := mb.Seal(testKey); err != nil {
		t.Fatal(err)
	}
	raw, err := mb.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeMiniBlock(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got.Header.Term != 7 || got.Hash() != mb.Hash() {
		t.Fatalf("term %d after a round trip, hash %v want %v", got.Header.Term, got.Hash(), mb.Hash())
	}
	h0 := mb.Header
	h0.Term = 0
	if h0.Hash() == mb.Hash() {
		t.Fatal("the term is not in the header's hash")
	}
}

// A group's mini-blocks verify against any of its keys, and only those.
func TestKeySet(t *testing.T) {
	mb := testMiniBlock(t)
	if err := mb.Seal(testKey); err != nil {
		t.Fatal(err)
	}
	me := crypto.PubkeyToAddress(testKey.PublicKey)
	if err := mb.VerifyKeys(Keys(common.Address{1}, me, common.Address{2})); err != nil {
		t.Fatalf("signed by a member: %v", err)
	}
	if err := mb.VerifyKeys(Keys(common.Address{1}, common.Address{2})); !errors.Is(err, ErrInvalidSigner) {
		t.Fatalf("signed by no member: %v, want ErrInvalidSigner", err)
	}
	if err := mb.VerifyKeys(nil); !errors.Is(err, ErrInvalidSigner) {
		t.Fatalf("an empty key set: %v, want ErrInvalidSigner", err)
	}
	// A retired key signs up to its last mini-block (this one is 42).
	if err := mb.VerifyKeys(KeySet{{Addr: me, Last: 42}}); err != nil {
		t.Fatalf("a key retired at the mini-block it signed: %v", err)
	}
	if err := mb.VerifyKeys(KeySet{{Addr: common.Address{1}}, {Addr: me, Last: 41}}); !errors.Is(err, ErrInvalidSigner) {
		t.Fatalf("a key retired before the mini-block it signed: %v, want ErrInvalidSigner", err)
	}
}

// A group entry round-trips; a damaged one, or one that pairs a witness
// with a mini-block that seals nothing, is refused with an error.
func TestGroupEntry(t *testing.T) {
	mb := testMiniBlock(t)
	if err := mb.Seal(testKey); err != nil {
		t.Fatal(err)
	}
	raw, err := mb.Encode()
	if err != nil {
		t.Fatal(err)
	}
	enc := (&GroupEntry{MiniBlock: raw}).Encode()
	e, got, err := DecodeGroupEntry(enc)
	if err != nil || !bytes.Equal(e.MiniBlock, raw) || got.Hash() != mb.Hash() {
		t.Fatalf("round trip: %v", err)
	}
	bad := bytes.Clone(enc)
	bad[len(bad)/2] ^= 1
	if _, _, err := DecodeGroupEntry(bad); err == nil {
		t.Fatal("a damaged entry decoded")
	}
	if _, _, err := DecodeGroupEntry((&GroupEntry{MiniBlock: raw, Witness: []byte{1}}).Encode()); !errors.Is(err, ErrInvalidPayload) {
		t.Fatalf("a witness with an unsealed mini-block: %v, want ErrInvalidPayload", err)
	}
	if _, _, err := DecodeGroupEntry((&GroupEntry{MiniBlock: raw[:len(raw)-1]}).Encode()); err == nil {
		t.Fatal("an entry with a damaged mini-block decoded")
	}
}

func FuzzDecodeGroupEntry(f *testing.F) {
	f.Add((&GroupEntry{MiniBlock: []byte{1, 2, 3}}).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, _ = DecodeGroupEntry(b)
	})
}
