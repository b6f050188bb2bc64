package chain

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/big"
	"reflect"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"
	"pgregory.net/rapid"
)

// genDiff draws canonical diffs over a small pool of addresses and slots, so
// that merges and re-applications collide often.
func genDiff() *rapid.Generator[*Diff] {
	return rapid.Custom(func(t *rapid.T) *Diff {
		d := new(Diff)
		for a := range 6 {
			if !rapid.Bool().Draw(t, "has") {
				continue
			}
			ad := AccountDiff{Address: common.BigToAddress(big.NewInt(int64(a + 1)))}
			if rapid.IntRange(0, 7).Draw(t, "del") == 0 {
				ad.Flags = Deleted
				d.Accounts = append(d.Accounts, ad)
				continue
			}
			if rapid.IntRange(0, 5).Draw(t, "reset") == 0 {
				ad.Flags |= Reset
			}
			if rapid.Bool().Draw(t, "nonce") {
				ad.Flags |= SetNonce
				ad.Nonce = rapid.Uint64().Draw(t, "n")
			}
			if rapid.Bool().Draw(t, "balance") {
				ad.Flags |= SetBalance
				ad.Balance.SetBytes(rapid.SliceOfN(rapid.Byte(), 0, 32).Draw(t, "b"))
			}
			if rapid.IntRange(0, 3).Draw(t, "code") == 0 {
				ad.Flags |= SetCode
				ad.Code = append([]byte{}, rapid.SliceOfN(rapid.Byte(), 0, 40).Draw(t, "c")...)
			}
			for s := range 5 {
				if rapid.Bool().Draw(t, "slot") {
					var v common.Hash
					if rapid.IntRange(0, 3).Draw(t, "zero") > 0 {
						v = common.BytesToHash(rapid.SliceOfN(rapid.Byte(), 1, 32).Draw(t, "v"))
					}
					ad.Storage = append(ad.Storage, Slot{Key: common.BigToHash(big.NewInt(int64(s * 1000))), Value: v})
				}
			}
			d.Accounts = append(d.Accounts, ad)
		}
		return d
	})
}

func TestDiffEncodeDecodeIsIdentity(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := genDiff().Draw(t, "diff")
		if err := d.Validate(); err != nil {
			t.Fatalf("generator made an invalid diff: %v", err)
		}
		enc := d.Encode()
		got, err := DecodeDiff(enc)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !reflect.DeepEqual(normalize(got), normalize(d)) {
			t.Fatalf("round trip changed the diff:\n got %+v\nwant %+v", got, d)
		}
		if !bytes.Equal(got.Encode(), enc) {
			t.Fatal("re-encoding differs")
		}
		if got.Hash() != d.Hash() {
			t.Fatal("hash changed across a round trip")
		}
	})
}

// normalize maps the empty diff to one canonical Go value for DeepEqual.
func normalize(d *Diff) *Diff {
	if len(d.Accounts) == 0 {
		return &Diff{}
	}
	return d
}

func TestDiffMergeKeepsInputsIntact(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b := genDiff().Draw(t, "a"), genDiff().Draw(t, "b")
		ea, eb := a.Encode(), b.Encode()
		m := a.Merge(b)
		if err := m.Validate(); err != nil {
			t.Fatalf("merge produced a non-canonical diff: %v", err)
		}
		if !bytes.Equal(a.Encode(), ea) || !bytes.Equal(b.Encode(), eb) {
			t.Fatal("merge modified its inputs")
		}
		// Every account either side touches is in the merge; nothing else is.
		for _, x := range [][]AccountDiff{a.Accounts, b.Accounts} {
			for _, ad := range x {
				if m.Account(ad.Address) == nil {
					t.Fatalf("merge lost account %v", ad.Address)
				}
			}
		}
		if len(m.Accounts) > len(a.Accounts)+len(b.Accounts) {
			t.Fatal("merge invented accounts")
		}
	})
}

func TestDiffMergeRules(t *testing.T) {
	addr := common.Address{1}
	one := Slot{Key: common.Hash{31: 1}, Value: common.Hash{31: 7}}
	two := Slot{Key: common.Hash{31: 2}, Value: common.Hash{31: 9}}
	set := func(f Flags, nonce uint64, slots ...Slot) *Diff {
		return &Diff{Accounts: []AccountDiff{{Address: addr, Flags: f, Nonce: nonce, Storage: slots}}}
	}
	cases := []struct {
		name string
		a, b *Diff
		want AccountDiff
	}{
		{"later field wins, slots union", set(SetNonce, 1, one), set(SetNonce, 2, two),
			AccountDiff{Address: addr, Flags: SetNonce, Nonce: 2, Storage: []Slot{one, two}}},
		{"delete wins", set(SetNonce, 1, one), set(Deleted, 0),
			AccountDiff{Address: addr, Flags: Deleted}},
		{"recreate after delete is a reset", set(Deleted, 0), set(SetNonce, 1, two),
			AccountDiff{Address: addr, Flags: SetNonce | Reset, Nonce: 1, Storage: []Slot{two}}},
		{"reset forgets earlier slots", set(SetNonce, 1, one), set(Reset, 0, two),
			AccountDiff{Address: addr, Flags: Reset, Storage: []Slot{two}}},
		{"reset survives later writes", set(Reset, 0, one), set(SetNonce, 3, two),
			AccountDiff{Address: addr, Flags: Reset | SetNonce, Nonce: 3, Storage: []Slot{one, two}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.a.Merge(c.b)
			if len(got.Accounts) != 1 || !reflect.DeepEqual(got.Accounts[0], c.want) {
				t.Fatalf("got %+v, want %+v", got.Accounts, c.want)
			}
		})
	}
}

// reframe replaces a record's payload and fixes its checksum, to build
// records that pass the frame check but carry a doctored body.
func reframe(f Format, payload []byte) []byte { return Frame(f, payload) }

func TestDecodeDiffRejectsBadInput(t *testing.T) {
	d := &Diff{Accounts: []AccountDiff{
		{Address: common.Address{2}, Flags: SetNonce, Nonce: 5},
		{Address: common.Address{1}, Flags: SetNonce, Nonce: 6}, // out of order
	}}
	unsorted := reframe(FormatDiffV1, d.Payload())
	good := (&Diff{Accounts: []AccountDiff{{Address: common.Address{1}, Flags: SetBalance, Balance: *uint256.NewInt(9)}}}).Encode()
	flipped := bytes.Clone(good)
	flipped[3] ^= 0x40
	wrongFormat := bytes.Clone(good)
	wrongFormat[0] = byte(FormatMiniBlockV1)
	unknownVersion := bytes.Clone(good)
	unknownVersion[0] = 0x12
	binary.BigEndian.PutUint32(unknownVersion[len(unknownVersion)-4:], crc32.Checksum(unknownVersion[:len(unknownVersion)-4], castagnoli))
	trailing := reframe(FormatDiffV1, append(bytes.Clone(good[1:len(good)-4]), 0x80))

	cases := []struct {
		name string
		rec  []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"short", []byte{byte(FormatDiffV1), 1, 2}, ErrTruncated},
		{"bit flip", flipped, ErrChecksum},
		{"other record kind", wrongFormat, ErrUnknownFormat},
		{"newer version", unknownVersion, ErrUnknownFormat},
		{"unsorted accounts", unsorted, ErrInvalidPayload},
		{"trailing bytes", trailing, ErrTrailingBytes},
		{"too large", make([]byte, MaxRecordSize+1), ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeDiff(c.rec)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	if _, err := DecodeDiff(good); err != nil {
		t.Fatalf("the unmodified record must decode: %v", err)
	}
}

func TestDecodeDiffRejectsLeadingZeroWord(t *testing.T) {
	// [[addr, 0, [0x0001, 0x05]]]: a slot key with a leading zero byte.
	payload := []byte{0xe0, 0xdf, 0x94}
	payload = append(payload, make([]byte, 20)...)
	payload = append(payload, 0x80, 0xc4, 0x82, 0x00, 0x01, 0x05)
	payload[0], payload[1] = 0xc0+byte(len(payload)-1), 0xc0+byte(len(payload)-2)
	_, err := DecodeDiff(reframe(FormatDiffV1, payload))
	if !errors.Is(err, ErrNonCanonical) {
		t.Fatalf("got %v, want ErrNonCanonical", err)
	}
}

var (
	testKey, _   = crypto.HexToECDSA("b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291")
	otherKey, _  = crypto.HexToECDSA("8a1f9a8f95be41cd7ccb6168179afb4504aefe388d1e14474d32c45c72ce7b7a")
	testChainCfg = params.MergedTestChainConfig
)

func signedTx(t testing.TB, key *ecdsa.PrivateKey, nonce uint64) *types.Transaction {
	t.Helper()
	to := common.Address{0xaa}
	tx, err := types.SignNewTx(key, types.LatestSigner(testChainCfg), &types.DynamicFeeTx{
		ChainID: testChainCfg.ChainID, Nonce: nonce, GasTipCap: big.NewInt(1), GasFeeCap: big.NewInt(100),
		Gas: 21000, To: &to, Value: big.NewInt(int64(nonce) + 1), Data: []byte{byte(nonce)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func testMiniBlock(t testing.TB) *MiniBlock {
	t.Helper()
	var txs []*types.Transaction
	var rs []*types.Receipt
	for i := range 3 {
		tx := signedTx(t, testKey, uint64(i))
		txs = append(txs, tx)
		rs = append(rs, &types.Receipt{
			Type: tx.Type(), Status: types.ReceiptStatusSuccessful, CumulativeGasUsed: uint64(21000 * (i + 1)),
			GasUsed: 21000, EffectiveGasPrice: big.NewInt(8),
			Logs: []*types.Log{{Address: common.Address{0xbb}, Topics: []common.Hash{{1}, {2}}, Data: []byte{byte(i)}}},
		})
	}
	return &MiniBlock{
		Header: MiniBlockHeader{Number: 42, BlockNumber: 1, Index: 41, TimeMicros: 1_700_000_000_000_000,
			ParentHash: common.Hash{9}, GasUsed: 63000, TxOffset: 10, LogOffset: 20},
		Txs: txs, Receipts: rs,
		Diff: &Diff{Accounts: []AccountDiff{{Address: common.Address{0xaa}, Flags: SetBalance, Balance: *uint256.NewInt(6)}}},
	}
}

func TestMiniBlockSealEncodeDecode(t *testing.T) {
	mb := testMiniBlock(t)
	if err := mb.Seal(testKey); err != nil {
		t.Fatal(err)
	}
	enc, err := mb.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeMiniBlock(enc)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash() != mb.Hash() {
		t.Fatal("hash changed across a round trip")
	}
	if err := got.VerifySigner(crypto.PubkeyToAddress(testKey.PublicKey)); err != nil {
		t.Fatal(err)
	}
	if err := got.VerifySigner(crypto.PubkeyToAddress(otherKey.PublicKey)); !errors.Is(err, ErrInvalidSigner) {
		t.Fatalf("a mini-block signed by another key must be refused, got %v", err)
	}
	// Derived receipt fields come back filled in.
	r := got.Receipts[2]
	if r.TxHash != mb.Txs[2].Hash() || r.TransactionIndex != 12 || r.Logs[0].Index != 22 || r.Bloom != types.CreateBloom(mb.Receipts[2]) {
		t.Fatalf("derived fields wrong: %+v", r)
	}
	reenc, err := got.Encode()
	if err != nil || !bytes.Equal(reenc, enc) {
		t.Fatal("re-encoding a decoded mini-block must give the same bytes")
	}
}

func TestMiniBlockTamperingIsDetected(t *testing.T) {
	mb := testMiniBlock(t)
	if err := mb.Seal(testKey); err != nil {
		t.Fatal(err)
	}
	seq := crypto.PubkeyToAddress(testKey.PublicKey)

	// A body changed after sealing no longer matches the header commitments.
	bad := *mb
	bad.Diff = &Diff{Accounts: []AccountDiff{{Address: common.Address{0xaa}, Flags: SetBalance, Balance: *uint256.NewInt(7)}}}
	enc, _ := bad.Encode()
	if _, err := DecodeMiniBlock(enc); !errors.Is(err, ErrBodyMismatch) {
		t.Fatalf("doctored diff: got %v, want ErrBodyMismatch", err)
	}
	bad = *mb
	bad.Txs = append([]*types.Transaction{}, mb.Txs...)
	bad.Txs[0] = signedTx(t, testKey, 9)
	enc, _ = bad.Encode()
	if _, err := DecodeMiniBlock(enc); err == nil {
		t.Fatal("doctored transactions must be refused")
	}
	// A header changed after signing is signed by nobody we know.
	bad = *mb
	bad.Header.GasUsed++
	enc, _ = bad.Encode()
	got, err := DecodeMiniBlock(enc)
	if err != nil {
		t.Fatal(err)
	}
	if err := got.VerifySigner(seq); !errors.Is(err, ErrInvalidSigner) {
		t.Fatalf("doctored header: got %v, want ErrInvalidSigner", err)
	}
	// A truncated signature is an error, not a panic.
	bad = *mb
	bad.Signature = bad.Signature[:10]
	if err := bad.VerifySigner(seq); !errors.Is(err, ErrInvalidSigner) {
		t.Fatalf("short signature: got %v", err)
	}
}

func TestDecodeTxIsStrict(t *testing.T) {
	tx := signedTx(t, testKey, 3)
	raw, _ := tx.MarshalBinary()
	got, err := DecodeTx(raw)
	if err != nil || got.Hash() != tx.Hash() {
		t.Fatalf("valid tx: %v", err)
	}
	for name, b := range map[string][]byte{
		"empty":     nil,
		"truncated": raw[:len(raw)-3],
		"trailing":  append(bytes.Clone(raw), 0),
		"bad type":  append([]byte{0x7f}, raw[1:]...),
	} {
		if _, err := DecodeTx(b); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

func TestBlockRoundTrip(t *testing.T) {
	txs := []*types.Transaction{signedTx(t, testKey, 0), signedTx(t, testKey, 1)}
	h := &types.Header{Number: big.NewInt(7), GasLimit: 30_000_000, Time: 99, BaseFee: big.NewInt(7), Difficulty: new(big.Int)}
	h.TxHash = TxRoot(txs)
	b := types.NewBlockWithHeader(h).WithBody(types.Body{Transactions: txs})
	enc, err := EncodeBlock(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeBlock(enc)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash() != b.Hash() || len(got.Transactions()) != 2 {
		t.Fatal("block changed across a round trip")
	}
	// A body that does not match the header's transactions root is refused.
	other := types.NewBlockWithHeader(h).WithBody(types.Body{Transactions: txs[:1]})
	enc, _ = EncodeBlock(other)
	if _, err := DecodeBlock(enc); !errors.Is(err, ErrBodyMismatch) {
		t.Fatalf("got %v, want ErrBodyMismatch", err)
	}
}

// TestDecodersNeverPanic feeds the decoders random bytes and random
// mutations of valid records; each must return a value or an error. The
// same property runs under `go test -fuzz` (fuzz_test.go).
func TestDecodersNeverPanic(t *testing.T) {
	mb := testMiniBlock(t)
	if err := mb.Seal(testKey); err != nil {
		t.Fatal(err)
	}
	mbEnc, _ := mb.Encode()
	valid := [][]byte{mbEnc, genDiffExample().Encode()}
	rapid.Check(t, func(t *rapid.T) {
		var b []byte
		if rapid.Bool().Draw(t, "mutate") {
			b = bytes.Clone(rapid.SampledFrom(valid).Draw(t, "valid"))
			for range rapid.IntRange(1, 4).Draw(t, "edits") {
				i := rapid.IntRange(0, len(b)-1).Draw(t, "at")
				b[i] = rapid.Byte().Draw(t, "byte")
			}
			if rapid.Bool().Draw(t, "cut") {
				b = b[:rapid.IntRange(0, len(b)).Draw(t, "len")]
			}
		} else {
			b = rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(t, "random")
		}
		// Half the time, fix the checksum, so the decoders behind it run too.
		if len(b) >= 5 && rapid.Bool().Draw(t, "reframe") {
			b = Frame(Format(b[0]), b[1:len(b)-4])
		}
		_, _ = DecodeDiff(b)
		_, _ = DecodeMiniBlock(b)
		_, _ = DecodeTx(b)
		_, _ = DecodeBlock(b)
	})
}

func genDiffExample() *Diff {
	return &Diff{Accounts: []AccountDiff{
		{Address: common.Address{1}, Flags: SetNonce | SetBalance | SetCode, Nonce: 3, Balance: *uint256.NewInt(5), Code: []byte{0x60}, Storage: []Slot{{Key: common.Hash{1}, Value: common.Hash{31: 2}}}},
		{Address: common.Address{2}, Flags: Deleted},
		{Address: common.Address{3}, Flags: Reset, Storage: []Slot{{Key: common.Hash{31: 1}, Value: common.Hash{}}}},
	}}
}
