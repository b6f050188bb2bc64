package rpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/internal/nodetest"
	"github.com/meganode/meganode/node/rpc"
)

// newFilter installs a filter with method and params and returns its id.
func (h *harness) newFilter(method string, params ...any) string {
	h.t.Helper()
	var id string
	if err := h.raw.CallContext(h.ctx(), &id, method, params...); err != nil {
		h.t.Fatalf("%s: %v", method, err)
	}
	if !strings.HasPrefix(id, "0x") {
		h.t.Fatalf("%s: id %q", method, id)
	}
	return id
}

// changes polls a filter into out.
func (h *harness) changes(id string, out any) error {
	return h.raw.CallContext(h.ctx(), out, "eth_getFilterChanges", id)
}

// wantRPCError checks that err is a JSON-RPC error with code and a message
// holding msg.
func wantRPCError(t *testing.T, what string, err error, code int, msg string) {
	t.Helper()
	var re gethrpc.Error
	if !errors.As(err, &re) || re.ErrorCode() != code || !strings.Contains(err.Error(), msg) {
		t.Fatalf("%s: error %v, want %d %q", what, err, code, msg)
	}
}

// backendSubs is how many Backend.MiniBlocks subscriptions are open.
func backendSubs(h *harness) int {
	h.b.mu.Lock()
	defer h.b.mu.Unlock()
	return len(h.b.subs)
}

// eventually waits until cond holds, failing after a while.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

var loggerTopic = common.BigToHash(big.NewInt(7)) // nodetest.Logger's LOG1 topic

func TestFilterMethods(t *testing.T) {
	h := newHarness(t)
	logID := h.newFilter("eth_newFilter", map[string]any{"address": nodetest.Logger})
	blockID := h.newFilter("eth_newBlockFilter")
	pendingID := h.newFilter("eth_newPendingTransactionFilter")
	fullID := h.newFilter("eth_newPendingTransactionFilter", true)
	if len(map[string]bool{logID: true, blockID: true, pendingID: true, fullID: true}) != 4 {
		t.Fatalf("ids not distinct: %s %s %s %s", logID, blockID, pendingID, fullID)
	}
	for _, c := range []struct {
		method, params string
		want           string // the result's JSON, or its first character with a trailing "…"
		code           int
		msg            string
	}{
		{method: "eth_getFilterChanges", params: fmt.Sprintf(`[%q]`, logID), want: "[…"},
		{method: "eth_getFilterChanges", params: fmt.Sprintf(`[%q]`, blockID), want: "[…"},
		{method: "eth_getFilterChanges", params: fmt.Sprintf(`[%q]`, pendingID), want: "[…"},
		{method: "eth_getFilterChanges", params: fmt.Sprintf(`[%q]`, fullID), want: "[…"},
		{method: "eth_getFilterLogs", params: fmt.Sprintf(`[%q]`, logID), want: "[]"},
		{method: "eth_getFilterLogs", params: fmt.Sprintf(`[%q]`, blockID), code: -32000, msg: "filter not found"},
		{method: "eth_getFilterLogs", params: fmt.Sprintf(`[%q]`, pendingID), code: -32000, msg: "filter not found"},
		{method: "eth_uninstallFilter", params: fmt.Sprintf(`[%q]`, pendingID), want: "true"},
		{method: "eth_uninstallFilter", params: fmt.Sprintf(`[%q]`, pendingID), want: "false"},
		{method: "eth_getFilterChanges", params: fmt.Sprintf(`[%q]`, pendingID), code: -32000, msg: "filter not found"},
		{method: "eth_getFilterChanges", params: `["0x1234"]`, code: -32000, msg: "filter not found"},
		{method: "eth_getFilterLogs", params: `["0x1234"]`, code: -32000, msg: "filter not found"},
		{method: "eth_uninstallFilter", params: `["0x1234"]`, want: "false"},
		{method: "eth_newFilter", params: `[{"fromBlock":"0x5","toBlock":"0x4"}]`, code: -32602, msg: "invalid block range params"},
		{method: "eth_newFilter", params: `[{"fromBlock":"latest","toBlock":"0x4"}]`, code: -32602, msg: "invalid block range params"},
		{method: "eth_newFilter", params: `[{"fromBlock":"safe"}]`, code: -32602, msg: "invalid block range params"},
		{method: "eth_newFilter", params: `[{"topics":[[],[],[],[],[]]}]`, code: -32602, msg: "exceed max topics"},
		{method: "eth_newFilter", params: `[{"fromBlock":"0x1","toBlock":"latest","topics":[null,"0x0000000000000000000000000000000000000000000000000000000000000001"]}]`, want: `"0x…`},
		{method: "eth_newBlockFilter", params: `[]`, want: `"0x…`},
	} {
		status, body := h.post(fmt.Appendf(nil, `{"jsonrpc":"2.0","id":1,"method":%q,"params":%s}`, c.method, c.params))
		var resp struct {
			Result json.RawMessage `json:"result"`
			Error  *jsonError      `json:"error"`
		}
		if status != 200 || json.Unmarshal(body, &resp) != nil {
			t.Fatalf("%s %s: status %d, body %s", c.method, c.params, status, body)
		}
		if c.msg != "" {
			if resp.Error == nil || resp.Error.Code != c.code || !strings.Contains(resp.Error.Message, c.msg) {
				t.Errorf("%s %s: %s, want error %d %q", c.method, c.params, body, c.code, c.msg)
			}
			continue
		}
		got := string(resp.Result)
		if resp.Error != nil || (strings.HasSuffix(c.want, "…") && !strings.HasPrefix(got, strings.TrimSuffix(c.want, "…"))) ||
			(!strings.HasSuffix(c.want, "…") && got != c.want) {
			t.Errorf("%s %s: %s, want result %s", c.method, c.params, body, c.want)
		}
	}
}

func TestLogFilterDeliversEachLogOnce(t *testing.T) {
	h := newHarness(t)
	ctx := h.ctx()
	alice := h.b.keys[0]
	id := h.newFilter("eth_newFilter", map[string]any{"address": nodetest.Logger, "topics": []any{loggerTopic}})
	other := h.newFilter("eth_newFilter", map[string]any{"address": nodetest.Logger, "topics": []any{common.Hash{1}}})
	past := h.newFilter("eth_newFilter", map[string]any{"fromBlock": "0x0", "toBlock": "0x0"})

	const n = 12
	want := map[common.Hash]bool{}
	var txs []*types.Transaction
	for range n {
		tx := h.tx(alice, ptr(nodetest.Logger), big.NewInt(1), 100_000, nil)
		if err := h.ec.SendTransaction(ctx, tx); err != nil {
			t.Fatal(err)
		}
		want[tx.Hash()] = true
		txs = append(txs, tx)
	}
	seen := map[common.Hash]int{}
	var got []types.Log
	poll := func() {
		var logs []types.Log
		if err := h.changes(id, &logs); err != nil {
			t.Fatal(err)
		}
		for _, l := range logs {
			seen[l.TxHash]++
		}
		got = append(got, logs...)
	}
	for len(seen) < n {
		poll()
		if ctx.Err() != nil {
			t.Fatalf("saw logs of %d transactions of %d", len(seen), n)
		}
		time.Sleep(time.Millisecond)
	}
	// Poll on until the last one's block is sealed and two more: nothing
	// comes twice.
	last := h.receipt(txs[n-1].Hash())
	h.sealed(last.BlockNumber.Uint64() + 2)
	for range 5 {
		poll()
		time.Sleep(3 * time.Millisecond)
	}
	if len(got) != n {
		t.Errorf("%d logs for %d transactions", len(got), n)
	}
	for _, tx := range txs {
		if seen[tx.Hash()] != 1 {
			t.Errorf("transaction %v: its log came %d times", tx.Hash(), seen[tx.Hash()])
		}
	}
	for _, l := range got {
		r := h.receipt(l.TxHash)
		if !want[l.TxHash] || l.Address != nodetest.Logger || len(l.Topics) != 1 || l.Topics[0] != loggerTopic ||
			l.BlockNumber != r.BlockNumber.Uint64() || l.Index != r.Logs[0].Index {
			t.Errorf("log %+v, receipt's %+v", l, r.Logs[0])
		}
	}
	// The filters whose criteria exclude these logs got none.
	for _, fid := range []string{other, past} {
		var logs []types.Log
		if err := h.changes(fid, &logs); err != nil || len(logs) != 0 {
			t.Errorf("filter %s: %d logs (%v), want none", fid, len(logs), err)
		}
	}
	// eth_getFilterLogs runs a filter's query as eth_getLogs.
	first := h.receipt(txs[0].Hash())
	ranged := h.newFilter("eth_newFilter", map[string]any{"fromBlock": hexutil.EncodeBig(first.BlockNumber), "address": nodetest.Logger})
	var all []types.Log
	if err := h.raw.CallContext(ctx, &all, "eth_getFilterLogs", ranged); err != nil {
		t.Fatal(err)
	}
	if len(all) != n {
		t.Fatalf("eth_getFilterLogs: %d logs, want %d", len(all), n)
	}
	for _, l := range all {
		if !want[l.TxHash] {
			t.Errorf("eth_getFilterLogs: log of %v", l.TxHash)
		}
	}
}

func TestBlockFilter(t *testing.T) {
	h := newHarness(t)
	ctx := h.ctx()
	id := h.newFilter("eth_newBlockFilter")
	var hashes []common.Hash
	for len(hashes) < 4 {
		var got []common.Hash
		if err := h.changes(id, &got); err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, got...)
		if ctx.Err() != nil {
			t.Fatalf("%d block hashes", len(hashes))
		}
		time.Sleep(3 * time.Millisecond)
	}
	var prev uint64
	for i, hash := range hashes {
		b, err := h.ec.BlockByHash(ctx, hash)
		if err != nil {
			t.Fatalf("block %v: %v", hash, err)
		}
		if i > 0 && b.NumberU64() != prev+1 {
			t.Fatalf("block %d after block %d: hashes %v", b.NumberU64(), prev, hashes)
		}
		prev = b.NumberU64()
	}
}

func TestPendingTransactionFilter(t *testing.T) {
	h := newHarness(t)
	ctx := h.ctx()
	alice, bob := h.b.keys[0], h.b.keys[1]
	id := h.newFilter("eth_newPendingTransactionFilter")
	full := h.newFilter("eth_newPendingTransactionFilter", true)
	var txs []*types.Transaction
	for i := range 3 {
		tx := h.tx(alice, ptr(addr(bob)), big.NewInt(int64(i+1)), 21_000, nil)
		if err := h.ec.SendTransaction(ctx, tx); err != nil {
			t.Fatal(err)
		}
		txs = append(txs, tx)
	}
	seen := map[common.Hash]int{}
	type fullTx struct {
		Hash        common.Hash
		From        common.Address
		BlockNumber *hexutil.Big
		Value       *hexutil.Big
	}
	fullSeen := map[common.Hash]fullTx{}
	fullCount := 0
	for ctx.Err() == nil {
		var hs []common.Hash
		if err := h.changes(id, &hs); err != nil {
			t.Fatal(err)
		}
		for _, x := range hs {
			seen[x]++
		}
		var fs []fullTx
		if err := h.changes(full, &fs); err != nil {
			t.Fatal(err)
		}
		for _, f := range fs {
			fullSeen[f.Hash] = f
			fullCount++
		}
		done := true
		for _, tx := range txs {
			done = done && seen[tx.Hash()] > 0 && fullSeen[tx.Hash()].Hash != common.Hash{}
		}
		if done {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	last := h.receipt(txs[len(txs)-1].Hash())
	h.sealed(last.BlockNumber.Uint64() + 1)
	var hs []common.Hash
	if err := h.changes(id, &hs); err != nil {
		t.Fatal(err)
	}
	for _, x := range hs {
		seen[x]++
	}
	for _, tx := range txs {
		if seen[tx.Hash()] != 1 {
			t.Errorf("transaction %v: %d times", tx.Hash(), seen[tx.Hash()])
		}
		f, r := fullSeen[tx.Hash()], h.receipt(tx.Hash())
		if f.From != addr(alice) || f.BlockNumber == nil || f.BlockNumber.ToInt().Cmp(r.BlockNumber) != 0 || f.Value.ToInt().Cmp(tx.Value()) != 0 {
			t.Errorf("full transaction %+v, receipt in block %v", f, r.BlockNumber)
		}
	}
	if len(seen) != fullCount {
		t.Errorf("the hash filter saw %d transactions, the full one %d", len(seen), fullCount)
	}
}

func TestFilterUninstallAndSharedFeed(t *testing.T) {
	h := newHarness(t)
	if n := backendSubs(h); n != 0 {
		t.Fatalf("%d mini-block subscriptions before any filter", n)
	}
	ids := []string{h.newFilter("eth_newBlockFilter"), h.newFilter("eth_newPendingTransactionFilter"), h.newFilter("eth_newFilter", map[string]any{})}
	if n := backendSubs(h); n != 1 {
		t.Fatalf("%d mini-block subscriptions for 3 filters, want 1 shared", n)
	}
	for i, id := range ids {
		var ok bool
		if err := h.raw.CallContext(h.ctx(), &ok, "eth_uninstallFilter", id); err != nil || !ok {
			t.Fatalf("uninstall %s: %v %v", id, ok, err)
		}
		var out json.RawMessage
		wantRPCError(t, "poll after uninstall", h.changes(id, &out), -32000, "filter not found")
		if i < len(ids)-1 && backendSubs(h) != 1 {
			t.Fatalf("%d mini-block subscriptions with %d filters left", backendSubs(h), len(ids)-1-i)
		}
	}
	if n := backendSubs(h); n != 0 {
		t.Fatalf("%d mini-block subscriptions after the last filter went", n)
	}
	// A new filter starts the feed again, and gets what comes.
	id := h.newFilter("eth_newBlockFilter")
	eventually(t, "a block hash after the feed restarted", func() bool {
		var hs []common.Hash
		if err := h.changes(id, &hs); err != nil {
			t.Fatal(err)
		}
		return len(hs) > 0
	})
}

func TestFilterExpiry(t *testing.T) {
	const timeout = 300 * time.Millisecond
	h := newHarnessWith(t, rpc.Config{FilterTimeout: timeout})
	polled := h.newFilter("eth_newBlockFilter")
	idle := h.newFilter("eth_newFilter", map[string]any{})
	// Polled more often than the timeout, a filter stays.
	for start := time.Now(); time.Since(start) < 3*timeout; time.Sleep(timeout / 10) {
		var hs []common.Hash
		if err := h.changes(polled, &hs); err != nil {
			t.Fatalf("a filter polled every %v, after %v: %v", timeout/10, time.Since(start), err)
		}
	}
	var out json.RawMessage
	wantRPCError(t, "a filter not polled for 3 timeouts", h.changes(idle, &out), -32000, "filter not found")
	wantRPCError(t, "eth_getFilterLogs of an expired filter", h.raw.CallContext(h.ctx(), &out, "eth_getFilterLogs", idle), -32000, "filter not found")
	time.Sleep(3 * timeout)
	wantRPCError(t, "a filter no longer polled", h.changes(polled, &out), -32000, "filter not found")
	eventually(t, "the feed stops once every filter expired", func() bool { return backendSubs(h) == 0 })
}

func TestMaxFilters(t *testing.T) {
	h := newHarnessWith(t, rpc.Config{MaxFilters: 3})
	ids := []string{h.newFilter("eth_newBlockFilter"), h.newFilter("eth_newPendingTransactionFilter"), h.newFilter("eth_newFilter", map[string]any{})}
	var id string
	for _, method := range []string{"eth_newBlockFilter", "eth_newPendingTransactionFilter", "eth_newFilter"} {
		var params []any
		if method == "eth_newFilter" {
			params = []any{map[string]any{}}
		}
		wantRPCError(t, method+" at the limit", h.raw.CallContext(h.ctx(), &id, method, params...), -32000, "too many filters: limit 3")
	}
	var ok bool
	if err := h.raw.CallContext(h.ctx(), &ok, "eth_uninstallFilter", ids[0]); err != nil || !ok {
		t.Fatalf("uninstall: %v %v", ok, err)
	}
	h.newFilter("eth_newBlockFilter") // room again
	wantRPCError(t, "at the limit again", h.raw.CallContext(h.ctx(), &id, "eth_newBlockFilter"), -32000, "too many filters: limit 3")
}

func TestFilterOverflow(t *testing.T) {
	h := newHarnessWith(t, rpc.Config{MaxFilterItems: 3})
	id := h.newFilter("eth_newBlockFilter")
	start, err := h.ec.BlockNumber(h.ctx())
	if err != nil {
		t.Fatal(err)
	}
	h.sealed(start + 5) // 5 block hashes for a filter that holds 3
	var hs []common.Hash
	wantRPCError(t, "a filter that overflowed", h.changes(id, &hs), -32000, "filter dropped: more than 3 changes waited for a poll")
	wantRPCError(t, "the dropped filter polled again", h.changes(id, &hs), -32000, "filter not found")
}

func TestSubscriptionLimits(t *testing.T) {
	h := newHarnessWith(t, rpc.Config{MaxSubscriptions: 3, MaxSubscriptionsPerConn: 2})
	ctx := h.ctx()
	url := "ws" + strings.TrimPrefix(h.http.URL, "http")
	dial := func() *gethrpc.Client {
		c, err := gethrpc.DialWebsocket(ctx, url, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	subscribe := func(c *gethrpc.Client) (*gethrpc.ClientSubscription, error) {
		return c.EthSubscribe(ctx, make(chan json.RawMessage, 4096), "newHeads")
	}
	mustSubscribe := func(c *gethrpc.Client) *gethrpc.ClientSubscription {
		t.Helper()
		sub, err := subscribe(c)
		if err != nil {
			t.Fatal(err)
		}
		return sub
	}
	a, b, c := dial(), dial(), dial()
	a1 := mustSubscribe(a)
	mustSubscribe(a)
	_, err := subscribe(a)
	wantRPCError(t, "a third subscription on a connection", err, -32000, "too many subscriptions: limit 2 per connection")
	mustSubscribe(b)
	_, err = subscribe(b)
	wantRPCError(t, "a fourth subscription in all", err, -32000, "too many subscriptions: limit 3")
	_, err = subscribe(c)
	wantRPCError(t, "a fourth subscription, on a fresh connection", err, -32000, "too many subscriptions: limit 3")

	// An unsubscribe makes room, on another connection too.
	a1.Unsubscribe()
	eventually(t, "room after an unsubscribe", func() bool {
		_, err = subscribe(b)
		return err == nil
	})
	_, err = subscribe(b)
	wantRPCError(t, "a third subscription on b", err, -32000, "too many subscriptions")
	// A closed connection's subscriptions go.
	b.Close()
	eventually(t, "room after a connection closed", func() bool {
		_, err = subscribe(c)
		return err == nil
	})
	mustSubscribe(c) // a has 1, c 2: the total limit
	_, err = subscribe(c)
	wantRPCError(t, "c at both limits", err, -32000, "too many subscriptions: limit 3")
	a.Close() // under the total limit again: c is at its own
	eventually(t, "c refused for its own limit", func() bool {
		_, err = subscribe(c)
		if err == nil {
			t.Fatal("a third subscription on c")
		}
		return strings.Contains(err.Error(), "too many subscriptions: limit 2 per connection")
	})
}

// refusingBackend is a seqBackend whose MiniBlocks answers a closed
// channel, as a node with too many subscribers does.
type refusingBackend struct{ *seqBackend }

func (refusingBackend) MiniBlocks(int) (<-chan *chain.MiniBlock, func()) {
	ch := make(chan *chain.MiniBlock)
	close(ch)
	return ch, func() {}
}

func TestRefusedMiniBlockSubscription(t *testing.T) {
	srv, err := rpc.NewServer(refusingBackend{newSeqBackend(t)}, rpc.Config{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		srv.Stop()
		hs.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := gethrpc.DialWebsocket(ctx, "ws"+strings.TrimPrefix(hs.URL, "http"), "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const msg = "the node refused a mini-block subscription"
	_, err = c.EthSubscribe(ctx, make(chan json.RawMessage, 1), "newHeads")
	wantRPCError(t, "eth_subscribe", err, -32000, msg)
	var id string
	wantRPCError(t, "eth_newBlockFilter", c.CallContext(ctx, &id, "eth_newBlockFilter"), -32000, msg)
}
