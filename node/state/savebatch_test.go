package state

import (
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/memdisk"
	"pgregory.net/rapid"
)

var errInjected = errors.New("injected commit failure")

// flakyDisk is a memdisk whose batches fail to commit, applying nothing,
// while fail is set.
type flakyDisk struct {
	*memdisk.Disk
	fail bool
}

func (d *flakyDisk) NewBatch() node.Batch { return &flakyBatch{Batch: d.Disk.NewBatch(), d: d} }

type flakyBatch struct {
	node.Batch
	d *flakyDisk
}

func (b *flakyBatch) Commit() error {
	if b.d.fail {
		return errInjected
	}
	return b.Batch.Commit()
}

var keyCallerRecord = []byte("seq/snapshot-at")

// wantOnDisk checks that disk holds exactly the state want (or no snapshot
// when want is nil) and the caller's record rec (or none when rec is nil).
func wantOnDisk(t interface {
	Helper()
	Fatalf(string, ...any)
}, disk node.Disk, want *Mem, rec []byte) {
	t.Helper()
	got, err := Load(disk)
	switch {
	case want == nil:
		if !errors.Is(err, ErrNoSnapshot) {
			t.Fatalf("want no snapshot, Load says %v", err)
		}
	case err != nil:
		t.Fatalf("load: %v", err)
	default:
		if d := FirstDifference(want, got); d != "" {
			t.Fatalf("loaded state differs: %s", d)
		}
		if got.Root() != want.Root() {
			t.Fatalf("loaded root %v, want %v", got.Root(), want.Root())
		}
	}
	v, err := disk.Get(keyCallerRecord)
	if rec == nil {
		if !errors.Is(err, node.ErrNotFound) {
			t.Fatalf("caller record %x (%v), want none", v, err)
		}
	} else if err != nil || string(v) != string(rec) {
		t.Fatalf("caller record %x (%v), want %x", v, err, rec)
	}
}

// TestSaveBatchFailedCommitThenSuccess: a save whose commit fails changes
// nothing on disk and loses nothing: the next successful one writes it all.
func TestSaveBatchFailedCommitThenSuccess(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		disk := &flakyDisk{Disk: memdisk.New()}
		m := New()
		if rapid.Bool().Draw(t, "from disk") {
			// Start from a loaded snapshot, as a restarted node does.
			pre := New()
			if err := pre.Apply(genDiff().Draw(t, "pre")); err != nil {
				t.Fatal(err)
			}
			if err := pre.Save(disk); err != nil {
				t.Fatal(err)
			}
			var err error
			if m, err = Load(disk); err != nil {
				t.Fatal(err)
			}
		}
		var onDisk *Mem // what a Load must give; nil: no snapshot yet
		if _, err := Load(disk); err == nil {
			onDisk = m.clone()
		}
		var rec []byte
		for i := range rapid.IntRange(1, 10).Draw(t, "steps") {
			if err := m.Apply(genDiff().Draw(t, "d")); err != nil {
				t.Fatal(err)
			}
			if !rapid.Bool().Draw(t, "save") {
				continue
			}
			b := disk.NewBatch()
			done, err := m.SaveBatch(disk, b)
			if err != nil {
				t.Fatal(err)
			}
			staged := m.clone()
			myRec := []byte{byte(i)}
			b.Set(keyCallerRecord, myRec)
			if rapid.Bool().Draw(t, "apply before commit") {
				// The batch holds the state as staged; the change after it
				// must stay marked unsaved.
				if err := m.Apply(genDiff().Draw(t, "late")); err != nil {
					t.Fatal(err)
				}
			}
			disk.fail = rapid.Bool().Draw(t, "fail")
			if err := b.Commit(); err != nil {
				if !errors.Is(err, errInjected) {
					t.Fatal(err)
				}
				// done is not called.
			} else {
				done()
				onDisk, rec = staged, myRec
			}
			disk.fail = false
			wantOnDisk(t, disk, onDisk, rec)
		}
		// A final plain Save writes whatever is still unsaved.
		if err := m.Save(disk); err != nil {
			t.Fatal(err)
		}
		wantOnDisk(t, disk, m, rec)
	})
}

func TestSaveBatchFirstSaveFails(t *testing.T) {
	m, err := FromAlloc(types.GenesisAlloc{
		common.Address{1}: {Balance: big.NewInt(5), Code: []byte{1, 2, 3}, Storage: map[common.Hash]common.Hash{{1}: {1}, {2}: {2}}},
		common.Address{2}: {Nonce: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	disk := &flakyDisk{Disk: memdisk.New(), fail: true}
	b := disk.NewBatch()
	if _, err := m.SaveBatch(disk, b); err != nil {
		t.Fatal(err)
	}
	b.Set(keyCallerRecord, []byte{1})
	if err := b.Commit(); !errors.Is(err, errInjected) {
		t.Fatalf("commit: %v", err)
	}
	wantOnDisk(t, disk, nil, nil)
	if err := m.Save(disk); !errors.Is(err, errInjected) {
		t.Fatalf("Save on a failing disk: %v", err)
	}
	wantOnDisk(t, disk, nil, nil)

	// Change an account, then save for real with a caller record.
	if err := m.Apply(&chain.Diff{Accounts: []chain.AccountDiff{{Address: common.Address{1}, Flags: chain.Reset | chain.SetNonce, Nonce: 4,
		Storage: []chain.Slot{{Key: common.Hash{3}, Value: common.Hash{3}}}}}}); err != nil {
		t.Fatal(err)
	}
	disk.fail = false
	b = disk.NewBatch()
	done, err := m.SaveBatch(disk, b)
	if err != nil {
		t.Fatal(err)
	}
	b.Set(keyCallerRecord, []byte{2})
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	done()
	wantOnDisk(t, disk, m, []byte{2})
	if len(m.unsaved) != 0 || len(m.unsavedCodes) != 0 || !m.saved {
		t.Fatal("done left changes marked unsaved")
	}
}
