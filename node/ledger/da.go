package ledger

import (
	"errors"
	"fmt"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/chain"
)

// The sequencer's records of what it owes DA:
//
//	ledger/wit/<block>   the sealed block's witness, written with its seal
//	ledger/da/<block>    the block's DA commitment, once DA acknowledged it
//	ledger/dahead        the newest block DA acknowledged (all before it too)
var (
	prefixWitness = []byte("ledger/wit/")
	prefixDA      = []byte("ledger/da/")
	keyDAHead     = []byte("ledger/dahead")
)

const (
	formatWitnessV1 chain.Format = 0x74
	formatDAV1      chain.Format = 0x75
	formatDAHeadV1  chain.Format = 0x76
)

// WitnessRetain is how many blocks behind the newest one DA acknowledged
// the sequencer keeps witnesses: older ones are DA's to serve.
const WitnessRetain = 64

// AppendSealed is Append for a sealing mini-block, with the block's witness
// written in the same batch, so that a sealed block is never on disk
// without what DA needs of it.
func (l *Ledger) AppendSealed(mb *chain.MiniBlock, raw, witness []byte) error {
	if mb.Sealed == nil {
		return errors.New("ledger: AppendSealed of a mini-block that seals nothing")
	}
	l.witness = witness
	defer func() { l.witness = nil }()
	return l.Append(mb, raw)
}

// Witness returns sealed block n's witness (go-ethereum's RLP encoding). It
// reads the disk, which any goroutine may do.
func (l *Ledger) Witness(n uint64) ([]byte, error) {
	var last error
	for range readRetries {
		raw, err := l.disk.Get(witnessKey(n))
		if errors.Is(err, node.ErrNotFound) {
			return nil, fmt.Errorf("%w: witness of block %d", ErrNotFound, n)
		}
		if err != nil {
			last = err
			continue
		}
		w, err := chain.Unframe(formatWitnessV1, raw)
		if err != nil {
			last = fmt.Errorf("%w: witness of block %d: %v", ErrCorrupt, n, err)
			continue
		}
		return w, nil
	}
	return nil, last
}

// Published is the newest block DA acknowledged; every block before it was
// acknowledged too.
func (l *Ledger) Published() uint64 { return l.published }

// Commitment returns block n's DA commitment, once DA acknowledged it.
func (l *Ledger) Commitment(n uint64) (common.Hash, error) {
	raw, err := l.disk.Get(be64(prefixDA, n))
	if errors.Is(err, node.ErrNotFound) {
		return common.Hash{}, fmt.Errorf("%w: DA commitment of block %d", ErrNotFound, n)
	}
	if err != nil {
		return common.Hash{}, err
	}
	var h common.Hash
	if err := chain.UnframeRLP(formatDAV1, raw, &h); err != nil {
		return common.Hash{}, fmt.Errorf("%w: DA commitment of block %d: %v", ErrCorrupt, n, err)
	}
	return h, nil
}

// SetPublished records that DA acknowledged blocks first, first+1, … with
// the given commitments, and drops witnesses DA now keeps. The record is
// committed, not synced: nothing leaves on its strength, and if a crash
// loses it the sequencer puts the same blocks again, which DA takes as
// held.
func (l *Ledger) SetPublished(first uint64, commitments []common.Hash) error {
	if len(commitments) == 0 {
		return nil
	}
	last := first + uint64(len(commitments)) - 1
	if first > l.published+1 || last > l.lastSeal.Header.Number.Uint64() {
		return fmt.Errorf("ledger: DA acknowledged blocks %d..%d, published %d, sealed %d", first, last, l.published, l.lastSeal.Header.Number)
	}
	b := l.disk.NewBatch()
	for i, c := range commitments {
		b.Set(be64(prefixDA, first+uint64(i)), chain.FrameRLP(formatDAV1, c))
	}
	if last <= l.published {
		return nil
	}
	b.Set(keyDAHead, chain.FrameRLP(formatDAHeadV1, &struct{ Block uint64 }{last}))
	for n := l.published + 1; n <= last; n++ {
		if n > WitnessRetain {
			b.Delete(witnessKey(n - WitnessRetain))
		}
	}
	if err := b.Commit(); err != nil {
		return fmt.Errorf("ledger: record DA commitments %d..%d: %w", first, last, err)
	}
	l.published = last
	return nil
}

// loadPublished reads the DA head at Open.
func (l *Ledger) loadPublished() error {
	raw, err := l.disk.Get(keyDAHead)
	if errors.Is(err, node.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var h struct{ Block uint64 }
	if err := chain.UnframeRLP(formatDAHeadV1, raw, &h); err != nil {
		return fmt.Errorf("%w: DA head: %v", ErrCorrupt, err)
	}
	l.published = h.Block
	return nil
}

func witnessKey(n uint64) []byte { return be64(slices.Clip(prefixWitness), n) }
