package ledger_test

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/internal/chaintest"
	"github.com/meganode/meganode/node/internal/nodetest"
	"github.com/meganode/meganode/node/memdisk"
	"github.com/meganode/meganode/node/sequencer"
)

const callTracer = `{"tracer":"callTracer"}`

type callFrame struct {
	Type    string          `json:"type"`
	From    common.Address  `json:"from"`
	To      common.Address  `json:"to"`
	GasUsed hexutil.Uint64  `json:"gasUsed"`
	Value   *hexutil.Big    `json:"value"`
	Calls   json.RawMessage `json:"calls"`
}

type structResult struct {
	Gas        uint64 `json:"gas"`
	Failed     bool   `json:"failed"`
	StructLogs []struct {
		Op    string   `json:"op"`
		Stack []string `json:"stack"`
	} `json:"structLogs"`
}

func traceTx(t *testing.T, s *chaintest.Stream, hash common.Hash, cfg string) *api.Answer {
	t.Helper()
	return ask(t, s, &api.Call{Method: api.MethodTraceTx, Hash: hash, Trace: []byte(cfg)})
}

// Every transaction of a sealed block traces on the state it ran on: the
// first of a block after the block's system calls, the others after the
// earlier mini-blocks of the block (resumed) and the earlier transactions
// of their own. The node checks each traced execution against the chain's
// receipt; the test checks the tracers' gas too. A transaction of the
// open block is not found, as its receipt is not, until the block seals.
func TestTraceEveryTransaction(t *testing.T) {
	s, l := produceChain(t)
	seen, open := 0, 0
	for n := uint64(1); n <= testMiniBlocks; n++ {
		mb, _, err := l.MiniBlock(n)
		if err != nil {
			t.Fatal(err)
		}
		for i, tx := range mb.Txs {
			r := mb.Receipts[i]
			a := traceTx(t, s, tx.Hash(), callTracer)
			if mb.Header.BlockNumber > l.Safe().Header.Number.Uint64() {
				mustFail(t, a, api.KindNotFound, "not found")
				open++
				continue
			}
			if a.Err != nil {
				t.Fatalf("mini-block %d tx %d: %v", n, i, a.Err)
			}
			var f callFrame
			if err := json.Unmarshal(a.Value, &f); err != nil {
				t.Fatalf("mini-block %d tx %d: %v: %s", n, i, err, a.Value)
			}
			from, _ := types.Sender(types.LatestSignerForChainID(tx.ChainId()), tx)
			if f.Type != "CALL" || f.From != from || f.To != *tx.To() || uint64(f.GasUsed) != r.GasUsed || f.Value.ToInt().Cmp(tx.Value()) != 0 {
				t.Fatalf("mini-block %d tx %d: %+v; receipt gas %d", n, i, f, r.GasUsed)
			}
			if a.At.MiniBlock != n || a.At.Block != mb.Header.BlockNumber {
				t.Fatalf("mini-block %d tx %d: answered at %+v", n, i, a.At)
			}
			// The struct logger, go-ethereum's default: its gas is the
			// receipt's.
			a = traceTx(t, s, tx.Hash(), "")
			var sr structResult
			if a.Err != nil || json.Unmarshal(a.Value, &sr) != nil || sr.Gas != r.GasUsed || sr.Failed {
				t.Fatalf("mini-block %d tx %d: struct logger %v %s; receipt gas %d", n, i, a.Err, a.Value, r.GasUsed)
			}
			if (*tx.To() == nodetest.Sink) != (len(sr.StructLogs) == 0) {
				t.Fatalf("mini-block %d tx %d to %v: %d steps", n, i, tx.To(), len(sr.StructLogs))
			}
			seen++
		}
	}
	if seen < testMiniBlocks-testK || open == 0 {
		t.Fatalf("traced %d transactions, refused %d of the open block", seen, open)
	}
	mustFail(t, traceTx(t, s, common.Hash{1}, ""), api.KindNotFound, "not found")
	mb, _, err := l.MiniBlock(l.Safe().Last)
	if err != nil {
		t.Fatal(err)
	}
	mustFail(t, traceTx(t, s, mb.Txs[0].Hash(), `{"tracer":"nope"}`), api.KindInvalidInput, `tracer "nope" not found`)
	mustFail(t, traceTx(t, s, mb.Txs[0].Hash(), `{"tracer":5}`), api.KindInvalidInput, "invalid trace configuration")
}

// A sealed block's trace is its transactions' traces, in order, as
// go-ethereum's [{txHash, result}], by number and by hash; a block not
// sealed and the genesis block have none.
func TestTraceBlock(t *testing.T) {
	s, l := produceChain(t)
	const prestate = `{"tracer":"prestateTracer","tracerConfig":{"diffMode":true}}`
	safe := l.Safe().Header.Number.Uint64()
	for n := uint64(1); n <= safe; n++ {
		a := ask(t, s, &api.Call{Method: api.MethodTraceBlock, Number: n, Trace: []byte(prestate)})
		if a.Err != nil {
			t.Fatalf("block %d: %v", n, a.Err)
		}
		var got []struct {
			TxHash common.Hash     `json:"txHash"`
			Result json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal(a.Value, &got); err != nil {
			t.Fatalf("block %d: %v: %s", n, err, a.Value)
		}
		b, err := l.Block(n)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(b.Transactions()) || len(got) == 0 {
			t.Fatalf("block %d: %d traces, %d transactions", n, len(got), len(b.Transactions()))
		}
		for i, tx := range b.Transactions() {
			one := traceTx(t, s, tx.Hash(), prestate)
			if got[i].TxHash != tx.Hash() || one.Err != nil || string(got[i].Result) != string(one.Value) {
				t.Fatalf("block %d tx %d: %v\n%s\ntraced alone (%v):\n%s", n, i, got[i].TxHash, got[i].Result, one.Err, one.Value)
			}
		}
		byHash := ask(t, s, &api.Call{Method: api.MethodTraceBlock, Hash: b.Hash(), Trace: []byte(prestate)})
		if byHash.Err != nil || string(byHash.Value) != string(a.Value) {
			t.Fatalf("block %d by hash: %v", n, byHash.Err)
		}
	}
	mustFail(t, ask(t, s, &api.Call{Method: api.MethodTraceBlock, Number: safe + 1}), api.KindNotFound, "block #6 not found")
	mustFail(t, ask(t, s, &api.Call{Method: api.MethodTraceBlock, Number: 0}), api.KindInvalidInput, "genesis is not traceable")
	mustFail(t, ask(t, s, &api.Call{Method: api.MethodTraceBlock, Hash: common.Hash{9}}), api.KindNotFound, "block 0x0900000000000000000000000000000000000000000000000000000000000000 not found")
}

// headerReader is a contract that pushes the block's timestamp, number,
// coinbase, base fee, prevRandao and gas limit, and stops.
var headerReader = []byte{0x42, 0x43, 0x41, 0x48, 0x44, 0x45, 0x00}

// send has the stream's sequencer execute a transaction of key's in its
// next mini-block, and ticks it.
func send(t *testing.T, s *chaintest.Stream, key int, to *common.Address, gas uint64, data []byte) *types.Transaction {
	t.Helper()
	from := crypto.PubkeyToAddress(s.Keys[key].PublicKey)
	nonce := ask(t, s, &api.Call{Method: api.MethodNonce, Address: from, Tag: api.Pending})
	tx := types.MustSignNewTx(s.Keys[key], types.LatestSignerForChainID(big.NewInt(nodetest.ChainID)), &types.DynamicFeeTx{
		ChainID: big.NewInt(nodetest.ChainID), Nonce: nonce.Nonce, GasTipCap: big.NewInt(params.GWei),
		GasFeeCap: big.NewInt(10 * params.GWei), Gas: gas, To: to, Data: data,
	})
	raw, _ := tx.MarshalBinary()
	req := &nodetest.Req{Call: (&api.Call{Method: api.MethodSendTx, Raw: raw}).Encode()}
	s.Seq.OnRequest(req)
	s.Env.Clock = s.Env.Clock.Add(10 * time.Millisecond)
	s.Env.RunDue(t, s.Seq)
	if len(req.Answers) != 1 { // answered once its mini-block is durable
		t.Fatalf("send: %d answers", len(req.Answers))
	}
	if a, err := api.DecodeAnswer(req.Answers[0]); err != nil || a.Err != nil {
		t.Fatalf("send: %v %+v", err, a)
	}
	return tx
}

// A transaction of the open block is not traced before its block seals
// (as its receipt is not served); once sealed, it traces in the block's
// header (time, number, coinbase, base fee, prevRandao, gas limit). Twice:
// in a block whose time is its parent's (blocks come faster than
// seconds), and in a first block whose time is its first mini-block's
// (the clock far ahead of the genesis block).
func TestTraceOpenBlockRunsInTheSealedHeader(t *testing.T) {
	t.Run("parent time", func(t *testing.T) {
		s, _ := produceChain(t)
		init := append([]byte{0x60, byte(len(headerReader)), 0x80, 0x60, 12, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3, 0x00}, headerReader...)
		deploy := send(t, s, 0, nil, 200_000, init)
		traceOpenThenSealed(t, s, crypto.CreateAddress(crypto.PubkeyToAddress(s.Keys[0].PublicKey), deploy.Nonce()))
	})
	t.Run("first mini-block time", func(t *testing.T) {
		s := &chaintest.Stream{SeqKey: nodetest.Key("sequencer", 0)}
		for i := range 3 {
			s.Keys = append(s.Keys, nodetest.Key("account", i))
		}
		contract := common.HexToAddress("0x4ead")
		s.Gen = nodetest.Genesis(s.Keys, types.GenesisAlloc{contract: {Code: headerReader}})
		seq, err := sequencer.New(sequencer.Config{Genesis: s.Gen, Key: s.SeqKey, MiniBlockInterval: 10 * time.Millisecond, MiniBlocksPerBlock: testK, MinGap: -1, BlockGap: -1})
		if err != nil {
			t.Fatal(err)
		}
		s.Seq, s.Env = seq, nodetest.NewEnv("seq", memdisk.New(), nodetest.T0.Add(100*time.Second))
		if err := seq.Start(s.Env); err != nil {
			t.Fatal(err)
		}
		s.Env.CompleteSyncs(seq)
		traceOpenThenSealed(t, s, contract)
		if b, _ := s.Seq.Ledger().Block(1); b.Time() != s.Gen.Timestamp+100 {
			t.Fatalf("block 1 at %d, genesis at %d: the block's time is not its first mini-block's", b.Time(), s.Gen.Timestamp)
		}
	})
}

// traceOpenThenSealed calls contract (headerReader) in the next
// mini-block, finds the call not traceable while its block is open, seals
// the block, traces it, and checks that the trace read the sealed header.
func traceOpenThenSealed(t *testing.T, s *chaintest.Stream, contract common.Address) {
	t.Helper()
	l := s.Seq.Ledger()
	call := send(t, s, 1, &contract, 100_000, nil)
	mustFail(t, traceTx(t, s, call.Hash(), ""), api.KindNotFound, "not found")
	head, _ := l.Head()
	for l.Safe().Header.Number.Uint64() < head.BlockNumber {
		send(t, s, 2, &nodetest.Sink, params.TxGas, nil)
	}
	sealed := traceTx(t, s, call.Hash(), "")
	if sealed.Err != nil {
		t.Fatal(sealed.Err)
	}
	open := sealed
	var sr structResult
	if err := json.Unmarshal(sealed.Value, &sr); err != nil || len(sr.StructLogs) != len(headerReader) {
		t.Fatalf("%v: %s", err, sealed.Value)
	}
	b, err := l.Block(open.At.Block)
	if err != nil {
		t.Fatal(err)
	}
	h := b.Header()
	want := []string{hexutil.EncodeUint64(h.Time), hexutil.EncodeBig(h.Number), hexutil.EncodeBig(new(big.Int).SetBytes(h.Coinbase[:])),
		hexutil.EncodeBig(h.BaseFee), hexutil.EncodeBig(h.MixDigest.Big()), hexutil.EncodeUint64(h.GasLimit)}
	if stack := sr.StructLogs[len(sr.StructLogs)-1].Stack; strings.Join(stack, " ") != strings.Join(want, " ") { // at STOP
		t.Fatalf("stack at STOP %v, want %v", stack, want)
	}
}

// A traced call runs where eth_call runs: at a tag, with the call's
// fields; overrides are refused.
func TestTraceCall(t *testing.T) {
	s, _ := produceChain(t)
	from := crypto.PubkeyToAddress(s.Keys[0].PublicKey)
	data := common.BigToHash(big.NewInt(77)).Bytes()
	c := &api.Call{Method: api.MethodTraceCall, From: from, Address: nodetest.Setter, Data: data, Tag: api.Latest, Trace: []byte(callTracer)}
	a := ask(t, s, c)
	if a.Err != nil {
		t.Fatal(a.Err)
	}
	var f callFrame
	if err := json.Unmarshal(a.Value, &f); err != nil {
		t.Fatal(err)
	}
	call := ask(t, s, &api.Call{Method: api.MethodEstimateGas, From: from, Address: nodetest.Setter, Data: data, Tag: api.Latest})
	if f.Type != "CALL" || f.From != from || f.To != nodetest.Setter || f.GasUsed == 0 || call.Err != nil || uint64(f.GasUsed) > call.Gas {
		t.Fatalf("traced call %+v; estimate %d %v", f, call.Gas, call.Err)
	}
	// Overrides apply (override.go): go-ethereum's refusals come back.
	c.Trace = []byte(`{"tracer":"callTracer","stateOverrides":{"` + from.Hex() + `":{"state":{},"stateDiff":{}}}}`)
	mustFail(t, ask(t, s, c), api.KindInvalidTx, "account "+from.Hex()+" has both 'state' and 'stateDiff'")
	c.Trace = []byte(`{"blockOverrides":{"beaconRoot":"0x0000000000000000000000000000000000000000000000000000000000000001"}}`)
	mustFail(t, ask(t, s, c), api.KindInvalidTx, `block override "beaconRoot" is not supported`)
	c.Trace = []byte(`{"tracer":"callTracer","blockOverrides":{"number":"0x1"},"stateOverrides":{"` + from.Hex() + `":{"balance":"0x1"}}}`)
	if a := ask(t, s, c); a.Err != nil {
		t.Fatal(a.Err)
	}
	c.Trace = []byte(`{"stateOverrides":{},"blockOverrides":{}}`) // empty: none
	if a := ask(t, s, c); a.Err != nil {
		t.Fatal(a.Err)
	}
}
