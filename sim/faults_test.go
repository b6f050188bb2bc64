package sim

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/traces"
)

// The probe: nodes that tell each other their counters every tick, keep
// their counter on disk (synced every other tick), and note down all they
// observe, so that a test can see each fault from inside a node.

const probeTick = 10 * time.Millisecond

type probeMsg struct {
	from   node.NodeID
	seq    uint64
	sentAt time.Duration
	at     time.Duration
}

type probeStart struct {
	at        time.Duration
	recovered uint64
	err       error
	corrupt   bool
}

type probeLog struct {
	msgs     map[node.NodeID][]probeMsg
	starts   map[node.NodeID][]probeStart
	ticks    map[node.NodeID][]time.Duration // virtual time of each tick
	clocks   map[node.NodeID][]time.Duration // Now() - Epoch - virtual time at each tick
	diskErrs map[node.NodeID][]error
	corrupt  map[node.NodeID]int
	written  map[node.NodeID][]uint64 // counters committed, in order
	synced   map[node.NodeID][]bool
}

func newProbeLog() *probeLog {
	return &probeLog{msgs: map[node.NodeID][]probeMsg{}, starts: map[node.NodeID][]probeStart{},
		ticks: map[node.NodeID][]time.Duration{}, clocks: map[node.NodeID][]time.Duration{},
		diskErrs: map[node.NodeID][]error{}, corrupt: map[node.NodeID]int{},
		written: map[node.NodeID][]uint64{}, synced: map[node.NodeID][]bool{}}
}

type probeNode struct {
	log   *probeLog
	w     *World
	env   node.Env
	pend  []probeSync // syncs asked for, oldest first
	peers []node.NodeID
	seq   uint64
}

func encodeCounter(v uint64) []byte {
	b := binary.BigEndian.AppendUint64(nil, v)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

func decodeCounter(b []byte) (uint64, bool) {
	if len(b) != 12 || binary.BigEndian.Uint32(b[8:]) != crc32.ChecksumIEEE(b[:8]) {
		return 0, false
	}
	return binary.BigEndian.Uint64(b), true
}

// probeSync is a sync the probe asked for: the write it makes durable.
type probeSync struct {
	id    node.SyncID
	write int // index in log.written
}

// OnSynced marks the writes the completed syncs made durable.
func (p *probeNode) OnSynced(id node.SyncID) {
	for len(p.pend) > 0 && p.pend[0].id <= id {
		p.log.synced[p.env.ID()][p.pend[0].write] = true
		p.pend = p.pend[1:]
	}
}

func (p *probeNode) Start(env node.Env) error {
	p.env = env
	id := env.ID()
	st := probeStart{at: p.w.now}
	v, err := env.Disk().Get([]byte("counter"))
	switch {
	case errors.Is(err, node.ErrNotFound):
	case err != nil:
		st.err = err
		p.log.starts[id] = append(p.log.starts[id], st)
		return err
	default:
		if c, ok := decodeCounter(v); ok {
			st.recovered, p.seq = c, c
		} else {
			st.corrupt = true
		}
	}
	p.log.starts[id] = append(p.log.starts[id], st)
	env.Subscribe("probe")
	env.After(probeTick, 1)
	return nil
}

func (p *probeNode) OnTimer(node.TimerID) {
	id := p.env.ID()
	p.seq++
	p.log.ticks[id] = append(p.log.ticks[id], p.w.now)
	p.log.clocks[id] = append(p.log.clocks[id], p.env.Now().Sub(Epoch)-p.w.now)
	b := p.env.Disk().NewBatch()
	b.Set([]byte("counter"), encodeCounter(p.seq))
	if err := b.Commit(); err != nil {
		p.log.diskErrs[id] = append(p.log.diskErrs[id], err)
	} else {
		p.log.written[id] = append(p.log.written[id], p.seq)
		p.log.synced[id] = append(p.log.synced[id], false)
		if p.seq%2 == 0 {
			p.pend = append(p.pend, probeSync{id: p.env.Sync(), write: len(p.log.written[id]) - 1})
		}
	}
	if v, err := p.env.Disk().Get([]byte("counter")); err != nil {
		p.log.diskErrs[id] = append(p.log.diskErrs[id], err)
	} else if _, ok := decodeCounter(v); !ok {
		p.log.corrupt[id]++
	}
	msg := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, p.seq), uint64(p.w.now))
	for _, peer := range p.peers {
		p.env.Send(peer, msg)
	}
	p.env.After(probeTick, 1)
}

func (p *probeNode) OnMessage(from node.NodeID, msg []byte) {
	id := p.env.ID()
	p.log.msgs[id] = append(p.log.msgs[id], probeMsg{from: from, seq: binary.BigEndian.Uint64(msg), sentAt: time.Duration(binary.BigEndian.Uint64(msg[8:])), at: p.w.now})
}

func (p *probeNode) OnRequest(r node.Request) { r.Respond(r.Body()) }

type probeScenario struct {
	log *probeLog
	w   **World
	ids []node.NodeID
}

func (s *probeScenario) Nodes() []NodeSpec {
	var specs []NodeSpec
	for _, id := range s.ids {
		var peers []node.NodeID
		for _, o := range s.ids {
			if o != id {
				peers = append(peers, o)
			}
		}
		specs = append(specs, NodeSpec{ID: id, New: func() node.Node { return &probeNode{log: s.log, w: *s.w, peers: peers} }})
	}
	return specs
}
func (s *probeScenario) NextCall(*Client) (node.NodeID, []byte, bool) { return "", nil, false }
func (s *probeScenario) Converged(*World) (bool, string)              { return true, "" }
func (s *probeScenario) Check(*World) []traces.Violation              { return nil }

// quiet ranges: three nodes, 1 s of safety, a fixed 1 ms latency, no faults.
func quiet() Ranges {
	return Ranges{
		Nodes: IntRange{3, 3}, Duration: DurRange{time.Second, time.Second}, Liveness: time.Second,
		Latency:   DurRange{2 * time.Millisecond, 2 * time.Millisecond}, // links draw from 1..4 ms
		ThinkTime: DurRange{time.Millisecond, time.Millisecond}, Timeout: time.Second,
		DownFor: DurRange{100 * time.Millisecond, 100 * time.Millisecond},
	}
}

// probe runs the probe under ranges r; setup may schedule faults first.
func probe(t *testing.T, r Ranges, setup func(w *World)) (*World, *probeLog) {
	t.Helper()
	log := newProbeLog()
	var wp *World
	p := &Profile{Name: "probe", Ranges: r, New: func(cfg *Config, _ *rand.Rand) Scenario {
		return &probeScenario{log: log, w: &wp, ids: []node.NodeID{"n1", "n2", "n3"}[:cfg.Nodes]}
	}}
	w := newWorld(p, DerivePlan(p, 1), Options{Keep: true})
	wp = w
	if setup != nil {
		setup(w)
	}
	w.run()
	return w, log
}

func events(w *World, k traces.Kind) []traces.Event {
	var out []traces.Event
	for _, e := range w.rec.Events() {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

func TestQuietWorldDeliversEverythingOnce(t *testing.T) {
	_, log := probe(t, quiet(), nil)
	for _, id := range []node.NodeID{"n1", "n2", "n3"} {
		seen := map[probeMsg]bool{}
		for _, m := range log.msgs[id] {
			key := probeMsg{from: m.from, seq: m.seq}
			if seen[key] {
				t.Fatalf("%s got %v twice without duplication on", id, key)
			}
			seen[key] = true
			if d := m.at - m.sentAt; d < time.Millisecond || d > 4*time.Millisecond {
				t.Fatalf("%s got a message after %v; links take 1..4 ms", id, d)
			}
		}
		if len(log.msgs[id]) < 150 {
			t.Fatalf("%s got only %d messages", id, len(log.msgs[id]))
		}
	}
}

func TestDrop(t *testing.T) {
	r := quiet()
	r.Drop = Range{1, 1}
	w, log := probe(t, r, nil)
	for _, m := range log.msgs["n1"] {
		if m.sentAt < time.Second-5*time.Millisecond {
			t.Fatalf("a message sent at %v arrived though every message is dropped", m.sentAt)
		}
	}
	if len(events(w, traces.KindDrop)) < 100 {
		t.Fatal("the trace records no drops")
	}
}

func TestDuplicate(t *testing.T) {
	r := quiet()
	r.Duplicate = Range{1, 1}
	_, log := probe(t, r, nil)
	count := map[probeMsg]int{}
	for _, m := range log.msgs["n2"] {
		if m.sentAt < 900*time.Millisecond {
			count[probeMsg{from: m.from, seq: m.seq}]++
		}
	}
	for k, n := range count {
		if n != 2 {
			t.Fatalf("%v arrived %d times, want 2", k, n)
		}
	}
}

func TestReorder(t *testing.T) {
	r := quiet()
	r.Reorder = Range{0.5, 0.5}
	_, log := probe(t, r, nil)
	last := map[node.NodeID]uint64{}
	reordered := 0
	for _, m := range log.msgs["n3"] {
		if m.seq < last[m.from] {
			reordered++
		}
		last[m.from] = max(last[m.from], m.seq)
	}
	if reordered == 0 {
		t.Fatal("no message overtook another")
	}
}

func TestSymmetricAndAsymmetricPartitions(t *testing.T) {
	for _, symmetric := range []bool{true, false} {
		w, log := probe(t, quiet(), func(w *World) {
			w.after(300*time.Millisecond, func() {
				w.cutLinks([]*simNode{w.byID["n1"]}, []*simNode{w.byID["n2"], w.byID["n3"]}, symmetric, 200*time.Millisecond)
			})
		})
		cutFor := func(m probeMsg) bool { return m.sentAt >= 300*time.Millisecond && m.sentAt < 500*time.Millisecond }
		var toN2FromN1, toN1FromN2 int
		for _, m := range log.msgs["n2"] {
			if m.from == "n1" && cutFor(m) {
				toN2FromN1++
			}
		}
		for _, m := range log.msgs["n1"] {
			if m.from == "n2" && cutFor(m) {
				toN1FromN2++
			}
		}
		if toN2FromN1 != 0 {
			t.Fatalf("symmetric=%v: n2 heard n1 across the cut %d times", symmetric, toN2FromN1)
		}
		if symmetric != (toN1FromN2 == 0) {
			t.Fatalf("symmetric=%v: n1 heard n2 %d times during the cut", symmetric, toN1FromN2)
		}
		if len(events(w, traces.KindPartition)) != 1 || !strings.Contains(string(events(w, traces.KindPartition)[0].Data), "n1→n2") {
			t.Fatal("the partition is not in the trace")
		}
		// After the heal, n2 hears n1 again.
		healed := false
		for _, m := range log.msgs["n2"] {
			healed = healed || (m.from == "n1" && m.sentAt > 500*time.Millisecond)
		}
		if !healed {
			t.Fatal("the partition never healed")
		}
	}
}

func TestClog(t *testing.T) {
	_, log := probe(t, quiet(), func(w *World) {
		w.after(200*time.Millisecond, func() { w.clog("n1", "n2", 400*time.Millisecond) })
	})
	held := 0
	for _, m := range log.msgs["n2"] {
		if m.from == "n1" && m.sentAt >= 200*time.Millisecond && m.sentAt < 400*time.Millisecond {
			held++
			if m.at < 400*time.Millisecond {
				t.Fatalf("a message sent at %v got through the clog at %v", m.sentAt, m.at)
			}
		}
	}
	if held < 15 {
		t.Fatalf("only %d clogged messages ever arrived", held)
	}
}

func TestCrashLosesUnsyncedWritesAndRestartRecovers(t *testing.T) {
	w, log := probe(t, quiet(), func(w *World) {
		w.after(255*time.Millisecond, func() { w.byID["n1"].crash() })
		w.after(300*time.Millisecond, func() { w.byID["n1"].start() })
	})
	starts := log.starts["n1"]
	if len(starts) != 2 {
		t.Fatalf("n1 started %d times", len(starts))
	}
	// At the crash the last write (odd) was not synced; the one before was.
	var lastSynced, last uint64
	for i, c := range log.written["n1"] {
		if log.ticks["n1"][i] > 255*time.Millisecond {
			break
		}
		last = c
		if log.synced["n1"][i] {
			lastSynced = c
		}
	}
	if last == lastSynced {
		t.Fatalf("the test wants an unsynced write at the crash (last %d)", last)
	}
	if starts[1].recovered != lastSynced {
		t.Fatalf("n1 recovered %d; the last synced write was %d (last written %d)", starts[1].recovered, lastSynced, last)
	}
	// The node lost its memory: nothing it did between crash and restart.
	for _, at := range log.ticks["n1"] {
		if at > 255*time.Millisecond && at < 300*time.Millisecond {
			t.Fatalf("n1 ticked at %v while down", at)
		}
	}
	for _, m := range log.msgs["n1"] {
		if m.at > 255*time.Millisecond && m.at < 300*time.Millisecond {
			t.Fatal("n1 received a message while down")
		}
	}
	if len(events(w, traces.KindCrash)) != 1 || len(events(w, traces.KindRestart)) != 4 {
		t.Fatal("crash and restart are not in the trace")
	}
}

func TestTornWrite(t *testing.T) {
	r := quiet()
	r.FaultOn = 1
	r.Disk.TornWrite = Range{1, 1}
	_, log := probe(t, r, func(w *World) {
		w.after(255*time.Millisecond, func() { w.byID["n1"].crash() })
		w.after(300*time.Millisecond, func() { w.byID["n1"].start() })
	})
	if st := log.starts["n1"]; len(st) != 2 || !st[1].corrupt {
		t.Fatalf("the restarted node should find its last record torn: %+v", st)
	}
}

func TestDiskReadWriteErrorsAndCorruptReads(t *testing.T) {
	r := quiet()
	r.FaultOn = 1
	r.Disk.WriteError = Range{0.3, 0.3}
	r.Disk.ReadError = Range{0.3, 0.3}
	r.Disk.CorruptRead = Range{0.3, 0.3}
	w, log := probe(t, r, nil)
	var writeErrs, readErrs int
	for _, err := range log.diskErrs["n2"] {
		switch {
		case errors.Is(err, ErrDiskWrite):
			writeErrs++
		case errors.Is(err, ErrDiskRead):
			readErrs++
		}
	}
	if writeErrs == 0 || readErrs == 0 || log.corrupt["n2"] == 0 {
		t.Fatalf("n2 saw %d write errors, %d read errors, %d corrupt reads", writeErrs, readErrs, log.corrupt["n2"])
	}
	if len(events(w, traces.KindDiskFault)) == 0 {
		t.Fatal("disk faults are not in the trace")
	}
	// A failed write changes nothing: every counter that was written reads back.
	if got, _ := decodeCounter(w.byID["n2"].disk.live["counter"]); got != log.written["n2"][len(log.written["n2"])-1] {
		t.Fatalf("disk holds %d, last successful write %d", got, log.written["n2"][len(log.written["n2"])-1])
	}
}

func TestStartFailureIsRetried(t *testing.T) {
	r := quiet()
	r.FaultOn = 1
	r.Disk.ReadError = Range{1, 1}
	w, log := probe(t, r, nil)
	fails := 0
	for _, s := range log.starts["n1"] {
		if s.err != nil {
			fails++
		}
	}
	if fails == 0 || len(events(w, traces.KindStartFail)) == 0 {
		t.Fatal("with every read failing, no start failed")
	}
	if last := log.starts["n1"][len(log.starts["n1"])-1]; last.err != nil || last.at < time.Second {
		t.Fatalf("the node should start once faults heal: %+v", last)
	}
}

func TestPause(t *testing.T) {
	_, log := probe(t, quiet(), func(w *World) {
		w.after(200*time.Millisecond, func() { w.byID["n2"].pause() })
		w.after(400*time.Millisecond, func() { w.byID["n2"].resume() })
	})
	for _, at := range log.ticks["n2"] {
		if at > 200*time.Millisecond && at < 400*time.Millisecond {
			t.Fatalf("n2 ran a timer at %v while paused", at)
		}
	}
	held := 0
	for _, m := range log.msgs["n2"] {
		if m.at > 200*time.Millisecond && m.at < 400*time.Millisecond {
			t.Fatalf("n2 received a message at %v while paused", m.at)
		}
		if m.sentAt > 200*time.Millisecond && m.sentAt < 390*time.Millisecond {
			held++
		}
	}
	if held < 30 {
		t.Fatalf("only %d messages sent during the pause were delivered after it", held)
	}
}

func TestClockSkewAndJumps(t *testing.T) {
	r := quiet()
	r.FaultOn = 1
	r.ClockJumpEvery = DurRange{time.Hour, time.Hour} // enabled, but let the test do the jump
	r.MaxSkew = 5 * time.Second
	_, log := probe(t, r, func(w *World) {
		w.after(500*time.Millisecond, func() { w.byID["n3"].jump(-3 * time.Second) })
	})
	skew := map[node.NodeID]time.Duration{}
	for id, c := range log.clocks {
		skew[id] = c[0]
	}
	if skew["n1"] == skew["n2"] || skew["n2"] == skew["n3"] {
		t.Fatalf("nodes share a clock: %v", skew)
	}
	c := log.clocks["n3"]
	before, after := c[0], c[len(c)-1]
	if after-before != -3*time.Second {
		t.Fatalf("n3's clock moved by %v, want -3s", after-before)
	}
}

func TestFaultsComeFromTheSeed(t *testing.T) {
	r := quiet()
	r.FaultOn = 1
	r.Drop, r.Duplicate, r.Reorder = Range{0.1, 0.1}, Range{0.1, 0.1}, Range{0.1, 0.1}
	r.CrashEvery, r.PauseEvery, r.PartitionEvery, r.ClogEvery = DurRange{50 * time.Millisecond, 50 * time.Millisecond}, DurRange{50 * time.Millisecond, 50 * time.Millisecond}, DurRange{50 * time.Millisecond, 50 * time.Millisecond}, DurRange{50 * time.Millisecond, 50 * time.Millisecond}
	w1, _ := probe(t, r, nil)
	w2, _ := probe(t, r, nil)
	if w1.rec.Fingerprint() != w2.rec.Fingerprint() {
		t.Fatal("the same seed gave two runs")
	}
	for _, k := range []traces.Kind{traces.KindCrash, traces.KindRestart, traces.KindPause, traces.KindResume, traces.KindPartition, traces.KindClog, traces.KindDrop} {
		if len(events(w1, k)) == 0 {
			t.Errorf("the nemesis never caused a %v", k)
		}
	}
}
