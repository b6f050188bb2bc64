package state

import (
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/holiman/uint256"
)

// Proofs: Merkle proofs (eth_getProof) of the state as of the last
// Checkpoint, the newest sealed block's, served off the owner's step.
//
// The tries are in memory, with no node store, and only the owner's
// goroutine changes them. A Proofs holds a copy of the account trie taken
// at the checkpoint (go-ethereum's tries copy on write: a copy stays as it
// was); an account's storage trie as of the checkpoint is the copy the
// owner captured before its first change since (Mem.marked), or, if it has
// not changed, its own trie, copied under Mem.proofMu, which the owner
// holds while it changes either. A newer checkpoint clears the captures:
// a Proofs of an older one then answers ErrProofsMoved.

// ErrProofsMoved is returned by a proof asked of a checkpoint the state has
// moved past.
var ErrProofsMoved = errors.New("the state has moved past that block: ask again")

// Proofs proves accounts and slots against the state root of a checkpoint.
type Proofs struct {
	m        *Mem
	epoch    uint64
	root     common.Hash
	accounts *trie.Trie // the account trie at the checkpoint; copied for each proof, never changed
}

// Proofs returns the proofs of the newest checkpoint; nil before the first.
// The owner calls it; the result may be used from any goroutine.
func (m *Mem) Proofs() *Proofs {
	m.proofMu.RLock()
	defer m.proofMu.RUnlock()
	return m.proofs
}

// Root is the state root the proofs prove against.
func (p *Proofs) Root() common.Hash { return p.root }

// AccountProof is an account, its proof from the state root, and the
// proofs of some of its slots from its storage root: eth_getProof's answer.
type AccountProof struct {
	Address      common.Address
	Proof        [][]byte // the account trie's nodes from the root to the account (or to where it would be)
	Nonce        uint64
	Balance      uint256.Int
	CodeHash     common.Hash
	StorageHash  common.Hash
	StorageProof []SlotProof
}

// SlotProof is a slot's value and its proof from the account's storage
// root.
type SlotProof struct {
	Key   common.Hash
	Value common.Hash
	Proof [][]byte
}

// proofList collects a trie proof's nodes in order.
type proofList [][]byte

func (l *proofList) Put(_, value []byte) error {
	*l = append(*l, value)
	return nil
}

func (l *proofList) Delete([]byte) error { panic("state: proofList.Delete") }

// Prove proves addr and its slots keys. An absent account proves its
// absence, with the empty account's fields; an absent slot its absence,
// with value zero.
func (p *Proofs) Prove(addr common.Address, keys []common.Hash) (*AccountProof, error) {
	m := p.m
	m.proofMu.RLock()
	if m.epoch != p.epoch {
		m.proofMu.RUnlock()
		return nil, ErrProofsMoved
	}
	var storage *trie.Trie
	if t, ok := m.marked[addr]; ok {
		if t != nil {
			storage = t.Copy()
		}
	} else if a := m.accounts[addr]; a != nil && a.trie != nil {
		storage = a.trie.Copy()
	}
	m.proofMu.RUnlock()

	accounts := p.accounts.Copy()
	key := crypto.Keccak256(addr[:])
	out := &AccountProof{Address: addr, CodeHash: types.EmptyCodeHash, StorageHash: types.EmptyRootHash}
	var proof proofList
	if err := accounts.Prove(key, &proof); err != nil {
		return nil, fmt.Errorf("proving account %v: %w", addr, err)
	}
	out.Proof = proof
	enc, err := accounts.Get(key)
	if err != nil {
		return nil, fmt.Errorf("reading account %v: %w", addr, err)
	}
	if enc != nil {
		var acct types.StateAccount
		if err := rlp.DecodeBytes(enc, &acct); err != nil {
			return nil, fmt.Errorf("decoding account %v: %w", addr, err)
		}
		out.Nonce, out.Balance = acct.Nonce, *acct.Balance
		out.CodeHash, out.StorageHash = common.BytesToHash(acct.CodeHash), acct.Root
	}
	if storage == nil && out.StorageHash != types.EmptyRootHash {
		return nil, fmt.Errorf("account %v: no storage trie for storage root %v", addr, out.StorageHash)
	}
	if storage != nil && storage.Hash() != out.StorageHash {
		return nil, fmt.Errorf("account %v: storage trie root %v, the account says %v", addr, storage.Hash(), out.StorageHash)
	}
	for _, k := range keys {
		sp := SlotProof{Key: k, Proof: [][]byte{}}
		if storage != nil {
			hk := crypto.Keccak256(k[:])
			var sproof proofList
			if err := storage.Prove(hk, &sproof); err != nil {
				return nil, fmt.Errorf("proving slot %v of %v: %w", k, addr, err)
			}
			sp.Proof = sproof
			enc, err := storage.Get(hk)
			if err != nil {
				return nil, fmt.Errorf("reading slot %v of %v: %w", k, addr, err)
			}
			if len(enc) > 0 {
				_, content, _, err := rlp.Split(enc)
				if err != nil {
					return nil, fmt.Errorf("decoding slot %v of %v: %w", k, addr, err)
				}
				sp.Value = common.BytesToHash(content)
			}
		}
		out.StorageProof = append(out.StorageProof, sp)
	}
	return out, nil
}
