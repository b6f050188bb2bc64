package rpc_test

import (
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient/gethclient"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
)

// newPendingTransactions delivers each sent transaction once, as a hash or
// (with fullTx, as gethclient asks) as the transaction; syncing is live and
// quiet.
func TestPendingTransactionsAndSyncingSubscriptions(t *testing.T) {
	h := newHarness(t)
	ctx := h.ctx()
	ws, err := gethrpc.Dial("ws" + strings.TrimPrefix(h.http.URL, "http"))
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	hashes := make(chan common.Hash, 64)
	hsub, err := gethclient.New(ws).SubscribePendingTransactions(ctx, hashes)
	if err != nil {
		t.Fatal(err)
	}
	defer hsub.Unsubscribe()
	full := make(chan map[string]any, 64)
	fsub, err := ws.EthSubscribe(ctx, full, "newPendingTransactions", true)
	if err != nil {
		t.Fatal(err)
	}
	defer fsub.Unsubscribe()
	syncing := make(chan any, 4)
	ssub, err := ws.EthSubscribe(ctx, syncing, "syncing")
	if err != nil {
		t.Fatal(err)
	}
	defer ssub.Unsubscribe()

	alice, bob := h.b.keys[0], h.b.keys[1]
	sent := map[common.Hash]bool{}
	for range 3 {
		tx := h.tx(alice, ptr(addr(bob)), big.NewInt(1), 21_000, nil)
		h.send(tx)
		sent[tx.Hash()] = true
	}
	got, gotFull := map[common.Hash]int{}, map[common.Hash]int{}
	timeout := time.After(10 * time.Second)
	for len(got) < len(sent) || len(gotFull) < len(sent) {
		select {
		case hash := <-hashes:
			got[hash]++
		case tx := <-full:
			hash := common.HexToHash(tx["hash"].(string))
			if tx["from"] != addr(alice).Hex() && !strings.EqualFold(tx["from"].(string), addr(alice).Hex()) {
				t.Fatalf("pending transaction from %v", tx["from"])
			}
			gotFull[hash]++
		case err := <-hsub.Err():
			t.Fatal(err)
		case <-timeout:
			t.Fatalf("hashes %v, transactions %v, sent %v", got, gotFull, sent)
		}
	}
	time.Sleep(50 * time.Millisecond) // nothing more comes
	for len(hashes) > 0 {
		got[<-hashes]++
	}
	for hash := range sent {
		if got[hash] != 1 || gotFull[hash] != 1 {
			t.Fatalf("transaction %v delivered %d times as a hash, %d as an object", hash, got[hash], gotFull[hash])
		}
	}
	select {
	case v := <-syncing:
		t.Fatalf("syncing notified %v on a node that never syncs", v)
	default:
	}
}
