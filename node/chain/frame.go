package chain

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/ethereum/go-ethereum/rlp"
)

// Format identifies an encoding and its version. It is the first byte of
// every framed record; the high nibble names the kind of record, the low
// nibble its version. A decoder refuses a format it does not know, so an old
// node never misreads a newer record.
type Format byte

// The formats this build reads and writes.
const (
	FormatDiffV1      Format = 0x11
	FormatMiniBlockV1 Format = 0x21
	FormatBlockV1     Format = 0x31

	// Client API calls and answers (node/api).
	FormatCallV1   Format = 0x51
	FormatAnswerV1 Format = 0x52

	// Node-to-node requests for mini-blocks (range sync).
	FormatRangeRequestV1  Format = 0x61
	FormatRangeResponseV1 Format = 0x62

	// A node's refusal to serve a direct request now (refusal.go): any
	// request kind, e.g. beyond the requester's rate limit. (0x7_ is the
	// ledger's disk records.)
	FormatRefusalV1 Format = 0xD1

	// What the sequencer publishes for each sealed block (proof.go).
	FormatBlockBundleV1 Format = 0x81

	// Provers' statements and how nodes ask for them (proof.go).
	FormatAttestationV1 Format = 0x91
	FormatFaultReportV1 Format = 0x92 // no evidence: refused (ErrNoEvidence)
	FormatFaultReportV2 Format = 0x95 // with its evidence
	FormatAttRequestV1  Format = 0x93
	FormatAttResponseV1 Format = 0x94

	// Talking to the DA store (da.go), and the DA's own disk records.
	FormatDAPutV1              Format = 0xA1
	FormatDAAckV1              Format = 0xA2
	FormatBlockRangeRequestV1  Format = 0xA3
	FormatBlockRangeResponseV1 Format = 0xA4
	FormatDAGetV1              Format = 0xA5
	FormatDABlobsV1            Format = 0xA6
	FormatDAHeadV1             Format = 0xA7 // node/da: what the store holds contiguously
	FormatDARefV1              Format = 0xA8 // node/da: an index entry naming a stored blob

	// A sequencer group (node/sequencer over node/raftlog): raft's
	// messages between members, and the data of a raft entry (a
	// mini-block and its block's witness).
	FormatRaftV1         Format = 0xE1
	FormatGroupEntryV1   Format = 0xE2
	FormatGroupAppliedV1 Format = 0xE3 // node/sequencer: the raft index its ledger's head came from
)

func (f Format) String() string {
	switch f {
	case FormatDiffV1:
		return "diff/v1"
	case FormatMiniBlockV1:
		return "mini-block/v1"
	case FormatBlockV1:
		return "block/v1"
	case FormatCallV1:
		return "call/v1"
	case FormatAnswerV1:
		return "answer/v1"
	case FormatRangeRequestV1:
		return "range-request/v1"
	case FormatRangeResponseV1:
		return "range-response/v1"
	case FormatRefusalV1:
		return "refusal/v1"
	case FormatBlockBundleV1:
		return "block-bundle/v1"
	case FormatAttestationV1:
		return "attestation/v1"
	case FormatFaultReportV1:
		return "fault-report/v1"
	case FormatFaultReportV2:
		return "fault-report/v2"
	case FormatAttRequestV1:
		return "att-request/v1"
	case FormatAttResponseV1:
		return "att-response/v1"
	case FormatDAPutV1:
		return "da-put/v1"
	case FormatDAAckV1:
		return "da-ack/v1"
	case FormatBlockRangeRequestV1:
		return "block-range-request/v1"
	case FormatBlockRangeResponseV1:
		return "block-range-response/v1"
	case FormatDAGetV1:
		return "da-get/v1"
	case FormatDABlobsV1:
		return "da-blobs/v1"
	case FormatDAHeadV1:
		return "da-head/v1"
	case FormatDARefV1:
		return "da-ref/v1"
	case FormatRaftV1:
		return "raft/v1"
	case FormatGroupEntryV1:
		return "group-entry/v1"
	case FormatGroupAppliedV1:
		return "group-applied/v1"
	}
	return fmt.Sprintf("unknown format 0x%02x", byte(f))
}

// MaxRecordSize bounds every framed record this package decodes. A mini-block
// of 10 ms at 100k tx/s is well under it.
const MaxRecordSize = 64 << 20

// Errors returned by Unframe. Decoders wrap them, so errors.Is works.
var (
	ErrTruncated      = errors.New("record truncated")
	ErrTooLarge       = errors.New("record too large")
	ErrUnknownFormat  = errors.New("unknown record format")
	ErrChecksum       = errors.New("record checksum mismatch")
	ErrNonCanonical   = errors.New("non-canonical encoding")
	ErrTrailingBytes  = errors.New("trailing bytes after record")
	ErrBodyMismatch   = errors.New("body does not match header commitment")
	ErrInvalidSigner  = errors.New("invalid mini-block signature")
	ErrInvalidPayload = errors.New("invalid record payload")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Frame wraps payload as format ‖ payload ‖ crc32c(format ‖ payload).
func Frame(f Format, payload []byte) []byte {
	out := make([]byte, 0, len(payload)+5)
	out = append(out, byte(f))
	out = append(out, payload...)
	return binary.BigEndian.AppendUint32(out, crc32.Checksum(out, castagnoli))
}

// Unframe checks the frame of rec and returns its payload, which aliases rec.
// want is the format the caller expects.
func Unframe(want Format, rec []byte) ([]byte, error) {
	if len(rec) > MaxRecordSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(rec), MaxRecordSize)
	}
	if len(rec) < 5 {
		return nil, fmt.Errorf("%w: %d bytes", ErrTruncated, len(rec))
	}
	if got := Format(rec[0]); got != want {
		return nil, fmt.Errorf("%w: got %v, want %v", ErrUnknownFormat, got, want)
	}
	body, sum := rec[:len(rec)-4], binary.BigEndian.Uint32(rec[len(rec)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, fmt.Errorf("%w (%v, %d bytes)", ErrChecksum, want, len(rec))
	}
	return body[1:], nil
}

// FrameRLP frames the RLP encoding of v, a record of fixed shape (one that
// always encodes: encoding it can only fail on a programming error).
func FrameRLP(f Format, v any) []byte {
	b, err := rlp.EncodeToBytes(v)
	if err != nil {
		panic(fmt.Sprintf("chain: %v record does not encode: %v", f, err))
	}
	return Frame(f, b)
}

// UnframeRLP checks rec's frame and decodes its RLP payload into v.
func UnframeRLP(f Format, rec []byte, v any) error {
	payload, err := Unframe(f, rec)
	if err != nil {
		return err
	}
	return rlp.DecodeBytes(payload, v)
}
