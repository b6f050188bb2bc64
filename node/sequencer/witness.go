package sequencer

import (
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/stateless"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/state"
)

// blockAccess is what the open block read: the state it started from and
// the oldest block whose hash it asked for (BLOCKHASH).
type blockAccess struct {
	state     *state.Access
	hashFloor uint64
}

func newBlockAccess(number uint64) *blockAccess {
	return &blockAccess{state: state.NewAccess(), hashFloor: number}
}

// getHash answers BLOCKHASH and records how far back the block looked.
func (s *Sequencer) getHash(n uint64) common.Hash {
	if s.access != nil && n < s.access.hashFloor {
		s.access.hashFloor = n
	}
	return s.led.BlockHash(n)
}

// reread rebuilds the open block's access after a restart: it re-executes
// the block's transactions so far against the state the block started
// from, reading through a recorder and changing nothing.
func (s *Sequencer) reread(open []*chain.MiniBlock) error {
	pre, err := s.led.StateAt(open[0].Header.Number - 1)
	if err != nil {
		return err
	}
	blk := s.ex.NewBlock(state.Recorder{Reader: pre, Access: s.access.state}, s.header, s.getHash)
	blk.Begin()
	for _, mb := range open {
		for _, tx := range mb.Txs {
			if _, _, err := blk.ApplyTx(tx); err != nil {
				return fmt.Errorf("re-executing %v of mini-block %d: %w", tx.Hash(), mb.Header.Number, err)
			}
		}
	}
	return nil
}

// witness builds the witness of the block that mini-block last seals, after
// its diff was applied and before the state root is computed: the state's
// tries still hold the block's pre-state. It returns go-ethereum's RLP
// encoding of the core/stateless Witness and the post-state root the
// witness leads to, which the caller checks against the state's.
func (s *Sequencer) witness(last *chain.MiniBlock) ([]byte, common.Hash, error) {
	var diffs []*chain.Diff
	for _, mb := range s.led.OpenBlock() {
		diffs = append(diffs, mb.Diff)
	}
	diffs = append(diffs, last.Diff)
	w, err := s.led.State().Witness(s.access.state, diffs)
	if err != nil {
		return nil, common.Hash{}, err
	}
	parent := s.led.Safe().Header
	if w.PreRoot != parent.Root {
		return nil, common.Hash{}, fmt.Errorf("witness pre-state root %v, parent block's %v", w.PreRoot, parent.Root)
	}
	sw := &stateless.Witness{
		Headers: []*types.Header{parent},
		Codes:   make(map[string]struct{}, len(w.Codes)),
		State:   make(map[string]struct{}, len(w.Nodes)),
	}
	for n := parent.Number.Uint64(); n > s.access.hashFloor && n > 0; n-- {
		sb, err := s.led.SealedBlock(n - 1)
		if err != nil {
			return nil, common.Hash{}, fmt.Errorf("witness: ancestor %d: %w", n-1, err)
		}
		sw.Headers = append(sw.Headers, sb.Header)
	}
	for _, c := range w.Codes {
		sw.Codes[string(c)] = struct{}{}
	}
	for _, n := range w.Nodes {
		sw.State[string(n)] = struct{}{}
	}
	enc, err := rlp.EncodeToBytes(sw)
	if err != nil {
		return nil, common.Hash{}, err
	}
	return enc, w.PostRoot, nil
}
