package rpc

import (
	"context"
	"strconv"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/meganode/meganode/node/api"
)

// The txpool namespace: what the sequencer's pool holds, as of its last
// mini-block. The sequencer executes a transaction the moment it can run,
// so the pool holds only what cannot run yet: pending are transactions
// from a sender's next nonce on that wait for room in the block or for the
// base fee to fall, queued those behind a nonce gap. A fullnode holds no
// pool (it forwards sends): both are empty there.
type txpoolAPI struct{ s *Server }

// pooled is the pool's content: pending transactions, then queued ones.
type pooled struct {
	txs     []*types.Transaction
	senders []common.Address
	pending int
}

func (s *Server) pool(ctx context.Context) (*pooled, error) {
	a, err := s.do(ctx, &api.Call{Method: api.MethodPool})
	if err != nil {
		return nil, err
	}
	if len(a.Senders) != len(a.Txs) || a.Nonce > uint64(len(a.Txs)) {
		return nil, &rpcError{code: api.CodeInternal, msg: "malformed pool answer"}
	}
	p := &pooled{senders: a.Senders, pending: int(a.Nonce)}
	for _, raw := range a.Txs {
		tx := new(types.Transaction)
		if err := tx.UnmarshalBinary(raw); err != nil {
			return nil, &rpcError{code: api.CodeInternal, msg: "malformed pooled transaction: " + err.Error()}
		}
		p.txs = append(p.txs, tx)
	}
	return p, nil
}

// Status is txpool_status: how many transactions are pending and queued.
func (t *txpoolAPI) Status(ctx context.Context) (map[string]hexutil.Uint, error) {
	p, err := t.s.pool(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]hexutil.Uint{"pending": hexutil.Uint(p.pending), "queued": hexutil.Uint(len(p.txs) - p.pending)}, nil
}

// Content is txpool_content: the pending and queued transactions by sender
// and nonce, in geth's shape (block fields null).
func (t *txpoolAPI) Content(ctx context.Context) (map[string]map[string]map[string]*rpcTransaction, error) {
	p, err := t.s.pool(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]map[string]*rpcTransaction{"pending": {}, "queued": {}}
	for i, tx := range p.txs {
		part := "pending"
		if i >= p.pending {
			part = "queued"
		}
		from := p.senders[i].Hex()
		if out[part][from] == nil {
			out[part][from] = map[string]*rpcTransaction{}
		}
		out[part][from][strconv.FormatUint(tx.Nonce(), 10)] = pendingTransaction(tx, p.senders[i])
	}
	return out, nil
}

// ContentFrom is txpool_contentFrom: the same for one sender.
func (t *txpoolAPI) ContentFrom(ctx context.Context, addr common.Address) (map[string]map[string]*rpcTransaction, error) {
	all, err := t.Content(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]*rpcTransaction{"pending": {}, "queued": {}}
	for part, bySender := range all {
		if txs := bySender[addr.Hex()]; txs != nil {
			out[part] = txs
		}
	}
	return out, nil
}

// pendingTransaction is go-ethereum's RPC transaction for one not executed:
// no block, no index.
func pendingTransaction(tx *types.Transaction, from common.Address) *rpcTransaction {
	r := newRPCTransaction(tx, from, &txLocation{})
	r.BlockHash, r.BlockNumber, r.TransactionIndex = nil, nil, nil
	return r
}
