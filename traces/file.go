package traces

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Write writes t as: magic, version byte, then zstd of the payload followed
// by the payload's SHA-256. The payload is the header, the event log, the
// violations and the fingerprint, each length-prefixed.
func Write(w io.Writer, t *Trace) error {
	var p []byte
	p = appendBytes(p, []byte(t.Profile))
	p = binary.AppendUvarint(p, t.Seed)
	p = appendBytes(p, []byte(t.Config))
	p = appendBytes(p, []byte(t.BuildID))
	plan := t.Plan
	if plan == nil {
		plan = &Plan{Seed: t.Seed, Profile: t.Profile}
	}
	p = appendPlan(p, plan)
	p = binary.AppendUvarint(p, uint64(len(t.Events)))
	for i := range t.Events {
		p = appendEvent(p, &t.Events[i])
	}
	p = binary.AppendUvarint(p, uint64(len(t.Violations)))
	for _, v := range t.Violations {
		p = appendBytes(p, []byte(v.Property))
		p = binary.AppendVarint(p, int64(v.At))
		p = appendBytes(p, []byte(v.Detail))
	}
	phases := make([]string, 0, len(t.Phases))
	for name := range t.Phases { // sorted below
		phases = append(phases, name)
	}
	slices.Sort(phases)
	p = binary.AppendUvarint(p, uint64(len(phases)))
	for _, name := range phases {
		p = appendBytes(p, []byte(name))
		p = binary.AppendVarint(p, int64(t.Phases[name]))
	}
	p = append(p, t.Fingerprint[:]...)
	sum := sha256.Sum256(p)
	p = append(p, sum[:]...)

	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBetterCompression))
	if err != nil {
		return err
	}
	out := append([]byte(magic), Version)
	out = enc.EncodeAll(p, out)
	_, err = w.Write(out)
	return err
}

// Read reads a trace written by Write. A file of another format version is
// refused with ErrVersion, naming both versions.
func Read(r io.Reader) (*Trace, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxTraceBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) > maxTraceBytes {
		return nil, fmt.Errorf("%w: over %d bytes", ErrTraceTooLarge, maxTraceBytes)
	}
	if len(raw) < len(magic)+1 || !bytes.Equal(raw[:len(magic)], []byte(magic)) {
		return nil, ErrNotATrace
	}
	if v := raw[len(magic)]; v != Version {
		return nil, fmt.Errorf("%w: the file is trace format version %d, this build reads version %d (traces/FORMAT.md says what changed); replay it with the build that wrote it (its build id is inside), or run its seed again with this build", ErrVersion, v, Version)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(maxDecodedPayload))
	if err != nil {
		return nil, err
	}
	defer dec.Close()
	p, err := dec.DecodeAll(raw[len(magic)+1:], nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptTrace, err)
	}
	if len(p) < sha256.Size {
		return nil, fmt.Errorf("%w: payload too short", ErrCorruptTrace)
	}
	body, sum := p[:len(p)-sha256.Size], p[len(p)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrCorruptTrace)
	}
	d := &decoder{b: body}
	t := &Trace{Phases: map[string]time.Duration{}}
	t.Profile = string(d.bytes())
	t.Seed = d.uvarint()
	t.Config = string(d.bytes())
	t.BuildID = string(d.bytes())
	t.Plan = d.plan()
	n := d.count()
	t.Events = make([]Event, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		var e Event
		e.At = time.Duration(d.varint())
		e.Kind = Kind(d.byte())
		e.Node = string(d.bytes())
		e.Peer = string(d.bytes())
		e.Hash = d.uvarint()
		e.Size = int(d.uvarint())
		e.Data = d.bytes()
		t.Events = append(t.Events, e)
	}
	for i, n := uint64(0), d.count(); i < n && d.err == nil; i++ {
		t.Violations = append(t.Violations, Violation{Property: string(d.bytes()), At: time.Duration(d.varint()), Detail: string(d.bytes())})
	}
	for i, n := uint64(0), d.count(); i < n && d.err == nil; i++ {
		name := string(d.bytes())
		t.Phases[name] = time.Duration(d.varint())
	}
	copy(t.Fingerprint[:], d.take(32))
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorruptTrace, d.err)
	}
	if FingerprintOf(t.Events) != t.Fingerprint {
		return nil, fmt.Errorf("%w: the event log does not hash to the recorded fingerprint", ErrCorruptTrace)
	}
	return t, nil
}

// decoder reads the payload; the first error sticks and later reads return
// zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("truncated %s", what)
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("integer")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("integer")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	b := d.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.fail("field")
		return nil
	}
	out := d.b[:n:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("bytes")
		return nil
	}
	b := d.take(int(n))
	if len(b) == 0 {
		return nil
	}
	return bytes.Clone(b)
}

// count reads a list length, bounded by what is left to read.
func (d *decoder) count() uint64 {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("list")
		return 0
	}
	return n
}
