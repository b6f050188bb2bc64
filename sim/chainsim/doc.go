// Package chainsim is the chain profile of the simulator (the default of
// megasim): one sequencer, 2–5 fullnodes, one DA node and 2–4 provers
// built from the real node code, clients sending ETH transfers, ERC-20
// transfers, AMM swaps, deployments, reverting calls and every kind of bad
// input, and reading from every node, under every fault the world injects
// plus the proving side's own (prover crash and restart, slow provers, DA
// unreachable).
//
// At the end of each run it checks P1 (porcupine over the sequencer's sync
// sends and latest reads, with model.APIModel partitioned by account
// group), P2 (every read equals the chain's state at the height it was
// served at; latest reads monotonic per client and node), P3 (re-execution
// of the sequencer's chain on go-ethereum's StateDB; every fullnode's root
// equals the sequencer's), P4 (every acknowledged receipt is in the final
// chain), P5 (every prover attestation names a block of that re-executed
// chain with its roots, no honest block is reported, nothing doctored is
// attested or finalized), P8 (no two nodes hold different mini-blocks at a
// height); the world checks P6 (liveness after heal: fullnodes at the
// sequencer's head, and DA, every prover and every fullnode's finality at
// the block the sequencer had sealed at the heal) and tests check P7
// (determinism).
//
// The byzantine profile runs the same cluster with a sequencer that lies
// about one sealed block, signing a last mini-block whose diff or sealed
// root disagrees with execution; the run passes only if every prover
// reports it and every fullnode halts at it or stops finality before it.
package chainsim
