package main

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	mexec "github.com/meganode/meganode/node/exec"
)

// DevChainID is the devnet's chain id.
const DevChainID = 424242

// DevAccounts is how many well-known accounts the devnet's genesis funds.
const DevAccounts = 10

// DevGasLimit is the block gas limit of a devnet's genesis unless
// --gas-limit names another: 10 Ggas. A block lasts 1 s (100 intervals of
// 10 ms), and MegaETH's ceiling is 10 Ggas/s, so the limit is never what
// holds throughput back on a machine: execution is. (Ethereum's 30–60
// Mgas would cap the devnet at about 1,000 ERC-20 transfers a second.)
// Each transaction stays capped at Osaka's 2^24 gas.
const DevGasLimit = 10_000_000_000

// DevKey is the i-th well-known devnet account's key: anyone can derive
// it, so it must never hold anything of value.
func DevKey(i int) *ecdsa.PrivateKey {
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte(fmt.Sprintf("meganode devnet account %d", i))))
	if err != nil {
		panic(err)
	}
	return k
}

// devnetNode is one node of a devnet.
type devnetNode struct {
	Name    string `json:"name"`
	Role    string `json:"role"`
	ID      string `json:"peer_id"`
	Address string `json:"address"`
	P2P     string `json:"p2p"`
	RPC     string `json:"rpc,omitempty"`
	Metrics string `json:"metrics"`
	Config  string `json:"config"`
	Log     string `json:"log"`
}

// devnetPlan is what devnet writes to DIR/devnet.json.
type devnetPlan struct {
	ChainID uint64       `json:"chain_id"`
	Nodes   []devnetNode `json:"nodes"`
}

func devnet(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("devnet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sequencers := fs.Int("sequencers", 1, "sequencers: 1, or an odd number for a replicated sequencer group (raft) whose leader executes and which fails over when it is lost")
	fullnodes := fs.Int("fullnodes", 2, "fullnodes")
	provers := fs.Int("provers", 2, "provers")
	dir := fs.String("dir", "devnet", "directory for keys, configs, data and logs; an existing devnet there is started again")
	rpcPort := fs.Int("rpc-port", 8545, "the sequencer's JSON-RPC port; fullnodes take the next ones")
	p2pPort := fs.Int("p2p-port", 30300, "first libp2p port")
	metricsPort := fs.Int("metrics-port", 9100, "first metrics port")
	interval := fs.Duration("mini-block-interval", 10*time.Millisecond, "time between mini-blocks")
	perBlock := fs.Int("mini-blocks-per-block", 100, "mini-blocks per sealed block")
	logFormat := fs.String("log-format", "text", "the nodes' log format: text or json")
	gasLimit := fs.Uint64("gas-limit", DevGasLimit, "block gas limit of a new devnet's genesis (an existing devnet keeps its own)")
	prepare := fs.Bool("prepare-only", false, "write keys, genesis and configs, print the plan, and start nothing")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: meganode devnet [--sequencers N --fullnodes N --provers N] [--dir DIR] [flags]

Starts a local cluster on 127.0.0.1 as separate processes: a sequencer (or a
group of them, --sequencers 3), a DA node, fullnodes and provers. It generates their keys and a genesis that funds
well-known dev accounts, prints the RPC endpoints and the funded keys, and
runs until Ctrl-C, which stops every node gracefully.`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitFlag(err)
	}
	if *sequencers < 1 || *sequencers%2 == 0 {
		fmt.Fprintf(stderr, "meganode devnet: --sequencers %d: want 1, or an odd number (a raft group needs a majority)\n", *sequencers)
		return 2
	}
	plan, err := prepareDevnetGroup(*dir, *sequencers, *fullnodes, *provers, *rpcPort, *p2pPort, *metricsPort, *interval, *perBlock, *logFormat, *gasLimit)
	if err != nil {
		fmt.Fprintf(stderr, "meganode devnet: %v\n", err)
		return 1
	}
	printPlan(stdout, *dir, plan)
	if *prepare {
		return 0
	}
	return runDevnet(plan, nodeFlags(fs), stdout, stderr)
}

// prepareDevnet writes a devnet with one sequencer into dir, or reads the
// one there; a new devnet's genesis has block gas limit gasLimit.
func prepareDevnet(dir string, fullnodes, provers, rpcPort, p2pPort, metricsPort int, interval time.Duration, perBlock int, logFormat string, gasLimit uint64) (*devnetPlan, error) {
	return prepareDevnetGroup(dir, 1, fullnodes, provers, rpcPort, p2pPort, metricsPort, interval, perBlock, logFormat, gasLimit)
}

// prepareDevnetGroup is prepareDevnet with sequencers sequencers: more
// than one make a raft group, sequencer1…N, whose JSON-RPC ports come
// first.
func prepareDevnetGroup(dir string, sequencers, fullnodes, provers, rpcPort, p2pPort, metricsPort int, interval time.Duration, perBlock int, logFormat string, gasLimit uint64) (*devnetPlan, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	planFile := filepath.Join(dir, "devnet.json")
	if raw, err := os.ReadFile(planFile); err == nil {
		plan := new(devnetPlan)
		if err := json.Unmarshal(raw, plan); err != nil {
			return nil, fmt.Errorf("%s: %w", planFile, err)
		}
		return plan, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	names := []string{"sequencer"}
	roles := []string{"sequencer"}
	if sequencers > 1 {
		names, roles = nil, nil
		for i := range sequencers {
			names, roles = append(names, fmt.Sprintf("sequencer%d", i+1)), append(roles, "sequencer")
		}
	}
	names, roles = append(names, "da"), append(roles, "da")
	for i := range fullnodes {
		names, roles = append(names, fmt.Sprintf("fullnode%d", i+1)), append(roles, "fullnode")
	}
	for i := range provers {
		names, roles = append(names, fmt.Sprintf("prover%d", i+1)), append(roles, "prover")
	}
	plan := &devnetPlan{ChainID: DevChainID}
	byRole := map[string][]*devnetNode{}
	nextRPC := 0
	for i, name := range names {
		keyFile := filepath.Join(dir, name+".key")
		addr, id, err := writeKey(keyFile)
		if err != nil {
			return nil, err
		}
		n := devnetNode{Name: name, Role: roles[i], ID: id, Address: addr,
			P2P:     fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", p2pPort+i, id),
			Metrics: fmt.Sprintf("127.0.0.1:%d", metricsPort+i),
			Config:  filepath.Join(dir, name+".toml"), Log: filepath.Join(dir, name+".log")}
		if roles[i] == "sequencer" || roles[i] == "fullnode" {
			n.RPC = fmt.Sprintf("127.0.0.1:%d", rpcPort+nextRPC)
			nextRPC++
		}
		plan.Nodes = append(plan.Nodes, n)
	}
	for i := range plan.Nodes {
		byRole[plan.Nodes[i].Role] = append(byRole[plan.Nodes[i].Role], &plan.Nodes[i])
	}
	genFile := filepath.Join(dir, "genesis.json")
	if err := writeDevGenesisGas(genFile, gasLimit); err != nil {
		return nil, err
	}
	ids := func(role string) (out []string) {
		for _, n := range byRole[role] {
			out = append(out, n.ID)
		}
		return out
	}
	var proverAddrs []string
	for _, n := range byRole["prover"] {
		proverAddrs = append(proverAddrs, n.Address)
	}
	seq, daNode := byRole["sequencer"][0], byRole["da"][0]
	var seqAddrs, seqIDs, seqRPCs []string
	for _, m := range byRole["sequencer"] {
		seqAddrs, seqIDs, seqRPCs = append(seqAddrs, m.Address), append(seqIDs, m.ID), append(seqRPCs, "http://"+m.RPC)
	}
	for i := range plan.Nodes {
		n := &plan.Nodes[i]
		datadir := filepath.Join(dir, n.Name)
		if _, err := initDataDir(genFile, datadir); err != nil {
			return nil, err
		}
		c := defaultConfig()
		c.DataDir, c.Key, c.LogFormat = datadir, filepath.Join(dir, n.Name+".key"), logFormat
		c.Listen = []string{strings.Split(n.P2P, "/p2p/")[0]}
		for _, m := range plan.Nodes {
			if m.Name != n.Name {
				c.Peers = append(c.Peers, m.P2P)
				// Permissioned: only the devnet's nodes may connect
				// (a devnet made before this keeps its open configs).
				c.AllowPeers = append(c.AllowPeers, m.ID)
			}
		}
		c.RPC, c.Metrics = n.RPC, n.Metrics
		c.Sequencer, c.SequencerPeer, c.DAPeer = seq.Address, seq.ID, daNode.ID
		if sequencers > 1 {
			c.Sequencer, c.SequencerPeer = "", ""
			c.Sequencers, c.SequencerPeers = seqAddrs, seqIDs
		}
		c.MiniBlockInterval, c.MiniBlocksPerBlock = Duration{interval}, perBlock
		switch n.Role {
		case "sequencer":
			c.Coinbase = seq.Address // every member's: whoever leads, the fees go to one place
			if sequencers > 1 {
				c.GroupID = slices.Index(seqIDs, n.ID) + 1
			}
			if fns := byRole["fullnode"]; len(fns) > 0 {
				c.FinalityRPC = "http://" + fns[0].RPC
			}
		case "fullnode":
			c.SequencerRPC = strings.Join(seqRPCs, ",")
			for _, id := range ids("fullnode") {
				if id != n.ID {
					c.FullnodePeers = append(c.FullnodePeers, id)
				}
			}
			c.Provers, c.ProverPeers = proverAddrs, ids("prover")
		}
		if err := writeConfig(n.Config, &c); err != nil {
			return nil, err
		}
	}
	raw, err := json.MarshalIndent(plan, "", "  ")
	if err != nil {
		return nil, err
	}
	return plan, os.WriteFile(planFile, raw, 0o644)
}

// writeDevGenesis writes the devnet's genesis: chain 424242 with the
// well-known dev accounts funded and block gas limit DevGasLimit.
func writeDevGenesis(path string) error { return writeDevGenesisGas(path, DevGasLimit) }

// writeDevGenesisGas writes the devnet's genesis with block gas limit
// gasLimit.
func writeDevGenesisGas(path string, gasLimit uint64) error {
	alloc := types.GenesisAlloc{}
	million := new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(params.Ether))
	for i := range DevAccounts {
		alloc[crypto.PubkeyToAddress(DevKey(i).PublicKey)] = types.Account{Balance: million}
	}
	g := &core.Genesis{
		Config: mexec.DefaultChainConfig(DevChainID), Alloc: alloc, GasLimit: gasLimit,
		BaseFee: big.NewInt(params.InitialBaseFee), Difficulty: new(big.Int), Timestamp: uint64(time.Now().Unix()),
	}
	raw, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, raw, 0o644)
}

func printPlan(w io.Writer, dir string, plan *devnetPlan) {
	counts := map[string]int{}
	for _, n := range plan.Nodes {
		counts[n.Role]++
	}
	seqs := "1 sequencer"
	if counts["sequencer"] > 1 {
		seqs = fmt.Sprintf("a group of %d sequencers (raft; the leader executes, sends to another member are refused with its name)", counts["sequencer"])
	}
	fmt.Fprintf(w, "meganode devnet in %s: %s, %d fullnodes, %d provers, 1 DA; chain id %d\n",
		dir, seqs, counts["fullnode"], counts["prover"], plan.ChainID)
	for _, n := range plan.Nodes {
		what := ""
		switch n.Role {
		case "sequencer":
			what = "JSON-RPC http://" + n.RPC + " (sends and reads; ws:// too)"
		case "fullnode":
			what = "JSON-RPC http://" + n.RPC + " (reads; sends forwarded to the sequencer; ws:// too)"
		}
		fmt.Fprintf(w, "  %-10s %-60s metrics http://%s/metrics  log %s\n", n.Name, what, n.Metrics, n.Log)
	}
	fmt.Fprintf(w, "funded dev accounts (1,000,000 ETH each; public keys: never use them elsewhere):\n")
	for i := range DevAccounts {
		k := DevKey(i)
		fmt.Fprintf(w, "  %s  0x%x\n", crypto.PubkeyToAddress(k.PublicKey), crypto.FromECDSA(k))
	}
}

// nodeFlags are the devnet's flags given on its command line that every
// node takes too, as flags, so that they apply when an existing devnet
// starts again (its nodes' config files were written when it was made,
// and flags win over them): the log format.
func nodeFlags(fs *flag.FlagSet) []string {
	var out []string
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "log-format" {
			out = append(out, "--log-format", f.Value.String())
		}
	})
	return out
}

// Supervision of a devnet's nodes: one that exits while the devnet runs is
// restarted after restartBackoff, doubling up to maxRestartBackoff; more
// than maxRestarts exits within restartWindow and the devnet gives up on
// that node and says so (a node that cannot start, for a damaged data
// directory say, is not restarted forever).
const (
	restartBackoff    = 500 * time.Millisecond
	maxRestartBackoff = 10 * time.Second
	maxRestarts       = 5
	restartWindow     = time.Minute
)

// runDevnet starts every node as a process of this binary, with flags
// after its config, restarts one that exits (a crash, a fatal storage
// error) as a supervisor would, and waits for a signal, which it passes
// on; then it waits for them to stop.
func runDevnet(plan *devnetPlan, flags []string, stdout, stderr io.Writer) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "meganode devnet: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var mu sync.Mutex
	procs := make([]*exec.Cmd, len(plan.Nodes))
	start := func(i int) (*exec.Cmd, *os.File, error) {
		n := plan.Nodes[i]
		logf, err := os.OpenFile(n.Log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, nil, err
		}
		cmd := exec.Command(exe, append([]string{n.Role, "--config", n.Config}, flags...)...)
		cmd.Stdout, cmd.Stderr = logf, logf
		mu.Lock()
		defer mu.Unlock()
		if ctx.Err() != nil {
			logf.Close()
			return nil, nil, ctx.Err()
		}
		if err := cmd.Start(); err != nil {
			logf.Close()
			return nil, nil, fmt.Errorf("starting %s: %w", n.Name, err)
		}
		procs[i] = cmd
		return cmd, logf, nil
	}
	var wg sync.WaitGroup
	for i, n := range plan.Nodes {
		cmd, logf, err := start(i)
		if err != nil {
			fmt.Fprintf(stderr, "meganode devnet: %v\n", err)
			stop()
			mu.Lock()
			for _, p := range procs {
				if p != nil {
					_ = p.Process.Kill()
				}
			}
			mu.Unlock()
			wg.Wait()
			return 1
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			backoff := restartBackoff
			var exits []time.Time
			for {
				err := cmd.Wait()
				logf.Close()
				if ctx.Err() != nil {
					fmt.Fprintf(stderr, "meganode devnet: %s exited: %v (log %s)\n", n.Name, err, n.Log)
					return
				}
				now := time.Now()
				exits = append(slices.DeleteFunc(exits, func(t time.Time) bool { return now.Sub(t) > restartWindow }), now)
				if len(exits) > maxRestarts {
					fmt.Fprintf(stderr, "meganode devnet: %s exited %d times within %v: not restarting it; see %s\n", n.Name, len(exits), restartWindow, n.Log)
					return
				}
				fmt.Fprintf(stderr, "meganode devnet: %s exited: %v; restarting it in %v (log %s)\n", n.Name, err, backoff, n.Log)
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, maxRestartBackoff)
				if cmd, logf, err = start(i); err != nil {
					if ctx.Err() == nil {
						fmt.Fprintf(stderr, "meganode devnet: %v\n", err)
					}
					return
				}
			}
		}()
	}
	if waitRPC(ctx, "http://"+plan.Nodes[0].RPC, 60*time.Second) {
		fmt.Fprintln(stdout, "ready: the sequencer answers JSON-RPC; Ctrl-C stops the devnet")
	} else if ctx.Err() == nil {
		fmt.Fprintf(stderr, "meganode devnet: the sequencer does not answer JSON-RPC; see %s\n", plan.Nodes[0].Log)
	}
	<-ctx.Done()
	fmt.Fprintln(stdout, "stopping the devnet")
	mu.Lock()
	for _, p := range procs {
		if p != nil {
			_ = p.Process.Signal(syscall.SIGTERM)
		}
	}
	mu.Unlock()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		mu.Lock()
		for _, p := range procs {
			if p != nil {
				_ = p.Process.Kill()
			}
		}
		mu.Unlock()
		<-done
	}
	return 0
}

// waitRPC polls eth_chainId until it answers or the time is up.
func waitRPC(ctx context.Context, url string, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}`))
		req.Header.Set("Content-Type", "application/json")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}
