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
	"syscall"
	"time"

	gethrpc "github.com/ethereum/go-ethereum/rpc"

	"github.com/ethereum/go-ethereum/common"
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
	at500 := run{"devnet_sync_at_500tps", 32, 500, true}
	lone, err := benchDevnet(1, *gasLimit, *duration, []run{{"devnet", *senders, 0, false}, {"devnet_at_100tps", 16, 100, false}, at500}, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "meganode bench: %v\n", err)
		return 1
	}
	if !*group {
		return 0
	}
	grp, err := benchDevnet(3, *gasLimit, *duration, []run{{"devnet_group3_sync_at_500tps", at500.senders, at500.rate, true}}, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "meganode bench: %v\n", err)
		return 1
	}
	a, b := lone[len(lone)-1], grp[0]
	fmt.Fprintf(stdout, "group3_ack_cost_ms_p50 %.1f ms\ngroup3_ack_cost_ms_p99 %.1f ms\n",
		float64((b.percentile(0.5)-a.percentile(0.5)).Microseconds())/1000, float64((b.percentile(0.99)-a.percentile(0.99)).Microseconds())/1000)
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

// benchDevnet runs loads on a fresh devnet with sequencers sequencers,
// sent to the sequencer (a group's leader), and prints each one's figures.
func benchDevnet(sequencers int, gasLimit uint64, duration time.Duration, runs []benchRun, stdout, stderr io.Writer) ([]*loadResult, error) {
	dir, err := os.MkdirTemp("", "meganode-bench")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	base, err := freePortRange(30)
	if err != nil {
		return nil, err
	}
	plan, err := prepareDevnetGroup(dir, sequencers, 2, 2, base, base+10, base+20, 10*time.Millisecond, 100, "text", gasLimit)
	if err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			_ = p.Process.Signal(syscall.SIGTERM)
		}
		for _, p := range procs {
			_ = p.Wait()
		}
	}()
	for _, n := range plan.Nodes {
		logf, err := os.Create(n.Log)
		if err != nil {
			return nil, err
		}
		defer logf.Close()
		cmd := exec.Command(exe, n.Role, "--config", n.Config)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		procs = append(procs, cmd)
	}
	url := "http://" + plan.Nodes[0].RPC
	if !waitRPC(context.Background(), url, 60*time.Second) {
		return nil, fmt.Errorf("the devnet's sequencer does not answer")
	}
	if sequencers > 1 {
		if url, err = groupLeaderRPC(plan, 30*time.Second); err != nil {
			return nil, err
		}
	}
	var out []*loadResult
	for _, run := range runs {
		o := loadOptions{rpc: url, funder: DevKey(0), senders: run.senders, duration: duration, rate: run.rate, sync: run.sync,
			poll: 5 * time.Millisecond, gasTipGwei: 1, setupWithin: 2 * time.Minute, paced: run.rate > 0}
		res, err := runLoad(context.Background(), o, stderr)
		if err != nil {
			return nil, err
		}
		if run.rate == 0 {
			fmt.Fprintf(stdout, "%s_erc20_tps %.0f tx/s\n", run.name, res.tps())
		}
		fmt.Fprintf(stdout, "%s_latency_ms_p50 %.1f ms\n%s_latency_ms_p99 %.1f ms\n",
			run.name, float64(res.percentile(0.5).Microseconds())/1000, run.name, float64(res.percentile(0.99).Microseconds())/1000)
		if res.Failed > 0 {
			fmt.Fprintf(stderr, "meganode bench: %s: %d of %d transfers failed (the first: %s)\n", run.name, res.Failed, res.Sent, res.FirstErr)
		}
		out = append(out, res)
	}
	return out, nil
}

// groupLeaderRPC finds the JSON-RPC URL of a devnet's sequencer group's
// leader: the signer of the newest mini-block its members hold.
func groupLeaderRPC(plan *devnetPlan, within time.Duration) (string, error) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		var best *groupMiniBlock
		for _, n := range plan.Nodes {
			if n.Role != "sequencer" {
				continue
			}
			cl, err := gethrpc.Dial("http://" + n.RPC)
			if err != nil {
				continue
			}
			mb, err := newestMiniBlockOf(context.Background(), cl)
			cl.Close()
			if err == nil && (best == nil || mb.Number > best.Number) {
				best = mb
			}
		}
		if best != nil && best.Signer != nil {
			for _, n := range plan.Nodes {
				if n.Role == "sequencer" && common.HexToAddress(n.Address) == *best.Signer {
					return "http://" + n.RPC, nil
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "", fmt.Errorf("no leader of the sequencer group found within %v", within)
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
