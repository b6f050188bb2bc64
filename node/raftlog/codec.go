package raftlog

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"slices"

	"github.com/meganode/meganode/node/chain"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// The wire format of a message between members is a chain frame of
// format raft/v1 (chain.FormatRaftV1), so that a role tells it from its
// other messages by its first byte:
//
//	format (1 byte, 0xE1) | raftpb.Message, protobuf | crc32c of what precedes (4 bytes, big endian)
//
// The disk format of a record, under key prefix + kind (+ index):
//
//	version (1 byte, 1) | body | crc32c of key, version and body (4 bytes, big endian)
//
// The key is in the checksum, so a record read under another key fails it.
// Bodies (integers big endian):
//
//	entry   prefix "e" index(8):  term(8) | type(1) | data
//	hard    prefix "h":           term(8) | vote(8) | commit(8)
//	snap    prefix "s":           index(8) | term(8)   (the compaction point)
//	guard   prefix "g":           counter(8)           (written first in every batch; never read)
const (
	wireVersion   = byte(chain.FormatRaftV1)
	recordVersion = 1
	crcLen        = 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var marshal = proto.MarshalOptions{Deterministic: true}

// encodeMessage returns m in the wire format.
func encodeMessage(m *pb.Message) []byte {
	b := make([]byte, 1, 1+proto.Size(m)+crcLen)
	b[0] = wireVersion
	b, err := marshal.MarshalAppend(b, m)
	if err != nil {
		// raft built m: it always marshals.
		panic(fmt.Sprintf("raftlog: marshalling %s: %v", m.GetType(), err))
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// decodeMessage checks b's framing (length, version, checksum) and
// unmarshals the message. It checks nothing of the message itself.
func decodeMessage(b []byte, maxLen int) (*pb.Message, error) {
	switch {
	case len(b) < 1+crcLen:
		return nil, fmt.Errorf("%w: %d bytes, too short", ErrBadMessage, len(b))
	case len(b) > maxLen:
		return nil, fmt.Errorf("%w: %d bytes, over the bound %d", ErrBadMessage, len(b), maxLen)
	case b[0] != wireVersion:
		return nil, fmt.Errorf("%w: version %d, want %d", ErrBadMessage, b[0], wireVersion)
	}
	body := b[:len(b)-crcLen]
	if got, want := binary.BigEndian.Uint32(b[len(body):]), crc32.Checksum(body, castagnoli); got != want {
		return nil, fmt.Errorf("%w: checksum %08x, want %08x", ErrBadMessage, got, want)
	}
	m := new(pb.Message)
	if err := proto.Unmarshal(body[1:], m); err != nil {
		return nil, fmt.Errorf("%w: decoding: %v", ErrBadMessage, err)
	}
	return m, nil
}

// fromNetwork are the message types a member accepts from a peer. Local
// messages, proposals (forwarding is off), read indexes and leadership
// transfers (not used) are refused.
var fromNetwork = map[pb.MessageType]bool{
	pb.MsgApp: true, pb.MsgAppResp: true,
	pb.MsgVote: true, pb.MsgVoteResp: true,
	pb.MsgPreVote: true, pb.MsgPreVoteResp: true,
	pb.MsgSnap: true, pb.MsgHeartbeat: true, pb.MsgHeartbeatResp: true,
}

// checkMessage checks what raft trusts a peer for and would panic on, or
// misbehave, if it were wrong: m's addressing, type, term, entries and
// snapshot. voters is the group's sorted raft ids.
func checkMessage(m *pb.Message, self, from uint64, voters []uint64, maxEntry int) error {
	t := m.GetType()
	switch {
	case m.GetTo() != self:
		return fmt.Errorf("%w: %s for raft id %d, this member is %d", ErrBadMessage, t, m.GetTo(), self)
	case m.GetFrom() != from:
		return fmt.Errorf("%w: %s from raft id %d, the sender's id is %d", ErrBadMessage, t, m.GetFrom(), from)
	case !fromNetwork[t]:
		return fmt.Errorf("%w: type %s is not accepted from a peer", ErrBadMessage, t)
	case m.GetTerm() == 0:
		return fmt.Errorf("%w: %s with term 0", ErrBadMessage, t)
	case len(m.GetContext()) > 0:
		// Contexts carry read-index requests and leadership transfers
		// (a vote with one ignores the leader's lease): neither is used.
		return fmt.Errorf("%w: %s with a context", ErrBadMessage, t)
	case len(m.GetResponses()) > 0:
		return fmt.Errorf("%w: %s with %d responses", ErrBadMessage, t, len(m.GetResponses()))
	case len(m.GetEntries()) > 0 && t != pb.MsgApp:
		return fmt.Errorf("%w: %s with %d entries", ErrBadMessage, t, len(m.GetEntries()))
	}
	if ents := m.GetEntries(); len(ents) > 0 {
		if m.GetIndex() > math.MaxUint64/2 || m.GetLogTerm() > m.GetTerm() {
			return fmt.Errorf("%w: %s at index %d, log term %d, term %d", ErrBadMessage, t, m.GetIndex(), m.GetLogTerm(), m.GetTerm())
		}
		prev := m.GetLogTerm()
		for i, e := range ents {
			switch {
			case e.GetIndex() != m.GetIndex()+1+uint64(i):
				return fmt.Errorf("%w: %s entry %d has index %d, want %d", ErrBadMessage, t, i, e.GetIndex(), m.GetIndex()+1+uint64(i))
			case e.GetTerm() < prev || e.GetTerm() > m.GetTerm():
				return fmt.Errorf("%w: %s entry %d has term %d, want %d…%d", ErrBadMessage, t, e.GetIndex(), e.GetTerm(), prev, m.GetTerm())
			case e.GetType() != pb.EntryNormal:
				return fmt.Errorf("%w: %s entry %d has type %s", ErrBadMessage, t, e.GetIndex(), e.GetType())
			case len(e.GetData()) > maxEntry:
				return fmt.Errorf("%w: %s entry %d has %d bytes, over %d", ErrBadMessage, t, e.GetIndex(), len(e.GetData()), maxEntry)
			}
			prev = e.GetTerm()
		}
	}
	snap := m.GetSnapshot()
	if t != pb.MsgSnap {
		if snap != nil && (len(snap.GetData()) > 0 || !raft.IsEmptySnap(snap)) {
			return fmt.Errorf("%w: %s carries a snapshot", ErrBadMessage, t)
		}
		return nil
	}
	md := snap.GetMetadata()
	cs := md.GetConfState()
	switch {
	case md.GetIndex() == 0 || md.GetIndex() > math.MaxUint64/2 || md.GetTerm() == 0 || md.GetTerm() > m.GetTerm():
		return fmt.Errorf("%w: %s at index %d, term %d, message term %d", ErrBadMessage, t, md.GetIndex(), md.GetTerm(), m.GetTerm())
	case len(snap.GetData()) > 0:
		return fmt.Errorf("%w: %s with %d bytes of data: snapshots carry none", ErrBadMessage, t, len(snap.GetData()))
	case !slices.Equal(cs.GetVoters(), voters) || len(cs.GetLearners()) > 0 || len(cs.GetVotersOutgoing()) > 0 ||
		len(cs.GetLearnersNext()) > 0 || cs.GetAutoLeave():
		return fmt.Errorf("%w: %s with configuration voters %v learners %v, want voters %v", ErrBadMessage, t, cs.GetVoters(), cs.GetLearners(), voters)
	}
	return nil
}

// Record keys.
func entryKey(prefix []byte, index uint64) []byte {
	k := append(slices.Clip(prefix), 'e')
	return binary.BigEndian.AppendUint64(k, index)
}

func entryPrefix(prefix []byte) []byte { return append(slices.Clip(prefix), 'e') }
func hardKey(prefix []byte) []byte     { return append(slices.Clip(prefix), 'h') }
func snapKey(prefix []byte) []byte     { return append(slices.Clip(prefix), 's') }
func guardKey(prefix []byte) []byte    { return append(slices.Clip(prefix), 'g') }

// sealRecord frames body as the record stored under key.
func sealRecord(key, body []byte) []byte {
	b := make([]byte, 0, 1+len(body)+crcLen)
	b = append(b, recordVersion)
	b = append(b, body...)
	crc := crc32.Update(crc32.Checksum(key, castagnoli), castagnoli, b)
	return binary.BigEndian.AppendUint32(b, crc)
}

// openRecord checks the record stored under key and returns its body,
// which aliases v.
func openRecord(key, v []byte) ([]byte, error) {
	switch {
	case len(v) < 1+crcLen:
		return nil, fmt.Errorf("%w: %q: %d bytes, too short", ErrCorrupt, key, len(v))
	case v[0] != recordVersion:
		return nil, fmt.Errorf("%w: %q: version %d, want %d", ErrCorrupt, key, v[0], recordVersion)
	}
	b := v[:len(v)-crcLen]
	if got, want := binary.BigEndian.Uint32(v[len(b):]), crc32.Update(crc32.Checksum(key, castagnoli), castagnoli, b); got != want {
		return nil, fmt.Errorf("%w: %q: checksum %08x, want %08x", ErrCorrupt, key, got, want)
	}
	return b[1:], nil
}

func encodeEntry(key []byte, e *pb.Entry) []byte {
	body := make([]byte, 0, 9+len(e.GetData()))
	body = binary.BigEndian.AppendUint64(body, e.GetTerm())
	body = append(body, byte(e.GetType()))
	body = append(body, e.GetData()...)
	return sealRecord(key, body)
}

// decodeEntry decodes the entry record v stored under key, for index.
func decodeEntry(key, v []byte, index uint64) (*pb.Entry, error) {
	body, err := openRecord(key, v)
	if err != nil {
		return nil, err
	}
	if len(body) < 9 {
		return nil, fmt.Errorf("%w: %q: entry body of %d bytes", ErrCorrupt, key, len(body))
	}
	typ := pb.EntryType(body[8])
	if _, ok := pb.EntryType_name[int32(typ)]; !ok {
		return nil, fmt.Errorf("%w: %q: entry type %d", ErrCorrupt, key, body[8])
	}
	return &pb.Entry{
		Index: new(index),
		Term:  new(binary.BigEndian.Uint64(body)),
		Type:  typ.Enum(),
		Data:  slices.Clone(body[9:]),
	}, nil
}

func encodeHard(key []byte, hs *pb.HardState) []byte {
	body := make([]byte, 0, 24)
	body = binary.BigEndian.AppendUint64(body, hs.GetTerm())
	body = binary.BigEndian.AppendUint64(body, hs.GetVote())
	body = binary.BigEndian.AppendUint64(body, hs.GetCommit())
	return sealRecord(key, body)
}

func decodeHard(key, v []byte) (*pb.HardState, error) {
	body, err := openRecord(key, v)
	if err != nil {
		return nil, err
	}
	if len(body) != 24 {
		return nil, fmt.Errorf("%w: %q: hard state body of %d bytes", ErrCorrupt, key, len(body))
	}
	return &pb.HardState{
		Term:   new(binary.BigEndian.Uint64(body)),
		Vote:   new(binary.BigEndian.Uint64(body[8:])),
		Commit: new(binary.BigEndian.Uint64(body[16:])),
	}, nil
}

func encodeSnap(key []byte, index, term uint64) []byte {
	body := binary.BigEndian.AppendUint64(make([]byte, 0, 16), index)
	return sealRecord(key, binary.BigEndian.AppendUint64(body, term))
}

func decodeSnap(key, v []byte) (index, term uint64, err error) {
	body, err := openRecord(key, v)
	if err != nil {
		return 0, 0, err
	}
	if len(body) != 16 {
		return 0, 0, fmt.Errorf("%w: %q: snapshot body of %d bytes", ErrCorrupt, key, len(body))
	}
	return binary.BigEndian.Uint64(body), binary.BigEndian.Uint64(body[8:]), nil
}
