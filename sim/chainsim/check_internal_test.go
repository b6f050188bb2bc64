package chainsim

import (
	"testing"

	"github.com/anishathalye/porcupine"
)

// maxConcurrency counts the operations of one partition in flight at once:
// touching intervals do not overlap, and partitions are apart.
func TestMaxConcurrency(t *testing.T) {
	m := porcupine.Model{Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		var a, b []porcupine.Operation
		for _, op := range h {
			if op.ClientId < 10 {
				a = append(a, op)
			} else {
				b = append(b, op)
			}
		}
		return [][]porcupine.Operation{a, b}
	}}
	ops := []porcupine.Operation{
		{ClientId: 1, Call: 0, Return: 10}, {ClientId: 2, Call: 5, Return: 15}, {ClientId: 3, Call: 10, Return: 20}, // at most 2 at once
		{ClientId: 11, Call: 0, Return: 100}, {ClientId: 12, Call: 1, Return: 100}, {ClientId: 13, Call: 2, Return: 100}, // 3
	}
	if got := maxConcurrency(m, ops); got != 3 {
		t.Fatalf("max concurrency %d, want 3", got)
	}
	if got := maxConcurrency(m, ops[:3]); got != 2 {
		t.Fatalf("max concurrency %d, want 2 (10 returns as 10 calls)", got)
	}
}
