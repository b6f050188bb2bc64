package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// nodeClientDir is clients/node, relative to this package's directory
// (where go test runs).
var nodeClientDir = filepath.Join("..", "..", "clients", "node")

// nodeClientSummary is the line clients/node/erc20.mjs prints on success.
var nodeClientSummary = regexp.MustCompile(`node client: deployed \S+ at 0x[0-9a-fA-F]{40}, 20 transfers confirmed in [0-9.]+ s, recipient balance 20\b`)

// TestNodeClientAgainstDevnet drives a devnet of separate processes with a
// second, independent client: clients/node/erc20.mjs, on Node.js and
// ethers v6, deploys an ERC-20, sends 20 transfers and checks the balances.
func TestNodeClientAgainstDevnet(t *testing.T) {
	if testing.Short() && os.Getenv("MEGANODE_E2E") == "0" {
		t.Skip("MEGANODE_E2E=0")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node (Node.js) is not on PATH: skipping the Node.js client (ethers) test")
	}
	if _, err := os.Stat(filepath.Join(nodeClientDir, "node_modules", "ethers")); err != nil {
		t.Skipf("ethers is not installed in %s: run make node-client", nodeClientDir)
	}

	c := startCluster(t, 1, 1)
	c.dial("sequencer", false).Close()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, node, filepath.Join(nodeClientDir, "erc20.mjs"), "--rpc", "http://"+c.node("sequencer").RPC)
	out, err := cmd.CombinedOutput()
	t.Logf("node clients/node/erc20.mjs (%v):\n%s", time.Since(start).Round(time.Millisecond), out)
	if ctx.Err() != nil {
		t.Fatalf("the Node.js client did not finish within 60 s: %v", err)
	}
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("the Node.js client exited %d", exit.ExitCode())
		}
		t.Fatalf("running the Node.js client: %v", err)
	}
	if !nodeClientSummary.Match(out) {
		t.Fatalf("no summary line matching %q in the Node.js client's output", nodeClientSummary)
	}
}
