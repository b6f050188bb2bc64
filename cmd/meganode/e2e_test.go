package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/meganode/meganode/model/contracts"
)

// cluster is a devnet of separate meganode processes started by a test.
type cluster struct {
	t     *testing.T
	bin   string
	dir   string
	plan  *devnetPlan
	mu    sync.Mutex
	procs map[string]*proc
}

type proc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once it exited
}

// buildBinary builds meganode once per test run.
var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func meganodeBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "meganode-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "meganode")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// freePorts finds n consecutive free TCP ports on 127.0.0.1.
func freePorts(t *testing.T, n int) int {
	t.Helper()
	base, err := freePortRange(n)
	if err != nil {
		t.Fatal(err)
	}
	return base
}

func startCluster(t *testing.T, fullnodes, provers int) *cluster {
	return startGroupCluster(t, 1, fullnodes, provers)
}

// startGroupCluster is startCluster with sequencers sequencers (more than
// one: a raft group).
func startGroupCluster(t *testing.T, sequencers, fullnodes, provers int) *cluster {
	t.Helper()
	bin := meganodeBinary(t)
	dir := t.TempDir()
	nodes := sequencers + 1 + fullnodes + provers
	base := freePorts(t, 3*nodes+2)
	out, err := exec.Command(bin, "devnet", "--prepare-only", "--dir", dir, "--sequencers", fmt.Sprint(sequencers),
		"--fullnodes", fmt.Sprint(fullnodes), "--provers", fmt.Sprint(provers),
		"--rpc-port", fmt.Sprint(base), "--p2p-port", fmt.Sprint(base+nodes+1), "--metrics-port", fmt.Sprint(base+2*nodes+1),
		"--mini-blocks-per-block", "20").CombinedOutput()
	if err != nil {
		t.Fatalf("devnet --prepare-only: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "devnet.json"))
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, bin: bin, dir: dir, plan: new(devnetPlan), procs: map[string]*proc{}}
	if err := json.Unmarshal(raw, c.plan); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.plan.Nodes {
		c.start(n.Name)
	}
	t.Cleanup(c.stopAll)
	return c
}

func (c *cluster) node(name string) devnetNode {
	for _, n := range c.plan.Nodes {
		if n.Name == name {
			return n
		}
	}
	c.t.Fatalf("no node %s", name)
	return devnetNode{}
}

func (c *cluster) start(name string) {
	c.t.Helper()
	n := c.node(name)
	logf, err := os.OpenFile(n.Log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(c.bin, n.Role, "--config", n.Config)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(p.done) }()
	c.mu.Lock()
	c.procs[name] = p
	c.mu.Unlock()
}

// requireAlive fails the test if a node's process has exited.
func (c *cluster) requireAlive() {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, p := range c.procs {
		select {
		case <-p.done:
			c.t.Fatalf("%s exited: %v", name, p.cmd.ProcessState)
		default:
		}
	}
}

// kill9 kills a node the hard way: nothing unsynced survives.
func (c *cluster) kill9(name string) {
	c.mu.Lock()
	p := c.procs[name]
	c.mu.Unlock()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		c.t.Fatalf("%s survived kill -9", name)
	}
}

func (c *cluster) stopAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.procs {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.After(10 * time.Second)
	for name, p := range c.procs {
		select {
		case <-p.done:
			if !p.cmd.ProcessState.Success() && !c.t.Failed() {
				c.t.Errorf("%s did not stop cleanly on SIGTERM: %v", name, p.cmd.ProcessState)
			}
		case <-deadline:
			_ = p.cmd.Process.Kill()
			c.t.Errorf("%s did not stop within 10 s of SIGTERM", name)
		}
	}
	if c.t.Failed() {
		for _, n := range c.plan.Nodes {
			if raw, err := os.ReadFile(n.Log); err == nil {
				lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
				c.t.Logf("--- %s log, last lines:\n%s", n.Name, strings.Join(lines[max(0, len(lines)-15):], "\n"))
			}
		}
	}
}

func (c *cluster) dial(name string, ws bool) *gethrpc.Client {
	c.t.Helper()
	url := "http://" + c.node(name).RPC
	if ws {
		url = "ws://" + c.node(name).RPC
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		cl, err := gethrpc.DialContext(ctx, url)
		if err == nil {
			var id hexutil.Big
			if err = cl.CallContext(ctx, &id, "eth_chainId"); err == nil {
				return cl
			}
			cl.Close()
		}
		if ctx.Err() != nil {
			c.t.Fatalf("%s does not answer JSON-RPC at %s: %v", name, url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// within polls cond until it holds or the time is up.
func within(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type chainTx struct {
	signer  types.Signer
	chainID *big.Int
}

func (ct chainTx) sign(t *testing.T, key int, nonce uint64, to *common.Address, gas uint64, data []byte, value *big.Int) []byte {
	t.Helper()
	if value == nil {
		value = new(big.Int)
	}
	tx := types.MustSignNewTx(DevKey(key), ct.signer, &types.DynamicFeeTx{ChainID: ct.chainID, Nonce: nonce,
		GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(100 * params.GWei), Gas: gas, To: to, Value: value, Data: data})
	raw, err := tx.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestDevnetEndToEnd runs a devnet of separate processes and drives it
// with go-ethereum's own client: an ERC-20 deployed and used,
// eth_sendRawTransactionSync, real-time reads on a fullnode, the
// miniBlocks subscription, a kill -9 of the sequencer under load with no
// acknowledged transaction lost and the fullnodes converging, and
// finality from the provers' attestations.
func TestDevnetEndToEnd(t *testing.T) {
	if testing.Short() && os.Getenv("MEGANODE_E2E") == "0" {
		t.Skip("MEGANODE_E2E=0")
	}
	c := startCluster(t, 2, 2)
	seen := map[string]bool{}
	for _, n := range c.plan.Nodes {
		if n.RPC != "" && seen[n.RPC] {
			t.Fatalf("two nodes share RPC address %s", n.RPC)
		}
		seen[n.RPC] = true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	seqRPC := c.dial("sequencer", false)
	defer seqRPC.Close()
	seq := ethclient.NewClient(seqRPC)
	fullRPC := c.dial("fullnode1", false)
	full := ethclient.NewClient(fullRPC)
	ct := chainTx{types.LatestSignerForChainID(big.NewInt(DevChainID)), big.NewInt(DevChainID)}

	// Deploy an ERC-20 with eth_sendRawTransactionSync: the answer is the receipt.
	supply := new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(params.Ether))
	var r *types.Receipt
	if err := seqRPC.CallContext(ctx, &r, "eth_sendRawTransactionSync", hexutil.Bytes(ct.sign(t, 0, 0, nil, 3_000_000, contracts.TokenDeployCode("E2E", "E2E", supply), nil))); err != nil {
		t.Fatalf("deploy: %v", err)
	}
	if r == nil || r.Status != types.ReceiptStatusSuccessful || r.ContractAddress == (common.Address{}) {
		t.Fatalf("deploy receipt %+v", r)
	}
	token := r.ContractAddress

	// The miniBlocks subscription on a fullnode delivers as blocks apply.
	ws := c.dial("fullnode1", true)
	defer ws.Close()
	mbs := make(chan map[string]any, 64)
	sub, err := ws.EthSubscribe(ctx, mbs, "miniBlocks")
	if err != nil {
		t.Fatalf("subscribe miniBlocks: %v", err)
	}
	defer sub.Unsubscribe()

	// A transfer, then a read on the fullnode at latest sees it within a
	// mini-block plus network delay.
	to := common.HexToAddress("0x00000000000000000000000000000000000e2e01")
	amount := big.NewInt(12345)
	sent := time.Now()
	if err := seqRPC.CallContext(ctx, &r, "eth_sendRawTransactionSync", hexutil.Bytes(ct.sign(t, 0, 1, &token, 100_000, contracts.TokenTransfer(to, amount), nil))); err != nil || r.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("transfer: %v %+v", err, r)
	}
	// The receipt names a block that exists (ethclient): by hash and by
	// number, holding the transaction, no newer than eth_blockNumber.
	checkReceiptBlock(t, ctx, seq, r)
	var seenAfter time.Duration
	within(t, 5*time.Second, "the fullnode sees the transfer", func() bool {
		out, err := full.CallContract(ctx, ethereum.CallMsg{To: &token, Data: contracts.TokenBalanceOf(to)}, nil)
		if err == nil && new(big.Int).SetBytes(out).Cmp(amount) == 0 {
			seenAfter = time.Since(sent)
			return true
		}
		return false
	})
	t.Logf("transfer visible on fullnode1 %v after the send", seenAfter)

	// A wallet pointed at a fullnode transacts: its send is forwarded to
	// the sequencer, and a synchronous one comes back with the receipt.
	if err := fullRPC.CallContext(ctx, &r, "eth_sendRawTransactionSync", hexutil.Bytes(ct.sign(t, 0, 2, &token, 100_000, contracts.TokenTransfer(to, amount), nil))); err != nil || r.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("transfer sent to a fullnode: %v %+v", err, r)
	}
	checkReceiptBlock(t, ctx, full, r)
	// A plain send, then ethclient's receipt poll: the first poll finds the
	// receipt, and the block it names.
	tx := new(types.Transaction)
	if err := tx.UnmarshalBinary(ct.sign(t, 0, 3, &to, 21_000, nil, big.NewInt(1))); err != nil {
		t.Fatal(err)
	}
	if err := seq.SendTransaction(ctx, tx); err != nil {
		t.Fatalf("eth_sendRawTransaction: %v", err)
	}
	pr, err := seq.TransactionReceipt(ctx, tx.Hash())
	if err != nil {
		t.Fatalf("the first receipt poll after eth_sendRawTransaction: %v", err)
	}
	checkReceiptBlock(t, ctx, seq, pr)
	checkMethods(t, ctx, c, r)
	// Every node validates gossip (signatures against the sequencer's and
	// the provers' keys): honest gossip is never rejected.
	for _, n := range c.plan.Nodes {
		if n.Metrics == "" {
			continue
		}
		_, body := httpGet(t, "http://"+n.Metrics+"/metrics")
		if !strings.Contains(body, "meganode_p2p_gossip_rejected_total") {
			t.Errorf("%s: no meganode_p2p_gossip_rejected_total in /metrics", n.Name)
		}
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, "meganode_p2p_gossip_rejected_total") && !strings.HasSuffix(line, " 0") {
				t.Errorf("%s rejected honest gossip: %s", n.Name, line)
			}
		}
	}
	select {
	case mb := <-mbs:
		if mb["number"] == nil {
			t.Fatalf("mini-block notification without a number: %v", mb)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no mini-block notification in 5 s")
	}

	// Load on the sequencer; kill -9 it in the middle; restart it.
	type ack struct {
		hash common.Hash
	}
	var acked []ack
	var mu sync.Mutex
	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for k := 1; k <= 4; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := gethrpc.DialContext(loadCtx, "http://"+c.node("sequencer").RPC)
			if err != nil {
				return
			}
			defer cl.Close()
			nonce := uint64(0)
			for loadCtx.Err() == nil {
				raw := ct.sign(t, k, nonce, &to, 21_000, nil, big.NewInt(1))
				var rr *types.Receipt
				cctx, cancel := context.WithTimeout(loadCtx, 2*time.Second)
				err := cl.CallContext(cctx, &rr, "eth_sendRawTransactionSync", hexutil.Bytes(raw))
				cancel()
				switch {
				case err == nil && rr != nil:
					mu.Lock()
					acked = append(acked, ack{rr.TxHash})
					mu.Unlock()
					nonce++
				case err != nil && strings.Contains(err.Error(), "nonce too low"):
					nonce++ // taken before the crash, its answer lost
				default:
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	c.kill9("sequencer")
	mu.Lock()
	atKill := len(acked)
	mu.Unlock()
	time.Sleep(300 * time.Millisecond)
	c.start("sequencer")
	seqRPC2 := c.dial("sequencer", false)
	defer seqRPC2.Close()
	time.Sleep(1500 * time.Millisecond)
	stopLoad()
	wg.Wait()
	if atKill == 0 || len(acked) <= atKill {
		t.Fatalf("acknowledged %d before the kill and %d in all: the load did not run on both sides", atKill, len(acked))
	}
	t.Logf("%d transfers acknowledged, %d of them before the kill -9", len(acked), atKill)
	seq2 := ethclient.NewClient(seqRPC2)
	clients := map[string]*ethclient.Client{"sequencer": seq2}
	for _, name := range []string{"fullnode1", "fullnode2"} {
		clients[name] = ethclient.NewClient(c.dial(name, false))
	}
	// Every acknowledged transaction is on every node.
	for name, cl := range clients {
		for _, a := range acked {
			within(t, 20*time.Second, fmt.Sprintf("%s holds %v", name, a.hash), func() bool {
				rr, err := cl.TransactionReceipt(ctx, a.hash)
				return err == nil && rr.Status == types.ReceiptStatusSuccessful
			})
		}
	}
	// The fullnodes converge: the same sealed block at the same height.
	var target uint64
	within(t, 20*time.Second, "a block sealed after the load", func() bool {
		n, err := seq2.BlockNumber(ctx)
		target = n
		return err == nil && n > 0
	})
	var want common.Hash
	for name, cl := range clients {
		within(t, 20*time.Second, name+" reaches block "+fmt.Sprint(target), func() bool {
			h, err := cl.HeaderByNumber(ctx, new(big.Int).SetUint64(target))
			if err != nil {
				return false
			}
			if want == (common.Hash{}) {
				want = h.Root
			}
			if h.Root != want {
				t.Fatalf("%s holds block %d with root %v, another node %v", name, target, h.Root, want)
			}
			return true
		})
	}
	// The provers' attestations finalize blocks, on every fullnode.
	for _, name := range []string{"fullnode1", "fullnode2"} {
		within(t, 30*time.Second, name+" finalizes a block", func() bool {
			h, err := clients[name].HeaderByNumber(ctx, big.NewInt(int64(gethrpc.FinalizedBlockNumber)))
			return err == nil && h.Number.Uint64() > 0
		})
	}
	c.requireAlive()
	_ = seq
	_ = crypto.PubkeyToAddress
}

// checkMethods calls every method of the eth namespace geth serves that
// meganode added for standard clients, and the debug and txpool ones, on
// the sequencer and on a fullnode of a running devnet: each must answer
// (not "method not found"), after r's block seals.
func checkMethods(t *testing.T, ctx context.Context, c *cluster, r *types.Receipt) {
	t.Helper()
	fn := c.dial("fullnode1", false)
	defer fn.Close()
	within(t, 10*time.Second, "the transfer's block seals on fullnode1", func() bool {
		var n hexutil.Uint64
		return fn.CallContext(ctx, &n, "eth_blockNumber") == nil && uint64(n) >= r.BlockNumber.Uint64()
	})
	num, tx := hexutil.EncodeBig(r.BlockNumber), r.TxHash
	var block struct {
		Hash common.Hash `json:"hash"`
	}
	seq := c.dial("sequencer", false)
	defer seq.Close()
	if err := seq.CallContext(ctx, &block, "eth_getBlockByNumber", num, false); err != nil {
		t.Fatal(err)
	}
	filter := map[string]any{"fromBlock": "latest"}
	calls := []struct {
		method string
		args   []any
	}{
		{"eth_newFilter", []any{filter}}, {"eth_newBlockFilter", nil}, {"eth_newPendingTransactionFilter", nil},
		{"eth_getBlockReceipts", []any{num}}, {"eth_getTransactionByBlockNumberAndIndex", []any{num, "0x0"}},
		{"eth_getTransactionByBlockHashAndIndex", []any{block.Hash, "0x0"}}, {"eth_getBlockTransactionCountByNumber", []any{num}},
		{"eth_getBlockTransactionCountByHash", []any{block.Hash}}, {"eth_getRawTransactionByHash", []any{tx}},
		{"eth_getRawTransactionByBlockNumberAndIndex", []any{num, "0x0"}}, {"eth_getHeaderByNumber", []any{num}},
		{"eth_getHeaderByHash", []any{block.Hash}}, {"eth_getUncleCountByBlockNumber", []any{num}},
		{"eth_getUncleCountByBlockHash", []any{block.Hash}}, {"eth_getUncleByBlockNumberAndIndex", []any{num, "0x0"}},
		{"eth_getUncleByBlockHashAndIndex", []any{block.Hash, "0x0"}}, {"eth_accounts", nil}, {"net_peerCount", nil},
		{"eth_blobBaseFee", nil}, {"eth_feeHistory", []any{"0x2", "latest", []float64{50}}},
		{"debug_traceTransaction", []any{tx, map[string]any{"tracer": "callTracer"}}},
		{"debug_traceCall", []any{map[string]any{"to": r.ContractAddress}, "latest", map[string]any{"tracer": "callTracer"}}},
		{"debug_traceBlockByNumber", []any{num, map[string]any{"tracer": "callTracer"}}},
		{"debug_traceBlockByHash", []any{block.Hash, map[string]any{"tracer": "callTracer"}}},
		{"txpool_status", nil}, {"txpool_content", nil},
		{"eth_getProof", []any{common.Address{1}, []string{"0x0"}, "latest"}},
	}
	for _, node := range []string{"sequencer", "fullnode1"} {
		cl := c.dial(node, false)
		for _, call := range calls {
			var out json.RawMessage
			if err := cl.CallContext(ctx, &out, call.method, call.args...); err != nil {
				t.Errorf("%s on %s: %v", call.method, node, err)
			}
		}
		// The filters poll and uninstall.
		var id string
		if err := cl.CallContext(ctx, &id, "eth_newBlockFilter"); err != nil {
			t.Fatal(err)
		}
		var changes json.RawMessage
		var removed bool
		if err := cl.CallContext(ctx, &changes, "eth_getFilterChanges", id); err != nil {
			t.Errorf("eth_getFilterChanges on %s: %v", node, err)
		}
		if err := cl.CallContext(ctx, &changes, "eth_getFilterLogs", id); err == nil || !strings.Contains(err.Error(), "filter not found") {
			t.Errorf("eth_getFilterLogs of a block filter on %s: %v", node, err)
		}
		if err := cl.CallContext(ctx, &removed, "eth_uninstallFilter", id); err != nil || !removed {
			t.Errorf("eth_uninstallFilter on %s: %v %v", node, removed, err)
		}
		cl.Close()
	}
	// eth_simulateV1: a transfer from an account its state override funds,
	// on the latest block, on both nodes.
	payer := common.Address{0x5e}
	simOpts := map[string]any{"blockStateCalls": []any{map[string]any{
		"stateOverrides": map[string]any{payer.Hex(): map[string]any{"balance": "0xde0b6b3a7640000"}},
		"calls":          []any{map[string]any{"from": payer, "to": common.Address{0x5f}, "value": "0x1"}},
	}}}
	for _, node := range []string{"sequencer", "fullnode1"} {
		cl := c.dial(node, false)
		var sim []struct {
			Calls []struct {
				Status  hexutil.Uint64 `json:"status"`
				GasUsed hexutil.Uint64 `json:"gasUsed"`
			} `json:"calls"`
		}
		if err := cl.CallContext(ctx, &sim, "eth_simulateV1", simOpts, "latest"); err != nil {
			t.Errorf("eth_simulateV1 on %s: %v", node, err)
		} else if len(sim) != 1 || len(sim[0].Calls) != 1 || sim[0].Calls[0].Status != 1 || sim[0].Calls[0].GasUsed != 21_000 {
			t.Errorf("eth_simulateV1 on %s: %+v, want one transfer of 21000 gas", node, sim)
		}
		cl.Close()
	}
	// The witness is the sequencer's (and DA's), the attestations a
	// fullnode's; each names where to ask otherwise.
	var witness hexutil.Bytes
	if err := seq.CallContext(ctx, &witness, "meganode_getBlockWitness", num); err != nil || len(witness) == 0 {
		t.Errorf("meganode_getBlockWitness on the sequencer: %v", err)
	}
	var atts []map[string]any
	if err := fn.CallContext(ctx, &atts, "meganode_getAttestations", num); err != nil {
		t.Errorf("meganode_getAttestations on fullnode1: %v", err)
	}
	if err := seq.CallContext(ctx, &atts, "meganode_getAttestations", num); err == nil || !strings.Contains(err.Error(), "ask a fullnode (http://") {
		t.Errorf("meganode_getAttestations on the sequencer: %v", err)
	}
}

// checkReceiptBlock checks, through ethclient, that receipt r names a block
// the node serves: by hash and by number, with r's hash, holding r's
// transaction, and no newer than the node's eth_blockNumber.
func checkReceiptBlock(t *testing.T, ctx context.Context, cl *ethclient.Client, r *types.Receipt) {
	t.Helper()
	if r.BlockHash == (common.Hash{}) {
		t.Fatalf("receipt of %v with a zero block hash", r.TxHash)
	}
	b, err := cl.BlockByHash(ctx, r.BlockHash)
	if err != nil || b.Transaction(r.TxHash) == nil {
		t.Fatalf("block %v of the receipt of %v: %v", r.BlockHash, r.TxHash, err)
	}
	h, err := cl.HeaderByNumber(ctx, r.BlockNumber)
	if err != nil || h.Hash() != r.BlockHash {
		t.Fatalf("block %v by number: %v", r.BlockNumber, err)
	}
	if n, err := cl.BlockNumber(ctx); err != nil || n < r.BlockNumber.Uint64() {
		t.Fatalf("eth_blockNumber %d (%v), behind the receipt's block %v", n, err, r.BlockNumber)
	}
}

// TestDevnetGroupFailover runs a devnet whose sequencer is a raft group of
// 3 and a wallet that sends through a fullnode (which forwards to the
// leader): the leader is killed with kill -9 under load, another member
// takes over, sends go on, and every acknowledged transaction is in the
// chain of every member and the fullnode, in the block its receipt named.
func TestDevnetGroupFailover(t *testing.T) {
	if testing.Short() && os.Getenv("MEGANODE_E2E") == "0" {
		t.Skip("MEGANODE_E2E=0")
	}
	c := startGroupCluster(t, 3, 1, 0)
	full := c.dial("fullnode1", false)
	defer full.Close()
	members := []string{"sequencer1", "sequencer2", "sequencer3"}
	for _, m := range members {
		c.dial(m, false).Close()
	}
	ct := chainTx{signer: types.LatestSignerForChainID(big.NewInt(DevChainID)), chainID: big.NewInt(DevChainID)}
	to := common.HexToAddress("0x5000000000000000000000000000000000000005")
	type ack struct {
		hash  common.Hash
		block common.Hash
	}
	var (
		mu     sync.Mutex
		acks   []ack
		failed int
	)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for key := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var nonce uint64
			for ctx.Err() == nil {
				raw := ct.sign(t, key, nonce, &to, 21_000, nil, big.NewInt(1))
				var r struct {
					TxHash    common.Hash `json:"transactionHash"`
					BlockHash common.Hash `json:"blockHash"`
				}
				sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
				err := full.CallContext(sctx, &r, "eth_sendRawTransactionSync", hexutil.Bytes(raw))
				scancel()
				if err != nil {
					mu.Lock()
					failed++
					mu.Unlock()
					var n hexutil.Uint64
					if full.CallContext(context.Background(), &n, "eth_getTransactionCount", crypto.PubkeyToAddress(DevKey(key).PublicKey), "latest") == nil {
						nonce = uint64(n)
					}
					time.Sleep(50 * time.Millisecond)
					continue
				}
				mu.Lock()
				acks = append(acks, ack{r.TxHash, r.BlockHash})
				mu.Unlock()
				nonce++
			}
		}()
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(acks) }
	within(t, 30*time.Second, "acknowledged sends before the kill", func() bool { return count() >= 20 })
	leaderURL, err := groupLeaderRPC(c.plan, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var leader string
	for _, m := range members {
		if "http://"+c.node(m).RPC == leaderURL {
			leader = m
		}
	}
	before := count()
	c.kill9(leader)
	killed := time.Now()
	within(t, 15*time.Second, "acknowledged sends after the leader's kill", func() bool { return count() >= before+20 })
	mu.Lock()
	nfailed := failed
	mu.Unlock()
	t.Logf("leader %s killed; 20 more sends acknowledged %v later (%d sends failed meanwhile, retried)", leader, time.Since(killed).Round(time.Millisecond), nfailed)
	newLeader, err := groupLeaderRPC(c.plan, 10*time.Second)
	if err != nil || newLeader == leaderURL {
		t.Fatalf("after the kill the leader is %s (%v), the killed one was %s", newLeader, err, leaderURL)
	}
	c.start(leader) // it rejoins as a follower
	cancel()
	wg.Wait()
	mu.Lock()
	got := slices.Clone(acks)
	mu.Unlock()
	for _, name := range append(slices.Clone(members), "fullnode1") {
		cl := ethclient.NewClient(c.dial(name, false))
		within(t, 20*time.Second, name+" holds every acknowledged transaction", func() bool {
			for _, a := range got {
				r, err := cl.TransactionReceipt(context.Background(), a.hash)
				if err != nil {
					return false
				}
				if r.BlockHash != a.block {
					t.Fatalf("%s: transaction %v is in block %v, its receipt said %v", name, a.hash, r.BlockHash, a.block)
				}
			}
			return true
		})
		cl.Close()
	}
	c.requireAlive()
}
