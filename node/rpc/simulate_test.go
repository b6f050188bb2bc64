package rpc_test

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/meganode/meganode/node/internal/nodetest"
	"github.com/meganode/meganode/node/rpc"
)

// simResult is the part of an eth_simulateV1 block the tests read.
type simResult struct {
	Number       hexutil.Uint64    `json:"number"`
	Hash         common.Hash       `json:"hash"`
	ParentHash   common.Hash       `json:"parentHash"`
	Timestamp    hexutil.Uint64    `json:"timestamp"`
	GasLimit     hexutil.Uint64    `json:"gasLimit"`
	GasUsed      hexutil.Uint64    `json:"gasUsed"`
	Miner        common.Address    `json:"miner"`
	BaseFee      *hexutil.Big      `json:"baseFeePerGas"`
	Transactions []json.RawMessage `json:"transactions"`
	Calls        []struct {
		ReturnData hexutil.Bytes  `json:"returnData"`
		Logs       []types.Log    `json:"logs"`
		GasUsed    hexutil.Uint64 `json:"gasUsed"`
		Status     hexutil.Uint64 `json:"status"`
		Error      *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Data    string `json:"data"`
		} `json:"error"`
	} `json:"calls"`
}

var (
	// balanceOf returns BALANCE of the address in its first calldata word.
	balanceOf = "0x6000353160005260206000f3"
	// revert42 reverts with the word 0x2a.
	revert42 = "0x602a60005260206000fd"
	// invalidOp fails with the INVALID opcode.
	invalidOp = "0xfe"
	readerAt  = common.HexToAddress("0x5151")
	fresh     = common.HexToAddress("0xf4e54")
)

func TestSimulateV1(t *testing.T) {
	h := newHarness(t)
	ctx := h.ctx()
	alice := addr(h.b.keys[0])
	h.sealed(1)
	var head hexutil.Uint64
	if err := h.raw.CallContext(ctx, &head, "eth_blockNumber"); err != nil {
		t.Fatal(err)
	}
	base := uint64(head)
	var baseBlock struct {
		Hash      common.Hash    `json:"hash"`
		Timestamp hexutil.Uint64 `json:"timestamp"`
	}
	if err := h.raw.CallContext(ctx, &baseBlock, "eth_getBlockByNumber", head, false); err != nil {
		t.Fatal(err)
	}
	simulate := func(opts map[string]any) ([]simResult, error) {
		var out []simResult
		err := h.raw.CallContext(ctx, &out, "eth_simulateV1", opts, head)
		return out, err
	}
	word := func(a common.Address) hexutil.Bytes { return common.BytesToHash(a.Bytes()).Bytes() }
	reader := map[string]any{readerAt.Hex(): map[string]any{"code": balanceOf}}
	transfer := map[string]any{"from": alice, "to": fresh, "value": "0x3e8"}
	readFresh := map[string]any{"from": alice, "to": readerAt, "input": word(fresh)}
	blocks := func(bs ...map[string]any) map[string]any { return map[string]any{"blockStateCalls": bs} }
	calls := func(cs ...map[string]any) []map[string]any { return cs }

	cases := []struct {
		name  string
		opts  map[string]any
		check func(t *testing.T, out []simResult)
		code  int    // the error's, when the simulation is refused
		msg   string // part of its message
	}{
		{
			name: "a transfer is seen by a call in a later block",
			opts: blocks(
				map[string]any{"calls": calls(transfer)},
				map[string]any{"stateOverrides": reader, "calls": calls(readFresh)},
			),
			check: func(t *testing.T, out []simResult) {
				if len(out) != 2 || uint64(out[0].Number) != base+1 || uint64(out[1].Number) != base+2 {
					t.Fatalf("%d blocks, want %d and %d", len(out), base+1, base+2)
				}
				if out[0].ParentHash != baseBlock.Hash || out[1].ParentHash != out[0].Hash {
					t.Fatalf("parent hashes %v %v, want %v %v", out[0].ParentHash, out[1].ParentHash, baseBlock.Hash, out[0].Hash)
				}
				if uint64(out[0].Timestamp) != uint64(baseBlock.Timestamp)+12 || uint64(out[1].Timestamp) != uint64(baseBlock.Timestamp)+24 {
					t.Fatalf("timestamps %d %d, base %d", out[0].Timestamp, out[1].Timestamp, baseBlock.Timestamp)
				}
				c := out[0].Calls[0]
				if c.Status != 1 || c.GasUsed != 21_000 || c.Error != nil || out[0].GasUsed != 21_000 || len(c.Logs) != 0 {
					t.Fatalf("transfer: %+v, block gas %d", c, out[0].GasUsed)
				}
				if got := new(big.Int).SetBytes(out[1].Calls[0].ReturnData); got.Int64() != 1000 {
					t.Fatalf("balance in the next block %v, want 1000", got)
				}
				if out[0].BaseFee == nil || out[0].BaseFee.ToInt().Sign() != 0 {
					t.Fatalf("base fee without validation %v, want 0", out[0].BaseFee)
				}
			},
		},
		{
			name: "calls in one block see each other, state overrides stay for later blocks",
			opts: blocks(
				map[string]any{"stateOverrides": map[string]any{fresh.Hex(): map[string]any{"balance": "0x5"}, readerAt.Hex(): map[string]any{"code": balanceOf}},
					"calls": calls(readFresh, transfer, readFresh)},
				map[string]any{"calls": calls(readFresh)},
			),
			check: func(t *testing.T, out []simResult) {
				for i, want := range []int64{5, 1005} {
					if got := new(big.Int).SetBytes(out[0].Calls[2*i].ReturnData); got.Int64() != want {
						t.Fatalf("call %d read %v, want %d", 2*i, got, want)
					}
				}
				if got := new(big.Int).SetBytes(out[1].Calls[0].ReturnData); got.Int64() != 1005 {
					t.Fatalf("next block read %v, want 1005", got)
				}
			},
		},
		{
			name: "a withdrawal pays its amount in gwei",
			opts: blocks(
				map[string]any{"blockOverrides": map[string]any{"withdrawals": []map[string]any{{"index": "0x0", "validatorIndex": "0x1", "address": fresh, "amount": "0x2"}}}},
				map[string]any{"stateOverrides": reader, "calls": calls(readFresh)},
			),
			check: func(t *testing.T, out []simResult) {
				if got := new(big.Int).SetBytes(out[1].Calls[0].ReturnData); got.Int64() != 2_000_000_000 {
					t.Fatalf("balance after the withdrawal %v, want 2 gwei", got)
				}
			},
		},
		{
			name: "block overrides reach NUMBER and TIMESTAMP; gaps are filled",
			opts: blocks(map[string]any{
				"blockOverrides": map[string]any{"number": hexutil.Uint64(base + 10), "time": hexutil.Uint64(uint64(baseBlock.Timestamp) + 500), "feeRecipient": common.Address{0xfe}, "gasLimit": "0x1000000"},
				"stateOverrides": map[string]any{readerAt.Hex(): map[string]any{"code": numberTime}},
				"calls":          calls(map[string]any{"from": alice, "to": readerAt}),
			}),
			check: func(t *testing.T, out []simResult) {
				if len(out) != 10 {
					t.Fatalf("%d blocks, want 10 (9 filling the gap)", len(out))
				}
				for i, b := range out[:9] {
					if uint64(b.Number) != base+1+uint64(i) || len(b.Calls) != 0 || uint64(b.Timestamp) != uint64(baseBlock.Timestamp)+12*uint64(i+1) {
						t.Fatalf("gap block %d: number %d, time %d, %d calls", i, b.Number, b.Timestamp, len(b.Calls))
					}
				}
				last := out[9]
				ret := last.Calls[0].ReturnData
				if len(ret) != 64 || new(big.Int).SetBytes(ret[:32]).Uint64() != base+10 || new(big.Int).SetBytes(ret[32:]).Uint64() != uint64(baseBlock.Timestamp)+500 {
					t.Fatalf("NUMBER, TIMESTAMP = %x, want %d, %d", ret, base+10, uint64(baseBlock.Timestamp)+500)
				}
				if last.Miner != (common.Address{0xfe}) || last.GasLimit != 0x1000000 {
					t.Fatalf("miner %v, gas limit %d", last.Miner, last.GasLimit)
				}
			},
		},
		{
			name: "a revert is code 3 with its data, an EVM failure -32015; the simulation goes on",
			opts: blocks(map[string]any{
				"stateOverrides": map[string]any{readerAt.Hex(): map[string]any{"code": revert42}, fresh.Hex(): map[string]any{"code": invalidOp}},
				"calls": calls(map[string]any{"from": alice, "to": readerAt}, map[string]any{"from": alice, "to": fresh, "gas": "0x10000"},
					map[string]any{"from": alice, "to": common.HexToAddress("0xabc"), "value": "0x1"}),
			}),
			check: func(t *testing.T, out []simResult) {
				c := out[0].Calls
				if c[0].Status != 0 || c[0].Error == nil || c[0].Error.Code != 3 || c[0].Error.Message != "execution reverted" ||
					c[0].Error.Data != hexutil.Encode(common.BigToHash(big.NewInt(0x2a)).Bytes()) || len(c[0].ReturnData) != 0 {
					t.Fatalf("revert: %+v %+v", c[0], c[0].Error)
				}
				if c[1].Status != 0 || c[1].Error == nil || c[1].Error.Code != -32015 || !strings.Contains(c[1].Error.Message, "invalid opcode") || c[1].GasUsed != 0x10000 {
					t.Fatalf("invalid opcode: %+v %+v", c[1], c[1].Error)
				}
				if c[2].Status != 1 || c[2].Error != nil {
					t.Fatalf("the call after them: %+v", c[2])
				}
			},
		},
		{
			name: "traceTransfers logs the transfer, with the block's positions",
			opts: map[string]any{"traceTransfers": true, "blockStateCalls": []map[string]any{{
				"calls": calls(map[string]any{"from": alice, "to": nodetest.Logger}, transfer),
			}}},
			check: func(t *testing.T, out []simResult) {
				b := out[0]
				if len(b.Calls[0].Logs) != 1 || len(b.Calls[1].Logs) != 1 {
					t.Fatalf("logs %+v", b.Calls)
				}
				l := b.Calls[1].Logs[0]
				wantTopics := []common.Hash{crypto.Keccak256Hash([]byte("Transfer(address,address,uint256)")), common.BytesToHash(alice.Bytes()), common.BytesToHash(fresh.Bytes())}
				if l.Address != common.HexToAddress("0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE") || len(l.Topics) != 3 ||
					l.Topics[0] != wantTopics[0] || l.Topics[1] != wantTopics[1] || l.Topics[2] != wantTopics[2] ||
					new(big.Int).SetBytes(l.Data).Int64() != 1000 {
					t.Fatalf("transfer log %+v", l)
				}
				if l.BlockNumber != base+1 || l.BlockHash != b.Hash || l.TxIndex != 1 || l.Index != 1 || l.TxHash == (common.Hash{}) {
					t.Fatalf("transfer log at block %d %v tx %d index %d, want %d %v 1 1", l.BlockNumber, l.BlockHash, l.TxIndex, l.Index, base+1, b.Hash)
				}
				if logged := b.Calls[0].Logs[0]; logged.Address != nodetest.Logger || logged.Index != 0 || logged.BlockHash != b.Hash {
					t.Fatalf("the Logger's log %+v", logged)
				}
			},
		},
		{
			name: "without traceTransfers, no transfer logs; full transactions carry their sender",
			opts: map[string]any{"returnFullTransactions": true, "blockStateCalls": []map[string]any{{"calls": calls(transfer)}}},
			check: func(t *testing.T, out []simResult) {
				if len(out[0].Calls[0].Logs) != 0 || len(out[0].Transactions) != 1 {
					t.Fatalf("%+v", out[0])
				}
				var tx struct {
					From common.Address `json:"from"`
					To   common.Address `json:"to"`
				}
				if err := json.Unmarshal(out[0].Transactions[0], &tx); err != nil || tx.From != alice || tx.To != fresh {
					t.Fatalf("transaction %s: %v", out[0].Transactions[0], err)
				}
			},
		},
		{
			name: "validation refuses a wrong nonce",
			opts: map[string]any{"validation": true, "blockStateCalls": []map[string]any{{"calls": calls(map[string]any{
				"from": alice, "to": fresh, "nonce": "0x63", "gas": "0x5208", "maxFeePerGas": "0x2540be400"})}}},
			code: -38011, msg: "nonce too high",
		},
		{
			name: "validation refuses a fee below the base fee",
			opts: map[string]any{"validation": true, "blockStateCalls": []map[string]any{{"calls": calls(map[string]any{"from": alice, "to": fresh, "gas": "0x5208"})}}},
			code: -38012, msg: "max fee per gas less than block base fee",
		},
		{
			name: "validation passes a right transaction, with the base fee of the next block",
			opts: map[string]any{"validation": true, "blockStateCalls": []map[string]any{{"calls": calls(map[string]any{
				"from": alice, "to": fresh, "gas": "0x5208", "maxFeePerGas": "0x2540be400", "value": "0x1"})}}},
			check: func(t *testing.T, out []simResult) {
				if out[0].Calls[0].Status != 1 || out[0].BaseFee == nil || out[0].BaseFee.ToInt().Sign() == 0 {
					t.Fatalf("%+v base fee %v", out[0].Calls[0], out[0].BaseFee)
				}
			},
		},
		{
			name: "more gas than the block has",
			opts: blocks(map[string]any{"blockOverrides": map[string]any{"gasLimit": "0x10000"}, "calls": calls(map[string]any{"from": alice, "to": fresh, "gas": "0x20000"})}),
			code: -38015, msg: "block gas limit reached",
		},
		{
			name: "block numbers must increase",
			opts: blocks(map[string]any{"blockOverrides": map[string]any{"number": hexutil.Uint64(base + 3)}}, map[string]any{"blockOverrides": map[string]any{"number": hexutil.Uint64(base + 2)}}),
			code: -38020, msg: "block numbers must be in order",
		},
		{
			name: "timestamps must increase",
			opts: blocks(map[string]any{"blockOverrides": map[string]any{"time": hexutil.Uint64(uint64(baseBlock.Timestamp))}}),
			code: -38021, msg: "block timestamps must be in order",
		},
		{
			name: "at most 256 blocks past the base",
			opts: blocks(map[string]any{"blockOverrides": map[string]any{"number": hexutil.Uint64(base + 257)}}),
			code: -38026, msg: "too many blocks",
		},
		{
			name: "an unknown override key",
			opts: blocks(map[string]any{"blockOverrides": map[string]any{"nubmer": "0x1"}}),
			code: -32602, msg: `unknown field "nubmer" in block override`,
		},
		{
			name: "empty input",
			opts: blocks(),
			code: -32602, msg: "empty input",
		},
	}
	// More than 256 blocks.
	many := make([]map[string]any, 257)
	for i := range many {
		many[i] = map[string]any{}
	}
	cases = append(cases, struct {
		name  string
		opts  map[string]any
		check func(t *testing.T, out []simResult)
		code  int
		msg   string
	}{name: "257 blocks", opts: blocks(many...), code: -38026, msg: "too many blocks"})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := simulate(c.opts)
			if c.code != 0 {
				wantRPCError(t, c.name, err, c.code, c.msg)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, out)
		})
	}
}

func TestSimulateV1GasCap(t *testing.T) {
	h := newHarnessWith(t, rpc.Config{GasCap: 50_000})
	ctx := h.ctx()
	alice := addr(h.b.keys[0])
	// An endless loop: it burns whatever gas it gets, which the cap bounds
	// across all the calls.
	loop := map[string]any{readerAt.Hex(): map[string]any{"code": "0x5b600056"}} // JUMPDEST PUSH1 0 JUMP
	call := map[string]any{"from": alice, "to": readerAt}
	var out []simResult
	err := h.raw.CallContext(ctx, &out, "eth_simulateV1", map[string]any{"blockStateCalls": []map[string]any{{"stateOverrides": loop, "calls": []any{call}}}}, "latest")
	if err != nil {
		t.Fatal(err)
	}
	c := out[0].Calls[0]
	if c.GasUsed != 50_000 || c.Error == nil || c.Error.Code != -32015 || !strings.Contains(c.Error.Message, "capped by the RPC server's global gas cap") {
		t.Fatalf("capped call: %+v %+v", c, c.Error)
	}
	// The budget is spent: a second call gets nothing.
	err = h.raw.CallContext(ctx, &out, "eth_simulateV1", map[string]any{"blockStateCalls": []map[string]any{{"stateOverrides": loop, "calls": []any{call, call}}}}, "latest")
	wantRPCError(t, "a second call past the cap", err, -38013, "intrinsic gas too low")
}
