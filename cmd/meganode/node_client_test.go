package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/meganode/meganode/model/contracts"
)

// nodeClientDir is clients/node, relative to this package's directory
// (where go test runs).
var nodeClientDir = filepath.Join("..", "..", "clients", "node")

// nodeClientSummary is the line clients/node/erc20.mjs prints on success.
var nodeClientSummary = regexp.MustCompile(`node client: deployed \S+ at 0x[0-9a-fA-F]{40}, 20 transfers confirmed in [0-9.]+ s, recipient balance 20\b`)

// The dev accounts each client uses, so that they can run at once.
const (
	erc20Account     = 0
	ethersAPIAccount = 1 // and 2, for the send through the fullnode
	web3Account      = 3
	castAccount      = 4
)

// TestNodeClientAgainstDevnet drives one devnet of separate processes
// (sequencer, DA, a fullnode, a prover) with independent clients, at once:
//   - clients/node/erc20.mjs (ethers v6) deploys an ERC-20, sends 20
//     transfers and checks the balances;
//   - clients/node/ethers-api.mjs (ethers v6) checks contract events over
//     HTTP filters, eth_getProof against the state root, the callTracer,
//     txpool_status, eth_getBlockReceipts, a send through the fullnode and
//     eth_call's state override;
//   - clients/node/web3.mjs (web3.js v4) sends with sendSignedTransaction
//     and reads blocks, balances, calls, receipts and logs;
//   - Foundry's cast (the npm package's binary) sends, reads a receipt,
//     calls balanceOf and reads the latest block.
func TestNodeClientAgainstDevnet(t *testing.T) {
	if testing.Short() && os.Getenv("MEGANODE_E2E") == "0" {
		t.Skip("MEGANODE_E2E=0")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node (Node.js) is not on PATH: skipping the Node.js client (ethers, web3.js, cast) tests")
	}
	for _, pkg := range []string{"ethers", "web3", filepath.Join("@ethereumjs", "mpt")} {
		if _, err := os.Stat(filepath.Join(nodeClientDir, "node_modules", pkg)); err != nil {
			t.Skipf("%s is not installed in %s: run make node-client (needs npm)", pkg, nodeClientDir)
		}
	}

	c := startCluster(t, 1, 1)
	c.dial("sequencer", false).Close()
	c.dial("fullnode1", false).Close()
	seq := "http://" + c.node("sequencer").RPC
	full := "http://" + c.node("fullnode1").RPC

	t.Run("erc20", func(t *testing.T) {
		t.Parallel()
		out := runNodeScript(t, node, "erc20.mjs", "--rpc", seq, "--key", fmt.Sprintf("%x", crypto.FromECDSA(DevKey(erc20Account))))
		if !nodeClientSummary.Match(out) {
			t.Fatalf("no summary line matching %q in the Node.js client's output", nodeClientSummary)
		}
	})
	t.Run("ethers-api", func(t *testing.T) {
		t.Parallel()
		out := runNodeScript(t, node, "ethers-api.mjs", "--rpc", seq, "--fullnode-rpc", full, "--account", fmt.Sprint(ethersAPIAccount))
		for _, want := range []string{"ok events: 10 Transfer events for 10 transfers", "ok eth_getProof", "ok debug_traceTransaction", "ok txpool_status", "ok eth_getBlockReceipts", "ok fullnode send", "ok eth_call: state override", "ok wait() then getBlock()", "ok eth_call at latest runs in the latest block", "block hashes given out in receipts are still", "all checks passed"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("no %q in the output of ethers-api.mjs", want)
			}
		}
	})
	t.Run("web3", func(t *testing.T) {
		t.Parallel()
		out := runNodeScript(t, node, "web3.mjs", "--rpc", seq, "--account", fmt.Sprint(web3Account))
		for _, want := range []string{"ok getBalance", "ok getBlockNumber", "ok sendSignedTransaction: transfer confirmed in", "ok getBlock after the receipt", "ok contract call", "ok getTransactionReceipt", "ok getPastLogs", "all checks passed"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("no %q in the output of web3.mjs", want)
			}
		}
	})
	t.Run("cast", func(t *testing.T) {
		t.Parallel()
		testCast(t, seq)
	})
}

// runNodeScript runs clients/node/script with node and returns its output,
// failing the test if it fails or takes over 60 s.
func runNodeScript(t *testing.T, node, script string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join(nodeClientDir, script)}, args...)...)
	out, err := cmd.CombinedOutput()
	t.Logf("node clients/node/%s (%v):\n%s", script, time.Since(start).Round(time.Millisecond), out)
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish within 60 s: %v", script, err)
	}
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("%s exited %d", script, exit.ExitCode())
		}
		t.Fatalf("running %s: %v", script, err)
	}
	return out
}

// castBinary is Foundry's cast as npm installs it for this platform
// (@foundry-rs/cast-<os>-<arch>, an optional dependency), or "" if absent.
func castBinary() string {
	arch := map[string]string{"amd64": "amd64", "arm64": "arm64"}[runtime.GOARCH]
	p := filepath.Join(nodeClientDir, "node_modules", "@foundry-rs", "cast-"+runtime.GOOS+"-"+arch, "bin", "cast")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// testCast drives the devnet with Foundry's cast: it deploys the ERC-20
// (cast send --create), transfers (cast send), reads the transfer's receipt
// (cast receipt), the recipient's balance (cast call balanceOf) and the
// newest block (cast block latest), checking each against the node's own
// answers.
func testCast(t *testing.T, url string) {
	bin := castBinary()
	if bin == "" {
		t.Skipf("Foundry's cast is not installed for %s/%s in %s/node_modules/@foundry-rs (npm installs it on linux/amd64 only): skipping the cast checks", runtime.GOOS, runtime.GOARCH, nodeClientDir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cast := func(args ...string) []byte {
		t.Helper()
		start := time.Now()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = append(os.Environ(), "NO_COLOR=1", "FOUNDRY_DISABLE_NIGHTLY_WARNING=1")
		out, err := cmd.Output()
		t.Logf("cast %s (%v): %.300s", args[0], time.Since(start).Round(time.Millisecond), out)
		if err != nil {
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				t.Fatalf("cast %s: %v\n%s", strings.Join(args, " "), err, exit.Stderr)
			}
			t.Fatalf("cast %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	type receipt struct {
		Status          hexutil.Uint64  `json:"status"`
		TransactionHash common.Hash     `json:"transactionHash"`
		ContractAddress *common.Address `json:"contractAddress"`
		To              *common.Address `json:"to"`
		From            common.Address  `json:"from"`
		GasUsed         hexutil.Uint64  `json:"gasUsed"`
		BlockNumber     hexutil.Uint64  `json:"blockNumber"`
		Logs            []struct {
			Address common.Address `json:"address"`
			Topics  []common.Hash  `json:"topics"`
			Data    hexutil.Bytes  `json:"data"`
		} `json:"logs"`
	}
	decode := func(what string, raw []byte, v any) {
		t.Helper()
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s: %v in %q", what, err, raw)
		}
	}
	key := DevKey(castAccount)
	from := crypto.PubkeyToAddress(key.PublicKey)
	keyHex := fmt.Sprintf("0x%x", crypto.FromECDSA(key))
	ec, err := ethclient.DialContext(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer ec.Close()

	// cast send --create: the ERC-20, minting supply to the sender.
	supply := big.NewInt(1_000_000)
	var deployed receipt
	decode("cast send --create", cast("send", "--json", "--private-key", keyHex, "--rpc-url", url,
		"--create", hexutil.Encode(contracts.TokenDeployCode("Cast Token", "CAST", supply))), &deployed)
	if deployed.Status != 1 || deployed.ContractAddress == nil {
		t.Fatalf("cast send --create: status %d, contract address %v", deployed.Status, deployed.ContractAddress)
	}
	token := *deployed.ContractAddress

	// cast send: a transfer of 42 to a fresh address.
	to := common.BytesToAddress(crypto.Keccak256([]byte("cast recipient"))[:20])
	var sent receipt
	decode("cast send", cast("send", "--json", "--private-key", keyHex, "--rpc-url", url,
		token.Hex(), "transfer(address,uint256)", to.Hex(), "42"), &sent)
	if sent.Status != 1 {
		t.Fatalf("cast send transfer: status %d", sent.Status)
	}

	// cast receipt: the transfer's, as the node holds it.
	var got receipt
	decode("cast receipt", cast("receipt", "--json", "--rpc-url", url, sent.TransactionHash.Hex()), &got)
	want, err := ec.TransactionReceipt(ctx, sent.TransactionHash)
	if err != nil {
		t.Fatalf("eth_getTransactionReceipt: %v", err)
	}
	transferTopic := crypto.Keccak256Hash([]byte("Transfer(address,address,uint256)"))
	switch {
	case got.Status != 1 || got.TransactionHash != sent.TransactionHash:
		t.Fatalf("cast receipt: status %d, hash %s; want 1, %s", got.Status, got.TransactionHash, sent.TransactionHash)
	case got.To == nil || *got.To != token || got.From != from:
		t.Fatalf("cast receipt: from %s to %v; want %s to %s", got.From, got.To, from, token)
	case uint64(got.GasUsed) != want.GasUsed || uint64(got.BlockNumber) != want.BlockNumber.Uint64():
		t.Fatalf("cast receipt: gas used %d in block %d; the node says %d in block %d", got.GasUsed, got.BlockNumber, want.GasUsed, want.BlockNumber)
	case len(got.Logs) != 1 || got.Logs[0].Address != token || len(got.Logs[0].Topics) != 3 || got.Logs[0].Topics[0] != transferTopic ||
		common.BytesToAddress(got.Logs[0].Topics[2].Bytes()) != to || new(big.Int).SetBytes(got.Logs[0].Data).Int64() != 42:
		t.Fatalf("cast receipt: logs %+v, want one Transfer of 42 to %s", got.Logs, to)
	}

	// cast call: balanceOf, decoded by cast.
	for _, c := range []struct {
		who  common.Address
		want string
	}{{to, "42"}, {from, "999958"}} {
		out := strings.TrimSpace(string(cast("call", "--rpc-url", url, token.Hex(), "balanceOf(address)(uint256)", c.who.Hex())))
		if f := strings.Fields(out); len(f) == 0 || f[0] != c.want {
			t.Fatalf("cast call balanceOf(%s) = %q, want %s", c.who, out, c.want)
		}
	}

	// cast block latest: the newest sealed block, as eth_getBlockByNumber
	// has it.
	before, err := ec.BlockNumber(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var block struct {
		Number    hexutil.Uint64 `json:"number"`
		Hash      common.Hash    `json:"hash"`
		StateRoot common.Hash    `json:"stateRoot"`
	}
	decode("cast block latest", cast("block", "latest", "--json", "--rpc-url", url), &block)
	if uint64(block.Number) < before {
		t.Fatalf("cast block latest: number %d, below eth_blockNumber %d read before it", block.Number, before)
	}
	header, err := ec.HeaderByNumber(ctx, new(big.Int).SetUint64(uint64(block.Number)))
	if err != nil {
		t.Fatal(err)
	}
	if block.Hash != header.Hash() || block.StateRoot != header.Root || block.Hash == (common.Hash{}) {
		t.Fatalf("cast block latest: block %d hash %s root %s; the node's header: hash %s root %s", block.Number, block.Hash, block.StateRoot, header.Hash(), header.Root)
	}
	t.Logf("cast: deployed %s, transfer %s confirmed (gas %d), balanceOf 42, latest block %d", token, sent.TransactionHash, got.GasUsed, block.Number)
}
