package detcheck_test

import (
	"testing"

	"github.com/meganode/meganode/internal/detcheck"
	"golang.org/x/tools/go/analysis/analysistest"
)

// TestAnalyzer runs detcheck over the packages under testdata/src: each
// "// want" comment is a diagnostic that must be reported on its line, and
// every other line must report nothing. Each rule's package holds cases that
// fire and cases that must not.
func TestAnalyzer(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), detcheck.Analyzer,
		"maporder", "clock", "goroutine", "globalrand", "world", "worlduse")
}
