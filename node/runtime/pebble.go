package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/meganode/meganode/node"
)

// Errors the production Disk returns.
var (
	// ErrClosed is returned by every call on a Disk after Close.
	ErrClosed = errors.New("runtime: disk closed")
	// ErrBatchCommitted is returned when a batch is committed twice.
	ErrBatchCommitted = errors.New("runtime: batch already committed")
)

// FatalError is what pebble reports through Logger.Fatalf: an error after
// which its state is unknown (a failed WAL write leaves the commit pipeline
// unusable, for instance). Pebble's default logger exits the process there;
// the Disk turns it into a panic instead. When the panic happens inside a
// Disk call (a commit, a read) the call recovers it and returns it, and the
// Disk is poisoned: every later call returns the same FatalError, and the
// node is expected to stop and restart from what is durable. A fatal error
// on one of pebble's own background goroutines (a failed MANIFEST write
// during a flush) cannot be recovered and ends the process with the message.
type FatalError struct {
	Msg string
}

func (e *FatalError) Error() string { return "pebble fatal error: " + e.Msg }

// Options configure a Disk. The zero value (and a nil *Options) is usable.
type Options struct {
	// Logger receives pebble's informational and error messages; nil means
	// the standard library's log package (standard error). Fatal messages go
	// to its Errorf, and then the Disk panics with a *FatalError rather than
	// calling the logger's Fatalf, so that no logger can exit the process.
	Logger pebble.Logger
	// OnFatal, when set, is called once, on the goroutine that hit it,
	// when the Disk is poisoned by a fatal error: the process should stop
	// (the roles cannot recover from it by reopening their ledgers). It
	// must not block.
	OnFatal func(*FatalError)
}

// Disk is the production node.Disk: a pebble database. Commit puts a batch
// in the write-ahead log without syncing it; Sync makes every batch
// committed before it durable (pebble's log is written in order), the
// model sim.Disk implements. A node asks for syncs through its Loop, whose
// writer goroutine calls Sync off the node's step.
//
// Pebble stores every key behind a one-byte tag (keyTag), so that the
// empty key, which node.Disk allows, is an ordinary key to pebble: pebble
// v2.1.7 crashes the process in a background flush when an sstable data
// block holds only the empty key ("unreachable" in
// colblk.PrefixBytesBuilder.Finish with the columnar format; "empty keys"
// in Comparer.Separator with the row format when the empty key's value fills
// a block). The tag keeps the order of keys and of prefixes.
//
// A Disk may be used from several goroutines, except that Close must not run
// concurrently with any other call.
type Disk struct {
	db     *pebble.DB
	dir    string
	closed atomic.Bool
	fatal  atomic.Pointer[FatalError]
	// onFatal is Options.OnFatal.
	onFatal func(*FatalError)
}

var _ node.Disk = (*Disk)(nil)

// keyTag is the byte before every key in pebble.
const keyTag = 'k'

// tagged appends keyTag and key to dst.
func tagged(dst, key []byte) []byte {
	return append(append(dst, keyTag), key...)
}

// OpenDisk opens (creating it if needed) the pebble database in directory
// dir of the OS file system.
func OpenDisk(dir string, opts *Options) (*Disk, error) {
	return OpenDiskFS(vfs.Default, dir, opts)
}

// OpenDiskFS opens (creating it if needed) the pebble database in directory
// dir of fs. Tests pass vfs.NewMem(), or vfs.NewCrashableMem() to take crash
// clones of the file system.
func OpenDiskFS(fs vfs.FS, dir string, opts *Options) (*Disk, error) {
	if opts == nil {
		opts = &Options{}
	}
	var l pebble.Logger = stdLogger{}
	if opts.Logger != nil {
		l = opts.Logger
	}
	po := &pebble.Options{
		FS:                 fs,
		Logger:             fatalPanics{l},
		FormatMajorVersion: pebble.FormatNewest,
	}
	d := &Disk{dir: dir, onFatal: opts.OnFatal}
	var err error
	func() {
		defer d.recoverFatal("open", &err)
		d.db, err = pebble.Open(dir, po)
	}()
	if err != nil {
		return nil, fmt.Errorf("runtime: open pebble in %q: %w", dir, err)
	}
	return d, nil
}

// Close closes the database: it flushes nothing that Commit did not, but
// waits for pebble's background work and syncs what it wrote. After Close
// every call returns ErrClosed. Closing a poisoned Disk releases what it
// can: pebble may panic on the state a corruption left (references it
// never released), and that panic is returned as an error, for the
// process is stopping anyway.
func (d *Disk) Close() (err error) {
	if !d.closed.CompareAndSwap(false, true) {
		return ErrClosed
	}
	if fe := d.fatal.Load(); fe != nil {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("runtime: close pebble in %q after %v: %v", d.dir, fe, r)
			}
		}()
	}
	defer d.recoverFatal("close", &err)
	if err := d.db.Close(); err != nil {
		return fmt.Errorf("runtime: close pebble in %q: %w", d.dir, err)
	}
	return nil
}

// usable reports why the Disk cannot be used, or nil.
func (d *Disk) usable() error {
	if fe := d.fatal.Load(); fe != nil {
		return fe
	}
	if d.closed.Load() {
		return ErrClosed
	}
	return nil
}

// recoverFatal turns a *FatalError panic raised by pebble through the
// logger into the error of the call named op, and poisons the Disk. Any
// other panic goes on.
func (d *Disk) recoverFatal(op string, err *error) {
	r := recover()
	if r == nil {
		return
	}
	fe, ok := r.(*FatalError)
	if !ok {
		panic(r)
	}
	if d.fatal.CompareAndSwap(nil, fe) && d.onFatal != nil {
		d.onFatal(fe)
	}
	*err = fmt.Errorf("runtime: %s: %w", op, fe)
}

// poisonOnCorruption makes a corruption pebble reports (a checksum that
// fails in a table, the WAL or the manifest) fatal: the data cannot be
// read again by retrying, so the Disk is poisoned and the node told to
// stop, as for a fatal error.
func (d *Disk) poisonOnCorruption(op string, err *error) {
	var fe *FatalError
	if *err == nil || errors.As(*err, &fe) || !pebble.IsCorruptionError(*err) {
		return
	}
	fe = &FatalError{Msg: fmt.Sprintf("%s: %v", op, *err)}
	if d.fatal.CompareAndSwap(nil, fe) && d.onFatal != nil {
		d.onFatal(fe)
	}
	*err = fmt.Errorf("runtime: %s: %w", op, fe)
}

// Get implements node.Disk.
func (d *Disk) Get(key []byte) (_ []byte, err error) {
	if err := d.usable(); err != nil {
		return nil, fmt.Errorf("runtime: get %x: %w", key, err)
	}
	defer d.poisonOnCorruption("get", &err)
	defer d.recoverFatal("get", &err)
	v, closer, err := d.db.Get(tagged(make([]byte, 0, 1+len(key)), key))
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, node.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("runtime: get %x: %w", key, err)
	}
	out := append(make([]byte, 0, len(v)), v...)
	if err := closer.Close(); err != nil {
		return nil, fmt.Errorf("runtime: get %x: release: %w", key, err)
	}
	return out, nil
}

// Iterate implements node.Disk. It reads a consistent snapshot taken when it
// starts: batches fn commits are not visited.
func (d *Disk) Iterate(prefix []byte, fn func(key, value []byte) error) (err error) {
	if err := d.usable(); err != nil {
		return fmt.Errorf("runtime: iterate %x: %w", prefix, err)
	}
	defer d.poisonOnCorruption("iterate", &err)
	defer d.recoverFatal("iterate", &err)
	lower := tagged(nil, prefix) // a copy: the bounds must not change under pebble
	it, err := d.db.NewIter(&pebble.IterOptions{
		LowerBound: lower,
		UpperBound: prefixEnd(lower),
	})
	if err != nil {
		return fmt.Errorf("runtime: iterate %x: %w", prefix, err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if !bytes.HasPrefix(k, lower) {
			break // cannot happen within the bounds; kept as a guard
		}
		v, verr := it.ValueAndErr()
		if verr != nil {
			_ = it.Close() // reports verr again
			return fmt.Errorf("runtime: iterate %x: value of %x: %w", prefix, k, verr)
		}
		if ferr := fn(k[1:], v); ferr != nil {
			_ = it.Close() // fn's error is the one to return
			return ferr
		}
	}
	if err := it.Close(); err != nil { // Close returns the iterator's error
		return fmt.Errorf("runtime: iterate %x: %w", prefix, err)
	}
	return nil
}

// prefixEnd is the least key greater than every key with the given prefix,
// or nil, meaning no upper bound, when there is none (the prefix is empty or
// all 0xff).
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] != 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// NewBatch implements node.Disk.
func (d *Disk) NewBatch() node.Batch {
	return &batch{d: d, pb: d.db.NewBatch()}
}

type batch struct {
	d   *Disk
	pb  *pebble.Batch // nil once committed: pebble recycles its batches
	n   int
	key []byte // the tagged key being written; pebble copies it
}

// Set implements node.Batch. It copies key and value. After Commit it does
// nothing.
func (b *batch) Set(key, value []byte) {
	if b.pb == nil {
		return
	}
	b.key = tagged(b.key[:0], key)
	_ = b.pb.Set(b.key, value, nil) // fails only on indexed batches
	b.n++
}

// Delete implements node.Batch. It copies key. After Commit it does
// nothing.
func (b *batch) Delete(key []byte) {
	if b.pb == nil {
		return
	}
	b.key = tagged(b.key[:0], key)
	_ = b.pb.Delete(b.key, nil) // fails only on indexed batches
	b.n++
}

// Len implements node.Batch.
func (b *batch) Len() int { return b.n }

// Commit implements node.Batch: the batch goes into the memtable and the
// write-ahead log, unsynced. It is visible at once and survives the
// process; Sync makes it survive the machine.
func (b *batch) Commit() (err error) {
	if b.pb == nil {
		return ErrBatchCommitted
	}
	pb := b.pb
	b.pb = nil
	defer func() { _ = pb.Close() }()
	if err := b.d.usable(); err != nil {
		return fmt.Errorf("runtime: commit %d writes: %w", b.n, err)
	}
	defer b.d.recoverFatal("commit", &err)
	if err := pb.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("runtime: commit %d writes: %w", b.n, err)
	}
	return nil
}

// Sync makes every batch committed so far durable: it returns once the
// write-ahead log holding them is synced. Pebble's log is written in order,
// so syncing it through a record syncs everything before. Several
// goroutines may call Sync at once; the Loop's writer does, one call for
// every group of syncs its node asked for (group commit).
func (d *Disk) Sync() (err error) {
	if err := d.usable(); err != nil {
		return fmt.Errorf("runtime: sync: %w", err)
	}
	defer d.recoverFatal("sync", &err)
	// An empty batch would not touch the log: a zero-length log-data
	// record makes the write, and the sync, reach it.
	if err := d.db.LogData(nil, pebble.Sync); err != nil {
		return fmt.Errorf("runtime: sync: %w", err)
	}
	return nil
}

// fatalPanics wraps a logger so that Fatalf logs at error level and panics
// with a *FatalError instead of exiting.
type fatalPanics struct{ l pebble.Logger }

func (f fatalPanics) Infof(format string, args ...any)  { f.l.Infof(format, args...) }
func (f fatalPanics) Errorf(format string, args ...any) { f.l.Errorf(format, args...) }
func (f fatalPanics) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	f.l.Errorf("fatal: %s", msg)
	panic(&FatalError{Msg: msg})
}

// stdLogger logs through the standard library's log package. Its Fatalf
// never runs: fatalPanics does not call it.
type stdLogger struct{}

func (stdLogger) Infof(format string, args ...any) {
	log.Output(2, "pebble: "+fmt.Sprintf(format, args...))
}

func (stdLogger) Errorf(format string, args ...any) {
	log.Output(2, "pebble: ERROR: "+fmt.Sprintf(format, args...))
}

func (stdLogger) Fatalf(format string, args ...any) {
	log.Output(2, "pebble: FATAL: "+fmt.Sprintf(format, args...))
	panic(&FatalError{Msg: fmt.Sprintf(format, args...)})
}
