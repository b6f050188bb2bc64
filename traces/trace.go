package traces

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"
)

// Version is the trace format this build reads and writes.
const Version = 3

// magic starts every trace file.
const magic = "MEGATRACE"

// Kind is what an event records.
type Kind uint8

// The event kinds.
const (
	KindDeliver   Kind = iota + 1 // a message reached a node: Peer sent it, Hash/Size describe it
	KindDrop                      // the network lost a message (Data says why)
	KindTimer                     // a timer fired: Hash is its TimerID
	KindCrash                     // a node crashed: Data says what its disk lost
	KindRestart                   // a crashed node started again
	KindStartFail                 // a restart failed: Data is the error
	KindPause                     // a node stopped being scheduled
	KindResume                    // … and was scheduled again
	KindClock                     // a node's clock jumped: Hash is the new skew in ns (two's complement)
	KindPartition                 // links were cut: Data lists them
	KindHeal                      // all links were restored
	KindClog                      // a link was clogged until a time: Hash is the end in ns
	KindDiskFault                 // a disk injected a fault: Data names it
	KindCall                      // a client called a node: Data is the call
	KindReturn                    // the call returned: Data is the answer
	KindTimeout                   // the call timed out at the client
	KindPhase                     // the run entered a phase: Data names it
	KindNote                      // anything else a scenario wants in the log
	KindSlow                      // a node became slow: its messages and timers come late by Hash ns, until Size ms from now
	KindSync                      // a node's sync became durable: Hash is its id
	KindSynced                    // the node heard that its sync completed: Hash is its id
	KindSlowDisk                  // a node's disk became slow: its syncs take Hash ns longer, for Size ms
	kindEnd
)

var kindNames = [...]string{
	KindDeliver: "deliver", KindDrop: "drop", KindTimer: "timer", KindCrash: "crash", KindRestart: "restart",
	KindStartFail: "start-fail", KindPause: "pause", KindResume: "resume", KindClock: "clock",
	KindPartition: "partition", KindHeal: "heal", KindClog: "clog", KindDiskFault: "disk-fault",
	KindCall: "call", KindReturn: "return", KindTimeout: "timeout", KindPhase: "phase", KindNote: "note", KindSlow: "slow",
	KindSync: "sync", KindSynced: "synced", KindSlowDisk: "slow-disk",
}

func (k Kind) String() string {
	if k > 0 && k < kindEnd {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Event is one entry of the event log.
type Event struct {
	At   time.Duration // virtual time since the start of the run
	Kind Kind
	Node string // the node (or client) it happened at
	Peer string // the other side, where there is one
	Hash uint64 // kind-specific: message hash, timer id, clock skew, …
	Size int    // message size in bytes, where there is one
	Data []byte // kind-specific detail, small
}

func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%12.6fs %-10s %s", e.At.Seconds(), e.Kind, e.Node)
	if e.Peer != "" {
		fmt.Fprintf(&b, " ← %s", e.Peer)
	}
	if e.Size > 0 || e.Kind == KindDeliver {
		fmt.Fprintf(&b, " %dB #%016x", e.Size, e.Hash)
	} else if e.Hash != 0 {
		fmt.Fprintf(&b, " %d", e.Hash)
	}
	if len(e.Data) > 0 {
		fmt.Fprintf(&b, " %q", printable(e.Data))
	}
	return b.String()
}

func printable(b []byte) string {
	const max = 120
	s := string(b)
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// appendEvent is the canonical binary encoding of an event.
func appendEvent(buf []byte, e *Event) []byte {
	buf = binary.AppendVarint(buf, int64(e.At))
	buf = append(buf, byte(e.Kind))
	buf = appendBytes(buf, []byte(e.Node))
	buf = appendBytes(buf, []byte(e.Peer))
	buf = binary.AppendUvarint(buf, e.Hash)
	buf = binary.AppendUvarint(buf, uint64(e.Size))
	return appendBytes(buf, e.Data)
}

func appendBytes(buf, b []byte) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(b)))
	return append(buf, b...)
}

// Violation is a property a run broke.
type Violation struct {
	Property string        // e.g. "P1 linearizability"
	At       time.Duration // virtual time it was found (end of run for history checks)
	Detail   string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s at %.6fs: %s", v.Property, v.At.Seconds(), v.Detail)
}

// Header is what makes a run reproducible.
type Header struct {
	Seed    uint64
	Profile string
	Config  string // the configuration the seed derived, as the run printed it
	BuildID string // the git commit, with "+dirty" if the tree had changes
}

// Trace is a whole run.
type Trace struct {
	Header
	Plan        *Plan // what the run did; replay runs it
	Events      []Event
	Violations  []Violation
	Fingerprint [32]byte
	Phases      map[string]time.Duration // virtual time each phase began (informational)
}

// Recorder accumulates the event log and its fingerprint as a run goes.
type Recorder struct {
	keep   bool
	events []Event
	h      hash.Hash
	buf    []byte
	n      int
}

// NewRecorder returns a recorder; with keep false it only hashes, which is
// what a sweep needs for its passing seeds.
func NewRecorder(keep bool) *Recorder { return &Recorder{keep: keep, h: sha256.New()} }

// Add appends an event.
func (r *Recorder) Add(e Event) {
	r.buf = appendEvent(r.buf[:0], &e)
	r.h.Write(r.buf)
	r.n++
	if r.keep {
		if e.Data != nil {
			e.Data = bytes.Clone(e.Data)
		}
		r.events = append(r.events, e)
	}
}

// Len is the number of events so far.
func (r *Recorder) Len() int { return r.n }

// Events returns the kept events.
func (r *Recorder) Events() []Event { return r.events }

// Fingerprint is the SHA-256 of the event log so far.
func (r *Recorder) Fingerprint() (f [32]byte) {
	copy(f[:], r.h.Sum(nil))
	return f
}

// FingerprintOf recomputes the fingerprint of an event log.
func FingerprintOf(events []Event) [32]byte {
	r := NewRecorder(false)
	for _, e := range events {
		r.Add(e)
	}
	return r.Fingerprint()
}

// Divergence is the first place two event logs differ.
type Divergence struct {
	Index    int
	Recorded *Event // nil if the recorded log ended first
	Replayed *Event // nil if the replayed log ended first
}

func (d *Divergence) String() string {
	show := func(e *Event) string {
		if e == nil {
			return "(end of log)"
		}
		return e.String()
	}
	return fmt.Sprintf("event %d differs:\n  recorded: %s\n  replayed: %s", d.Index, show(d.Recorded), show(d.Replayed))
}

// Compare returns the first divergence between two logs, or nil.
func Compare(recorded, replayed []Event) *Divergence {
	var a, b []byte
	for i := 0; i < len(recorded) || i < len(replayed); i++ {
		switch {
		case i == len(recorded):
			return &Divergence{Index: i, Replayed: &replayed[i]}
		case i == len(replayed):
			return &Divergence{Index: i, Recorded: &recorded[i]}
		}
		a, b = appendEvent(a[:0], &recorded[i]), appendEvent(b[:0], &replayed[i])
		if !bytes.Equal(a, b) {
			return &Divergence{Index: i, Recorded: &recorded[i], Replayed: &replayed[i]}
		}
	}
	return nil
}

// Errors from Read.
var (
	ErrNotATrace      = errors.New("not a meganode trace file")
	ErrVersion        = errors.New("trace format version not supported")
	ErrCorruptTrace   = errors.New("trace file corrupt")
	ErrTraceTooLarge  = errors.New("trace file too large")
	maxTraceBytes     = int64(1 << 30)
	maxDecodedPayload = uint64(4 << 30)
)
