package chainsim

import (
	"bytes"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/meganode/meganode/node/exec"
	"github.com/meganode/meganode/node/ledger"
	"github.com/meganode/meganode/node/state"
	"github.com/meganode/meganode/sim"
)

// Explain implements sim.Explainer: for every fullnode whose state differs
// from the state the sequencer's chain gives at the same height, the first
// differing account or slot, the value on each side, and the mini-blocks
// that last wrote it on each side.
func (s *Scenario) Explain(w *sim.World) []string {
	_, seq := s.newest(w)
	if seq == nil {
		return []string{"the sequencer is down: no reference state to compare with"}
	}
	var out []string
	for _, id := range s.fullnodes {
		f, ok := w.Node(id).(ledgerNode)
		if !ok || f.Ledger() == nil {
			continue
		}
		h := f.Ledger().Applied()
		want, err := stateAt(seq.Ledger(), h)
		if err != nil {
			out = append(out, fmt.Sprintf("%s: cannot rebuild the sequencer's state at mini-block %d: %v", id, h, err))
			continue
		}
		what, addr, slot := firstDifference(want, f.Ledger().State())
		if what == "" {
			continue
		}
		line := fmt.Sprintf("%s diverged by mini-block %d: %s", id, h, what)
		if n, ok := lastWriter(seq.Ledger(), h, addr, slot); ok {
			line += fmt.Sprintf("; the sequencer's chain last wrote it in mini-block %d", n)
		}
		if n, ok := lastWriter(f.Ledger(), h, addr, slot); ok {
			line += fmt.Sprintf("; %s applied it last in mini-block %d", id, n)
		}
		out = append(out, line)
	}
	return out
}

// stateAt rebuilds the state after mini-block h of a ledger's chain, from
// genesis, by diff.
func stateAt(l *ledger.Ledger, h uint64) (*state.Mem, error) {
	_, st, err := exec.Genesis(TheCast().Genesis)
	if err != nil {
		return nil, err
	}
	for n := uint64(1); n <= h; n++ {
		mb, _, err := l.MiniBlock(n)
		if err != nil {
			return nil, err
		}
		if err := st.Apply(mb.Diff); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// firstDifference finds the first account (and slot) where two states
// differ, in address and slot order, with both values.
func firstDifference(want, got *state.Mem) (string, common.Address, *common.Hash) {
	a, b := want.Dump(), got.Dump()
	for i := 0; i < len(a) || i < len(b); i++ {
		switch {
		case i == len(a) || (i < len(b) && bytes.Compare(b[i].Address[:], a[i].Address[:]) < 0):
			return fmt.Sprintf("account %v exists on the node (balance %v, nonce %d) but not in the chain", b[i].Address, &b[i].Balance, b[i].Nonce), b[i].Address, nil
		case i == len(b) || bytes.Compare(a[i].Address[:], b[i].Address[:]) < 0:
			return fmt.Sprintf("account %v exists in the chain (balance %v, nonce %d) but not on the node", a[i].Address, &a[i].Balance, a[i].Nonce), a[i].Address, nil
		}
		x, y := &a[i], &b[i]
		switch {
		case x.Nonce != y.Nonce:
			return fmt.Sprintf("account %v nonce: chain %d, node %d", x.Address, x.Nonce, y.Nonce), x.Address, nil
		case x.Balance != y.Balance:
			return fmt.Sprintf("account %v balance: chain %v, node %v", x.Address, &x.Balance, &y.Balance), x.Address, nil
		case x.CodeHash != y.CodeHash:
			return fmt.Sprintf("account %v code hash: chain %v, node %v", x.Address, x.CodeHash, y.CodeHash), x.Address, nil
		}
		vals := map[common.Hash][2]common.Hash{}
		var keys []common.Hash
		for _, s := range x.Storage {
			vals[s.Key] = [2]common.Hash{s.Value, {}}
			keys = append(keys, s.Key)
		}
		for _, s := range y.Storage {
			v, seen := vals[s.Key]
			v[1] = s.Value
			vals[s.Key] = v
			if !seen {
				keys = append(keys, s.Key)
			}
		}
		var first *common.Hash
		for _, k := range keys {
			if v := vals[k]; v[0] != v[1] && (first == nil || bytes.Compare(k[:], first[:]) < 0) {
				k := k
				first = &k
			}
		}
		if first != nil {
			v := vals[*first]
			return fmt.Sprintf("account %v slot %v: chain %v, node %v", x.Address, *first, v[0], v[1]), x.Address, first
		}
	}
	return "", common.Address{}, nil
}

// lastWriter is the newest mini-block at or before h whose diff writes the
// account (or the slot).
func lastWriter(l *ledger.Ledger, h uint64, addr common.Address, slot *common.Hash) (uint64, bool) {
	for n := h; n >= 1; n-- {
		mb, _, err := l.MiniBlock(n)
		if err != nil {
			continue
		}
		ad := mb.Diff.Account(addr)
		if ad == nil {
			continue
		}
		if slot == nil {
			return n, true
		}
		for _, s := range ad.Storage {
			if s.Key == *slot {
				return n, true
			}
		}
	}
	return 0, false
}
