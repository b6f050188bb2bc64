package sim_test

import (
	"testing"

	"github.com/meganode/meganode/sim"
	"github.com/meganode/meganode/sim/register"
)

// P7: the same seed and build give the same fingerprint, and different
// seeds different ones. Each seed runs twice, on separate goroutines and
// with other runs in between, so shared state between runs would show.
func TestSameSeedSameFingerprint(t *testing.T) {
	const n = 25
	seeds := sim.Shard{}.Seeds(1, n)
	first := map[uint64][32]byte{}
	sim.Sweep(register.Profile, seeds, 2, sim.Options{}, func(r *sim.Result) { first[r.Config.Seed] = r.Fingerprint })
	seen := map[[32]byte]uint64{}
	for i := len(seeds) - 1; i >= 0; i-- {
		s := seeds[i]
		again := sim.Run(register.Profile, s, sim.Options{Keep: true})
		if again.Fingerprint != first[s] {
			t.Fatalf("seed %d gave two fingerprints", s)
		}
		if other, dup := seen[again.Fingerprint]; dup {
			t.Fatalf("seeds %d and %d gave the same fingerprint", s, other)
		}
		seen[again.Fingerprint] = s
		if again.Events < 100 {
			t.Fatalf("seed %d ran only %d events", s, again.Events)
		}
	}
}
