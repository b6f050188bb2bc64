package rpc

import (
	"bytes"
	"encoding/json"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/holiman/uint256"
	"github.com/meganode/meganode/node/chain"
)

func word(n int64) []byte { return common.BigToHash(big.NewInt(n)).Bytes() }

func TestUnpackRevert(t *testing.T) {
	errData := func(off, n int64, s string) []byte {
		out := append(bytes.Clone(errorSelector), word(off)...)
		out = append(out, word(n)...)
		w := make([]byte, 32)
		copy(w, s)
		return append(out, w...)
	}
	huge := append(bytes.Clone(errorSelector), bytes.Repeat([]byte{0xff}, 96)...)
	for _, c := range []struct {
		data []byte
		want string
		ok   bool
	}{
		{errData(32, 4, "boom"), "boom", true},
		{errData(32, 0, ""), "", true},
		{errData(32, 33, "boom"), "", false}, // longer than the data
		{errData(64, 4, "boom"), "", false},  // offset past the end
		{huge, "", false},
		{errData(32, 4, "boom")[:40], "", false},
		{append(bytes.Clone(panicSelector), word(0x11)...), "arithmetic underflow or overflow", true},
		{append(bytes.Clone(panicSelector), word(0x99)...), "unknown panic code: 0x99", true},
		{panicSelector, "", false},
		{[]byte{1, 2, 3}, "", false},
		{nil, "", false},
	} {
		got, ok := unpackRevert(c.data)
		if got != c.want || ok != c.ok {
			t.Errorf("%x: %q %v, want %q %v", c.data, got, ok, c.want, c.ok)
		}
	}
	e := revertError(errData(32, 4, "boom")).(*rpcError)
	if e.code != 3 || e.msg != "execution reverted: boom" {
		t.Fatalf("revert error %+v", e)
	}
	if e := revertError(nil).(*rpcError); e.msg != "execution reverted" || e.data != "0x" {
		t.Fatalf("empty revert %+v", e)
	}
}

func TestStateChangesJSON(t *testing.T) {
	a, b, c := common.Address{1}, common.Address{2}, common.Address{3}
	mb := &chain.MiniBlock{Header: chain.MiniBlockHeader{Number: 9, BlockNumber: 2}, Diff: &chain.Diff{Accounts: []chain.AccountDiff{
		{Address: a, Flags: chain.SetNonce | chain.SetBalance, Nonce: 4, Balance: *uint256.NewInt(100),
			Storage: []chain.Slot{{Key: common.Hash{1}, Value: common.Hash{2}}}},
		{Address: b, Flags: chain.Deleted},
		{Address: c, Flags: chain.Reset | chain.SetCode, Code: []byte{0x00}},
	}}}
	out, err := json.Marshal(marshalStateChanges(mb))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		MiniBlockNumber string
		Accounts        []map[string]any
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if got.MiniBlockNumber != "0x9" || len(got.Accounts) != 3 {
		t.Fatalf("%s", out)
	}
	if x := got.Accounts[0]; x["nonce"] != "0x4" || x["balance"] != "0x64" || x["codeHash"] != nil || x["storage"] == nil {
		t.Fatalf("changed account: %v", x)
	}
	if x := got.Accounts[1]; x["deleted"] != true || x["nonce"] != nil {
		t.Fatalf("deleted account: %v", x)
	}
	if x := got.Accounts[2]; x["reset"] != true || x["nonce"] != "0x0" || x["balance"] != "0x0" || x["codeHash"] == types.EmptyCodeHash.Hex() {
		t.Fatalf("reset account: %v", x)
	}
}
