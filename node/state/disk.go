package state

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/chain"
)

// Disk layout of a state snapshot. Every value is a framed record (format
// byte, RLP, CRC-32C), so a torn or corrupt record is detected, and Load
// recomputes the root and compares it with the one the snapshot recorded.
//
//	state/m                  meta: root, account and slot counts
//	state/a/<address>        account: nonce, balance, code hash
//	state/s/<address><slot>  storage value (non-zero slots only)
//	state/c/<code hash>      code
var (
	keyMeta       = []byte("state/m")
	prefixAccount = []byte("state/a/")
	prefixSlot    = []byte("state/s/")
	prefixCode    = []byte("state/c/")
)

// Formats of the state snapshot records.
const (
	formatMetaV1    chain.Format = 0x41
	formatAccountV1 chain.Format = 0x42
	formatSlotV1    chain.Format = 0x43
	formatCodeV1    chain.Format = 0x44
)

// ErrNoSnapshot is returned by Load from a disk that holds no state.
var ErrNoSnapshot = errors.New("no state snapshot on disk")

// ErrCorrupt wraps every defect Load finds in a snapshot.
var ErrCorrupt = errors.New("state snapshot corrupt")

type metaRLP struct {
	Root     common.Hash
	Accounts uint64
	Slots    uint64
}

type accountRLP struct {
	Nonce    uint64
	Balance  [32]byte
	CodeHash common.Hash
}

func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// Save implements State. The first Save writes everything; later ones write
// only accounts, slots and codes changed since, plus the meta record, all in
// one batch. Save computes the root.
func (m *Mem) Save(disk node.Disk) error {
	b := disk.NewBatch()
	done, err := m.SaveBatch(disk, b)
	if err != nil {
		return err
	}
	if err := b.Commit(); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	done()
	return nil
}

// SaveBatch stages into b everything Save would write (everything the first
// time, then only what changed since the last successful save) and returns
// done, which the caller must call only after b.Commit succeeded; if the
// commit fails, not calling done keeps the changes marked unsaved so the next
// save writes them again. The caller may add its own records to b, which then
// land atomically with the snapshot. SaveBatch reads disk (to find the slots
// of deleted and re-created accounts) but writes only to b, and computes the
// root.
//
// The batch holds the state as it is when SaveBatch returns. If diffs are
// applied before done is called, done keeps every change marked unsaved
// (the next save writes more than it must, never less).
func (m *Mem) SaveBatch(disk node.Disk, b node.Batch) (done func(), err error) {
	root := m.Root()
	if !m.saved {
		// Start from a clean namespace: remove whatever an older state left.
		for _, p := range [][]byte{prefixAccount, prefixSlot} {
			if err := disk.Iterate(p, func(k, _ []byte) error { b.Delete(bytes.Clone(k)); return nil }); err != nil {
				return nil, fmt.Errorf("save state: %w", err)
			}
		}
		for addr := range m.accounts { // filling sets: order cannot leak
			m.unsaved[addr] = struct{}{}
			a := m.accounts[addr]
			for k := range a.storage { // filling a set: order cannot leak
				a.unsavedSlots[k] = struct{}{}
			}
		}
		for h := range m.codes { // filling a set: order cannot leak
			m.unsavedCodes[h] = struct{}{}
		}
	}
	for h := range m.unsavedCodes { // order: distinct keys in a batch that applies atomically: its result does not depend on this order
		b.Set(join(prefixCode, h[:]), chain.FrameRLP(formatCodeV1, m.codes[h]))
	}
	for addr := range m.unsaved { // order: distinct keys in a batch that applies atomically: its result does not depend on this order
		a := m.accounts[addr]
		if a == nil || (a.unsavedWipe && m.saved) {
			// Deleted or re-created: drop the slots of the old incarnation.
			if err := disk.Iterate(join(prefixSlot, addr[:]), func(k, _ []byte) error {
				b.Delete(bytes.Clone(k))
				return nil
			}); err != nil {
				return nil, fmt.Errorf("save state: %w", err)
			}
		}
		if a == nil {
			b.Delete(join(prefixAccount, addr[:]))
			continue
		}
		b.Set(join(prefixAccount, addr[:]), chain.FrameRLP(formatAccountV1, &accountRLP{
			Nonce: a.Nonce, Balance: a.Balance.Bytes32(), CodeHash: a.CodeHash,
		}))
		for k := range a.unsavedSlots { // order: distinct keys in a batch that applies atomically: its result does not depend on this order
			key := join(prefixSlot, addr[:], k[:])
			if v, ok := a.storage[k]; ok {
				b.Set(key, chain.FrameRLP(formatSlotV1, common.TrimLeftZeroes(v[:])))
			} else {
				b.Delete(key)
			}
		}
	}
	accounts, slots := m.Len()
	b.Set(keyMeta, chain.FrameRLP(formatMetaV1, &metaRLP{Root: root, Accounts: uint64(accounts), Slots: uint64(slots)}))
	version := m.version
	return func() {
		if m.version != version {
			// The disk now holds the state as it was staged. Every change
			// since the last successful save, including those staged, is
			// still marked, so the next save writes all that differs.
			m.saved = true
			return
		}
		m.markSaved()
	}, nil
}

func (m *Mem) markSaved() {
	for addr := range m.unsaved { // clearing flags: order cannot leak
		if a := m.accounts[addr]; a != nil {
			a.unsavedWipe = false
			clear(a.unsavedSlots)
		}
	}
	clear(m.unsaved)
	clear(m.unsavedCodes)
	m.saved = true
}

// Load reads the state snapshot on disk, checks every record and the root,
// and returns the state. A disk without a snapshot gives ErrNoSnapshot; any
// defect gives an error wrapping ErrCorrupt that names the record.
func Load(disk node.Disk) (*Mem, error) {
	raw, err := disk.Get(keyMeta)
	if errors.Is(err, node.ErrNotFound) {
		return nil, ErrNoSnapshot
	}
	if err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	var meta metaRLP
	if err := chain.UnframeRLP(formatMetaV1, raw, &meta); err != nil {
		return nil, fmt.Errorf("load state: %w: meta record: %v", ErrCorrupt, err)
	}
	m := New()
	err = disk.Iterate(prefixCode, func(k, v []byte) error {
		var code []byte
		if err := chain.UnframeRLP(formatCodeV1, v, &code); err != nil {
			return fmt.Errorf("code %x: %v", k[len(prefixCode):], err)
		}
		h := crypto.Keccak256Hash(code)
		if !bytes.Equal(h[:], k[len(prefixCode):]) {
			return fmt.Errorf("code %x hashes to %v", k[len(prefixCode):], h)
		}
		m.codes[h] = code
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load state: %w: %v", ErrCorrupt, err)
	}
	err = disk.Iterate(prefixAccount, func(k, v []byte) error {
		if len(k) != len(prefixAccount)+common.AddressLength {
			return fmt.Errorf("account key %x has the wrong length", k)
		}
		var rec accountRLP
		if err := chain.UnframeRLP(formatAccountV1, v, &rec); err != nil {
			return fmt.Errorf("account %x: %v", k[len(prefixAccount):], err)
		}
		addr := common.BytesToAddress(k[len(prefixAccount):])
		a := newAccount(addr)
		a.Nonce, a.CodeHash = rec.Nonce, rec.CodeHash
		a.Balance.SetBytes32(rec.Balance[:])
		if rec.CodeHash != types.EmptyCodeHash && m.codes[rec.CodeHash] == nil {
			return fmt.Errorf("account %v: code %v missing", addr, rec.CodeHash)
		}
		m.accounts[addr] = a
		m.dirty[addr] = struct{}{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load state: %w: %v", ErrCorrupt, err)
	}
	slots := 0
	err = disk.Iterate(prefixSlot, func(k, v []byte) error {
		if len(k) != len(prefixSlot)+common.AddressLength+common.HashLength {
			return fmt.Errorf("slot key %x has the wrong length", k)
		}
		addr := common.BytesToAddress(k[len(prefixSlot) : len(prefixSlot)+common.AddressLength])
		key := common.BytesToHash(k[len(prefixSlot)+common.AddressLength:])
		var val []byte
		if err := chain.UnframeRLP(formatSlotV1, v, &val); err != nil {
			return fmt.Errorf("slot %v/%v: %v", addr, key, err)
		}
		if len(val) == 0 || len(val) > common.HashLength || val[0] == 0 {
			return fmt.Errorf("slot %v/%v: non-canonical value %x", addr, key, val)
		}
		a := m.accounts[addr]
		if a == nil {
			return fmt.Errorf("slot %v/%v belongs to no account", addr, key)
		}
		a.storage[key] = common.BytesToHash(val)
		slots++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load state: %w: %v", ErrCorrupt, err)
	}
	if uint64(len(m.accounts)) != meta.Accounts || uint64(slots) != meta.Slots {
		return nil, fmt.Errorf("load state: %w: %d accounts and %d slots, meta says %d and %d",
			ErrCorrupt, len(m.accounts), slots, meta.Accounts, meta.Slots)
	}
	if root := m.Root(); root != meta.Root {
		return nil, fmt.Errorf("load state: %w: root %v, meta says %v", ErrCorrupt, root, meta.Root)
	}
	m.saved = true
	return m, nil
}

// AllocDiff is the diff that creates a genesis allocation from nothing.
func AllocDiff(alloc types.GenesisAlloc) *chain.Diff {
	d := &chain.Diff{Accounts: make([]chain.AccountDiff, 0, len(alloc))}
	for addr, ga := range alloc { // sorted below: order cannot leak
		ad := chain.AccountDiff{Address: addr}
		if ga.Nonce != 0 {
			ad.Flags |= chain.SetNonce
			ad.Nonce = ga.Nonce
		}
		if ga.Balance != nil && ga.Balance.Sign() != 0 {
			ad.Flags |= chain.SetBalance
			ad.Balance.SetFromBig(ga.Balance)
		}
		if len(ga.Code) > 0 {
			ad.Flags |= chain.SetCode
			ad.Code = bytes.Clone(ga.Code)
		}
		for k, v := range ga.Storage { // order: sorted below
			if v != (common.Hash{}) {
				ad.Storage = append(ad.Storage, chain.Slot{Key: k, Value: v})
			}
		}
		slices.SortFunc(ad.Storage, func(x, y chain.Slot) int { return bytes.Compare(x.Key[:], y.Key[:]) })
		d.Accounts = append(d.Accounts, ad)
	}
	slices.SortFunc(d.Accounts, func(x, y chain.AccountDiff) int { return bytes.Compare(x.Address[:], y.Address[:]) })
	return d
}

// FromAlloc returns a state holding exactly the given allocation.
func FromAlloc(alloc types.GenesisAlloc) (*Mem, error) {
	m := New()
	if err := m.Apply(AllocDiff(alloc)); err != nil {
		return nil, err
	}
	return m, nil
}
