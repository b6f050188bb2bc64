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
