package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer a process writes while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// pidOf finds the process whose command line names config (Linux /proc).
func pidOf(t *testing.T, config string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(raw, []byte(config)) && !bytes.Contains(raw, []byte("devnet")) {
			return pid
		}
	}
	return 0
}

// The devnet supervises its nodes: a node that exits (here kill -9'd, as
// a fatal storage error makes it exit) is restarted and answers again;
// Ctrl-C still stops everything.
func TestDevnetRestartsANodeThatExits(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("finds the node's process in /proc")
	}
	bin := meganodeBinary(t)
	dir := t.TempDir()
	base := freePorts(t, 3*3+2)
	var stdout, stderr lockedBuffer
	cmd := exec.Command(bin, "devnet", "--dir", dir, "--fullnodes", "1", "--provers", "0",
		"--rpc-port", fmt.Sprint(base), "--p2p-port", fmt.Sprint(base+4), "--metrics-port", fmt.Sprint(base+8))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
		}
	}()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no %s within 60 s\nstdout:\n%s\nstderr:\n%s", what, stdout.String(), stderr.String())
			}
		}
	}
	waitFor("ready line", func() bool { return strings.Contains(stdout.String(), "ready:") })
	config := filepath.Join(dir, "sequencer.toml")
	if _, err := os.Stat(config); err != nil {
		t.Fatal(err)
	}
	pid := pidOf(t, config)
	if pid == 0 {
		t.Fatal("no sequencer process")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor("restart", func() bool {
		return strings.Contains(stderr.String(), "sequencer exited") && strings.Contains(stderr.String(), "restarting it")
	})
	waitFor("a new sequencer answering", func() bool {
		if p := pidOf(t, config); p == 0 || p == pid {
			return false
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return waitRPC(ctx, fmt.Sprintf("http://127.0.0.1:%d", base), time.Second)
	})
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("devnet exited with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("devnet did not stop on SIGTERM")
	}
	if p := pidOf(t, config); p != 0 {
		t.Fatalf("sequencer %d still running after the devnet stopped", p)
	}
}
