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
	// wit reads the block's witness from the pre-state's tries as the
	// block goes (nil when it could not start: the seal then builds the
	// whole witness).
	wit *state.WitnessBuilder
}

// newBlockAccess starts the access record of block number, whose
// pre-state is st's last checkpoint.
func newBlockAccess(number uint64, st *state.Mem) *blockAccess {
	a := &blockAccess{state: state.NewAccess(), hashFloor: number}
	if w, err := st.NewWitnessBuilder(); err == nil {
		a.wit = w
	}
	return a
}

// readAhead reads into the witness what the block read since the last
// call, so that the seal's step has only the block's last reads left.
func (a *blockAccess) readAhead(st *state.Mem) {
	if a.wit == nil || !a.wit.Of(st) {
		return
	}
	if err := a.wit.Read(a.state); err != nil {
		a.wit = nil // the seal builds the whole witness and reports the error
	}
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
	st := s.led.State()
	var w *state.Witness
	var err error
	if b := s.access.wit; b != nil && b.Of(st) {
		w, err = b.Finish(s.access.state, diffs)
	} else {
		w, err = st.Witness(s.access.state, diffs)
	}
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
