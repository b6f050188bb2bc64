package memdisk

import (
	"bytes"
	"errors"
	"sort"
	"sync"

	"github.com/meganode/meganode/node"
)

// Disk is an in-memory node.Disk. It has no crash to survive: a commit is
// as durable as it will ever be. It may be used from several goroutines.
// The zero value is not usable; call New.
type Disk struct {
	mu      sync.RWMutex
	kv      map[string][]byte
	commits int
}

// New returns an empty in-memory disk.
func New() *Disk { return &Disk{kv: make(map[string][]byte)} }

// Get implements node.Disk.
func (d *Disk) Get(key []byte) ([]byte, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	v, ok := d.kv[string(key)]
	if !ok {
		return nil, node.ErrNotFound
	}
	return bytes.Clone(v), nil
}

// Len is the number of keys stored.
func (d *Disk) Len() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.kv)
}

// Commits is the number of batches committed so far.
func (d *Disk) Commits() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.commits
}

// Iterate implements node.Disk. It sorts the matching keys on every call,
// which is fine for the sizes tests use.
func (d *Disk) Iterate(prefix []byte, fn func(key, value []byte) error) error {
	var keys []string
	d.mu.RLock()
	for k := range d.kv { // sorted below: map order cannot leak
		if len(k) >= len(prefix) && k[:len(prefix)] == string(prefix) {
			keys = append(keys, k)
		}
	}
	d.mu.RUnlock()
	sort.Strings(keys)
	for _, k := range keys {
		d.mu.RLock()
		v, ok := d.kv[k]
		d.mu.RUnlock()
		if !ok {
			continue // deleted by fn during iteration
		}
		if err := fn([]byte(k), v); err != nil {
			return err
		}
	}
	return nil
}

// NewBatch implements node.Disk.
func (d *Disk) NewBatch() node.Batch { return &batch{d: d} }

type op struct {
	key, value []byte
	del        bool
}

type batch struct {
	d    *Disk
	ops  []op
	done bool
}

func (b *batch) Set(key, value []byte) {
	b.ops = append(b.ops, op{key: bytes.Clone(key), value: bytes.Clone(value)})
}

func (b *batch) Delete(key []byte) { b.ops = append(b.ops, op{key: bytes.Clone(key), del: true}) }

func (b *batch) Len() int { return len(b.ops) }

// ErrBatchCommitted is returned when a batch is committed twice.
var ErrBatchCommitted = errors.New("memdisk: batch already committed")

func (b *batch) Commit() error {
	if b.done {
		return ErrBatchCommitted
	}
	b.done = true
	b.d.mu.Lock()
	defer b.d.mu.Unlock()
	for _, o := range b.ops {
		if o.del {
			delete(b.d.kv, string(o.key))
		} else {
			b.d.kv[string(o.key)] = o.value
		}
	}
	b.d.commits++
	return nil
}
