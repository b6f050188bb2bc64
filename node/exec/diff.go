package exec

import (
	"bytes"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/meganode/meganode/node/chain"
	mstate "github.com/meganode/meganode/node/state"
)

// txAccountDiff is what a finished transaction changed in a surviving
// account, measured against the account as the transaction found it. Only
// real changes count: a field or slot set back to its starting value is no
// change.
func txAccountDiff(obj *object, start txOrigin) (chain.AccountDiff, bool) {
	ad := chain.AccountDiff{Address: obj.addr}
	ref := mstate.Account{CodeHash: types.EmptyCodeHash}
	if start.exists {
		ref = mstate.Account{Nonce: start.nonce, Balance: *start.balance, CodeHash: start.codeHash}
	}
	setFields(&ad, obj, &ref)
	for k, v := range obj.dirty { // sorted below: order cannot leak
		ad.Storage = append(ad.Storage, chain.Slot{Key: k, Value: v})
	}
	sortSlots(ad.Storage)
	return ad, !start.exists || ad.Flags != 0 || len(ad.Storage) > 0
}

// setFields sets the flags and values of the fields in which obj differs
// from ref.
func setFields(ad *chain.AccountDiff, obj *object, ref *mstate.Account) {
	if obj.nonce != ref.Nonce {
		ad.Flags |= chain.SetNonce
		ad.Nonce = obj.nonce
	}
	if !obj.balance.Eq(&ref.Balance) {
		ad.Flags |= chain.SetBalance
		ad.Balance = *obj.balance
	}
	if obj.codeHash != ref.CodeHash {
		ad.Flags |= chain.SetCode
		ad.Code = bytes.Clone(obj.code)
		if ad.Code == nil {
			ad.Code = []byte{}
		}
	}
}

// flushDiff is the exact diff of everything finished since the last flush,
// against the base state.
func (s *overlay) flushDiff() *chain.Diff {
	diff := &chain.Diff{Accounts: make([]chain.AccountDiff, 0, len(s.mutated))}
	for addr := range s.mutated { // order: each account is handled on its own; the diff is sorted below
		obj := s.objects[addr]
		base, baseExists := s.base.Account(addr)
		_, gone := s.destructed[addr]
		if obj == nil {
			if baseExists {
				diff.Accounts = append(diff.Accounts, chain.AccountDiff{Address: addr, Flags: chain.Deleted})
			}
			continue
		}
		ad := chain.AccountDiff{Address: addr}
		fresh := gone || !baseExists // its storage started empty
		ref := mstate.Account{CodeHash: types.EmptyCodeHash}
		if !fresh {
			ref = base
		}
		if gone && baseExists {
			ad.Flags |= chain.Reset
		}
		setFields(&ad, obj, &ref)
		for k, v := range obj.pending { // sorted below: order cannot leak
			var was common.Hash
			if !fresh {
				var ok bool
				if was, ok = obj.origin[k]; !ok {
					was = s.base.Storage(addr, k)
				}
			}
			if v != was {
				ad.Storage = append(ad.Storage, chain.Slot{Key: k, Value: v})
			}
		}
		sortSlots(ad.Storage)
		if !baseExists || ad.Flags != 0 || len(ad.Storage) > 0 {
			diff.Accounts = append(diff.Accounts, ad)
		}
	}
	sortDiff(diff)
	return diff
}

// reset forgets everything since the last flush; the base state must now
// include the flushed diff.
func (s *overlay) reset() {
	clear(s.objects)
	clear(s.destructed)
	clear(s.mutated)
}

func sortSlots(s []chain.Slot) {
	slices.SortFunc(s, func(a, b chain.Slot) int { return bytes.Compare(a.Key[:], b.Key[:]) })
}

func sortDiff(d *chain.Diff) {
	slices.SortFunc(d.Accounts, func(a, b chain.AccountDiff) int { return bytes.Compare(a.Address[:], b.Address[:]) })
}
