package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/meganode/meganode/node"
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
	// diffs plus one block. Default 100.
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
		c.SnapshotEvery = 100
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
type Ledger struct {
	cfg     Config
	disk    node.Disk
	genesis *types.Block

	hist     *state.History
	head     chain.MiniBlockHeader
	headHash common.Hash
	poisoned error

	// The open block: what the mini-blocks since the last seal hold.
	open      []*chain.MiniBlock
	openFirst uint64

	lastSeal *Sealed // the newest sealed block (genesis: Header only)
	sealedN  map[uint64]*Sealed
	sealedQ  []uint64               // cache order
	byHash   map[common.Hash]uint64 // the cached seals' numbers by hash

	cache  map[uint64]cached
	cacheQ []uint64
	txs    map[common.Hash]TxLoc // transactions of the cached mini-blocks

	snapAt    uint64 // mini-block of the newest snapshot on disk
	sinceSnap uint64

	tornTail  bool   // Open dropped a torn last record
	published uint64 // newest block DA acknowledged (sequencer)
	witness   []byte // the witness AppendSealed stores with the seal
}

// Open recovers the ledger from disk: the newest state snapshot, then every
// stored mini-block after it, re-applied by diff. An empty disk starts at
// genesis (whose block and state the caller gives). A torn last record (an
// unsynced write cut by a crash) is dropped; any other defect is an error.
func Open(disk node.Disk, genesis *types.Block, genesisState *state.Mem, cfg Config) (*Ledger, error) {
	cfg = cfg.withDefaults()
	l := &Ledger{
		cfg: cfg, disk: disk, genesis: genesis,
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
		mb, raw, err := l.readMini(n)
		if errors.Is(err, node.ErrNotFound) {
			break
		}
		if errors.Is(err, ErrCorrupt) {
			if _, _, next := l.readMini(n + 1); errors.Is(next, node.ErrNotFound) {
				l.tornTail = true
				break // a torn tail: never synced, so never acknowledged
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
	return l, nil
}

// readRetries is how many times a record that fails its checks is read
// again before it is taken to be damaged on disk: a read can be corrupted
// on its way (the simulated disk does this), a stored record stays bad.
const readRetries = 5

// readMini reads and decodes stored mini-block n.
func (l *Ledger) readMini(n uint64) (*chain.MiniBlock, []byte, error) {
	var last error
	for range readRetries {
		raw, err := l.disk.Get(be64(prefixMini, n))
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
	mb, raw, err := l.readMini(n)
	if err != nil {
		return fmt.Errorf("open ledger: snapshot mini-block %d: %w", n, err)
	}
	if mb.Sealed == nil {
		return fmt.Errorf("open ledger: %w: snapshot at mini-block %d, which seals no block", ErrCorrupt, n)
	}
	found, err := l.readSealed(mb.Sealed.Number.Uint64())
	if err != nil {
		return fmt.Errorf("open ledger: sealed block %d: %w", mb.Sealed.Number, err)
	}
	l.lastSeal = found
	l.head, l.headHash = mb.Header, mb.Hash()
	l.openFirst = n + 1
	l.remember(mb, raw)
	return nil
}

// Head is the newest applied mini-block's header and hash.
func (l *Ledger) Head() (chain.MiniBlockHeader, common.Hash) { return l.head, l.headHash }

// Safe is the newest sealed block (the genesis block at first).
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

// StateAt returns the state right after mini-block n.
func (l *Ledger) StateAt(n uint64) (state.Reader, error) {
	if l.poisoned != nil {
		return nil, l.poisoned
	}
	if n > l.head.Number {
		return nil, fmt.Errorf("%w: mini-block %d, head %d", ErrFuture, n, l.head.Number)
	}
	r, err := l.hist.At(n)
	if err != nil {
		return nil, fmt.Errorf("%w: mini-block %d: %v", ErrPruned, n, err)
	}
	return r, nil
}

// ApplyDiff applies the diff of mini-block Head+1 to the live state, ahead
// of Append: the sequencer's executor flushes through it, so that its diff
// is applied once. Most callers use Append alone.
func (l *Ledger) ApplyDiff(d *chain.Diff) error {
	if l.poisoned != nil {
		return l.poisoned
	}
	return l.hist.Apply(l.hist.Height()+1, d)
}

// Append checks mb against the head (number and parent hash), applies its
// diff (unless ApplyDiff already did), checks a seal against the state and
// the block's body, and writes it to disk in one batch with a snapshot when
// one is due. sync makes the batch durable before Append returns. A seal
// mismatch poisons the ledger: it serves nothing any more. A disk error
// leaves the ledger in memory ahead of the disk; the caller must then
// reopen it (a node does what a crash would).
func (l *Ledger) Append(mb *chain.MiniBlock, raw []byte, sync bool) error {
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
	return l.store(mb, raw, sync)
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
	if l.hist.Height() == h.Number-1 {
		if err := l.hist.Apply(h.Number, mb.Diff); err != nil {
			return err
		}
	} else if l.hist.Height() != h.Number {
		return fmt.Errorf("%w: state at %d, mini-block %d", ErrNotNext, l.hist.Height(), h.Number)
	}
	l.open = append(l.open, mb)
	if mb.Sealed != nil {
		if err := l.checkSeal(mb); err != nil {
			l.poisoned = err
			return err
		}
		l.lastSeal = &Sealed{Header: mb.Sealed, First: l.openFirst, Last: h.Number, PrevLast: l.openFirst - 1}
		l.rememberSeal(l.lastSeal)
		l.open = nil
		l.openFirst = h.Number + 1
	}
	l.head, l.headHash = *h, mb.Hash()
	l.remember(mb, raw)
	return nil
}

// checkSeal compares a seal with what the ledger computed: state root,
// transactions and receipts roots, bloom, gas used, parent and number.
func (l *Ledger) checkSeal(mb *chain.MiniBlock) error {
	s := mb.Sealed
	var txs []*types.Transaction
	var rs []*types.Receipt
	var gas uint64
	for _, m := range l.open {
		txs = append(txs, m.Txs...)
		rs = append(rs, m.Receipts...)
		gas += m.Header.GasUsed
	}
	var bad []string
	if root := l.hist.State().Checkpoint(); root != s.Root {
		bad = append(bad, fmt.Sprintf("state root %v, header says %v", root, s.Root))
	}
	if got := chain.TxRoot(txs); got != s.TxHash {
		bad = append(bad, fmt.Sprintf("transactions root %v, header says %v", got, s.TxHash))
	}
	if got := chain.ReceiptRoot(rs); got != s.ReceiptHash {
		bad = append(bad, fmt.Sprintf("receipts root %v, header says %v", got, s.ReceiptHash))
	}
	if got := types.MergeBloom(rs); got != s.Bloom {
		bad = append(bad, "logs bloom differs")
	}
	if gas != s.GasUsed {
		bad = append(bad, fmt.Sprintf("gas used %d, header says %d", gas, s.GasUsed))
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
// of its hash and, when due, a snapshot, in one batch.
func (l *Ledger) store(mb *chain.MiniBlock, raw []byte, sync bool) error {
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
	if err := b.Commit(sync); err != nil {
		return fmt.Errorf("ledger: store mini-block %d: %w", n, err)
	}
	if done != nil {
		done()
		l.snapAt, l.sinceSnap = n, 0
	}
	if pruned > 0 {
		l.forget(pruned)
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
// in-memory index (its queue entry, if any, goes when it reaches the front).
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

// MiniBlock returns mini-block n (n ≥ 1) and its encoding.
func (l *Ledger) MiniBlock(n uint64) (*chain.MiniBlock, []byte, error) {
	if n == 0 || n > l.head.Number {
		return nil, nil, fmt.Errorf("%w: mini-block %d (head %d)", ErrNotFound, n, l.head.Number)
	}
	if c, ok := l.cache[n]; ok {
		return c.mb, c.raw, nil
	}
	mb, raw, err := l.readMini(n)
	if errors.Is(err, node.ErrNotFound) {
		return nil, nil, fmt.Errorf("%w: mini-block %d", ErrPruned, n)
	}
	return mb, raw, err
}

// Receipt returns a transaction's receipt and location.
func (l *Ledger) Receipt(hash common.Hash) (*types.Receipt, *chain.MiniBlock, TxLoc, error) {
	loc, ok := l.txs[hash]
	if !ok {
		raw, err := l.disk.Get(append(slices.Clip(prefixTx), hash[:]...))
		if errors.Is(err, node.ErrNotFound) {
			return nil, nil, TxLoc{}, fmt.Errorf("%w: transaction %v", ErrNotFound, hash)
		}
		if err != nil {
			return nil, nil, TxLoc{}, err
		}
		if err := chain.UnframeRLP(formatTxLocV1, raw, &loc); err != nil {
			return nil, nil, TxLoc{}, fmt.Errorf("%w: location of %v: %v", ErrCorrupt, hash, err)
		}
		if loc.MiniBlock > l.head.Number {
			// Written by a mini-block this ledger has not (re)applied.
			return nil, nil, TxLoc{}, fmt.Errorf("%w: transaction %v", ErrNotFound, hash)
		}
	}
	mb, _, err := l.MiniBlock(loc.MiniBlock)
	if err != nil {
		return nil, nil, TxLoc{}, err
	}
	if loc.Index >= uint64(len(mb.Txs)) || mb.Txs[loc.Index].Hash() != hash {
		return nil, nil, TxLoc{}, fmt.Errorf("%w: transaction %v", ErrNotFound, hash)
	}
	return mb.Receipts[loc.Index], mb, loc, nil
}

// SealedBlock returns sealed block n (n ≥ 1; 0 is genesis).
func (l *Ledger) SealedBlock(n uint64) (*Sealed, error) {
	if n == 0 {
		return &Sealed{Header: l.genesis.Header()}, nil
	}
	if s := l.sealedN[n]; s != nil {
		return s, nil
	}
	s, err := l.readSealed(n)
	if err != nil {
		return nil, err
	}
	if s.Last > l.head.Number {
		return nil, fmt.Errorf("%w: block %d", ErrNotFound, n)
	}
	return s, nil
}

// readSealed reads sealed block n's record.
func (l *Ledger) readSealed(n uint64) (*Sealed, error) {
	raw, err := l.disk.Get(be64(prefixBlock, n))
	if errors.Is(err, node.ErrNotFound) {
		return nil, fmt.Errorf("%w: block %d", ErrNotFound, n)
	}
	if err != nil {
		return nil, err
	}
	s := new(Sealed)
	if err := chain.UnframeRLP(formatSealV1, raw, s); err != nil || s.Header == nil || s.Header.Number == nil {
		return nil, fmt.Errorf("%w: block %d: %v", ErrCorrupt, n, err)
	}
	if s.Header.Number.Uint64() != n {
		return nil, fmt.Errorf("%w: record of block %d holds block %d", ErrCorrupt, n, s.Header.Number)
	}
	return s, nil
}

// blockNumberRec is the record of ledger/bh/<hash>.
type blockNumberRec struct{ Number uint64 }

func blockHashKey(h common.Hash) []byte { return append(slices.Clip(prefixBlockHash), h[:]...) }

// BlockNumber returns the number of the sealed block whose header hash is
// hash (0 for the genesis block). ErrNotFound if no block this ledger
// applied has that hash.
func (l *Ledger) BlockNumber(hash common.Hash) (uint64, error) {
	if hash == l.genesis.Hash() {
		return 0, nil
	}
	n, ok := l.byHash[hash]
	if !ok {
		var last error
		for range readRetries {
			raw, err := l.disk.Get(blockHashKey(hash))
			if errors.Is(err, node.ErrNotFound) {
				return 0, fmt.Errorf("%w: block %v", ErrNotFound, hash)
			}
			if err != nil {
				last = err
				continue
			}
			var rec blockNumberRec
			if err := chain.UnframeRLP(formatBlockHashV1, raw, &rec); err != nil {
				last = fmt.Errorf("%w: number of block %v: %v", ErrCorrupt, hash, err)
				continue
			}
			n, last = rec.Number, nil
			break
		}
		if last != nil {
			return 0, last
		}
	}
	// The record may have been written by a seal this ledger has not
	// (re)applied, or name a block sealed again since: check the header.
	s, err := l.SealedBlock(n)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return 0, fmt.Errorf("%w: block %v", ErrNotFound, hash)
		}
		return 0, err
	}
	if n == 0 || s.Header.Hash() != hash {
		return 0, fmt.Errorf("%w: block %v", ErrNotFound, hash)
	}
	return n, nil
}

// Block assembles sealed block n with its transactions.
func (l *Ledger) Block(n uint64) (*types.Block, error) {
	s, err := l.SealedBlock(n)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return l.genesis, nil
	}
	var txs []*types.Transaction
	for m := s.First; m <= s.Last; m++ {
		mb, _, err := l.MiniBlock(m)
		if err != nil {
			return nil, err
		}
		txs = append(txs, mb.Txs...)
	}
	return types.NewBlockWithHeader(s.Header).WithBody(types.Body{Transactions: txs, Withdrawals: []*types.Withdrawal{}}), nil
}

// BlockHash answers BLOCKHASH for sealed blocks; zero for others.
func (l *Ledger) BlockHash(n uint64) common.Hash {
	s, err := l.SealedBlock(n)
	if err != nil {
		return common.Hash{}
	}
	return s.Header.Hash()
}

// BaseFee is a convenience for headers: nil-safe copy of a header's base fee.
func BaseFee(h *types.Header) *big.Int {
	if h.BaseFee == nil {
		return new(big.Int)
	}
	return new(big.Int).Set(h.BaseFee)
}

// ServeRange answers a range request from what the ledger holds: the
// consecutive stored mini-blocks from req.From on, at most req.Count and at
// most maxBytes of them in all (at least one if any).
func (l *Ledger) ServeRange(req *chain.RangeRequest, maxBytes int) *chain.RangeResponse {
	resp := &chain.RangeResponse{ID: req.ID, From: req.From, Head: l.head.Number}
	size := 0
	for n := req.From; n < req.From+req.Count && n <= l.head.Number && n > 0; n++ {
		_, raw, err := l.MiniBlock(n)
		if err != nil || (len(resp.MiniBlocks) > 0 && size+len(raw) > maxBytes) {
			break
		}
		resp.MiniBlocks = append(resp.MiniBlocks, raw)
		size += len(raw)
	}
	return resp
}
