package chainsim_test

import (
	"testing"

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
	sim.Sweep(chainsim.Profile, seeds, 2, sim.Options{}, func(r *sim.Result) {
		first[r.Config.Seed] = r.Fingerprint
		if r.Failed() {
			t.Errorf("seed %d: %v (replay: go run ./cmd/megasim run --seed %d)", r.Config.Seed, r.Violations, r.Config.Seed)
		}
		if r.Converged == 0 {
			t.Errorf("seed %d never converged", r.Config.Seed)
		}
	})
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
