package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	mexec "github.com/meganode/meganode/node/exec"
)

func fixtures(t *testing.T) string {
	t.Helper()
	root, err := findFixtures("")
	if err != nil {
		t.Skipf("skipping: %v", err)
	}
	return root
}

// TestConformanceSubset runs every tenth Cancun case (spread over all
// folders) through the executor and state root; `make conformance` runs all.
func TestConformanceSubset(t *testing.T) {
	root := fixtures(t)
	res, err := runAll(options{root: root, fork: "Cancun", every: 10, jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.failures {
		t.Errorf("%s: %v", f.name, f.err)
	}
	t.Logf("%d passed, %d failed, %d skipped", res.passed, len(res.failures), res.skipped)
	if res.passed < 2000 {
		t.Fatalf("only %d cases ran; the subset should hold about 2,100", res.passed)
	}
}

// loadCase reads one real fixture to doctor in memory.
func loadCase(t *testing.T, root, file, name string) *stTest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "GeneralStateTests", file))
	if err != nil {
		t.Fatal(err)
	}
	var tests map[string]*stTest
	if err := json.Unmarshal(raw, &tests); err != nil {
		t.Fatal(err)
	}
	return tests[name]
}

// The runner must reject a fixture whose expectation we doctored: a runner
// that passes everything would otherwise look like perfect conformance.
func TestRunnerRejectsDoctoredExpectations(t *testing.T) {
	root := fixtures(t)
	cfg, _ := forkConfig("Cancun")
	ex, err := mexec.New(mexec.Config{Chain: cfg})
	if err != nil {
		t.Fatal(err)
	}
	// A case that succeeds and emits logs, and one that must be rejected.
	ok := loadCase(t, root, "stLogTests/log1_nonEmptyMem.json", "log1_nonEmptyMem")
	bad := loadCase(t, root, "stEIP1559/lowGasLimit.json", "lowGasLimit")
	if ok == nil || bad == nil {
		t.Fatal("fixtures used by this test are missing")
	}
	good := ok.Post["Cancun"][0]
	if err := runCase(ex, ok, good); err != nil {
		t.Fatalf("the genuine case must pass: %v", err)
	}
	for name, doctor := range map[string]func(p *stPost){
		"wrong root":        func(p *stPost) { p.Root[5] ^= 1 },
		"wrong logs":        func(p *stPost) { p.Logs[5] ^= 1 },
		"phantom exception": func(p *stPost) { p.ExpectException = "TransactionException.INTRINSIC_GAS_TOO_LOW" },
		"corrupt tx":        func(p *stPost) { p.TxBytes = p.TxBytes[:len(p.TxBytes)-2] },
		"tx from elsewhere": func(p *stPost) { p.TxBytes = bad.Post["Cancun"][0].TxBytes },
		"expected nothing":  func(p *stPost) { p.Root = common.Hash{} },
	} {
		p := good
		p.TxBytes = append([]byte{}, good.TxBytes...)
		doctor(&p)
		if err := runCase(ex, ok, p); err == nil {
			t.Errorf("%s: the runner accepted a doctored case", name)
		}
	}
	// A case whose transaction must be rejected passes only if it is.
	var rejected *stPost
	for i := range bad.Post["Cancun"] {
		if bad.Post["Cancun"][i].ExpectException != "" {
			rejected = &bad.Post["Cancun"][i]
			break
		}
	}
	if rejected == nil {
		t.Fatal("lowGasLimit has no rejected case")
	}
	if err := runCase(ex, bad, *rejected); err != nil {
		t.Fatalf("the genuine rejected case must pass: %v", err)
	}
	p := *rejected
	p.ExpectException = ""
	if err := runCase(ex, bad, p); err == nil || !strings.Contains(err.Error(), "unexpected error") {
		t.Fatalf("a rejected transaction that was expected to run must fail the case, got %v", err)
	}
}

// Every skip names a fixture file that exists, so the list cannot go stale.
func TestSkipListNamesRealFiles(t *testing.T) {
	root := fixtures(t)
	rules := parseSkips(skipList)
	if len(rules) == 0 {
		t.Fatal("skip list is empty or unreadable")
	}
	for _, r := range rules {
		if r.reason == "" {
			t.Errorf("skip %q has no reason", r.pattern)
		}
		file := r.pattern
		if i := strings.Index(file, ".json"); i >= 0 {
			file = file[:i+len(".json")]
		}
		if _, err := os.Stat(filepath.Join(root, "GeneralStateTests", file)); err != nil {
			t.Errorf("skip %q: %v", r.pattern, err)
		}
	}
}

func TestMissingFixturesAreAClearError(t *testing.T) {
	_, err := findFixtures(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("got %v", err)
	}
}
