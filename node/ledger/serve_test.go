package ledger_test

import (
	"bytes"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/consensus/misc/eip1559"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/internal/chaintest"
	"github.com/meganode/meganode/node/internal/nodetest"
	"github.com/meganode/meganode/node/ledger"
)

// The chain these tests read: 27 mini-blocks of 5 per block, so blocks 1
// to 5 are sealed and block 6 is open with two mini-blocks.
const (
	testMiniBlocks = 27
	testK          = 5
)

// ask sends a call to the stream's sequencer and decodes its answer.
func ask(t *testing.T, s *chaintest.Stream, c *api.Call) *api.Answer {
	t.Helper()
	req := &nodetest.Req{Call: c.Encode()}
	s.Seq.OnRequest(req)
	if len(req.Answers) != 1 {
		t.Fatalf("%v: %d answers", c.Method, len(req.Answers))
	}
	a, err := api.DecodeAnswer(req.Answers[0])
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// mustFail checks that an answer is a failure of kind k whose message holds msg.
func mustFail(t *testing.T, a *api.Answer, k api.Kind, msg string) {
	t.Helper()
	if a.Err == nil {
		t.Fatalf("succeeded, want %v %q", k, msg)
	}
	if a.Err.Kind != k || !strings.Contains(a.Err.Message, msg) {
		t.Fatalf("failed with %v %q, want %v %q", a.Err.Kind, a.Err.Message, k, msg)
	}
}

func produceChain(t *testing.T) (*chaintest.Stream, *ledger.Ledger) {
	t.Helper()
	s := chaintest.Produce(t, testMiniBlocks, testK)
	return s, s.Seq.Ledger()
}

func TestTransactionByHash(t *testing.T) {
	s, l := produceChain(t)
	seen := 0
	for n := uint64(1); n <= testMiniBlocks; n++ {
		mb, _, err := l.MiniBlock(n)
		if err != nil {
			t.Fatal(err)
		}
		for i, tx := range mb.Txs {
			a := ask(t, s, &api.Call{Method: api.MethodTx, Hash: tx.Hash()})
			if n > l.Safe().Last {
				// The open block's: out once it seals, with its hash.
				mustFail(t, a, api.KindNotFound, "not found")
				continue
			}
			if a.Err != nil {
				t.Fatal(a.Err)
			}
			got := new(types.Transaction)
			if err := got.UnmarshalBinary(a.Value); err != nil || got.Hash() != tx.Hash() {
				t.Fatalf("mini-block %d tx %d: raw transaction %x does not decode to it (%v)", n, i, a.Value, err)
			}
			r := a.Receipt
			if r == nil || r.MiniBlock != n || r.BlockNumber != mb.Header.BlockNumber || r.TxIndex != mb.Header.TxOffset+uint64(i) || r.TxHash != tx.Hash() {
				t.Fatalf("mini-block %d tx %d: location %+v", n, i, r)
			}
			if wantHash := l.BlockHash(mb.Header.BlockNumber); r.BlockHash != wantHash || wantHash == (common.Hash{}) {
				t.Fatalf("mini-block %d: block hash %v, want %v", n, r.BlockHash, wantHash)
			}
			for _, lg := range r.Logs {
				if lg.BlockHash != r.BlockHash {
					t.Fatalf("mini-block %d tx %d: log in block %v, the receipt's block is %v", n, i, lg.BlockHash, r.BlockHash)
				}
			}
			if len(r.Logs) > 0 && mb.Receipts[i].Logs[0].BlockHash != (common.Hash{}) {
				t.Fatal("the ledger's shared receipt was changed")
			}
			// The receipt carries the raw transaction too.
			if ra := ask(t, s, &api.Call{Method: api.MethodReceipt, Hash: tx.Hash()}); !bytes.Equal(ra.Value, a.Value) {
				t.Fatal("the receipt's answer does not carry the raw transaction")
			}
			seen++
		}
	}
	if seen == 0 {
		t.Fatal("no transactions")
	}
	mustFail(t, ask(t, s, &api.Call{Method: api.MethodTx, Hash: common.Hash{1}}), api.KindNotFound, "not found")
}

func TestBlockByHash(t *testing.T) {
	s, l := produceChain(t)
	safe := l.Safe().Header.Number.Uint64()
	if safe != testMiniBlocks/testK {
		t.Fatalf("safe %d", safe)
	}
	for n := uint64(0); n <= safe; n++ {
		h := l.BlockHash(n)
		if n == 0 {
			h = l.Genesis().Hash()
		}
		a := ask(t, s, &api.Call{Method: api.MethodBlockByHash, Hash: h})
		if a.Err != nil {
			t.Fatalf("block %d: %v", n, a.Err)
		}
		b, err := chain.DecodeBlock(a.Block)
		if err != nil || b.Hash() != h || b.NumberU64() != n {
			t.Fatalf("block %d: got %v (%v)", n, b, err)
		}
		byNumber := ask(t, s, &api.Call{Method: api.MethodBlock, Number: n})
		if !bytes.Equal(byNumber.Block, a.Block) {
			t.Fatalf("block %d by hash and by number differ", n)
		}
	}
	mustFail(t, ask(t, s, &api.Call{Method: api.MethodBlockByHash, Hash: common.Hash{7}}), api.KindNotFound, "not found")
	// A mini-block's hash is no block's.
	_, headHash := l.Head()
	mustFail(t, ask(t, s, &api.Call{Method: api.MethodBlockByHash, Hash: headHash}), api.KindNotFound, "not found")
}

// allLogs is every log of the chain in order, with the block hash of
// sealed blocks.
func allLogs(t *testing.T, l *ledger.Ledger) []*types.Log {
	t.Helper()
	head, _ := l.Head()
	var out []*types.Log
	for n := uint64(1); n <= head.Number; n++ {
		mb, _, err := l.MiniBlock(n)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range mb.Receipts {
			for _, lg := range r.Logs {
				cp := *lg
				if mb.Header.BlockNumber <= l.Safe().Header.Number.Uint64() {
					s, _ := l.SealedBlock(mb.Header.BlockNumber)
					cp.BlockHash, cp.BlockTimestamp = s.Header.Hash(), s.Header.Time
				}
				out = append(out, &cp)
			}
		}
	}
	return out
}

func sameLogs(t *testing.T, got []*types.Log, want []*types.Log) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d logs, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Address != w.Address || len(g.Topics) != len(w.Topics) || !bytes.Equal(g.Data, w.Data) || g.BlockNumber != w.BlockNumber ||
			g.TxHash != w.TxHash || g.TxIndex != w.TxIndex || g.BlockHash != w.BlockHash || g.Index != w.Index || g.BlockTimestamp != w.BlockTimestamp {
			t.Fatalf("log %d: got %+v, want %+v", i, g, w)
		}
	}
}

func TestLogs(t *testing.T) {
	s, l := produceChain(t)
	all := allLogs(t, l)
	topic := common.BigToHash(big.NewInt(7))
	if len(all) == 0 || all[0].Address != nodetest.Logger || all[0].Topics[0] != topic {
		t.Fatalf("the chain's logs: %v", all)
	}
	logs := func(f *api.LogFilter) *api.Answer { return ask(t, s, &api.Call{Method: api.MethodLogs, Filter: f}) }
	between := func(from, to uint64) []*types.Log {
		var out []*types.Log
		for _, lg := range all {
			if lg.BlockNumber >= from && lg.BlockNumber <= to {
				out = append(out, lg)
			}
		}
		return out
	}
	head, _ := l.Head()
	safe := l.Safe().Header.Number.Uint64()
	if head.BlockNumber <= safe {
		t.Fatalf("the chain ends in block %d, sealed: no open block to test", head.BlockNumber)
	}
	// Everything up to latest: the sealed blocks' logs, each with its
	// block's hash; the open block's wait for its seal.
	a := logs(&api.LogFilter{From: api.AtBlock(0), To: api.Latest})
	if a.Err != nil {
		t.Fatal(a.Err)
	}
	sameLogs(t, a.Logs, between(0, safe))
	if len(between(head.BlockNumber, head.BlockNumber)) == 0 {
		t.Fatal("the open block has no logs: nothing is left out")
	}
	for _, lg := range a.Logs {
		if lg.BlockHash != l.BlockHash(lg.BlockNumber) {
			t.Fatalf("log %+v: block hash, want %v", lg, l.BlockHash(lg.BlockNumber))
		}
	}
	mustFail(t, logs(&api.LogFilter{From: api.AtBlock(0), To: api.AtBlock(head.BlockNumber)}), api.KindInvalidInput, "beyond current head block")
	// Sealed blocks only.
	a = logs(&api.LogFilter{From: api.AtBlock(2), To: api.Safe, Addresses: []common.Address{nodetest.Logger}, Topics: [][]common.Hash{{topic}}})
	sameLogs(t, a.Logs, between(2, 5))
	// One block by hash.
	a = logs(&api.LogFilter{BlockHash: l.BlockHash(3)})
	sameLogs(t, a.Logs, between(3, 3))
	// From latest: the newest sealed block alone.
	a = logs(&api.LogFilter{From: api.Latest, To: api.Latest})
	sameLogs(t, a.Logs, between(safe, safe))
	// Filters that match nothing.
	for _, f := range []*api.LogFilter{
		{From: api.AtBlock(0), To: api.Latest, Addresses: []common.Address{nodetest.Setter}},
		{From: api.AtBlock(0), To: api.Latest, Topics: [][]common.Hash{{{1}}}},
		{From: api.AtBlock(0), To: api.Latest, Topics: [][]common.Hash{nil, nil}}, // the logs have one topic
	} {
		if a := logs(f); a.Err != nil || len(a.Logs) != 0 {
			t.Fatalf("%+v: %d logs, %v", f, len(a.Logs), a.Err)
		}
	}
	// A wildcard position matches.
	sameLogs(t, logs(&api.LogFilter{From: api.AtBlock(0), To: api.Latest, Topics: [][]common.Hash{nil}}).Logs, between(0, safe))
	// Bad ranges, with go-ethereum's messages.
	mustFail(t, logs(&api.LogFilter{From: api.AtBlock(4), To: api.AtBlock(3)}), api.KindInvalidInput, "invalid block range params")
	mustFail(t, logs(&api.LogFilter{From: api.AtBlock(0), To: api.AtBlock(api.MaxLogBlocks + 1)}), api.KindInvalidInput, "exceed maximum block range 1024")
	mustFail(t, logs(&api.LogFilter{From: api.AtBlock(0), To: api.AtBlock(head.BlockNumber + 1)}), api.KindInvalidInput, "block range extends beyond current head block")
	mustFail(t, logs(&api.LogFilter{BlockHash: common.Hash{9}}), api.KindNotFound, "unknown block")
	mustFail(t, logs(&api.LogFilter{From: api.AtMiniBlock(3), To: api.Latest}), api.KindInvalidInput, "")
	mustFail(t, logs(&api.LogFilter{From: api.Finalized, To: api.Latest}), api.KindUnavailable, "finality")
	if e := logs(&api.LogFilter{From: api.AtBlock(0), To: api.AtBlock(api.MaxLogBlocks + 1)}).Err; e.ErrorCode() != -32602 {
		t.Fatalf("code %d", e.ErrorCode())
	}
	// The ledger's receipts are not changed by serving them.
	mb, _, _ := l.MiniBlock(2)
	for _, r := range mb.Receipts {
		for _, lg := range r.Logs {
			if lg.BlockHash != (common.Hash{}) {
				t.Fatal("serving logs wrote a block hash into the ledger's receipt")
			}
		}
	}
}

func TestLogsBoundsInCalls(t *testing.T) {
	many := make([]common.Address, api.MaxLogAddresses+1)
	for _, f := range []*api.LogFilter{
		{Addresses: many},
		{Topics: make([][]common.Hash, api.MaxLogTopics+1)},
		{Topics: [][]common.Hash{make([]common.Hash, api.MaxLogAddresses+1)}},
		{From: api.Tag{Kind: 200}},
	} {
		_, err := api.DecodeCall((&api.Call{Method: api.MethodLogs, Filter: f}).Encode())
		if !errors.Is(err, api.ErrBadCall) {
			t.Fatalf("%d addresses, %d topics: %v", len(f.Addresses), len(f.Topics), err)
		}
	}
	huge := new(big.Int).Lsh(big.NewInt(1), 256)
	if _, err := api.DecodeCall((&api.Call{Method: api.MethodEstimateGas, Value: huge}).Encode()); !errors.Is(err, api.ErrBadCall) {
		t.Fatalf("a 257-bit value: %v", err)
	}
	if _, err := api.DecodeCall((&api.Call{Method: api.MethodFeeHistory, Percentiles: make([]uint64, api.MaxPercentiles+1)}).Encode()); !errors.Is(err, api.ErrBadCall) {
		t.Fatalf("too many percentiles: %v", err)
	}
	// Empty lists and a zero value come back as nil.
	c, err := api.DecodeCall((&api.Call{Method: api.MethodLogs, Value: new(big.Int), Percentiles: []uint64{},
		Filter: &api.LogFilter{Addresses: []common.Address{}, Topics: [][]common.Hash{{}, {{1}}}}}).Encode())
	if err != nil {
		t.Fatal(err)
	}
	if c.Value != nil || c.Percentiles != nil || c.Filter.Addresses != nil || c.Filter.Topics[0] != nil || len(c.Filter.Topics[1]) != 1 {
		t.Fatalf("not normalized: %+v %+v", c, c.Filter)
	}
}

func TestEstimateGas(t *testing.T) {
	s, l := produceChain(t)
	from := crypto.PubkeyToAddress(s.Keys[0].PublicKey)
	estimate := func(c *api.Call) *api.Answer {
		c.Method, c.From = api.MethodEstimateGas, from
		return ask(t, s, c)
	}
	// A plain transfer.
	if a := estimate(&api.Call{Address: nodetest.Sink, Value: big.NewInt(1)}); a.Err != nil || a.Gas != params.TxGas {
		t.Fatalf("transfer: %d %v", a.Gas, a.Err)
	}
	// A store: the estimate is enough, and about what it uses.
	data := common.BigToHash(big.NewInt(12345)).Bytes()
	a := estimate(&api.Call{Address: nodetest.Setter, Data: data})
	if a.Err != nil {
		t.Fatal(a.Err)
	}
	if a.Gas < 21_000+5_000 || a.Gas > 100_000 {
		t.Fatalf("store estimate %d", a.Gas)
	}
	if c := ask(t, s, &api.Call{Method: api.MethodCall, From: from, Address: nodetest.Setter, Data: data, Gas: a.Gas}); c.Err != nil {
		t.Fatalf("a call with the estimated gas fails: %v", c.Err)
	}
	// A creation.
	initcode := []byte{0x60, 0x00, 0x60, 0x00, 0xf3} // RETURN(0, 0)
	if a := estimate(&api.Call{Create: true, Data: initcode}); a.Err != nil || a.Gas < 53_000 || a.Gas > 60_000 {
		t.Fatalf("creation: %d %v", a.Gas, a.Err)
	}
	// Reverting always: code 3 with the revert data.
	reverting := []byte{0x61, 0xde, 0xad, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xfd} // MSTORE(0, 0xdead) REVERT(0, 32)
	a = estimate(&api.Call{Create: true, Data: reverting})
	mustFail(t, a, api.KindReverted, "execution reverted")
	if a.Err.ErrorCode() != 3 || !bytes.Equal(a.Err.Data, common.BigToHash(big.NewInt(0xdead)).Bytes()) {
		t.Fatalf("revert: code %d data %x", a.Err.ErrorCode(), a.Err.Data)
	}
	// Out of gas at the bound.
	mustFail(t, estimate(&api.Call{Address: nodetest.Setter, Data: data, Gas: 22_000}), api.KindInvalidTx, "gas required exceeds allowance (22000)")
	loop := []byte{0x5b, 0x60, 0x00, 0x56} // JUMPDEST PUSH1 0 JUMP
	mustFail(t, estimate(&api.Call{Create: true, Data: loop}), api.KindInvalidTx, "gas required exceeds allowance")
	// A value above the balance.
	mustFail(t, estimate(&api.Call{Address: nodetest.Sink, Value: new(big.Int).Mul(big.NewInt(1000), big.NewInt(params.Ether))}),
		api.KindInsufficientFunds, "insufficient funds for transfer")
	// At a sealed block.
	if a := estimate(&api.Call{Address: nodetest.Sink, Tag: api.AtBlock(2)}); a.Err != nil || a.At.Block != 2 {
		t.Fatalf("at block 2: %+v", a)
	}
	// A call with a value: the sender's balance must cover it.
	rich := crypto.PubkeyToAddress(s.Keys[0].PublicKey)
	if a := ask(t, s, &api.Call{Method: api.MethodCall, From: rich, Address: nodetest.Sink, Value: big.NewInt(1)}); a.Err != nil {
		t.Fatalf("call with a value from a funded account: %v", a.Err)
	}
	poor := common.Address{0xde, 0xad} // the zero address holds the fees of a coinbase left unset
	mustFail(t, ask(t, s, &api.Call{Method: api.MethodCall, From: poor, Address: nodetest.Sink, Value: big.NewInt(1)}), api.KindInsufficientFunds, "insufficient funds")
	mustFail(t, ask(t, s, &api.Call{Method: api.MethodCall, From: rich, Address: nodetest.Sink, Value: new(big.Int).Lsh(big.NewInt(1), 257)}), api.KindInvalidInput, "value of 258 bits")
	_ = l
}

func TestFeeHistory(t *testing.T) {
	s, l := produceChain(t)
	safe := l.Safe().Header.Number.Uint64()
	history := func(c *api.Call) *api.Answer {
		c.Method = api.MethodFeeHistory
		return ask(t, s, c)
	}
	a := history(&api.Call{Number: 3, Tag: api.Latest, Percentiles: []uint64{0, 500_000, 1_000_000}})
	if a.Err != nil {
		t.Fatal(a.Err)
	}
	h := a.FeeHistory
	if h == nil || h.Oldest != safe-2 || len(h.BaseFee) != 4 || len(h.GasUsed) != 3 || len(h.GasLimit) != 3 || len(h.Reward) != 3 {
		t.Fatalf("history %+v", h)
	}
	for i := range 3 {
		sb, _ := l.SealedBlock(h.Oldest + uint64(i))
		if h.BaseFee[i].Cmp(sb.Header.BaseFee) != 0 || h.GasUsed[i] != sb.Header.GasUsed || h.GasLimit[i] != sb.Header.GasLimit {
			t.Fatalf("block %d: %v %d %d", h.Oldest+uint64(i), h.BaseFee[i], h.GasUsed[i], h.GasLimit[i])
		}
		// Every transaction tips 1 gwei (its fee cap is far above the base fee).
		for j, r := range h.Reward[i] {
			if r.Cmp(big.NewInt(params.GWei)) != 0 {
				t.Fatalf("block %d reward %d: %v", h.Oldest+uint64(i), j, r)
			}
		}
	}
	newest, _ := l.SealedBlock(safe)
	if want := eip1559.CalcBaseFee(s.Gen.Config, newest.Header); h.BaseFee[3].Cmp(want) != 0 {
		t.Fatalf("next base fee %v, want %v", h.BaseFee[3], want)
	}
	// More blocks than there are: from genesis. No percentiles: no rewards.
	a = history(&api.Call{Number: 100, Tag: api.AtBlock(2)})
	if h := a.FeeHistory; a.Err != nil || h.Oldest != 0 || len(h.GasUsed) != 3 || len(h.Reward) != 0 || h.BaseFee[0].Cmp(l.Genesis().BaseFee()) != 0 {
		t.Fatalf("%+v %v", a.FeeHistory, a.Err)
	}
	if a := history(&api.Call{Number: 0}); a.Err != nil || len(a.FeeHistory.BaseFee) != 0 {
		t.Fatalf("zero blocks: %+v", a)
	}
	mustFail(t, history(&api.Call{Number: 1, Tag: api.AtBlock(safe + 1)}), api.KindFuture, "request beyond head block")
	mustFail(t, history(&api.Call{Number: 1, Percentiles: []uint64{600_000, 500_000}}), api.KindInvalidInput, "invalid reward percentile")
	mustFail(t, history(&api.Call{Number: 1, Percentiles: []uint64{1_000_001}}), api.KindInvalidInput, "invalid reward percentile")
}
