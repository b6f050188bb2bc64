package node

import "fmt"

// Invariant is what node code panics with when one of its invariants does
// not hold (TigerBeetle's assertions): heights that must be contiguous,
// an output released before the sync it depends on, a pool whose indexes
// disagree. Invariants stay on everywhere. In production the process dies
// and restarts from what is durable; in the simulator the world turns the
// panic into a violation of the run, with its seed and trace, and crashes
// the node: a broken invariant there is a bug found, not a crash to hide.
type Invariant struct {
	Msg string
}

func (e *Invariant) Error() string { return "invariant violated: " + e.Msg }

// Assert panics with an *Invariant when cond is false. Its arguments are
// evaluated either way: on hot paths, test the condition first and call
// Broken.
func Assert(cond bool, format string, args ...any) {
	if !cond {
		Broken(format, args...)
	}
}

// Broken panics with an *Invariant.
func Broken(format string, args ...any) {
	panic(&Invariant{Msg: fmt.Sprintf(format, args...)})
}
