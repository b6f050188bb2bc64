package properties

import (
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/meganode/meganode/node/sequencer"
)

// ordTx is a dynamic-fee transaction of sender s (unsigned: the checker
// reads only nonce, fees and hash).
func ordTx(s byte, nonce uint64, feeCap, tip int64) (*types.Transaction, common.Address) {
	return types.NewTx(&types.DynamicFeeTx{Nonce: nonce, GasFeeCap: big.NewInt(feeCap), GasTipCap: big.NewInt(tip), Gas: 21000, Data: []byte{s}}), common.Address{s}
}

type ordRec struct{ ev []sequencer.PoolEvent }

func (r *ordRec) reset() *ordRec {
	r.ev = append(r.ev, sequencer.PoolEvent{Kind: sequencer.PoolReset})
	return r
}

func (r *ordRec) admit(tx *types.Transaction, from common.Address, stateNonce uint64) *ordRec {
	r.ev = append(r.ev, sequencer.PoolEvent{Kind: sequencer.PoolAdmitted, Tx: tx, From: from, Nonce: stateNonce})
	return r
}

func (r *ordRec) drop(tx *types.Transaction, from common.Address) *ordRec {
	r.ev = append(r.ev, sequencer.PoolEvent{Kind: sequencer.PoolDropped, Tx: tx, From: from})
	return r
}

func (r *ordRec) exec(tx *types.Transaction, from common.Address, base int64) *ordRec {
	r.ev = append(r.ev, sequencer.PoolEvent{Kind: sequencer.PoolExecuted, Tx: tx, From: from, BaseFee: big.NewInt(base)})
	return r
}

func TestCheckOrderingAcceptsTipOrder(t *testing.T) {
	a0, A := ordTx(1, 0, 100, 5)
	b0, B := ordTx(2, 0, 100, 9)
	b1, _ := ordTx(2, 1, 100, 1)
	c0, C := ordTx(3, 0, 100, 5)
	d0, D := ordTx(4, 0, 20, 50) // effective tip at base 10: 10
	r := (&ordRec{}).reset().
		admit(a0, A, 0).exec(a0, A, 10). // alone: runs on arrival
		admit(b1, B, 0).                 // nonce 1 waits for 0
		admit(c0, C, 0).admit(b0, B, 0).admit(d0, D, 0).
		exec(d0, D, 10). // 10 beats 9 and 5
		exec(b0, B, 10). // 9; then b1 (tip 1) is executable
		exec(c0, C, 10).
		exec(b1, B, 10)
	v, st := CheckOrdering(r.ev)
	if v != nil {
		t.Fatalf("tip order rejected: %v", v)
	}
	if st.Executions != 5 || st.Contended != 3 {
		t.Fatalf("stats %+v, want 5 executions, 3 contended", st)
	}
	// Equal tips: the earlier admission first.
	e0, E := ordTx(5, 0, 100, 5)
	f0, F := ordTx(6, 0, 100, 5)
	if v, _ := CheckOrdering((&ordRec{}).admit(e0, E, 0).admit(f0, F, 0).exec(e0, E, 0).exec(f0, F, 0).ev); v != nil {
		t.Fatalf("arrival order among equal tips rejected: %v", v)
	}
	// A dropped or replaced transaction is no longer held; after a reset
	// nothing is.
	g0, G := ordTx(7, 0, 100, 50)
	if v, _ := CheckOrdering((&ordRec{}).admit(g0, G, 0).admit(e0, E, 0).drop(g0, G).exec(e0, E, 0).ev); v != nil {
		t.Fatalf("a dropped transaction still counted: %v", v)
	}
	if v, _ := CheckOrdering((&ordRec{}).admit(g0, G, 0).reset().admit(e0, E, 0).exec(e0, E, 0).ev); v != nil {
		t.Fatalf("a transaction held before a reset still counted: %v", v)
	}
	// Below the base fee a transaction is not executable, however high
	// its tip.
	h0, H := ordTx(8, 0, 15, 15)
	if v, _ := CheckOrdering((&ordRec{}).admit(h0, H, 0).admit(e0, E, 0).exec(e0, E, 20).ev); v != nil {
		t.Fatalf("a fee cap below the base fee counted as executable: %v", v)
	}
}

func TestCheckOrderingRejectsWrongOrders(t *testing.T) {
	a0, A := ordTx(1, 0, 100, 5)
	b0, B := ordTx(2, 0, 100, 9)
	b1, _ := ordTx(2, 1, 100, 1)
	c0, C := ordTx(3, 0, 100, 5)
	d0, D := ordTx(4, 0, 100, 0)
	for _, c := range []struct {
		name, want string
		rec        *ordRec
	}{
		{"first come first served", "while it held " + b0.Hash().String(),
			(&ordRec{}).admit(a0, A, 0).admit(b0, B, 0).exec(a0, A, 0)},
		{"equal tips out of arrival order", "while it held " + a0.Hash().String(),
			(&ordRec{}).admit(a0, A, 0).admit(c0, C, 0).exec(c0, C, 0)},
		{"a lower tip after the predecessor ran", "while it held " + b1.Hash().String(),
			// b1 became executable when b0 ran; the sequencer must not run
			// a lower one while b1 waits (b1 pays 1, but the lower pays 0).
			(&ordRec{}).admit(b0, B, 0).admit(b1, B, 0).exec(b0, B, 0).admit(d0, D, 0).exec(d0, D, 0)},
		{"executed what it did not hold", "which it did not hold",
			(&ordRec{}).admit(a0, A, 0).exec(b0, B, 0)},
		{"executed a dropped one", "which it did not hold",
			(&ordRec{}).admit(a0, A, 0).drop(a0, A).exec(a0, A, 0)},
		{"executed out of nonce order", "not executable: the sender's next nonce is 0",
			(&ordRec{}).admit(b1, B, 0).exec(b1, B, 0)},
	} {
		v, _ := CheckOrdering(c.rec.ev)
		if v == nil || v.Property != PropOrdering || !strings.Contains(v.Detail, c.want) {
			t.Errorf("%s: %v, want a P9 violation saying %q", c.name, v, c.want)
		}
	}
}
