package rpc_test

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/rpc"
)

// readOnly is a node that refuses sends, as a fullnode does.
type readOnly struct{ *seqBackend }

func (r readOnly) Do(ctx context.Context, c *api.Call) (*api.Answer, error) {
	if c.Method == api.MethodSendTx || c.Method == api.MethodSendTxSync {
		return nil, errors.New("this node does not take transactions")
	}
	return r.seqBackend.Do(ctx, c)
}

// A read node with Forward set sends its clients' transactions to the
// sequencer: plain and synchronous sends both come back with the
// sequencer's answer, and its refusals keep their code and message.
func TestSendsForwardToTheSequencer(t *testing.T) {
	seq := newHarness(t)
	ctx := seq.ctx()
	client := serve(t, readOnly{newSeqBackend(t)}, rpc.Config{Forward: seq.http.URL})
	ec := ethclient.NewClient(client)
	alice, bob := seq.b.keys[0], seq.b.keys[1]

	tx := seq.tx(alice, ptr(addr(bob)), big.NewInt(3), 21_000, nil)
	if err := ec.SendTransaction(ctx, tx); err != nil {
		t.Fatalf("send through the read node: %v", err)
	}
	if r := seq.receipt(tx.Hash()); r.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("forwarded transaction's receipt %+v", r)
	}
	sync := seq.tx(alice, ptr(addr(bob)), big.NewInt(4), 21_000, nil)
	raw, _ := sync.MarshalBinary()
	var receipt map[string]any
	if err := client.CallContext(ctx, &receipt, "eth_sendRawTransactionSync", "0x"+common.Bytes2Hex(raw)); err != nil {
		t.Fatalf("sync send through the read node: %v", err)
	}
	if receipt["transactionHash"] != sync.Hash().Hex() || receipt["status"] != "0x1" {
		t.Fatalf("sync receipt %v", receipt)
	}
	// The sequencer's refusal comes back as it said it.
	poor, _ := crypto.GenerateKey()
	err := ec.SendTransaction(ctx, seq.tx(poor, ptr(addr(bob)), big.NewInt(1), 21_000, nil))
	var re gethrpc.Error
	if !errors.As(err, &re) || re.ErrorCode() != -32000 || !strings.Contains(err.Error(), "insufficient funds") {
		t.Fatalf("resend through the read node: %v", err)
	}

	// Without Forward, the read node's own refusal stands.
	plain := ethclient.NewClient(serve(t, readOnly{newSeqBackend(t)}, rpc.Config{}))
	if err := plain.SendTransaction(ctx, seq.tx(alice, ptr(addr(bob)), big.NewInt(5), 21_000, nil)); err == nil || !strings.Contains(err.Error(), "does not take transactions") {
		t.Fatalf("send to a read node that does not forward: %v", err)
	}
	// A sequencer that cannot be reached gets a clear error.
	gone := ethclient.NewClient(serve(t, readOnly{newSeqBackend(t)}, rpc.Config{Forward: "http://127.0.0.1:1"}))
	if err := gone.SendTransaction(ctx, seq.tx(alice, ptr(addr(bob)), big.NewInt(6), 21_000, nil)); err == nil || !strings.Contains(err.Error(), "forwarding to the sequencer at http://127.0.0.1:1") {
		t.Fatalf("send with the sequencer unreachable: %v", err)
	}
}

// The sequencer's error for the finalized tag names the fullnode to ask.
func TestFinalizedNamesAFullnode(t *testing.T) {
	h := newHarnessWith(t, rpc.Config{FinalityFrom: "http://127.0.0.1:8546"})
	_, err := h.ec.HeaderByNumber(h.ctx(), big.NewInt(int64(gethrpc.FinalizedBlockNumber)))
	if err == nil || !strings.Contains(err.Error(), "does not track finality: ask a fullnode (http://127.0.0.1:8546)") {
		t.Fatalf("finalized on the sequencer: %v", err)
	}
}
