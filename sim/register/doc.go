// Package register is the simulator's proving ground until the chain's
// roles run in it: a replicated register, small enough to understand at a
// glance, with the shape the real roles have.
//
// A primary acknowledges a client's write once the write is durable on its
// disk, then replicates it to the backups, retransmitting until each has
// acknowledged it; reads are served by the primary. Clients write unique
// values and read, over the simulated network, through every fault the
// world has; porcupine checks the history against a register model
// (properties.CheckLinearizable), and the liveness phase requires every
// backup to converge to the primary.
//
// The package's tests hold a second version of the primary that
// acknowledges before its write is synced. A crash then loses an
// acknowledged write; a sweep must find that, and its trace must replay.
// Only test code can build it.
package register
