package traces

import (
	"encoding/binary"
	"time"
)

// Plan is what a run does: the cluster size and safety phase, the fault
// schedule, and every client's operations. The seed still supplies what
// the plan does not list: the configuration's other settings, network
// weather, disk faults, and the nodes' and the scenario's own choices.
type Plan struct {
	Seed     uint64
	Profile  string
	Nodes    int           // the configuration's node count (its meaning is the scenario's)
	Duration time.Duration // the safety phase
	Faults   []PlannedFault
	Ops      [][]PlannedOp // per client, in order
}

// PlannedFault is one fault of a plan.
type PlannedFault struct {
	At        time.Duration // virtual time it happens
	Kind      string        // crash, pause, partition, clog, clock, slow, isolate
	Node      string        // the target (clog: the receiver)
	Peer      string        // clog: the sender
	Side      []string      // partition: the side cut from the rest
	Symmetric bool          // partition: both ways
	For       time.Duration // how long it lasts
	By        time.Duration // clock: the jump; slow: the delay
}

// PlannedOp is one client operation: a think time, then a call the
// scenario draws from Seed.
type PlannedOp struct {
	After time.Duration
	Seed  uint64
}

// Size counts a plan's faults and operations.
func (p *Plan) Size() (faults, ops int) {
	for _, c := range p.Ops {
		ops += len(c)
	}
	return len(p.Faults), ops
}

// Clone returns a deep copy.
func (p *Plan) Clone() *Plan {
	c := *p
	c.Faults = make([]PlannedFault, len(p.Faults))
	for i, f := range p.Faults {
		f.Side = append([]string(nil), f.Side...)
		c.Faults[i] = f
	}
	c.Ops = make([][]PlannedOp, len(p.Ops))
	for i, ops := range p.Ops {
		c.Ops[i] = append([]PlannedOp(nil), ops...)
	}
	return &c
}

func appendPlan(p []byte, pl *Plan) []byte {
	p = binary.AppendUvarint(p, pl.Seed)
	p = appendBytes(p, []byte(pl.Profile))
	p = binary.AppendUvarint(p, uint64(pl.Nodes))
	p = binary.AppendVarint(p, int64(pl.Duration))
	p = binary.AppendUvarint(p, uint64(len(pl.Faults)))
	for _, f := range pl.Faults {
		p = binary.AppendVarint(p, int64(f.At))
		p = appendBytes(p, []byte(f.Kind))
		p = appendBytes(p, []byte(f.Node))
		p = appendBytes(p, []byte(f.Peer))
		p = binary.AppendUvarint(p, uint64(len(f.Side)))
		for _, s := range f.Side {
			p = appendBytes(p, []byte(s))
		}
		sym := byte(0)
		if f.Symmetric {
			sym = 1
		}
		p = append(p, sym)
		p = binary.AppendVarint(p, int64(f.For))
		p = binary.AppendVarint(p, int64(f.By))
	}
	p = binary.AppendUvarint(p, uint64(len(pl.Ops)))
	for _, ops := range pl.Ops {
		p = binary.AppendUvarint(p, uint64(len(ops)))
		for _, o := range ops {
			p = binary.AppendVarint(p, int64(o.After))
			p = binary.AppendUvarint(p, o.Seed)
		}
	}
	return p
}

func (d *decoder) plan() *Plan {
	pl := &Plan{}
	pl.Seed = d.uvarint()
	pl.Profile = string(d.bytes())
	pl.Nodes = int(d.uvarint())
	pl.Duration = time.Duration(d.varint())
	for i, n := uint64(0), d.count(); i < n && d.err == nil; i++ {
		var f PlannedFault
		f.At = time.Duration(d.varint())
		f.Kind = string(d.bytes())
		f.Node = string(d.bytes())
		f.Peer = string(d.bytes())
		for j, m := uint64(0), d.count(); j < m && d.err == nil; j++ {
			f.Side = append(f.Side, string(d.bytes()))
		}
		f.Symmetric = d.byte() == 1
		f.For = time.Duration(d.varint())
		f.By = time.Duration(d.varint())
		pl.Faults = append(pl.Faults, f)
	}
	for i, n := uint64(0), d.count(); i < n && d.err == nil; i++ {
		var ops []PlannedOp
		for j, m := uint64(0), d.count(); j < m && d.err == nil; j++ {
			ops = append(ops, PlannedOp{After: time.Duration(d.varint()), Seed: d.uvarint()})
		}
		pl.Ops = append(pl.Ops, ops)
	}
	return pl
}
