package chain

import (
	"bytes"
	"errors"
	"math/big"
	"reflect"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
)

func TestRangeRequestRoundTrip(t *testing.T) {
	for _, r := range []RangeRequest{
		{ID: 1, From: 0, Count: 1},
		{ID: 1<<64 - 1, From: 1 << 40, Count: MaxRangeCount},
		{ID: 0, From: 7, Count: 13},
	} {
		enc := r.Encode()
		if Kind(enc) != FormatRangeRequestV1 {
			t.Fatalf("format %v", Kind(enc))
		}
		got, err := DecodeRangeRequest(enc)
		if err != nil {
			t.Fatalf("%+v: %v", r, err)
		}
		if *got != r {
			t.Fatalf("round trip changed the request: got %+v, want %+v", *got, r)
		}
		if !bytes.Equal(got.Encode(), enc) {
			t.Fatal("re-encoding gives other bytes")
		}
	}
}

func TestRangeRequestCountBounds(t *testing.T) {
	for _, count := range []uint64{0, MaxRangeCount + 1, 1 << 63} {
		_, err := DecodeRangeRequest((&RangeRequest{ID: 3, From: 10, Count: count}).Encode())
		if !errors.Is(err, ErrInvalidPayload) {
			t.Errorf("count %d: got %v, want ErrInvalidPayload", count, err)
		}
	}
	for _, count := range []uint64{1, MaxRangeCount} {
		if _, err := DecodeRangeRequest((&RangeRequest{Count: count}).Encode()); err != nil {
			t.Errorf("count %d refused: %v", count, err)
		}
	}
}

// testRangeResponse carries real framed mini-blocks, so that they come back
// decodable.
func testRangeResponse(t testing.TB) (*RangeResponse, *MiniBlock) {
	t.Helper()
	mb := testMiniBlock(t)
	if err := mb.Seal(testKey); err != nil {
		t.Fatal(err)
	}
	enc, err := mb.Encode()
	if err != nil {
		t.Fatal(err)
	}
	next := testMiniBlock(t)
	next.Header.Number++
	next.Header.ParentHash = mb.Hash()
	if err := next.Seal(testKey); err != nil {
		t.Fatal(err)
	}
	enc2, err := next.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return &RangeResponse{ID: 9, From: 42, Head: 100, MiniBlocks: [][]byte{enc, enc2}}, mb
}

func TestRangeResponseRoundTrip(t *testing.T) {
	r, mb := testRangeResponse(t)
	enc := r.Encode()
	if Kind(enc) != FormatRangeResponseV1 {
		t.Fatalf("format %v", Kind(enc))
	}
	got, err := DecodeRangeResponse(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("round trip changed the response:\n got %+v\nwant %+v", got, r)
	}
	if !bytes.Equal(got.Encode(), enc) {
		t.Fatal("re-encoding gives other bytes")
	}
	first, err := DecodeMiniBlock(got.MiniBlocks[0])
	if err != nil {
		t.Fatal(err)
	}
	if first.Hash() != mb.Hash() {
		t.Fatal("the carried mini-block changed")
	}
	second, err := DecodeMiniBlock(got.MiniBlocks[1])
	if err != nil || second.Header.ParentHash != mb.Hash() {
		t.Fatalf("second mini-block: %v", err)
	}

	// An empty response (the peer has nothing from From on) is valid.
	empty := &RangeResponse{ID: 1, From: 5, Head: 4}
	got, err = DecodeRangeResponse(empty.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != 1 || got.From != 5 || got.Head != 4 || len(got.MiniBlocks) != 0 {
		t.Fatalf("empty response came back as %+v", got)
	}
}

func TestRangeResponseCountBound(t *testing.T) {
	blocks := make([][]byte, MaxRangeCount+1)
	for i := range blocks {
		blocks[i] = []byte{byte(i)}
	}
	_, err := DecodeRangeResponse((&RangeResponse{ID: 1, MiniBlocks: blocks}).Encode())
	if !errors.Is(err, ErrInvalidPayload) {
		t.Fatalf("%d mini-blocks: got %v, want ErrInvalidPayload", len(blocks), err)
	}
	got, err := DecodeRangeResponse((&RangeResponse{ID: 1, MiniBlocks: blocks[:MaxRangeCount]}).Encode())
	if err != nil || len(got.MiniBlocks) != MaxRangeCount {
		t.Fatalf("%d mini-blocks refused: %v", MaxRangeCount, err)
	}
}

func TestRangeCodecsRefuseBadInput(t *testing.T) {
	req := (&RangeRequest{ID: 1, From: 2, Count: 3}).Encode()
	resp, _ := testRangeResponse(t)
	res := resp.Encode()
	flip := func(b []byte, i int) []byte {
		b = bytes.Clone(b)
		b[i] ^= 0x04
		return b
	}
	body := func(b []byte) []byte { return bytes.Clone(b[1 : len(b)-4]) }

	decoders := map[string]func([]byte) error{
		"request":  func(b []byte) error { _, err := DecodeRangeRequest(b); return err },
		"response": func(b []byte) error { _, err := DecodeRangeResponse(b); return err },
	}
	cases := []struct {
		name    string
		decoder string
		rec     []byte
		want    error
	}{
		{"empty", "request", nil, ErrTruncated},
		{"empty", "response", nil, ErrTruncated},
		{"short", "request", req[:4], ErrTruncated},
		{"flipped payload", "request", flip(req, 2), ErrChecksum},
		{"flipped payload", "response", flip(res, len(res)/2), ErrChecksum},
		{"flipped checksum", "request", flip(req, len(req)-1), ErrChecksum},
		{"flipped checksum", "response", flip(res, len(res)-2), ErrChecksum},
		{"truncated", "response", res[:len(res)-1], ErrChecksum},
		{"response given to the request decoder", "request", res, ErrUnknownFormat},
		{"request given to the response decoder", "response", req, ErrUnknownFormat},
		{"newer version", "request", Frame(FormatRangeRequestV1+1, body(req)), ErrUnknownFormat},
		{"trailing bytes", "request", Frame(FormatRangeRequestV1, append(body(req), 0x80)), ErrTrailingBytes},
		{"trailing bytes", "response", Frame(FormatRangeResponseV1, append(body(res), 0x80)), ErrTrailingBytes},
		{"too large", "response", make([]byte, MaxRecordSize+1), ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.decoder+"/"+c.name, func(t *testing.T) {
			if err := decoders[c.decoder](c.rec); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	// Payloads that pass the frame check but are not the right RLP.
	for name, p := range map[string][]byte{
		"truncated list": body(req)[:len(body(req))-1],
		"not a list":     {0x05},
		"too few fields": {0xc2, 0x01, 0x02},
		"leading zero":   {0xc5, 0x01, 0x02, 0x82, 0x00, 0x03},
	} {
		if _, err := DecodeRangeRequest(Frame(FormatRangeRequestV1, p)); err == nil {
			t.Errorf("request payload %s: decoded", name)
		}
	}
	if _, err := DecodeRangeResponse(Frame(FormatRangeResponseV1, body(res)[:len(body(res))-1])); err == nil {
		t.Error("truncated response payload decoded")
	}
	if err := decoders["request"](req); err != nil {
		t.Fatalf("the unmodified request must decode: %v", err)
	}
	if err := decoders["response"](res); err != nil {
		t.Fatalf("the unmodified response must decode: %v", err)
	}
}

func TestKind(t *testing.T) {
	if Kind(nil) != 0 || Kind([]byte{}) != 0 {
		t.Fatal("an empty record has kind 0")
	}
	mb := testMiniBlock(t)
	if err := mb.Seal(testKey); err != nil {
		t.Fatal(err)
	}
	mbEnc, _ := mb.Encode()
	for want, rec := range map[Format][]byte{
		FormatRangeRequestV1:  (&RangeRequest{Count: 1}).Encode(),
		FormatRangeResponseV1: (&RangeResponse{}).Encode(),
		FormatDiffV1:          (&Diff{}).Encode(),
		FormatMiniBlockV1:     mbEnc,
		0x7f:                  {0x7f},
	} {
		if got := Kind(rec); got != want {
			t.Errorf("Kind = %v, want %v", got, want)
		}
	}
}

// sealedHeader is an EVM block header as the sequencer seals it, with the
// optional fields of the current forks set.
func sealedHeader(number uint64) *types.Header {
	zero := uint64(0)
	return &types.Header{
		ParentHash: common.Hash{0x11}, Coinbase: common.Address{0xc0}, Root: common.Hash{0x22},
		TxHash: common.Hash{0x33}, ReceiptHash: common.Hash{0x44}, Difficulty: new(big.Int),
		Number: new(big.Int).SetUint64(number), GasLimit: 30_000_000, GasUsed: 63000, Time: 1_700_000_000,
		BaseFee: big.NewInt(7), WithdrawalsHash: &types.EmptyWithdrawalsHash, BlobGasUsed: &zero, ExcessBlobGas: &zero,
		ParentBeaconRoot: &common.Hash{0x55}, RequestsHash: &types.EmptyRequestsHash,
	}
}

func sealedMiniBlock(t *testing.T) *MiniBlock {
	t.Helper()
	mb := testMiniBlock(t)
	mb.Sealed = sealedHeader(mb.Header.BlockNumber)
	if err := mb.Seal(testKey); err != nil {
		t.Fatal(err)
	}
	return mb
}

func TestSealedMiniBlockRoundTrip(t *testing.T) {
	mb := sealedMiniBlock(t)
	if mb.Header.SealHash != mb.Sealed.Hash() || !mb.Seals() {
		t.Fatalf("Seal did not commit to the sealed header: SealHash %v, header %v", mb.Header.SealHash, mb.Sealed.Hash())
	}
	enc, err := mb.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeMiniBlock(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Seals() || got.Sealed.Hash() != mb.Sealed.Hash() || got.Sealed.Number.Uint64() != mb.Header.BlockNumber {
		t.Fatalf("sealed header changed across a round trip: %+v", got.Sealed)
	}
	if got.Hash() != mb.Hash() {
		t.Fatal("hash changed across a round trip")
	}
	if err := got.VerifySigner(crypto.PubkeyToAddress(testKey.PublicKey)); err != nil {
		t.Fatal(err)
	}
	reenc, err := got.Encode()
	if err != nil || !bytes.Equal(reenc, enc) {
		t.Fatal("re-encoding a decoded sealed mini-block must give the same bytes")
	}
	// The commitment is signed: the same body under another sealed header
	// has another hash.
	other := testMiniBlock(t)
	other.Sealed = sealedHeader(mb.Header.BlockNumber)
	other.Sealed.Root = common.Hash{0x99}
	if err := other.Seal(testKey); err != nil {
		t.Fatal(err)
	}
	if other.Hash() == mb.Hash() {
		t.Fatal("the mini-block hash does not depend on the sealed header")
	}
}

func TestUnsealedMiniBlockHasNoSealHash(t *testing.T) {
	mb := testMiniBlock(t)
	mb.Header.SealHash = common.Hash{0xde, 0xad} // left over by a caller
	if err := mb.Seal(testKey); err != nil {
		t.Fatal(err)
	}
	if mb.Header.SealHash != (common.Hash{}) || mb.Seals() {
		t.Fatalf("a mini-block without a sealed header has SealHash %v", mb.Header.SealHash)
	}
	enc, _ := mb.Encode()
	got, err := DecodeMiniBlock(enc)
	if err != nil {
		t.Fatal(err)
	}
	if got.Sealed != nil || got.Seals() {
		t.Fatal("an unsealed mini-block came back sealed")
	}
}

func TestSealRefusesHeaderOfAnotherBlock(t *testing.T) {
	for name, h := range map[string]*types.Header{
		"next block":     sealedHeader(2),
		"previous block": sealedHeader(0),
		"no number":      func() *types.Header { h := sealedHeader(1); h.Number = nil; return h }(),
	} {
		mb := testMiniBlock(t) // BlockNumber 1
		mb.Sealed = h
		if err := mb.Seal(testKey); err == nil {
			t.Errorf("%s: Seal accepted a sealed header for another block", name)
		}
		if mb.Signature != nil {
			t.Errorf("%s: a refused Seal signed the mini-block", name)
		}
	}
}

// rawMiniBlock frames a mini-block's wire layout as given, bypassing
// Encode, to build records a faulty or hostile peer could send.
func rawMiniBlock(t *testing.T, mb *MiniBlock, seal *types.Header) []byte {
	t.Helper()
	w := miniBlockRLP{Header: mb.Header, Txs: mb.Txs, Receipts: toReceiptRLP(mb.Receipts), Diff: mb.Diff, Seal: seal, Signature: mb.Signature}
	payload, err := rlp.EncodeToBytes(&w)
	if err != nil {
		t.Fatal(err)
	}
	return Frame(FormatMiniBlockV1, payload)
}

func TestDecodeMiniBlockChecksTheSealedHeader(t *testing.T) {
	mb := sealedMiniBlock(t)
	// The hand-built record is the real one when nothing is changed.
	if enc, _ := mb.Encode(); !bytes.Equal(rawMiniBlock(t, mb, mb.Sealed), enc) {
		t.Fatal("the test's wire layout differs from Encode's")
	}

	swapped := sealedHeader(mb.Header.BlockNumber)
	swapped.Root = common.Hash{0x66} // another state root, same block number
	_, err := DecodeMiniBlock(rawMiniBlock(t, mb, swapped))
	if !errors.Is(err, ErrBodyMismatch) {
		t.Fatalf("swapped sealed header: got %v, want ErrBodyMismatch", err)
	}

	_, err = DecodeMiniBlock(rawMiniBlock(t, mb, nil))
	if !errors.Is(err, ErrBodyMismatch) {
		t.Fatalf("SealHash set, sealed header missing: got %v, want ErrBodyMismatch", err)
	}

	unsealed := testMiniBlock(t)
	if err := unsealed.Seal(testKey); err != nil {
		t.Fatal(err)
	}
	_, err = DecodeMiniBlock(rawMiniBlock(t, unsealed, sealedHeader(unsealed.Header.BlockNumber)))
	if !errors.Is(err, ErrBodyMismatch) {
		t.Fatalf("sealed header without SealHash: got %v, want ErrBodyMismatch", err)
	}

	// A header committed to by SealHash but for another block number is
	// refused too (a sequencer bug, or a forged signature key).
	wrong := testMiniBlock(t)
	h := sealedHeader(wrong.Header.BlockNumber + 1)
	if err := wrong.Seal(testKey); err != nil {
		t.Fatal(err)
	}
	wrong.Header.SealHash = h.Hash()
	_, err = DecodeMiniBlock(rawMiniBlock(t, wrong, h))
	if !errors.Is(err, ErrInvalidPayload) {
		t.Fatalf("sealed header of another block: got %v, want ErrInvalidPayload", err)
	}
}
