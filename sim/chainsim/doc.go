// Package chainsim is the chain profile of the simulator (the default of
// megasim): one sequencer and 2–5 fullnodes built from the real node code,
// clients sending ETH transfers, ERC-20 transfers, AMM swaps, deployments,
// reverting calls and every kind of bad input, and reading from every
// node, under every fault the world injects.
//
// At the end of each run it checks P1 (porcupine over the sequencer's sync
// sends and latest reads, with model.APIModel partitioned by account
// group), P2 (every read equals the chain's state at the height it was
// served at; latest reads monotonic per client and node), P3 (re-execution
// of the sequencer's chain on go-ethereum's StateDB; every fullnode's root
// equals the sequencer's), P4 (every acknowledged receipt is in the final
// chain), P8 (no two nodes hold different mini-blocks at a height); the
// world checks P6 (liveness after heal) and tests check P7 (determinism).
package chainsim
