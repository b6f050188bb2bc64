package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"time"

	gethrpc "github.com/ethereum/go-ethereum/rpc"
)

// bench starts a devnet of separate processes in a temporary directory,
// drives it with the load generator (at saturation, then at 100 transfers
// per second, then at 500 with synchronous sends) and prints the figures
// as "name value unit" lines; then the same 500 transfers per second on a
// devnet whose sequencer is a raft group of 3 (sent to its leader), for
// the latency cost of quorum acknowledgement, side by side in one run.
func bench(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	duration := fs.Duration("duration", 10*time.Second, "how long each load runs")
	senders := fs.Int("senders", 64, "senders at saturation")
	gasLimit := fs.Uint64("gas-limit", DevGasLimit, "block gas limit of the devnet's genesis")
	group := fs.Bool("group", true, "also run the 500 transfers/s load on a devnet with a sequencer group of 3")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: meganode bench [--duration D] [--senders N]\n\nStarts a devnet (2 fullnodes, 2 provers) on free local ports and prints devnet_erc20_tps and\ndevnet_latency_ms (p50, p99) at saturation, the latency at 100 transfers/s, and the latency of\nsynchronous sends at 500 transfers/s, then the same on a devnet with a sequencer group of 3.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitFlag(err)
	}
	type run = benchRun
	lone, err := startBenchDevnet(1, *gasLimit)
	if err != nil {
		fmt.Fprintf(stderr, "meganode bench: %v\n", err)
		return 1
	}
	defer lone.stop()
	for _, r := range []run{{"devnet", *senders, 0, false}, {"devnet_at_100tps", 16, 100, false}} {
		if _, err := lone.load(r, *duration, stdout, stderr); err != nil {
			fmt.Fprintf(stderr, "meganode bench: %v\n", err)
			return 1
		}
	}
	at500 := run{"devnet_sync_at_500tps", 32, 500, true}
	if !*group {
		if _, err := lone.load(at500, *duration, stdout, stderr); err != nil {
			fmt.Fprintf(stderr, "meganode bench: %v\n", err)
			return 1
		}
		return 0
	}
	// Side by side: both devnets up at once, the same load on each in
	// turn, four rounds, so that both meet the same machine.
	grp, err := startBenchDevnet(3, *gasLimit)
	if err != nil {
		fmt.Fprintf(stderr, "meganode bench: %v\n", err)
		return 1
	}
	defer grp.stop()
	var a, b loadResult
	for range 4 {
		for _, x := range []struct {
			net *benchNet
			sum *loadResult
		}{{lone, &a}, {grp, &b}} {
			res, err := x.net.load(run{"", at500.senders, at500.rate, true}, *duration/4, nil, stderr)
			if err != nil {
				fmt.Fprintf(stderr, "meganode bench: %v\n", err)
				return 1
			}
			x.sum.Sent, x.sum.Failed, x.sum.Confirmed = x.sum.Sent+res.Sent, x.sum.Failed+res.Failed, x.sum.Confirmed+res.Confirmed
			x.sum.Latencies = append(x.sum.Latencies, res.Latencies...)
		}
	}
	slices.Sort(a.Latencies)
	slices.Sort(b.Latencies)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	fmt.Fprintf(stdout, "devnet_sync_at_500tps_latency_ms_p50 %.1f ms\ndevnet_sync_at_500tps_latency_ms_p99 %.1f ms\n", ms(a.percentile(0.5)), ms(a.percentile(0.99)))
	fmt.Fprintf(stdout, "devnet_group3_sync_at_500tps_latency_ms_p50 %.1f ms\ndevnet_group3_sync_at_500tps_latency_ms_p99 %.1f ms\n", ms(b.percentile(0.5)), ms(b.percentile(0.99)))
	fmt.Fprintf(stdout, "group3_ack_cost_ms_p50 %.1f ms\ngroup3_ack_cost_ms_p99 %.1f ms\n", ms(b.percentile(0.5)-a.percentile(0.5)), ms(b.percentile(0.99)-a.percentile(0.99)))
	if a.Failed+b.Failed > 0 {
		fmt.Fprintf(stderr, "meganode bench: at 500 transfers/s, %d of %d failed alone, %d of %d with a group\n", a.Failed, a.Sent, b.Failed, b.Sent)
	}
	return 0
}

// benchRun is one load of a bench: its figures' name prefix, senders,
// rate (0: saturation) and whether sends are synchronous.
type benchRun struct {
	name    string
	senders int
	rate    float64
	sync    bool
}

// benchElectionTicks is the election timeout of the bench's group, in
// ticks of DefaultGroupTick: 50 ms.
const benchElectionTicks = 25

// benchNet is a devnet a bench runs: its processes, and the JSON-RPC URL
// sends go to (the sequencer, or its group's leader).
type benchNet struct {
	dir   string
	url   string
	procs []*exec.Cmd
	logs  []*os.File
}

func (n *benchNet) stop() {
	for _, p := range n.procs {
		_ = p.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range n.procs {
		_ = p.Wait()
	}
	for _, f := range n.logs {
		f.Close()
	}
	os.RemoveAll(n.dir)
}

// startBenchDevnet starts a fresh devnet with sequencers sequencers in a
// temporary directory.
func startBenchDevnet(sequencers int, gasLimit uint64) (*benchNet, error) {
	dir, err := os.MkdirTemp("", "meganode-bench")
	if err != nil {
		return nil, err
	}
	n := &benchNet{dir: dir}
	base, err := freePortRange(30)
	if err != nil {
		n.stop()
		return nil, err
	}
	plan, err := prepareDevnetGroup(dir, sequencers, 2, 2, base, base+10, base+20, 10*time.Millisecond, 100, "text", gasLimit)
	if err != nil {
		n.stop()
		return nil, err
	}
	if sequencers > 1 {
		// Two devnets share the 2-core machine here: the group's default
		// election timeout (20 ms) would see needless elections while
		// both run (see DefaultGroupElectionTicks); the cost of a
		// quorum's acknowledgement does not depend on it.
		for _, nd := range plan.Nodes {
			if nd.Role != "sequencer" {
				continue
			}
			c, err := loadConfig(flag.NewFlagSet(nd.Name, flag.ContinueOnError), []string{"--config", nd.Config})
			if err == nil {
				c.GroupElectionTicks = benchElectionTicks
				err = writeConfig(nd.Config, c)
			}
			if err != nil {
				n.stop()
				return nil, err
			}
		}
	}
	exe, err := os.Executable()
	if err != nil {
		n.stop()
		return nil, err
	}
	for _, nd := range plan.Nodes {
		logf, err := os.Create(nd.Log)
		if err != nil {
			n.stop()
			return nil, err
		}
		n.logs = append(n.logs, logf)
		cmd := exec.Command(exe, nd.Role, "--config", nd.Config)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			n.stop()
			return nil, err
		}
		n.procs = append(n.procs, cmd)
	}
	n.url = "http://" + plan.Nodes[0].RPC
	if !waitRPC(context.Background(), n.url, 60*time.Second) {
		n.stop()
		return nil, fmt.Errorf("the devnet's sequencer does not answer")
	}
	if sequencers > 1 {
		if n.url, err = groupLeaderRPC(plan, 30*time.Second); err != nil {
			n.stop()
			return nil, err
		}
	}
	return n, nil
}

// load runs one load on the devnet and, with stdout, prints its figures.
func (n *benchNet) load(run benchRun, duration time.Duration, stdout, stderr io.Writer) (*loadResult, error) {
	o := loadOptions{rpc: n.url, funder: DevKey(0), senders: run.senders, duration: duration, rate: run.rate, sync: run.sync,
		poll: 5 * time.Millisecond, gasTipGwei: 1, setupWithin: 2 * time.Minute, paced: run.rate > 0}
	res, err := runLoad(context.Background(), o, stderr)
	if err != nil {
		return nil, err
	}
	if stdout != nil {
		if run.rate == 0 {
			fmt.Fprintf(stdout, "%s_erc20_tps %.0f tx/s\n", run.name, res.tps())
		}
		fmt.Fprintf(stdout, "%s_latency_ms_p50 %.1f ms\n%s_latency_ms_p99 %.1f ms\n",
			run.name, float64(res.percentile(0.5).Microseconds())/1000, run.name, float64(res.percentile(0.99).Microseconds())/1000)
	}
	if res.Failed > 0 {
		fmt.Fprintf(stderr, "meganode bench: %d of %d transfers failed (the first: %s)\n", res.Failed, res.Sent, res.FirstErr)
	}
	return res, nil
}

// groupLeaderRPC finds the JSON-RPC URL of a devnet's sequencer group's
// leader: the signer of the newest mini-block its members hold.
func groupLeaderRPC(plan *devnetPlan, within time.Duration) (string, error) {
	var members []devnetNode
	clients := map[string]*gethrpc.Client{}
	for _, n := range plan.Nodes {
		if n.Role != "sequencer" {
			continue
		}
		cl, err := gethrpc.Dial("http://" + n.RPC) // HTTP: dials nothing yet
		if err != nil {
			return "", err
		}
		defer cl.Close()
		members, clients[n.Name] = append(members, n), cl
	}
	deadline := time.Now().Add(within)
	var last error
	for time.Now().Before(deadline) {
		name, _, err := groupLeader(context.Background(), members, func(name string) *gethrpc.Client { return clients[name] })
		if err == nil {
			for _, m := range members {
				if m.Name == name {
					return "http://" + m.RPC, nil
				}
			}
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return "", fmt.Errorf("no leader of the sequencer group found within %v: %v", within, last)
}

// freePortRange finds n consecutive free ports on 127.0.0.1, below the
// ephemeral range (where the kernel hands out ports to connections).
func freePortRange(n int) (int, error) {
	for try := 0; try < 200; try++ {
		base := 20000 + mrand.IntN(12000-n)
		ok := true
		var held []net.Listener
		for p := base; p < base+n; p++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				break
			}
			held = append(held, l)
		}
		for _, l := range held {
			l.Close()
		}
		if ok {
			return base, nil
		}
	}
	return 0, fmt.Errorf("no %d free consecutive ports", n)
}
