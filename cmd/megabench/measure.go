package main

import (
	"fmt"
	"runtime"
	"time"

	"github.com/ethereum/go-ethereum/core/types"
	"github.com/klauspost/compress/zstd"
	"github.com/meganode/meganode/model"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/state"
)

// rate is count per second of d.
func rate(count int, d time.Duration) float64 { return float64(count) / d.Seconds() }

// fresh returns the transfers decoded anew from their encodings: their
// sender caches are cold, so executing them pays for ecrecover.
func (w *workload) fresh() ([]*types.Transaction, error) {
	txs := make([]*types.Transaction, len(w.raw))
	for i, raw := range w.raw {
		txs[i] = new(types.Transaction)
		if err := txs[i].UnmarshalBinary(raw); err != nil {
			return nil, err
		}
	}
	return txs, nil
}

// execRun times meganode's executor on txs over a fresh copy of genesis:
// ApplyTx per transfer and a Flush (which applies the mini-block's diff to
// the state) per mini-block, plus the state root after every Flush when
// withRoot is set.
func (w *workload) execRun(txs []*types.Transaction, withRoot bool) (float64, error) {
	st := w.genesis.Copy().(*state.Mem)
	b := w.ex.NewBlock(st, w.header, getHash)
	runtime.GC()
	start := time.Now()
	for i, tx := range txs {
		r, _, err := b.ApplyTx(tx)
		if err != nil {
			return 0, fmt.Errorf("transfer %d: %w", i, err)
		}
		if r.Status != types.ReceiptStatusSuccessful {
			return 0, fmt.Errorf("transfer %d failed", i)
		}
		if endsMini(i, len(txs)) {
			if err := st.Apply(b.Flush()); err != nil {
				return 0, err
			}
			if withRoot {
				st.Root()
			}
		}
	}
	return rate(len(txs), time.Since(start)), nil
}

// gethRun times the go-ethereum StateDB model on the same transfers (senders
// recovered), plus its root after every mini-block's worth when withRoot is
// set.
func (w *workload) gethRun(withRoot bool) (float64, error) {
	ref, err := model.NewReference(w.config, w.alloc)
	if err != nil {
		return 0, err
	}
	rb, err := ref.NewBlock(w.header, getHash)
	if err != nil {
		return 0, err
	}
	runtime.GC()
	start := time.Now()
	for i, tx := range w.txs {
		r, err := rb.ApplyTx(tx)
		if err != nil {
			return 0, fmt.Errorf("transfer %d: %w", i, err)
		}
		if r.Status != types.ReceiptStatusSuccessful {
			return 0, fmt.Errorf("transfer %d failed", i)
		}
		if withRoot && endsMini(i, len(w.txs)) {
			rb.Root()
		}
	}
	return rate(len(w.txs), time.Since(start)), nil
}

// zstdEnc compresses at zstd's default level.
var zstdEnc, _ = zstd.NewWriter(nil)

// zstdLen is the size of b compressed with zstd at the default level.
func zstdLen(b []byte) int { return len(zstdEnc.EncodeAll(b, nil)) }

// diffSizes returns the bytes per transfer of the framed mini-block diffs
// and of the per-transaction diffs.
func (w *workload) diffSizes() ([]float64, error) {
	var raw int
	for _, d := range w.diffs {
		raw += len(d.Encode())
	}
	n := float64(len(w.txs))
	return []float64{float64(raw) / n, float64(w.txDiffBytes) / n}, nil
}

// zstdSize returns the bytes per transfer of the framed mini-block diffs
// compressed with zstd, each mini-block on its own.
func (w *workload) zstdSize() (float64, error) {
	var packed int
	for _, d := range w.diffs {
		packed += zstdLen(d.Encode())
	}
	return float64(packed) / float64(len(w.txs)), nil
}

// applyRun times state.Mem.Apply of the mini-block diffs onto a fresh copy
// of genesis, no root.
func (w *workload) applyRun() (float64, error) {
	st := w.genesis.Copy().(*state.Mem)
	runtime.GC()
	start := time.Now()
	for _, d := range w.diffs {
		if err := st.Apply(d); err != nil {
			return 0, err
		}
	}
	return rate(len(w.txs), time.Since(start)), nil
}

// rootKeys counts the key updates of the blocks of blockMinis mini-blocks
// rootRun hashes: distinct is the distinct accounts and storage slots each
// block's diffs change (what Root hashes), summed the same counted in every
// mini-block diff.
func (w *workload) rootKeys() (distinct, summed int) {
	for i := 0; i < len(w.diffs); i += blockMinis {
		merged := &chain.Diff{}
		for _, d := range w.diffs[i:min(i+blockMinis, len(w.diffs))] {
			merged = merged.Merge(d)
			summed += len(d.Accounts) + d.Slots()
		}
		distinct += len(merged.Accounts) + merged.Slots()
	}
	return distinct, summed
}

// rootRun applies the mini-block diffs to a fresh copy of genesis (untimed)
// and times Root() after every blockMinis of them, per distinct key update.
func (w *workload) rootRun() (float64, error) {
	st := w.genesis.Copy().(*state.Mem)
	var spent time.Duration
	for i, d := range w.diffs {
		if err := st.Apply(d); err != nil {
			return 0, err
		}
		if (i+1)%blockMinis == 0 || i+1 == len(w.diffs) {
			runtime.GC()
			start := time.Now()
			st.Root()
			spent += time.Since(start)
		}
	}
	keys, _ := w.rootKeys()
	return rate(keys, spent), nil
}
