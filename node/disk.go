package node

import "errors"

// ErrNotFound is returned by Disk.Get for a key that is not stored.
var ErrNotFound = errors.New("disk: key not found")

// Disk is a node's key-value store, ordered by key.
//
// Writes go through a Batch, which applies atomically on Commit: readers
// see a committed batch at once. Commit does not make it durable; a node
// asks for that with Env.Sync, whose completion comes back later as an
// event (node.Outbox). After a crash of the machine, every batch committed
// before a completed sync is there in full; a later one may be lost, and,
// on the simulated disk, the first one lost may be torn. A crash of the
// process alone loses nothing committed.
//
// Implementations: pebble on the OS file system in production (node/runtime),
// a fault-injecting model in the simulator (sim/), and memdisk for tests.
type Disk interface {
	// Get returns a copy of the value stored at key, or ErrNotFound.
	Get(key []byte) ([]byte, error)
	// NewBatch starts an empty batch of writes.
	NewBatch() Batch
	// Iterate calls fn for every key with the given prefix, in ascending key
	// order, until fn returns an error (which Iterate then returns). The
	// slices passed to fn are valid only during the call.
	Iterate(prefix []byte, fn func(key, value []byte) error) error
}

// Batch collects writes that a Disk applies atomically.
type Batch interface {
	Set(key, value []byte)
	Delete(key []byte)
	// Len is the number of writes in the batch.
	Len() int
	// Commit applies the batch atomically; it is visible at once and durable
	// once a sync asked for after Commit completes. A batch must not be used
	// after Commit.
	Commit() error
}
