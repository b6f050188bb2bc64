// Package maporder holds the map-order cases.
package maporder

import (
	"maps"
	"slices"
)

type Set map[string]struct{}

type T struct{ m map[int]int }

func get() map[int]bool { return nil }

func sink(...any) {}

// Ranges over maps, however the map is typed, fire.
func ranges(s Set, t *T) {
	for k := range s { // want `map order: range over a map \(Set\) visits its entries in random order; sort first .* "// order: <reason>" comment`
		sink(k)
	}
	for k, v := range get() { // want `map order: range over a map \(map\[int\]bool\)`
		sink(k, v)
	}
	for range t.m { // want `map order: range over a map`
	}
	for k := range t.m { // a comment that says nothing about order // want `map order: range over a map`
		sink(k)
	}
	for k := range t.m { //x // want `map order: range over a map`
		sink(k)
	}
	// order:
	for k := range t.m { // want `map order: range over a map`
		sink(k)
	}
}

// A map-typed type parameter fires too.
func generic[M ~map[K]V, K comparable, V any](m M) {
	for k := range m { // want `map order: range over a map \(M\)`
		sink(k)
	}
}

type mapConstraint interface{ ~map[string]int }

func generic2[M mapConstraint](m M) {
	for k := range m { // want `map order: range over a map \(M\)`
		sink(k)
	}
}

// Iterators over maps fire wherever they are used.
func iterators(m map[string]int) {
	keys := slices.Collect(maps.Keys(m)) // want `map order: maps.Keys iterates a map in random order`
	sink(keys)
	for v := range maps.Values(m) { // want `map order: maps.Values iterates`
		sink(v)
	}
	for k, v := range maps.All(m) { // want `map order: maps.All iterates`
		sink(k, v)
	}
	f := maps.Keys[map[string]int] // want `map order: maps.Keys iterates`
	sink(f)
	sink(slices.SortedFunc(maps.Keys(m), func(a, b string) int { return 0 })) // want `map order: maps.Keys iterates`
	for v := range maps.Values(m) {                                           // want `map order: maps.Values iterates`
		delete(m, "x")
		sink(v)
	}
}

// A body that does more than delete the key it visits fires.
func deletions(m map[int]int, other map[int]int) {
	for k := range m { // want `map order: range over a map`
		delete(m, k+1) // which entries survive depends on the order
	}
	for k, v := range m { // want `map order: range over a map`
		delete(m, v)
		sink(k)
	}
	for k := range m { // want `map order: range over a map`
		if len(m) > 3 { // reads the map being emptied
			delete(m, k)
		}
	}
	for k := range m { // want `map order: range over a map`
		if other[k] > 0 { // reads a map
			delete(m, k)
		}
	}
	for k := range m { // want `map order: range over a map`
		if check(k) { // calls a function
			delete(m, k)
		}
	}
	var k int
	for k = range m { // want `map order: range over a map`
		delete(m, k) // k holds the last key visited after the loop
	}
	sink(k)
	for k, v := range m { // want `map order: range over a map`
		if v > 0 {
			delete(m, k)
		}
		clear(other)
	}
	for k := range m { // want `map order: range over a map`
		delete(m, k)
		sink(k)
	}
}

func check(int) bool { return true }

// Justified, sorted, or order-insensitive by construction: no report.
func fine(m map[string]int, t T, s []string, dst map[string]int) int {
	n := 0
	for _, v := range m { // order: summing
		n += v
	}
	for k := range t.m { // sorted below: order cannot leak
		s = append(s, string(rune(k)))
	}
	slices.Sort(s)
	// order: the maximum does not depend on the order
	for _, v := range m {
		n = max(n, v)
	}
	/* filling a map: order cannot leak */
	for k, v := range m {
		dst[k] = v
	}
	// order: the sum is the same whatever the order,
	// whatever this second line of the reason says.
	for _, v := range m {
		n += v
	}
	n++                   // order: this justifies its own line, not the next
	for _, v := range m { // want `map order: range over a map`
		n += v
	}
	for k := range m { // order: the outer loop only counts
		for range m { // want `map order: range over a map`
			sink(k)
		}
	}
	for k := range maps.Keys(m) { /* summed: order cannot leak */
		n += len(k)
	}
	keys := slices.Collect(maps.Keys(m)) // order: sorted on the next line
	slices.Sort(keys)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		n += len(k)
	}
	for _, v := range slices.Sorted((maps.Values(m))) {
		n += v
	}
	maps.Insert(dst, maps.All(m))
	sink(maps.Collect(maps.All(m)))
	for k := range m {
		delete(m, k)
	}
	for k, v := range m {
		if v > 3 && k != "x" {
			delete(m, k)
			delete(dst, k)
		} else if v < 0 {
			delete(m, k)
		}
	}
	for k := range maps.Keys(m) {
		delete(m, k)
	}
	for range m {
		clear(m)
	}
	for range s { // not a map
	}
	for range 3 {
	}
	for range "abc" {
	}
	for range slices.Values(s) {
	}
	return n + len(keys)
}
