package chain

import "fmt"

// MaxRefusalReasonBytes bounds the reason of a refusal.
const MaxRefusalReasonBytes = 256

// Refusal is a node's answer to a direct request it will not serve now
// (node/runtime sends it when a peer's requests exceed their rate limit;
// the role never sees the request). Request is the format of the refused
// request (FormatRangeRequestV1, FormatAttRequestV1, …), Reason says why in
// words, and RetryAfterMillis is how long the requester should wait before
// it asks that node again (0: no advice).
type Refusal struct {
	Request          Format
	Reason           string // at most MaxRefusalReasonBytes
	RetryAfterMillis uint64
}

// Encode returns the framed refusal (format FormatRefusalV1). A reason
// longer than MaxRefusalReasonBytes is cut to it.
func (r *Refusal) Encode() []byte {
	c := *r
	if len(c.Reason) > MaxRefusalReasonBytes {
		c.Reason = c.Reason[:MaxRefusalReasonBytes]
	}
	return FrameRLP(FormatRefusalV1, &c)
}

// DecodeRefusal decodes a framed refusal and checks the bound of its
// reason.
func DecodeRefusal(rec []byte) (*Refusal, error) {
	payload, err := Unframe(FormatRefusalV1, rec)
	if err != nil {
		return nil, fmt.Errorf("decode refusal: %w", err)
	}
	r := new(Refusal)
	if err := decodeExact(payload, r); err != nil {
		return nil, fmt.Errorf("decode refusal: %w", err)
	}
	if len(r.Reason) > MaxRefusalReasonBytes {
		return nil, fmt.Errorf("decode refusal: %w: reason of %d bytes, limit %d", ErrInvalidPayload, len(r.Reason), MaxRefusalReasonBytes)
	}
	return r, nil
}
