package state

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/ethereum/go-ethereum/common"
	"github.com/meganode/meganode/node/chain"
)

// ErrPruned is returned by History.At for a height older than the window.
var ErrPruned = errors.New("state history: height pruned")

// ErrFuture is returned by History.At for a height not applied yet.
var ErrFuture = errors.New("state history: height not reached yet")

// History keeps, for the newest heights, what each diff overwrote, so that
// the state as of any height in the window can be read from the current
// state.
//
// The state "at height x" is the state after applying every diff with a
// height up to x. For every height applied in the window History keeps undo
// records: each account's fields and existence before the diff, the previous
// values of the slots the diff changed, the whole previous storage of an
// account the diff wiped (Reset or Deleted), and the codes it stored first.
// A read at x finds, through per-address and per-slot indexes ordered by
// height, the oldest record newer than x: what it overwrote is the answer,
// and without one the live value is. Memory is proportional to the diffs in
// the window (plus the storage of the accounts they wiped); a read costs a
// few map look-ups and binary searches.
//
// The live state must change only through Apply: Apply and At refuse to work
// once it changed behind History's back.
//
// Reads at a height may run on other goroutines than the one that applies,
// concurrently: clients are served off a node's step. Apply holds the
// history's write lock while it changes the live state and the records;
// a view holds the read lock for one read at a time, so a long EVM call
// never holds up the step for longer than a single read. The owner's own
// reads of the live state (its executor) need no lock: only it writes.
type History struct {
	mu      sync.RWMutex
	live    *Mem
	version uint64 // live.version after the last Apply through h
	height  uint64 // newest height
	oldest  uint64 // oldest readable height
	window  uint64

	// steps[i] is what height oldest+1+i touched, for pruning.
	steps []step

	// The undo records, by height ascending. Records for the heights
	// oldest+1..height are kept: reading at x needs those newer than x.
	accounts map[common.Address][]accountUndo
	wipes    map[common.Address][]wipeUndo
	slots    map[slotID][]slotUndo
	codes    map[common.Hash]uint64 // code hash -> height that first stored it
}

// accountUndo is an account as it was before the diff of height.
type accountUndo struct {
	height  uint64
	existed bool
	acct    Account
}

// wipeUndo is the storage of an existing account before the diff of height
// reset or deleted it.
type wipeUndo struct {
	height  uint64
	storage map[common.Hash]common.Hash // the dropped account's map; never changed
}

// slotUndo is a slot's value before the diff of height changed it. Slots
// are recorded only for accounts that existed and were not wiped by that
// diff: otherwise the account record or the wipe answers.
type slotUndo struct {
	height uint64
	before common.Hash
}

type slotID struct {
	addr common.Address
	key  common.Hash
}

// step lists the index entries one height added, so pruning it is
// proportional to its diff.
type step struct {
	accounts []common.Address
	slots    []slotID
	codes    []common.Hash
}

// NewHistory starts a history over the live state m, which is now at
// height. window is how many newest heights stay readable (at least 1; a
// smaller value counts as 1). Heights before the first one are never
// readable: right after NewHistory, only height is.
func NewHistory(m *Mem, height uint64, window int) *History {
	return &History{
		live:     m,
		version:  m.version,
		height:   height,
		oldest:   height,
		window:   uint64(max(window, 1)),
		accounts: make(map[common.Address][]accountUndo),
		wipes:    make(map[common.Address][]wipeUndo),
		slots:    make(map[slotID][]slotUndo),
		codes:    make(map[common.Hash]uint64),
	}
}

// Height is the newest height, the live state's.
func (h *History) Height() uint64 { return h.height }

// Oldest is the oldest height still readable.
func (h *History) Oldest() uint64 { return h.oldest }

// State is the live state. Change it only through Apply.
func (h *History) State() *Mem { return h.live }

func (h *History) checkLive() error {
	if h.live.version != h.version {
		return fmt.Errorf("state history: the live state was changed outside History (at height %d)", h.height)
	}
	return nil
}

// Apply applies d to the live state as height (which must be Height()+1),
// recording what it overwrites, then prunes the heights older than the
// window. On an error nothing changed.
func (h *History) Apply(height uint64, d *chain.Diff) error {
	if height != h.height+1 {
		return fmt.Errorf("state history: apply height %d, want %d", height, h.height+1)
	}
	if err := h.checkLive(); err != nil {
		return err
	}
	if err := d.Validate(); err != nil {
		return fmt.Errorf("state history: apply height %d: %w", height, err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	st := step{accounts: make([]common.Address, 0, len(d.Accounts))}
	for i := range d.Accounts {
		ad := &d.Accounts[i]
		addr := ad.Address
		a := h.live.accounts[addr]
		u := accountUndo{height: height, existed: a != nil}
		if a != nil {
			u.acct = a.Account
		}
		h.accounts[addr] = append(h.accounts[addr], u)
		st.accounts = append(st.accounts, addr)
		switch {
		case a == nil:
			// Absent before: the account record answers every slot (zero).
		case ad.Flags&(chain.Deleted|chain.Reset) != 0:
			// Mem drops a and never changes its storage map again.
			h.wipes[addr] = append(h.wipes[addr], wipeUndo{height: height, storage: a.storage})
		default:
			for _, s := range ad.Storage {
				before := a.storage[s.Key]
				if before == s.Value {
					continue // unchanged
				}
				id := slotID{addr, s.Key}
				h.slots[id] = append(h.slots[id], slotUndo{height: height, before: before})
				st.slots = append(st.slots, id)
			}
		}
	}
	h.live.apply(d, &st.codes)
	for _, c := range st.codes {
		h.codes[c] = height
	}
	h.steps = append(h.steps, st)
	h.version = h.live.version
	h.height = height
	h.prune()
	return nil
}

// prune drops the records no readable height needs.
func (h *History) prune() {
	for h.height-h.oldest >= h.window {
		p := h.oldest + 1 // the height of steps[0]
		st := &h.steps[0]
		for _, addr := range st.accounts {
			popFront(h.accounts, addr)
			if ws := h.wipes[addr]; len(ws) > 0 && ws[0].height == p {
				popFront(h.wipes, addr)
			}
		}
		for _, id := range st.slots {
			popFront(h.slots, id)
		}
		for _, c := range st.codes {
			delete(h.codes, c)
		}
		h.steps[0] = step{}
		h.steps = h.steps[1:]
		h.oldest = p
	}
}

// popFront drops the oldest record of key k, and k when none is left.
func popFront[K comparable, V any](m map[K][]V, k K) {
	l := m[k]
	if len(l) <= 1 {
		delete(m, k)
		return
	}
	var zero V
	l[0] = zero // release what it references
	m[k] = l[1:]
}

// firstAfter returns the index of the first record newer than x, or len(l).
func firstAfter[V any](l []V, x uint64, height func(*V) uint64) int {
	if len(l) == 0 || height(&l[len(l)-1]) <= x {
		return len(l) // the common case: nothing newer
	}
	return sort.Search(len(l), func(i int) bool { return height(&l[i]) > x })
}

func (u *accountUndo) at() uint64 { return u.height }
func (u *wipeUndo) at() uint64    { return u.height }
func (u *slotUndo) at() uint64    { return u.height }

// At returns a read-only view of the state as it was right after height was
// applied; At(Height()) reads the live state. A height older than Oldest
// gives an error wrapping ErrPruned, one newer than Height one wrapping
// ErrFuture. The view may be read from any goroutine.
//
// A view stays right while later Applies leave its height in the window.
// Once its height is pruned, or the live state was changed outside
// History, its reads answer zero and its Err says why: a caller that runs
// a long computation on a view checks Err before trusting the result.
func (h *History) At(height uint64) (*View, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if err := h.checkLive(); err != nil {
		return nil, err
	}
	switch {
	case height > h.height:
		return nil, fmt.Errorf("%w: height %d, newest is %d", ErrFuture, height, h.height)
	case height < h.oldest:
		return nil, fmt.Errorf("%w: height %d, the history keeps heights %d to %d (window %d)",
			ErrPruned, height, h.oldest, h.height, h.window)
	}
	return &View{h: h, height: height}, nil
}

// View is the state at a height, read through a History. It implements
// Reader and may be used from several goroutines.
type View struct {
	h      *History
	height uint64
	err    atomic.Pointer[error]
}

// Height is the view's height.
func (v *View) Height() uint64 { return v.height }

// Err is why a read answered zero when it should not have: the view's
// height was pruned, or the live state changed outside History. nil while
// every read was right.
func (v *View) Err() error {
	if p := v.err.Load(); p != nil {
		return *p
	}
	return nil
}

// ok reports whether the view can still answer; h.mu is held for reading.
func (v *View) ok() bool {
	var err error
	switch {
	case v.height < v.h.oldest:
		err = fmt.Errorf("%w: the view at height %d was pruned while it was read (the history keeps heights %d to %d, window %d)",
			ErrPruned, v.height, v.h.oldest, v.h.height, v.h.window)
	case v.h.live.version != v.h.version:
		err = fmt.Errorf("state history: the view at height %d was read after the live state was changed outside History", v.height)
	default:
		return true
	}
	v.err.CompareAndSwap(nil, &err)
	return false
}

// Account implements Reader.
func (v *View) Account(addr common.Address) (Account, bool) {
	v.h.mu.RLock()
	defer v.h.mu.RUnlock()
	if !v.ok() {
		return Account{}, false
	}
	if v.height == v.h.height {
		return v.h.live.Account(addr)
	}
	l := v.h.accounts[addr]
	if i := firstAfter(l, v.height, (*accountUndo).at); i < len(l) {
		return l[i].acct, l[i].existed
	}
	return v.h.live.Account(addr)
}

// Storage implements Reader.
func (v *View) Storage(addr common.Address, key common.Hash) common.Hash {
	v.h.mu.RLock()
	defer v.h.mu.RUnlock()
	if !v.ok() {
		return common.Hash{}
	}
	if v.height == v.h.height {
		return v.h.live.Storage(addr, key)
	}
	accs := v.h.accounts[addr]
	i := firstAfter(accs, v.height, (*accountUndo).at)
	if i == len(accs) {
		return v.h.live.Storage(addr, key) // untouched since
	}
	if !accs[i].existed {
		return common.Hash{}
	}
	// The account existed at v.height. The slot kept its value until the
	// first later diff that changed it or wiped the account (a diff that
	// wipes records no slots). If the account was deleted since, a wipe
	// comes first; so without either, the live value is the answer.
	var wipe *wipeUndo
	if ws := v.h.wipes[addr]; len(ws) > 0 {
		if j := firstAfter(ws, v.height, (*wipeUndo).at); j < len(ws) {
			wipe = &ws[j]
		}
	}
	if ss := v.h.slots[slotID{addr, key}]; len(ss) > 0 {
		if k := firstAfter(ss, v.height, (*slotUndo).at); k < len(ss) && (wipe == nil || ss[k].height < wipe.height) {
			return ss[k].before
		}
	}
	if wipe != nil {
		return wipe.storage[key]
	}
	return v.h.live.Storage(addr, key)
}

// Code implements Reader: a code stored first after the view's height is
// not there yet.
func (v *View) Code(codeHash common.Hash) []byte {
	v.h.mu.RLock()
	defer v.h.mu.RUnlock()
	if !v.ok() {
		return nil
	}
	if born, ok := v.h.codes[codeHash]; ok && born > v.height {
		return nil
	}
	return v.h.live.Code(codeHash)
}
