package state

import (
	"bytes"
	"errors"
	"math/big"
	"reflect"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/memdisk"
	"pgregory.net/rapid"
)

// genDiff draws canonical diffs over 8 addresses and 6 slots, so that
// accounts are created, changed, deleted and re-created across a sequence.
func genDiff() *rapid.Generator[*chain.Diff] {
	return rapid.Custom(func(t *rapid.T) *chain.Diff {
		d := new(chain.Diff)
		for a := range 8 {
			if rapid.IntRange(0, 2).Draw(t, "skip") == 0 {
				continue
			}
			ad := chain.AccountDiff{Address: common.BigToAddress(big.NewInt(int64(a + 1)))}
			switch rapid.IntRange(0, 9).Draw(t, "kind") {
			case 0:
				ad.Flags = chain.Deleted
				d.Accounts = append(d.Accounts, ad)
				continue
			case 1:
				ad.Flags = chain.Reset
			}
			if rapid.Bool().Draw(t, "nonce") {
				ad.Flags |= chain.SetNonce
				ad.Nonce = rapid.Uint64Range(0, 5).Draw(t, "n")
			}
			if rapid.Bool().Draw(t, "balance") {
				ad.Flags |= chain.SetBalance
				ad.Balance.SetUint64(rapid.Uint64Range(0, 1000).Draw(t, "b"))
			}
			if rapid.IntRange(0, 4).Draw(t, "code") == 0 {
				ad.Flags |= chain.SetCode
				ad.Code = []byte{}
				if rapid.Bool().Draw(t, "nonempty") {
					ad.Code = []byte{0x60, byte(rapid.IntRange(0, 3).Draw(t, "c"))}
				}
			}
			for s := range 6 {
				if rapid.IntRange(0, 2).Draw(t, "slot") == 0 {
					var v common.Hash
					if rapid.IntRange(0, 2).Draw(t, "zero") > 0 {
						v = common.BigToHash(big.NewInt(int64(rapid.IntRange(1, 1<<20).Draw(t, "v"))))
					}
					ad.Storage = append(ad.Storage, chain.Slot{Key: common.BigToHash(big.NewInt(int64(s))), Value: v})
				}
			}
			d.Accounts = append(d.Accounts, ad)
		}
		return d
	})
}

// rootFromScratch recomputes the state root from a dump with go-ethereum's
// StackTrie, independently of Mem's incremental tries.
func rootFromScratch(t interface{ Fatal(...any) }, dump []DumpAccount) common.Hash {
	type kv struct{ k, v []byte }
	sorted := func(in []kv) []kv {
		for i := 1; i < len(in); i++ {
			for j := i; j > 0 && bytes.Compare(in[j-1].k, in[j].k) > 0; j-- {
				in[j-1], in[j] = in[j], in[j-1]
			}
		}
		return in
	}
	var accs []kv
	for _, a := range dump {
		var slots []kv
		for _, s := range a.Storage {
			v, _ := rlp.EncodeToBytes(common.TrimLeftZeroes(s.Value[:]))
			slots = append(slots, kv{crypto.Keccak256(s.Key[:]), v})
		}
		st := trie.NewStackTrie(nil)
		for _, e := range sorted(slots) {
			if err := st.Update(e.k, e.v); err != nil {
				t.Fatal(err)
			}
		}
		enc, _ := rlp.EncodeToBytes(&types.StateAccount{Nonce: a.Nonce, Balance: &a.Balance, Root: st.Hash(), CodeHash: a.CodeHash[:]})
		accs = append(accs, kv{crypto.Keccak256(a.Address[:]), enc})
	}
	st := trie.NewStackTrie(nil)
	for _, e := range sorted(accs) {
		if err := st.Update(e.k, e.v); err != nil {
			t.Fatal(err)
		}
	}
	return st.Hash()
}

func TestIncrementalRootEqualsRootFromScratch(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := New()
		for i := range rapid.IntRange(1, 6).Draw(t, "steps") {
			if err := m.Apply(genDiff().Draw(t, "d")); err != nil {
				t.Fatal(err)
			}
			if rapid.Bool().Draw(t, "hash now") || i == 0 {
				if got, want := m.Root(), rootFromScratch(t, m.Dump()); got != want {
					t.Fatalf("step %d: incremental root %v, from scratch %v", i, got, want)
				}
			}
		}
		if got, want := m.Root(), rootFromScratch(t, m.Dump()); got != want {
			t.Fatalf("incremental root %v, from scratch %v", got, want)
		}
	})
}

func TestRootMatchesGoEthereumGenesis(t *testing.T) {
	alloc := types.GenesisAlloc{
		common.Address{1}: {Balance: big.NewInt(1e18)},
		common.Address{2}: {Nonce: 3, Code: []byte{0x60, 0x00, 0x60, 0x00, 0xf3}, Storage: map[common.Hash]common.Hash{{1}: {2}, {3}: {31: 4}}},
		common.Address{3}: {Balance: big.NewInt(0), Storage: map[common.Hash]common.Hash{{5}: {6}}},
		common.Address{4}: {}, // an empty account that exists
	}
	m, err := FromAlloc(alloc)
	if err != nil {
		t.Fatal(err)
	}
	want := (&core.Genesis{Config: params.MergedTestChainConfig, Alloc: alloc, BaseFee: big.NewInt(1)}).ToBlock().Root()
	if got := m.Root(); got != want {
		t.Fatalf("root %v, go-ethereum says %v", got, want)
	}
}

func TestApplyingAMergeEqualsApplyingInTurn(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		pre := New()
		if err := pre.Apply(genDiff().Draw(t, "pre")); err != nil {
			t.Fatal(err)
		}
		a, b := genDiff().Draw(t, "a"), genDiff().Draw(t, "b")
		seq := pre.clone()
		if err := seq.Apply(a); err != nil {
			t.Fatal(err)
		}
		if err := seq.Apply(b); err != nil {
			t.Fatal(err)
		}
		merged := pre.clone()
		if err := merged.Apply(a.Merge(b)); err != nil {
			t.Fatal(err)
		}
		if d := FirstDifference(seq, merged); d != "" {
			t.Fatalf("merge differs: %s", d)
		}
		if seq.Root() != merged.Root() {
			t.Fatal("roots differ")
		}
	})
}

func TestCopyIsIndependent(t *testing.T) {
	m, _ := FromAlloc(types.GenesisAlloc{common.Address{1}: {Balance: big.NewInt(5), Storage: map[common.Hash]common.Hash{{1}: {1}}}})
	root := m.Root()
	c := m.Copy()
	d := &chain.Diff{Accounts: []chain.AccountDiff{{Address: common.Address{1}, Flags: chain.SetNonce, Nonce: 9,
		Storage: []chain.Slot{{Key: common.Hash{1}, Value: common.Hash{}}, {Key: common.Hash{2}, Value: common.Hash{7}}}}}}
	if err := c.Apply(d); err != nil {
		t.Fatal(err)
	}
	if c.Root() == root {
		t.Fatal("the copy did not change")
	}
	if m.Root() != root || m.Storage(common.Address{1}, common.Hash{1}) != (common.Hash{1}) {
		t.Fatal("changing the copy changed the original")
	}
}

func TestApplyRefusesNonCanonicalDiff(t *testing.T) {
	m := New()
	bad := &chain.Diff{Accounts: []chain.AccountDiff{{Address: common.Address{2}}, {Address: common.Address{1}}}}
	if err := m.Apply(bad); !errors.Is(err, chain.ErrInvalidPayload) {
		t.Fatalf("got %v", err)
	}
	if n, _ := m.Len(); n != 0 {
		t.Fatal("a refused diff changed the state")
	}
}

func TestSaveLoadRoundTripIncremental(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		disk := memdisk.New()
		m := New()
		for range rapid.IntRange(1, 8).Draw(t, "steps") {
			if err := m.Apply(genDiff().Draw(t, "d")); err != nil {
				t.Fatal(err)
			}
			if rapid.Bool().Draw(t, "save") {
				if err := m.Save(disk); err != nil {
					t.Fatal(err)
				}
				got, err := Load(disk)
				if err != nil {
					t.Fatal(err)
				}
				if d := FirstDifference(m, got); d != "" {
					t.Fatalf("loaded state differs: %s", d)
				}
				if !reflect.DeepEqual(got.Dump(), m.Dump()) || got.Root() != m.Root() {
					t.Fatal("loaded state differs")
				}
			}
		}
	})
}

func savedState(t *testing.T) (*memdisk.Disk, *Mem) {
	t.Helper()
	m, _ := FromAlloc(types.GenesisAlloc{
		common.Address{1}: {Balance: big.NewInt(5), Code: []byte{1, 2, 3}, Storage: map[common.Hash]common.Hash{{1}: {1}, {2}: {2}}},
		common.Address{2}: {Nonce: 1},
	})
	disk := memdisk.New()
	if err := m.Save(disk); err != nil {
		t.Fatal(err)
	}
	return disk, m
}

func TestLoadDetectsCorruption(t *testing.T) {
	slotKey := join(prefixSlot, common.Address{1}.Bytes(), common.Hash{1}.Bytes())
	accKey := join(prefixAccount, common.Address{2}.Bytes())
	cases := map[string]func(d *memdisk.Disk){
		"flipped slot byte": func(d *memdisk.Disk) {
			v, _ := d.Get(slotKey)
			v[1] ^= 1
			set(d, slotKey, v)
		},
		"slot with a valid frame but another value": func(d *memdisk.Disk) {
			set(d, slotKey, chain.FrameRLP(formatSlotV1, []byte{9}))
		},
		"lost slot": func(d *memdisk.Disk) { del(d, slotKey) },
		"lost account": func(d *memdisk.Disk) {
			del(d, accKey)
		},
		"account from another format": func(d *memdisk.Disk) {
			v, _ := d.Get(accKey)
			p, _ := chain.Unframe(formatAccountV1, v)
			set(d, accKey, chain.Frame(formatSlotV1, p))
		},
		"truncated meta": func(d *memdisk.Disk) {
			v, _ := d.Get(keyMeta)
			set(d, keyMeta, v[:len(v)-1])
		},
	}
	for name, corrupt := range cases {
		t.Run(name, func(t *testing.T) {
			disk, _ := savedState(t)
			corrupt(disk)
			if _, err := Load(disk); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v, want ErrCorrupt", err)
			}
		})
	}
	if _, err := Load(memdisk.New()); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("empty disk: got %v", err)
	}
	disk, m := savedState(t)
	got, err := Load(disk)
	if err != nil || got.Root() != m.Root() {
		t.Fatalf("uncorrupted snapshot must load: %v", err)
	}
}

func set(d node.Disk, k, v []byte) {
	b := d.NewBatch()
	b.Set(k, v)
	_ = b.Commit()
}

func del(d node.Disk, k []byte) {
	b := d.NewBatch()
	b.Delete(k)
	_ = b.Commit()
}

func TestSaveWritesOnlyChanges(t *testing.T) {
	disk, m := savedState(t)
	before := disk.Len()
	// Re-create account 1 without slot 2: the old slots must go.
	d := &chain.Diff{Accounts: []chain.AccountDiff{{Address: common.Address{1}, Flags: chain.Reset | chain.SetNonce, Nonce: 1,
		Storage: []chain.Slot{{Key: common.Hash{1}, Value: common.Hash{3}}}}}}
	if err := m.Apply(d); err != nil {
		t.Fatal(err)
	}
	if err := m.Save(disk); err != nil {
		t.Fatal(err)
	}
	if disk.Len() != before-1 {
		t.Fatalf("disk holds %d keys, want %d", disk.Len(), before-1)
	}
	got, err := Load(disk)
	if err != nil {
		t.Fatal(err)
	}
	if diff := FirstDifference(m, got); diff != "" {
		t.Fatal(diff)
	}
}
