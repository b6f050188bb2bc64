package chain_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/meganode/meganode/node/chain"
)

// roundTrip encodes v, decodes it with decode and checks that the result
// equals v (after one normalising trip, as nil and empty lists encode alike)
// and re-encodes to the same bytes.
func roundTrip[T interface{ Encode() []byte }](t *testing.T, v T, want chain.Format, decode func([]byte) (T, error)) {
	t.Helper()
	enc := v.Encode()
	if chain.Kind(enc) != want {
		t.Fatalf("format %v, want %v", chain.Kind(enc), want)
	}
	got, err := decode(enc)
	if err != nil {
		t.Fatalf("%+v: %v", v, err)
	}
	if !bytes.Equal(got.Encode(), enc) {
		t.Fatalf("%+v: re-encoding gives other bytes", v)
	}
	again, err := decode(got.Encode())
	if err != nil || !reflect.DeepEqual(again, got) {
		t.Fatalf("%+v: second trip gives %+v, %v", v, again, err)
	}
}

func refused[T any](t *testing.T, what string, rec []byte, decode func([]byte) (T, error)) {
	t.Helper()
	if _, err := decode(rec); !errors.Is(err, chain.ErrInvalidPayload) {
		t.Errorf("%s: got %v, want ErrInvalidPayload", what, err)
	}
}

func TestDAMessagesRoundTrip(t *testing.T) {
	bundle := newBuilder(t).next(2).Encode()
	roundTrip(t, &chain.DAPut{ID: 1, Bundles: [][]byte{bundle, bundle}}, chain.FormatDAPutV1, chain.DecodeDAPut)
	roundTrip(t, &chain.DAPut{ID: 2, Bundles: make([][]byte, chain.MaxPutBundles)}, chain.FormatDAPutV1, chain.DecodeDAPut)
	roundTrip(t, &chain.DAAck{ID: 3, Head: 9, Commitments: []common.Hash{{1}, {2}}}, chain.FormatDAAckV1, chain.DecodeDAAck)
	roundTrip(t, &chain.DAAck{ID: 3}, chain.FormatDAAckV1, chain.DecodeDAAck)
	roundTrip(t, &chain.BlockRangeRequest{ID: 4, From: 1, Count: chain.MaxBlockRange}, chain.FormatBlockRangeRequestV1, chain.DecodeBlockRangeRequest)
	roundTrip(t, &chain.BlockRangeResponse{ID: 5, From: 1, Head: 7, Bundles: [][]byte{bundle}}, chain.FormatBlockRangeResponseV1, chain.DecodeBlockRangeResponse)
	roundTrip(t, &chain.BlockRangeResponse{ID: 5, From: 9, Head: 7}, chain.FormatBlockRangeResponseV1, chain.DecodeBlockRangeResponse)
	roundTrip(t, &chain.DAGet{ID: 6, Hashes: []common.Hash{{1}, {2}, {3}}}, chain.FormatDAGetV1, chain.DecodeDAGet)
	roundTrip(t, &chain.DABlobs{ID: 7, Blobs: [][]byte{{1}, bundle}}, chain.FormatDABlobsV1, chain.DecodeDABlobs)
	roundTrip(t, &chain.DABlobs{ID: 7}, chain.FormatDABlobsV1, chain.DecodeDABlobs)

	// Values survive the trip.
	got, err := chain.DecodeDAAck((&chain.DAAck{ID: 3, Head: 9, Commitments: []common.Hash{{1}, {2}}}).Encode())
	if err != nil || got.ID != 3 || got.Head != 9 || len(got.Commitments) != 2 || got.Commitments[1] != (common.Hash{2}) {
		t.Fatalf("ack: %+v, %v", got, err)
	}
}

func TestDAMessageBounds(t *testing.T) {
	refused(t, "empty put", (&chain.DAPut{ID: 1}).Encode(), chain.DecodeDAPut)
	refused(t, "put over the bound", (&chain.DAPut{ID: 1, Bundles: make([][]byte, chain.MaxPutBundles+1)}).Encode(), chain.DecodeDAPut)
	refused(t, "ack over the bound", (&chain.DAAck{Commitments: make([]common.Hash, chain.MaxPutBundles+1)}).Encode(), chain.DecodeDAAck)
	refused(t, "block range of 0", (&chain.BlockRangeRequest{From: 1}).Encode(), chain.DecodeBlockRangeRequest)
	refused(t, "block range over the bound", (&chain.BlockRangeRequest{From: 1, Count: chain.MaxBlockRange + 1}).Encode(), chain.DecodeBlockRangeRequest)
	refused(t, "block range wrapping", (&chain.BlockRangeRequest{From: 1<<64 - 2, Count: 3}).Encode(), chain.DecodeBlockRangeRequest)
	refused(t, "block range response over the bound", (&chain.BlockRangeResponse{Bundles: make([][]byte, chain.MaxBlockRange+1)}).Encode(), chain.DecodeBlockRangeResponse)
	refused(t, "empty get", (&chain.DAGet{ID: 1}).Encode(), chain.DecodeDAGet)
	refused(t, "get over the bound", (&chain.DAGet{Hashes: make([]common.Hash, chain.MaxGetHashes+1)}).Encode(), chain.DecodeDAGet)
	refused(t, "blobs over the bound", (&chain.DABlobs{Blobs: make([][]byte, chain.MaxGetHashes+1)}).Encode(), chain.DecodeDABlobs)

	// At the bounds.
	if _, err := chain.DecodeBlockRangeRequest((&chain.BlockRangeRequest{From: 1<<64 - 3, Count: 3}).Encode()); err != nil {
		t.Errorf("a range ending at the last number: %v", err)
	}
	if _, err := chain.DecodeDAGet((&chain.DAGet{Hashes: make([]common.Hash, chain.MaxGetHashes)}).Encode()); err != nil {
		t.Errorf("get at the bound: %v", err)
	}
	if _, err := chain.DecodeDABlobs((&chain.DABlobs{Blobs: make([][]byte, chain.MaxGetHashes)}).Encode()); err != nil {
		t.Errorf("blobs at the bound: %v", err)
	}

	// A hash that is not 32 bytes, trailing bytes, a wrong format, a bad
	// checksum.
	shortPayload, _ := rlp.EncodeToBytes(&struct {
		ID     uint64
		Hashes [][]byte
	}{1, [][]byte{{1, 2, 3}}})
	short := chain.Frame(chain.FormatDAGetV1, shortPayload)
	if _, err := chain.DecodeDAGet(short); err == nil {
		t.Error("a 1-byte hash was accepted")
	}
	enc := (&chain.DAGet{ID: 1, Hashes: []common.Hash{{1}}}).Encode()
	payload, _ := chain.Unframe(chain.FormatDAGetV1, enc)
	if _, err := chain.DecodeDAGet(chain.Frame(chain.FormatDAGetV1, append(bytes.Clone(payload), 0x01))); !errors.Is(err, chain.ErrTrailingBytes) {
		t.Errorf("trailing bytes: got %v", err)
	}
	if _, err := chain.DecodeDAGet(chain.Frame(chain.FormatDABlobsV1, payload)); !errors.Is(err, chain.ErrUnknownFormat) {
		t.Errorf("wrong format: got %v", err)
	}
	bad := bytes.Clone(enc)
	bad[3] ^= 1
	if _, err := chain.DecodeDAGet(bad); !errors.Is(err, chain.ErrChecksum) {
		t.Errorf("flipped bit: got %v", err)
	}
}
