package sim

import "math/rand/v2"

// newRand returns the stream a seed starts.
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// split derives an independent stream from r. Every random stream of a run
// is split from the one its seed starts, in an order fixed by the code, so
// a run draws the same numbers every time.
func split(r *rand.Rand) *rand.Rand {
	return rand.New(rand.NewPCG(r.Uint64(), r.Uint64()))
}

// between draws uniformly from [lo, hi].
func between(r *rand.Rand, lo, hi float64) float64 {
	if hi <= lo {
		return lo
	}
	return lo + r.Float64()*(hi-lo)
}

// betweenInt draws uniformly from [lo, hi].
func betweenInt(r *rand.Rand, lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + r.IntN(hi-lo+1)
}
