package properties

import (
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/meganode/meganode/node/sequencer"
)

// PropOrdering is P9.
const PropOrdering = "P9 ordering"

// OrderingStats says what CheckOrdering compared.
type OrderingStats struct {
	Executions int // executions checked
	Contended  int // of which the sequencer held another executable transaction
	Compared   int // executable transactions ranked against the one that ran
}

// CheckOrdering checks P9 on the record of a sequencer's pool decisions
// (sequencer.Config.ObservePool), in the order it made them:
//
//   - The held set, at a moment, is every transaction admitted and neither
//     dropped nor executed since the last reset.
//   - A held transaction is executable at base fee B when its nonce is its
//     sender's next nonce and its fee cap is at least B. The next nonce is
//     the sender's nonce in the executed state at its latest admission,
//     advanced by each of its executions since; a failed execution uses
//     no nonce.
//   - Its rank at B is its effective tip, min(tip, feeCap−B), then its
//     admission, earliest first; a replacement is a new admission.
//
// P9: whenever the sequencer executes a transaction at base fee B, that
// transaction is held and executable, and it outranks every other held
// executable transaction. Nonce order forces the rest: a sender's n+1 is
// not executable while n is held, whatever it pays.
//
// The checker keeps its own held set and nonces from the record: it does
// not read the pool's heap, so a pool that ranks wrongly, or loses a
// transaction it admitted, is caught.
func CheckOrdering(events []sequencer.PoolEvent) (*Violation, OrderingStats) {
	type held struct {
		tx      *types.Transaction
		from    common.Address
		arrival int
	}
	var st OrderingStats
	heldTx := map[common.Hash]*held{}
	var order []*held // admissions, in order: ranking walks this, not the map
	next := map[common.Address]uint64{}
	arrivals := 0
	tipAt := func(tx *types.Transaction, base *big.Int) *big.Int {
		tip := new(big.Int).Sub(tx.GasFeeCap(), base)
		if c := tx.GasTipCap(); c.Cmp(tip) < 0 {
			tip.Set(c)
		}
		return tip
	}
	describe := func(h *held, base *big.Int) string {
		return fmt.Sprintf("%v (sender %v, nonce %d, effective tip %v, admission #%d)", h.tx.Hash(), h.from, h.tx.Nonce(), tipAt(h.tx, base), h.arrival)
	}
	for i, ev := range events {
		switch ev.Kind {
		case sequencer.PoolReset:
			clear(heldTx)
			clear(next)
			order = order[:0]
		case sequencer.PoolAdmitted:
			arrivals++
			h := &held{tx: ev.Tx, from: ev.From, arrival: arrivals}
			heldTx[ev.Tx.Hash()] = h
			order = append(order, h)
			next[ev.From] = ev.Nonce
		case sequencer.PoolDropped:
			delete(heldTx, ev.Tx.Hash())
		case sequencer.PoolExecuted:
			st.Executions++
			h := heldTx[ev.Tx.Hash()]
			base := ev.BaseFee
			if base == nil {
				base = new(big.Int)
			}
			if h == nil {
				return &Violation{Property: PropOrdering, Where: fmt.Sprintf("event %d", i),
					Detail: fmt.Sprintf("the sequencer executed %v, which it did not hold", ev.Tx.Hash())}, st
			}
			executable := func(x *held) bool {
				return heldTx[x.tx.Hash()] == x && x.tx.Nonce() == next[x.from] && x.tx.GasFeeCap().Cmp(base) >= 0
			}
			if !executable(h) {
				return &Violation{Property: PropOrdering, Where: fmt.Sprintf("event %d", i),
					Detail: fmt.Sprintf("the sequencer executed %s at base fee %v, not executable: the sender's next nonce is %d", describe(h, base), base, next[h.from])}, st
			}
			tip := tipAt(h.tx, base)
			contended := false
			for _, o := range order {
				if o == h || !executable(o) {
					continue
				}
				contended = true
				st.Compared++
				c := tipAt(o.tx, base).Cmp(tip)
				if c > 0 || (c == 0 && o.arrival < h.arrival) {
					return &Violation{Property: PropOrdering, Where: fmt.Sprintf("event %d", i),
						Detail: fmt.Sprintf("the sequencer executed %s at base fee %v while it held %s executable, which ranks higher", describe(h, base), base, describe(o, base))}, st
				}
			}
			if contended {
				st.Contended++
			}
			delete(heldTx, ev.Tx.Hash())
			if !ev.Failed {
				next[h.from] = h.tx.Nonce() + 1
			}
		}
		if len(order) > 2*len(heldTx)+64 {
			keep := order[:0]
			for _, o := range order {
				if heldTx[o.tx.Hash()] == o {
					keep = append(keep, o)
				}
			}
			clear(order[len(keep):])
			order = keep
		}
	}
	return nil, st
}
