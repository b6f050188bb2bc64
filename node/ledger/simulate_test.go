package ledger_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/exec"
	"github.com/meganode/meganode/node/internal/chaintest"
	"github.com/meganode/meganode/node/ledger"
)

// simulate asks the stream's sequencer for eth_simulateV1 of opts at tag.
func simulate(t *testing.T, s *chaintest.Stream, opts string, tag api.Tag) *api.Answer {
	t.Helper()
	return ask(t, s, &api.Call{Method: api.MethodSimulate, Data: []byte(opts), Tag: tag})
}

// decodeSimulated decodes a simulation's answer: its blocks and results.
func decodeSimulated(t *testing.T, a *api.Answer) ([]*types.Block, []ledger.SimulatedBlock) {
	t.Helper()
	if a.Err != nil {
		t.Fatalf("simulation failed: %v (%s)", a.Err, a.Value)
	}
	var out []ledger.SimulatedBlock
	if err := json.Unmarshal(a.Value, &out); err != nil {
		t.Fatal(err)
	}
	blocks := make([]*types.Block, len(out))
	for i, sb := range out {
		blocks[i] = new(types.Block)
		if err := rlp.DecodeBytes(sb.Block, blocks[i]); err != nil {
			t.Fatal(err)
		}
		if len(sb.Senders) != len(blocks[i].Transactions()) || len(sb.Calls) != len(sb.Senders) {
			t.Fatalf("block %d: %d transactions, %d senders, %d calls", i, len(blocks[i].Transactions()), len(sb.Senders), len(sb.Calls))
		}
	}
	return blocks, out
}

// blockHashCode returns BLOCKHASH(NUMBER - 1).
const blockHashCode = "0x43600190034060005260206000f3"

func TestSimulateBlocksChainOnTheBase(t *testing.T) {
	s, l := produceChain(t)
	from := crypto.PubkeyToAddress(s.Keys[0].PublicKey)
	reader := common.HexToAddress("0xb10c")
	opts := `{"blockStateCalls":[
		{"stateOverrides":{"` + reader.Hex() + `":{"code":"` + blockHashCode + `"}},"calls":[{"from":"` + from.Hex() + `","to":"` + reader.Hex() + `"}]},
		{"calls":[{"from":"` + from.Hex() + `","to":"` + reader.Hex() + `"},{"from":"` + from.Hex() + `","to":"0x00000000000000000000000000000000000000aa","value":"0x7"}]}]}`
	for _, tc := range []struct {
		name string
		tag  api.Tag
		base uint64 // the number of the block the simulation builds on
	}{
		{"latest", api.Latest, l.Safe().Header.Number.Uint64()},
		{"block 2", api.AtBlock(2), 2},
		{"pending", api.Pending, l.Safe().Header.Number.Uint64() + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := simulate(t, s, opts, tc.tag)
			blocks, res := decodeSimulated(t, a)
			if len(blocks) != 2 || blocks[0].NumberU64() != tc.base+1 || blocks[1].NumberU64() != tc.base+2 {
				t.Fatalf("%d blocks from %d, want 2 from %d", len(blocks), blocks[0].NumberU64(), tc.base+1)
			}
			if blocks[1].ParentHash() != blocks[0].Hash() {
				t.Fatal("the second block's parent is not the first")
			}
			if tc.tag.Kind != api.TagPending {
				want := l.View().BlockHash(tc.base)
				if blocks[0].ParentHash() != want {
					t.Fatalf("parent %v, want block %d's %v", blocks[0].ParentHash(), tc.base, want)
				}
				// BLOCKHASH of the base is the chain's.
				if got := common.BytesToHash(res[0].Calls[0].ReturnValue); got != want {
					t.Fatalf("BLOCKHASH(base) = %v, want %v", got, want)
				}
			}
			// BLOCKHASH of a simulated block is its hash.
			if got := common.BytesToHash(res[1].Calls[0].ReturnValue); got != blocks[0].Hash() {
				t.Fatalf("BLOCKHASH(first simulated) = %v, want %v", got, blocks[0].Hash())
			}
			if res[1].Senders[1] != from || blocks[1].Transactions()[1].Value().Int64() != 7 || blocks[1].GasUsed() != uint64(res[1].Calls[0].GasUsed+res[1].Calls[1].GasUsed) {
				t.Fatalf("second block: senders %v, gas used %d", res[1].Senders, blocks[1].GasUsed())
			}
			if blocks[0].Root() != (common.Hash{}) || blocks[0].ReceiptHash() == types.EmptyReceiptsHash {
				t.Fatalf("state root %v (not computed: zero), receipts root %v", blocks[0].Root(), blocks[0].ReceiptHash())
			}
		})
	}
}

func TestSimulateRefusalsCarryGethCodes(t *testing.T) {
	s, _ := produceChain(t)
	from := crypto.PubkeyToAddress(s.Keys[1].PublicKey)
	call := func(extra string) string {
		return `{"from":"` + from.Hex() + `","to":"0x00000000000000000000000000000000000000aa"` + extra + `}`
	}
	for _, tc := range []struct {
		name string
		opts string
		kind api.Kind
		code int // 0: no code of go-ethereum's simulation
		msg  string
	}{
		{"nonce too low", `{"validation":true,"blockStateCalls":[{"calls":[` + call(`,"nonce":"0x0","gas":"0x5208","maxFeePerGas":"0x2540be400"`) + `]}]}`,
			api.KindNonceTooLow, -38010, "nonce too low"},
		{"insufficient funds", `{"blockStateCalls":[{"calls":[` + call(`,"value":"0xffffffffffffffffffffffffffffffff"`) + `]}]}`,
			api.KindInsufficientFunds, -38014, "insufficient funds"},
		{"decreasing numbers", `{"blockStateCalls":[{"blockOverrides":{"number":"0x100"}},{"blockOverrides":{"number":"0x10"}}]}`,
			api.KindInvalidInput, -38020, "block numbers must be in order"},
		{"too many blocks", `{"blockStateCalls":[` + strings.Repeat(`{},`, ledger.MaxSimulateBlocks) + `{}]}`,
			api.KindInvalidInput, -38026, "too many blocks"},
		{"both state and stateDiff", `{"blockStateCalls":[{"stateOverrides":{"0x00000000000000000000000000000000000000aa":{"state":{},"stateDiff":{}}}}]}`,
			api.KindInvalidTx, 0, "has both 'state' and 'stateDiff'"},
		{"not JSON", `{"blockStateCalls":`, api.KindInvalidInput, 0, "invalid argument 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := simulate(t, s, tc.opts, api.Latest)
			mustFail(t, a, tc.kind, tc.msg)
			if tc.code == 0 {
				if len(a.Value) != 0 {
					t.Fatalf("a code in %s", a.Value)
				}
				return
			}
			var se ledger.SimError
			if err := json.Unmarshal(a.Value, &se); err != nil || se.Code != tc.code || se.Message != a.Err.Message {
				t.Fatalf("code %+v (%v), want %d", se, err, tc.code)
			}
		})
	}
}

func TestSimulateStopsAtTheDeadline(t *testing.T) {
	s, l := produceChain(t)
	ex, err := exec.New(exec.Config{Chain: s.Gen.Config})
	if err != nil {
		t.Fatal(err)
	}
	// Endless loops, 50M gas of them.
	loop := common.HexToAddress("0x100f")
	opts := `{"blockStateCalls":[{"stateOverrides":{"` + loop.Hex() + `":{"code":"0x5b600056"}},"calls":[{"to":"` + loop.Hex() + `"},{"to":"` + loop.Hex() + `"}]}]}`
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	a := l.View().Serve(ctx, ex, &api.Call{Method: api.MethodSimulate, Data: []byte(opts), Tag: api.Latest})
	mustFail(t, a, api.KindTimeout, "deadline")
	// Without a deadline one runs to the gas budget (c.Gas), capped; a
	// second gets no gas left.
	one := `{"blockStateCalls":[{"stateOverrides":{"` + loop.Hex() + `":{"code":"0x5b600056"}},"calls":[{"to":"` + loop.Hex() + `"}]}]}`
	a = l.View().Serve(context.Background(), ex, &api.Call{Method: api.MethodSimulate, Data: []byte(one), Tag: api.Latest, Gas: 1_000_000})
	_, res := decodeSimulated(t, a)
	if c := res[0].Calls[0]; c.GasUsed != 1_000_000 || c.Error == nil || !strings.Contains(c.Error.Message, "capped by the RPC server's global gas cap") {
		t.Fatalf("capped call %+v", c)
	}
	a = l.View().Serve(context.Background(), ex, &api.Call{Method: api.MethodSimulate, Data: []byte(opts), Tag: api.Latest, Gas: 1_000_000})
	mustFail(t, a, api.KindIntrinsicGas, "intrinsic gas too low")
}
