package sim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Range is an interval a seed draws a number from; Min == Max fixes it.
type Range struct{ Min, Max float64 }

// DurRange is an interval a seed draws a duration from.
type DurRange struct{ Min, Max time.Duration }

// IntRange is an interval a seed draws an integer from.
type IntRange struct{ Min, Max int }

func (r Range) draw(g *rand.Rand) float64 { return between(g, r.Min, r.Max) }
func (r IntRange) draw(g *rand.Rand) int  { return betweenInt(g, r.Min, r.Max) }
func (r DurRange) draw(g *rand.Rand) time.Duration {
	return time.Duration(between(g, float64(r.Min), float64(r.Max)))
}

// Ranges bound everything a seed may choose for a run (swarm testing: each
// seed runs its own configuration, so rare combinations come up).
type Ranges struct {
	Nodes    IntRange // how many nodes the scenario builds (its meaning is the scenario's)
	Clients  IntRange
	Duration DurRange      // the safety phase, faults on
	Liveness time.Duration // the liveness phase's deadline to converge, faults off

	Latency   DurRange // a link's base one-way latency
	Jitter    Range    // a link's jitter, as a fraction of its latency
	Drop      Range    // probability a message is lost
	Duplicate Range    // probability a message is delivered twice
	Reorder   Range    // probability a message gets an extra delay of up to 10× its latency

	// SyncLatency bounds how long a disk takes to complete a sync: a seed
	// draws a range within it, and every sync a time within that range.
	SyncLatency DurRange

	// FaultOn is the probability that each fault kind is enabled for a seed.
	FaultOn float64
	// Mean time between faults of each kind, when enabled. A crash is the
	// machine's (unsynced writes lost); a kill is the process's alone (kill
	// -9: what was committed stays, unsynced); a sync crash crashes a node
	// in the middle of its next sync; a slow disk makes a node's syncs slow.
	CrashEvery, PauseEvery, PartitionEvery, ClogEvery, ClockJumpEvery DurRange
	KillEvery, SyncCrashEvery, SlowDiskEvery                          DurRange
	// SlowDiskBy bounds how much longer a slow disk's syncs take.
	SlowDiskBy DurRange
	// DownFor is how long a crash, pause, partition or clog lasts.
	DownFor DurRange
	MaxSkew time.Duration // largest clock skew or jump
	Disk    struct{ ReadError, WriteError, CorruptRead, TornWrite Range }

	ThinkTime DurRange      // a client's pause between calls
	Timeout   time.Duration // a client's patience for one call
}

// Faults lists which fault kinds are on for a run, and how often.
type Faults struct {
	Crash, Pause, Partition, Clog, ClockJump time.Duration // mean interval; 0 = off
	Kill, SyncCrash, SlowDisk                time.Duration // mean interval; 0 = off
	SlowDiskBy                               DurRange
	DownFor                                  DurRange
	MaxSkew                                  time.Duration
	Disk                                     DiskFaults
}

// Config is one run's configuration: everything its seed chose.
type Config struct {
	Seed     uint64
	Profile  string
	Nodes    int
	Clients  int
	Duration time.Duration
	Liveness time.Duration

	Latency   DurRange
	Jitter    float64
	Drop      float64
	Duplicate float64
	Reorder   float64

	SyncLatency DurRange // how long a sync takes

	Faults    Faults
	ThinkTime DurRange
	Timeout   time.Duration

	// Scenario holds the scenario's own settings, for printing.
	Scenario string
}

// derive draws a Config from a seed within the ranges.
func (r *Ranges) derive(seed uint64, profile string, g *rand.Rand) Config {
	c := Config{
		Seed: seed, Profile: profile,
		Nodes: r.Nodes.draw(g), Clients: r.Clients.draw(g),
		Duration: r.Duration.draw(g), Liveness: r.Liveness,
		Jitter: r.Jitter.draw(g), Drop: r.Drop.draw(g), Duplicate: r.Duplicate.draw(g), Reorder: r.Reorder.draw(g),
		ThinkTime: r.ThinkTime, Timeout: r.Timeout,
	}
	lat := r.Latency.draw(g)
	c.Latency = DurRange{Min: lat / 2, Max: lat * 2}
	on := func(every DurRange) time.Duration {
		if g.Float64() >= r.FaultOn {
			return 0
		}
		return every.draw(g)
	}
	c.Faults = Faults{
		Crash: on(r.CrashEvery), Pause: on(r.PauseEvery), Partition: on(r.PartitionEvery),
		Clog: on(r.ClogEvery), ClockJump: on(r.ClockJumpEvery),
		DownFor: r.DownFor, MaxSkew: r.MaxSkew,
	}
	c.Faults.Kill, c.Faults.SyncCrash, c.Faults.SlowDisk = on(r.KillEvery), on(r.SyncCrashEvery), on(r.SlowDiskEvery)
	c.Faults.SlowDiskBy = r.SlowDiskBy
	syncLo, syncHi := r.SyncLatency.draw(g), r.SyncLatency.draw(g)
	c.SyncLatency = DurRange{Min: min(syncLo, syncHi), Max: max(syncLo, syncHi)}
	disk := func(x Range) float64 {
		if g.Float64() >= r.FaultOn {
			return 0
		}
		return x.draw(g)
	}
	c.Faults.Disk = DiskFaults{
		ReadError: disk(r.Disk.ReadError), WriteError: disk(r.Disk.WriteError),
		CorruptRead: disk(r.Disk.CorruptRead), TornWrite: disk(r.Disk.TornWrite),
	}
	return c
}

// String prints the configuration, one setting a line, as a run shows it
// first and a trace records it.
func (c *Config) String() string {
	var b strings.Builder
	every := func(d time.Duration) string {
		if d == 0 {
			return "off"
		}
		return "every ~" + d.Round(time.Millisecond).String()
	}
	fmt.Fprintf(&b, "seed %d\nprofile %s\n", c.Seed, c.Profile)
	fmt.Fprintf(&b, "nodes %d\nclients %d\n", c.Nodes, c.Clients)
	fmt.Fprintf(&b, "safety %v then liveness deadline %v\n", c.Duration.Round(time.Millisecond), c.Liveness)
	fmt.Fprintf(&b, "latency %v..%v jitter %.2f\n", c.Latency.Min.Round(time.Microsecond), c.Latency.Max.Round(time.Microsecond), c.Jitter)
	fmt.Fprintf(&b, "drop %.4f duplicate %.4f reorder %.4f\n", c.Drop, c.Duplicate, c.Reorder)
	f := &c.Faults
	fmt.Fprintf(&b, "crash %s\npause %s\npartition %s\nclog %s\nclock-jump %s\n",
		every(f.Crash), every(f.Pause), every(f.Partition), every(f.Clog), every(f.ClockJump))
	fmt.Fprintf(&b, "kill %s\nsync-crash %s\nslow-disk %s (by %v..%v)\n",
		every(f.Kill), every(f.SyncCrash), every(f.SlowDisk), f.SlowDiskBy.Min, f.SlowDiskBy.Max)
	fmt.Fprintf(&b, "faults last %v..%v, clock skew up to %v\n", f.DownFor.Min, f.DownFor.Max, f.MaxSkew)
	fmt.Fprintf(&b, "sync %v..%v\n", c.SyncLatency.Min.Round(time.Microsecond), c.SyncLatency.Max.Round(time.Microsecond))
	fmt.Fprintf(&b, "disk read-error %.4f write-error %.4f corrupt-read %.4f torn-write %.2f\n",
		f.Disk.ReadError, f.Disk.WriteError, f.Disk.CorruptRead, f.Disk.TornWrite)
	fmt.Fprintf(&b, "client think %v..%v timeout %v\n", c.ThinkTime.Min, c.ThinkTime.Max, c.Timeout)
	if c.Scenario != "" {
		b.WriteString(c.Scenario)
		if !strings.HasSuffix(c.Scenario, "\n") {
			b.WriteByte('\n')
		}
	}
	return b.String()
}
