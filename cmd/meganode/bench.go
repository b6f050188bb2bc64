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
)

// bench starts a devnet of separate processes in a temporary directory,
// drives it with the load generator (at saturation, then at 100 transfers
// per second) and prints the figures as "name value unit" lines.
func bench(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	duration := fs.Duration("duration", 10*time.Second, "how long each load runs")
	senders := fs.Int("senders", 64, "senders at saturation")
	gasLimit := fs.Uint64("gas-limit", DevGasLimit, "block gas limit of the devnet's genesis")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: meganode bench [--duration D] [--senders N]\n\nStarts a devnet (2 fullnodes, 2 provers) on free local ports and prints devnet_erc20_tps and\ndevnet_latency_ms (p50, p99) at saturation, and the latency at 100 transfers/s.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitFlag(err)
	}
	dir, err := os.MkdirTemp("", "meganode-bench")
	if err != nil {
		fmt.Fprintf(stderr, "meganode bench: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	base, err := freePortRange(20)
	if err != nil {
		fmt.Fprintf(stderr, "meganode bench: %v\n", err)
		return 1
	}
	plan, err := prepareDevnet(dir, 2, 2, base, base+7, base+14, 10*time.Millisecond, 100, "text", *gasLimit)
	if err != nil {
		fmt.Fprintf(stderr, "meganode bench: %v\n", err)
		return 1
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "meganode bench: %v\n", err)
		return 1
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
			fmt.Fprintf(stderr, "meganode bench: %v\n", err)
			return 1
		}
		defer logf.Close()
		cmd := exec.Command(exe, n.Role, "--config", n.Config)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			fmt.Fprintf(stderr, "meganode bench: %v\n", err)
			return 1
		}
		procs = append(procs, cmd)
	}
	url := "http://" + plan.Nodes[0].RPC
	if !waitRPC(context.Background(), url, 60*time.Second) {
		fmt.Fprintf(stderr, "meganode bench: the devnet's sequencer does not answer\n")
		return 1
	}
	for _, run := range []struct {
		name    string
		senders int
		rate    float64
	}{{"devnet", *senders, 0}, {"devnet_at_100tps", 16, 100}} {
		o := loadOptions{rpc: url, funder: DevKey(0), senders: run.senders, duration: *duration, rate: run.rate,
			poll: 5 * time.Millisecond, gasTipGwei: 1, setupWithin: 2 * time.Minute}
		res, err := runLoad(context.Background(), o, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "meganode bench: %v\n", err)
			return 1
		}
		if run.rate == 0 {
			fmt.Fprintf(stdout, "%s_erc20_tps %.0f tx/s\n", run.name, res.tps())
		}
		fmt.Fprintf(stdout, "%s_latency_ms_p50 %.1f ms\n%s_latency_ms_p99 %.1f ms\n",
			run.name, float64(res.percentile(0.5).Microseconds())/1000, run.name, float64(res.percentile(0.99).Microseconds())/1000)
	}
	return 0
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
