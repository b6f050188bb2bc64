package sim

// The simulated disk is only worth what its model of a real disk is worth.
// These tests hold it to the production Disk (pebble, through node/runtime)
// on pebble's in-memory file systems: the same operations must give the
// same answers, and after a crash (vfs.MemFS.CrashClone keeping exactly the
// synced data) pebble must keep exactly what sim.Disk.Crash keeps, with
// TornWrite at 0 (a torn tail is a fault pebble does not have: it drops a
// torn batch whole).

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"pgregory.net/rapid"

	"github.com/meganode/meganode/node"
	noderuntime "github.com/meganode/meganode/node/runtime"
)

// honestyKeys is a small key space, so that reads hit and writes overwrite,
// with keys that share prefixes and keys at the edges of the byte order.
var honestyKeys = []string{
	"", "\x00", "a", "a/", "a/1", "a/10", "a/2", "a0", "ab", "b", "b/1",
	"\xfe\xff", "\xff", "\xff\xfe", "\xff\xff", "\xff\xff\x00",
}

// genKey draws a key (or a prefix): mostly from honestyKeys, sometimes a
// short string over the bytes those keys use.
func genKey() *rapid.Generator[[]byte] {
	return rapid.OneOf(
		rapid.Map(rapid.SampledFrom(honestyKeys), func(s string) []byte { return []byte(s) }),
		rapid.Map(rapid.SampledFrom(honestyKeys), func(s string) []byte { return []byte(s) }),
		rapid.SliceOfN(rapid.SampledFrom([]byte{0x00, '/', '1', 'a', 'b', 0xfe, 0xff}), 0, 4),
	)
}

// honestyOp is one write of a batch.
type honestyOp struct {
	Key, Value []byte
	Del        bool
}

func (o honestyOp) String() string {
	if o.Del {
		return fmt.Sprintf("del %q", o.Key)
	}
	return fmt.Sprintf("set %q=%q", o.Key, o.Value)
}

// honestyBatch is a batch and how it is committed. It may be empty: an
// empty synced batch still syncs the batches before it.
type honestyBatch struct {
	Ops  []honestyOp
	Sync bool
}

func genBatch() *rapid.Generator[honestyBatch] {
	op := rapid.Custom(func(t *rapid.T) honestyOp {
		o := honestyOp{Key: genKey().Draw(t, "key")}
		if rapid.IntRange(0, 3).Draw(t, "kind") == 0 {
			o.Del = true
		} else {
			o.Value = rapid.SliceOfN(rapid.Byte(), 0, 6).Draw(t, "value")
		}
		return o
	})
	return rapid.Custom(func(t *rapid.T) honestyBatch {
		return honestyBatch{
			Ops:  rapid.SliceOfN(op, 0, 5).Draw(t, "ops"),
			Sync: rapid.Bool().Draw(t, "sync"),
		}
	})
}

// apply commits b to d and checks the batch's Len on the way.
func (b honestyBatch) apply(d node.Disk) error {
	nb := d.NewBatch()
	for _, o := range b.Ops {
		if o.Del {
			nb.Delete(o.Key)
		} else {
			nb.Set(o.Key, o.Value)
		}
	}
	if nb.Len() != len(b.Ops) {
		return fmt.Errorf("batch Len = %d after %d writes", nb.Len(), len(b.Ops))
	}
	if err := nb.Commit(); err != nil {
		return err
	}
	if b.Sync {
		return d.(interface{ Sync() error }).Sync()
	}
	return nil
}

// logLines keeps pebble's log lines; pebble's background goroutines may log
// after a test ends, so it must not write to a testing.T.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) add(level, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level+": "+fmt.Sprintf(format, args...))
}

func (l *logLines) Infof(format string, args ...any)  { l.add("info", format, args...) }
func (l *logLines) Errorf(format string, args ...any) { l.add("error", format, args...) }
func (l *logLines) Fatalf(format string, args ...any) { l.add("fatal", format, args...) }

// honestyT is what both testing.T and rapid.T offer the helpers here.
type honestyT interface {
	Helper()
	Fatalf(format string, args ...any)
}

func openPebble(t honestyT, fs vfs.FS) *noderuntime.Disk {
	t.Helper()
	d, err := noderuntime.OpenDiskFS(fs, "db", &noderuntime.Options{Logger: &logLines{}})
	if err != nil {
		t.Fatalf("open pebble: %v", err)
	}
	return d
}

func closePebble(t honestyT, d *noderuntime.Disk) {
	t.Helper()
	if err := d.Close(); err != nil {
		t.Fatalf("close pebble: %v", err)
	}
}

// scan lists "key=value" (quoted) for every key under prefix, in order.
func scan(t honestyT, name string, d node.Disk, prefix []byte) []string {
	t.Helper()
	out := []string{}
	if err := d.Iterate(prefix, func(k, v []byte) error {
		out = append(out, fmt.Sprintf("%q=%q", k, v))
		return nil
	}); err != nil {
		t.Fatalf("%s: Iterate(%q): %v", name, prefix, err)
	}
	return out
}

// sameContents fails unless pebble and the model list the same pairs under
// prefix.
func sameContents(t honestyT, pebble, model node.Disk, prefix []byte) {
	t.Helper()
	p, m := scan(t, "pebble", pebble, prefix), scan(t, "sim", model, prefix)
	if !slices.Equal(p, m) {
		t.Fatalf("Iterate(%q):\npebble: %v\nsim:    %v", prefix, p, m)
	}
}

// expectation is what survives crashes, computed independently of
// sim.Disk: the list of batches that are still there, replayed from an
// empty store. A crash keeps the survivors of earlier crashes and this
// epoch's batches up to and including the last synced one.
type expectation struct {
	survivors []honestyBatch // batches that outlived every crash so far
	epoch     []honestyBatch // batches since the last crash (or the start)
}

func (e *expectation) commit(b honestyBatch) { e.epoch = append(e.epoch, b) }

// crash returns how many batches it loses.
func (e *expectation) crash() (lost int) {
	keep := 0
	for i, b := range e.epoch {
		if b.Sync {
			keep = i + 1
		}
	}
	e.survivors = append(e.survivors, e.epoch[:keep]...)
	lost = len(e.epoch) - keep
	e.epoch = nil
	return lost
}

// replay lists the contents the given batches leave, as scan does.
func replay(batches ...[]honestyBatch) []string {
	kv := map[string][]byte{}
	for _, bs := range batches {
		for _, b := range bs {
			for _, o := range b.Ops {
				if o.Del {
					delete(kv, string(o.Key))
				} else {
					kv[string(o.Key)] = o.Value
				}
			}
		}
	}
	out := []string{}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range kv { // sorted: map order cannot leak
			if !yield(k) {
				return
			}
		}
	}) {
		out = append(out, fmt.Sprintf("%q=%q", k, kv[k]))
	}
	return out
}

// checkNoGoroutineLeak fails if, a while after fn returns, more goroutines
// run than before it: every pebble the tests open must be closed.
func checkNoGoroutineLeak(t *testing.T, fn func()) {
	t.Helper()
	before := goruntime.NumGoroutine()
	fn()
	deadline := time.Now().Add(5 * time.Second)
	for goruntime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := goruntime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		buf = buf[:goruntime.Stack(buf, true)]
		t.Fatalf("%d goroutines before, %d after: a pebble was left open?\n%s", before, n, buf)
	}
}

// TestDiskHonestyModel runs the same random operations on pebble and on the
// simulated disk and demands the same answers at every step: Get (equal
// values, or ErrNotFound from both), Iterate over random prefixes (equal
// lists), and the whole contents after every step. A clean restart (pebble
// closed and reopened; the simulated disk synced and crashed) loses nothing
// on either.
func TestDiskHonestyModel(t *testing.T) {
	checkNoGoroutineLeak(t, func() {
		rapid.Check(t, func(t *rapid.T) {
			fs := vfs.NewMem()
			pd := openPebble(t, fs)
			defer func() { closePebble(t, pd) }()
			sd := NewDisk(rand.New(rand.NewPCG(1, 2)))

			t.Repeat(map[string]func(*rapid.T){
				"get": func(t *rapid.T) {
					k := genKey().Draw(t, "key")
					pv, perr := pd.Get(k)
					sv, serr := sd.Get(k)
					switch {
					case errors.Is(perr, node.ErrNotFound) && errors.Is(serr, node.ErrNotFound):
					case perr != nil || serr != nil:
						t.Fatalf("Get(%q): pebble error %v, sim error %v", k, perr, serr)
					case !bytes.Equal(pv, sv):
						t.Fatalf("Get(%q): pebble %q, sim %q", k, pv, sv)
					}
				},
				"commit": func(t *rapid.T) {
					b := genBatch().Draw(t, "batch")
					if err := b.apply(pd); err != nil {
						t.Fatalf("pebble: %v", err)
					}
					if err := b.apply(sd); err != nil {
						t.Fatalf("sim: %v", err)
					}
					if b.Sync && sd.Unsynced() != 0 {
						t.Fatalf("sim: %d batches unsynced after a synced commit", sd.Unsynced())
					}
				},
				"iterate": func(t *rapid.T) {
					sameContents(t, pd, sd, genKey().Draw(t, "prefix"))
				},
				"restart": func(t *rapid.T) {
					closePebble(t, pd)
					pd = openPebble(t, fs)
					sd.Sync()
					if lost, torn := sd.Crash(); lost != 0 || torn {
						t.Fatalf("sim: a crash after Sync lost %d batches (torn %t)", lost, torn)
					}
				},
				"": func(t *rapid.T) {
					sameContents(t, pd, sd, nil)
				},
			})
		})
	})
}

// honestyStep is a batch, or a crash when Crash is set.
type honestyStep struct {
	Crash bool
	Batch honestyBatch
}

func (s honestyStep) String() string {
	if s.Crash {
		return "crash"
	}
	ops := make([]string, len(s.Batch.Ops))
	for i, o := range s.Batch.Ops {
		ops[i] = o.String()
	}
	return fmt.Sprintf("commit(sync %t)[%s]", s.Batch.Sync, strings.Join(ops, ", "))
}

func genSteps() *rapid.Generator[[]honestyStep] {
	step := rapid.Custom(func(t *rapid.T) honestyStep {
		if rapid.IntRange(0, 5).Draw(t, "crash?") == 0 {
			return honestyStep{Crash: true}
		}
		return honestyStep{Batch: genBatch().Draw(t, "batch")}
	})
	return rapid.Custom(func(t *rapid.T) []honestyStep {
		steps := rapid.SliceOfN(step, 1, 30).Draw(t, "steps")
		return append(steps, honestyStep{Crash: true}) // always end with a crash
	})
}

// crashRun runs steps on pebble over a crashable file system, on sim.Disk
// and on the expectation. At a crash it reopens pebble on a crash clone of
// its file system that keeps exactly the synced data, crashes sim.Disk, and
// checks that both hold exactly what the expectation replays. It returns
// whether pebble, after some crash, held something other than all the
// batches committed so far: the case a model that never loses a batch gets
// wrong.
func crashRun(t honestyT, steps []honestyStep) (lossSeen bool) {
	t.Helper()
	fs := vfs.NewCrashableMem()
	pd := openPebble(t, fs)
	defer func() { closePebble(t, pd) }()
	sd := NewDisk(rand.New(rand.NewPCG(1, 2)))
	sd.SetFaults(DiskFaults{TornWrite: 0})
	var exp expectation
	var all []honestyBatch // every batch committed: a model that never loses one

	for i, s := range steps {
		if !s.Crash {
			if err := s.Batch.apply(pd); err != nil {
				t.Fatalf("step %d: pebble: %v", i, err)
			}
			if err := s.Batch.apply(sd); err != nil {
				t.Fatalf("step %d: sim: %v", i, err)
			}
			exp.commit(s.Batch)
			all = append(all, s.Batch)
			continue
		}
		sameContents(t, pd, sd, nil) // before the crash, both see everything

		clone := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
		closePebble(t, pd) // Close syncs, but on fs, not on the clone
		fs = clone
		pd = openPebble(t, fs)

		want := exp.crash()
		lost, torn := sd.Crash()
		if torn || lost != want {
			t.Fatalf("step %d: sim crash lost %d batches (torn %t), the expectation %d", i, lost, torn, want)
		}
		expected := replay(exp.survivors)
		if got := scan(t, "pebble", pd, nil); !slices.Equal(got, expected) {
			t.Fatalf("step %d: after the crash pebble holds\n%v\nthe expectation\n%v", i, got, expected)
		}
		if got := scan(t, "sim", sd, nil); !slices.Equal(got, expected) {
			t.Fatalf("step %d: after the crash sim holds\n%v\nthe expectation\n%v", i, got, expected)
		}
		if !slices.Equal(expected, replay(all)) {
			lossSeen = true
		}
	}
	return lossSeen
}

// TestDiskHonestyCrash checks, on random sequences of batches (synced or
// not) and crashes, that pebble keeps exactly what was synced, that
// sim.Disk keeps the same, and that both match an expectation computed
// apart from either. It also checks that the comparison has teeth: on some
// generated case pebble disagrees with a model that keeps unsynced batches.
func TestDiskHonestyCrash(t *testing.T) {
	checkNoGoroutineLeak(t, func() {
		cases, losses := 0, 0
		rapid.Check(t, func(t *rapid.T) {
			cases++
			if crashRun(t, genSteps().Draw(t, "steps")) {
				losses++
			}
		})
		if !t.Failed() && losses == 0 {
			t.Fatalf("in %d cases pebble never lost an unsynced batch: the comparison has no teeth", cases)
		}
		t.Logf("%d cases, %d lost unsynced batches in a crash", cases, losses)
	})
}

// TestDiskHonestyCrashScenario is the crash model in one fixed sequence,
// with its losses spelled out: an unsynced batch before a synced one
// survives, the unsynced batches after the last sync do not, an empty
// synced batch syncs what came before it, and a second crash keeps what
// the first kept.
func TestDiskHonestyCrashScenario(t *testing.T) {
	set := func(sync bool, kv ...string) honestyStep {
		var ops []honestyOp
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "<del>" {
				ops = append(ops, honestyOp{Key: []byte(kv[i]), Del: true})
			} else {
				ops = append(ops, honestyOp{Key: []byte(kv[i]), Value: []byte(kv[i+1])})
			}
		}
		return honestyStep{Batch: honestyBatch{Ops: ops, Sync: sync}}
	}
	crash := honestyStep{Crash: true}
	checkNoGoroutineLeak(t, func() {
		steps := []honestyStep{
			set(false, "a", "1"),
			set(true, "b", "2"),
			set(false, "c", "3", "a", "<del>"),
			crash, // keeps a=1 b=2; loses the delete of a and c=3
			set(false, "d", "4"),
			set(true), // empty, synced: makes d durable
			set(false, "e", "5", "b", "<del>"),
			crash, // keeps a b d; loses e and the delete of b
		}
		if !crashRun(t, steps) {
			t.Fatal("the scenario lost nothing")
		}

		// The same steps, checked by hand.
		fs := vfs.NewCrashableMem()
		pd := openPebble(t, fs)
		for _, s := range steps[:3] {
			if err := s.Batch.apply(pd); err != nil {
				t.Fatal(err)
			}
		}
		clone := fs.CrashClone(vfs.CrashCloneCfg{})
		closePebble(t, pd)
		pd = openPebble(t, clone)
		defer closePebble(t, pd)
		got := scan(t, "pebble", pd, nil)
		if want := []string{`"a"="1"`, `"b"="2"`}; !slices.Equal(got, want) {
			t.Fatalf("after the first crash pebble holds %v, want %v", got, want)
		}
		// A model that kept the unsynced tail would say otherwise.
		if wrong := replay([]honestyBatch{steps[0].Batch, steps[1].Batch, steps[2].Batch}); slices.Equal(got, wrong) {
			t.Fatalf("pebble kept the unsynced batch: %v", got)
		}
	})
}
