package chain

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/trie"
)

// trieHasher returns the list hasher Ethereum uses for transactions and
// receipts roots.
func trieHasher() types.ListHasher { return trie.NewStackTrie(nil) }

// TxRoot is the Ethereum transactions root of txs.
func TxRoot(txs []*types.Transaction) common.Hash {
	return types.DeriveSha(types.Transactions(txs), trieHasher())
}

// ReceiptRoot is the Ethereum receipts root of rs.
func ReceiptRoot(rs []*types.Receipt) common.Hash {
	return types.DeriveSha(types.Receipts(rs), trieHasher())
}
