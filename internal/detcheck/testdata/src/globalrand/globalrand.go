// Package globalrand holds the global-randomness cases.
package globalrand

import (
	"math/rand"
	. "math/rand/v2"
	mrand "math/rand/v2"
)

func global(s []int) int {
	rand.Shuffle(len(s), func(i, j int) {}) // want `global rand: math/rand.Shuffle uses the global random source: use Env.Rand`
	_ = rand.Perm(3)                        // want `global rand: math/rand.Perm`
	_ = rand.Float64()                      // want `global rand: math/rand.Float64`
	_ = mrand.IntN(3) + mrand.N(3)          // want `global rand: math/rand/v2.IntN` `global rand: math/rand/v2.N`
	_ = IntN(4)                             // want `global rand: math/rand/v2.IntN`
	f := rand.Intn                          // want `global rand: math/rand.Intn`
	return f(3) + rand.Int()                // want `global rand: math/rand.Int `
}

// Seeded generators and their methods are fine.
func seeded(seed [32]byte, s []int) int {
	r := rand.New(rand.NewSource(1))
	_ = rand.NewZipf(r, 2, 1, 10)
	r.Shuffle(len(s), func(i, j int) {})
	r2 := mrand.New(mrand.NewPCG(1, 2))
	r3 := New(NewChaCha8(seed))
	return r.Intn(3) + r2.IntN(3) + r3.IntN(3) + int(mrand.NewZipf(r2, 2, 1, 10).Uint64())
}

type Env interface{ Rand() *mrand.Rand }

func fromEnv(e Env) int { return e.Rand().IntN(5) }
