package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/state"
)

// Config bounds what a ledger keeps.
type Config struct {
	// Window is how many of the newest mini-block heights stay readable
	// at a tag (state history kept in memory). Default 4096.
	Window int
	// SnapshotEvery is how many mini-blocks may pass between state
	// snapshots; a snapshot is taken with the first sealing mini-block
	// after that many, so recovery re-applies at most about this many
	// diffs plus one block (re-applying a diff is cheap: about a million
	// transactions' worth a second). Default 1000.
	SnapshotEvery uint64
	// Retain is how many of the newest mini-blocks stay on disk for range
	// requests and receipts. Default 1,000,000.
	Retain uint64
	// Cache is how many decoded mini-blocks stay in memory. Default 1024.
	Cache int
}

func (c Config) withDefaults() Config {
	if c.Window <= 0 {
		c.Window = 4096
	}
	if c.SnapshotEvery == 0 {
		c.SnapshotEvery = 1000
	}
	if c.Retain == 0 {
		c.Retain = 1_000_000
	}
	if c.Cache <= 0 {
		c.Cache = 1024
	}
	return c
}

// Disk layout, beside the state snapshot's own records (node/state):
//
//	ledger/mb/<number>   mini-block (chain.MiniBlock.Encode)
//	ledger/tx/<hash>     where a transaction is: mini-block number, index
//	ledger/blk/<number>  sealed block: header, first and last mini-block
//	ledger/bh/<hash>     a sealed block's number, by its hash
//	ledger/snap          the mini-block the state snapshot is at
var (
	prefixMini      = []byte("ledger/mb/")
	prefixTx        = []byte("ledger/tx/")
	prefixBlock     = []byte("ledger/blk/")
	prefixBlockHash = []byte("ledger/bh/")
	keySnap         = []byte("ledger/snap")
)

// Formats of the ledger's own records.
const (
	formatTxLocV1     chain.Format = 0x71
	formatSealV1      chain.Format = 0x72
	formatSnapV1      chain.Format = 0x73
	formatBlockHashV1 chain.Format = 0x77
)

func be64(prefix []byte, n uint64) []byte {
	return binary.BigEndian.AppendUint64(slices.Clip(prefix), n)
}

// Errors.
var (
	// ErrNotFound: no such transaction, mini-block or block here.
	ErrNotFound = errors.New("not found")
	// ErrPruned: the height is older than what the ledger keeps.
	ErrPruned = errors.New("pruned")
	// ErrFuture: the height is not reached yet.
	ErrFuture = errors.New("not reached yet")
	// ErrSealMismatch: a sealing mini-block's header disagrees with the
	// state or the body the ledger computed. The ledger is poisoned.
	ErrSealMismatch = errors.New("sealed block does not match the applied state")
	// ErrCorrupt: a record on disk fails its checks.
	ErrCorrupt = errors.New("ledger record corrupt")
	// ErrNotNext: the mini-block does not extend the head.
	ErrNotNext = errors.New("mini-block does not extend the head")
	// ErrStarting: nothing is durable yet since the ledger was opened, so
	// there is nothing to serve (the node's first sync is in flight).
	ErrStarting = errors.New("starting: the node's disk is syncing what it recovered")
)

// TxLoc is where a transaction was executed.
type TxLoc struct {
	MiniBlock uint64
	Index     uint64
}

// Sealed is a sealed EVM block as the ledger keeps it: its header and the
// range of mini-blocks it is made of.
type Sealed struct {
	Header      *types.Header
	First, Last uint64
	PrevLast    uint64 // last mini-block of the previous block
}

// Ledger is a node's applied chain: the live state with a window of
// history, the mini-blocks it applied (on disk, for range requests and
// receipts), the sealed blocks, and recovery from disk. The sequencer and
// the fullnodes share it; it does no IO but through node.Disk.
//
// Two parties use a ledger. Its owner, the node's step, applies mini-blocks
// (Append), each written to disk in one batch, and asks the Env for the
// sync. Everyone else reads views (View): immutable pictures of the ledger
// at a mini-block, which the owner releases (Release) once that mini-block
// is durable. Clients, peers asking for ranges, and everything a node lets
// out are served from the released view, concurrently with the step; the
// owner's own decisions use the tip (Tip), the view of everything applied.
type Ledger struct {
	cfg     Config
	disk    node.Disk
	genesis *types.Block
	signer  types.Signer // recovers senders (once: transactions cache them)

	hist     *state.History
	head     chain.MiniBlockHeader
	headHash common.Hash
	poisoned error

	// The open block: what the mini-blocks since the last seal hold.
	open      []*chain.MiniBlock
	openFirst uint64

	lastSeal *Sealed // the newest sealed block (genesis: Header only)

	// mu guards the indexes views read: the cached mini-blocks and seals
	// and the transactions of the cached mini-blocks. The owner changes
	// them under the write lock; views read them under the read lock.
	mu      sync.RWMutex
	sealedN map[uint64]*Sealed
	sealedQ []uint64               // cache order
	byHash  map[common.Hash]uint64 // the cached seals' numbers by hash
	cache   map[uint64]cached
	cacheQ  []uint64
	txs     map[common.Hash]TxLoc // transactions of the cached mini-blocks

	snapAt    uint64 // mini-block of the newest snapshot on disk
	sinceSnap uint64

	bodyOf *chain.MiniBlock // the mini-block body was computed for (Body)
	body   BodyRoots

	tornTail  bool   // Open dropped a torn last record
	published uint64 // newest block DA acknowledged (sequencer)
	witness   []byte // the witness AppendSealed stores with the seal

	tip      *View                // the view of everything applied
	staged   []*View              // views applied and not yet released, ascending
	released atomic.Pointer[View] // the view clients are served from; nil before the first Release
	fin      api.Finality         // what the owner knows of finality
}

// Open recovers the ledger of the chain chainCfg rules from disk: the newest state snapshot, then every
// stored mini-block after it, re-applied by diff. An empty disk starts at
// genesis (whose block and state the caller gives). A torn last record (an
// unsynced write cut by a crash) is dropped; any other defect is an error.
//
// What Open recovered may not be durable: a process that was killed leaves
// its unsynced writes behind, readable. So nothing is released yet: the
// owner syncs, and releases the tip once that sync completes.
func Open(disk node.Disk, chainCfg *params.ChainConfig, genesis *types.Block, genesisState *state.Mem, cfg Config) (*Ledger, error) {
	cfg = cfg.withDefaults()
	l := &Ledger{
		cfg: cfg, disk: disk, genesis: genesis, signer: types.LatestSigner(chainCfg),
		sealedN: map[uint64]*Sealed{}, cache: map[uint64]cached{}, txs: map[common.Hash]TxLoc{},
		byHash: map[common.Hash]uint64{},
	}
	st, err := state.Load(disk)
	switch {
	case errors.Is(err, state.ErrNoSnapshot):
		st = genesisState.Copy().(*state.Mem)
		l.snapAt = 0
	case err != nil:
		return nil, fmt.Errorf("open ledger: %w", err)
	default:
		raw, err := disk.Get(keySnap)
		if err != nil {
			return nil, fmt.Errorf("open ledger: snapshot height: %w", err)
		}
		var at struct{ MiniBlock uint64 }
		if err := chain.UnframeRLP(formatSnapV1, raw, &at); err != nil {
			return nil, fmt.Errorf("open ledger: %w: snapshot height: %v", ErrCorrupt, err)
		}
		l.snapAt = at.MiniBlock
	}
	st.Checkpoint() // the snapshot (or genesis) is a sealed block's state
	l.hist = state.NewHistory(st, l.snapAt, cfg.Window)
	if err := l.loadPublished(); err != nil {
		return nil, fmt.Errorf("open ledger: %w", err)
	}
	l.lastSeal = &Sealed{Header: genesis.Header()}
	l.head = chain.MiniBlockHeader{Number: 0, BlockNumber: 0, TimeMicros: genesis.Time() * 1e6}
	l.headHash = genesis.Hash()
	l.openFirst = 1
	if l.snapAt > 0 {
		// The snapshot is taken at a sealing mini-block: find that block.
		if err := l.loadSealedAt(l.snapAt); err != nil {
			return nil, err
		}
	}
	// Re-apply what follows the snapshot, up to the first missing record.
	for n := l.snapAt + 1; ; n++ {
		mb, raw, err := readMini(l.disk, n)
		if errors.Is(err, node.ErrNotFound) {
			break
		}
		if errors.Is(err, ErrCorrupt) {
			if _, _, next := readMini(l.disk, n+1); errors.Is(next, node.ErrNotFound) {
				l.tornTail = true
				break // a torn tail: never synced, so never let out
			}
		}
		if err != nil {
			return nil, fmt.Errorf("open ledger: %w", err)
		}
		if err := l.apply(mb, raw); err != nil {
			return nil, fmt.Errorf("open ledger: re-applying mini-block %d: %w", n, err)
		}
		l.sinceSnap++
	}
	l.staged = l.staged[:0]
	l.stage()
	return l, nil
}

// readRetries is how many times a record that fails its checks is read
// again before it is taken to be damaged on disk: a read can be corrupted
// on its way (the simulated disk does this), a stored record stays bad.
const readRetries = 5

// readMini reads and decodes stored mini-block n.
func readMini(disk node.Disk, n uint64) (*chain.MiniBlock, []byte, error) {
	var last error
	for range readRetries {
		raw, err := disk.Get(be64(prefixMini, n))
		if errors.Is(err, node.ErrNotFound) {
			return nil, nil, err
		}
		if err != nil {
			last = err
			continue
		}
		mb, err := chain.DecodeMiniBlock(raw)
		if err != nil {
			last = fmt.Errorf("%w: mini-block %d: %v", ErrCorrupt, n, err)
			continue
		}
		if mb.Header.Number != n {
			return nil, nil, fmt.Errorf("%w: record of mini-block %d holds mini-block %d", ErrCorrupt, n, mb.Header.Number)
		}
		return mb, raw, nil
	}
	return nil, nil, last
}

// loadSealedAt finds the sealed block whose last mini-block is n and makes
// it the newest seal, with the head at n.
func (l *Ledger) loadSealedAt(n uint64) error {
	mb, raw, err := readMini(l.disk, n)
	if err != nil {
		return fmt.Errorf("open ledger: snapshot mini-block %d: %w", n, err)
	}
	if mb.Sealed == nil {
		return fmt.Errorf("open ledger: %w: snapshot at mini-block %d, which seals no block", ErrCorrupt, n)
	}
	found, err := readSealed(l.disk, mb.Sealed.Number.Uint64())
	if err != nil {
		return fmt.Errorf("open ledger: sealed block %d: %w", mb.Sealed.Number, err)
	}
	l.lastSeal = found
	l.rememberSeal(found)
	l.head, l.headHash = mb.Header, mb.Hash()
	l.openFirst = n + 1
	l.remember(mb, raw)
	return nil
}

// Head is the newest applied mini-block's header and hash (the tip's; the
// released view may be behind).
func (l *Ledger) Head() (chain.MiniBlockHeader, common.Hash) { return l.head, l.headHash }

// Safe is the newest sealed block applied (the genesis block at first).
func (l *Ledger) Safe() *Sealed { return l.lastSeal }

// Genesis is the genesis block.
func (l *Ledger) Genesis() *types.Block { return l.genesis }

// State is the live state, at the head. Only its owner changes it, through
// the ledger.
func (l *Ledger) State() *state.Mem { return l.hist.State() }

// Applied is the number of mini-block diffs the live state holds: the head,
// or one more when a sealing mini-block's diff was applied and its seal then
// failed (the ledger is poisoned).
func (l *Ledger) Applied() uint64 { return l.hist.Height() }

// TornTail reports whether Open dropped a torn last record (an unsynced
// write a crash cut short).
func (l *Ledger) TornTail() bool { return l.tornTail }

// Poisoned is the error that stopped the ledger, or nil.
func (l *Ledger) Poisoned() error { return l.poisoned }

// OpenBlock returns the mini-blocks applied since the last seal.
func (l *Ledger) OpenBlock() []*chain.MiniBlock { return l.open }

// Tip is the view of everything applied, released or not: what the owner
// decides by. It must not be let out (View is).
func (l *Ledger) Tip() *View { return l.tip }

// View is the released view: the ledger as of the newest mini-block the
// owner knows to be durable. Clients and peers are served from it. It is
// nil until the first Release after Open. Any goroutine may call View.
func (l *Ledger) View() *View { return l.released.Load() }

// Release makes the view of mini-block n (or of the newest applied
// mini-block before it) the released view: the owner calls it once a sync
// that covers n completed. Releasing what is already released does nothing;
// n beyond the head breaks an invariant.
func (l *Ledger) Release(n uint64) *View {
	node.Assert(n <= l.head.Number, "ledger: release of mini-block %d, head %d", n, l.head.Number)
	var v *View
	for len(l.staged) > 0 && l.staged[0].head.Number <= n {
		v = l.staged[0]
		l.staged[0] = nil
		l.staged = l.staged[1:]
	}
	cur := l.released.Load()
	if v == nil {
		return cur
	}
	if cur != nil {
		node.Assert(v.head.Number >= cur.head.Number, "ledger: release of mini-block %d after %d", v.head.Number, cur.head.Number)
	}
	v = v.withFinality(l.fin)
	l.released.Store(v)
	return v
}

// SetFinality records what the owner knows of finality: the views it
// releases from now on carry it (clamped to their own sealed blocks), and
// the released view is replaced by one that does.
func (l *Ledger) SetFinality(f api.Finality) {
	l.fin = f
	l.tip = l.tip.withFinality(f)
	if cur := l.released.Load(); cur != nil {
		l.released.Store(cur.withFinality(f))
	}
}

// stage takes the view of the head as the tip and queues it for release.
func (l *Ledger) stage() {
	v := &View{l: l, head: l.head, headHash: l.headHash, safe: l.lastSeal, open: l.open[:len(l.open):len(l.open)], poisoned: l.poisoned,
		proofs: l.hist.State().Proofs()}
	v = v.withFinality(l.fin)
	l.tip = v
	l.staged = append(l.staged, v)
}

// poison stops the ledger: every view it let out says so from now on.
func (l *Ledger) poison(err error) {
	l.poisoned = err
	if l.tip == nil {
		return // still opening: Open fails
	}
	l.tip = l.tip.poison(err)
	if cur := l.released.Load(); cur != nil {
		l.released.Store(cur.poison(err))
	}
}

// Append checks mb against the head (number and parent hash), applies its
// diff to the live state, checks a seal against the state and the block's
// body, and writes it to disk in one batch, with a snapshot when one is
// due. The batch is committed, not synced: the owner asks its Env for the
// sync and releases mb's view once the sync completes. A seal mismatch
// poisons the ledger: it serves nothing any more. A disk error leaves the
// ledger in memory ahead of the disk; the owner must then reopen it.
func (l *Ledger) Append(mb *chain.MiniBlock, raw []byte) error {
	if l.poisoned != nil {
		return l.poisoned
	}
	if raw == nil {
		var err error
		if raw, err = mb.Encode(); err != nil {
			return err
		}
	}
	if err := l.apply(mb, raw); err != nil {
		return err
	}
	if err := l.store(mb, raw); err != nil {
		return err
	}
	l.stage()
	return nil
}

// apply advances the in-memory ledger by mb.
func (l *Ledger) apply(mb *chain.MiniBlock, raw []byte) error {
	h := &mb.Header
	if h.Number != l.head.Number+1 || h.ParentHash != l.headHash {
		return fmt.Errorf("%w: mini-block %d (parent %v), head %d (%v)", ErrNotNext, h.Number, h.ParentHash, l.head.Number, l.headHash)
	}
	wantBlock := l.lastSeal.Header.Number.Uint64() + 1
	if h.BlockNumber != wantBlock || h.Index != uint64(len(l.open)) {
		return fmt.Errorf("%w: mini-block %d is #%d of block %d, want #%d of block %d", ErrNotNext, h.Number, h.Index, h.BlockNumber, len(l.open), wantBlock)
	}
	if h.Term < l.head.Term {
		// A sequencer group's terms never go back along the chain: a
		// mini-block from an older term than the head's is a deposed
		// leader's (fencing; see chain.MiniBlockHeader.Term).
		return fmt.Errorf("%w: mini-block %d is from term %d, the head from term %d", ErrNotNext, h.Number, h.Term, l.head.Term)
	}
	if l.hist.Height() != h.Number-1 {
		return fmt.Errorf("%w: state at %d, mini-block %d", ErrNotNext, l.hist.Height(), h.Number)
	}
	if err := l.hist.Apply(h.Number, mb.Diff); err != nil {
		return err
	}
	l.open = append(l.open, mb)
	if mb.Sealed != nil {
		if err := l.checkSeal(mb); err != nil {
			l.poison(err)
			return err
		}
		l.lastSeal = &Sealed{Header: mb.Sealed, First: l.openFirst, Last: h.Number, PrevLast: l.openFirst - 1}
		l.rememberSeal(l.lastSeal)
		l.open = nil
		l.openFirst = h.Number + 1
	}
	l.head, l.headHash = *h, mb.Hash()
	l.remember(mb, raw)
	node.Assert(l.hist.Height() == l.head.Number, "ledger: state at %d after applying mini-block %d", l.hist.Height(), l.head.Number)
	return nil
}

// BodyRoots are what a sealed header commits to of its block's body: the
// transactions and receipts roots, the logs bloom and the gas used.
type BodyRoots struct {
	TxHash, ReceiptHash common.Hash
	Bloom               types.Bloom
	GasUsed             uint64
}

// Body computes the body roots of the block that mini-block mb, the next
// one, would seal: the open block's mini-blocks and mb's. The sequencer
// builds its sealed header from them; the ledger's seal check of that same
// mini-block then takes them as computed instead of hashing the block
// again.
func (l *Ledger) Body(mb *chain.MiniBlock) BodyRoots {
	var txs []*types.Transaction
	var rs []*types.Receipt
	var r BodyRoots
	for _, m := range l.open {
		txs = append(txs, m.Txs...)
		rs = append(rs, m.Receipts...)
		r.GasUsed += m.Header.GasUsed
	}
	txs = append(txs, mb.Txs...)
	rs = append(rs, mb.Receipts...)
	r.GasUsed += mb.Header.GasUsed
	r.TxHash, r.ReceiptHash, r.Bloom = chain.TxRoot(txs), chain.ReceiptRoot(rs), types.MergeBloom(rs)
	l.bodyOf, l.body = mb, r
	return r
}

// checkSeal compares a seal with what the ledger computed: state root,
// transactions and receipts roots, bloom, gas used, parent and number.
func (l *Ledger) checkSeal(mb *chain.MiniBlock) error {
	s := mb.Sealed
	body := l.body
	if l.bodyOf != mb {
		// Not the mini-block Body computed for (a fullnode's): compute.
		// mb is in l.open already, as the last.
		open := l.open
		l.open = open[:len(open)-1]
		body = l.Body(mb)
		l.open = open
	}
	l.bodyOf = nil
	var bad []string
	if root := l.hist.State().Checkpoint(); root != s.Root {
		bad = append(bad, fmt.Sprintf("state root %v, header says %v", root, s.Root))
	}
	if body.TxHash != s.TxHash {
		bad = append(bad, fmt.Sprintf("transactions root %v, header says %v", body.TxHash, s.TxHash))
	}
	if body.ReceiptHash != s.ReceiptHash {
		bad = append(bad, fmt.Sprintf("receipts root %v, header says %v", body.ReceiptHash, s.ReceiptHash))
	}
	if body.Bloom != s.Bloom {
		bad = append(bad, "logs bloom differs")
	}
	if body.GasUsed != s.GasUsed {
		bad = append(bad, fmt.Sprintf("gas used %d, header says %d", body.GasUsed, s.GasUsed))
	}
	if s.ParentHash != l.lastSeal.Header.Hash() {
		bad = append(bad, fmt.Sprintf("parent %v, newest sealed block is %v", s.ParentHash, l.lastSeal.Header.Hash()))
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: block %d (mini-block %d): %v", ErrSealMismatch, s.Number, mb.Header.Number, bad)
	}
	return nil
}

// store writes mb, its transactions' locations, its seal with the index
// of its hash and, when due, a snapshot, in one committed batch.
func (l *Ledger) store(mb *chain.MiniBlock, raw []byte) error {
	n := mb.Header.Number
	b := l.disk.NewBatch()
	b.Set(be64(prefixMini, n), raw)
	for i, tx := range mb.Txs {
		h := tx.Hash()
		b.Set(append(slices.Clip(prefixTx), h[:]...), chain.FrameRLP(formatTxLocV1, &TxLoc{MiniBlock: n, Index: uint64(i)}))
	}
	var pruned uint64
	if n > l.cfg.Retain && n-l.cfg.Retain <= l.snapAt {
		// Only what a snapshot covers may go: recovery re-applies the rest.
		pruned = n - l.cfg.Retain
		b.Delete(be64(prefixMini, pruned))
	}
	var done func()
	l.sinceSnap++
	if mb.Sealed != nil {
		b.Set(be64(prefixBlock, mb.Sealed.Number.Uint64()), chain.FrameRLP(formatSealV1, l.lastSeal))
		b.Set(blockHashKey(mb.Sealed.Hash()), chain.FrameRLP(formatBlockHashV1, &blockNumberRec{mb.Sealed.Number.Uint64()}))
		if l.witness != nil {
			b.Set(witnessKey(mb.Sealed.Number.Uint64()), chain.Frame(formatWitnessV1, l.witness))
		}
		if l.sinceSnap >= l.cfg.SnapshotEvery {
			var err error
			if done, err = l.hist.State().SaveBatch(l.disk, b); err != nil {
				return fmt.Errorf("ledger: snapshot at %d: %w", n, err)
			}
			b.Set(keySnap, chain.FrameRLP(formatSnapV1, &struct{ MiniBlock uint64 }{n}))
		}
	}
	if err := b.Commit(); err != nil {
		return fmt.Errorf("ledger: store mini-block %d: %w", n, err)
	}
	if done != nil {
		done()
		l.snapAt, l.sinceSnap = n, 0
	}
	if pruned > 0 {
		l.mu.Lock()
		l.forget(pruned)
		l.mu.Unlock()
	}
	return nil
}

// cached is a recently applied mini-block, decoded and encoded.
type cached struct {
	mb  *chain.MiniBlock
	raw []byte
}

func (l *Ledger) remember(mb *chain.MiniBlock, raw []byte) {
	n := mb.Header.Number
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.cache[n]; ok {
		return
	}
	l.cache[n] = cached{mb, raw}
	l.cacheQ = append(l.cacheQ, n)
	for i, tx := range mb.Txs {
		l.txs[tx.Hash()] = TxLoc{MiniBlock: n, Index: uint64(i)}
	}
	for len(l.cacheQ) > l.cfg.Cache {
		l.forget(l.cacheQ[0])
		l.cacheQ = l.cacheQ[1:]
	}
}

// forget drops mini-block n from the cache and its transactions from the
// in-memory index (its queue entry, if any, goes when it reaches the
// front). l.mu must be held for writing.
func (l *Ledger) forget(n uint64) {
	c, ok := l.cache[n]
	if !ok {
		return
	}
	delete(l.cache, n)
	for _, tx := range c.mb.Txs {
		if loc, ok := l.txs[tx.Hash()]; ok && loc.MiniBlock == n {
			delete(l.txs, tx.Hash())
		}
	}
}

func (l *Ledger) rememberSeal(s *Sealed) {
	n := s.Header.Number.Uint64()
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.sealedN[n]; ok {
		return
	}
	l.sealedN[n] = s
	l.sealedQ = append(l.sealedQ, n)
	l.byHash[s.Header.Hash()] = n
	for len(l.sealedQ) > l.cfg.Cache {
		old := l.sealedQ[0]
		delete(l.byHash, l.sealedN[old].Header.Hash())
		delete(l.sealedN, old)
		l.sealedQ = l.sealedQ[1:]
	}
}

// readSealed reads sealed block n's record.
func readSealed(disk node.Disk, n uint64) (*Sealed, error) {
	var last error
	for range readRetries {
		raw, err := disk.Get(be64(prefixBlock, n))
		if errors.Is(err, node.ErrNotFound) {
			return nil, fmt.Errorf("%w: block %d", ErrNotFound, n)
		}
		if err != nil {
			last = err
			continue
		}
		s := new(Sealed)
		if err := chain.UnframeRLP(formatSealV1, raw, s); err != nil || s.Header == nil || s.Header.Number == nil {
			last = fmt.Errorf("%w: block %d: %v", ErrCorrupt, n, err)
			continue
		}
		if s.Header.Number.Uint64() != n {
			return nil, fmt.Errorf("%w: record of block %d holds block %d", ErrCorrupt, n, s.Header.Number)
		}
		return s, nil
	}
	return nil, last
}

// blockNumberRec is the record of ledger/bh/<hash>.
type blockNumberRec struct{ Number uint64 }

func blockHashKey(h common.Hash) []byte { return append(slices.Clip(prefixBlockHash), h[:]...) }

// BaseFee is a convenience for headers: nil-safe copy of a header's base fee.
func BaseFee(h *types.Header) *big.Int {
	if h.BaseFee == nil {
		return new(big.Int)
	}
	return new(big.Int).Set(h.BaseFee)
}

// Step-side shorthands: the tip's answers.

// MiniBlock returns applied mini-block n (n ≥ 1) and its encoding.
func (l *Ledger) MiniBlock(n uint64) (*chain.MiniBlock, []byte, error) { return l.tip.MiniBlock(n) }

// Receipt returns an applied transaction's receipt and location.
func (l *Ledger) Receipt(hash common.Hash) (*types.Receipt, *chain.MiniBlock, TxLoc, error) {
	return l.tip.Receipt(hash)
}

// SealedBlock returns applied sealed block n (n ≥ 1; 0 is genesis).
func (l *Ledger) SealedBlock(n uint64) (*Sealed, error) { return l.tip.SealedBlock(n) }

// BlockHash answers BLOCKHASH for the applied sealed blocks; zero for
// others.
func (l *Ledger) BlockHash(n uint64) common.Hash { return l.tip.BlockHash(n) }

// StateAt returns the state right after applied mini-block n.
func (l *Ledger) StateAt(n uint64) (state.Reader, error) { return l.tip.StateAt(n) }

// Block assembles applied sealed block n with its transactions.
func (l *Ledger) Block(n uint64) (*types.Block, error) { return l.tip.Block(n) }

// BlockNumber returns the number of the applied sealed block whose header
// hash is hash.
func (l *Ledger) BlockNumber(hash common.Hash) (uint64, error) { return l.tip.BlockNumber(hash) }
