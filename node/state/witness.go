package state

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/ethereum/go-ethereum/triedb/database"
	"github.com/holiman/uint256"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/chain"
)

// Access is what a block's execution read from the state it started on:
// accounts (whether or not they existed), storage slots and codes. With the
// block's diffs it decides which trie nodes go into the block's witness.
type Access struct {
	accounts map[common.Address]struct{}
	slots    map[common.Address]map[common.Hash]struct{}
	codes    map[common.Hash]struct{}
	// log lists the accounts and slots in the order they were first read,
	// so that a WitnessBuilder can read the new ones as the block goes.
	log []accessed
}

// accessed is an account (slot false) or a slot first read.
type accessed struct {
	addr common.Address
	key  common.Hash
	slot bool
}

// NewAccess returns an empty Access.
func NewAccess() *Access {
	return &Access{
		accounts: make(map[common.Address]struct{}),
		slots:    make(map[common.Address]map[common.Hash]struct{}),
		codes:    make(map[common.Hash]struct{}),
	}
}

// Account records a read of an account.
func (a *Access) Account(addr common.Address) {
	if _, ok := a.accounts[addr]; !ok {
		a.accounts[addr] = struct{}{}
		a.log = append(a.log, accessed{addr: addr})
	}
}

// Slot records a read of a storage slot (and of its account).
func (a *Access) Slot(addr common.Address, key common.Hash) {
	a.Account(addr)
	s := a.slots[addr]
	if s == nil {
		s = make(map[common.Hash]struct{})
		a.slots[addr] = s
	}
	if _, ok := s[key]; !ok {
		s[key] = struct{}{}
		a.log = append(a.log, accessed{addr: addr, key: key, slot: true})
	}
}

// Code records a read of a code.
func (a *Access) Code(h common.Hash) {
	if h != types.EmptyCodeHash {
		a.codes[h] = struct{}{}
	}
}

// Len is the number of accounts, slots and codes recorded.
func (a *Access) Len() (accounts, slots, codes int) {
	for _, s := range a.slots { // counting: order cannot leak
		slots += len(s)
	}
	return len(a.accounts), slots, len(a.codes)
}

// Recorder is a Reader that records in Access every read made through it,
// so that the executor running on it leaves the block's read set behind.
type Recorder struct {
	Reader
	Access *Access
}

// Account implements Reader.
func (r Recorder) Account(addr common.Address) (Account, bool) {
	r.Access.Account(addr)
	return r.Reader.Account(addr)
}

// Storage implements Reader.
func (r Recorder) Storage(addr common.Address, key common.Hash) common.Hash {
	r.Access.Slot(addr, key)
	return r.Reader.Storage(addr, key)
}

// Code implements Reader.
func (r Recorder) Code(h common.Hash) []byte {
	r.Access.Code(h)
	return r.Reader.Code(h)
}

// ReadOnly makes a State of a Reader for an executor that only reads (it
// is never flushed): Apply, Root, Copy and Save fail or panic.
type ReadOnly struct{ Reader }

// ErrReadOnly is returned by ReadOnly.Apply and Save.
var ErrReadOnly = errors.New("state: read-only")

// Apply implements State: it always fails.
func (ReadOnly) Apply(*chain.Diff) error { return ErrReadOnly }

// Root implements State: a read-only view has no commitment.
func (ReadOnly) Root() common.Hash { panic("state: Root of a read-only view") }

// Copy implements State.
func (r ReadOnly) Copy() State { return r }

// Save implements State: it always fails.
func (ReadOnly) Save(node.Disk) error { return ErrReadOnly }

// Witness is the stateless part of a block's witness: the trie nodes and
// codes a validator without the state needs to re-execute the block from
// the pre-state root. It is go-ethereum's core/stateless Witness without
// the headers, which the sequencer adds from its chain.
type Witness struct {
	PreRoot  common.Hash
	PostRoot common.Hash // the root the block's diffs lead to, computed from the witness alone
	Nodes    [][]byte    // RLP trie nodes, account and storage tries together, ascending
	Codes    [][]byte    // ascending
}

// Witness builds the witness of the changes made to m since the last
// Checkpoint, which nodes take at every sealed block: acc is what the block
// read, and diffs are its mini-blocks' diffs, in order (their merge is what
// m applied since the Checkpoint). The nodes are those a validator touches when it reads every
// account and slot in acc and then applies the block's net change the way
// go-ethereum's StateDB commits it (updates before deletions); PostRoot is
// the root it reaches, which must equal m.Root() afterwards.
func (m *Mem) Witness(acc *Access, diffs []*chain.Diff) (*Witness, error) {
	b, err := m.NewWitnessBuilder()
	if err != nil {
		return nil, err
	}
	return b.Finish(acc, diffs)
}

// WitnessBuilder builds a block's witness as the block goes: Read, called
// at each mini-block, reads from the checkpoint's tries what the block
// read since the last call, so that Finish, at the seal, has only the
// last reads and the block's net change left to do. It gives the witness
// Mem.Witness gives (the nodes a read touches do not depend on when it is
// made). It is valid until the state's next Checkpoint.
type WitnessBuilder struct {
	m     *Mem
	pre   common.Hash
	tries *witnessTries
	read  int // acc.log[:read] is read
}

// NewWitnessBuilder starts the witness of the changes made to m since its
// last Checkpoint.
func (m *Mem) NewWitnessBuilder() (*WitnessBuilder, error) {
	if m.markTrie == nil {
		return nil, errors.New("witness: the state has no checkpoint")
	}
	src := &proofSource{m: m, owners: map[common.Hash]*trie.Trie{}, cache: map[string][]byte{}}
	pre := m.markTrie.Hash()
	tries, err := openWitnessTries(pre, src, func(owner common.Hash, addr common.Address) {
		src.owners[owner] = m.committedStorage(addr)
	})
	if err != nil {
		return nil, err
	}
	return &WitnessBuilder{m: m, pre: pre, tries: tries}, nil
}

// Of reports whether b still builds m's witness: m's checkpoint is the one
// b started from.
func (b *WitnessBuilder) Of(m *Mem) bool {
	return b.m == m && m.markTrie != nil && m.markTrie.Hash() == b.pre
}

// Read reads every account and slot acc recorded since the last Read.
func (b *WitnessBuilder) Read(acc *Access) error {
	for ; b.read < len(acc.log); b.read++ {
		a := acc.log[b.read]
		if _, err := b.tries.account(a.addr); err != nil {
			return err
		}
		if !a.slot {
			continue
		}
		t, err := b.tries.storageTrie(a.addr)
		if err != nil {
			return err
		}
		if _, err := t.Get(crypto.Keccak256(a.key[:])); err != nil {
			return fmt.Errorf("witness: slot %v of %v: %w", a.key, a.addr, err)
		}
	}
	return nil
}

// Finish reads what acc recorded since the last Read, applies the block's
// diffs (its mini-blocks', in order) and returns the witness.
func (b *WitnessBuilder) Finish(acc *Access, diffs []*chain.Diff) (*Witness, error) {
	m, tries := b.m, b.tries
	if err := b.Read(acc); err != nil {
		return nil, err
	}
	w := &Witness{PreRoot: b.pre}
	var err error
	if w.PostRoot, err = tries.apply(mergeDiffs(diffs)); err != nil {
		return nil, err
	}
	nodes := tries.nodes()
	w.Nodes = make([][]byte, 0, len(nodes))
	for _, n := range nodes { // sorted below: order cannot leak
		w.Nodes = append(w.Nodes, n)
	}
	slices.SortFunc(w.Nodes, bytes.Compare)
	for h := range acc.codes { // sorted below: order cannot leak
		if code := m.Code(h); len(code) > 0 {
			w.Codes = append(w.Codes, code)
		}
	}
	slices.SortFunc(w.Codes, bytes.Compare)
	return w, nil
}

// ApplyStateless applies diffs, merged, to the state with root preRoot
// whose trie nodes db holds (a witness), the same way Mem.Witness does, and
// returns the root it reaches. A validator uses it to check a block's diffs
// against its header; a node the diffs need that db lacks is an error.
func ApplyStateless(db database.NodeDatabase, preRoot common.Hash, diffs []*chain.Diff) (common.Hash, error) {
	tries, err := openWitnessTries(preRoot, db, nil)
	if err != nil {
		return common.Hash{}, err
	}
	return tries.apply(mergeDiffs(diffs))
}

func mergeDiffs(diffs []*chain.Diff) *chain.Diff {
	net := &chain.Diff{}
	for _, d := range diffs {
		if !d.Empty() {
			net = net.Merge(d)
		}
	}
	return net
}

// committedStorage is addr's storage trie as of the last Checkpoint, or
// nil if the account did not exist then. It is the caller's to keep: a
// later Root updates the account's own trie, not this one.
func (m *Mem) committedStorage(addr common.Address) *trie.Trie {
	if t, ok := m.marked[addr]; ok {
		return t
	}
	if a := m.accounts[addr]; a != nil && a.trie != nil {
		// Unchanged since the checkpoint, so far: the live trie, no copy.
		// A change before the next checkpoint captures it first (capture
		// keeps this very object and goes on with a copy), so the witness
		// keeps reading the checkpoint's trie.
		return a.trie
	}
	return nil // created since
}

// proofSource serves trie nodes of m's tries as of the last Checkpoint to a trie
// opened on them, by proving a key through the node's path: the in-memory
// tries have no node store to read from.
type proofSource struct {
	m      *Mem
	owners map[common.Hash]*trie.Trie // storage trie of each account hash opened
	cache  map[string][]byte          // node hash → node, from the proofs made so far
}

func (s *proofSource) NodeReader(common.Hash) (database.NodeReader, error) { return s, nil }

func (s *proofSource) Node(owner common.Hash, path []byte, hash common.Hash) ([]byte, error) {
	if blob, ok := s.cache[string(hash[:])]; ok {
		return blob, nil
	}
	t := s.m.markTrie
	if owner != (common.Hash{}) {
		t = s.owners[owner]
	}
	if t == nil {
		return nil, nil
	}
	// Any key through path passes the node at path.
	var key [32]byte
	for i, nib := range path {
		if i >= 64 {
			break
		}
		key[i/2] |= nib << (4 * (1 - i%2))
	}
	if err := t.Prove(key[:], s); err != nil {
		return nil, err
	}
	return s.cache[string(hash[:])], nil
}

func (s *proofSource) Put(key, value []byte) error {
	s.cache[string(key)] = value
	return nil
}

func (s *proofSource) Delete(key []byte) error { return nil }

// witnessTries are a block's tries opened on a node source at its
// pre-state root.
type witnessTries struct {
	root     common.Hash
	db       database.NodeDatabase
	onOpen   func(owner common.Hash, addr common.Address) // before a storage trie opens
	accounts *trie.Trie
	storage  map[common.Address]*trie.Trie
	pre      map[common.Address]*types.StateAccount // nil entry: absent before
}

func openWitnessTries(root common.Hash, db database.NodeDatabase, onOpen func(common.Hash, common.Address)) (*witnessTries, error) {
	t, err := trie.New(trie.StateTrieID(root), db)
	if err != nil {
		return nil, fmt.Errorf("witness: account trie: %w", err)
	}
	return &witnessTries{
		root: root, db: db, onOpen: onOpen, accounts: t,
		storage: map[common.Address]*trie.Trie{}, pre: map[common.Address]*types.StateAccount{},
	}, nil
}

// account reads addr's account as it was before the block.
func (w *witnessTries) account(addr common.Address) (*types.StateAccount, error) {
	if a, ok := w.pre[addr]; ok {
		return a, nil
	}
	enc, err := w.accounts.Get(crypto.Keccak256(addr[:]))
	if err != nil {
		return nil, fmt.Errorf("witness: account %v: %w", addr, err)
	}
	var a *types.StateAccount
	if len(enc) > 0 {
		a = new(types.StateAccount)
		if err := rlp.DecodeBytes(enc, a); err != nil {
			return nil, fmt.Errorf("witness: account %v: %w", addr, err)
		}
	}
	w.pre[addr] = a
	return a, nil
}

// storageTrie opens addr's storage trie as it was before the block.
func (w *witnessTries) storageTrie(addr common.Address) (*trie.Trie, error) {
	if t, ok := w.storage[addr]; ok {
		return t, nil
	}
	a, err := w.account(addr)
	if err != nil {
		return nil, err
	}
	root := types.EmptyRootHash
	if a != nil {
		root = a.Root
	}
	owner := crypto.Keccak256Hash(addr[:])
	if w.onOpen != nil {
		w.onOpen(owner, addr)
	}
	t, err := trie.New(trie.StorageTrieID(w.root, owner, root), w.db)
	if err != nil {
		return nil, fmt.Errorf("witness: storage of %v: %w", addr, err)
	}
	w.storage[addr] = t
	return t, nil
}

// apply applies a net diff: each account's storage (updates, then
// deletions), then the accounts (updates, then deletions), as go-ethereum's
// StateDB commits a block, and returns the new root.
func (w *witnessTries) apply(net *chain.Diff) (common.Hash, error) {
	type upd struct {
		key, val []byte
	}
	var updates []upd
	var deletes [][]byte
	for i := range net.Accounts {
		ad := &net.Accounts[i]
		pre, err := w.account(ad.Address)
		if err != nil {
			return common.Hash{}, err
		}
		key := crypto.Keccak256(ad.Address[:])
		if ad.Flags&chain.Deleted != 0 {
			deletes = append(deletes, key)
			continue
		}
		post := types.StateAccount{Balance: new(uint256.Int), Root: types.EmptyRootHash, CodeHash: types.EmptyCodeHash[:]}
		fresh := pre == nil || ad.Flags&chain.Reset != 0
		if !fresh {
			post = types.StateAccount{Nonce: pre.Nonce, Balance: pre.Balance.Clone(), Root: pre.Root, CodeHash: pre.CodeHash}
		}
		if ad.Flags&chain.SetNonce != 0 {
			post.Nonce = ad.Nonce
		}
		if ad.Flags&chain.SetBalance != 0 {
			post.Balance = ad.Balance.Clone()
		}
		if ad.Flags&chain.SetCode != 0 {
			post.CodeHash = types.EmptyCodeHash[:]
			if len(ad.Code) > 0 {
				post.CodeHash = crypto.Keccak256(ad.Code)
			}
		}
		if len(ad.Storage) > 0 {
			var t *trie.Trie
			if fresh {
				t = trie.NewEmpty(nil)
			} else if t, err = w.storageTrie(ad.Address); err != nil {
				return common.Hash{}, err
			}
			var dels [][]byte
			for _, s := range ad.Storage {
				k := crypto.Keccak256(s.Key[:])
				if s.Value == (common.Hash{}) {
					dels = append(dels, k)
					continue
				}
				if err := t.Update(k, encodeSlot(s.Value)); err != nil {
					return common.Hash{}, fmt.Errorf("witness: slot %v of %v: %w", s.Key, ad.Address, err)
				}
			}
			for _, k := range dels {
				if err := t.Delete(k); err != nil {
					return common.Hash{}, fmt.Errorf("witness: slot of %v: %w", ad.Address, err)
				}
			}
			post.Root = t.Hash()
		} else if fresh {
			post.Root = types.EmptyRootHash
		}
		enc, err := rlp.EncodeToBytes(&post)
		if err != nil {
			return common.Hash{}, err
		}
		updates = append(updates, upd{key, enc})
	}
	for _, u := range updates {
		if err := w.accounts.Update(u.key, u.val); err != nil {
			return common.Hash{}, fmt.Errorf("witness: account update: %w", err)
		}
	}
	for _, k := range deletes {
		if err := w.accounts.Delete(k); err != nil {
			return common.Hash{}, fmt.Errorf("witness: account delete: %w", err)
		}
	}
	return w.accounts.Hash(), nil
}

// nodes is every trie node read so far, by hash.
func (w *witnessTries) nodes() map[common.Hash][]byte {
	out := map[common.Hash][]byte{}
	add := func(t *trie.Trie) {
		for _, n := range t.Witness() { // a set: order cannot leak
			out[crypto.Keccak256Hash(n)] = n
		}
	}
	add(w.accounts)
	for _, t := range w.storage { // a set: order cannot leak
		add(t)
	}
	return out
}

func cmpAddr(a, b common.Address) int { return bytes.Compare(a[:], b[:]) }
func cmpHash(a, b common.Hash) int    { return bytes.Compare(a[:], b[:]) }
