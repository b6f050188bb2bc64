package sim

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"

	"github.com/meganode/meganode/node"
)

// Errors the simulated disk injects.
var (
	ErrDiskRead  = errors.New("simulated disk: read error")
	ErrDiskWrite = errors.New("simulated disk: write error")
)

// DiskFaults are the probabilities, per operation, of the disk's faults.
type DiskFaults struct {
	ReadError   float64 // Get or Iterate fails
	WriteError  float64 // Commit fails and writes nothing
	CorruptRead float64 // Get returns the value with one bit flipped (the stored value stays intact)
	TornWrite   float64 // on a crash, the unsynced tail is torn (its first lost batch's first write cut short) rather than lost whole
}

// DiskFault names a fault the disk injected, for the trace.
type DiskFault uint8

// The faults a Disk reports through its observer.
const (
	FaultReadError DiskFault = iota + 1
	FaultWriteError
	FaultCorruptRead
)

func (f DiskFault) String() string {
	switch f {
	case FaultReadError:
		return "read-error"
	case FaultWriteError:
		return "write-error"
	case FaultCorruptRead:
		return "corrupt-read"
	}
	return "unknown"
}

type diskOp struct {
	key, value []byte
	del        bool
}

// Disk is a node's simulated disk. It implements node.Disk and models what
// a log-structured store on a real disk does:
//   - a committed batch is visible at once and applies atomically;
//   - a sync (SyncThrough a Mark) makes every batch committed before it
//     durable (a write-ahead log is written in order); the world completes
//     a node's Env.Sync that way, after a drawn delay;
//   - a crash of the machine (Crash) keeps exactly the durable batches: the
//     unsynced tail is lost. A crash of the process alone does not touch
//     the disk: what was committed stays, still unsynced, as the operating
//     system's page cache keeps it.
//     When the seed says so, the tail is torn instead: a prefix of its
//     batches survives whole, and of the batch at the tear only the first
//     write reaches the disk, cut short. A batch never lands in part with
//     its writes intact (pebble's write-ahead log checksums each batch and
//     replays it whole or not at all, and nodes rely on batches being
//     atomic); the torn first write is harsher than pebble, which would drop
//     it, so that node records must carry checksums and a node notices.
//
// Read and write errors and corrupt reads happen on demand, with the
// probabilities set by SetFaults, drawn from the disk's own random stream.
// The disk survives its node: the world keeps it across crash and restart.
type Disk struct {
	live    map[string][]byte // what readers see
	durable map[string][]byte // what survives a crash
	pending [][]diskOp        // committed, not yet synced, in order
	synced  int               // commits made durable: pending holds commits synced+1 … commits
	sorted  []string          // live's keys in order; nil when stale

	rng     *rand.Rand
	faults  DiskFaults
	observe func(DiskFault)

	commits, syncs int
}

var _ node.Disk = (*Disk)(nil)

// NewDisk returns an empty disk drawing its faults from rng.
func NewDisk(rng *rand.Rand) *Disk {
	return &Disk{live: map[string][]byte{}, durable: map[string][]byte{}, rng: rng}
}

// SetFaults sets the fault probabilities; the zero value turns faults off.
func (d *Disk) SetFaults(f DiskFaults) { d.faults = f }

// Observe sets a function called with every fault the disk injects.
func (d *Disk) Observe(fn func(DiskFault)) { d.observe = fn }

func (d *Disk) chance(p float64) bool { return p > 0 && d.rng.Float64() < p }

func (d *Disk) fault(f DiskFault) {
	if d.observe != nil {
		d.observe(f)
	}
}

// Get implements node.Disk.
func (d *Disk) Get(key []byte) ([]byte, error) {
	if d.chance(d.faults.ReadError) {
		d.fault(FaultReadError)
		return nil, ErrDiskRead
	}
	v, ok := d.live[string(key)]
	if !ok {
		return nil, node.ErrNotFound
	}
	v = bytes.Clone(v)
	if len(v) > 0 && d.chance(d.faults.CorruptRead) {
		d.fault(FaultCorruptRead)
		v[d.rng.IntN(len(v))] ^= 1 << d.rng.IntN(8)
	}
	return v, nil
}

// Iterate implements node.Disk.
func (d *Disk) Iterate(prefix []byte, fn func(key, value []byte) error) error {
	if d.chance(d.faults.ReadError) {
		d.fault(FaultReadError)
		return ErrDiskRead
	}
	if d.sorted == nil {
		d.sorted = make([]string, 0, len(d.live))
		for k := range d.live { // sorted below: map order cannot leak
			d.sorted = append(d.sorted, k)
		}
		slices.Sort(d.sorted)
	}
	keys := d.sorted
	i, _ := slices.BinarySearch(keys, string(prefix))
	for ; i < len(keys) && bytes.HasPrefix([]byte(keys[i]), prefix); i++ {
		v, ok := d.live[keys[i]]
		if !ok {
			continue
		}
		if err := fn([]byte(keys[i]), v); err != nil {
			return err
		}
	}
	return nil
}

// NewBatch implements node.Disk.
func (d *Disk) NewBatch() node.Batch { return &simBatch{d: d} }

type simBatch struct {
	d    *Disk
	ops  []diskOp
	done bool
}

func (b *simBatch) Set(key, value []byte) {
	b.ops = append(b.ops, diskOp{key: bytes.Clone(key), value: bytes.Clone(value)})
}

func (b *simBatch) Delete(key []byte) {
	b.ops = append(b.ops, diskOp{key: bytes.Clone(key), del: true})
}

func (b *simBatch) Len() int { return len(b.ops) }

// ErrBatchDone is returned when a batch is committed twice.
var ErrBatchDone = errors.New("simulated disk: batch already committed")

func (b *simBatch) Commit() error {
	if b.done {
		return ErrBatchDone
	}
	b.done = true
	d := b.d
	if d.chance(d.faults.WriteError) {
		d.fault(FaultWriteError)
		return ErrDiskWrite
	}
	apply(d.live, b.ops)
	d.sorted = nil
	d.pending = append(d.pending, b.ops)
	d.commits++
	return nil
}

// Mark is the point a sync asked for now reaches: every batch committed so
// far.
func (d *Disk) Mark() int { return d.commits }

// SyncThrough makes every batch committed up to mark (a Mark) durable. A
// mark already reached does nothing.
func (d *Disk) SyncThrough(mark int) {
	n := min(mark-d.synced, len(d.pending))
	if n <= 0 {
		return
	}
	for _, ops := range d.pending[:n] {
		apply(d.durable, ops)
	}
	d.pending = d.pending[n:]
	d.synced += n
	d.syncs++
}

// Sync makes every committed batch durable at once (tests and tools; nodes
// ask their Env). It never fails.
func (d *Disk) Sync() error {
	d.SyncThrough(d.commits)
	return nil
}

func apply(m map[string][]byte, ops []diskOp) {
	for _, o := range ops {
		if o.del {
			delete(m, string(o.key))
		} else {
			m[string(o.key)] = o.value
		}
	}
}

// Crash models a power failure: what was not synced is lost, or, with the
// TornWrite probability, torn. It reports how many unsynced batches were
// lost whole and whether the tail was torn.
func (d *Disk) Crash() (lost int, torn bool) {
	if len(d.pending) > 0 && d.chance(d.faults.TornWrite) {
		torn = true
		keep := d.rng.IntN(len(d.pending)) // batches that made it whole
		for _, ops := range d.pending[:keep] {
			apply(d.durable, ops)
		}
		cut := d.pending[keep]
		if len(cut) > 0 {
			// The first write of the torn batch reached the disk, cut short.
			partial := slices.Clone(cut[:1])
			if first := &partial[0]; !first.del && len(first.value) > 0 {
				first.value = first.value[:d.rng.IntN(len(first.value))]
			}
			apply(d.durable, partial)
		}
		lost = len(d.pending) - keep - 1
	} else {
		lost = len(d.pending)
	}
	d.synced += len(d.pending)
	d.pending = d.pending[:0]
	d.live = make(map[string][]byte, len(d.durable))
	for k, v := range d.durable { // copying a map: order cannot leak
		d.live[k] = v
	}
	d.sorted = nil
	return lost, torn
}

// Unsynced is the number of committed batches not yet durable.
func (d *Disk) Unsynced() int { return len(d.pending) }

// Len is the number of keys readers see.
func (d *Disk) Len() int { return len(d.live) }

// Stats reports batches committed and syncs done.
func (d *Disk) Stats() (commits, syncs int) { return d.commits, d.syncs }
