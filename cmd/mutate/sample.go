package main

import (
	"hash/fnv"
	"math/rand/v2"
	"sort"
)

// Order returns one package's mutants in the order they are tried:
// deterministic in seed, and spread across files (a round-robin over the
// files, each file's mutants and the files themselves shuffled). The
// runner takes them in this order until it has as many valid ones as it
// wants, so a sample of N is the first N valid mutants of this order.
func Order(ms []*Mutant, pkg string, seed uint64) []*Mutant {
	h := fnv.New64a()
	h.Write([]byte(pkg))
	rng := rand.New(rand.NewPCG(seed, h.Sum64()))

	byFile := map[string][]*Mutant{}
	var files []string
	for _, m := range ms {
		if _, ok := byFile[m.File]; !ok {
			files = append(files, m.File)
		}
		byFile[m.File] = append(byFile[m.File], m)
	}
	sort.Strings(files)
	rng.Shuffle(len(files), func(i, j int) { files[i], files[j] = files[j], files[i] })
	for _, f := range files {
		l := byFile[f]
		rng.Shuffle(len(l), func(i, j int) { l[i], l[j] = l[j], l[i] })
	}
	out := make([]*Mutant, 0, len(ms))
	for round := 0; len(out) < len(ms); round++ {
		for _, f := range files {
			if l := byFile[f]; round < len(l) {
				out = append(out, l[round])
			}
		}
	}
	return out
}
