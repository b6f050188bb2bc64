package chain

import (
	"bytes"
	"reflect"
	"testing"
)

// Range requests and responses come from peers: the decoders must never
// panic, must hold their bounds, and a value they accept must re-encode to
// the same bytes and decode to the same value.

func FuzzDecodeRangeRequest(f *testing.F) {
	f.Add((&RangeRequest{ID: 1, From: 0, Count: 1}).Encode())
	f.Add((&RangeRequest{ID: 1<<64 - 1, From: 1 << 40, Count: MaxRangeCount}).Encode())
	f.Add((&RangeRequest{ID: 2, From: 3, Count: 0}).Encode())
	f.Fuzz(func(t *testing.T, rec []byte) {
		r, err := DecodeRangeRequest(rec)
		if err != nil {
			return
		}
		if r.Count == 0 || r.Count > MaxRangeCount {
			t.Fatalf("accepted count %d", r.Count)
		}
		enc := r.Encode()
		if !bytes.Equal(enc, rec) {
			t.Fatal("accepted a non-canonical range request")
		}
		again, err := DecodeRangeRequest(enc)
		if err != nil || *again != *r {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, r)
		}
	})
}

func FuzzDecodeRangeResponse(f *testing.F) {
	resp, _ := testRangeResponse(f)
	f.Add(resp.Encode())
	f.Add((&RangeResponse{ID: 1, From: 5, Head: 4}).Encode())
	f.Add((&RangeResponse{ID: 7, From: 1, Head: 9, MiniBlocks: [][]byte{{}, {0x21}, {1, 2, 3}}}).Encode())
	f.Fuzz(func(t *testing.T, rec []byte) {
		r, err := DecodeRangeResponse(rec)
		if err != nil {
			return
		}
		if len(r.MiniBlocks) > MaxRangeCount {
			t.Fatalf("accepted %d mini-blocks", len(r.MiniBlocks))
		}
		enc := r.Encode()
		if !bytes.Equal(enc, rec) {
			t.Fatal("accepted a non-canonical range response")
		}
		again, err := DecodeRangeResponse(enc)
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, r)
		}
		// The carried mini-blocks are decoded one by one by the caller;
		// that must not panic either.
		for _, mb := range r.MiniBlocks {
			_, _ = DecodeMiniBlock(mb)
		}
	})
}
