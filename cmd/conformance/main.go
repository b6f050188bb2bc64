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

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"runtime"
)

func main() {
	var (
		dir   = flag.String("dir", "", "ethereum-tests directory (holding GeneralStateTests)")
		fork  = flag.String("fork", "Cancun", "fork whose post-states to check")
		run   = flag.String("run", "", "only cases whose path/name matches this regexp")
		every = flag.Int("every", 1, "run every Nth case only (a spread-out subset)")
		jobs  = flag.Int("j", runtime.GOMAXPROCS(0), "cases run in parallel")
		verb  = flag.Bool("v", false, "print every failing case (default: the first 50)")
	)
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: conformance [flags]\n\nRuns Ethereum GeneralStateTests through meganode's executor and state root.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	root, err := findFixtures(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		os.Exit(2)
	}
	opts := options{root: root, fork: *fork, every: *every, jobs: *jobs}
	if *run != "" {
		if opts.filter, err = regexp.Compile(*run); err != nil {
			fmt.Fprintln(os.Stderr, "conformance: -run:", err)
			os.Exit(2)
		}
	}
	res, err := runAll(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "conformance:", err)
		os.Exit(2)
	}
	for i, f := range res.failures {
		if i == 50 && !*verb {
			fmt.Printf("… and %d more failures (-v lists all)\n", len(res.failures)-50)
			break
		}
		fmt.Printf("FAIL %s: %v\n", f.name, f.err)
	}
	fmt.Printf("%d passed, %d failed, %d skipped\n", res.passed, len(res.failures), res.skipped)
	if len(res.failures) > 0 {
		os.Exit(1)
	}
}
