package ledger

import (
	"errors"
	"fmt"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/state"
)

// View is the ledger as of one mini-block: its head, the newest sealed
// block up to it, the open block's mini-blocks so far, what the owner knew
// of finality, and, through the ledger, the state, mini-blocks, receipts
// and blocks up to that height. A View never changes; a newer one replaces
// it. Its methods may be called from any goroutine, concurrently with the
// owner's step: they read the ledger's indexes under its read lock, the
// state through its history, and the disk, and never look past the view's
// head. So a released view answers only from what was durable when it was
// released.
type View struct {
	l        *Ledger
	head     chain.MiniBlockHeader
	headHash common.Hash
	safe     *Sealed
	open     []*chain.MiniBlock // the open block's mini-blocks up to head; never appended to through the view
	fin      api.Finality       // clamped to safe
	poisoned error
	proofs   *state.Proofs // proofs of the state at safe (nil before the first checkpoint)
}

func (v *View) withFinality(f api.Finality) *View {
	c := *v
	c.fin = f
	if s := v.safe.Header.Number.Uint64(); c.fin.Block > s {
		c.fin.Block = s
	}
	return &c
}

func (v *View) poison(err error) *View {
	c := *v
	c.poisoned = err
	return &c
}

// Number is the view's newest mini-block's number.
func (v *View) Number() uint64 { return v.head.Number }

// Head is the view's newest mini-block's header and hash.
func (v *View) Head() (chain.MiniBlockHeader, common.Hash) { return v.head, v.headHash }

// Safe is the newest sealed block in the view (the genesis block at first).
func (v *View) Safe() *Sealed { return v.safe }

// OpenBlock is the mini-blocks of the block still open at the view's head.
func (v *View) OpenBlock() []*chain.MiniBlock { return v.open }

// Finality is what the owner knew of finality, up to the view's safe block.
func (v *View) Finality() api.Finality { return v.fin }

// Poisoned is the error that stopped the ledger, or nil.
func (v *View) Poisoned() error { return v.poisoned }

// Genesis is the genesis block.
func (v *View) Genesis() *types.Block { return v.l.genesis }

// MiniBlock returns mini-block n (1 ≤ n ≤ head) and its encoding.
func (v *View) MiniBlock(n uint64) (*chain.MiniBlock, []byte, error) {
	if n == 0 || n > v.head.Number {
		return nil, nil, fmt.Errorf("%w: mini-block %d (head %d)", ErrNotFound, n, v.head.Number)
	}
	v.l.mu.RLock()
	c, ok := v.l.cache[n]
	v.l.mu.RUnlock()
	if ok {
		return c.mb, c.raw, nil
	}
	mb, raw, err := readMini(v.l.disk, n)
	if errors.Is(err, node.ErrNotFound) {
		return nil, nil, fmt.Errorf("%w: mini-block %d", ErrPruned, n)
	}
	return mb, raw, err
}

// Receipt returns a transaction's receipt and location, once its block is
// sealed in the view.
func (v *View) Receipt(hash common.Hash) (*types.Receipt, *chain.MiniBlock, TxLoc, error) {
	loc, err := v.Executed(hash)
	if err != nil {
		return nil, nil, TxLoc{}, err
	}
	if loc.MiniBlock > v.safe.Last {
		// In the open block: a receipt is out once its block is sealed,
		// with the block's hash.
		return nil, nil, TxLoc{}, fmt.Errorf("%w: transaction %v", ErrNotFound, hash)
	}
	mb, _, err := v.MiniBlock(loc.MiniBlock)
	if err != nil {
		return nil, nil, TxLoc{}, err
	}
	return mb.Receipts[loc.Index], mb, loc, nil
}

// Executed returns where a transaction executed, up to the view's head,
// in a sealed block or in the open one.
func (v *View) Executed(hash common.Hash) (TxLoc, error) {
	v.l.mu.RLock()
	loc, ok := v.l.txs[hash]
	v.l.mu.RUnlock()
	if !ok {
		raw, err := v.l.disk.Get(append(slices.Clip(prefixTx), hash[:]...))
		if errors.Is(err, node.ErrNotFound) {
			return TxLoc{}, fmt.Errorf("%w: transaction %v", ErrNotFound, hash)
		}
		if err != nil {
			return TxLoc{}, err
		}
		if err := chain.UnframeRLP(formatTxLocV1, raw, &loc); err != nil {
			return TxLoc{}, fmt.Errorf("%w: location of %v: %v", ErrCorrupt, hash, err)
		}
	}
	if loc.MiniBlock > v.head.Number {
		// Applied after the view, or written by a mini-block this ledger
		// has not (re)applied.
		return TxLoc{}, fmt.Errorf("%w: transaction %v", ErrNotFound, hash)
	}
	mb, _, err := v.MiniBlock(loc.MiniBlock)
	if err != nil {
		return TxLoc{}, err
	}
	if loc.Index >= uint64(len(mb.Txs)) || mb.Txs[loc.Index].Hash() != hash {
		return TxLoc{}, fmt.Errorf("%w: transaction %v", ErrNotFound, hash)
	}
	return loc, nil
}

// SealedBlock returns sealed block n (n ≥ 1; 0 is genesis) if the view
// holds it.
func (v *View) SealedBlock(n uint64) (*Sealed, error) {
	if n == 0 {
		return &Sealed{Header: v.l.genesis.Header()}, nil
	}
	if n > v.safe.Header.Number.Uint64() {
		return nil, fmt.Errorf("%w: block %d", ErrNotFound, n)
	}
	v.l.mu.RLock()
	s := v.l.sealedN[n]
	v.l.mu.RUnlock()
	if s != nil {
		return s, nil
	}
	s, err := readSealed(v.l.disk, n)
	if err != nil {
		return nil, err
	}
	if s.Last > v.head.Number {
		return nil, fmt.Errorf("%w: block %d", ErrNotFound, n)
	}
	return s, nil
}

// BlockNumber returns the number of the sealed block whose header hash is
// hash (0 for the genesis block). ErrNotFound if the view holds no block
// with that hash.
func (v *View) BlockNumber(hash common.Hash) (uint64, error) {
	if hash == v.l.genesis.Hash() {
		return 0, nil
	}
	v.l.mu.RLock()
	n, ok := v.l.byHash[hash]
	v.l.mu.RUnlock()
	if !ok {
		var last error
		for range readRetries {
			raw, err := v.l.disk.Get(blockHashKey(hash))
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
	s, err := v.SealedBlock(n)
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
func (v *View) Block(n uint64) (*types.Block, error) {
	s, err := v.SealedBlock(n)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return v.l.genesis, nil
	}
	var txs []*types.Transaction
	for m := s.First; m <= s.Last; m++ {
		mb, _, err := v.MiniBlock(m)
		if err != nil {
			return nil, err
		}
		txs = append(txs, mb.Txs...)
	}
	return types.NewBlockWithHeader(s.Header).WithBody(types.Body{Transactions: txs, Withdrawals: []*types.Withdrawal{}}), nil
}

// BlockHash answers BLOCKHASH for the view's sealed blocks; zero for
// others.
func (v *View) BlockHash(n uint64) common.Hash {
	s, err := v.SealedBlock(n)
	if err != nil {
		return common.Hash{}
	}
	return s.Header.Hash()
}

// StateAt returns the state right after mini-block n. It may be read from
// any goroutine; a long computation on it checks its Err at the end (the
// height may be pruned meanwhile).
func (v *View) StateAt(n uint64) (*state.View, error) {
	if v.poisoned != nil {
		return nil, v.poisoned
	}
	if n > v.head.Number {
		return nil, fmt.Errorf("%w: mini-block %d, head %d", ErrFuture, n, v.head.Number)
	}
	r, err := v.l.hist.At(n)
	if err != nil {
		return nil, fmt.Errorf("%w: mini-block %d: %v", ErrPruned, n, err)
	}
	return r, nil
}

// ServeRange answers a range request from the view: the consecutive stored
// mini-blocks from req.From on, at most req.Count and at most maxBytes of
// them in all (at least one if any).
func (v *View) ServeRange(req *chain.RangeRequest, maxBytes int) *chain.RangeResponse {
	resp := &chain.RangeResponse{ID: req.ID, From: req.From, Head: v.head.Number}
	size := 0
	for n := req.From; n < req.From+req.Count && n <= v.head.Number && n > 0; n++ {
		_, raw, err := v.MiniBlock(n)
		if err != nil || (len(resp.MiniBlocks) > 0 && size+len(raw) > maxBytes) {
			break
		}
		resp.MiniBlocks = append(resp.MiniBlocks, raw)
		size += len(raw)
	}
	return resp
}
