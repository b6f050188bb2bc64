// Command conformance runs the Ethereum GeneralStateTests fixtures through
// meganode's own execution path: each case's signed transaction goes through
// node/exec (the executor the sequencer uses), its exact state diff is
// applied to a node/state world state, and that state's root and the
// transaction's logs are compared with the fixture's.
//
// It closes with one line, "N passed, M failed, K skipped", and exits
// non-zero if any case failed or the fixtures cannot be found.
//
//	conformance [-dir DIR] [-fork Cancun] [-run REGEXP] [-every N] [-j N] [-v]
//
// The fixtures are looked up in -dir, then $MEGANODE_CONFORMANCE_DIR, then
// ../shared/conformance/ethereum-tests from the repository root. Skipped
// cases are listed, each with its reason, in skip.txt beside this file.
package main
