package runtime

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/meganode/meganode/node"
)

// quietLogger keeps pebble's messages instead of printing them; pebble's
// background goroutines may log after a test ends, so it must not use t.
type quietLogger struct {
	mu    sync.Mutex
	lines []string
}

func (l *quietLogger) add(level, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level+": "+fmt.Sprintf(format, args...))
}

func (l *quietLogger) Infof(format string, args ...any)  { l.add("info", format, args...) }
func (l *quietLogger) Errorf(format string, args ...any) { l.add("error", format, args...) }
func (l *quietLogger) Fatalf(format string, args ...any) { l.add("fatal", format, args...) }

func (l *quietLogger) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(l.lines, func(line string) bool { return bytes.Contains([]byte(line), []byte(s)) })
}

func open(t *testing.T, fs vfs.FS) *Disk {
	t.Helper()
	d, err := OpenDiskFS(fs, "db", &Options{Logger: &quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func closeDisk(t *testing.T, d *Disk) {
	t.Helper()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}

func commit(t *testing.T, d node.Disk, sync bool, kv ...string) {
	t.Helper()
	b := d.NewBatch()
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "<del>" {
			b.Delete([]byte(kv[i]))
		} else {
			b.Set([]byte(kv[i]), []byte(kv[i+1]))
		}
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := d.(*Disk).Sync(); err != nil {
			t.Fatal(err)
		}
	}
}

// dump lists "key=value" for every key under prefix, keys quoted.
func dump(t *testing.T, d node.Disk, prefix string) []string {
	t.Helper()
	out := []string{}
	if err := d.Iterate([]byte(prefix), func(k, v []byte) error {
		out = append(out, fmt.Sprintf("%q=%s", k, v))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	d := open(t, vfs.NewMem())
	defer closeDisk(t, d)

	if _, err := d.Get([]byte("a")); !errors.Is(err, node.ErrNotFound) {
		t.Fatalf("get of a missing key: %v", err)
	}
	b := d.NewBatch()
	key, val := []byte("a"), []byte("one")
	b.Set(key, val)
	b.Set([]byte("empty"), nil)
	b.Set([]byte("gone"), []byte("x"))
	b.Delete([]byte("gone"))
	key[0], val[0] = 'z', 'z' // the batch copied them
	if b.Len() != 4 {
		t.Fatalf("Len = %d, want 4", b.Len())
	}
	if _, err := d.Get([]byte("a")); !errors.Is(err, node.ErrNotFound) {
		t.Fatal("an uncommitted batch is visible")
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	v, err := d.Get([]byte("a"))
	if err != nil || string(v) != "one" {
		t.Fatalf("get a = %q, %v", v, err)
	}
	v[0] = 'X'
	if again, _ := d.Get([]byte("a")); string(again) != "one" {
		t.Fatal("Get returned pebble's buffer, not a copy")
	}
	if v, err := d.Get([]byte("empty")); err != nil || len(v) != 0 {
		t.Fatalf("get of an empty value = %q, %v", v, err)
	}
	if _, err := d.Get([]byte("gone")); !errors.Is(err, node.ErrNotFound) {
		t.Fatalf("get of a key set then deleted in one batch: %v", err)
	}
	if _, err := d.Get([]byte("z")); !errors.Is(err, node.ErrNotFound) {
		t.Fatal("the batch kept the caller's key slice")
	}

	commit(t, d, true, "a", "<del>", "b", "two")
	if _, err := d.Get([]byte("a")); !errors.Is(err, node.ErrNotFound) {
		t.Fatalf("get of a deleted key: %v", err)
	}
	if got := dump(t, d, ""); fmt.Sprint(got) != `["b"=two "empty"=]` {
		t.Fatalf("contents: %v", got)
	}
}

func TestIteratePrefixOrderAndBounds(t *testing.T) {
	d := open(t, vfs.NewMem())
	defer closeDisk(t, d)
	keys := []string{"b", "a0", "a/2", "a", "a/1", "\xff", "\xff\xff\x00", "\xff\xff", "\xfe\xff", "\xfe\xff\xff", "\xff\xfe", "", "\x00"}
	kv := []string{}
	for _, k := range keys {
		kv = append(kv, k, "v")
	}
	commit(t, d, false, kv...)

	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"", nil}, // every key: computed below
		{"a", []string{"a", "a/1", "a/2", "a0"}},
		{"a/", []string{"a/1", "a/2"}},
		{"a/1", []string{"a/1"}},
		{"a/3", nil},
		{"c", nil},
		{"\xfe\xff", []string{"\xfe\xff", "\xfe\xff\xff"}},
		{"\xff", []string{"\xff", "\xff\xfe", "\xff\xff", "\xff\xff\x00"}},
		{"\xff\xff", []string{"\xff\xff", "\xff\xff\x00"}},
		{"\xff\xff\xff", nil},
	} {
		if tc.prefix == "" {
			tc.want = slices.Sorted(slices.Values(keys))
		}
		want := []string{}
		for _, k := range tc.want {
			want = append(want, fmt.Sprintf("%q=v", k))
		}
		if got := dump(t, d, tc.prefix); !slices.Equal(got, want) {
			t.Errorf("Iterate(%q) = %v, want %v", tc.prefix, got, want)
		}
	}

	stop := errors.New("stop")
	n := 0
	err := d.Iterate([]byte("a"), func(k, v []byte) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if err != stop || n != 2 {
		t.Fatalf("Iterate stopped with %v after %d keys; want fn's own error after 2", err, n)
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, tc := range []struct{ prefix, end string }{
		{"", ""},
		{"a", "b"},
		{"a/", "a0"},
		{"a\xff", "b"},
		{"a\xff\xff", "b"},
		{"\xfe\xff", "\xff"},
		{"\xff", ""},
		{"\xff\xff\xff", ""},
		{"\x00", "\x01"},
	} {
		got := prefixEnd([]byte(tc.prefix))
		if tc.end == "" && got != nil {
			t.Errorf("prefixEnd(%q) = %q, want none", tc.prefix, got)
		}
		if tc.end != "" && string(got) != tc.end {
			t.Errorf("prefixEnd(%q) = %q, want %q", tc.prefix, got, tc.end)
		}
	}
}

func TestReopenKeepsData(t *testing.T) {
	check := func(t *testing.T, reopen func() *Disk) {
		d := reopen()
		commit(t, d, true, "k/1", "one", "k/2", "two")
		commit(t, d, false, "k/2", "<del>", "k/3", "three")
		closeDisk(t, d)
		d = reopen()
		defer closeDisk(t, d)
		if got := dump(t, d, ""); fmt.Sprint(got) != `["k/1"=one "k/3"=three]` {
			t.Fatalf("after reopen: %v", got)
		}
	}
	t.Run("mem", func(t *testing.T) {
		fs := vfs.NewMem()
		check(t, func() *Disk { return open(t, fs) })
	})
	t.Run("os", func(t *testing.T) {
		dir := t.TempDir()
		check(t, func() *Disk {
			d, err := OpenDisk(dir, &Options{Logger: &quietLogger{}})
			if err != nil {
				t.Fatal(err)
			}
			return d
		})
	})
}

func TestDoubleCommit(t *testing.T) {
	d := open(t, vfs.NewMem())
	defer closeDisk(t, d)
	b := d.NewBatch()
	b.Set([]byte("a"), []byte("1"))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Set([]byte("b"), []byte("2")) // misuse: ignored, pebble has the batch back
	if err := b.Commit(); !errors.Is(err, ErrBatchCommitted) {
		t.Fatalf("second commit: %v", err)
	}
	if got := dump(t, d, ""); fmt.Sprint(got) != `["a"=1]` {
		t.Fatalf("contents: %v", got)
	}
}

func TestClosed(t *testing.T) {
	d := open(t, vfs.NewMem())
	b := d.NewBatch()
	b.Set([]byte("a"), []byte("1"))
	closeDisk(t, d)
	if err := d.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	if err := b.Commit(); !errors.Is(err, ErrClosed) {
		t.Fatalf("commit after Close: %v", err)
	}
	if _, err := d.Get([]byte("a")); !errors.Is(err, ErrClosed) {
		t.Fatalf("get after Close: %v", err)
	}
	if err := d.Iterate(nil, func(k, v []byte) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Fatalf("iterate after Close: %v", err)
	}
}

// crashReopen opens the database on a crash clone of fs that keeps exactly
// the synced data, as after a power failure now.
func crashReopen(t *testing.T, fs *vfs.MemFS) *Disk {
	t.Helper()
	return open(t, fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0}))
}

func TestCrashKeepsExactlyTheSynced(t *testing.T) {
	fs := vfs.NewCrashableMem()
	d := open(t, fs)
	commit(t, d, false, "a", "1")
	commit(t, d, true, "b", "2") // syncs a too: the WAL is written in order
	commit(t, d, false, "c", "3", "a", "<del>")
	crashed := crashReopen(t, fs)
	closeDisk(t, d)
	defer closeDisk(t, crashed)
	if got := dump(t, crashed, ""); fmt.Sprint(got) != `["a"=1 "b"=2]` {
		t.Fatalf("after the crash: %v", got)
	}
}

// Pebble commits an empty batch without writing, let alone syncing, its
// WAL. The Disk's Sync writes an empty log record instead, so that it makes
// the batches before it durable, as sim.Disk's does, with no batch of its
// own.
func TestSyncMakesEarlierBatchesDurable(t *testing.T) {
	t.Run("pebble", func(t *testing.T) {
		// What pebble itself does, the reason for the workaround.
		fs := vfs.NewCrashableMem()
		db, err := pebble.Open("db", &pebble.Options{FS: fs, Logger: &quietLogger{}})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Set([]byte("a"), []byte("1"), pebble.NoSync); err != nil {
			t.Fatal(err)
		}
		if err := db.NewBatch().Commit(pebble.Sync); err != nil {
			t.Fatal(err)
		}
		crashed := crashReopen(t, fs)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		defer closeDisk(t, crashed)
		if got := dump(t, crashed, ""); len(got) != 0 {
			t.Fatalf("pebble now syncs on an empty batch (%v): Disk.Sync could commit one", got)
		}
	})
	t.Run("disk", func(t *testing.T) {
		fs := vfs.NewCrashableMem()
		d := open(t, fs)
		commit(t, d, false, "a", "1")
		if err := d.Sync(); err != nil {
			t.Fatal(err)
		}
		crashed := crashReopen(t, fs)
		closeDisk(t, d)
		defer closeDisk(t, crashed)
		if got := dump(t, crashed, ""); fmt.Sprint(got) != `["a"=1]` {
			t.Fatalf("after a sync and a crash: %v", got)
		}
		// The log record is invisible to readers.
		commit(t, crashed, true)
		if got := dump(t, crashed, ""); fmt.Sprint(got) != `["a"=1]` {
			t.Fatalf("after another sync: %v", got)
		}
	})
}

// A failed WAL write is fatal to pebble, whose default logger would exit
// the process. The Disk returns it from Commit and refuses further work.
func TestFatalCommitErrorIsReturned(t *testing.T) {
	writes := &errorfs.Toggle{Injector: errorfs.InjectorFunc(func(op errorfs.Op) error {
		if op.Kind.ReadOrWrite() == errorfs.OpIsWrite {
			return errorfs.ErrInjected
		}
		return nil
	})}
	logger := &quietLogger{}
	var told []*FatalError
	d, err := OpenDiskFS(errorfs.Wrap(vfs.NewMem(), writes), "db", &Options{Logger: logger, OnFatal: func(fe *FatalError) { told = append(told, fe) }})
	if err != nil {
		t.Fatal(err)
	}
	commit(t, d, true, "a", "1")
	writes.On()
	b := d.NewBatch()
	b.Set([]byte("b"), []byte("2"))
	err = b.Commit()
	if err == nil {
		err = d.Sync()
	}
	var fe *FatalError
	if !errors.As(err, &fe) {
		t.Fatalf("commit with failing writes: %v, want a *FatalError", err)
	}
	if !logger.contains("fatal commit error") {
		t.Fatal("the fatal error was not logged")
	}
	if _, err := d.Get([]byte("a")); !errors.As(err, &fe) {
		t.Fatalf("get after a fatal error: %v", err)
	}
	if err := d.NewBatch().Commit(); !errors.As(err, &fe) {
		t.Fatalf("commit after a fatal error: %v", err)
	}
	// The node is told once, to stop: retrying on a poisoned store is
	// no recovery.
	if len(told) != 1 || told[0] != fe {
		t.Fatalf("OnFatal called %d times (%v), want once with %v", len(told), told, fe)
	}
	writes.Off()
	_ = d.Close() // reports the WAL's sticky error; what matters is that it returns
}

// Pebble v2.1.7 crashes the process in a background flush when an sstable
// data block holds only the empty key. The Disk's key tag makes the empty
// key an ordinary one; reopening flushes what the WAL replays.
func TestEmptyKeySurvivesFlushes(t *testing.T) {
	fs := vfs.NewMem()
	big := string(bytes.Repeat([]byte("x"), 6000)) // fills a data block by itself
	for _, kv := range [][]string{
		{"", "v"},           // an sstable with only the empty key
		{"", big, "a", "1"}, // a data block with only the empty key
		{"", "<del>", "b", "2"},
	} {
		d := open(t, fs)
		commit(t, d, true, kv...)
		closeDisk(t, d)
	}
	d := open(t, fs)
	defer closeDisk(t, d)
	if got := dump(t, d, ""); fmt.Sprint(got) != `["a"=1 "b"=2]` {
		t.Fatalf("contents: %v", got)
	}
	commit(t, d, false, "", "again")
	if v, err := d.Get(nil); err != nil || string(v) != "again" {
		t.Fatalf("get of the empty key: %q, %v", v, err)
	}
}

// A table whose bytes were damaged on disk fails its checksum: the read
// returns a *FatalError, the Disk is poisoned and the node told to stop,
// since no retry can read it.
func TestCorruptionIsFatal(t *testing.T) {
	fs := vfs.NewMem()
	d, err := OpenDiskFS(fs, "db", &Options{Logger: &quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	b := d.NewBatch()
	for i := range 2000 {
		b.Set([]byte(fmt.Sprintf("key-%05d", i)), bytes.Repeat([]byte{byte(i)}, 100))
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := d.db.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	names, err := fs.List("db")
	if err != nil {
		t.Fatal(err)
	}
	damaged := false
	for _, n := range names {
		if !strings.HasSuffix(n, ".sst") {
			continue
		}
		f, err := fs.OpenReadWrite(fs.PathJoin("db", n), vfs.WriteCategoryUnspecified)
		if err != nil {
			t.Fatal(err)
		}
		st, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		junk := bytes.Repeat([]byte{0xA5}, 256)
		if _, err := f.WriteAt(junk, st.Size()/4); err != nil {
			t.Fatal(err)
		}
		_ = f.Close()
		damaged = true
	}
	if !damaged {
		t.Fatal("no table to damage")
	}
	var told []*FatalError
	d, err = OpenDiskFS(fs, "db", &Options{Logger: &quietLogger{}, OnFatal: func(fe *FatalError) { told = append(told, fe) }})
	if err != nil {
		t.Fatalf("open: %v", err) // tables are read lazily: open succeeds
	}
	defer d.Close()
	var fe *FatalError
	for i := range 2000 {
		if _, err = d.Get([]byte(fmt.Sprintf("key-%05d", i))); err != nil {
			break
		}
	}
	if !errors.As(err, &fe) || len(told) != 1 {
		t.Fatalf("reading a damaged table: %v (told %d times), want a *FatalError, told once", err, len(told))
	}
	if _, err := d.Get([]byte("key-00000")); !errors.As(err, &fe) {
		t.Fatalf("after the corruption: %v, want the Disk poisoned", err)
	}
}
