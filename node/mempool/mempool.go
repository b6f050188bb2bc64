package mempool

import (
	"bytes"
	"container/heap"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/txpool"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/holiman/uint256"
)

// The refusals of Add. Each is returned wrapped, with the sender, the nonce
// and what to do; test for them with errors.Is. Their texts are
// go-ethereum's, so that a wallet that recognises geth's errors recognises
// ours.
var (
	// ErrAlreadyKnown: a transaction with the same hash is held.
	ErrAlreadyKnown = txpool.ErrAlreadyKnown
	// ErrNonceTooLow: the nonce is below the sender's next nonce.
	ErrNonceTooLow = core.ErrNonceTooLow
	// ErrNonceGap: the nonce is more than Config.MaxGap ahead of the
	// sender's next nonce. It wraps core.ErrNonceTooHigh.
	ErrNonceGap = fmt.Errorf("%w: gap beyond the pool's limit", core.ErrNonceTooHigh)
	// ErrReplaceUnderpriced: a transaction with the same sender and nonce
	// is held, and the new one does not outbid it by Config.PriceBump
	// percent on both the fee cap and the tip.
	ErrReplaceUnderpriced = txpool.ErrReplaceUnderpriced
	// ErrAccountLimit: the sender already has Config.MaxPerAccount
	// transactions waiting.
	ErrAccountLimit = txpool.ErrAccountLimitExceeded
	// ErrPoolFull: the pool holds Config.MaxTotal transactions. The text is
	// go-ethereum's legacypool.ErrTxPoolOverflow's.
	ErrPoolFull = errors.New("txpool is full")
)

// Config bounds the pool. A zero field takes its default (DefaultConfig).
type Config struct {
	// MaxTotal is the most transactions held in all. At the bound Add
	// refuses with ErrPoolFull; nothing held is evicted. Default 4096.
	MaxTotal int
	// MaxPerAccount is the most transactions held for one sender. At the
	// bound Add refuses with ErrAccountLimit. Default 64.
	MaxPerAccount int
	// MaxGap is how far ahead of the sender's next nonce a nonce may be:
	// at most next+MaxGap is held, beyond that Add refuses with
	// ErrNonceGap. Default 64.
	MaxGap uint64
	// PriceBump is the percentage by which both the fee cap and the tip of
	// a replacement must exceed those of the transaction it replaces.
	// Default 10.
	PriceBump uint64
	// Lifetime is how long a transaction may wait: Expire drops those
	// added longer ago than this. Default 1 minute.
	Lifetime time.Duration
	// Order is how Pop ranks the executable transactions: by effective
	// tip (OrderTip, the default, as go-ethereum's miner) or by arrival
	// alone (OrderArrival: first come, first served, as Arbitrum's
	// sequencer). The chain's ordering property, P9, is OrderTip's.
	Order Order
}

// Order is a ranking of executable transactions (Config.Order).
type Order uint8

// The orders.
const (
	// OrderTip ranks by effective tip, min(tip, feeCap-baseFee), highest
	// first; the earliest arrival first among equals.
	OrderTip Order = iota
	// OrderArrival ranks by arrival alone, earliest first.
	OrderArrival
)

// DefaultConfig returns the default bounds.
func DefaultConfig() Config {
	return Config{MaxTotal: 4096, MaxPerAccount: 64, MaxGap: 64, PriceBump: 10, Lifetime: time.Minute}
}

// withDefaults returns c with its zero (or negative) fields set to the
// defaults.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MaxTotal <= 0 {
		c.MaxTotal = d.MaxTotal
	}
	if c.MaxPerAccount <= 0 {
		c.MaxPerAccount = d.MaxPerAccount
	}
	if c.MaxGap == 0 {
		c.MaxGap = d.MaxGap
	}
	if c.PriceBump == 0 {
		c.PriceBump = d.PriceBump
	}
	if c.Lifetime <= 0 {
		c.Lifetime = d.Lifetime
	}
	return c
}

// Entry is a held transaction.
type Entry struct {
	Tx      *types.Transaction
	From    common.Address
	Arrival uint64    // admission sequence number: from 1, increasing, never reused
	Added   time.Time // the caller's clock at admission

	feeCap, tip uint256.Int // Tx's fee cap and tip, saturated at 2^256-1
	held        bool        // in the pool now
}

// account is what the pool keeps for a sender it holds transactions for.
type account struct {
	addr common.Address
	next uint64      // the sender's next nonce, as the pool knows it
	txs  []*Entry    // held, by ascending nonce; never empty while in Pool.accounts
	idx  int         // index in Pool.ready, -1 when not there
	tip  uint256.Int // effective tip of txs[0] at Pool.base, while idx >= 0
}

// Pool is the transaction pool. It is not safe for concurrent use: a node
// is a single-threaded state machine.
type Pool struct {
	cfg      Config
	byHash   map[common.Hash]*Entry
	accounts map[common.Address]*account
	seq      uint64 // Arrival of the last admission

	// order holds every held entry, and removed ones not yet compacted
	// away, by ascending Arrival; Expire walks it. ordered says that Added
	// does not decrease along order (the caller's clock did not go back),
	// so that Expire can stop at the first entry that has not expired.
	order   []*Entry
	ordered bool

	// ready is a max-heap of the senders whose lowest held transaction is
	// executable at base: its nonce is the sender's next and its fee cap
	// is at least base. It is kept up to date by every change and rebuilt
	// when Pop is given another base fee.
	ready readyHeap
	base  uint256.Int

	// version counts the changes to what the pool holds (Content).
	version uint64
}

// New returns an empty pool with cfg's bounds (zero fields take defaults).
func New(cfg Config) *Pool {
	return &Pool{
		cfg:      cfg.withDefaults(),
		byHash:   make(map[common.Hash]*Entry),
		accounts: make(map[common.Address]*account),
		ordered:  true,
	}
}

// Config returns the pool's bounds, defaults filled in.
func (p *Pool) Config() Config { return p.cfg }

// Add admits tx, from sender from, whose nonce in the executed state is
// stateNonce; now is the caller's clock. It returns the entry tx replaced
// (same sender and nonce), or nil. A refused Add changes nothing.
//
// The sender's next nonce, as the pool records it, starts at stateNonce
// when the pool holds nothing from the sender. Once it does, Add does not
// move the record (SetNonce does, so that what it drops goes back to the
// caller); the nonce is checked against the higher of the two.
//
// A replacement must outbid the held transaction on both the fee cap and
// the tip: each must be higher than before and at least
// old*(100+PriceBump)/100, as go-ethereum's legacypool reckons it. The
// replacement is a new admission: it gets a new Arrival and Added.
func (p *Pool) Add(tx *types.Transaction, from common.Address, stateNonce uint64, now time.Time) (replaced *Entry, err error) {
	hash, nonce := tx.Hash(), tx.Nonce()
	if _, ok := p.byHash[hash]; ok {
		return nil, fmt.Errorf("%w: transaction %v (address %v, nonce %d) is already waiting in the pool", ErrAlreadyKnown, hash, from, nonce)
	}
	a := p.accounts[from]
	next := stateNonce
	if a != nil && a.next > next {
		next = a.next
	}
	if nonce < next {
		return nil, fmt.Errorf("%w: address %v, tx: %d state: %d", ErrNonceTooLow, from, nonce, next)
	}
	if nonce-next > p.cfg.MaxGap {
		return nil, fmt.Errorf("%w: address %v, tx: %d state: %d; the pool holds nonces up to %d: send the missing ones first",
			ErrNonceGap, from, nonce, next, next+p.cfg.MaxGap)
	}
	e := &Entry{Tx: tx, From: from, Added: now}
	e.feeCap = saturate(tx.GasFeeCap())
	e.tip = saturate(tx.GasTipCap())

	var i int
	if a != nil {
		var found bool
		if i, found = a.find(nonce); found {
			old := a.txs[i]
			if err := p.outbids(tx, old); err != nil {
				return nil, err
			}
			p.admit(e)
			a.txs[i] = e
			p.forget(old)
			p.fix(a)
			p.maybeCompact()
			return old, nil
		}
		if len(a.txs) >= p.cfg.MaxPerAccount {
			return nil, fmt.Errorf("%w: address %v has %d transactions waiting, the most one sender may have; send nonce %d once earlier ones have executed",
				ErrAccountLimit, from, len(a.txs), nonce)
		}
	}
	if len(p.byHash) >= p.cfg.MaxTotal {
		return nil, fmt.Errorf("%w: %d transactions are waiting, the pool's limit; address %v, nonce %d: retry later",
			ErrPoolFull, len(p.byHash), from, nonce)
	}
	if a == nil {
		a = &account{addr: from, next: stateNonce, idx: -1}
		p.accounts[from] = a
	}
	p.admit(e)
	a.txs = slices.Insert(a.txs, i, e)
	p.fix(a)
	return nil, nil
}

// outbids returns nil if tx may replace old, or why not.
func (p *Pool) outbids(tx *types.Transaction, old *Entry) error {
	feeCap, feeOK := bump(old.Tx.GasFeeCap(), tx.GasFeeCap(), p.cfg.PriceBump)
	tip, tipOK := bump(old.Tx.GasTipCap(), tx.GasTipCap(), p.cfg.PriceBump)
	if feeOK && tipOK {
		return nil
	}
	return fmt.Errorf("%w: address %v, nonce %d: replacing %v needs a fee cap of at least %v (got %v) and a tip of at least %v (got %v), %d%% above it",
		ErrReplaceUnderpriced, old.From, old.Tx.Nonce(), old.Tx.Hash(), feeCap, tx.GasFeeCap(), tip, tx.GasTipCap(), p.cfg.PriceBump)
}

// bump returns the least value that outbids old by pct percent (more than
// old, and at least old*(100+pct)/100), and whether v reaches it.
func bump(old, v *big.Int, pct uint64) (*big.Int, bool) {
	need := new(big.Int).Mul(old, new(big.Int).SetUint64(100+pct))
	need.Div(need, big.NewInt(100))
	if need.Cmp(old) <= 0 {
		need.Add(old, big.NewInt(1))
	}
	return need, v.Cmp(need) >= 0
}

// admit gives e its Arrival and makes it held.
func (p *Pool) admit(e *Entry) {
	p.version++
	p.seq++
	e.Arrival = p.seq
	e.held = true
	p.byHash[e.Tx.Hash()] = e
	if n := len(p.order); n > 0 && e.Added.Before(p.order[n-1].Added) {
		p.ordered = false
	}
	p.order = append(p.order, e)
}

// forget marks e no longer held. It stays in order until compacted.
func (p *Pool) forget(e *Entry) {
	p.version++
	e.held = false
	delete(p.byHash, e.Tx.Hash())
}

// take removes a held entry from its account, and the account from the
// pool if it was the last.
func (p *Pool) take(e *Entry) {
	a := p.accounts[e.From]
	i, found := a.find(e.Tx.Nonce())
	if !found || a.txs[i] != e {
		panic("mempool: a held entry is missing from its sender's list")
	}
	a.txs = slices.Delete(a.txs, i, i+1)
	p.forget(e)
	p.settle(a)
}

// settle drops a from the pool if it holds nothing, else puts it where it
// belongs in ready.
func (p *Pool) settle(a *account) {
	if len(a.txs) > 0 {
		p.fix(a)
		return
	}
	if a.idx >= 0 {
		heap.Remove(&p.ready, a.idx)
	}
	delete(p.accounts, a.addr)
}

// maybeCompact drops removed entries from order once they outnumber the
// held ones, so that order stays within twice the pool's size.
func (p *Pool) maybeCompact() {
	if dead := len(p.order) - len(p.byHash); dead > 32 && dead > len(p.byHash) {
		p.compact()
	}
}

func (p *Pool) compact() {
	keep := p.order[:0]
	p.ordered = true
	for _, e := range p.order {
		if !e.held {
			continue
		}
		if n := len(keep); n > 0 && e.Added.Before(keep[n-1].Added) {
			p.ordered = false
		}
		keep = append(keep, e)
	}
	clear(p.order[len(keep):])
	p.order = keep
}

// find returns the index of the entry with that nonce in a.txs, or where it
// would go.
func (a *account) find(nonce uint64) (int, bool) {
	return slices.BinarySearchFunc(a.txs, nonce, func(e *Entry, n uint64) int {
		switch en := e.Tx.Nonce(); {
		case en < n:
			return -1
		case en > n:
			return 1
		}
		return 0
	})
}

// headTip returns the effective tip at base of a's lowest held
// transaction, and whether that transaction is executable at base.
func (p *Pool) headTip(a *account, base *uint256.Int) (uint256.Int, bool) {
	tip, ok := headTip(a, base)
	if p.cfg.Order == OrderArrival {
		tip.Clear() // every tip ties: arrival decides
	}
	return tip, ok
}

func headTip(a *account, base *uint256.Int) (uint256.Int, bool) {
	var tip uint256.Int
	if len(a.txs) == 0 {
		return tip, false
	}
	e := a.txs[0]
	if e.Tx.Nonce() != a.next || e.feeCap.Lt(base) {
		return tip, false
	}
	tip.Sub(&e.feeCap, base)
	if e.tip.Lt(&tip) {
		tip = e.tip
	}
	return tip, true
}

// fix puts a where it belongs in ready after its head or next nonce changed.
func (p *Pool) fix(a *account) {
	tip, ok := p.headTip(a, &p.base)
	switch {
	case ok && a.idx >= 0:
		a.tip = tip
		heap.Fix(&p.ready, a.idx)
	case ok:
		a.tip = tip
		heap.Push(&p.ready, a)
	case a.idx >= 0:
		heap.Remove(&p.ready, a.idx)
	}
}

// rebuild rebuilds ready for another base fee.
func (p *Pool) rebuild(base uint256.Int) {
	p.base = base
	clear(p.ready)
	p.ready = p.ready[:0]
	for _, a := range p.accounts { // heap.Init orders by (tip, unique Arrival), a total order: map order cannot leak
		a.idx = -1
		if tip, ok := p.headTip(a, &p.base); ok {
			a.tip = tip
			a.idx = len(p.ready)
			p.ready = append(p.ready, a)
		}
	}
	heap.Init(&p.ready)
}

// Pop removes and returns the best executable transaction at baseFee (nil
// counts as zero): among the senders whose lowest held nonce is their next
// nonce, the one paying the highest effective tip, min(tip, feeCap-baseFee),
// earliest Arrival first among equals. A transaction whose fee cap is below
// baseFee is skipped, not dropped. Pop returns nil when none is executable.
//
// Pop does not advance the sender's next nonce: the sender's further
// transactions wait until the caller, having executed (or refused) this
// one, says the new nonce with SetNonce. O(log senders), plus a rebuild in
// O(senders) when baseFee differs from the previous call's.
func (p *Pool) Pop(baseFee *big.Int) *Entry {
	e := p.Peek(baseFee)
	if e == nil {
		return nil
	}
	p.take(e)
	p.maybeCompact()
	return e
}

// Peek returns what Pop would return at baseFee, and leaves it held: a
// caller that finds it does not fit (the block's gas) leaves it, and every
// transaction ranked below it, for later, so that nothing executes ahead
// of a better one. O(1) at the base fee of the last call, else as Pop.
func (p *Pool) Peek(baseFee *big.Int) *Entry {
	if base := saturate(baseFee); !base.Eq(&p.base) {
		p.rebuild(base)
	}
	if len(p.ready) == 0 {
		return nil
	}
	return p.ready[0].txs[0]
}

// Executable returns how many transactions Pop could return at baseFee
// before the next SetNonce: one per sender whose lowest held transaction
// is executable. O(1) at the base fee of the last Pop, O(senders) at
// another.
func (p *Pool) Executable(baseFee *big.Int) int {
	base := saturate(baseFee)
	if base.Eq(&p.base) {
		return len(p.ready)
	}
	n := 0
	for _, a := range p.accounts { // counting: order cannot leak
		if _, ok := headTip(a, &base); ok {
			n++
		}
	}
	return n
}

// SetNonce tells the pool that from's nonce in the executed state is now
// n: the caller executed one of its transactions, or refused one. Held
// transactions of from with a nonce below n are removed and returned, by
// ascending Arrival, so that their waiters can be told; the one with nonce
// n, if held, becomes executable. n may be lower than the pool's record
// (nothing is dropped then). A sender the pool holds nothing for is not
// recorded.
func (p *Pool) SetNonce(from common.Address, n uint64) (dropped []*Entry) {
	a := p.accounts[from]
	if a == nil {
		return nil
	}
	a.next = n
	if k, _ := a.find(n); k > 0 {
		dropped = slices.Clone(a.txs[:k])
		a.txs = slices.Delete(a.txs, 0, k)
		for _, e := range dropped {
			p.forget(e)
		}
		slices.SortFunc(dropped, byArrival)
	}
	p.settle(a)
	p.maybeCompact()
	return dropped
}

// Nonce returns the pool's record of from's next nonce, and whether the
// pool holds anything from from.
func (p *Pool) Nonce(from common.Address) (uint64, bool) {
	if a := p.accounts[from]; a != nil {
		return a.next, true
	}
	return 0, false
}

// Version changes whenever what the pool holds changes, so that a caller
// can tell whether Content would answer anything new.
func (p *Pool) Version() uint64 { return p.version }

// Content returns what the pool holds, as txpool_content shows it, by
// ascending sender and then nonce: pending are each sender's transactions
// from its next nonce on without a gap (ready to run once fees allow),
// queued the ones behind a gap.
func (p *Pool) Content() (pending, queued []*Entry) {
	addrs := make([]common.Address, 0, len(p.accounts))
	for a := range p.accounts { // sorted below: order cannot leak
		addrs = append(addrs, a)
	}
	slices.SortFunc(addrs, func(a, b common.Address) int { return a.Cmp(b) })
	for _, addr := range addrs {
		a := p.accounts[addr]
		next := a.next
		for _, e := range a.txs {
			if e.Tx.Nonce() == next {
				pending = append(pending, e)
				next++
			} else {
				queued = append(queued, e)
			}
		}
	}
	return pending, queued
}

// Get returns the held entry with that hash, or nil.
func (p *Pool) Get(hash common.Hash) *Entry { return p.byHash[hash] }

// Remove removes the held entry with that hash and returns it, or returns
// nil. The sender's transactions above it stay held until SetNonce fills
// the gap.
func (p *Pool) Remove(hash common.Hash) *Entry {
	e := p.byHash[hash]
	if e == nil {
		return nil
	}
	p.take(e)
	p.maybeCompact()
	return e
}

// Expire removes and returns, by ascending Arrival, the entries added
// before now-Lifetime. The senders' transactions above them stay held until
// SetNonce fills the gap. O(expired) while the caller's clock has not gone
// back, O(held) otherwise.
func (p *Pool) Expire(now time.Time) []*Entry {
	cutoff := now.Add(-p.cfg.Lifetime)
	var out []*Entry
	if p.ordered {
		i := 0
		for ; i < len(p.order); i++ {
			e := p.order[i]
			if !e.held {
				continue
			}
			if !e.Added.Before(cutoff) {
				break
			}
			out = append(out, e)
		}
		clear(p.order[:i])
		p.order = p.order[i:]
	} else {
		keep := p.order[:0]
		p.ordered = true
		for _, e := range p.order {
			switch {
			case !e.held:
			case e.Added.Before(cutoff):
				out = append(out, e)
			default:
				if n := len(keep); n > 0 && e.Added.Before(keep[n-1].Added) {
					p.ordered = false
				}
				keep = append(keep, e)
			}
		}
		clear(p.order[len(keep):])
		p.order = keep
	}
	for _, e := range out {
		p.take(e)
	}
	return out
}

// Len returns the number of transactions held.
func (p *Pool) Len() int { return len(p.byHash) }

// Check returns the first broken invariant of the pool's structure, or nil.
// Its tests call it after every operation, and the sequencer asserts it at
// every mini-block it closes (its cost is linear in what the pool holds).
func (p *Pool) Check() error {
	addrs := make([]common.Address, 0, len(p.accounts))
	for addr := range p.accounts { // sorted below: order cannot leak
		addrs = append(addrs, addr)
	}
	slices.SortFunc(addrs, func(x, y common.Address) int { return bytes.Compare(x[:], y[:]) })
	total, inReady := 0, 0
	for _, addr := range addrs {
		a := p.accounts[addr]
		if a.addr != addr || len(a.txs) == 0 || len(a.txs) > p.cfg.MaxPerAccount {
			return fmt.Errorf("account %v: address %v, %d txs (limit %d)", addr, a.addr, len(a.txs), p.cfg.MaxPerAccount)
		}
		for i, e := range a.txs {
			if !e.held || e.From != addr || p.byHash[e.Tx.Hash()] != e {
				return fmt.Errorf("account %v: tx %d (%v) is not held as it should be", addr, i, e.Tx.Hash())
			}
			if i > 0 && a.txs[i-1].Tx.Nonce() >= e.Tx.Nonce() {
				return fmt.Errorf("account %v: nonces not ascending at %d", addr, i)
			}
		}
		total += len(a.txs)
		tip, ok := p.headTip(a, &p.base)
		switch {
		case ok != (a.idx >= 0):
			return fmt.Errorf("account %v: executable %v but heap index %d", addr, ok, a.idx)
		case ok && (a.idx >= len(p.ready) || p.ready[a.idx] != a || !a.tip.Eq(&tip)):
			return fmt.Errorf("account %v: wrong place or tip in the heap", addr)
		case ok:
			inReady++
		}
	}
	if total != len(p.byHash) || total > p.cfg.MaxTotal {
		return fmt.Errorf("%d txs in accounts, %d by hash, limit %d", total, len(p.byHash), p.cfg.MaxTotal)
	}
	if inReady != len(p.ready) {
		return fmt.Errorf("heap holds %d senders, %d are executable", len(p.ready), inReady)
	}
	for i := 1; i < len(p.ready); i++ {
		if p.ready.Less(i, (i-1)/2) {
			return fmt.Errorf("heap property broken at %d", i)
		}
	}
	held := 0
	for i, e := range p.order {
		if i > 0 && p.order[i-1].Arrival >= e.Arrival {
			return fmt.Errorf("order not by arrival at %d", i)
		}
		if p.ordered && i > 0 && e.Added.Before(p.order[i-1].Added) {
			return fmt.Errorf("order marked ordered but Added goes back at %d", i)
		}
		if e.held {
			held++
		}
	}
	if held != len(p.byHash) {
		return fmt.Errorf("order holds %d held entries, the pool %d", held, len(p.byHash))
	}
	return nil
}

// byArrival orders entries by ascending Arrival.
func byArrival(x, y *Entry) int {
	switch {
	case x.Arrival < y.Arrival:
		return -1
	case x.Arrival > y.Arrival:
		return 1
	}
	return 0
}

// saturate converts a non-negative amount to a uint256, 0 for nil or
// negative and 2^256-1 above that (stateless validation refuses such fees;
// the pool must not panic on them all the same).
func saturate(v *big.Int) uint256.Int {
	var u uint256.Int
	if v == nil || v.Sign() <= 0 {
		return u
	}
	if u.SetFromBig(v) {
		u.SetAllOne()
	}
	return u
}

// readyHeap is a max-heap of senders by the effective tip of their lowest
// held transaction, earliest Arrival first among equals.
type readyHeap []*account

func (h readyHeap) Len() int { return len(h) }

func (h readyHeap) Less(i, j int) bool {
	if c := h[i].tip.Cmp(&h[j].tip); c != 0 {
		return c > 0
	}
	return h[i].txs[0].Arrival < h[j].txs[0].Arrival
}

func (h readyHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].idx = i
	h[j].idx = j
}

func (h *readyHeap) Push(x any) {
	a := x.(*account)
	a.idx = len(*h)
	*h = append(*h, a)
}

func (h *readyHeap) Pop() any {
	old := *h
	a := old[len(old)-1]
	old[len(old)-1] = nil
	a.idx = -1
	*h = old[:len(old)-1]
	return a
}
