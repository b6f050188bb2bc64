package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rlp"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
)

// benchGethOptions drive bench-geth.
type benchGethOptions struct {
	geth         string
	duration     time.Duration
	senders      int     // at saturation
	rate         float64 // transfers per second of the fixed-rate latency run
	rateSenders  int
	stormClients int
	stormTimeout time.Duration
	stormGas     uint64
	gasLimit     uint64
	phases       map[string]bool
	workdir      string
}

// benchGethPhases are bench-geth's phases, in the order they run.
var benchGethPhases = []string{"geth", "seq", "devnet", "geth2"}

// stormInitCode is init code that loops until its gas is gone
// (JUMPDEST, PUSH1 0, JUMP): an eth_call creating a contract with it burns
// all the gas it is given.
const stormInitCode = "0x5b600056"

// benchGethFunded is what the benchmark's genesis gives the funder (dev
// account 0) on geth, as meganode's devnet genesis does.
var benchGethFunded = new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(params.Ether))

// benchGeth runs geth --dev and meganode (the sequencer alone, then a
// devnet of six processes) on this machine, one after the other, drives
// each with the same JSON-RPC load generator and prints the figures side
// by side.
func benchGeth(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench-geth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := benchGethOptions{}
	fs.StringVar(&o.geth, "geth", "", "the geth binary (v1.17.8; make bench-geth builds it)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long each measurement runs")
	fs.IntVar(&o.senders, "senders", 256, "senders at saturation (each with one sync send in flight)")
	fs.Float64Var(&o.rate, "rate", 500, "transfers per second of the fixed-rate latency run")
	fs.IntVar(&o.rateSenders, "rate-senders", 128, "senders sharing the fixed rate")
	fs.IntVar(&o.stormClients, "storm-clients", 8, "clients sending heavy eth_calls during the storm")
	fs.DurationVar(&o.stormTimeout, "storm-timeout", 20*time.Millisecond, "how long a storm client waits for its eth_call before abandoning it")
	fs.Uint64Var(&o.stormGas, "storm-gas", 50_000_000, "gas of each storm eth_call")
	fs.Uint64Var(&o.gasLimit, "gas-limit", 1_000_000_000, "block gas limit of every genesis (geth's and meganode's), so that it does not cap throughput")
	phases := fs.String("phases", strings.Join(benchGethPhases, ","), "phases to run, in this order: geth (geth --dev, all figures), seq (the meganode sequencer alone), devnet (6 meganode processes), geth2 (geth again, fresh datadir, saturation only)")
	fs.StringVar(&o.workdir, "workdir", "", "directory for data and logs, kept afterwards; default: a temporary one, removed")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: meganode bench-geth --geth PATH [flags]

Runs geth --dev (v1.17.8) and meganode on this machine one after the other
(geth, the sequencer alone, a devnet of 6 processes, geth again), drives each
with the load generator of "meganode load" (ERC-20 transfers sent with
eth_sendRawTransactionSync), and prints each figure for both with the ratio,
one "name value unit" line each, then a table. The load generator runs on
the same cores as the servers.`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitFlag(err)
	}
	if o.geth == "" {
		fmt.Fprintln(stderr, "meganode bench-geth: --geth PATH is required (make bench-geth builds geth v1.17.8)")
		return 2
	}
	o.phases = map[string]bool{}
	for _, p := range strings.Split(*phases, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if !slices.Contains(benchGethPhases, p) {
			fmt.Fprintf(stderr, "meganode bench-geth: unknown phase %q (want some of %s)\n", p, strings.Join(benchGethPhases, ","))
			return 2
		}
		o.phases[p] = true
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	b := &gethBench{o: o, log: stderr, figs: newFigures()}
	start := time.Now()
	err := b.run(ctx)
	b.figs.set("bench_geth_wall_s", time.Since(start).Seconds(), "s", 0)
	b.report(stdout)
	if err != nil {
		fmt.Fprintf(stderr, "meganode bench-geth: %v\n", err)
		return 1
	}
	return 0
}

// gethBench is one bench-geth run.
type gethBench struct {
	o    benchGethOptions
	log  io.Writer
	figs *figures
	dir  string
	exe  string
}

func (b *gethBench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "bench-geth: "+format+"\n", args...)
}

func (b *gethBench) run(ctx context.Context) (err error) {
	if b.exe, err = os.Executable(); err != nil {
		return err
	}
	if b.o.workdir != "" {
		b.dir, err = filepath.Abs(b.o.workdir)
		if err == nil {
			err = os.MkdirAll(b.dir, 0o755)
		}
	} else {
		b.dir, err = os.MkdirTemp("", "meganode-bench-geth")
		defer os.RemoveAll(b.dir)
	}
	if err != nil {
		return err
	}
	version, err := exec.CommandContext(ctx, b.o.geth, "version").Output()
	if err != nil {
		return fmt.Errorf("%s version: %w", b.o.geth, err)
	}
	for _, l := range strings.Split(string(version), "\n") {
		if v, ok := strings.CutPrefix(l, "Version: "); ok {
			b.logf("geth %s at %s; %d CPUs; work directory %s", v, b.o.geth, goruntime.NumCPU(), b.dir)
		}
	}
	for _, p := range benchGethPhases {
		if !b.o.phases[p] {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		var err error
		switch p {
		case "geth":
			err = b.gethPhase(ctx, "geth", true)
		case "seq":
			err = b.seqPhase(ctx)
		case "devnet":
			err = b.devnetPhase(ctx)
		case "geth2":
			err = b.gethPhase(ctx, "geth2", false)
		}
		if err != nil {
			return fmt.Errorf("phase %s: %w", p, err)
		}
	}
	return nil
}

// gethPhase runs geth --dev from a fresh datadir. The full phase measures
// every figure, then saturation again on restarts with GOMAXPROCS=1 and 2
// on the same datadir; the other only saturation.
func (b *gethBench) gethPhase(ctx context.Context, name string, full bool) error {
	dir := filepath.Join(b.dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	funder := crypto.PubkeyToAddress(DevKey(0).PublicKey)
	if err := b.initGeth(ctx, dir, funder); err != nil {
		return err
	}
	base, err := freePortRange(3)
	if err != nil {
		return err
	}
	start := func(gomaxprocs int) (*benchServer, error) {
		return b.startGeth(ctx, name, dir, base, gomaxprocs)
	}
	srv, err := start(2)
	if err != nil {
		return err
	}
	defer srv.stop()
	if err := checkFunded(ctx, srv.http, funder); err != nil {
		return fmt.Errorf("geth: %w", err)
	}
	b.logf("%s: geth --dev answers at %s; funder %s holds its genesis balance", name, srv.http, funder)
	return b.measure(ctx, name, srv, full, start)
}

// initGeth writes the benchmark's genesis for geth (from geth's own dev
// genesis) and puts it into dir/data with geth init.
func (b *gethBench) initGeth(ctx context.Context, dir string, funder common.Address) error {
	var dumpErr bytes.Buffer
	cmd := exec.CommandContext(ctx, b.o.geth, "--dev", "dumpgenesis")
	cmd.Stderr = &dumpErr
	dump, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("geth --dev dumpgenesis: %w\n%s", err, dumpErr.String())
	}
	gen, err := gethGenesis(dump, b.o.gasLimit, map[common.Address]*big.Int{funder: benchGethFunded})
	if err != nil {
		return err
	}
	genFile := filepath.Join(dir, "genesis.json")
	if err := os.WriteFile(genFile, gen, 0o644); err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, b.o.geth, "init", "--datadir", filepath.Join(dir, "data"), genFile).CombinedOutput()
	if err != nil {
		return fmt.Errorf("geth init: %w\n%s", err, out)
	}
	return nil
}

// startGeth starts geth --dev on the datadir initGeth made, its HTTP,
// WebSocket and (unused) engine API on the ports from base.
func (b *gethBench) startGeth(ctx context.Context, name, dir string, base, gomaxprocs int) (*benchServer, error) {
	args := []string{
		"--dev", "--dev.period", "0", "--datadir", filepath.Join(dir, "data"), "--history.logs.disable",
		"--http", "--http.addr", "127.0.0.1", "--http.port", strconv.Itoa(base), "--http.api", "eth,net,web3",
		"--ws", "--ws.addr", "127.0.0.1", "--ws.port", strconv.Itoa(base + 1), "--ws.api", "eth,net,web3",
		"--authrpc.addr", "127.0.0.1", "--authrpc.port", strconv.Itoa(base + 2),
		"--ipcdisable", "--nodiscover", "--maxpeers", "0",
		// The genesis gas limit holds only while the miner aims at it too.
		"--miner.gaslimit", strconv.FormatUint(b.o.gasLimit, 10),
		"--verbosity", "2",
	}
	srv := &benchServer{name: name, http: fmt.Sprintf("http://127.0.0.1:%d", base), ws: fmt.Sprintf("ws://127.0.0.1:%d", base+1)}
	p, err := startProc(name, b.o.geth, args, gomaxprocs, filepath.Join(dir, fmt.Sprintf("geth-gomaxprocs%d.log", gomaxprocs)))
	if err != nil {
		return nil, err
	}
	srv.procs = append(srv.procs, p)
	if err := srv.waitUp(ctx, 60*time.Second); err != nil {
		srv.stop()
		return nil, err
	}
	return srv, nil
}

// seqPhase runs the meganode sequencer alone: no DA, fullnodes or provers.
func (b *gethBench) seqPhase(ctx context.Context) error {
	dir := filepath.Join(b.dir, "seq")
	base, err := freePortRange(3)
	if err != nil {
		return err
	}
	n, err := prepareSequencerAlone(dir, base, base+1, base+2, b.o.gasLimit)
	if err != nil {
		return err
	}
	start := func(gomaxprocs int) (*benchServer, error) {
		srv := &benchServer{name: "seq", http: "http://" + n.RPC, ws: "ws://" + n.RPC}
		p, err := startProc("sequencer", b.exe, []string{"sequencer", "--config", n.Config}, gomaxprocs,
			filepath.Join(dir, fmt.Sprintf("sequencer-gomaxprocs%d.log", gomaxprocs)))
		if err != nil {
			return nil, err
		}
		srv.procs = append(srv.procs, p)
		if err := srv.waitUp(ctx, 60*time.Second); err != nil {
			srv.stop()
			return nil, err
		}
		return srv, nil
	}
	srv, err := start(2)
	if err != nil {
		return err
	}
	defer srv.stop()
	if err := checkFunded(ctx, srv.http, crypto.PubkeyToAddress(DevKey(0).PublicKey)); err != nil {
		return fmt.Errorf("sequencer: %w", err)
	}
	b.logf("seq: the sequencer alone answers at %s", srv.http)
	return b.measure(ctx, "seq", srv, true, start)
}

// devnetPhase runs the devnet meganode bench runs: sequencer, DA, 2
// fullnodes and 2 provers, each its own process; the load goes to the
// sequencer and the CPU figure sums all six.
func (b *gethBench) devnetPhase(ctx context.Context) error {
	dir := filepath.Join(b.dir, "devnet")
	base, err := freePortRange(20)
	if err != nil {
		return err
	}
	plan, err := prepareDevnet(dir, 2, 2, base, base+7, base+14, 10*time.Millisecond, 100, "text", b.o.gasLimit)
	if err != nil {
		return err
	}
	srv := &benchServer{name: "devnet", http: "http://" + plan.Nodes[0].RPC, ws: "ws://" + plan.Nodes[0].RPC}
	defer srv.stop()
	for _, n := range plan.Nodes {
		p, err := startProc(n.Name, b.exe, []string{n.Role, "--config", n.Config}, 0, n.Log)
		if err != nil {
			return err
		}
		srv.procs = append(srv.procs, p)
	}
	if err := srv.waitUp(ctx, 60*time.Second); err != nil {
		return err
	}
	b.logf("devnet: 6 processes, the sequencer answers at %s", srv.http)
	return b.measure(ctx, "devnet", srv, false, nil)
}

// measure runs the measurements on a started server: the load's setup,
// saturation, and for the full phases of geth and seq, one sender, the
// fixed rate, the storm, then saturation again on a restart with
// GOMAXPROCS=1 and on another with GOMAXPROCS=2. The devnet gets the
// latency runs but no storm or restarts; geth2 gets saturation only.
func (b *gethBench) measure(ctx context.Context, name string, srv *benchServer, full bool, restart func(gomaxprocs int) (*benchServer, error)) error {
	o := b.loadOptions(srv.http, b.o.senders)
	c, err := dialLoad(ctx, o)
	if err != nil {
		return err
	}
	defer func() {
		if c != nil {
			c.rpc.Close()
		}
	}()
	t0 := time.Now()
	setup, err := setupLoad(ctx, c, o, io.Discard)
	if err != nil {
		return srv.explain(err)
	}
	b.logf("%s: token deployed and %d senders funded in %v", name, o.senders, time.Since(t0).Round(time.Millisecond))
	var watch *miniBlockWatch
	if name == "seq" || name == "devnet" {
		if watch, err = watchMiniBlocks(ctx, srv.ws); err != nil {
			return err
		}
		defer watch.close()
	}

	// Saturation: every sender with a sync send in flight.
	if err := b.saturate(ctx, name, "", c, o, setup, srv); err != nil {
		return err
	}
	if name == "geth2" {
		return nil
	}
	// One sender at a time.
	o1 := o
	o1.senders = 1
	from := time.Now()
	res, err := driveLoad(ctx, c, o1, setup)
	if err != nil {
		return err
	}
	to := time.Now()
	b.latency(name+"_1sender", res)
	if watch != nil && name == "seq" {
		b.miniBlockFigures(watch, "seq_nostorm", from, to)
	}
	// A fixed rate.
	or := o
	or.senders, or.rate, or.paced = b.o.rateSenders, b.o.rate, true
	rateName := fmt.Sprintf("%s_at_%.0ftps", name, b.o.rate)
	blocks0, err := c.newestHeader(ctx)
	if err != nil {
		return err
	}
	if res, err = driveLoad(ctx, c, or, setup); err != nil {
		return err
	}
	if err := b.blockFigures(ctx, rateName, c, blocks0, res.Elapsed); err != nil {
		return err
	}
	b.figs.set(rateName+"_tps", res.tps(), "tx/s", 0)
	b.latency(rateName, res)
	b.logf("%s: %d transfers at %.0f tx/s asked, %.0f tx/s got (%d failed)", name, res.Confirmed, b.o.rate, res.tps(), res.Failed)
	if !full {
		return nil
	}
	if err := b.storm(ctx, name, c, o1, setup, srv, watch); err != nil {
		return err
	}
	// Saturation on one core and on two, each on a fresh start of the
	// server on the same datadir, so that the two differ in that only.
	for _, procs := range []int{1, 2} {
		srv.stop()
		c.rpc.Close()
		if srv, err = restart(procs); err != nil {
			return err
		}
		defer srv.stop()
		if c, err = dialLoad(ctx, o); err != nil {
			return err
		}
		if err := b.saturate(ctx, name, fmt.Sprintf("_gomaxprocs%d", procs), c, o, setup, srv); err != nil {
			return err
		}
	}
	return nil
}

func (b *gethBench) loadOptions(url string, senders int) loadOptions {
	return loadOptions{rpc: url, funder: DevKey(0), senders: senders, duration: b.o.duration, sync: true,
		poll: 5 * time.Millisecond, gasTipGwei: 1, setupWithin: 2 * time.Minute}
}

// saturate drives the server with every sender and records the tx/s and
// the CPU time the server's processes and the load generator used per
// confirmed transfer.
func (b *gethBench) saturate(ctx context.Context, name, suffix string, c *loadClient, o loadOptions, setup *loadSetup, srv *benchServer) error {
	srv0, err := srv.cpu()
	if err != nil {
		return err
	}
	self0, err := procCPU(os.Getpid())
	if err != nil {
		return err
	}
	blocks0, err := c.newestHeader(ctx)
	if err != nil {
		return err
	}
	res, err := driveLoad(ctx, c, o, setup)
	if err != nil {
		return err
	}
	if suffix == "" {
		if err := b.blockFigures(ctx, name+"_saturation", c, blocks0, res.Elapsed); err != nil {
			return err
		}
	}
	srv1, err := srv.cpu()
	if err != nil {
		return srv.explain(err)
	}
	self1, err := procCPU(os.Getpid())
	if err != nil {
		return err
	}
	if res.Confirmed == 0 {
		return srv.explain(fmt.Errorf("no transfer confirmed at saturation (%d sent, %d failed)", res.Sent, res.Failed))
	}
	b.logf("%s%s: %d transfers confirmed at saturation in %v (%d failed): %.0f tx/s", name, suffix, res.Confirmed, res.Elapsed.Round(time.Millisecond), res.Failed, res.tps())
	perTx := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(res.Confirmed) }
	b.figs.set(name+suffix+"_erc20_tps", res.tps(), "tx/s", 0)
	b.figs.set(name+suffix+"_cpu_us_per_tx", perTx(srv1-srv0), "µs", 1)
	b.figs.set(name+suffix+"_loadgen_cpu_us_per_tx", perTx(self1-self0), "µs", 1)
	if suffix == "" {
		b.latency(name+"_saturation", res)
	}
	return nil
}

func (b *gethBench) latency(name string, res *loadResult) {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	if res.Confirmed == 0 {
		return
	}
	b.figs.set(name+"_latency_ms_p50", ms(res.percentile(0.5)), "ms", 1)
	b.figs.set(name+"_latency_ms_p99", ms(res.percentile(0.99)), "ms", 1)
}

func (b *gethBench) miniBlockFigures(w *miniBlockWatch, name string, from, to time.Time) {
	n, gap, err := w.stats(from, to)
	if err != nil {
		b.logf("%s: mini-block subscription: %v", name, err)
		return
	}
	b.figs.set(name+"_miniblocks_per_s", float64(n)/to.Sub(from).Seconds(), "/s", 1)
	b.figs.set(name+"_max_miniblock_gap_ms", float64(gap.Microseconds())/1000, "ms", 1)
}

// storm: stormClients clients send eth_calls that burn stormGas and
// abandon each after stormTimeout, while one sender sends transfers. For
// meganode it records the mini-blocks meanwhile; then, for at most
// --duration, how long the mini-blocks take to come back to their pace.
func (b *gethBench) storm(ctx context.Context, name string, c *loadClient, o1 loadOptions, setup *loadSetup, srv *benchServer, watch *miniBlockWatch) error {
	sctx, cancel := context.WithCancel(ctx)
	var st stormStats
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		st = runStorm(sctx, srv.http, b.o.stormClients, b.o.stormTimeout, b.o.stormGas)
	}()
	time.Sleep(100 * time.Millisecond) // the storm is on
	from := time.Now()
	// The transfer in flight when the window ends may wait behind the
	// abandoned calls: bound it.
	tctx, tcancel := context.WithTimeout(ctx, b.o.duration+15*time.Second)
	res, err := driveLoad(tctx, c, o1, setup)
	tcancel()
	to := time.Now()
	cancel()
	wg.Wait()
	if err != nil {
		return err
	}
	secs := st.elapsed.Seconds()
	b.figs.set(name+"_storm_calls_per_s", float64(st.sent)/secs, "/s", 0)
	b.figs.set(name+"_storm_calls_answered", float64(st.answered), "calls", 0)
	b.figs.set(name+"_storm_1sender_tps", res.tps(), "tx/s", 1)
	b.latency(name+"_storm_1sender", res)
	if res.Confirmed == 0 {
		// Not one transfer came back within the window.
		over := ">" + strconv.FormatInt(b.o.duration.Milliseconds(), 10)
		b.figs.setText(name+"_storm_1sender_latency_ms_p50", over, "ms")
		b.figs.setText(name+"_storm_1sender_latency_ms_p99", over, "ms")
	}
	b.logf("%s: storm of %d clients: %d eth_calls of %d gas sent (%d answered within %v); %d transfers confirmed meanwhile (%d failed)",
		name, b.o.stormClients, st.sent, b.o.stormGas, st.answered, b.o.stormTimeout, res.Confirmed, res.Failed)
	if watch == nil {
		return nil
	}
	b.miniBlockFigures(watch, name+"_storm", from, to)
	rec, ok := watch.recovery(to, 10*time.Millisecond, b.o.duration)
	if ok {
		b.figs.set(name+"_after_storm_recovery_ms", float64(rec.Milliseconds()), "ms", 0)
	} else {
		b.figs.setText(name+"_after_storm_recovery_ms", ">"+strconv.FormatInt(b.o.duration.Milliseconds(), 10), "ms")
	}
	return nil
}

type stormStats struct {
	sent, answered int64
	elapsed        time.Duration
}

// runStorm runs clients that each send an eth_call creating a contract
// from stormInitCode with gas gas, wait at most timeout for the answer and
// send the next, until ctx ends.
func runStorm(ctx context.Context, url string, clients int, timeout time.Duration, gas uint64) stormStats {
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{"data":%q,"gas":%q},"latest"]}`, stormInitCode, hexutil.Uint64(gas).String())
	// A request given up on leaves its connection unusable: no keep-alive.
	hc := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	var sent, answered atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
				if err != nil {
					return
				}
				req.Header.Set("Content-Type", "application/json")
				sent.Add(1)
				resp, err := hc.Do(req)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				answered.Add(1)
			}
		}()
	}
	wg.Wait()
	return stormStats{sent: sent.Load(), answered: answered.Load(), elapsed: time.Since(start)}
}

// checkFunded checks the endpoint answers eth_chainId and that addr holds
// a balance, which the load's funder needs.
func checkFunded(ctx context.Context, url string, addr common.Address) error {
	c, err := gethrpc.DialContext(ctx, url)
	if err != nil {
		return err
	}
	defer c.Close()
	var id, bal hexutil.Big
	if err := c.CallContext(ctx, &id, "eth_chainId"); err != nil {
		return fmt.Errorf("eth_chainId: %w", err)
	}
	if err := c.CallContext(ctx, &bal, "eth_getBalance", addr, "latest"); err != nil {
		return fmt.Errorf("eth_getBalance: %w", err)
	}
	if bal.ToInt().Cmp(new(big.Int).Mul(big.NewInt(10_000), big.NewInt(params.Ether))) < 0 {
		return fmt.Errorf("chain %v: the funder %s holds %v wei, too little to fund the senders", id.ToInt(), addr, bal.ToInt())
	}
	return nil
}

// gethGenesis rewrites the genesis "geth --dev dumpgenesis" prints for the
// benchmark: without bogotaTime (an experimental fork geth v1.17.8's dev
// mode turns on), with Osaka on from genesis, block gas limit gasLimit and
// the accounts of funded holding their balances. Everything else is kept
// as geth wrote it.
func gethGenesis(dump []byte, gasLimit uint64, funded map[common.Address]*big.Int) ([]byte, error) {
	var g map[string]json.RawMessage
	if err := json.Unmarshal(dump, &g); err != nil {
		return nil, fmt.Errorf("geth's dev genesis: %w", err)
	}
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(g["config"], &cfg); err != nil || cfg == nil {
		return nil, fmt.Errorf("geth's dev genesis has no config object (%v)", err)
	}
	delete(cfg, "bogotaTime")
	cfg["osakaTime"] = json.RawMessage("0")
	alloc := map[string]json.RawMessage{}
	if raw, ok := g["alloc"]; ok {
		if err := json.Unmarshal(raw, &alloc); err != nil {
			return nil, fmt.Errorf("geth's dev genesis alloc: %w", err)
		}
	}
	for addr, bal := range funded {
		for k := range alloc {
			if common.HexToAddress(k) == addr {
				delete(alloc, k)
			}
		}
		acct, err := json.Marshal(map[string]*hexutil.Big{"balance": (*hexutil.Big)(bal)})
		if err != nil {
			return nil, err
		}
		alloc[strings.ToLower(addr.Hex())] = acct
	}
	var err error
	if g["config"], err = json.Marshal(cfg); err != nil {
		return nil, err
	}
	if g["alloc"], err = json.Marshal(alloc); err != nil {
		return nil, err
	}
	if g["gasLimit"], err = json.Marshal(hexutil.Uint64(gasLimit)); err != nil {
		return nil, err
	}
	return json.MarshalIndent(g, "", "  ")
}

// prepareSequencerAlone writes a single sequencer into dir: key, genesis
// (the devnet's, with block gas limit gasLimit), datadir and config, with
// no peers and no DA.
func prepareSequencerAlone(dir string, rpcPort, p2pPort, metricsPort int, gasLimit uint64) (*devnetNode, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	keyFile := filepath.Join(dir, "sequencer.key")
	addr, id, err := writeKey(keyFile)
	if err != nil {
		return nil, err
	}
	genFile := filepath.Join(dir, "genesis.json")
	if err := writeDevGenesisGas(genFile, gasLimit); err != nil {
		return nil, err
	}
	datadir := filepath.Join(dir, "sequencer")
	if _, err := initDataDir(genFile, datadir); err != nil {
		return nil, err
	}
	n := &devnetNode{Name: "sequencer", Role: "sequencer", ID: id, Address: addr,
		P2P: fmt.Sprintf("/ip4/127.0.0.1/tcp/%d/p2p/%s", p2pPort, id), RPC: fmt.Sprintf("127.0.0.1:%d", rpcPort),
		Metrics: fmt.Sprintf("127.0.0.1:%d", metricsPort), Config: filepath.Join(dir, "sequencer.toml"), Log: filepath.Join(dir, "sequencer.log")}
	c := defaultConfig()
	c.DataDir, c.Key = datadir, keyFile
	c.Listen = []string{fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", p2pPort)}
	c.RPC, c.Metrics = n.RPC, n.Metrics
	c.Sequencer, c.Coinbase = addr, addr
	return n, writeConfig(n.Config, &c)
}

// benchServer is a server under test: its processes and endpoints.
type benchServer struct {
	name     string
	http, ws string
	procs    []*benchProc
}

// waitUp waits until the server answers eth_blockNumber, or one of its
// processes exits, or within is over. (meganode answers eth_chainId
// before its node runs, eth_blockNumber only once it does.)
func (s *benchServer) waitUp(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		for _, p := range s.procs {
			if p.exited() {
				return s.explain(fmt.Errorf("%s exited while starting", p.name))
			}
		}
		if blockNumberAnswers(ctx, s.http) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return s.explain(fmt.Errorf("%s does not answer at %s within %v", s.name, s.http, within))
}

// blockNumberAnswers says whether url answers eth_blockNumber with a
// number.
func blockNumberAnswers(ctx context.Context, url string) bool {
	c, err := gethrpc.DialContext(ctx, url)
	if err != nil {
		return false
	}
	defer c.Close()
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var n hexutil.Uint64
	return c.CallContext(cctx, &n, "eth_blockNumber") == nil
}

// cpu is the CPU time the server's processes used so far.
func (s *benchServer) cpu() (time.Duration, error) {
	var sum time.Duration
	for _, p := range s.procs {
		d, err := procCPU(p.cmd.Process.Pid)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", p.name, err)
		}
		sum += d
	}
	return sum, nil
}

// stop stops every process of the server (SIGTERM, then wait); it may be
// called again.
func (s *benchServer) stop() {
	for _, p := range s.procs {
		p.signal()
	}
	for _, p := range s.procs {
		p.wait()
	}
}

// explain adds to err what the server's processes said last, and which of
// them exited.
func (s *benchServer) explain(err error) error {
	var sb strings.Builder
	for _, p := range s.procs {
		if p.exited() {
			fmt.Fprintf(&sb, "\n%s exited: %v", p.name, p.err)
		}
		if tail := logTail(p.log, 15); tail != "" {
			fmt.Fprintf(&sb, "\n--- last lines of %s ---\n%s", p.log, tail)
		}
	}
	return fmt.Errorf("%w%s", err, sb.String())
}

func logTail(path string, lines int) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	ls := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	return strings.Join(ls[max(0, len(ls)-lines):], "\n")
}

// benchProc is a process the benchmark started.
type benchProc struct {
	name, log string
	cmd       *exec.Cmd
	logf      *os.File
	done      chan struct{}
	err       error // set when done closes
	stopOnce  sync.Once
}

// startProc starts path with args, its output to logPath, and with
// GOMAXPROCS=gomaxprocs unless it is 0.
func startProc(name, path string, args []string, gomaxprocs int, logPath string) (*benchProc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = os.Environ()
	if gomaxprocs > 0 {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(gomaxprocs))
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &benchProc{name: name, log: logPath, cmd: cmd, logf: logf, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *benchProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *benchProc) signal() {
	p.stopOnce.Do(func() {
		if !p.exited() {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
		}
	})
}

// wait waits for the process to exit after signal, killing it after a
// minute.
func (p *benchProc) wait() {
	p.signal()
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// clockTicks is USER_HZ, the unit of the CPU times in /proc/<pid>/stat
// (100 on every Linux architecture Go runs on).
const clockTicks = 100

// procCPU is the user plus system CPU time process pid used so far, all
// its threads together.
func procCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	utime, stime, err := parseProcStat(raw)
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// parseProcStat reads utime and stime (fields 14 and 15, in clock ticks)
// from the contents of /proc/<pid>/stat. The command name (field 2) is in
// parentheses and may hold spaces and parentheses itself, so the fields
// are counted from the last ')'.
func parseProcStat(raw []byte) (utime, stime uint64, err error) {
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || !strings.Contains(s[:i], "(") {
		return 0, 0, errors.New("no command name in parentheses")
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("%d fields after the command name, want at least 13", len(f))
	}
	if utime, err = strconv.ParseUint(f[11], 10, 64); err != nil {
		return 0, 0, fmt.Errorf("utime: %w", err)
	}
	if stime, err = strconv.ParseUint(f[12], 10, 64); err != nil {
		return 0, 0, fmt.Errorf("stime: %w", err)
	}
	return utime, stime, nil
}

// miniBlockWatch records the time of every mini-block a node streams
// (the miniBlocks subscription).
type miniBlockWatch struct {
	c   *gethrpc.Client
	sub *gethrpc.ClientSubscription
	mu  sync.Mutex
	ts  []uint64 // µs since the epoch, as the sequencer stamped them
	err error
}

func watchMiniBlocks(ctx context.Context, ws string) (*miniBlockWatch, error) {
	c, err := gethrpc.DialWebsocket(ctx, ws, "")
	if err != nil {
		return nil, err
	}
	type head struct {
		Number    hexutil.Uint64 `json:"number"`
		Timestamp hexutil.Uint64 `json:"timestamp"`
	}
	ch := make(chan head, 1024)
	sub, err := c.Subscribe(ctx, "eth", ch, "miniBlocks")
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("miniBlocks subscription: %w", err)
	}
	w := &miniBlockWatch{c: c, sub: sub}
	go func() {
		var last uint64
		for {
			select {
			case h := <-ch:
				w.mu.Lock()
				if last != 0 && uint64(h.Number) != last+1 && w.err == nil {
					w.err = fmt.Errorf("mini-block %d followed %d", h.Number, last)
				}
				last = uint64(h.Number)
				w.ts = append(w.ts, uint64(h.Timestamp))
				w.mu.Unlock()
			case err := <-sub.Err():
				w.mu.Lock()
				if err != nil && w.err == nil {
					w.err = err
				}
				w.mu.Unlock()
				return
			}
		}
	}()
	return w, nil
}

func (w *miniBlockWatch) close() {
	w.sub.Unsubscribe()
	w.c.Close()
}

func (w *miniBlockWatch) snapshot() ([]uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]uint64(nil), w.ts...), w.err
}

// stats are the mini-blocks stamped within [from, to] and the longest gap
// between mini-blocks there, counting the gaps open at the window's ends.
func (w *miniBlockWatch) stats(from, to time.Time) (int, time.Duration, error) {
	// Mini-blocks stamped before to may still be on their way.
	time.Sleep(50 * time.Millisecond)
	ts, err := w.snapshot()
	if err != nil {
		return 0, 0, err
	}
	n, gap := miniBlockGaps(ts, uint64(from.UnixMicro()), uint64(to.UnixMicro()))
	return n, gap, nil
}

// miniBlockGaps counts the timestamps (µs, ascending) within [from, to]
// and finds the longest gap between consecutive ones, the gaps from from
// to the first and from the last to to included.
func miniBlockGaps(ts []uint64, from, to uint64) (int, time.Duration) {
	n, prev, gap := 0, from, uint64(0)
	for _, t := range ts {
		if t < from || t > to {
			continue
		}
		gap = max(gap, t-prev)
		prev = t
		n++
	}
	gap = max(gap, to-prev)
	return n, time.Duration(gap) * time.Microsecond
}

// recovery waits, at most within, for the mini-blocks after since to come
// back to their pace (ten in a row, each at most 5 intervals after the one
// before), and returns how long after since the first of them came.
func (w *miniBlockWatch) recovery(since time.Time, interval, within time.Duration) (time.Duration, bool) {
	deadline := since.Add(within)
	for {
		ts, _ := w.snapshot()
		if d, ok := paceBack(ts, uint64(since.UnixMicro()), uint64(5*interval/time.Microsecond), 10); ok {
			return d, true
		}
		if time.Now().After(deadline) {
			return 0, false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// paceBack finds the first run of n timestamps after since each within
// maxGap µs of the one before, and returns how long after since the run
// began.
func paceBack(ts []uint64, since, maxGap uint64, n int) (time.Duration, bool) {
	run, start := 0, uint64(0)
	var prev uint64
	for _, t := range ts {
		if t < since {
			continue
		}
		if run > 0 && t-prev <= maxGap {
			run++
		} else {
			run, start = 1, t
		}
		prev = t
		if run >= n {
			return time.Duration(start-since) * time.Microsecond, true
		}
	}
	return 0, false
}

// figures are the measured values by name ("seq_erc20_tps"), each as
// raw as measured; report derives the geth means and the ratios.
type figures struct {
	mu   sync.Mutex
	vals map[string]figure
}

type figure struct {
	v    float64
	text string // instead of v: "n/a", ">10000"
	unit string
	prec int
}

func newFigures() *figures { return &figures{vals: map[string]figure{}} }

func (f *figures) set(name string, v float64, unit string, prec int) {
	f.mu.Lock()
	f.vals[name] = figure{v: v, unit: unit, prec: prec}
	f.mu.Unlock()
}

func (f *figures) setText(name, text, unit string) {
	f.mu.Lock()
	f.vals[name] = figure{text: text, unit: unit}
	f.mu.Unlock()
}

func (f *figures) get(name string) (figure, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.vals[name]
	return v, ok
}

func (x figure) String() string {
	if x.text != "" {
		return x.text
	}
	return strconv.FormatFloat(x.v, 'f', x.prec, 64)
}

// benchGethMetric is one row of the report: the figure's name without the
// server's prefix, and how to read it.
type benchGethMetric struct {
	key, label string
	ratio      bool   // print seq/geth and devnet/geth
	gethKey    string // geth's figure when it is named otherwise
}

func benchGethMetrics(rate float64) []benchGethMetric {
	r := fmt.Sprintf("at_%.0ftps", rate)
	return []benchGethMetric{
		{key: "erc20_tps", label: "ERC-20 transfers/s at saturation", ratio: true},
		{key: "cpu_us_per_tx", label: "server CPU per confirmed transfer, µs", ratio: true},
		{key: "loadgen_cpu_us_per_tx", label: "load generator CPU per transfer, µs"},
		{key: "saturation_latency_ms_p50", label: "latency at saturation p50, ms", ratio: true},
		{key: "saturation_latency_ms_p99", label: "latency at saturation p99, ms", ratio: true},
		{key: "saturation_blocks_per_s", label: "blocks sealed/s at saturation"},
		{key: "saturation_header_bytes_per_s", label: "header bytes/s at saturation"},
		{key: "1sender_latency_ms_p50", label: "latency with 1 sender p50, ms", ratio: true},
		{key: "1sender_latency_ms_p99", label: "latency with 1 sender p99, ms", ratio: true},
		{key: r + "_tps", label: fmt.Sprintf("tx/s got when asked %.0f", rate)},
		{key: r + "_latency_ms_p50", label: fmt.Sprintf("latency at %.0f tx/s p50, ms", rate), ratio: true},
		{key: r + "_latency_ms_p99", label: fmt.Sprintf("latency at %.0f tx/s p99, ms", rate), ratio: true},
		{key: r + "_blocks_per_s", label: fmt.Sprintf("blocks sealed/s at %.0f tx/s", rate)},
		{key: r + "_header_bytes_per_s", label: fmt.Sprintf("header bytes/s at %.0f tx/s", rate)},
		{key: "storm_calls_per_s", label: "storm: heavy eth_calls sent/s"},
		{key: "storm_calls_answered", label: "storm: eth_calls answered in time"},
		{key: "storm_1sender_tps", label: "storm: 1-sender transfers/s", ratio: true},
		{key: "storm_1sender_latency_ms_p50", label: "storm: 1-sender latency p50, ms", ratio: true},
		{key: "storm_1sender_latency_ms_p99", label: "storm: 1-sender latency p99, ms", ratio: true},
		{key: "storm_max_miniblock_gap_ms", label: "storm: longest gap between (mini-)blocks, ms", gethKey: "storm_max_block_gap_ms"},
		{key: "storm_miniblocks_per_s", label: "storm: mini-blocks/s", gethKey: "storm_blocks_per_s"},
		{key: "nostorm_max_miniblock_gap_ms", label: "no storm (1 sender): longest mini-block gap, ms", gethKey: "nostorm_max_block_gap_ms"},
		{key: "nostorm_miniblocks_per_s", label: "no storm (1 sender): mini-blocks/s", gethKey: "nostorm_blocks_per_s"},
		{key: "after_storm_recovery_ms", label: "after the storm: mini-blocks back to pace in, ms"},
		{key: "gomaxprocs1_erc20_tps", label: "saturation tx/s with GOMAXPROCS=1", ratio: true},
		{key: "gomaxprocs2_erc20_tps", label: "saturation tx/s with GOMAXPROCS=2", ratio: true},
		{key: "speedup_1_to_2_cores", label: "speed-up from 1 to 2 cores", ratio: true},
	}
}

// derive adds the figures computed from others: geth's means over its two
// runs, the 2-core figure and speed-ups, and what geth has no figure for.
func (b *gethBench) derive() {
	f := b.figs
	for _, k := range []string{"erc20_tps", "cpu_us_per_tx", "loadgen_cpu_us_per_tx", "saturation_latency_ms_p50", "saturation_latency_ms_p99"} {
		g1, ok1 := f.get("geth_" + k)
		g2, ok2 := f.get("geth2_" + k)
		switch {
		case ok1 && ok2:
			f.set("geth_run1_"+k, g1.v, g1.unit, g1.prec)
			f.set("geth_run2_"+k, g2.v, g2.unit, g2.prec)
			f.set("geth_"+k, (g1.v+g2.v)/2, g1.unit, g1.prec)
		case ok2: // --phases without geth
			f.set("geth_"+k, g2.v, g2.unit, g2.prec)
		}
	}
	for _, who := range []string{"geth", "seq"} {
		one, ok1 := f.get(who + "_gomaxprocs1_erc20_tps")
		two, ok2 := f.get(who + "_gomaxprocs2_erc20_tps")
		if ok1 && ok2 && one.v > 0 {
			f.set(who+"_speedup_1_to_2_cores", two.v/one.v, "x", 2)
		}
	}
	if _, ok := f.get("geth_storm_calls_per_s"); ok {
		for _, k := range []string{"storm_max_block_gap_ms", "nostorm_max_block_gap_ms"} {
			f.setText("geth_"+k, "n/a", "ms")
		}
		for _, k := range []string{"storm_blocks_per_s", "nostorm_blocks_per_s"} {
			f.setText("geth_"+k, "n/a", "/s")
		}
	}
}

// report prints every figure as a "name value unit" line, each metric for
// geth, the sequencer alone and the devnet with the ratios to geth, then
// the same as a table.
func (b *gethBench) report(w io.Writer) {
	b.derive()
	f := b.figs
	line := func(name string) {
		if x, ok := f.get(name); ok {
			fmt.Fprintf(w, "%s %s %s\n", name, x, x.unit)
		}
	}
	ratio := func(who, gethName, name string) (string, bool) {
		x, ok1 := f.get(who + "_" + name)
		g, ok2 := f.get(gethName)
		if !ok1 || !ok2 || x.text != "" || g.text != "" || g.v == 0 {
			return "", false
		}
		return strconv.FormatFloat(x.v/g.v, 'f', 2, 64), true
	}
	metrics := benchGethMetrics(b.o.rate)
	for _, m := range metrics {
		gk := "geth_" + m.key
		if m.gethKey != "" {
			gk = "geth_" + m.gethKey
		}
		for _, n := range []string{"geth_run1_" + m.key, "geth_run2_" + m.key, gk, "seq_" + m.key} {
			line(n)
		}
		if r, ok := ratio("seq", gk, m.key); ok && m.ratio {
			fmt.Fprintf(w, "ratio_seq_vs_geth_%s %s x\n", m.key, r)
		}
		line("devnet_" + m.key)
		if r, ok := ratio("devnet", gk, m.key); ok && m.ratio {
			fmt.Fprintf(w, "ratio_devnet_vs_geth_%s %s x\n", m.key, r)
		}
	}
	line("bench_geth_wall_s")

	fmt.Fprintf(w, "\nSide by side on %d CPUs (geth v1.17.8 --dev --dev.period 0; meganode sequencer alone; devnet of 6 processes)\n", goruntime.NumCPU())
	cell := func(name string) string {
		if x, ok := f.get(name); ok {
			return x.String()
		}
		return "-"
	}
	fmt.Fprintf(w, "%-50s %10s %10s %8s %10s %8s\n", "", "geth", "seq", "seq/geth", "devnet", "dev/geth")
	for _, m := range metrics {
		gk := "geth_" + m.key
		if m.gethKey != "" {
			gk = "geth_" + m.gethKey
		}
		if _, ok := f.get(gk); !ok {
			if _, ok := f.get("seq_" + m.key); !ok {
				if _, ok := f.get("devnet_" + m.key); !ok {
					continue
				}
			}
		}
		rs, rd := "", ""
		if m.ratio {
			rs, _ = ratio("seq", gk, m.key)
			rd, _ = ratio("devnet", gk, m.key)
		}
		fmt.Fprintln(w, strings.TrimRight(fmt.Sprintf("%-50s %10s %10s %8s %10s %8s", m.label, cell(gk), cell("seq_"+m.key), rs, cell("devnet_"+m.key), rd), " "))
	}
	if _, ok := f.get("geth_run2_erc20_tps"); ok {
		fmt.Fprintf(w, "geth's saturation figures are the mean of its two runs (run 1 before meganode, run 2 after, each from a fresh datadir): %s and %s tx/s.\n",
			cell("geth_run1_erc20_tps"), cell("geth_run2_erc20_tps"))
	}
	fmt.Fprintf(w, "Ratios are meganode/geth: above 1 is better for tx/s, below 1 for CPU and latency. Sends are eth_sendRawTransactionSync; %d senders at saturation.\n", b.o.senders)
	fmt.Fprintln(w, "The load generator runs on the same cores as the servers (its CPU per transfer is the row above); the servers' CPU is from /proc/<pid>/stat.")
	fmt.Fprintf(w, "Storm: %d clients send eth_calls of %d gas that loop forever and abandon each after %v, while 1 sender sends transfers. geth --dev.period 0 seals a block only\n",
		b.o.stormClients, b.o.stormGas, b.o.stormTimeout)
	fmt.Fprintln(w, "when a transaction arrives, so its block gaps follow the sender, not a cadence: n/a; the storm's cost to geth shows in the 1-sender rows.")
	fmt.Fprintf(w, "Took %s s in all.\n", cell("bench_geth_wall_s"))
}

// newestHeader is the server's newest block header.
func (c *loadClient) newestHeader(ctx context.Context) (*types.Header, error) {
	var h *types.Header
	if err := c.rpc.CallContext(ctx, &h, "eth_getBlockByNumber", "latest", false); err != nil {
		return nil, fmt.Errorf("eth_getBlockByNumber(latest): %w", err)
	}
	if h == nil {
		return nil, errors.New("eth_getBlockByNumber(latest): null")
	}
	return h, nil
}

// blockFigures prints what sealing cost during a run that began at block
// from and lasted d: blocks sealed per second, and the header bytes per
// second that cost (the RLP of the newest header, times the rate).
func (b *gethBench) blockFigures(ctx context.Context, name string, c *loadClient, from *types.Header, d time.Duration) error {
	to, err := c.newestHeader(ctx)
	if err != nil {
		return err
	}
	raw, err := rlp.EncodeToBytes(to)
	if err != nil {
		return err
	}
	rate := float64(to.Number.Uint64()-from.Number.Uint64()) / d.Seconds()
	b.figs.set(name+"_blocks_per_s", rate, "blocks/s", 1)
	b.figs.set(name+"_header_bytes_per_s", rate*float64(len(raw)), "B/s", 0)
	return nil
}
