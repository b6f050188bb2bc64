package register

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/properties"
	"github.com/meganode/meganode/sim"
	"github.com/meganode/meganode/traces"
)

// PrimaryID is the primary's name; backups are backup1, backup2, ….
const PrimaryID node.NodeID = "primary"

// Ranges is the register profile's swarm: 1 primary and 1–4 backups,
// 1–5 clients, and every fault kind the world has.
var Ranges = sim.Ranges{
	Nodes:     sim.IntRange{Min: 2, Max: 5},
	Clients:   sim.IntRange{Min: 1, Max: 5},
	Duration:  sim.DurRange{Min: 2 * time.Second, Max: 10 * time.Second},
	Liveness:  20 * time.Second,
	Latency:   sim.DurRange{Min: 100 * time.Microsecond, Max: 5 * time.Millisecond},
	Jitter:    sim.Range{Min: 0, Max: 1},
	Drop:      sim.Range{Min: 0, Max: 0.05},
	Duplicate: sim.Range{Min: 0, Max: 0.05},
	Reorder:   sim.Range{Min: 0, Max: 0.1},
	FaultOn:   0.6,

	CrashEvery:     sim.DurRange{Min: 300 * time.Millisecond, Max: 2 * time.Second},
	PauseEvery:     sim.DurRange{Min: 300 * time.Millisecond, Max: 2 * time.Second},
	PartitionEvery: sim.DurRange{Min: 300 * time.Millisecond, Max: 3 * time.Second},
	ClogEvery:      sim.DurRange{Min: 300 * time.Millisecond, Max: 3 * time.Second},
	ClockJumpEvery: sim.DurRange{Min: 300 * time.Millisecond, Max: 3 * time.Second},
	KillEvery:      sim.DurRange{Min: 300 * time.Millisecond, Max: 2 * time.Second},
	SyncCrashEvery: sim.DurRange{Min: 300 * time.Millisecond, Max: 2 * time.Second},
	SlowDiskEvery:  sim.DurRange{Min: 300 * time.Millisecond, Max: 3 * time.Second},
	SlowDiskBy:     sim.DurRange{Min: 5 * time.Millisecond, Max: 100 * time.Millisecond},
	SyncLatency:    sim.DurRange{Min: 20 * time.Microsecond, Max: 4 * time.Millisecond},
	DownFor:        sim.DurRange{Min: 10 * time.Millisecond, Max: 500 * time.Millisecond},
	MaxSkew:        2 * time.Second,
	Disk: struct{ ReadError, WriteError, CorruptRead, TornWrite sim.Range }{
		ReadError: sim.Range{Max: 0.02}, WriteError: sim.Range{Max: 0.02}, CorruptRead: sim.Range{Max: 0.02}, TornWrite: sim.Range{Min: 0.2, Max: 1},
	},
	ThinkTime: sim.DurRange{Min: time.Millisecond, Max: 40 * time.Millisecond},
	Timeout:   300 * time.Millisecond,
}

// Profile is the register profile; importing this package registers it.
var Profile = &sim.Profile{Name: "register", Ranges: Ranges, New: func(cfg *sim.Config, rng *rand.Rand) sim.Scenario {
	return New(cfg, rng, func(backups []node.NodeID) node.Node { return NewPrimary(backups) })
}}

func init() { sim.Register(Profile) }

// Scenario runs the register in the world.
type Scenario struct {
	backups    []node.NodeID
	newPrimary func(backups []node.NodeID) node.Node
	writeShare float64 // share of calls that are writes
	seed       uint64
}

// New builds the scenario for cfg; newPrimary builds each incarnation of
// the primary.
func New(cfg *sim.Config, rng *rand.Rand, newPrimary func(backups []node.NodeID) node.Node) *Scenario {
	s := &Scenario{newPrimary: newPrimary, writeShare: 0.2 + 0.6*rng.Float64(), seed: cfg.Seed}
	for i := range cfg.Nodes - 1 {
		s.backups = append(s.backups, node.NodeID(fmt.Sprintf("backup%d", i+1)))
	}
	cfg.Scenario = fmt.Sprintf("register: 1 primary, %d backups, %.0f%% writes", len(s.backups), 100*s.writeShare)
	return s
}

// Nodes implements sim.Scenario.
func (s *Scenario) Nodes() []sim.NodeSpec {
	specs := []sim.NodeSpec{{ID: PrimaryID, New: func() node.Node { return s.newPrimary(s.backups) }}}
	for _, b := range s.backups {
		specs = append(specs, sim.NodeSpec{ID: b, New: func() node.Node { return &Backup{} }})
	}
	return specs
}

type clientState struct{ writes int64 }

// NextCall implements sim.Scenario: a write of a value no one else writes,
// or a read.
func (s *Scenario) NextCall(c *sim.Client) (node.NodeID, []byte, bool) {
	st, _ := c.Data.(*clientState)
	if st == nil {
		st = &clientState{}
		c.Data = st
	}
	if c.Rand.Float64() < s.writeShare {
		st.writes++
		var id int64
		fmt.Sscanf(string(c.ID), "client%d", &id)
		return PrimaryID, binary.BigEndian.AppendUint64([]byte{callWrite}, uint64(id<<32|st.writes)), true
	}
	return PrimaryID, []byte{callRead}, true
}

// Converged implements sim.Scenario: every backup holds the primary's
// latest write.
func (s *Scenario) Converged(w *sim.World) (bool, string) {
	p, ok := w.Node(PrimaryID).(interface{ State() (uint64, int64) })
	if !ok {
		return false, "the primary is down"
	}
	seq, value := p.State()
	for _, b := range s.backups {
		r, ok := w.Node(b).(*Backup)
		if !ok {
			return false, fmt.Sprintf("%s is down", b)
		}
		if bs, bv := r.State(); bs != seq || bv != value {
			return false, fmt.Sprintf("%s holds write %d (%d), the primary %d (%d)", b, bs, bv, seq, value)
		}
	}
	return true, ""
}

// Check implements sim.Scenario: the history must be linearizable.
func (s *Scenario) Check(w *sim.World) []traces.Violation {
	ops := Operations(w.History())
	html := ""
	if dir := w.ArtifactDir(); dir != "" {
		html = filepath.Join(dir, fmt.Sprintf("register-seed%d.html", s.seed))
	}
	if v := properties.CheckLinearizable(Model, ops, time.Minute, html); v != nil {
		if v.Artifact != "" {
			w.AddArtifact(v.Artifact)
		}
		return []traces.Violation{{Property: v.Property, At: w.Now(), Detail: v.Detail}}
	}
	return nil
}

// Input and Output are the model's view of a call.
type Input struct {
	Write bool
	Value int64
}

// Output is the model's view of an answer.
type Output struct {
	Failed bool // a definite failure: the call had no effect
	Value  int64
}

// Operations turns a client history into porcupine operations. A write
// whose answer never came (the run ended first) may or may not have taken
// effect, and so may a write that failed: the network can deliver a call
// twice, and the copy that failed need not be the one that ran. Such a
// write is kept, returning at the end of time, so it may take effect at any
// point after its call; a read without a value is dropped.
func Operations(history []sim.Op) []porcupine.Operation {
	ids := map[node.NodeID]int{}
	var ops []porcupine.Operation
	for _, h := range history {
		in, ok := decodeCall(h.Input)
		if !ok {
			continue
		}
		op := porcupine.Operation{Input: in, Call: int64(h.Call), Return: int64(h.Return)}
		if _, seen := ids[h.Client]; !seen {
			ids[h.Client] = len(ids)
		}
		op.ClientId = ids[h.Client]
		switch out, ok := decodeAnswer(h.Output); {
		case in.Write && (h.TimedOut || !ok || out.Failed):
			op.Return, op.Output = math.MaxInt64, Output{}
		case h.TimedOut, !ok, out.Failed:
			continue
		default:
			op.Output = out
		}
		ops = append(ops, op)
	}
	return ops
}

func decodeCall(b []byte) (Input, bool) {
	switch {
	case len(b) == 9 && b[0] == callWrite:
		return Input{Write: true, Value: int64(binary.BigEndian.Uint64(b[1:]))}, true
	case len(b) == 1 && b[0] == callRead:
		return Input{}, true
	}
	return Input{}, false
}

func decodeAnswer(b []byte) (Output, bool) {
	switch {
	case len(b) == 1 && b[0] == ansOK:
		return Output{}, true
	case len(b) == 17 && b[0] == ansValue:
		return Output{Value: int64(binary.BigEndian.Uint64(b[9:]))}, true
	case len(b) >= 1 && b[0] == ansError:
		return Output{Failed: true}, true
	}
	return Output{}, false
}

// Model is the sequential specification of a register that starts at 0.
var Model = porcupine.Model{
	Init: func() any { return int64(0) },
	Step: func(state, input, output any) (bool, any) {
		in, out, st := input.(Input), output.(Output), state.(int64)
		if in.Write {
			return true, in.Value
		}
		return out.Value == st, st
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(Input), output.(Output)
		if in.Write {
			return fmt.Sprintf("write(%d)", in.Value)
		}
		return fmt.Sprintf("read() → %d", out.Value)
	},
	DescribeState: func(state any) string { return fmt.Sprint(state.(int64)) },
}
