// Package contracts holds the Solidity workload contracts used by property
// tests, benchmarks and, later, the simulator's workloads.
//
// The sources live in src/ (Token, AMM, Factory with its Child, Probe). They
// are compiled once by build.sh with the solc version pinned in
// package-lock.json (evmVersion cancun, optimizer on, 200 runs), and the
// outputs in build/*.json are committed and embedded here, so Go builds and
// tests never need node or solc. Rerun build.sh after editing src/.
//
// Each contract is exposed as a *Contract (ABI, creation and runtime code).
// Typed helpers build calldata and deployment code, and the slot helpers in
// slots.go give the storage keys of each contract's documented storage layout
// so a test can build genesis state by writing storage directly instead of
// executing transactions.
package contracts
