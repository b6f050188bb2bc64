package chain

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// A refusal reads back as written; a reason over the bound is cut on
// encode and refused on decode; the frame is checked.
func TestRefusalRoundTrip(t *testing.T) {
	for _, r := range []Refusal{
		{},
		{Request: FormatRangeRequestV1, Reason: "rate limited", RetryAfterMillis: 2},
		{Request: FormatAttRequestV1, Reason: strings.Repeat("x", MaxRefusalReasonBytes), RetryAfterMillis: 1<<64 - 1},
		{Request: Format(0xff), Reason: "\x00\xff not utf-8"},
	} {
		enc := r.Encode()
		if Kind(enc) != FormatRefusalV1 {
			t.Fatalf("kind %v", Kind(enc))
		}
		got, err := DecodeRefusal(enc)
		if err != nil || *got != r {
			t.Fatalf("round trip of %+v: %+v, %v", r, got, err)
		}
	}
	long := Refusal{Request: FormatDAGetV1, Reason: strings.Repeat("y", MaxRefusalReasonBytes+10)}
	got, err := DecodeRefusal(long.Encode())
	if err != nil || got.Reason != long.Reason[:MaxRefusalReasonBytes] {
		t.Fatalf("a long reason: %+v, %v", got, err)
	}
	if len(long.Reason) != MaxRefusalReasonBytes+10 {
		t.Fatal("Encode changed the refusal it encodes")
	}
	// Over the bound, framed by hand: refused.
	over := FrameRLP(FormatRefusalV1, &Refusal{Reason: strings.Repeat("z", MaxRefusalReasonBytes+1)})
	if _, err := DecodeRefusal(over); !errors.Is(err, ErrInvalidPayload) {
		t.Fatalf("a reason over the bound: %v", err)
	}
	// Another format, a bad checksum, trailing bytes.
	if _, err := DecodeRefusal((&RangeRequest{ID: 1, Count: 1}).Encode()); !errors.Is(err, ErrUnknownFormat) {
		t.Fatalf("a range request as a refusal: %v", err)
	}
	enc := (&Refusal{Reason: "r"}).Encode()
	enc[2] ^= 1
	if _, err := DecodeRefusal(enc); !errors.Is(err, ErrChecksum) {
		t.Fatalf("a flipped bit: %v", err)
	}
	payload, _ := Unframe(FormatRefusalV1, (&Refusal{Reason: "r"}).Encode())
	if _, err := DecodeRefusal(Frame(FormatRefusalV1, append(bytes.Clone(payload), 0x80))); !errors.Is(err, ErrTrailingBytes) {
		t.Fatalf("trailing bytes: %v", err)
	}
	if s := FormatRefusalV1.String(); s != "refusal/v1" {
		t.Fatalf("name %q", s)
	}
}

// Refusals come from peers: the decoder must never panic, must hold its
// bound, and a value it accepts must re-encode to the same bytes and
// decode to the same value.
func FuzzDecodeRefusal(f *testing.F) {
	f.Add((&Refusal{}).Encode())
	f.Add((&Refusal{Request: FormatRangeRequestV1, Reason: "rate limited: 500 requests/s", RetryAfterMillis: 3}).Encode())
	f.Add((&Refusal{Request: FormatDAGetV1, Reason: strings.Repeat("r", MaxRefusalReasonBytes), RetryAfterMillis: 1 << 40}).Encode())
	f.Add(FrameRLP(FormatRefusalV1, &Refusal{Reason: strings.Repeat("r", MaxRefusalReasonBytes+1)}))
	f.Fuzz(func(t *testing.T, rec []byte) {
		r, err := DecodeRefusal(rec)
		if err != nil {
			return
		}
		if len(r.Reason) > MaxRefusalReasonBytes {
			t.Fatalf("accepted a reason of %d bytes", len(r.Reason))
		}
		enc := r.Encode()
		if !bytes.Equal(enc, rec) {
			t.Fatal("accepted a non-canonical refusal")
		}
		again, err := DecodeRefusal(enc)
		if err != nil || *again != *r {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, r)
		}
	})
}
