package raftlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/memdisk"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// sealWire frames payload as a message, whatever it is.
func sealWire(payload []byte) []byte {
	b := append([]byte{wireVersion}, payload...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func rawProto(t testing.TB, m *pb.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBadMessages(t *testing.T) {
	c := newCluster(t, 3, 11, nil)
	l, _ := c.waitLeader(3 * electionTicks)
	f := c.followers(l)[0]
	term := l.log.Status().Term
	to := f.cfg.ID
	hb := func(mod func(m *pb.Message)) []byte {
		m := &pb.Message{Type: pb.MsgHeartbeat.Enum(), To: new(to), From: new(l.cfg.ID), Term: new(term)}
		if mod != nil {
			mod(m)
		}
		return encodeMessage(m)
	}
	good := hb(nil)
	wrongVersion := slices.Clone(good)
	wrongVersion[0] = 2
	badSum := slices.Clone(good)
	badSum[len(badSum)-1] ^= 1
	ents := func(idx ...uint64) []*pb.Entry {
		var out []*pb.Entry
		for _, i := range idx {
			out = append(out, &pb.Entry{Index: new(i), Term: new(term), Data: []byte("d")})
		}
		return out
	}
	others := slices.DeleteFunc(slices.Clone(c.ms), func(m *member) bool { return m == l || m == f })

	cases := []struct {
		name string
		from node.NodeID
		msg  []byte
		want string
	}{
		{"nil", l.env.id, nil, "too short"},
		{"short", l.env.id, []byte{1, 2, 3}, "too short"},
		{"garbage", l.env.id, []byte("not a raft message at all"), "version"},
		{"wrong version", l.env.id, wrongVersion, "version 2"},
		{"bad checksum", l.env.id, badSum, "checksum"},
		{"too large", l.env.id, make([]byte, f.log.maxMsg+1), "over the bound"},
		{"not protobuf", l.env.id, sealWire([]byte{0xff, 0xff, 0xff}), "decoding"},
		{"for another member", l.env.id, hb(func(m *pb.Message) { m.To = new(uint64(9)) }), "for raft id 9"},
		{"from an unknown node", "n9", good, "not a member"},
		{"from a node that is not its id", others[0].env.id, good, "the sender's id"},
		{"a proposal", l.env.id, hb(func(m *pb.Message) { m.Type = pb.MsgProp.Enum() }), "not accepted"},
		{"a local message", l.env.id, hb(func(m *pb.Message) { m.Type = pb.MsgHup.Enum() }), "not accepted"},
		{"a transfer", l.env.id, hb(func(m *pb.Message) { m.Type = pb.MsgTimeoutNow.Enum() }), "not accepted"},
		{"a transfer's vote", l.env.id, hb(func(m *pb.Message) { m.Type, m.Context = pb.MsgVote.Enum(), []byte("CampaignTransfer") }), "context"},
		{"term 0", l.env.id, hb(func(m *pb.Message) { m.Term = nil }), "term 0"},
		{"entries in a heartbeat", l.env.id, hb(func(m *pb.Message) { m.Entries = ents(1) }), "entries"},
		{"responses", l.env.id, hb(func(m *pb.Message) { m.Responses = []*pb.Message{{}} }), "responses"},
		{"entries out of order", l.env.id, hb(func(m *pb.Message) {
			m.Type, m.Index, m.Entries = pb.MsgApp.Enum(), new(uint64(1)), ents(2, 4)
		}), "index 4, want 3"},
		{"a configuration change", l.env.id, hb(func(m *pb.Message) {
			m.Type, m.Index, m.Entries = pb.MsgApp.Enum(), new(uint64(1)), ents(2)
			m.Entries[0].Type = pb.EntryConfChange.Enum()
		}), "EntryConfChange"},
		{"an entry from a later term", l.env.id, hb(func(m *pb.Message) {
			m.Type, m.Index, m.Entries = pb.MsgApp.Enum(), new(uint64(1)), ents(2)
			m.Entries[0].Term = new(term + 1)
		}), "term"},
		{"a snapshot with data", l.env.id, hb(func(m *pb.Message) {
			m.Type = pb.MsgSnap.Enum()
			m.Snapshot = &pb.Snapshot{Data: []byte("state"), Metadata: &pb.SnapshotMetadata{Index: new(uint64(5)), Term: new(term), ConfState: &pb.ConfState{Voters: []uint64{1, 2, 3}}}}
		}), "data"},
		{"a snapshot of another group", l.env.id, hb(func(m *pb.Message) {
			m.Type = pb.MsgSnap.Enum()
			m.Snapshot = &pb.Snapshot{Metadata: &pb.SnapshotMetadata{Index: new(uint64(5)), Term: new(term), ConfState: &pb.ConfState{Voters: []uint64{1, 2, 4}}}}
		}), "configuration"},
		{"a snapshot in a heartbeat", l.env.id, hb(func(m *pb.Message) {
			m.Snapshot = &pb.Snapshot{Metadata: &pb.SnapshotMetadata{Index: new(uint64(5))}}
		}), "carries a snapshot"},
	}
	for _, tc := range cases {
		err := f.log.Step(tc.from, tc.msg)
		if !errors.Is(err, ErrBadMessage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrBadMessage saying %q", tc.name, err, tc.want)
		}
	}
	if err := f.log.Step(l.env.id, good); err != nil {
		t.Fatalf("a good heartbeat: %v", err)
	}
	// The group still works.
	c.propose(l, "still")
	c.settle()
	c.tick(2)
	for _, m := range c.ms {
		if !slices.Contains(m.data(), "still") {
			t.Errorf("%s did not commit after the bad input", m.env.id)
		}
	}
}

// A message that passes the checks but breaks raft (a commit index past
// the follower's log, which no leader sends) stops the Log with an error,
// not a panic; reopened from disk, the member catches up.
func TestRaftBreaksOnAMessage(t *testing.T) {
	c := newCluster(t, 3, 12, nil)
	l, _ := c.waitLeader(3 * electionTicks)
	c.propose(l, "a")
	c.settle()
	c.tick(2)
	f := c.followers(l)[0]
	bad := encodeMessage(&pb.Message{Type: pb.MsgHeartbeat.Enum(), To: new(f.cfg.ID), From: new(l.cfg.ID),
		Term: new(l.log.Status().Term), Commit: new(uint64(1000))})
	err := f.log.Step(l.env.id, bad)
	if !errors.Is(err, ErrFailed) || !errors.Is(f.log.Err(), ErrFailed) {
		t.Fatalf("a heartbeat committing past the log: %v", err)
	}
	if err := f.log.Propose([]byte("x")); !errors.Is(err, ErrFailed) {
		t.Errorf("Propose on a failed log: %v", err)
	}
	applied := f.got[len(f.got)-1].Index
	f.close()
	f.open(applied)
	c.propose(l, "b")
	c.settle()
	c.tick(2)
	if got := f.data(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("after reopening, %s committed %q", f.env.id, got)
	}
}

func TestConfig(t *testing.T) {
	peers := []Peer{{1, "n1"}, {2, "n2"}, {3, "n3"}}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"even", Config{ID: 1, Peers: peers[:2]}, "odd"},
		{"not a peer", Config{ID: 4, Peers: peers}, "not among"},
		{"another node", Config{ID: 2, Peers: peers}, "this node is"},
		{"duplicate", Config{ID: 1, Peers: []Peer{{1, "n1"}, {1, "n2"}, {3, "n3"}}}, "unique"},
		{"zero id", Config{ID: 1, Peers: []Peer{{1, "n1"}, {0, "n2"}, {3, "n3"}}}, "non-zero"},
		{"ticks", Config{ID: 1, Peers: peers, ElectionTicks: 2, HeartbeatTicks: 2}, "HeartbeatTicks"},
	} {
		if _, err := Open(soloEnv(memdisk.New()), tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
}

func soloEnv(d node.Disk) *tenv {
	return &tenv{c: &cluster{}, id: "n1", disk: d, rng: rand.New(rand.NewPCG(1, 1)), log: slog.New(slog.DiscardHandler)}
}

// writeLog writes a log's records by hand: the hard state and entries
// 1…len(terms), entry i at term terms[i-1].
func writeLog(t testing.TB, d node.Disk, term, vote, commit uint64, terms ...uint64) {
	t.Helper()
	p := DefaultPrefix
	b := d.NewBatch()
	b.Set(hardKey(p), encodeHard(hardKey(p), &pb.HardState{Term: new(term), Vote: new(vote), Commit: new(commit)}))
	for i, et := range terms {
		k := entryKey(p, uint64(i+1))
		b.Set(k, encodeEntry(k, &pb.Entry{Index: new(uint64(i + 1)), Term: new(et), Data: fmt.Appendf(nil, "e%d", i+1)}))
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
}

func set(t testing.TB, d node.Disk, key, value []byte) {
	t.Helper()
	b := d.NewBatch()
	b.Set(key, value)
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestRecovery(t *testing.T) {
	peers := []Peer{{1, "n1"}, {2, "n2"}, {3, "n3"}}
	p := DefaultPrefix
	cut := func(t *testing.T, d node.Disk, key []byte) {
		v, err := d.Get(key)
		if err != nil {
			t.Fatal(err)
		}
		set(t, d, key, v[:len(v)/2])
	}
	open := func(d node.Disk, applied uint64) (*Log, error) {
		return Open(soloEnv(d), Config{ID: 1, Peers: peers, Applied: applied})
	}

	t.Run("intact", func(t *testing.T) {
		d := memdisk.New()
		writeLog(t, d, 2, 1, 3, 1, 1, 2, 2, 2)
		l, err := open(d, 2)
		if err != nil {
			t.Fatal(err)
		}
		st := l.Status()
		if st.Term != 2 || st.Vote != 1 || st.Commit != 3 || st.First != 1 || st.Last != 5 {
			t.Errorf("status %+v", st)
		}
		if got := l.Committed(); len(got) != 1 || got[0].Index != 3 || string(got[0].Data) != "e3" {
			t.Errorf("committed past Applied 2: %+v", got)
		}
	})
	t.Run("torn tail is dropped", func(t *testing.T) {
		d := memdisk.New()
		writeLog(t, d, 2, 1, 3, 1, 1, 2, 2, 2)
		cut(t, d, entryKey(p, 4))
		l, err := open(d, 0)
		if err != nil {
			t.Fatal(err)
		}
		if st := l.Status(); st.Last != 3 {
			t.Errorf("last %d, want 3", st.Last)
		}
		for _, i := range []uint64{4, 5} {
			if _, err := d.Get(entryKey(p, i)); !errors.Is(err, node.ErrNotFound) {
				t.Errorf("entry %d left on disk: %v", i, err)
			}
		}
	})
	t.Run("a record under another key is dropped", func(t *testing.T) {
		d := memdisk.New()
		writeLog(t, d, 2, 1, 3, 1, 1, 2, 2, 2)
		v, _ := d.Get(entryKey(p, 2))
		set(t, d, entryKey(p, 5), v)
		l, err := open(d, 0)
		if err != nil {
			t.Fatal(err)
		}
		if st := l.Status(); st.Last != 4 {
			t.Errorf("last %d, want 4", st.Last)
		}
	})
	t.Run("a torn guard is ignored", func(t *testing.T) {
		d := memdisk.New()
		writeLog(t, d, 2, 1, 3, 1, 1, 2)
		set(t, d, guardKey(p), []byte{1})
		if _, err := open(d, 0); err != nil {
			t.Fatal(err)
		}
	})
	for _, tc := range []struct {
		name string
		key  []byte
		mod  func(v []byte) []byte
		want string
	}{
		{"committed entry torn", entryKey(p, 3), func(v []byte) []byte { return v[:len(v)/2] }, "checksum"},
		{"committed entry of another version", entryKey(p, 2), func(v []byte) []byte { v[0] = 9; return v }, "version 9"},
		{"hard state torn", hardKey(p), func(v []byte) []byte { return v[:3] }, "too short"},
		{"snapshot record corrupt", snapKey(p), func([]byte) []byte { return []byte{1, 2, 3, 4, 5, 6} }, "checksum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := memdisk.New()
			writeLog(t, d, 2, 1, 3, 1, 1, 2, 2)
			v, err := d.Get(tc.key)
			if errors.Is(err, node.ErrNotFound) {
				v = nil
			}
			set(t, d, tc.key, tc.mod(v))
			_, err = open(d, 0)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.key)) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%v, want ErrCorrupt naming %q and saying %q", err, tc.key, tc.want)
			}
		})
	}
	t.Run("commit past the log", func(t *testing.T) {
		d := memdisk.New()
		writeLog(t, d, 2, 1, 7, 1, 1, 2)
		if _, err := open(d, 0); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%v, want ErrCorrupt", err)
		}
	})
	t.Run("applied past the commit", func(t *testing.T) {
		d := memdisk.New()
		writeLog(t, d, 2, 1, 2, 1, 1, 2)
		if _, err := open(d, 3); err == nil || !strings.Contains(err.Error(), "beyond") {
			t.Errorf("%v, want an error", err)
		}
	})
	t.Run("read error", func(t *testing.T) {
		if _, err := open(readFailDisk{memdisk.New()}, 0); err == nil || !strings.Contains(err.Error(), "injected read error") {
			t.Errorf("%v, want the read error", err)
		}
	})
}

type readFailDisk struct{ node.Disk }

func (readFailDisk) Get([]byte) ([]byte, error) { return nil, errors.New("injected read error") }

// FuzzStep feeds Step arbitrary bytes, raw or framed with a good version
// and checksum (so that the protobuf decoder, the checks behind it and raft
// see them), from n2, on a follower with a log or on the leader (n1) of a
// running group; then drives that member a little. It must never panic.
// Run: go test -fuzz FuzzStep -fuzztime 20s ./node/raftlog/
func FuzzStep(f *testing.F) {
	hb := &pb.Message{Type: pb.MsgHeartbeat.Enum(), To: new(uint64(1)), From: new(uint64(2)), Term: new(uint64(3)), Commit: new(uint64(2))}
	app := &pb.Message{Type: pb.MsgApp.Enum(), To: new(uint64(1)), From: new(uint64(2)), Term: new(uint64(3)), Index: new(uint64(2)),
		LogTerm: new(uint64(1)), Commit: new(uint64(3)), Entries: []*pb.Entry{{Index: new(uint64(3)), Term: new(uint64(3)), Data: []byte("x")}}}
	vote := &pb.Message{Type: pb.MsgVote.Enum(), To: new(uint64(1)), From: new(uint64(2)), Term: new(uint64(3)), Index: new(uint64(3)), LogTerm: new(uint64(2))}
	snap := &pb.Message{Type: pb.MsgSnap.Enum(), To: new(uint64(1)), From: new(uint64(2)), Term: new(uint64(3)),
		Snapshot: &pb.Snapshot{Metadata: &pb.SnapshotMetadata{Index: new(uint64(9)), Term: new(uint64(3)), ConfState: &pb.ConfState{Voters: []uint64{1, 2, 3}}}}}
	resp := &pb.Message{Type: pb.MsgAppResp.Enum(), To: new(uint64(1)), From: new(uint64(2)), Term: new(uint64(2)), Index: new(uint64(7))}
	hbResp := &pb.Message{Type: pb.MsgHeartbeatResp.Enum(), To: new(uint64(1)), From: new(uint64(2)), Term: new(uint64(2))}
	for _, m := range []*pb.Message{hb, app, vote, snap, resp, hbResp} {
		f.Add(encodeMessage(m), false, false)
		f.Add(rawProto(f, m), true, false)
		f.Add(rawProto(f, m), true, true)
	}
	f.Add([]byte("garbage"), false, false)
	f.Add([]byte{}, true, false)
	peers := []Peer{{1, "n1"}, {2, "n2"}, {3, "n3"}}
	f.Fuzz(func(t *testing.T, data []byte, frame, leader bool) {
		var l *Log
		var env *tenv
		if leader {
			c := newCluster(t, 3, 1, nil)
			m, _ := c.waitLeader(3 * electionTicks)
			if m.cfg.ID != 1 {
				t.Fatalf("seed 1 elects %s, want n1", m.env.id)
			}
			l, env = m.log, m.env
		} else {
			d := memdisk.New()
			writeLog(t, d, 2, 2, 2, 1, 2, 2)
			env = soloEnv(d)
			var err error
			if l, err = Open(env, Config{ID: 1, Peers: peers, Applied: 1}); err != nil {
				t.Fatal(err)
			}
		}
		msg := data
		if frame {
			msg = sealWire(data)
		}
		if err := l.Step("n2", msg); err != nil {
			if !errors.Is(err, ErrBadMessage) && !errors.Is(err, ErrFailed) {
				t.Fatalf("an error that is neither ErrBadMessage nor ErrFailed: %v", err)
			}
			return
		}
		for range 3 {
			l.OnSynced(env.lastSync)
			l.Tick()
			l.Committed()
		}
		if err := l.Propose([]byte("p")); err != nil && !errors.Is(err, ErrNotLeader) && !errors.Is(err, ErrFailed) && !errors.Is(err, ErrBusy) {
			t.Fatalf("Propose: %v", err)
		}
		l.OnSynced(env.lastSync)
		_ = l.Applied(l.Status().Handed)
	})
}
