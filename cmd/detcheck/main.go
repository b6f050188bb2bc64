// Command detcheck runs the determinism checker (internal/detcheck) over the
// packages named on its command line:
//
//	go run ./cmd/detcheck ./node/...
//
// It reports map iteration whose order can leak, the wall clock, goroutines,
// the global random source and the real world (os, net, syscall, ...), one
// file:line:col each, and exits non-zero if it reported anything; -help
// lists the rules and how to justify a map range.
//
// Unlike other singlechecker commands it leaves test files out unless told
// -test: tests may use the real world. Note that ./node/... takes in
// node/runtime and node/rpc, the production runtime, which may do all of
// that and which node/lint_test.go leaves out; to leave them out here too,
//
//	go run ./cmd/detcheck $(go list ./node/... | grep -v -e /node/runtime -e /node/rpc)
package main

import (
	"os"
	"strings"

	"github.com/meganode/meganode/internal/detcheck"
	"golang.org/x/tools/go/analysis/singlechecker"
)

func main() {
	// Default -test to false, unless go vet drives the command
	// (-vettool), which passes its own flags and a .cfg file.
	vet := false
	for _, arg := range os.Args[1:] {
		name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if strings.HasPrefix(arg, "-") && (name == "test" || name == "V" || name == "flags") || strings.HasSuffix(arg, ".cfg") {
			vet = true
			break
		}
	}
	if !vet {
		os.Args = append([]string{os.Args[0], "-test=false"}, os.Args[1:]...)
	}
	singlechecker.Main(detcheck.Analyzer)
}
