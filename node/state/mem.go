package state

import (
	"bytes"
	"fmt"
	"slices"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/meganode/meganode/node/chain"
)

// account is an account with its storage and the caches of its commitment.
type account struct {
	Account
	storage map[common.Hash]common.Hash // non-zero slots only

	hash     common.Hash // keccak256(address), the account's trie key
	trie     *trie.Trie  // storage trie; nil until the first Root
	rootDone bool        // root is current: no slot changed since it was computed
	root     common.Hash
	dirty    map[common.Hash]struct{} // slots changed since the last Root

	// What changed since the last Save.
	unsavedWipe  bool                     // storage on disk belongs to an earlier incarnation
	unsavedSlots map[common.Hash]struct{} // slots to write
}

func newAccount(addr common.Address) *account {
	return &account{
		Account:      Account{CodeHash: types.EmptyCodeHash},
		storage:      make(map[common.Hash]common.Hash),
		hash:         crypto.Keccak256Hash(addr[:]),
		dirty:        make(map[common.Hash]struct{}),
		unsavedSlots: make(map[common.Hash]struct{}),
	}
}

// Mem is the in-memory State.
type Mem struct {
	accounts map[common.Address]*account
	codes    map[common.Hash][]byte // every code ever stored, never removed: History relies on it

	trie  *trie.Trie                  // account trie
	dirty map[common.Address]struct{} // accounts changed since the last Root
	// The state as of the last Checkpoint, which Witness proves against:
	// the account trie then (geth's tries copy on write, so a copy stays
	// as it was), and the storage trie then of each account changed since,
	// captured before its first change (nil: the account did not exist).
	markTrie *trie.Trie
	marked   map[common.Address]*trie.Trie

	unsaved      map[common.Address]struct{} // accounts changed since the last Save
	unsavedCodes map[common.Hash]struct{}
	saved        bool // Save has run at least once on this value

	// version counts the diffs applied, so that SaveBatch's done and History
	// notice a change made since they looked.
	version uint64

	// Proofs (proof.go): proofMu is held for writing while the owner
	// changes the accounts map, a storage trie or the checkpoint, and for
	// reading while a proof looks them up from another goroutine; epoch
	// counts the checkpoints, and proofs serves the newest.
	proofMu sync.RWMutex
	epoch   uint64
	proofs  *Proofs
}

var _ State = (*Mem)(nil)

// New returns an empty state.
func New() *Mem {
	return &Mem{
		accounts:     make(map[common.Address]*account),
		codes:        make(map[common.Hash][]byte),
		trie:         trie.NewEmpty(nil),
		dirty:        make(map[common.Address]struct{}),
		marked:       make(map[common.Address]*trie.Trie),
		unsaved:      make(map[common.Address]struct{}),
		unsavedCodes: make(map[common.Hash]struct{}),
	}
}

// Account implements Reader.
func (m *Mem) Account(addr common.Address) (Account, bool) {
	a, ok := m.accounts[addr]
	if !ok {
		return Account{}, false
	}
	return a.Account, true
}

// Storage implements Reader.
func (m *Mem) Storage(addr common.Address, key common.Hash) common.Hash {
	if a, ok := m.accounts[addr]; ok {
		return a.storage[key]
	}
	return common.Hash{}
}

// Code implements Reader.
func (m *Mem) Code(codeHash common.Hash) []byte {
	if codeHash == types.EmptyCodeHash {
		return nil
	}
	return m.codes[codeHash]
}

// Len returns the number of accounts and of non-zero storage slots.
func (m *Mem) Len() (accounts, slots int) {
	for _, a := range m.accounts { // counting: order cannot leak
		slots += len(a.storage)
	}
	return len(m.accounts), slots
}

// Apply implements State.
func (m *Mem) Apply(d *chain.Diff) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("apply diff: %w", err)
	}
	m.apply(d, nil)
	return nil
}

// apply applies a diff that passed Validate. When newCodes is not nil, the
// hashes of the codes it stores for the first time are appended to it.
func (m *Mem) apply(d *chain.Diff, newCodes *[]common.Hash) {
	m.proofMu.Lock()
	defer m.proofMu.Unlock()
	m.version++
	for i := range d.Accounts {
		m.applyAccount(&d.Accounts[i], newCodes)
	}
}

// applyAccount applies one account's diff. An account that is deleted or
// reset is dropped and, if reset, replaced by a new one: the dropped
// account's storage map is never changed again, which lets History keep it
// as the storage before the wipe without copying it.
func (m *Mem) applyAccount(ad *chain.AccountDiff, newCodes *[]common.Hash) {
	addr := ad.Address
	m.dirty[addr] = struct{}{}
	m.unsaved[addr] = struct{}{}
	a := m.accounts[addr]
	if ad.Flags&(chain.Deleted|chain.Reset) != 0 && a != nil {
		m.capture(addr, a, true)
		delete(m.accounts, addr)
		a = nil
	}
	if ad.Flags&chain.Deleted != 0 {
		return
	}
	if a == nil {
		a = newAccount(addr)
		a.unsavedWipe = true
		m.accounts[addr] = a
	}
	if ad.Flags&chain.SetNonce != 0 {
		a.Nonce = ad.Nonce
	}
	if ad.Flags&chain.SetBalance != 0 {
		a.Balance = ad.Balance
	}
	if ad.Flags&chain.SetCode != 0 {
		if len(ad.Code) == 0 {
			a.CodeHash = types.EmptyCodeHash
		} else {
			h := crypto.Keccak256Hash(ad.Code)
			if _, ok := m.codes[h]; !ok {
				m.codes[h] = bytes.Clone(ad.Code)
				m.unsavedCodes[h] = struct{}{}
				if newCodes != nil {
					*newCodes = append(*newCodes, h)
				}
			}
			a.CodeHash = h
		}
	}
	for _, s := range ad.Storage {
		if s.Value == (common.Hash{}) {
			if _, ok := a.storage[s.Key]; !ok {
				continue
			}
			delete(a.storage, s.Key)
		} else {
			a.storage[s.Key] = s.Value
		}
		a.dirty[s.Key] = struct{}{}
		a.unsavedSlots[s.Key] = struct{}{}
		a.rootDone = false
	}
}

// Root implements State. It hashes only what changed since the last call.
func (m *Mem) Root() common.Hash {
	m.proofMu.Lock()
	defer m.proofMu.Unlock()
	return m.root(true)
}

// root brings the tries up to date and returns the state root. capture
// keeps what each changed storage trie was at the checkpoint (for the
// witness and the proofs of that checkpoint); Checkpoint, which starts a
// new one at once, needs none.
func (m *Mem) root(capture bool) common.Hash {
	for addr := range m.dirty { // order: trie updates commute, so the root does not depend on this order
		a := m.accounts[addr]
		key := crypto.Keccak256(addr[:])
		if a == nil {
			m.trie.MustDelete(key)
			continue
		}
		if capture {
			m.capture(addr, a, false)
		}
		enc, err := rlp.EncodeToBytes(&types.StateAccount{
			Nonce: a.Nonce, Balance: &a.Balance, Root: a.storageRoot(), CodeHash: a.CodeHash[:],
		})
		if err != nil {
			panic(err) // a StateAccount always encodes
		}
		m.trie.MustUpdate(a.hash[:], enc)
	}
	clear(m.dirty)
	return m.trie.Hash()
}

// Checkpoint computes the root and makes the state as it is now the base
// that Witness proves against, until the next Checkpoint. Nodes call it at
// every sealed block.
func (m *Mem) Checkpoint() common.Hash {
	m.proofMu.Lock()
	defer m.proofMu.Unlock()
	root := m.root(false)
	// One copy serves both: neither the witness (which reads it on the
	// owner's step) nor the proofs (which copy it for each proof) ever
	// change it, and its nodes are all hashed, so reads never write.
	m.markTrie = m.trie.Copy()
	clear(m.marked)
	m.epoch++
	m.proofs = &Proofs{m: m, epoch: m.epoch, root: root, accounts: m.markTrie}
	return root
}

// capture keeps a's storage trie as of the last Checkpoint, before its
// first change since. A nil trie is an account created since (all others
// got one from the Root that Checkpoint ran). The trie object itself is
// kept, never to change again (the witness may hold it already:
// committedStorage hands out the live trie of an unchanged account), and
// the account goes on with a copy, unless it is dropped.
func (m *Mem) capture(addr common.Address, a *account, dropped bool) {
	if m.markTrie == nil {
		return
	}
	if _, ok := m.marked[addr]; ok {
		return
	}
	m.marked[addr] = a.trie
	if a.trie != nil && !dropped {
		a.trie = a.trie.Copy()
	}
}

// storageRoot brings the account's storage trie up to date and returns its root.
func (a *account) storageRoot() common.Hash {
	if a.rootDone {
		return a.root
	}
	if a.trie == nil {
		a.trie = trie.NewEmpty(nil)
		for k, v := range a.storage { // trie inserts commute: order cannot leak
			a.trie.MustUpdate(crypto.Keccak256(k[:]), encodeSlot(v))
		}
	} else {
		for k := range a.dirty { // trie updates commute: order cannot leak
			if v, ok := a.storage[k]; ok {
				a.trie.MustUpdate(crypto.Keccak256(k[:]), encodeSlot(v))
			} else {
				a.trie.MustDelete(crypto.Keccak256(k[:]))
			}
		}
	}
	clear(a.dirty)
	a.root = a.trie.Hash()
	a.rootDone = true
	return a.root
}

// encodeSlot is the trie value of a storage slot: the RLP string of the
// value without leading zeros.
func encodeSlot(v common.Hash) []byte {
	enc, err := rlp.EncodeToBytes(common.TrimLeftZeroes(v[:]))
	if err != nil {
		panic(err)
	}
	return enc
}

// Copy implements State. The copy shares no mutable memory with m.
func (m *Mem) Copy() State { return m.clone() }

func (m *Mem) clone() *Mem {
	c := &Mem{
		accounts:     make(map[common.Address]*account, len(m.accounts)),
		codes:        make(map[common.Hash][]byte, len(m.codes)),
		trie:         m.trie.Copy(),
		dirty:        cloneSet(m.dirty),
		marked:       make(map[common.Address]*trie.Trie, len(m.marked)),
		unsaved:      cloneSet(m.unsaved),
		unsavedCodes: cloneSet(m.unsavedCodes),
		saved:        m.saved,
	}
	if m.markTrie != nil {
		c.markTrie = m.markTrie.Copy()
	}
	for addr, t := range m.marked { // copying a map: order cannot leak
		if t != nil {
			t = t.Copy()
		}
		c.marked[addr] = t
	}
	for h, code := range m.codes { // copying a map: order cannot leak; code slices are never mutated
		c.codes[h] = code
	}
	for addr, a := range m.accounts { // copying a map: order cannot leak
		na := *a
		na.storage = cloneMap(a.storage)
		na.dirty = cloneSet(a.dirty)
		na.unsavedSlots = cloneSet(a.unsavedSlots)
		if a.trie != nil {
			na.trie = a.trie.Copy()
		}
		c.accounts[addr] = &na
	}
	return c
}

func cloneSet[K comparable](s map[K]struct{}) map[K]struct{} {
	out := make(map[K]struct{}, len(s))
	for k := range s { // copying a set: order cannot leak
		out[k] = struct{}{}
	}
	return out
}

func cloneMap[K comparable, V any](s map[K]V) map[K]V {
	out := make(map[K]V, len(s))
	for k, v := range s { // copying a map: order cannot leak
		out[k] = v
	}
	return out
}

// DumpAccount is one account of a Dump.
type DumpAccount struct {
	Address common.Address
	Account
	Code    []byte
	Storage []chain.Slot // ascending by key
}

// Dump lists the whole state in ascending address order. It is for tests,
// checkers and debugging: it copies everything.
func (m *Mem) Dump() []DumpAccount {
	out := make([]DumpAccount, 0, len(m.accounts))
	for addr, a := range m.accounts { // sorted below: order cannot leak
		da := DumpAccount{Address: addr, Account: a.Account, Code: m.Code(a.CodeHash)}
		for k, v := range a.storage { // order: sorted below
			da.Storage = append(da.Storage, chain.Slot{Key: k, Value: v})
		}
		slices.SortFunc(da.Storage, func(x, y chain.Slot) int { return bytes.Compare(x.Key[:], y.Key[:]) })
		out = append(out, da)
	}
	slices.SortFunc(out, func(x, y DumpAccount) int { return bytes.Compare(x.Address[:], y.Address[:]) })
	return out
}

// FirstDifference compares two states and describes the first difference in
// address and slot order, or returns "" when they are equal. Checkers use it
// to say where two nodes diverged.
func FirstDifference(a, b *Mem) string {
	da, db := a.Dump(), b.Dump()
	for i := 0; i < len(da) || i < len(db); i++ {
		switch {
		case i == len(da):
			return fmt.Sprintf("account %v only on the right", db[i].Address)
		case i == len(db):
			return fmt.Sprintf("account %v only on the left", da[i].Address)
		case da[i].Address != db[i].Address:
			if bytes.Compare(da[i].Address[:], db[i].Address[:]) < 0 {
				return fmt.Sprintf("account %v only on the left", da[i].Address)
			}
			return fmt.Sprintf("account %v only on the right", db[i].Address)
		}
		x, y := &da[i], &db[i]
		switch {
		case x.Nonce != y.Nonce:
			return fmt.Sprintf("account %v nonce %d vs %d", x.Address, x.Nonce, y.Nonce)
		case x.Balance != y.Balance:
			return fmt.Sprintf("account %v balance %v vs %v", x.Address, &x.Balance, &y.Balance)
		case x.CodeHash != y.CodeHash:
			return fmt.Sprintf("account %v code hash %v vs %v", x.Address, x.CodeHash, y.CodeHash)
		}
		for k := 0; k < len(x.Storage) || k < len(y.Storage); k++ {
			switch {
			case k == len(x.Storage):
				return fmt.Sprintf("account %v slot %v = %v only on the right", x.Address, y.Storage[k].Key, y.Storage[k].Value)
			case k == len(y.Storage):
				return fmt.Sprintf("account %v slot %v = %v only on the left", x.Address, x.Storage[k].Key, x.Storage[k].Value)
			case x.Storage[k] != y.Storage[k]:
				return fmt.Sprintf("account %v slot %v: %v vs slot %v: %v", x.Address, x.Storage[k].Key, x.Storage[k].Value, y.Storage[k].Key, y.Storage[k].Value)
			}
		}
	}
	return ""
}
