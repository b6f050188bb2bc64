// Package rpc is the node's JSON-RPC server (DESIGN.md §4): go-ethereum's
// rpc package over HTTP and WebSocket on one path, translating each JSON
// call to a node/api Call, running it on the node through a Backend, and
// the answer back to go-ethereum's JSON shapes, so that ethclient, ethers
// and viem work unchanged.
//
// Namespaces: eth, net, web3, realtime and meganode. Semantics of note:
//
//   - Block tags of state reads (eth_getBalance, eth_call, …): latest and
//     pending read the newest mini-block, safe the newest sealed block,
//     finalized the newest block a quorum of provers attested (fullnodes;
//     the sequencer, which does not track finality, answers the finalized
//     tag with an error), earliest the genesis block, a number or hash
//     that sealed block.
//   - eth_blockNumber is the newest sealed block, and eth_getBlockByNumber
//     with latest, pending or safe returns it: an EVM block exists once it
//     is sealed. The block being filled shows in state reads at latest, in
//     eth_getLogs up to latest, in receipts and in the miniBlocks, logs and
//     stateChanges subscriptions.
//   - A transaction executed in a mini-block of a block not sealed yet has
//     its receipt and location at once; its block hash (in the receipt,
//     the transaction and its logs) is the zero hash until the block seals.
//   - eth_getTransactionByHash and eth_getTransactionReceipt answer null
//     for a transaction not executed yet (one waiting in the pool).
//   - eth_sendRawTransactionSync and realtime_sendRawTransaction
//     (EIP-7966) return the receipt once the mini-block holding the
//     transaction is durable; past the timeout they fail with code 4 and
//     the transaction hash as data.
//   - eth_call and eth_estimateGas run with the call's value, which the
//     sender's balance must cover (as in go-ethereum, gas costs nothing
//     in a call).
//   - eth_gasPrice is the next block's base fee plus a 1 gwei tip, which
//     eth_maxPriorityFeePerGas returns. eth_feeHistory covers sealed
//     blocks only (latest and pending: the newest sealed block), at most
//     1024 of them, 128 when it computes rewards.
//   - eth_getBlockByNumber("finalized") on a node that does not track
//     finality (the sequencer) returns the genesis block.
//   - Subscriptions (eth_subscribe): newHeads (a header per sealed block),
//     logs (from mini-blocks as they apply), miniBlocks and stateChanges
//     (one object per mini-block). A subscriber that falls too far behind
//     stops getting notifications.
//
// Errors carry go-ethereum's codes and messages: -32000 for refused
// transactions and state errors, -32602 for invalid parameters, -32601 for
// unknown methods, 3 with the revert data for reverted calls, 4 for sync
// sends that timed out.
//
// The package is production code (DESIGN.md §3): it runs goroutines and
// reads the clock, and the determinism lint of node/ exempts it.
package rpc
