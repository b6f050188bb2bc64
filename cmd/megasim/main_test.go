package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/sim"
	"github.com/meganode/meganode/sim/register"
)

// A register primary whose disk lies about sync: it says a sync completed
// as soon as it is asked for, and never makes anything durable. Only this
// test builds it.
type lyingPrimary struct {
	*register.Primary
	fake node.SyncID
}

const lieTimer node.TimerID = 1 << 62

type lyingEnv struct {
	node.Env
	p *lyingPrimary
}

func (e lyingEnv) Sync() node.SyncID {
	e.p.fake++
	e.Env.After(0, lieTimer)
	return e.p.fake
}

func (l *lyingPrimary) Start(env node.Env) error { return l.Primary.Start(lyingEnv{env, l}) }
func (l *lyingPrimary) OnSynced(node.SyncID)     {}
func (l *lyingPrimary) OnTimer(id node.TimerID) {
	if id == lieTimer {
		l.Primary.OnSynced(l.fake)
		return
	}
	l.Primary.OnTimer(id)
}

func init() {
	sim.Register(&sim.Profile{Name: "register-lying-disk", Ranges: register.Ranges, New: func(cfg *sim.Config, rng *rand.Rand) sim.Scenario {
		return register.New(cfg, rng, func(backups []node.NodeID) node.Node { return &lyingPrimary{Primary: register.NewPrimary(backups)} })
	}})
}

func TestSweepFindsALyingDiskAndItsTraceReplays(t *testing.T) {
	dir := t.TempDir()
	var out, log bytes.Buffer
	code, err := cmdSweep([]string{"--seeds", "100", "--profile", "register-lying-disk", "--jobs", "2", "--traces", dir}, &out, &log)
	if err != nil || code != 1 {
		t.Fatalf("sweep: code %d, err %v\n%s", code, err, out.String())
	}
	m := regexp.MustCompile(`(?m)^(\d+) passed, (\d+) failed$`).FindStringSubmatch(out.String())
	if m == nil || m[2] == "0" {
		t.Fatalf("no closing line with failures:\n%s", out.String())
	}
	replay := regexp.MustCompile(`replay: megasim replay (\S+)`).FindStringSubmatch(out.String())
	if replay == nil {
		t.Fatalf("no replay command printed:\n%s", out.String())
	}
	out.Reset()
	code, err = cmdReplay([]string{replay[1]}, &out, &log)
	if err != nil || code != 0 || !strings.Contains(out.String(), "reproduced exactly") || !strings.Contains(out.String(), "recorded VIOLATION") {
		t.Fatalf("replay: code %d, err %v\n%s", code, err, out.String())
	}
	// A doctored trace must not replay.
	raw, err := os.ReadFile(replay[1])
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0xff
	bad := filepath.Join(dir, "bad.trace")
	if err := os.WriteFile(bad, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, err := cmdReplay([]string{bad}, &out, &log); code == 0 || err == nil {
		t.Fatalf("a corrupt trace replayed: code %d", code)
	}
}

func TestRunPassesAndPrintsItsConfigurationFirst(t *testing.T) {
	var out, log bytes.Buffer
	code, err := cmdRun([]string{"--seed", "5"}, &out, &log)
	if err != nil || code != 0 {
		t.Fatalf("code %d err %v\n%s", code, err, out.String())
	}
	if !strings.HasPrefix(out.String(), "seed 5\nprofile chain\n") || !strings.Contains(out.String(), "fingerprint") {
		t.Fatalf("output:\n%s", out.String())
	}
}

func TestShardsPartitionTheSeeds(t *testing.T) {
	seen := map[uint64]int{}
	for i := range 3 {
		sh, err := parseShard(strings.Join([]string{string(rune('0' + i)), "3"}, "/"))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sh.Seeds(10, 20) {
			seen[s]++
		}
	}
	if len(seen) != 20 {
		t.Fatalf("%d seeds covered", len(seen))
	}
	for s, n := range seen {
		if n != 1 || s < 10 || s >= 30 {
			t.Fatalf("seed %d run %d times", s, n)
		}
	}
	for _, bad := range []string{"3/3", "x/2", "1", "-1/2", "0/0"} {
		if _, err := parseShard(bad); err == nil {
			t.Errorf("shard %q accepted", bad)
		}
	}
}

func TestBenchPrintsItsFigures(t *testing.T) {
	var out, log bytes.Buffer
	if code, err := cmdBench([]string{"--seeds", "10"}, &out, &log); code != 0 || err != nil {
		t.Fatalf("code %d err %v", code, err)
	}
	for _, name := range []string{"sim_speedup", "sim_events_per_s", "sweep_seeds_per_hour"} {
		if !regexp.MustCompile(`(?m)^` + name + ` [0-9]+ \S+$`).MatchString(out.String()) {
			t.Errorf("no %s line in:\n%s", name, out.String())
		}
	}
}
