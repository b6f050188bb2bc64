package rpc_test

import (
	"encoding/json"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/meganode/meganode/node/rpc"
)

// The block helpers agree with eth_getBlockByNumber/Hash on the same
// sealed block, and answer null (or empty) where geth does.
func TestBlockHelpers(t *testing.T) {
	h := newHarness(t)
	ctx := h.ctx()
	alice, bob := h.b.keys[0], h.b.keys[1]
	deploy := h.send(h.tx(alice, nil, new(big.Int), 200_000, deployCode(runtime)))
	// Two transactions in one block: a transfer and a call that logs.
	t1, t2 := h.tx(bob, ptr(addr(alice)), big.NewInt(7), 21_000, nil), h.tx(alice, &deploy.ContractAddress, new(big.Int), 100_000, common.Hash{31: 9}.Bytes())
	for _, tx := range []*types.Transaction{t1, t2} {
		if err := h.ec.SendTransaction(ctx, tx); err != nil {
			t.Fatal(err)
		}
	}
	r1, r2 := h.receipt(t1.Hash()), h.receipt(t2.Hash())
	n := max(r1.BlockNumber.Uint64(), r2.BlockNumber.Uint64())
	h.sealed(n)
	block, err := h.ec.BlockByNumber(ctx, new(big.Int).SetUint64(n))
	if err != nil {
		t.Fatal(err)
	}
	num, hash := hexutil.Uint64(n), block.Hash()
	txs := block.Transactions()
	if len(txs) == 0 {
		t.Fatal("the block holds no transactions")
	}
	last := hexutil.Uint(len(txs) - 1)
	raw, err := txs[last].MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	call := func(method string, args ...any) json.RawMessage {
		t.Helper()
		var out json.RawMessage
		if err := h.raw.CallContext(ctx, &out, method, args...); err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		return out
	}
	str := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	count := str(hexutil.Uint(len(txs)))
	for _, c := range []struct {
		method string
		args   []any
		want   string // the JSON answer, or "" to check with check
		check  func(json.RawMessage) bool
	}{
		{"eth_getBlockTransactionCountByNumber", []any{num}, count, nil},
		{"eth_getBlockTransactionCountByHash", []any{hash}, count, nil},
		{"eth_getBlockTransactionCountByNumber", []any{hexutil.Uint64(1 << 40)}, "null", nil},
		{"eth_getBlockTransactionCountByHash", []any{common.Hash{1}}, "null", nil},
		{"eth_getTransactionByBlockNumberAndIndex", []any{num, last}, "", func(m json.RawMessage) bool { return txAt(m, txs[last].Hash(), hash) }},
		{"eth_getTransactionByBlockHashAndIndex", []any{hash, last}, "", func(m json.RawMessage) bool { return txAt(m, txs[last].Hash(), hash) }},
		{"eth_getTransactionByBlockNumberAndIndex", []any{num, last + 1}, "null", nil},
		{"eth_getRawTransactionByBlockNumberAndIndex", []any{num, last}, str(hexutil.Bytes(raw)), nil},
		{"eth_getRawTransactionByBlockHashAndIndex", []any{hash, last}, str(hexutil.Bytes(raw)), nil},
		{"eth_getRawTransactionByHash", []any{txs[last].Hash()}, str(hexutil.Bytes(raw)), nil},
		{"eth_getRawTransactionByHash", []any{common.Hash{2}}, `"0x"`, nil},
		{"eth_getHeaderByNumber", []any{num}, "", func(m json.RawMessage) bool { return headerHash(m) == hash }},
		{"eth_getHeaderByHash", []any{hash}, "", func(m json.RawMessage) bool { return headerHash(m) == hash }},
		{"eth_getHeaderByNumber", []any{"latest"}, "", func(m json.RawMessage) bool { return headerHash(m) != common.Hash{} }},
		{"eth_getHeaderByHash", []any{common.Hash{3}}, "null", nil},
		{"eth_getUncleCountByBlockNumber", []any{num}, `"0x0"`, nil},
		{"eth_getUncleCountByBlockHash", []any{hash}, `"0x0"`, nil},
		{"eth_getUncleCountByBlockHash", []any{common.Hash{4}}, "null", nil},
		{"eth_getUncleByBlockNumberAndIndex", []any{num, hexutil.Uint(0)}, "null", nil},
		{"eth_getUncleByBlockHashAndIndex", []any{hash, hexutil.Uint(0)}, "null", nil},
		{"eth_accounts", nil, "[]", nil},
		{"net_peerCount", nil, `"0x0"`, nil},
		{"eth_blobBaseFee", nil, `"0x1"`, nil},
		{"eth_getBlockReceipts", []any{hexutil.Uint64(1 << 40)}, "null", nil},
	} {
		got := call(c.method, c.args...)
		if c.check != nil {
			if !c.check(got) {
				t.Errorf("%s%v: %s", c.method, c.args, got)
			}
		} else if string(got) != c.want {
			t.Errorf("%s%v: %s, want %s", c.method, c.args, got, c.want)
		}
	}

	// eth_getBlockReceipts, by number and by hash: the block's receipts in
	// order, whose root is the header's receipts root.
	for _, bnh := range []gethrpc.BlockNumberOrHash{gethrpc.BlockNumberOrHashWithNumber(gethrpc.BlockNumber(n)), gethrpc.BlockNumberOrHashWithHash(hash, false)} {
		rs, err := h.ec.BlockReceipts(ctx, bnh)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != len(txs) {
			t.Fatalf("%d receipts for %d transactions", len(rs), len(txs))
		}
		for i, r := range rs {
			if r.TxHash != txs[i].Hash() || r.BlockHash != hash || r.TransactionIndex != uint(i) {
				t.Fatalf("receipt %d: %+v", i, r)
			}
		}
		if root := types.DeriveSha(types.Receipts(rs), trie.NewStackTrie(nil)); root != block.ReceiptHash() {
			t.Fatalf("receipts root %v, header says %v", root, block.ReceiptHash())
		}
	}

	// eth_feeHistory carries the blob fields: one blob base fee per block
	// and the next, one ratio per block.
	var fh struct {
		BaseFee     []*hexutil.Big `json:"baseFeePerGas"`
		BlobBaseFee []*hexutil.Big `json:"baseFeePerBlobGas"`
		BlobRatio   []float64      `json:"blobGasUsedRatio"`
		Ratio       []float64      `json:"gasUsedRatio"`
	}
	if err := h.raw.CallContext(ctx, &fh, "eth_feeHistory", "0x2", "latest", []float64{}); err != nil {
		t.Fatal(err)
	}
	if len(fh.Ratio) == 0 || len(fh.BlobBaseFee) != len(fh.BaseFee) || len(fh.BlobRatio) != len(fh.Ratio) || fh.BlobBaseFee[0].ToInt().Int64() != 1 {
		t.Fatalf("fee history %+v", fh)
	}
}

// net_peerCount reports what a backend that counts its peers says.
func TestPeerCount(t *testing.T) {
	client := serve(t, peered{newSeqBackend(t)}, rpc.Config{})
	var got hexutil.Uint
	if err := client.Call(&got, "net_peerCount"); err != nil || got != 5 {
		t.Fatalf("net_peerCount %v %v, want 5", got, err)
	}
}

type peered struct{ *seqBackend }

func (peered) PeerCount() int { return 5 }

func txAt(m json.RawMessage, want, block common.Hash) bool {
	var tx struct {
		Hash      common.Hash  `json:"hash"`
		BlockHash *common.Hash `json:"blockHash"`
	}
	return json.Unmarshal(m, &tx) == nil && tx.Hash == want && tx.BlockHash != nil && *tx.BlockHash == block
}

func headerHash(m json.RawMessage) common.Hash {
	var head types.Header
	if json.Unmarshal(m, &head) != nil {
		return common.Hash{}
	}
	var named struct {
		Hash common.Hash `json:"hash"`
	}
	if json.Unmarshal(m, &named) != nil || named.Hash != head.Hash() {
		return common.Hash{} // the hash given is not the fields' hash
	}
	return head.Hash()
}
