package rpc_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	ethereum "github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/ethereum/go-ethereum/trie"
	"github.com/meganode/meganode/node/internal/nodetest"
	"github.com/meganode/meganode/node/rpc"
)

// harness is a server over a ticking sequencer, and clients of it.
type harness struct {
	t      *testing.T
	b      *seqBackend
	srv    *rpc.Server
	http   *httptest.Server
	ec     *ethclient.Client
	raw    *gethrpc.Client
	signer types.Signer
	nonces map[common.Address]uint64
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, rpc.Config{ClientVersion: "meganode/test"})
}

// newHarnessWith is newHarness with a server configured by cfg.
func newHarnessWith(t *testing.T, cfg rpc.Config) *harness {
	t.Helper()
	b := newSeqBackend(t)
	srv, hs, raw := serveOn(t, b, cfg)
	return &harness{t: t, b: b, srv: srv, http: hs, ec: ethclient.NewClient(raw), raw: raw,
		signer: types.LatestSignerForChainID(big.NewInt(nodetest.ChainID)), nonces: map[common.Address]uint64{}}
}

// serveOn starts a server over b and returns it, its HTTP server, and a
// client of it; all stop with the test.
func serveOn(t *testing.T, b rpc.Backend, cfg rpc.Config) (*rpc.Server, *httptest.Server, *gethrpc.Client) {
	t.Helper()
	srv, err := rpc.NewServer(b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Stop()
		hs.Close()
	})
	client, err := gethrpc.DialHTTP(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	return srv, hs, client
}

// serve starts a server over b and returns a client of it over HTTP.
func serve(t *testing.T, b rpc.Backend, cfg rpc.Config) *gethrpc.Client {
	t.Helper()
	_, _, client := serveOn(t, b, cfg)
	return client
}

func (h *harness) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	h.t.Cleanup(cancel)
	return ctx
}

func addr(k *ecdsa.PrivateKey) common.Address { return crypto.PubkeyToAddress(k.PublicKey) }

// tx signs a dynamic-fee transaction from key with its next nonce.
func (h *harness) tx(key *ecdsa.PrivateKey, to *common.Address, value *big.Int, gas uint64, data []byte) *types.Transaction {
	from := addr(key)
	tx := types.MustSignNewTx(key, h.signer, &types.DynamicFeeTx{
		ChainID: big.NewInt(nodetest.ChainID), Nonce: h.nonces[from], GasTipCap: big.NewInt(params.GWei),
		GasFeeCap: big.NewInt(10 * params.GWei), Gas: gas, To: to, Value: value, Data: data,
	})
	h.nonces[from]++
	return tx
}

// send sends tx and waits for its receipt.
func (h *harness) send(tx *types.Transaction) *types.Receipt {
	h.t.Helper()
	ctx := h.ctx()
	if err := h.ec.SendTransaction(ctx, tx); err != nil {
		h.t.Fatalf("send: %v", err)
	}
	return h.receipt(tx.Hash())
}

func (h *harness) receipt(hash common.Hash) *types.Receipt {
	h.t.Helper()
	ctx := h.ctx()
	for {
		r, err := h.ec.TransactionReceipt(ctx, hash)
		if err == nil {
			return r
		}
		if !errors.Is(err, ethereum.NotFound) {
			h.t.Fatalf("receipt of %v: %v", hash, err)
		}
		time.Sleep(time.Millisecond)
	}
}

// sealed waits until block n is sealed.
func (h *harness) sealed(n uint64) {
	h.t.Helper()
	ctx := h.ctx()
	for {
		got, err := h.ec.BlockNumber(ctx)
		if err != nil {
			h.t.Fatal(err)
		}
		if got >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// The test contract's runtime: without calldata it returns slot 0; with
// calldata it stores its first word in slot 0 and logs LOG1(topic 0x2a).
var runtime = []byte{
	0x36, 0x60, 0x0f, 0x57, // CALLDATASIZE PUSH1 15 JUMPI
	0x60, 0x00, 0x54, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3, // MSTORE(0, SLOAD(0)) RETURN(0, 32)
	0x5b, 0x60, 0x00, 0x35, 0x60, 0x00, 0x55, // JUMPDEST SSTORE(0, CALLDATALOAD(0))
	0x60, 0x2a, 0x60, 0x00, 0x60, 0x00, 0xa1, 0x00, // LOG1(0, 0, 0x2a) STOP
}

// deployCode returns init code that deploys code.
func deployCode(code []byte) []byte {
	init := []byte{0x60, byte(len(code)), 0x80, 0x60, 12, 0x60, 0x00, 0x39, 0x60, 0x00, 0xf3, 0x00} // CODECOPY(0, 12, len) RETURN(0, len)
	return append(init, code...)
}

// revertCode returns init code that reverts with data.
func revertCode(data []byte) []byte {
	var code []byte
	padded := append(bytes.Clone(data), make([]byte, (32-len(data)%32)%32)...)
	for i := 0; i < len(padded); i += 32 {
		code = append(code, 0x7f) // PUSH32
		code = append(code, padded[i:i+32]...)
		code = append(code, 0x60, byte(i), 0x52) // PUSH1 i MSTORE
	}
	return append(code, 0x60, byte(len(data)), 0x60, 0x00, 0xfd) // REVERT(0, len)
}

// errorData is the ABI encoding of Error(reason).
func errorData(reason string) []byte {
	out := []byte{0x08, 0xc3, 0x79, 0xa0}
	out = append(out, common.BigToHash(big.NewInt(32)).Bytes()...)
	out = append(out, common.BigToHash(big.NewInt(int64(len(reason)))).Bytes()...)
	word := make([]byte, 32)
	copy(word, reason)
	return append(out, word...)
}

func TestEthclient(t *testing.T) {
	h := newHarness(t)
	ctx := h.ctx()
	if id, err := h.ec.ChainID(ctx); err != nil || id.Uint64() != nodetest.ChainID {
		t.Fatalf("chain id %v %v", id, err)
	}
	if id, err := h.ec.NetworkID(ctx); err != nil || id.Uint64() != nodetest.ChainID {
		t.Fatalf("network id %v %v", id, err)
	}
	var version string
	if err := h.raw.CallContext(ctx, &version, "web3_clientVersion"); err != nil || version != "meganode/test" {
		t.Fatalf("client version %q %v", version, err)
	}
	alice, bob := h.b.keys[0], h.b.keys[1]
	before, err := h.ec.BalanceAt(ctx, addr(bob), nil)
	if err != nil {
		t.Fatal(err)
	}

	// A transfer.
	transfer := h.tx(alice, ptr(addr(bob)), big.NewInt(12345), 21_000, nil)
	r := h.send(transfer)
	if r.Status != types.ReceiptStatusSuccessful || r.GasUsed != 21_000 || r.TxHash != transfer.Hash() || r.BlockNumber == nil {
		t.Fatalf("transfer receipt %+v", r)
	}
	after, err := h.ec.BalanceAt(ctx, addr(bob), nil)
	if err != nil || new(big.Int).Sub(after, before).Int64() != 12345 {
		t.Fatalf("bob's balance %v -> %v (%v)", before, after, err)
	}
	got, pending, err := h.ec.TransactionByHash(ctx, transfer.Hash())
	if err != nil || pending || got.Hash() != transfer.Hash() {
		t.Fatalf("transaction by hash: %v pending %v: %v", got, pending, err)
	}
	if from, err := types.Sender(h.signer, got); err != nil || from != addr(alice) {
		t.Fatalf("sender %v %v", from, err)
	}

	// A deployment.
	deploy := h.tx(alice, nil, new(big.Int), 200_000, deployCode(runtime))
	r = h.send(deploy)
	contract := crypto.CreateAddress(addr(alice), deploy.Nonce())
	if r.Status != types.ReceiptStatusSuccessful || r.ContractAddress != contract {
		t.Fatalf("deployment receipt %+v, want contract %v", r, contract)
	}
	if code, err := h.ec.CodeAt(ctx, contract, nil); err != nil || !bytes.Equal(code, runtime) {
		t.Fatalf("code %x %v", code, err)
	}

	// A store that logs, estimated first.
	value := common.BigToHash(big.NewInt(0xbeef))
	gas, err := h.ec.EstimateGas(ctx, ethereum.CallMsg{From: addr(alice), To: &contract, Data: value.Bytes()})
	if err != nil || gas < 21_000+20_000 || gas > 60_000 {
		t.Fatalf("estimate %d %v", gas, err)
	}
	if g, err := h.ec.EstimateGas(ctx, ethereum.CallMsg{From: addr(alice), To: ptr(addr(bob)), Value: big.NewInt(1)}); err != nil || g != 21_000 {
		t.Fatalf("transfer estimate %d %v", g, err)
	}
	store := h.tx(alice, &contract, new(big.Int), gas, value.Bytes())
	r = h.send(store)
	if r.Status != types.ReceiptStatusSuccessful || len(r.Logs) != 1 || r.Logs[0].Address != contract || r.Logs[0].TxHash != store.Hash() {
		t.Fatalf("store receipt %+v", r)
	}
	if slot, err := h.ec.StorageAt(ctx, contract, common.Hash{}, nil); err != nil || common.BytesToHash(slot) != value {
		t.Fatalf("slot 0: %x %v", slot, err)
	}
	if out, err := h.ec.CallContract(ctx, ethereum.CallMsg{To: &contract}, nil); err != nil || common.BytesToHash(out) != value {
		t.Fatalf("call: %x %v", out, err)
	}
	if n, err := h.ec.NonceAt(ctx, addr(alice), nil); err != nil || n != 3 {
		t.Fatalf("nonce %d %v", n, err)
	}

	// Logs, by range and by block hash once sealed.
	logs, err := h.ec.FilterLogs(ctx, ethereum.FilterQuery{FromBlock: r.BlockNumber, Addresses: []common.Address{contract}})
	if err != nil || len(logs) != 1 || logs[0].TxHash != store.Hash() || logs[0].Topics[0] != common.BigToHash(big.NewInt(0x2a)) {
		t.Fatalf("logs %+v %v", logs, err)
	}
	h.sealed(r.BlockNumber.Uint64())
	r = h.receipt(store.Hash())
	if r.BlockHash == (common.Hash{}) {
		t.Fatal("a sealed block's receipt has no block hash")
	}
	logs, err = h.ec.FilterLogs(ctx, ethereum.FilterQuery{BlockHash: &r.BlockHash})
	if err != nil || len(logs) != 1 || logs[0].BlockHash != r.BlockHash || logs[0].Index != r.Logs[0].Index {
		t.Fatalf("logs by hash %+v %v", logs, err)
	}

	// The sealed block: its hash verifies, and it holds the transaction.
	block, err := h.ec.BlockByNumber(ctx, r.BlockNumber)
	if err != nil {
		t.Fatal(err)
	}
	if block.Hash() != r.BlockHash || block.Transaction(store.Hash()) == nil {
		t.Fatalf("block %d: hash %v, receipt says %v", block.NumberU64(), block.Hash(), r.BlockHash)
	}
	if types.DeriveSha(block.Transactions(), trie.NewStackTrie(nil)) != block.TxHash() {
		t.Fatal("the block's transactions do not match its root")
	}
	if hb, err := h.ec.BlockByHash(ctx, r.BlockHash); err != nil || hb.Hash() != r.BlockHash {
		t.Fatalf("block by hash: %v", err)
	}
	header, err := h.ec.HeaderByNumber(ctx, nil)
	if err != nil || header.Number.Uint64() < r.BlockNumber.Uint64() {
		t.Fatalf("latest header %v %v", header, err)
	}
	if hh, err := h.ec.HeaderByHash(ctx, header.Hash()); err != nil || hh.Hash() != header.Hash() {
		t.Fatalf("header by hash: %v", err)
	}
	var rawBlock map[string]any
	if err := h.raw.CallContext(ctx, &rawBlock, "eth_getBlockByNumber", hexutil.EncodeBig(r.BlockNumber), false); err != nil || rawBlock["hash"] != r.BlockHash.Hex() {
		t.Fatalf("raw block: %v %v", rawBlock["hash"], err)
	}
	if bal, err := h.ec.BalanceAt(ctx, addr(bob), r.BlockNumber); err != nil || bal.Cmp(after) != 0 {
		t.Fatalf("balance at block %v: %v %v", r.BlockNumber, bal, err)
	}
	if out, err := h.ec.CallContractAtHash(ctx, ethereum.CallMsg{To: &contract}, r.BlockHash); err != nil || common.BytesToHash(out) != value {
		t.Fatalf("call at hash: %x %v", out, err)
	}
	if b, err := h.ec.BlockByNumber(ctx, big.NewInt(1<<40)); !errors.Is(err, ethereum.NotFound) {
		t.Fatalf("a future block: %v %v", b, err)
	}
	if _, _, err := h.ec.TransactionByHash(ctx, common.Hash{1}); !errors.Is(err, ethereum.NotFound) {
		t.Fatalf("an unknown transaction: %v", err)
	}

	// The genesis block, and the node's own methods.
	if g, err := h.ec.BlockByNumber(ctx, big.NewInt(0)); err != nil || g.Hash() != h.b.genesis {
		t.Fatalf("genesis block: %v", err)
	}
	var head struct {
		MiniBlockNumber hexutil.Uint64
		BlockNumber     hexutil.Uint64
		Safe            hexutil.Uint64
	}
	if err := h.raw.CallContext(ctx, &head, "meganode_head"); err != nil || head.MiniBlockNumber == 0 || uint64(head.Safe) < r.BlockNumber.Uint64() {
		t.Fatalf("meganode_head %+v %v", head, err)
	}
	var mb struct {
		Number       hexutil.Uint64
		Transactions []common.Hash
	}
	if err := h.raw.CallContext(ctx, &mb, "meganode_getMiniBlockByNumber", hexutil.Uint64(1)); err != nil || mb.Number != 1 {
		t.Fatalf("mini-block 1: %+v %v", mb, err)
	}
	var syncing bool
	if err := h.raw.CallContext(ctx, &syncing, "eth_syncing"); err != nil || syncing {
		t.Fatalf("syncing %v %v", syncing, err)
	}

	// Fees.
	price, err := h.ec.SuggestGasPrice(ctx)
	if err != nil || price.Cmp(big.NewInt(params.GWei)) <= 0 {
		t.Fatalf("gas price %v %v", price, err)
	}
	if tip, err := h.ec.SuggestGasTipCap(ctx); err != nil || tip.Int64() != params.GWei {
		t.Fatalf("tip %v %v", tip, err)
	}
	fh, err := h.ec.FeeHistory(ctx, 4, nil, []float64{10, 50, 90})
	if err != nil || len(fh.GasUsedRatio) == 0 || len(fh.GasUsedRatio) > 4 || len(fh.BaseFee) != len(fh.GasUsedRatio)+1 ||
		len(fh.Reward) != len(fh.GasUsedRatio) || len(fh.Reward[0]) != 3 {
		t.Fatalf("fee history %+v %v", fh, err)
	}

	// A call that reverts: code 3, the reason, the data.
	_, err = h.ec.CallContract(ctx, ethereum.CallMsg{Data: revertCode(errorData("boom"))}, nil)
	checkRevert(t, err, "execution reverted: boom", errorData("boom"))
	_, err = h.ec.EstimateGas(ctx, ethereum.CallMsg{Data: revertCode(errorData("boom"))})
	checkRevert(t, err, "execution reverted: boom", errorData("boom"))
	// A call with a value runs when the sender can pay it, and is refused
	// as geth refuses it otherwise.
	rich := addr(h.b.keys[0])
	if _, err := h.ec.CallContract(ctx, ethereum.CallMsg{From: rich, To: &rich, Value: big.NewInt(1)}, nil); err != nil {
		t.Fatalf("a call with a value from a funded account: %v", err)
	}
	// The sequencer does not track finality: the finalized tag says so
	// rather than naming genesis.
	if _, err := h.ec.HeaderByNumber(ctx, big.NewInt(int64(gethrpc.FinalizedBlockNumber))); err == nil || !strings.Contains(err.Error(), "does not track finality") {
		t.Fatalf("finalized on the sequencer: %v", err)
	}
	poor := common.Address{0xde, 0xad}
	if _, err := h.ec.CallContract(ctx, ethereum.CallMsg{From: poor, To: &contract, Value: big.NewInt(1)}, nil); err == nil || !strings.Contains(err.Error(), "insufficient funds") {
		t.Fatalf("a call with a value its sender cannot pay: %v", err)
	}
}

func checkRevert(t *testing.T, err error, msg string, data []byte) {
	t.Helper()
	var re gethrpc.Error
	var de gethrpc.DataError
	if !errors.As(err, &re) || re.ErrorCode() != 3 || err.Error() != msg {
		t.Fatalf("revert: %v (%T)", err, err)
	}
	if !errors.As(err, &de) || de.ErrorData() != hexutil.Encode(data) {
		t.Fatalf("revert data: %v", de)
	}
}

func ptr[T any](v T) *T { return &v }

func TestSendRawTransactionSync(t *testing.T) {
	h := newHarness(t)
	ctx := h.ctx()
	alice, bob := h.b.keys[0], h.b.keys[1]
	for _, method := range []string{"eth_sendRawTransactionSync", "realtime_sendRawTransaction"} {
		for _, timeout := range []any{nil, 5000, "0x1388"} {
			tx := h.tx(alice, ptr(nodetest.Logger), big.NewInt(1), 100_000, nil)
			raw, _ := tx.MarshalBinary()
			args := []any{hexutil.Encode(raw)}
			if timeout != nil {
				args = append(args, timeout)
			}
			var r *types.Receipt
			if err := h.raw.CallContext(ctx, &r, method, args...); err != nil {
				t.Fatalf("%s %v: %v", method, timeout, err)
			}
			if r == nil || r.TxHash != tx.Hash() || r.Status != types.ReceiptStatusSuccessful || len(r.Logs) != 1 {
				t.Fatalf("%s: receipt %+v", method, r)
			}
			var m map[string]any
			if err := h.raw.CallContext(ctx, &m, "eth_getTransactionReceipt", tx.Hash()); err != nil || m["from"] != strings.ToLower(addr(alice).Hex()) {
				t.Fatalf("receipt's from %v, want %v (%v)", m["from"], addr(alice), err)
			}
		}
	}
	// A send that cannot run within its timeout (a nonce gap) gets code 4
	// and the hash.
	h.nonces[addr(bob)] = 3
	gapped := h.tx(bob, ptr(addr(alice)), big.NewInt(1), 21_000, nil)
	raw, _ := gapped.MarshalBinary()
	var r *types.Receipt
	err := h.raw.CallContext(ctx, &r, "eth_sendRawTransactionSync", hexutil.Encode(raw), 50)
	var re gethrpc.Error
	var de gethrpc.DataError
	if !errors.As(err, &re) || re.ErrorCode() != 4 || !errors.As(err, &de) || de.ErrorData() != gapped.Hash().Hex() {
		t.Fatalf("timed-out sync send: %v", err)
	}
}

func TestSubscriptions(t *testing.T) {
	h := newHarness(t)
	ctx := h.ctx()
	ws, err := ethclient.Dial("ws" + strings.TrimPrefix(h.http.URL, "http"))
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	heads := make(chan *types.Header, 16)
	sub, err := ws.SubscribeNewHead(ctx, heads)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	logs := make(chan types.Log, 16)
	lsub, err := ws.SubscribeFilterLogs(ctx, ethereum.FilterQuery{Addresses: []common.Address{nodetest.Logger}}, logs)
	if err != nil {
		t.Fatal(err)
	}
	defer lsub.Unsubscribe()
	mbs := make(chan map[string]any, 1024)
	msub, err := ws.Client().EthSubscribe(ctx, mbs, "miniBlocks")
	if err != nil {
		t.Fatal(err)
	}
	defer msub.Unsubscribe()
	changes := make(chan json.RawMessage, 1024)
	csub, err := ws.Client().EthSubscribe(ctx, changes, "stateChanges")
	if err != nil {
		t.Fatal(err)
	}
	defer csub.Unsubscribe()

	for range 2 {
		select {
		case hd := <-heads:
			b, err := h.ec.BlockByNumber(ctx, hd.Number)
			if err != nil || b.Hash() != hd.Hash() {
				t.Fatalf("head %v: block %v (%v)", hd.Number, b, err)
			}
		case err := <-sub.Err():
			t.Fatal(err)
		case <-ctx.Done():
			t.Fatal("no new head")
		}
	}
	alice := h.b.keys[0]
	tx := h.tx(alice, ptr(nodetest.Logger), big.NewInt(7), 100_000, nil)
	if err := h.ec.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	select {
	case l := <-logs:
		if l.TxHash != tx.Hash() || l.Address != nodetest.Logger || len(l.Topics) != 1 {
			t.Fatalf("log %+v", l)
		}
	case <-ctx.Done():
		t.Fatal("no log")
	}
	// The mini-block that holds it, and its state change: the logger got 7 wei.
	found := false
	for !found {
		select {
		case m := <-mbs:
			txs, _ := m["transactions"].([]any)
			for _, x := range txs {
				found = found || x == tx.Hash().Hex()
			}
		case <-ctx.Done():
			t.Fatal("no mini-block with the transaction")
		}
	}
	for found = false; !found; {
		select {
		case raw := <-changes:
			var c struct {
				Accounts []struct {
					Address common.Address
					Balance *hexutil.Big
				}
			}
			if err := json.Unmarshal(raw, &c); err != nil {
				t.Fatal(err)
			}
			for _, a := range c.Accounts {
				if a.Address == nodetest.Logger && a.Balance != nil && a.Balance.ToInt().Int64() == 7 {
					found = true
				}
			}
		case <-ctx.Done():
			t.Fatal("no state change for the logger")
		}
	}
}

// post sends body to the server as an HTTP JSON-RPC request.
func (h *harness) post(body []byte) (int, []byte) {
	h.t.Helper()
	resp, err := http.Post(h.http.URL, "application/json", bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp.StatusCode, out
}

type jsonError struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// callErr posts one call and returns its error.
func (h *harness) callErr(method string, params string) *jsonError {
	h.t.Helper()
	status, body := h.post(fmt.Appendf(nil, `{"jsonrpc":"2.0","id":1,"method":%q,"params":%s}`, method, params))
	var resp struct {
		Error *jsonError `json:"error"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &resp) != nil {
		h.t.Fatalf("%s %s: status %d, body %s", method, params, status, body)
	}
	return resp.Error
}

func TestBadInput(t *testing.T) {
	h := newHarness(t)
	for _, c := range []struct {
		method, params string
		code           int
		msg            string
	}{
		{"eth_foo", `[]`, -32601, "the method eth_foo does not exist/is not available"},
		{"eth_getBalance", `["0xzz", "latest"]`, -32602, "invalid argument 0"},
		{"eth_getBalance", `["0x1000000000000000000000000000000000000001", "later"]`, -32602, "invalid argument 1"},
		{"eth_getBalance", `[1, "latest"]`, -32602, "invalid argument 0"},
		{"eth_getBlockByNumber", `["latest", "yes"]`, -32602, "invalid argument 1"},
		{"eth_getTransactionReceipt", `["0x12"]`, -32602, "invalid argument 0"},
		{"eth_getStorageAt", `["0x1000000000000000000000000000000000000001", "0xzz", "latest"]`, -32602, "invalid hex in storage key"},
		{"eth_sendRawTransaction", `["0x"]`, -32000, "typed transaction too short"},
		{"eth_sendRawTransaction", `["0x02c3010203"]`, -32000, "rlp"},
		{"eth_sendRawTransaction", `["beef"]`, -32602, "hex string without 0x prefix"},
		{"eth_call", `[{"data":"0x01","input":"0x02"}, "latest"]`, -32602, `both "data" and "input" are set`},
		{"eth_getLogs", `[{"fromBlock":"0x5","toBlock":"0x4"}]`, -32602, "invalid block range params"},
		{"eth_getLogs", `[{"fromBlock":"0x0","toBlock":"0x5000"}]`, -32602, "exceed maximum block range 1024"},
		{"eth_getLogs", `[{"topics":[[],[],[],[],[]]}]`, -32602, "exceed max topics"},
		{"eth_getLogs", `[{"blockHash":"0x0100000000000000000000000000000000000000000000000000000000000000"}]`, -32000, "unknown block"},
		{"eth_feeHistory", `["0x2", "latest", [50, 10]]`, -32000, "invalid reward percentile"},
		{"eth_getBalance", `["0x1000000000000000000000000000000000000001", "0x100000"]`, -32000, "not sealed"},
		{"eth_sendRawTransactionSync", `["0x", "soon"]`, -32602, "invalid argument 1"},
	} {
		e := h.callErr(c.method, c.params)
		if e == nil || e.Code != c.code || !strings.Contains(e.Message, c.msg) {
			t.Errorf("%s %s: error %+v, want %d %q", c.method, c.params, e, c.code, c.msg)
		}
	}
	// A parse error, an oversized body, an oversized batch.
	if _, body := h.post([]byte(`{"jsonrpc":`)); !bytes.Contains(body, []byte(`-32700`)) {
		t.Errorf("parse error: %s", body)
	}
	if status, _ := h.post(bytes.Repeat([]byte(" "), 6<<20)); status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: status %d", status)
	}
	batch := "[" + strings.Repeat(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},`, 101)
	if _, body := h.post([]byte(batch[:len(batch)-1] + "]")); !bytes.Contains(body, []byte("batch too large")) {
		t.Errorf("oversized batch: %.200s", body)
	}
}

func TestBadTransactions(t *testing.T) {
	h := newHarness(t)
	ctx := h.ctx()
	alice, bob := h.b.keys[0], h.b.keys[1]
	sink := nodetest.Sink
	h.send(h.tx(alice, &sink, big.NewInt(1), 21_000, nil)) // for "nonce too low"

	good := h.tx(bob, &sink, big.NewInt(1), 21_000, nil)
	h.nonces[addr(bob)]--
	v, _, s := good.RawSignatureValues()
	sig := make([]byte, 65) // R left zero
	s.FillBytes(sig[32:64])
	sig[64] = byte(v.Uint64())
	badSig, err := good.WithSignature(h.signer, sig)
	if err != nil {
		t.Fatal(err)
	}
	wrongChain := types.MustSignNewTx(bob, types.LatestSignerForChainID(big.NewInt(1)), &types.DynamicFeeTx{
		ChainID: big.NewInt(1), GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(10 * params.GWei), Gas: 21_000, To: &sink,
	})
	low := types.MustSignNewTx(alice, h.signer, &types.DynamicFeeTx{ChainID: big.NewInt(nodetest.ChainID), Nonce: 0,
		GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(10 * params.GWei), Gas: 21_000, To: &sink, Value: big.NewInt(2)})
	h.nonces[addr(bob)] = 1000
	gap := h.tx(bob, &sink, big.NewInt(1), 21_000, nil)
	h.nonces[addr(bob)] = 0
	poor := h.tx(nodetest.Key("poor", 0), &sink, big.NewInt(1), 21_000, nil)
	rich := h.tx(bob, &sink, new(big.Int).Mul(big.NewInt(1000), big.NewInt(params.Ether)), 21_000, nil)
	h.nonces[addr(bob)] = 0
	overBlock := h.tx(bob, &sink, big.NewInt(1), 12_000_000, nil)
	h.nonces[addr(bob)] = 0
	overCap := h.tx(bob, &sink, big.NewInt(1), 17_000_000, nil)
	h.nonces[addr(bob)] = 0
	oversized := h.tx(bob, &sink, big.NewInt(1), 3_000_000, make([]byte, 128*1024+1))
	for _, c := range []struct {
		name string
		tx   *types.Transaction
		msg  string
	}{
		{"bad signature", badSig, "invalid sender"},
		{"wrong chain id", wrongChain, "invalid chain id"},
		{"nonce too low", low, "nonce too low"},
		{"nonce gap", gap, "nonce too high"},
		{"insufficient funds (empty account)", poor, "insufficient funds for gas * price + value"},
		{"insufficient funds (value)", rich, "insufficient funds for gas * price + value"},
		{"gas above the block limit", overBlock, "exceeds block gas limit"},
		{"gas above the transaction cap", overCap, "transaction gas limit too high"},
		{"oversized", oversized, "oversized data"},
	} {
		for _, method := range []string{"eth_sendRawTransaction", "eth_sendRawTransactionSync"} {
			raw, _ := c.tx.MarshalBinary()
			var out json.RawMessage
			err := h.raw.CallContext(ctx, &out, method, hexutil.Encode(raw))
			var re gethrpc.Error
			if !errors.As(err, &re) || re.ErrorCode() != -32000 || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("%s via %s: %v, want -32000 %q", c.name, method, err, c.msg)
			}
		}
	}
	// Nothing of it ran.
	if n, err := h.ec.NonceAt(ctx, addr(bob), nil); err != nil || n != 0 {
		t.Fatalf("bob's nonce %d %v", n, err)
	}
}
