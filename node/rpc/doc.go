// Package rpc is the node's JSON-RPC server (DESIGN.md §4): go-ethereum's
// rpc package over HTTP and WebSocket on one path, translating each JSON
// call to a node/api Call, running it on the node through a Backend, and
// the answer back to go-ethereum's JSON shapes, so that ethclient, ethers
// and viem work unchanged.
//
// Namespaces: eth, net, web3, realtime, meganode, debug (tracing) and
// txpool.
// Semantics of note:
//
//   - Blocks seal at mini-block pace while load is light: the sequencer
//     seals a block at the first mini-block close that finds a transaction
//     in it (at least block-gap, 2 ms, after the last seal, longer after a
//     costly seal: max-seal-share), and every
//     mini-blocks-per-block intervals in any case. A receipt leaves only
//     once its block is sealed and durable, so it always names a block
//     that exists, by a hash that never changes.
//   - Block tags of state reads (eth_getBalance, eth_call, …): latest and
//     safe read the newest sealed block, exactly the state after the block
//     eth_getBlockByNumber("latest") returns, and eth_call at latest runs
//     in that block's header; pending reads the newest mini-block (the open
//     block's transactions executed, their receipts not out yet), as
//     go-ethereum's pending state holds its pending block;
//     finalized the newest block a quorum of provers attested (fullnodes;
//     the sequencer, which does not track finality, answers the finalized
//     tag, in reads and in eth_getBlockByNumber, with -32000 "this node
//     does not track finality: ask a fullnode", naming the fullnode's URL
//     when Config.FinalityFrom is set, as the devnet sets it), earliest the
//     genesis block, a number or hash that sealed block.
//   - eth_blockNumber is the newest sealed block, and eth_getBlockByNumber
//     with latest, pending or safe returns it (go-ethereum returns its
//     miner's pending block for pending; the open block shows in state
//     reads at pending and in the miniBlocks and stateChanges
//     subscriptions).
//   - eth_getTransactionByHash and eth_getTransactionReceipt answer null
//     for a transaction not in a sealed block yet (waiting in the pool, or
//     executed in the open block), as go-ethereum does for a pending one;
//     once sealed, its receipt, its logs and the transaction carry the
//     block's hash.
//   - eth_sendRawTransaction answers the hash of a transaction that
//     executes at once when its block is sealed and durable, so that a
//     client's first receipt poll finds the receipt; one that waits in the
//     pool (a nonce gap, no room) is answered at once. As in go-ethereum,
//     sending it again is refused: "already known" while it is pending
//     (pooled, or executed in the open block), "nonce too low: …" once it
//     is in a sealed block.
//   - eth_sendRawTransactionSync and realtime_sendRawTransaction
//     (EIP-7966) return the receipt once the block holding the transaction
//     is sealed and durable; past the timeout they fail with code 4 and
//     the transaction hash as data. Sent again, the same transaction gets
//     its receipt (a client retrying an undecided send needs it), never a
//     second execution. A sync send to a fullnode is forwarded, and its
//     receipt comes back once the fullnode holds the receipt's block (at
//     most MaxForwardCatchUp, 2 s), so that the wallet's next read there
//     finds it.
//   - eth_call and eth_estimateGas run with the call's value, which the
//     sender's balance must cover (as in go-ethereum, gas costs nothing
//     in a call).
//   - eth_call and eth_estimateGas take go-ethereum's state overrides
//     (nonce, code, balance, state, stateDiff, movePrecompileToAddress)
//     and block overrides (number, time, gasLimit, feeRecipient,
//     prevRandao, baseFeePerGas, blobBaseFee; difficulty a no-op;
//     beaconRoot and withdrawals refused), at most api.MaxOverrides bytes
//     of JSON, with go-ethereum's errors (-32000 "account 0x… has both
//     'state' and 'stateDiff'", …) (overrides.go); so does debug_traceCall,
//     in its configuration's stateOverrides and blockOverrides.
//   - eth_createAccessList (overrides.go) answers go-ethereum's
//     {accessList, gasUsed, error}: the call run under go-ethereum's
//     access list tracer until the list settles, sender, recipient and
//     precompiles left out; it takes state overrides, and reads no
//     accessList argument (the list starts empty).
//   - eth_simulateV1 (simulate.go; node/ledger runs it) answers
//     go-ethereum's blocks with their "calls", with its limits (256
//     blocks, 5,000 calls a block, 10,000 in all), error codes (-38010 …
//     -38026, 3 and -32015 in a call's result), validation mode and
//     traceTransfers; the gas of all its calls is bounded by GasCap (at
//     most the node's 50,000,000). A simulated block's stateRoot is zero
//     (a view keeps no trie), so its hash is not the one geth gives.
//   - eth_gasPrice is the next block's base fee plus a 1 gwei tip, which
//     eth_maxPriorityFeePerGas returns. eth_feeHistory covers sealed
//     blocks only (latest and pending: the newest sealed block), at most
//     1024 of them, 128 when it computes rewards.
//   - The block helpers (blocks.go) read the same sealed block
//     eth_getBlockBy* returns: eth_getBlockTransactionCountBy*,
//     eth_get(Raw)TransactionByBlock*AndIndex, eth_getHeaderBy*,
//     eth_getBlockReceipts (receipts whose root is the header's), the
//     uncle methods (no uncles: counts 0, uncles null), and null for a
//     block not sealed. eth_getRawTransactionByHash answers an executed
//     transaction's encoding ("0x" otherwise). eth_accounts is empty (the
//     node holds no keys); net_peerCount the libp2p peers connected.
//     This chain refuses blob transactions, so eth_blobBaseFee and
//     eth_feeHistory's baseFeePerBlobGas are the minimum, 1 wei, and its
//     blobGasUsedRatio zeros.
//   - eth_getProof (proof.go) proves accounts and slots against the newest
//     sealed block's state root, which latest, pending and safe name; a
//     node keeps the tries of that state only, so another block is refused
//     (-32000 naming the newest sealed block).
//   - meganode_getBlockWitness (meganode.go) answers a sealed block's
//     witness, go-ethereum's RLP encoding, from the sequencer, which keeps
//     those DA has not taken and 64 blocks more; meganode_getAttestations
//     the provers' signed attestations of a block a fullnode accepted
//     (from 1024 blocks below the finalized one up), one per prover; the
//     sequencer, which does not track finality, refuses it as it refuses
//     the finalized tag.
//   - txpool_status, txpool_content and txpool_contentFrom (txpool.go)
//     show the sequencer's pool as of its last mini-block, in geth's
//     shapes: the sequencer runs a transaction as soon as it can, so the
//     pool holds only pending ones waiting for room or a lower base fee
//     and queued ones behind a nonce gap. A fullnode's pool is empty.
//   - Sends to a node with Config.Forward set (a fullnode; the devnet
//     sets it) pass the checks below there, then go to the sequencer's
//     JSON-RPC (forward.go), whose answer or error comes back unchanged.
//   - Subscriptions (eth_subscribe): newHeads (a header per sealed block),
//     logs (a sealed block's logs, with its hash, as it seals), miniBlocks and stateChanges
//     (one object per mini-block), newPendingTransactions (each
//     transaction as it executes, which is on arrival; with fullTx the
//     object), and syncing (live and quiet: a node never enters a sync
//     mode, as eth_syncing says). A subscriber that falls too far behind
//     stops getting notifications. A server holds at most
//     Config.MaxSubscriptions live subscriptions (240, below the node's
//     256 mini-block subscribers), a connection
//     Config.MaxSubscriptionsPerConn (128); past either, eth_subscribe
//     fails with -32000 "too many subscriptions: limit N" (with "per
//     connection" for the second).
//   - Filters (filters.go), polled with eth_getFilterChanges, which hands
//     over each item once: eth_newFilter collects the logs it selects of
//     each block as it seals (as the logs subscription does, each with its
//     block's hash; numbered fromBlock and toBlock bound the logs' block
//     numbers, and a
//     block hash applies only to eth_getFilterLogs, which runs the query
//     as eth_getLogs); eth_newBlockFilter the hash of each sealed block;
//     eth_newPendingTransactionFilter the hash (with fullTx, the object)
//     of each transaction as it executes, which is on arrival. A filter
//     not polled for Config.FilterTimeout (5 min) is removed; one that
//     would hold more than Config.MaxFilterItems unpolled items (10,000)
//     is dropped, and the next call on it fails with "filter dropped: …";
//     an unknown, removed or expired id gets -32000 "filter not found".
//     At most Config.MaxFilters filters (256) exist at once ("too many
//     filters: limit N"). The filters share one mini-block subscription
//     to the node; if it is lost (the server fell too far behind), every
//     filter is dropped.
//   - Tracing (debug.go): debug_traceTransaction, debug_traceCall,
//     debug_traceBlockByNumber and debug_traceBlockByHash take
//     go-ethereum's TraceConfig (TraceCallConfig) and answer with
//     go-ethereum's own tracers, run by the node: the struct logger when
//     no tracer is named, else callTracer, prestateTracer or any native
//     tracer of tracers.DefaultDirectory (not JavaScript ones); a block's
//     trace is [{txHash, result}]. A transaction of a sealed block is
//     traced on the state it ran on, in its block; one of the open block is
//     not found yet, as its receipt is not, and neither is an open block
//     ("block #N not found"). debug_traceCall runs where eth_call runs, with its state
//     and block overrides applied as eth_call's; txIndex is refused
//     (-32602 "txIndex is not supported yet"). The timeout (default 5 s) bounds the whole
//     call, a block's transactions together, within the node's read
//     timeout; past it the call fails with -32000 "execution timeout".
//
// Errors carry go-ethereum's codes and messages: -32000 for refused
// transactions and state errors, -32602 for invalid parameters, -32601 for
// unknown methods, 3 with the revert data for reverted calls, 4 for sync
// sends that timed out.
//
// go-ethereum's protections (guard.go), with its defaults and messages,
// all -32000: a send whose fee, fee cap × gas, exceeds Config.TxFeeCap
// (--rpc.txfeecap, 1 ether) is refused with "tx fee (X ether) exceeds the
// configured cap (Y ether)", then one without EIP-155 replay protection,
// unless Config.AllowUnprotectedTxs (--rpc.allow-unprotected-txs), with
// "only replay-protected (EIP-155) transactions allowed over RPC". The
// sequencer refuses a tip below its minimum (--miner.gasprice, 1 wei: a
// zero tip is refused) with "transaction gas price below minimum: gas tip
// cap X, minimum needed Y", and a fee cap below the base fee with "max
// fee per gas less than block base fee: …". eth_call and eth_estimateGas
// naming more gas than Config.GasCap (--rpc.gascap, 50,000,000) are
// capped, with go-ethereum's warning in the log, not refused; naming none,
// they get the cap. The node bounds a call's gas at 50,000,000 on its own
// (exec.DefaultCallGas), so a higher cap, or none (0), gives no more. An
// estimate naming no gas searches up to the block gas limit (and Osaka's
// 2^24 per transaction); under a cap below 50,000,000, up to the cap,
// even above a lower block gas limit, where go-ethereum takes the lower.
//
// The package is production code (DESIGN.md §3): it runs goroutines and
// reads the clock, and the determinism lint of node/ exempts it.
package rpc
