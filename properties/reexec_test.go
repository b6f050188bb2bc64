package properties

import (
	"errors"
	"fmt"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/meganode/meganode/model/contracts"
)

// honestRun executes a short block with the node's executor and records it.
func honestRun(t *testing.T) (*world, []ExecutedBlock) {
	t.Helper()
	w := newWorld()
	genesis, st, ex, g := w.start(t)
	header := w.header(1, genesis.Hash())
	b := ex.NewBlock(st, header, getHash)
	eb := ExecutedBlock{Header: header}
	for i, tx := range []*types.Transaction{
		g.sign(w.keys[0], 0, &w.tokenA, nil, 100_000, contracts.TokenTransfer(w.addrs[1], big.NewInt(5))),
		g.sign(w.keys[1], 0, &w.probe, nil, 100_000, contracts.ProbeEmitMany(2)),
		g.sign(w.keys[1], 5, &w.probe, nil, 100_000, nil), // nonce too high: refused
		g.sign(w.keys[2], 0, &w.addrs[3], big.NewInt(1), 21_000, nil),
	} {
		r, _, err := b.ApplyTx(tx)
		if (err != nil) != (i == 2) {
			t.Fatalf("tx %d: %v", i, err)
		}
		if err := st.Apply(b.Flush()); err != nil {
			t.Fatal(err)
		}
		eb.Txs = append(eb.Txs, ExecutedTx{Tx: tx, Receipt: r, Err: err, Root: st.Root()})
	}
	return w, []ExecutedBlock{eb}
}

func TestCheckReexecutionAcceptsAnHonestRun(t *testing.T) {
	w, blocks := honestRun(t)
	if err := CheckReexecution(w.cfg, w.alloc, blocks, getHash); err != nil {
		t.Fatal(err)
	}
}

// Each doctored run must be caught, as a P3 violation at the right place.
func TestCheckReexecutionRejectsDoctoredRuns(t *testing.T) {
	cases := map[string]struct {
		tx     int
		doctor func(x *ExecutedTx)
	}{
		"wrong root":               {0, func(x *ExecutedTx) { x.Root[0] ^= 1 }},
		"wrong gas in receipt":     {0, func(x *ExecutedTx) { x.Receipt.GasUsed++ }},
		"wrong status":             {0, func(x *ExecutedTx) { x.Receipt.Status = types.ReceiptStatusFailed }},
		"a log dropped":            {1, func(x *ExecutedTx) { x.Receipt.Logs = x.Receipt.Logs[:1] }},
		"a log altered":            {1, func(x *ExecutedTx) { x.Receipt.Logs[0].Data = []byte{1} }},
		"refused what is valid":    {3, func(x *ExecutedTx) { x.Receipt, x.Err = nil, errors.New("nonce too low") }},
		"executed what is invalid": {2, func(x *ExecutedTx) { x.Receipt, x.Err = &types.Receipt{}, nil }},
		"no receipt":               {0, func(x *ExecutedTx) { x.Receipt = nil }},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			w, blocks := honestRun(t)
			c.doctor(&blocks[0].Txs[c.tx])
			err := CheckReexecution(w.cfg, w.alloc, blocks, getHash)
			var v *Violation
			if !errors.As(err, &v) {
				t.Fatalf("doctored run accepted (err %v)", err)
			}
			if v.Property != PropDiffEquivalence || v.Where != fmt.Sprintf("block 1 tx %d", c.tx) {
				t.Fatalf("violation reported at the wrong place: %v", v)
			}
		})
	}
}

func TestCheckReexecutionNeedsTheRightGenesis(t *testing.T) {
	w, blocks := honestRun(t)
	w.alloc[common.HexToAddress("0x1234")] = types.Account{Balance: big.NewInt(1)}
	if err := CheckReexecution(w.cfg, w.alloc, blocks, getHash); err == nil {
		t.Fatal("a run checked against another genesis passed")
	}
}
