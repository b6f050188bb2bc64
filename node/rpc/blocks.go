package rpc

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
)

// The block helpers geth serves: each is built from the sealed block the
// node answers eth_getBlockBy* with, so they agree with it by
// construction.

// sealedBlock is the sealed block bnh names (a number, a tag or a hash),
// with the senders the node recovered; nil when there is none (yet).
func (s *Server) sealedBlock(ctx context.Context, bnh gethrpc.BlockNumberOrHash) (*types.Block, []common.Address, error) {
	c := &api.Call{Method: api.MethodBlock}
	if h, ok := bnh.Hash(); ok {
		c.Method, c.Hash = api.MethodBlockByHash, h
	} else if n, ok := bnh.Number(); ok {
		num, err := s.blockNumber(ctx, n)
		if err != nil {
			return nil, nil, err
		}
		c.Number = num
	} else {
		return nil, nil, &invalidParamsError{"invalid block number or hash"}
	}
	a, err := s.do(ctx, c)
	if notFound(a) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	b, err := chain.DecodeBlock(a.Block)
	if err != nil {
		return nil, nil, &rpcError{code: api.CodeInternal, msg: err.Error()}
	}
	if len(a.Senders) != len(b.Transactions()) {
		a.Senders = nil
	}
	return b, a.Senders, nil
}

func byNumber(n gethrpc.BlockNumber) gethrpc.BlockNumberOrHash {
	return gethrpc.BlockNumberOrHashWithNumber(n)
}

func byHash(h common.Hash) gethrpc.BlockNumberOrHash {
	return gethrpc.BlockNumberOrHashWithHash(h, false)
}

// txCount is a block's transaction count; null for a block not sealed.
func (s *Server) txCount(ctx context.Context, bnh gethrpc.BlockNumberOrHash) (*hexutil.Uint, error) {
	b, _, err := s.sealedBlock(ctx, bnh)
	if b == nil || err != nil {
		return nil, err
	}
	n := hexutil.Uint(len(b.Transactions()))
	return &n, nil
}

// GetBlockTransactionCountByNumber is eth_getBlockTransactionCountByNumber.
func (e *ethAPI) GetBlockTransactionCountByNumber(ctx context.Context, n gethrpc.BlockNumber) (*hexutil.Uint, error) {
	return e.s.txCount(ctx, byNumber(n))
}

// GetBlockTransactionCountByHash is eth_getBlockTransactionCountByHash.
func (e *ethAPI) GetBlockTransactionCountByHash(ctx context.Context, h common.Hash) (*hexutil.Uint, error) {
	return e.s.txCount(ctx, byHash(h))
}

// txAt is the transaction at index of a sealed block, with its location;
// null for a block not sealed or an index past its end (as geth).
func (s *Server) txAt(ctx context.Context, bnh gethrpc.BlockNumberOrHash, index hexutil.Uint) (*rpcTransaction, error) {
	b, senders, err := s.sealedBlock(ctx, bnh)
	if b == nil || err != nil {
		return nil, err
	}
	txs := b.Transactions()
	if int(index) >= len(txs) {
		return nil, nil
	}
	var from common.Address
	if senders != nil {
		from = senders[index]
	}
	tx := txs[index]
	return newRPCTransaction(tx, senderOf(tx, s.signer, from), &txLocation{
		BlockHash: b.Hash(), BlockNumber: b.NumberU64(), Time: b.Time(), Index: uint64(index), BaseFee: b.BaseFee(),
	}), nil
}

// GetTransactionByBlockNumberAndIndex is
// eth_getTransactionByBlockNumberAndIndex.
func (e *ethAPI) GetTransactionByBlockNumberAndIndex(ctx context.Context, n gethrpc.BlockNumber, index hexutil.Uint) (*rpcTransaction, error) {
	return e.s.txAt(ctx, byNumber(n), index)
}

// GetTransactionByBlockHashAndIndex is eth_getTransactionByBlockHashAndIndex.
func (e *ethAPI) GetTransactionByBlockHashAndIndex(ctx context.Context, h common.Hash, index hexutil.Uint) (*rpcTransaction, error) {
	return e.s.txAt(ctx, byHash(h), index)
}

// rawTxAt is the encoding of the transaction at index of a sealed block;
// empty for none, as geth.
func (s *Server) rawTxAt(ctx context.Context, bnh gethrpc.BlockNumberOrHash, index hexutil.Uint) (hexutil.Bytes, error) {
	b, _, err := s.sealedBlock(ctx, bnh)
	if b == nil || err != nil {
		return nil, err
	}
	txs := b.Transactions()
	if int(index) >= len(txs) {
		return nil, nil
	}
	return txs[index].MarshalBinary()
}

// GetRawTransactionByBlockNumberAndIndex is
// eth_getRawTransactionByBlockNumberAndIndex.
func (e *ethAPI) GetRawTransactionByBlockNumberAndIndex(ctx context.Context, n gethrpc.BlockNumber, index hexutil.Uint) (hexutil.Bytes, error) {
	return e.s.rawTxAt(ctx, byNumber(n), index)
}

// GetRawTransactionByBlockHashAndIndex is
// eth_getRawTransactionByBlockHashAndIndex.
func (e *ethAPI) GetRawTransactionByBlockHashAndIndex(ctx context.Context, h common.Hash, index hexutil.Uint) (hexutil.Bytes, error) {
	return e.s.rawTxAt(ctx, byHash(h), index)
}

// GetRawTransactionByHash is eth_getRawTransactionByHash: the executed
// transaction's encoding; empty for one not executed (yet), as geth answers
// for an unknown one.
func (e *ethAPI) GetRawTransactionByHash(ctx context.Context, hash common.Hash) (hexutil.Bytes, error) {
	a, tx, err := e.executed(ctx, api.MethodTx, hash)
	if a == nil || err != nil {
		return nil, err
	}
	return tx.MarshalBinary()
}

// header is a sealed block's header in geth's JSON; null for none.
func (s *Server) header(ctx context.Context, bnh gethrpc.BlockNumberOrHash) (map[string]any, error) {
	b, _, err := s.sealedBlock(ctx, bnh)
	if b == nil || err != nil {
		return nil, err
	}
	return marshalHeader(b.Header()), nil
}

// GetHeaderByNumber is eth_getHeaderByNumber.
func (e *ethAPI) GetHeaderByNumber(ctx context.Context, n gethrpc.BlockNumber) (map[string]any, error) {
	return e.s.header(ctx, byNumber(n))
}

// GetHeaderByHash is eth_getHeaderByHash.
func (e *ethAPI) GetHeaderByHash(ctx context.Context, h common.Hash) (map[string]any, error) {
	return e.s.header(ctx, byHash(h))
}

// GetBlockReceipts is eth_getBlockReceipts: the receipts of a sealed
// block's transactions, in order; null for a block not sealed.
func (e *ethAPI) GetBlockReceipts(ctx context.Context, bnh gethrpc.BlockNumberOrHash) ([]map[string]any, error) {
	b, senders, err := e.s.sealedBlock(ctx, bnh)
	if b == nil || err != nil {
		return nil, err
	}
	txs := b.Transactions()
	out := make([]map[string]any, len(txs))
	for i, tx := range txs {
		a, err := e.s.do(ctx, &api.Call{Method: api.MethodReceipt, Hash: tx.Hash()})
		if err != nil {
			return nil, err
		}
		if a.Receipt == nil || a.Receipt.BlockNumber != b.NumberU64() {
			return nil, &rpcError{code: api.CodeInternal, msg: "receipt of " + tx.Hash().Hex() + " missing from its block"}
		}
		r := *a.Receipt
		if senders != nil {
			r.From = senders[i]
		}
		out[i] = marshalReceipt(&r, tx, e.s.signer)
	}
	return out, nil
}

// uncleCount is 0 for a sealed block (this chain has no uncles), null for
// none.
func (s *Server) uncleCount(ctx context.Context, bnh gethrpc.BlockNumberOrHash) (*hexutil.Uint, error) {
	b, _, err := s.sealedBlock(ctx, bnh)
	if b == nil || err != nil {
		return nil, err
	}
	n := hexutil.Uint(len(b.Uncles()))
	return &n, nil
}

// GetUncleCountByBlockNumber is eth_getUncleCountByBlockNumber.
func (e *ethAPI) GetUncleCountByBlockNumber(ctx context.Context, n gethrpc.BlockNumber) (*hexutil.Uint, error) {
	return e.s.uncleCount(ctx, byNumber(n))
}

// GetUncleCountByBlockHash is eth_getUncleCountByBlockHash.
func (e *ethAPI) GetUncleCountByBlockHash(ctx context.Context, h common.Hash) (*hexutil.Uint, error) {
	return e.s.uncleCount(ctx, byHash(h))
}

// GetUncleByBlockNumberAndIndex is eth_getUncleByBlockNumberAndIndex:
// always null, as geth answers for an index past a block's uncles.
func (e *ethAPI) GetUncleByBlockNumberAndIndex(ctx context.Context, n gethrpc.BlockNumber, index hexutil.Uint) (map[string]any, error) {
	_, err := e.s.uncleCount(ctx, byNumber(n))
	return nil, err
}

// GetUncleByBlockHashAndIndex is eth_getUncleByBlockHashAndIndex: always
// null.
func (e *ethAPI) GetUncleByBlockHashAndIndex(ctx context.Context, h common.Hash, index hexutil.Uint) (map[string]any, error) {
	_, err := e.s.uncleCount(ctx, byHash(h))
	return nil, err
}

// Accounts is eth_accounts: the node holds no keys.
func (e *ethAPI) Accounts() []common.Address { return []common.Address{} }

// BlobBaseFee is eth_blobBaseFee: the blob base fee of the next block.
// This chain refuses blob transactions, so its headers' excess blob gas
// stays zero and the fee is the protocol's minimum.
func (e *ethAPI) BlobBaseFee(ctx context.Context) (*hexutil.Big, error) {
	b, _, err := e.s.sealedBlock(ctx, byNumber(gethrpc.LatestBlockNumber))
	if err != nil {
		return nil, err
	}
	if b != nil {
		if x := b.ExcessBlobGas(); x != nil && *x != 0 {
			return nil, &rpcError{code: api.CodeInternal, msg: fmt.Sprintf("block %d has excess blob gas %d on a chain that refuses blob transactions", b.NumberU64(), *x)}
		}
	}
	return (*hexutil.Big)(big.NewInt(params.BlobTxMinBlobGasprice)), nil
}

// PeerCounter is a Backend that knows how many peers its node has.
type PeerCounter interface {
	PeerCount() int
}

// PeerCount is net_peerCount.
func (n *netAPI) PeerCount() hexutil.Uint {
	if pc, ok := n.s.b.(PeerCounter); ok {
		return hexutil.Uint(pc.PeerCount())
	}
	return 0
}
