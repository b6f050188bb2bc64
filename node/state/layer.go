package state

import (
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/ethereum/go-ethereum/triedb/database"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/chain"
)

// TrieReader reads a state from its tries alone, as a stateless validator
// does with a witness: accounts and slots from the trie nodes db holds,
// codes from a set. A read the nodes cannot answer returns zero and leaves
// an error behind (Err): the caller must check it before trusting what it
// computed.
type TrieReader struct {
	root    common.Hash
	db      database.NodeDatabase
	codes   map[common.Hash][]byte
	acct    *trie.Trie
	storage map[common.Address]*trie.Trie
	err     error
}

// NewTrieReader opens the state with root root on db's nodes and codes.
func NewTrieReader(db database.NodeDatabase, root common.Hash, codes map[common.Hash][]byte) (*TrieReader, error) {
	t, err := trie.New(trie.StateTrieID(root), db)
	if err != nil {
		return nil, fmt.Errorf("state root %v: %w", root, err)
	}
	return &TrieReader{root: root, db: db, codes: codes, acct: t, storage: map[common.Address]*trie.Trie{}}, nil
}

// Err is the first read that failed.
func (r *TrieReader) Err() error { return r.err }

func (r *TrieReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *TrieReader) stateAccount(addr common.Address) (*types.StateAccount, bool) {
	enc, err := r.acct.Get(crypto.Keccak256(addr[:]))
	if err != nil {
		r.fail(fmt.Errorf("account %v: %w", addr, err))
		return nil, false
	}
	if len(enc) == 0 {
		return nil, false
	}
	a := new(types.StateAccount)
	if err := rlp.DecodeBytes(enc, a); err != nil {
		r.fail(fmt.Errorf("account %v: %w", addr, err))
		return nil, false
	}
	return a, true
}

// Account implements Reader.
func (r *TrieReader) Account(addr common.Address) (Account, bool) {
	a, ok := r.stateAccount(addr)
	if !ok {
		return Account{}, false
	}
	return Account{Nonce: a.Nonce, Balance: *a.Balance, CodeHash: common.BytesToHash(a.CodeHash)}, true
}

// Storage implements Reader.
func (r *TrieReader) Storage(addr common.Address, key common.Hash) common.Hash {
	t, ok := r.storage[addr]
	if !ok {
		a, exists := r.stateAccount(addr)
		if !exists || a.Root == types.EmptyRootHash {
			r.storage[addr] = nil
			return common.Hash{}
		}
		var err error
		if t, err = trie.New(trie.StorageTrieID(r.root, crypto.Keccak256Hash(addr[:]), a.Root), r.db); err != nil {
			r.fail(fmt.Errorf("storage of %v: %w", addr, err))
			return common.Hash{}
		}
		r.storage[addr] = t
	}
	if t == nil {
		return common.Hash{}
	}
	enc, err := t.Get(crypto.Keccak256(key[:]))
	if err != nil {
		r.fail(fmt.Errorf("slot %v of %v: %w", key, addr, err))
		return common.Hash{}
	}
	if len(enc) == 0 {
		return common.Hash{}
	}
	_, content, _, err := rlp.Split(enc)
	if err != nil || len(content) > common.HashLength {
		r.fail(fmt.Errorf("slot %v of %v: bad value %x", key, addr, enc))
		return common.Hash{}
	}
	return common.BytesToHash(content)
}

// Code implements Reader.
func (r *TrieReader) Code(h common.Hash) []byte {
	if h == types.EmptyCodeHash {
		return nil
	}
	c, ok := r.codes[h]
	if !ok {
		r.fail(fmt.Errorf("code %v: not in the witness", h))
	}
	return c
}

// Layer is a State made of diffs applied over a Reader that never changes:
// what a validator executes on, mini-block after mini-block, without the
// full state. It has no commitment (Root panics) and is never saved.
type Layer struct {
	base     Reader
	accounts map[common.Address]*layerAccount
	codes    map[common.Hash][]byte
}

type layerAccount struct {
	exists  bool
	acct    Account
	wiped   bool // storage before this layer is gone
	storage map[common.Hash]common.Hash
}

// NewLayer returns an empty layer over base.
func NewLayer(base Reader) *Layer {
	return &Layer{base: base, accounts: map[common.Address]*layerAccount{}, codes: map[common.Hash][]byte{}}
}

// Account implements Reader.
func (l *Layer) Account(addr common.Address) (Account, bool) {
	if a, ok := l.accounts[addr]; ok {
		return a.acct, a.exists
	}
	return l.base.Account(addr)
}

// Storage implements Reader.
func (l *Layer) Storage(addr common.Address, key common.Hash) common.Hash {
	if a, ok := l.accounts[addr]; ok {
		if v, ok := a.storage[key]; ok {
			return v
		}
		if a.wiped || !a.exists {
			return common.Hash{}
		}
	}
	return l.base.Storage(addr, key)
}

// Code implements Reader.
func (l *Layer) Code(h common.Hash) []byte {
	if c, ok := l.codes[h]; ok {
		return c
	}
	return l.base.Code(h)
}

// Apply implements State.
func (l *Layer) Apply(d *chain.Diff) error {
	if err := d.Validate(); err != nil {
		return fmt.Errorf("apply diff: %w", err)
	}
	for i := range d.Accounts {
		ad := &d.Accounts[i]
		a, ok := l.accounts[ad.Address]
		if !ok {
			a = &layerAccount{storage: map[common.Hash]common.Hash{}}
			a.acct, a.exists = l.base.Account(ad.Address)
			l.accounts[ad.Address] = a
		}
		if ad.Flags&(chain.Deleted|chain.Reset) != 0 {
			a.exists, a.wiped, a.acct = false, true, Account{CodeHash: types.EmptyCodeHash}
			clear(a.storage)
		}
		if ad.Flags&chain.Deleted != 0 {
			continue
		}
		if !a.exists {
			a.exists, a.acct = true, Account{CodeHash: types.EmptyCodeHash}
		}
		if ad.Flags&chain.SetNonce != 0 {
			a.acct.Nonce = ad.Nonce
		}
		if ad.Flags&chain.SetBalance != 0 {
			a.acct.Balance = ad.Balance
		}
		if ad.Flags&chain.SetCode != 0 {
			a.acct.CodeHash = types.EmptyCodeHash
			if len(ad.Code) > 0 {
				a.acct.CodeHash = crypto.Keccak256Hash(ad.Code)
				l.codes[a.acct.CodeHash] = ad.Code
			}
		}
		for _, s := range ad.Storage {
			a.storage[s.Key] = s.Value
		}
	}
	return nil
}

// Root implements State: a layer has no commitment.
func (l *Layer) Root() common.Hash { panic("state: Root of a Layer") }

// Copy implements State: layers are not copied.
func (l *Layer) Copy() State { panic("state: Copy of a Layer") }

// Save implements State: a layer is never saved.
func (l *Layer) Save(node.Disk) error { return ErrReadOnly }
