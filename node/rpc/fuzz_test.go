package rpc_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
	"github.com/meganode/meganode/node/internal/nodetest"
	"github.com/meganode/meganode/node/rpc"
)

// FuzzRequest feeds arbitrary bodies to the HTTP handler: it must never
// panic (go-ethereum's server turns a handler's panic into a "method
// handler crashed" error, which fails the test too), and it must answer
// well-formed JSON, or nothing to notifications only.
func FuzzRequest(f *testing.F) {
	b := newSeqBackend(f)
	srv, err := rpc.NewServer(b, rpc.Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(srv.Stop)
	h := srv.Handler()

	key := b.keys[0]
	sink := nodetest.Sink
	signer := types.LatestSignerForChainID(big.NewInt(nodetest.ChainID))
	tx := types.MustSignNewTx(key, signer, &types.DynamicFeeTx{ChainID: big.NewInt(nodetest.ChainID), GasTipCap: big.NewInt(params.GWei),
		GasFeeCap: big.NewInt(10 * params.GWei), Gas: 21_000, To: &sink, Value: big.NewInt(1)})
	raw, _ := tx.MarshalBinary()
	acct := fmt.Sprintf("%q", nodetest.Logger.Hex())
	for _, call := range []string{
		`"eth_chainId",[]`, `"eth_blockNumber",[]`, `"net_version",[]`, `"web3_clientVersion",[]`,
		`"eth_getBalance",[` + acct + `,"latest"]`, `"eth_getTransactionCount",[` + acct + `,"safe"]`,
		`"eth_getCode",[` + acct + `,"0x0"]`, `"eth_getStorageAt",[` + acct + `,"0x0","latest"]`,
		`"eth_call",[{"to":` + acct + `,"data":"0x"},"latest"]`, `"eth_estimateGas",[{"to":` + acct + `}]`,
		`"eth_gasPrice",[]`, `"eth_maxPriorityFeePerGas",[]`, `"eth_feeHistory",["0x4","latest",[25,75]]`,
		`"eth_sendRawTransaction",["` + hexutil.Encode(raw) + `"]`,
		`"eth_sendRawTransactionSync",["` + hexutil.Encode(raw) + `",100]`,
		`"realtime_sendRawTransaction",["0x02"]`,
		`"eth_getTransactionByHash",["` + tx.Hash().Hex() + `"]`, `"eth_getTransactionReceipt",["` + tx.Hash().Hex() + `"]`,
		`"eth_getBlockByNumber",["latest",true]`, `"eth_getBlockByHash",["` + common.Hash{}.Hex() + `",false]`,
		`"eth_getLogs",[{"fromBlock":"earliest","address":[` + acct + `],"topics":[null,["0x` + fmt.Sprintf("%064x", 7) + `"]]}]`,
		`"eth_subscribe",["newHeads"]`, `"meganode_head",[]`, `"meganode_getMiniBlockByNumber",["0x1"]`,
	} {
		f.Add([]byte(`{"jsonrpc":"2.0","id":1,"method":` + call + `}`))
	}
	f.Add([]byte(`[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},{"jsonrpc":"2.0","method":"eth_blockNumber"}]`))
	f.Add([]byte(`{"jsonrpc":"2.0","method":"eth_chainId"}`))
	f.Add([]byte(`{"jsonrpc":"2.0","id":"x","method":"eth_getLogs","params":[{"blockHash":"0x00","fromBlock":"0x1"}]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{`))
	f.Add([]byte{})

	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		out := rec.Body.Bytes()
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d for %q: %s", rec.Code, body, out)
		}
		if bytes.Contains(out, []byte("method handler crashed")) {
			t.Fatalf("a handler panicked on %q: %s", body, out)
		}
		if len(out) == 0 {
			if wantsAnswer(body) {
				t.Fatalf("no answer to %q", body)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("malformed JSON answer to %q: %q", body, out)
		}
	})
}

// wantsAnswer reports whether a body is a single call with an id, which
// must be answered.
func wantsAnswer(body []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return false
	}
	id, ok := m["id"]
	return ok && len(id) > 0 && (id[0] == '"' || (id[0] >= '0' && id[0] <= '9'))
}
