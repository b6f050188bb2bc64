// Package chainsim is the chain profile of the simulator (the default of
// megasim): one sequencer, 2–5 fullnodes, one DA node and 2–4 provers
// built from the real node code, clients sending ETH transfers, ERC-20
// transfers, AMM swaps, deployments, reverting calls and every kind of bad
// input, and reading from every node, under every fault the world injects
// plus the proving side's own (prover crash and restart, slow provers, DA
// unreachable).
//
// Clients share their account group's accounts in a share of seeds (many
// clients racing on one nonce sequence), and a share of seeds bounds a
// mini-block's gas, so that the sequencer holds executable transactions
// together.
//
// At the end of each run it checks P1 (the sequencer's sync sends and
// latest reads against model.APIModel, partitioned by account group, in
// the chain's own order: properties.CheckLinearizableInOrder), P2 (every read equals the chain's state at the height it was
// served at; latest reads monotonic per client and node), P3 (re-execution
// of the sequencer's chain on go-ethereum's StateDB; every fullnode's root
// equals the sequencer's), P4 (every acknowledged receipt is in the final
// chain), P5 (every prover attestation names a block of that re-executed
// chain with its roots, no honest block is reported, nothing doctored is
// attested or finalized, and no fullnode's finality stops at a sound
// block), P8 (no two nodes hold different mini-blocks at a
// height), P9 (the sequencer runs the best executable transaction it
// holds: properties.CheckOrdering over its pool record); the world checks P6 (liveness after heal: fullnodes at the
// sequencer's head, and DA, every prover and every fullnode's finality at
// the block the sequencer had sealed at the heal) and tests check P7
// (determinism).
//
// The byzantine profiles (byzantine.go) run the same cluster with one
// byzantine actor, drawn per seed in "byzantine" and fixed in each
// "byz-<kind>": a sequencer that publishes a lie about one block, one whose
// own state transition is wrong yet self-consistent (only provers can
// catch it; fullnodes must verify a report's evidence and stop finality),
// one that gossips two signed versions of a mini-block, a prover that
// files false fault reports, a prover that attests everything, and a peer
// that floods forged, replayed and garbage messages. Each kind says what
// the honest nodes must do, checks it, and adds its line to a sweep's
// closing figures (ByzantineFigures).
package chainsim
