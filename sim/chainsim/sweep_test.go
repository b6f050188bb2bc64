package chainsim_test

import (
	"testing"

	"github.com/meganode/meganode/node/cover"
	"github.com/meganode/meganode/sim"
	"github.com/meganode/meganode/sim/chainsim"
)

// The chain profile passes a short sweep (make sweep runs the long ones),
// and P7: a seed run again gives the same fingerprint, different seeds
// different ones, with runs on other goroutines in between.
func TestShortSweepPassesAndReplaysItsFingerprints(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 60
	}
	seeds := sim.Shard{}.Seeds(1, n)
	first := map[uint64][32]byte{}
	marks := map[string]int{}
	sim.Sweep(chainsim.Profile, seeds, 2, sim.Options{}, func(r *sim.Result) {
		first[r.Config.Seed] = r.Fingerprint
		for m := range r.Marks { // counting: order cannot leak
			marks[m]++
		}
		if r.Failed() {
			t.Errorf("seed %d: %v (replay: go run ./cmd/megasim run --seed %d)", r.Config.Seed, r.Violations, r.Config.Seed)
		}
		if r.Converged == 0 {
			t.Errorf("seed %d never converged", r.Config.Seed)
		}
	})
	// The marks a short sweep reaches: every one a 300-seed sweep reached
	// in a tenth of its seeds or more (buggify's knobs each turn in 12% of
	// seeds; a byzantine actor runs in 10%). The rarer ones are for make
	// sweep SEEDS=1000, whose report shows any it missed in red.
	for _, m := range shortSweepMarks {
		if marks[m] == 0 {
			t.Errorf("no seed of %d reached the coverage mark %s", n, m)
		}
	}
	seen := map[[32]byte]uint64{}
	for _, s := range seeds[:12] {
		again := sim.Run(chainsim.Profile, s, sim.Options{})
		if again.Fingerprint != first[s] {
			t.Fatalf("seed %d gave two fingerprints", s)
		}
		if other, dup := seen[again.Fingerprint]; dup {
			t.Fatalf("seeds %d and %d gave the same fingerprint", s, other)
		}
		seen[again.Fingerprint] = s
	}
}

// shortSweepMarks are the coverage marks every short sweep of the chain
// profile must reach.
var shortSweepMarks = []string{
	cover.SeqRecoveredOpenBlock, cover.SeqDiskError, cover.SeqPoolFull, cover.SeqWaitersFull, cover.SeqSyncTimeout,
	cover.SeqDARetry, cover.LedgerTornTail, cover.FullGapRepair, cover.FullSourceRotated, cover.FullBufferFull,
	cover.FullDiskError, cover.ProverFetchedFromDA, cover.ProverPendingFull, cover.ProverResumed,
	cover.SeqPipelined, cover.SeqEarlyClose, cover.SeqEarlySeal, cover.FullSyncBackpressure,
	cover.ProverStatementsInFlight, cover.DAPutWhileSyncing, cover.ReleaseAfterReopen,
}

// The failover profile passes a short sweep: leaders crashed, killed,
// paused and cut off, and every loss resumed within the bound, no
// acknowledged transaction lost, the group's leadership changing hands;
// and its seeds replay their fingerprints (P7).
func TestShortFailoverSweep(t *testing.T) {
	n := 150
	if testing.Short() {
		n = 40
	}
	seeds := sim.Shard{}.Seeds(1, n)
	first := map[uint64][32]byte{}
	marks := map[string]int{}
	stats := map[string]float64{}
	sim.Sweep(chainsim.FailoverProfile, seeds, 2, sim.Options{}, func(r *sim.Result) {
		first[r.Config.Seed] = r.Fingerprint
		for m := range r.Marks { // counting: order cannot leak
			marks[m]++
		}
		for _, st := range r.Stats {
			stats[st.Name] += st.Value
		}
		if r.Failed() {
			t.Errorf("seed %d: %v (replay: go run ./cmd/megasim run --profile failover --seed %d)", r.Config.Seed, r.Violations, r.Config.Seed)
		}
	})
	if stats["failovers"] < float64(n) || stats["acks_checked"] == 0 || stats["acks_lost"] != 0 {
		t.Errorf("%v failovers, %v acknowledged transactions checked, %v lost, in %d seeds", stats["failovers"], stats["acks_checked"], stats["acks_lost"], n)
	}
	for _, m := range []string{cover.SeqGroupLed, cover.SeqGroupSteppedDown, cover.SeqGroupBackpressure} {
		if marks[m] == 0 {
			t.Errorf("no seed of %d reached the coverage mark %s", n, m)
		}
	}
	for _, s := range seeds[:4] {
		if again := sim.Run(chainsim.FailoverProfile, s, sim.Options{}); again.Fingerprint != first[s] {
			t.Fatalf("failover seed %d gave two fingerprints", s)
		}
	}
}
