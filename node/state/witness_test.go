package state

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/rawdb"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/ethereum/go-ethereum/triedb"
	"github.com/meganode/meganode/node/chain"
	"pgregory.net/rapid"
)

// witnessDB is the node store a stateless validator builds from a witness.
func witnessDB(nodes [][]byte) *triedb.Database {
	db := rawdb.NewMemoryDatabase()
	for _, n := range nodes {
		rawdb.WriteLegacyTrieNode(db, crypto.Keccak256Hash(n), n)
	}
	return triedb.NewDatabase(db, triedb.HashDefaults)
}

// TestWitnessIsSufficient: for random pre-states and blocks of diffs, the
// witness lets a validator without the state read everything the block read
// and reach the root the full state computes, and the witness's own root
// agrees.
func TestWitnessIsSufficient(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := New()
		for range rapid.IntRange(0, 4).Draw(t, "pre") {
			if err := m.Apply(genDiff().Draw(t, "pre diff")); err != nil {
				t.Fatal(err)
			}
		}
		pre := m.Checkpoint()
		acc := NewAccess()
		var diffs []*chain.Diff
		for range rapid.IntRange(0, 4).Draw(t, "mini-blocks") {
			d := genDiff().Draw(t, "diff")
			// The executor reads what it writes first.
			for _, ad := range d.Accounts {
				acc.Account(ad.Address)
				for _, s := range ad.Storage {
					acc.Slot(ad.Address, s.Key)
				}
			}
			for range rapid.IntRange(0, 3).Draw(t, "reads") {
				a := common.BigToAddress(common.Big1)
				a[19] = byte(rapid.IntRange(1, 10).Draw(t, "read account"))
				acc.Slot(a, common.BigToHash(common.Big2))
			}
			if err := m.Apply(d); err != nil {
				t.Fatal(err)
			}
			diffs = append(diffs, d)
			if rapid.Bool().Draw(t, "stray root") {
				m.Root() // a reader asking for the root mid-block changes nothing
			}
		}
		w, err := m.Witness(acc, diffs)
		if err != nil {
			t.Fatal(err)
		}
		post := m.Root()
		if w.PreRoot != pre || w.PostRoot != post {
			t.Fatalf("witness roots %v→%v, state %v→%v", w.PreRoot, w.PostRoot, pre, post)
		}
		db := witnessDB(w.Nodes)
		got, err := ApplyStateless(db, pre, diffs)
		if err != nil {
			t.Fatalf("stateless apply: %v", err)
		}
		if got != post {
			t.Fatalf("stateless root %v, state %v", got, post)
		}
		// Every read works without the state.
		if pre == emptyRoot() {
			return
		}
		tr, err := trie.New(trie.StateTrieID(pre), db)
		if err != nil {
			t.Fatal(err)
		}
		for addr := range acc.accounts { // reads: order cannot matter
			if _, err := tr.Get(crypto.Keccak256(addr[:])); err != nil {
				t.Fatalf("read %v: %v", addr, err)
			}
		}
	})
}

func emptyRoot() common.Hash { return New().Root() }

// TestWitnessMissingNode: a witness without its root node is refused with
// a missing-node error, not a wrong root.
func TestWitnessMissingNode(t *testing.T) {
	m := New()
	d := &chain.Diff{}
	for i := range 40 {
		ad := chain.AccountDiff{Address: common.BigToAddress(common.Big1), Flags: chain.SetNonce, Nonce: 1}
		ad.Address[0] = byte(i)
		d.Accounts = append(d.Accounts, ad)
	}
	if err := m.Apply(d); err != nil {
		t.Fatal(err)
	}
	pre := m.Checkpoint()
	acc := NewAccess()
	change := &chain.Diff{Accounts: []chain.AccountDiff{{Address: d.Accounts[3].Address, Flags: chain.SetNonce, Nonce: 2}}}
	acc.Account(change.Accounts[0].Address)
	if err := m.Apply(change); err != nil {
		t.Fatal(err)
	}
	w, err := m.Witness(acc, []*chain.Diff{change})
	if err != nil {
		t.Fatal(err)
	}
	if w.PostRoot != m.Root() {
		t.Fatal("witness root differs from the state's")
	}
	var rest [][]byte
	for _, n := range w.Nodes {
		if crypto.Keccak256Hash(n) != pre {
			rest = append(rest, n)
		}
	}
	if len(rest) != len(w.Nodes)-1 {
		t.Fatalf("root node not in the witness (%d nodes)", len(w.Nodes))
	}
	_, err = ApplyStateless(witnessDB(rest), pre, []*chain.Diff{change})
	var missing *trie.MissingNodeError
	if !errors.As(err, &missing) {
		t.Fatalf("got %v, want a missing-node error", err)
	}
}

// TestWitnessBuiltAsTheBlockGoes: reading the witness at every mini-block
// (after its diff was applied, with roots computed in between) gives the
// witness that building it all at the seal gives, byte for byte; and a
// builder from before a checkpoint no longer claims the state.
func TestWitnessBuiltAsTheBlockGoes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := New()
		for range rapid.IntRange(0, 4).Draw(t, "pre") {
			if err := m.Apply(genDiff().Draw(t, "pre diff")); err != nil {
				t.Fatal(err)
			}
		}
		m.Checkpoint()
		b, err := m.NewWitnessBuilder()
		if err != nil {
			t.Fatal(err)
		}
		acc := NewAccess()
		var diffs []*chain.Diff
		for range rapid.IntRange(1, 5).Draw(t, "mini-blocks") {
			d := genDiff().Draw(t, "diff")
			for _, ad := range d.Accounts {
				acc.Account(ad.Address)
				for _, s := range ad.Storage {
					acc.Slot(ad.Address, s.Key)
				}
			}
			a := common.BigToAddress(common.Big1)
			a[19] = byte(rapid.IntRange(1, 10).Draw(t, "read account"))
			acc.Slot(a, common.BigToHash(common.Big2))
			if err := m.Apply(d); err != nil {
				t.Fatal(err)
			}
			diffs = append(diffs, d)
			if rapid.Bool().Draw(t, "root") {
				m.Root()
			}
			if !b.Of(m) {
				t.Fatal("the builder lost its state mid-block")
			}
			if err := b.Read(acc); err != nil {
				t.Fatal(err)
			}
		}
		got, err := b.Finish(acc, diffs)
		if err != nil {
			t.Fatal(err)
		}
		want, err := m.Witness(acc, diffs)
		if err != nil {
			t.Fatal(err)
		}
		if got.PreRoot != want.PreRoot || got.PostRoot != want.PostRoot || got.PostRoot != m.Root() {
			t.Fatalf("roots %v→%v, at the seal %v→%v", got.PreRoot, got.PostRoot, want.PreRoot, want.PostRoot)
		}
		if len(got.Nodes) != len(want.Nodes) || len(got.Codes) != len(want.Codes) {
			t.Fatalf("%d nodes %d codes, at the seal %d nodes %d codes", len(got.Nodes), len(got.Codes), len(want.Nodes), len(want.Codes))
		}
		for i := range got.Nodes {
			if !bytes.Equal(got.Nodes[i], want.Nodes[i]) {
				t.Fatalf("node %d differs", i)
			}
		}
		before := m.Root()
		m.Checkpoint()
		if b.Of(m) && before != got.PreRoot {
			t.Fatal("a builder claims the state after a checkpoint moved its base")
		}
	})
}
