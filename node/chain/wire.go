package chain

import "fmt"

// MaxRangeCount bounds how many mini-blocks one range request may ask for
// and one response may carry.
const MaxRangeCount = 256

// RangeRequest asks a peer for the mini-blocks numbered From, From+1, …,
// at most Count of them. ID is the requester's, echoed in the response.
type RangeRequest struct {
	ID    uint64
	From  uint64
	Count uint64
}

// RangeResponse answers a RangeRequest with the consecutive mini-blocks
// the peer has from From on (each in its framed encoding), possibly fewer
// than asked, possibly none. Head is the newest mini-block number the peer
// holds, so that a requester learns how far behind it is.
type RangeResponse struct {
	ID         uint64
	From       uint64
	Head       uint64
	MiniBlocks [][]byte
}

// Encode returns the framed request.
func (r *RangeRequest) Encode() []byte { return FrameRLP(FormatRangeRequestV1, r) }

// DecodeRangeRequest decodes a framed range request.
func DecodeRangeRequest(rec []byte) (*RangeRequest, error) {
	payload, err := Unframe(FormatRangeRequestV1, rec)
	if err != nil {
		return nil, fmt.Errorf("decode range request: %w", err)
	}
	r := new(RangeRequest)
	if err := decodeExact(payload, r); err != nil {
		return nil, fmt.Errorf("decode range request: %w", err)
	}
	if r.Count == 0 || r.Count > MaxRangeCount {
		return nil, fmt.Errorf("decode range request: %w: count %d, limit %d", ErrInvalidPayload, r.Count, MaxRangeCount)
	}
	return r, nil
}

// Encode returns the framed response.
func (r *RangeResponse) Encode() []byte { return FrameRLP(FormatRangeResponseV1, r) }

// DecodeRangeResponse decodes a framed range response. The mini-blocks
// inside are left encoded, for the caller to decode and check one by one.
func DecodeRangeResponse(rec []byte) (*RangeResponse, error) {
	payload, err := Unframe(FormatRangeResponseV1, rec)
	if err != nil {
		return nil, fmt.Errorf("decode range response: %w", err)
	}
	r := new(RangeResponse)
	if err := decodeExact(payload, r); err != nil {
		return nil, fmt.Errorf("decode range response: %w", err)
	}
	if len(r.MiniBlocks) > MaxRangeCount {
		return nil, fmt.Errorf("decode range response: %w: %d mini-blocks, limit %d", ErrInvalidPayload, len(r.MiniBlocks), MaxRangeCount)
	}
	return r, nil
}

// Kind returns the format byte of a framed record, or 0 for an empty one;
// a dispatcher uses it to pick the decoder.
func Kind(rec []byte) Format {
	if len(rec) == 0 {
		return 0
	}
	return Format(rec[0])
}
