// Command megabench measures meganode's execution path on an ERC-20
// transfer workload and prints one figure per line on stdout, as
// "name value unit"; notes and progress go to stderr.
//
//	megabench [-n 20000] [-reps 3] [-witness-txs 200] [-witness-blocks 5] [-only REGEXP] [-cpuprofile FILE]
//
// The workload: a genesis with 10,000 funded EOAs (keys derived from
// keccak256 of a counter) that each hold tokens of an ERC-20 installed at a
// fixed address, and n transfers between random distinct holders
// (deterministic seed), signed DynamicFeeTxs of 60k gas, pre-built and
// pre-signed before any timing, executed as mini-blocks of 1,000 transfers.
// Before timing, every transfer runs through both meganode's executor and
// go-ethereum's StateDB (model.Reference); every receipt must be
// successful and equal on both and the state roots equal after the first
// mini-block and at the end, or megabench exits non-zero.
//
// Figures (each the median of -reps runs, on one core unless named
// _allcores; none includes state-root work unless named with_root or root):
//
//	exec_erc20_per_s                    exec.Block.ApplyTx per transfer + Flush per mini-block, senders recovered
//	exec_erc20_with_ecrecover_per_s     the same on freshly decoded transactions: ApplyTx pays ecrecover
//	exec_erc20_with_root_per_s          exec_erc20_per_s plus state.Mem.Root after every mini-block
//	geth_statedb_erc20_per_s            model.Reference (go-ethereum StateDB + core.ApplyTransaction), senders recovered
//	geth_statedb_erc20_with_root_per_s  the same plus the StateDB's IntermediateRoot after every 1,000 transfers
//	diff_bytes_per_erc20                framed encoded mini-block (Flush) diff, bytes per transfer
//	diff_bytes_per_erc20_zstd           the same compressed with zstd (default level, each mini-block alone)
//	diff_bytes_per_erc20_per_tx_diffs   mean framed encoded size of the per-transaction diffs ApplyTx returns
//	diff_apply_per_s                    transfers' worth of mini-block diffs applied by state.Mem.Apply, no root
//	root_key_updates_per_s              state.Mem.Root after every 10 mini-blocks, per distinct account and slot changed
//	root_key_updates_per_s_allcores     the same with GOMAXPROCS at the CPU count
//	witness_bytes_per_block             RLP-encoded witness (go-ethereum's core/stateless encoding) of a sealed block, as gossiped in its bundle
//	witness_bytes_per_tx                the same per transfer
//	witness_nodes_per_block             trie nodes (account and storage tries) in that witness
//	geth_witness_bytes_per_block        go-ethereum's own witness of the same block, RLP-encoded
//	geth_witness_nodes_per_block        its trie nodes
//	prover_validate_ms_per_block        wall time of prover.Validate on the block's bundle (which includes core.ExecuteStateless)
//	geth_stateless_ms_per_block         wall time of go-ethereum's core.ExecuteStateless alone on the same block and witness
//
// The witness figures run a real sequencer (sequencer.New over the same
// genesis, driven by hand through a node.Env whose clock moves only when
// megabench moves it): the first -witness-txs × -witness-blocks transfers
// are sent through its client API (api.MethodSendTx), spread evenly over
// the 10 mini-blocks of each sealed block, and each block's bundle is taken
// as gossiped on chain.TopicBlocks. go-ethereum's witness of the same
// block is built the way its blockchain builds one: a StateDB over a trie
// database holding the pre-state, stateless.NewWitness and
// StartPrefetcher, its StateProcessor, then ValidateState (whose
// IntermediateRoot collects the trie nodes). Untimed, both witnesses must
// make core.ExecuteStateless reach the sealed header's roots. Sizes are
// means over the blocks; the two times are medians over the blocks, each
// on a freshly opened bundle, so each pays for recovering the senders once.
package main
