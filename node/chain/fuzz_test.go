package chain

import (
	"bytes"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"
)

// The decoders face bytes from the network and the disk. They must never
// panic, and whatever they accept must re-encode to exactly the same bytes.

func FuzzDecodeDiff(f *testing.F) {
	f.Add((&Diff{}).Encode())
	f.Add((&Diff{Accounts: []AccountDiff{
		{Address: common.Address{1}, Flags: SetNonce | SetBalance | SetCode, Nonce: 3, Balance: *uint256.NewInt(5), Code: []byte{0x60}, Storage: []Slot{{Key: common.Hash{1}, Value: common.Hash{31: 2}}}},
		{Address: common.Address{2}, Flags: Deleted},
	}}).Encode())
	f.Fuzz(func(t *testing.T, rec []byte) {
		d, err := DecodeDiff(rec)
		if err != nil {
			return
		}
		if !bytes.Equal(d.Encode(), rec) {
			t.Fatalf("accepted a non-canonical diff")
		}
	})
}

func FuzzDecodeMiniBlock(f *testing.F) {
	mb := testMiniBlock(f)
	if err := mb.Seal(testKey); err != nil {
		f.Fatal(err)
	}
	enc, _ := mb.Encode()
	f.Add(enc)
	f.Add(Frame(FormatMiniBlockV1, []byte{0xc0}))
	f.Fuzz(func(t *testing.T, rec []byte) {
		m, err := DecodeMiniBlock(rec)
		if err != nil {
			return
		}
		_, _ = m.Signer()
		out, err := m.Encode()
		if err != nil || !bytes.Equal(out, rec) {
			t.Fatalf("accepted a non-canonical mini-block (%v)", err)
		}
	})
}

func FuzzDecodeTx(f *testing.F) {
	raw, _ := signedTx(f, testKey, 1).MarshalBinary()
	f.Add(raw)
	f.Fuzz(func(t *testing.T, b []byte) {
		tx, err := DecodeTx(b)
		if err != nil {
			return
		}
		out, _ := tx.MarshalBinary()
		if !bytes.Equal(out, b) {
			t.Fatal("accepted a non-canonical transaction")
		}
	})
}
