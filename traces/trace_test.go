package traces

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func sample() *Trace {
	r := NewRecorder(true)
	r.Add(Event{At: time.Millisecond, Kind: KindDeliver, Node: "n1", Peer: "n2", Hash: 42, Size: 17})
	r.Add(Event{At: 2 * time.Millisecond, Kind: KindCrash, Node: "n2", Data: []byte("lost 1 unsynced batches")})
	r.Add(Event{At: 3 * time.Millisecond, Kind: KindCall, Node: "client1", Peer: "n1", Hash: 1, Data: []byte{0, 1, 2}})
	return &Trace{
		Header:      Header{Seed: 7, Profile: "register", Config: "seed 7\n", BuildID: "abc+dirty"},
		Events:      r.Events(),
		Violations:  []Violation{{Property: "P1 linearizability", At: time.Second, Detail: "no linearization"}},
		Fingerprint: r.Fingerprint(),
		Phases:      map[string]time.Duration{"safety": 0, "liveness": time.Second},
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	want := sample()
	var buf bytes.Buffer
	if err := Write(&buf, want); err != nil {
		t.Fatal(err)
	}
	got, err := Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if got.Header != want.Header || got.Fingerprint != want.Fingerprint || len(got.Violations) != 1 || got.Violations[0] != want.Violations[0] ||
		got.Phases["liveness"] != time.Second || Compare(want.Events, got.Events) != nil {
		t.Fatalf("round trip changed the trace:\n%+v\n%+v", got, want)
	}
}

func TestReadRefusesOtherVersionsAndCorruption(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	old := bytes.Clone(good)
	old[len(magic)] = Version + 1
	if _, err := Read(bytes.NewReader(old)); !errors.Is(err, ErrVersion) {
		t.Fatalf("another version: %v", err)
	}
	if _, err := Read(bytes.NewReader([]byte("hello"))); !errors.Is(err, ErrNotATrace) {
		t.Fatalf("not a trace: %v", err)
	}
	for i := len(magic) + 1; i < len(good); i += 7 {
		bad := bytes.Clone(good)
		bad[i] ^= 0x55
		if _, err := Read(bytes.NewReader(bad)); err == nil {
			t.Fatalf("a flipped byte at %d went unnoticed", i)
		}
	}
	// A trace whose events were doctored no longer matches its fingerprint.
	tr := sample()
	tr.Events[1].Node = "n3"
	buf.Reset()
	if err := Write(&buf, tr); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(&buf); !errors.Is(err, ErrCorruptTrace) {
		t.Fatalf("doctored events: %v", err)
	}
}

func TestCompareFindsTheFirstDifference(t *testing.T) {
	a := sample().Events
	b := sample().Events
	if d := Compare(a, b); d != nil {
		t.Fatalf("equal logs differ: %v", d)
	}
	b[2].Data = []byte{9}
	if d := Compare(a, b); d == nil || d.Index != 2 {
		t.Fatalf("got %v", d)
	}
	if d := Compare(a, a[:2]); d == nil || d.Index != 2 || d.Replayed != nil {
		t.Fatalf("shorter log: %v", d)
	}
	if FingerprintOf(a) == FingerprintOf(b) {
		t.Fatal("different logs, same fingerprint")
	}
}

func FuzzRead(f *testing.F) {
	var buf bytes.Buffer
	if err := Write(&buf, sample()); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = Read(bytes.NewReader(b)) })
}
