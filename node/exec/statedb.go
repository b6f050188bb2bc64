package exec

import (
	"bytes"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/stateless"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/types/bal"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"
	"github.com/meganode/meganode/node/chain"
	mstate "github.com/meganode/meganode/node/state"
)

// overlay is the vm.StateDB execution runs against: a write layer over a
// flat state.Reader (the state as of the last flush).
//
// It follows go-ethereum's core/state.StateDB exactly where the EVM can tell
// (journal and reverts, EIP-161 touch and deletion, EIP-6780 self-destruct,
// original values for SSTORE gas, access lists, transient storage, the
// RIPEMD-160 quirk), but keeps no tries: the commitment is node/state's job.
// What it adds is exact state diffs: at each transaction's Finalise it
// records the transaction's diff, and on flush it produces the diff of
// everything since the previous flush against the base state.
type overlay struct {
	base mstate.Reader

	objects    map[common.Address]*object
	destructed map[common.Address]struct{} // deleted at some point since the last flush
	mutated    map[common.Address]struct{} // changed by a finished transaction since the last flush

	// The current transaction.
	journal   []entry
	dirties   map[common.Address]int // number of journal entries touching each account
	txStart   map[common.Address]txOrigin
	refund    uint64
	access    accessList
	transient map[common.Address]map[common.Hash]common.Hash
	logs      []*types.Log
	thash     common.Hash
	txIndex   int
	logIndex  uint // index in the block of the next log

	txDiff *chain.Diff // set by Finalise
}

// object is an account that execution has read or written since the last
// flush. Balances are never mutated in place: a *uint256.Int handed to the
// EVM keeps its value.
type object struct {
	addr     common.Address
	nonce    uint64
	balance  *uint256.Int
	codeHash common.Hash
	code     []byte
	codeOK   bool // code is loaded (or known to be empty)

	origin  map[common.Hash]common.Hash // values in the base state, as read
	pending map[common.Hash]common.Hash // values after the finished transactions
	dirty   map[common.Hash]common.Hash // the current transaction's writes that differ from its start

	selfDestructed bool
	newContract    bool
}

// txOrigin is an account as it was when the current transaction first
// changed it.
type txOrigin struct {
	exists   bool
	nonce    uint64
	balance  *uint256.Int
	codeHash common.Hash
}

func newOverlay(base mstate.Reader) *overlay {
	return &overlay{
		base:       base,
		objects:    make(map[common.Address]*object),
		destructed: make(map[common.Address]struct{}),
		mutated:    make(map[common.Address]struct{}),
		dirties:    make(map[common.Address]int),
		txStart:    make(map[common.Address]txOrigin),
		access:     newAccessList(),
		transient:  make(map[common.Address]map[common.Hash]common.Hash),
	}
}

var _ vm.StateDB = (*overlay)(nil)

func (o *object) empty() bool {
	return o.nonce == 0 && o.balance.IsZero() && o.codeHash == types.EmptyCodeHash
}

// getObject returns the live account, or nil if it does not exist.
func (s *overlay) getObject(addr common.Address) *object {
	if obj := s.objects[addr]; obj != nil {
		return obj
	}
	if _, ok := s.destructed[addr]; ok {
		return nil
	}
	acct, ok := s.base.Account(addr)
	if !ok {
		return nil
	}
	bal := acct.Balance
	obj := &object{addr: addr, nonce: acct.Nonce, balance: &bal, codeHash: acct.CodeHash}
	s.objects[addr] = obj
	return obj
}

func (s *overlay) getOrNewObject(addr common.Address) *object {
	if obj := s.getObject(addr); obj != nil {
		return obj
	}
	return s.createObject(addr)
}

func (s *overlay) createObject(addr common.Address) *object {
	s.record(addr)
	obj := &object{addr: addr, balance: new(uint256.Int), codeHash: types.EmptyCodeHash, codeOK: true}
	s.append(entry{kind: kCreate, addr: addr})
	s.objects[addr] = obj
	return obj
}

// record remembers an account's values before the current transaction first
// changes it.
func (s *overlay) record(addr common.Address) {
	if _, ok := s.txStart[addr]; ok {
		return
	}
	obj := s.getObject(addr)
	if obj == nil {
		s.txStart[addr] = txOrigin{}
		return
	}
	s.txStart[addr] = txOrigin{exists: true, nonce: obj.nonce, balance: obj.balance, codeHash: obj.codeHash}
}

func (o *object) loadCode(base mstate.Reader) []byte {
	if !o.codeOK {
		o.code = base.Code(o.codeHash)
		o.codeOK = true
	}
	return o.code
}

// committed is the slot's value at the start of the current transaction.
func (s *overlay) committed(o *object, key common.Hash) common.Hash {
	if v, ok := o.pending[key]; ok {
		return v
	}
	if v, ok := o.origin[key]; ok {
		return v
	}
	var v common.Hash
	if _, gone := s.destructed[o.addr]; !gone {
		v = s.base.Storage(o.addr, key)
	}
	if o.origin == nil {
		o.origin = make(map[common.Hash]common.Hash)
	}
	o.origin[key] = v
	return v
}

func (s *overlay) getState(o *object, key common.Hash) (current, original common.Hash) {
	original = s.committed(o, key)
	if v, ok := o.dirty[key]; ok {
		return v, original
	}
	return original, original
}

// setSlot writes the current transaction's value of a slot; a value equal
// to the transaction's starting value is no write at all.
func (o *object) setSlot(key, value, original common.Hash) {
	if value == original {
		delete(o.dirty, key)
		return
	}
	if o.dirty == nil {
		o.dirty = make(map[common.Hash]common.Hash)
	}
	o.dirty[key] = value
}

// The journal.

type entryKind uint8

const (
	kCreate entryKind = iota
	kCreateContract
	kSelfDestruct
	kBalance
	kNonce
	kCode
	kStorage
	kTouch
	kRefund
	kLog
	kAccessAddr
	kAccessSlot
	kTransient
)

// entry is one undoable change. One struct for all kinds keeps the journal a
// flat slice with no allocation per entry.
type entry struct {
	kind     entryKind
	addr     common.Address
	key      common.Hash
	prevHash common.Hash // storage: previous value; code: previous hash; transient: previous value
	origHash common.Hash // storage: the transaction's starting value
	prevBal  *uint256.Int
	prevU64  uint64 // nonce or refund
	prevCode []byte
	prevOK   bool // code: whether prevCode was loaded
}

func (e *entry) dirtiesAccount() bool {
	switch e.kind {
	case kCreate, kSelfDestruct, kBalance, kNonce, kCode, kStorage, kTouch:
		return true
	}
	return false
}

func (s *overlay) append(e entry) {
	s.journal = append(s.journal, e)
	if e.dirtiesAccount() {
		s.dirties[e.addr]++
	}
}

var ripemd = common.BytesToAddress([]byte{3})

func (s *overlay) revert(e *entry) {
	switch e.kind {
	case kCreate:
		delete(s.objects, e.addr)
	case kCreateContract:
		s.getObject(e.addr).newContract = false
	case kSelfDestruct:
		if obj := s.getObject(e.addr); obj != nil {
			obj.selfDestructed = false
		}
	case kBalance:
		s.getObject(e.addr).balance = e.prevBal
	case kNonce:
		s.getObject(e.addr).nonce = e.prevU64
	case kCode:
		obj := s.getObject(e.addr)
		obj.codeHash, obj.code, obj.codeOK = e.prevHash, e.prevCode, e.prevOK
	case kStorage:
		s.getObject(e.addr).setSlot(e.key, e.prevHash, e.origHash)
	case kTouch:
	case kRefund:
		s.refund = e.prevU64
	case kLog:
		s.logs = s.logs[:len(s.logs)-1]
		s.logIndex--
	case kAccessAddr:
		s.access.deleteAddress(e.addr)
	case kAccessSlot:
		s.access.deleteSlot(e.addr, e.key)
	case kTransient:
		s.setTransient(e.addr, e.key, e.prevHash)
	}
}

// Snapshot implements vm.StateDB.
func (s *overlay) Snapshot() int { return len(s.journal) }

// RevertToSnapshot implements vm.StateDB.
func (s *overlay) RevertToSnapshot(id int) {
	if id < 0 || id > len(s.journal) {
		panic(fmt.Sprintf("revert to snapshot %d of a %d-entry journal", id, len(s.journal)))
	}
	for i := len(s.journal) - 1; i >= id; i-- {
		e := &s.journal[i]
		s.revert(e)
		if e.dirtiesAccount() {
			if s.dirties[e.addr]--; s.dirties[e.addr] == 0 {
				delete(s.dirties, e.addr)
			}
		}
	}
	s.journal = s.journal[:id]
}

// Accounts.

// CreateAccount implements vm.StateDB.
func (s *overlay) CreateAccount(addr common.Address) { s.createObject(addr) }

// CreateContract implements vm.StateDB.
func (s *overlay) CreateContract(addr common.Address) {
	obj := s.getObject(addr)
	if !obj.newContract {
		obj.newContract = true
		s.append(entry{kind: kCreateContract, addr: addr})
	}
}

// SubBalance implements vm.StateDB.
func (s *overlay) SubBalance(addr common.Address, amount *uint256.Int, _ tracing.BalanceChangeReason) uint256.Int {
	obj := s.getOrNewObject(addr)
	if amount.IsZero() {
		return *obj.balance
	}
	return s.setBalance(obj, new(uint256.Int).Sub(obj.balance, amount))
}

// AddBalance implements vm.StateDB.
func (s *overlay) AddBalance(addr common.Address, amount *uint256.Int, _ tracing.BalanceChangeReason) uint256.Int {
	obj := s.getOrNewObject(addr)
	if amount.IsZero() {
		// EIP-161: a zero-value credit still touches an empty account, so
		// that it is cleared at the end of the transaction.
		if obj.empty() {
			s.touch(addr)
		}
		return *obj.balance
	}
	return s.setBalance(obj, new(uint256.Int).Add(obj.balance, amount))
}

func (s *overlay) touch(addr common.Address) {
	s.record(addr)
	s.append(entry{kind: kTouch, addr: addr})
	if addr == ripemd {
		// Mainnet's RIPEMD-160 consensus quirk (block 1714175): the touch
		// survives a revert. go-ethereum keeps the same extra mark.
		s.dirties[addr]++
	}
}

func (s *overlay) setBalance(obj *object, v *uint256.Int) uint256.Int {
	prev := *obj.balance
	s.record(obj.addr)
	s.append(entry{kind: kBalance, addr: obj.addr, prevBal: obj.balance})
	obj.balance = v
	return prev
}

// GetBalance implements vm.StateDB.
func (s *overlay) GetBalance(addr common.Address) *uint256.Int {
	if obj := s.getObject(addr); obj != nil {
		return obj.balance
	}
	return common.U2560
}

// GetNonce implements vm.StateDB.
func (s *overlay) GetNonce(addr common.Address) uint64 {
	if obj := s.getObject(addr); obj != nil {
		return obj.nonce
	}
	return 0
}

// SetNonce implements vm.StateDB.
func (s *overlay) SetNonce(addr common.Address, nonce uint64, _ tracing.NonceChangeReason) {
	obj := s.getOrNewObject(addr)
	s.record(addr)
	s.append(entry{kind: kNonce, addr: addr, prevU64: obj.nonce})
	obj.nonce = nonce
}

// GetCodeHash implements vm.StateDB.
func (s *overlay) GetCodeHash(addr common.Address) common.Hash {
	if obj := s.getObject(addr); obj != nil {
		return obj.codeHash
	}
	return common.Hash{}
}

// GetCode implements vm.StateDB.
func (s *overlay) GetCode(addr common.Address) []byte {
	if obj := s.getObject(addr); obj != nil {
		return obj.loadCode(s.base)
	}
	return nil
}

// GetCodeSize implements vm.StateDB.
func (s *overlay) GetCodeSize(addr common.Address) int { return len(s.GetCode(addr)) }

// SetCode implements vm.StateDB.
func (s *overlay) SetCode(addr common.Address, code []byte, _ tracing.CodeChangeReason) []byte {
	obj := s.getOrNewObject(addr)
	prev := obj.loadCode(s.base)
	s.record(addr)
	s.append(entry{kind: kCode, addr: addr, prevHash: obj.codeHash, prevCode: obj.code, prevOK: obj.codeOK})
	obj.code, obj.codeOK = code, true
	obj.codeHash = crypto.Keccak256Hash(code)
	return bytes.Clone(prev)
}

// Refunds.

// AddRefund implements vm.StateDB.
func (s *overlay) AddRefund(gas uint64) {
	s.append(entry{kind: kRefund, prevU64: s.refund})
	s.refund += gas
}

// SubRefund implements vm.StateDB. Going below zero is an EVM bug, and
// go-ethereum panics on it too.
func (s *overlay) SubRefund(gas uint64) {
	s.append(entry{kind: kRefund, prevU64: s.refund})
	if gas > s.refund {
		panic(fmt.Sprintf("refund counter below zero (gas: %d > refund: %d)", gas, s.refund))
	}
	s.refund -= gas
}

// GetRefund implements vm.StateDB.
func (s *overlay) GetRefund() uint64 { return s.refund }

// Storage.

// GetStateAndCommittedState implements vm.StateDB.
func (s *overlay) GetStateAndCommittedState(addr common.Address, key common.Hash) (common.Hash, common.Hash) {
	if obj := s.getObject(addr); obj != nil {
		return s.getState(obj, key)
	}
	return common.Hash{}, common.Hash{}
}

// GetState implements vm.StateDB.
func (s *overlay) GetState(addr common.Address, key common.Hash) common.Hash {
	if obj := s.getObject(addr); obj != nil {
		v, _ := s.getState(obj, key)
		return v
	}
	return common.Hash{}
}

// SetState implements vm.StateDB.
func (s *overlay) SetState(addr common.Address, key, value common.Hash) common.Hash {
	obj := s.getOrNewObject(addr)
	prev, original := s.getState(obj, key)
	if prev == value {
		return prev
	}
	s.record(addr)
	s.append(entry{kind: kStorage, addr: addr, key: key, prevHash: prev, origHash: original})
	obj.setSlot(key, value, original)
	return prev
}

// GetTransientState implements vm.StateDB.
func (s *overlay) GetTransientState(addr common.Address, key common.Hash) common.Hash {
	return s.transient[addr][key]
}

// SetTransientState implements vm.StateDB.
func (s *overlay) SetTransientState(addr common.Address, key, value common.Hash) {
	prev := s.GetTransientState(addr, key)
	if prev == value {
		return
	}
	s.append(entry{kind: kTransient, addr: addr, key: key, prevHash: prev})
	s.setTransient(addr, key, value)
}

func (s *overlay) setTransient(addr common.Address, key, value common.Hash) {
	m := s.transient[addr]
	if m == nil {
		m = make(map[common.Hash]common.Hash)
		s.transient[addr] = m
	}
	m[key] = value
}

// Self-destruct and existence.

// SelfDestruct implements vm.StateDB.
func (s *overlay) SelfDestruct(addr common.Address) {
	obj := s.getObject(addr)
	if obj == nil || obj.selfDestructed {
		return
	}
	s.record(addr)
	s.append(entry{kind: kSelfDestruct, addr: addr})
	obj.selfDestructed = true
}

// HasSelfDestructed implements vm.StateDB.
func (s *overlay) HasSelfDestructed(addr common.Address) bool {
	if obj := s.getObject(addr); obj != nil {
		return obj.selfDestructed
	}
	return false
}

// Exist implements vm.StateDB.
func (s *overlay) Exist(addr common.Address) bool { return s.getObject(addr) != nil }

// Touch implements vm.StateDB. Like go-ethereum's, it only loads the account.
func (s *overlay) Touch(addr common.Address) { s.getObject(addr) }

// IsNewContract implements vm.StateDB.
func (s *overlay) IsNewContract(addr common.Address) bool {
	if obj := s.getObject(addr); obj != nil {
		return obj.newContract
	}
	return false
}

// Empty implements vm.StateDB.
func (s *overlay) Empty(addr common.Address) bool {
	obj := s.getObject(addr)
	return obj == nil || obj.empty()
}

// Access lists.

// AddressInAccessList implements vm.StateDB.
func (s *overlay) AddressInAccessList(addr common.Address) bool {
	if s.access.isPrecompile(addr) {
		return true
	}
	_, ok := s.access.addresses[addr]
	return ok
}

// SlotInAccessList implements vm.StateDB.
func (s *overlay) SlotInAccessList(addr common.Address, slot common.Hash) (bool, bool) {
	return s.access.contains(addr, slot)
}

// AddAddressToAccessList implements vm.StateDB.
func (s *overlay) AddAddressToAccessList(addr common.Address) {
	if s.access.addAddress(addr) {
		s.append(entry{kind: kAccessAddr, addr: addr})
	}
}

// AddSlotToAccessList implements vm.StateDB.
func (s *overlay) AddSlotToAccessList(addr common.Address, slot common.Hash) {
	addrAdded, slotAdded := s.access.addSlot(addr, slot)
	if addrAdded {
		s.append(entry{kind: kAccessAddr, addr: addr})
	}
	if slotAdded {
		s.append(entry{kind: kAccessSlot, addr: addr, key: slot})
	}
}

// Prepare implements vm.StateDB: it resets the access list (EIP-2929,
// EIP-2930, EIP-3651) and transient storage (EIP-1153) for a transaction.
func (s *overlay) Prepare(rules params.Rules, sender, coinbase common.Address, dst *common.Address, precompiles []common.Address, list types.AccessList) {
	if rules.IsEIP2929 {
		s.access.reset(precompiles)
		s.access.addAddress(sender)
		if dst != nil {
			s.access.addAddress(*dst)
		}
		for _, el := range list {
			s.access.addAddress(el.Address)
			for _, key := range el.StorageKeys {
				s.access.addSlot(el.Address, key)
			}
		}
		if rules.IsShanghai {
			s.access.addAddress(coinbase)
		}
	}
	clear(s.transient)
}

// Logs and context.

// AddLog implements vm.StateDB.
func (s *overlay) AddLog(l *types.Log) {
	s.append(entry{kind: kLog})
	l.TxHash = s.thash
	l.TxIndex = uint(s.txIndex)
	l.Index = s.logIndex
	s.logIndex++
	s.logs = append(s.logs, l)
}

// AddPreimage implements vm.StateDB; preimages are not kept.
func (s *overlay) AddPreimage(common.Hash, []byte) {}

// Witness implements vm.StateDB; witnesses are built elsewhere.
func (s *overlay) Witness() *stateless.Witness { return nil }

// AccessEvents implements vm.StateDB; they exist only for verkle rules,
// which this executor does not run.
func (s *overlay) AccessEvents() *state.AccessEvents { return nil }

// SetTxContext implements vm.StateDB.
func (s *overlay) SetTxContext(thash common.Hash, ti int, _ uint32) {
	s.thash, s.txIndex = thash, ti
}

// Finalise implements vm.StateDB: at the end of a transaction it deletes
// self-destructed accounts and, with EIP-161, touched empty ones, moves the
// transaction's storage writes to the pending layer, and records the
// transaction's exact diff.
func (s *overlay) Finalise(rules params.Rules) *bal.ConstructionBlockAccessList {
	diff := &chain.Diff{}
	for addr := range s.dirties { // order: each account is handled on its own; the diff is sorted below
		obj, ok := s.objects[addr]
		if !ok {
			continue // only the RIPEMD-160 mark can survive its object's revert
		}
		start := s.txStart[addr]
		if obj.selfDestructed || (rules.IsEIP158 && obj.empty()) {
			delete(s.objects, addr)
			s.destructed[addr] = struct{}{}
			if start.exists {
				diff.Accounts = append(diff.Accounts, chain.AccountDiff{Address: addr, Flags: chain.Deleted})
			}
		} else if ad, changed := txAccountDiff(obj, start); changed {
			diff.Accounts = append(diff.Accounts, ad)
			obj.finalise()
		} else {
			obj.finalise()
		}
		s.mutated[addr] = struct{}{}
	}
	sortDiff(diff)
	s.txDiff = diff
	s.endTx()
	return nil
}

// endTx forgets the transaction-scoped data.
func (s *overlay) endTx() {
	s.journal = s.journal[:0]
	clear(s.dirties)
	clear(s.txStart)
	s.refund = 0
}

// finalise moves the transaction's writes to the pending layer.
func (o *object) finalise() {
	if len(o.dirty) > 0 {
		if o.pending == nil {
			o.pending = make(map[common.Hash]common.Hash, len(o.dirty))
		}
		for k, v := range o.dirty { // copying into a map: order cannot leak
			o.pending[k] = v
		}
		clear(o.dirty)
	}
	o.newContract = false
}

// takeLogs returns the finished transaction's logs and starts a new list.
func (s *overlay) takeLogs() []*types.Log {
	logs := s.logs
	s.logs = nil
	return logs
}

// discardTx undoes everything the current transaction did, for a
// transaction that turned out to be invalid.
func (s *overlay) discardTx() {
	s.RevertToSnapshot(0)
	s.endTx()
	s.logs = nil
}

// The access list, as go-ethereum keeps it, except that the precompiles,
// which are in it for the whole transaction, are checked against their own
// short list instead of being inserted into the map for every transaction.

type accessList struct {
	addresses   map[common.Address]int
	slots       []map[common.Hash]struct{}
	precompiles []common.Address
}

func newAccessList() accessList {
	return accessList{addresses: make(map[common.Address]int)}
}

// reset empties the list for a new transaction, keeping its memory.
func (al *accessList) reset(precompiles []common.Address) {
	clear(al.addresses)
	for i := range al.slots {
		al.slots[i] = nil
	}
	al.slots = al.slots[:0]
	al.precompiles = precompiles
}

// isPrecompile reports whether addr is one of the transaction's precompiles.
// Precompiles live at tiny addresses, so most addresses are ruled out by
// their first bytes alone.
func (al *accessList) isPrecompile(addr common.Address) bool {
	if addr[0]|addr[1]|addr[2]|addr[3]|addr[4]|addr[5]|addr[6]|addr[7]|addr[8]|addr[9] != 0 {
		return false
	}
	for _, p := range al.precompiles {
		if p == addr {
			return true
		}
	}
	return false
}

func (al *accessList) contains(addr common.Address, slot common.Hash) (bool, bool) {
	idx, ok := al.addresses[addr]
	if !ok && al.isPrecompile(addr) {
		return true, false
	}
	if !ok {
		return false, false
	}
	if idx == -1 {
		return true, false
	}
	_, slotOK := al.slots[idx][slot]
	return true, slotOK
}

func (al *accessList) addAddress(addr common.Address) bool {
	if _, ok := al.addresses[addr]; ok || al.isPrecompile(addr) {
		return false
	}
	al.addresses[addr] = -1
	return true
}

func (al *accessList) addSlot(addr common.Address, slot common.Hash) (addrChange, slotChange bool) {
	idx, addrOK := al.addresses[addr]
	if !addrOK && al.isPrecompile(addr) {
		// A precompile's slot: give it an entry like any address, so that
		// reverting the slot leaves the precompile warm.
		al.addresses[addr] = len(al.slots)
		al.slots = append(al.slots, map[common.Hash]struct{}{slot: {}})
		return false, true
	}
	if !addrOK || idx == -1 {
		al.addresses[addr] = len(al.slots)
		al.slots = append(al.slots, map[common.Hash]struct{}{slot: {}})
		return !addrOK, true
	}
	if _, ok := al.slots[idx][slot]; ok {
		return false, false
	}
	al.slots[idx][slot] = struct{}{}
	return false, true
}

func (al *accessList) deleteSlot(addr common.Address, slot common.Hash) {
	idx, ok := al.addresses[addr]
	if !ok {
		panic("reverting slot change, address not present in list")
	}
	delete(al.slots[idx], slot)
	if len(al.slots[idx]) == 0 {
		al.slots = al.slots[:idx]
		al.addresses[addr] = -1
	}
}

func (al *accessList) deleteAddress(addr common.Address) { delete(al.addresses, addr) }
