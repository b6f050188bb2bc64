package main

import (
	"bytes"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
	"github.com/meganode/meganode/node/mempool"
	"github.com/meganode/meganode/node/sequencer"
)

// A key in the file is read; the same key as a flag wins; an unknown key
// is refused by name.
func TestConfigFileAndFlags(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "node.toml")
	if err := os.WriteFile(path, []byte("datadir = \"/from/file\"\nrpc = \"127.0.0.1:1\"\npeers = [\"a\", \"b\"]\nmini-block-interval = \"20ms\"\nquorum = 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("fullnode", flag.ContinueOnError)
	c, err := loadConfig(fs, []string{"--config", path, "--rpc", "127.0.0.1:2", "--provers=0x1,0x2"})
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "/from/file" || c.RPC != "127.0.0.1:2" || len(c.Peers) != 2 || c.MiniBlockInterval.Duration != 20*time.Millisecond || c.Quorum != 3 || len(c.Provers) != 2 {
		t.Fatalf("config %+v", c)
	}
	if err := os.WriteFile(path, []byte("datadri = \"typo\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := loadConfig(flag.NewFlagSet("x", flag.ContinueOnError), []string{"--config=" + path}); err == nil || !strings.Contains(err.Error(), "datadri") {
		t.Fatalf("unknown key: %v", err)
	}
	// A written config reads back the same.
	want := defaultConfig()
	want.Peers, want.Quorum = []string{"p"}, 2
	if err := writeConfig(path, &want); err != nil {
		t.Fatal(err)
	}
	got, err := loadConfig(flag.NewFlagSet("y", flag.ContinueOnError), []string{"--config", path})
	if err != nil || got.Quorum != 2 || len(got.Peers) != 1 || got.MiniBlockInterval != want.MiniBlockInterval {
		t.Fatalf("round trip: %+v %v", got, err)
	}
}

// Every command answers --help with its usage and exits 0; an unknown
// command or a role without a genesis fails with a clear message.
func TestCommandsHelp(t *testing.T) {
	for _, cmd := range []string{"sequencer", "fullnode", "prover", "da", "keygen", "init", "devnet", "load", "bench", "chaos", "dumpconfig"} {
		var out, errb bytes.Buffer
		if code := run([]string{cmd, "--help"}, &out, &errb); code != 0 || !strings.Contains(errb.String()+out.String(), "usage: meganode "+cmd) {
			t.Errorf("%s --help: exit %d, %q", cmd, code, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"nonsense"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "unknown command") {
		t.Errorf("unknown command: exit %d %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"fullnode", "--datadir", t.TempDir()}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "meganode init") {
		t.Errorf("no genesis: exit %d %q", code, errb.String())
	}
}

// keygen refuses to overwrite a key; init refuses another genesis.
func TestKeygenAndInit(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "k")
	var out, errb bytes.Buffer
	if code := run([]string{"keygen", "--out", key}, &out, &errb); code != 0 || !strings.Contains(out.String(), "peer id") {
		t.Fatalf("keygen: %d %q %q", code, out.String(), errb.String())
	}
	if code := run([]string{"keygen", "--out", key}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "refusing") {
		t.Fatalf("keygen over a key: %d %q", code, errb.String())
	}
	g1, g2 := filepath.Join(dir, "g1.json"), filepath.Join(dir, "g2.json")
	if err := writeDevGenesis(g1); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // another timestamp: another genesis
	if err := writeDevGenesis(g2); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	if code := run([]string{"init", "--genesis", g1, "--datadir", data}, &out, &errb); code != 0 {
		t.Fatalf("init: %q", errb.String())
	}
	if code := run([]string{"init", "--genesis", g1, "--datadir", data}, &out, &errb); code != 0 {
		t.Fatalf("init again with the same genesis: %q", errb.String())
	}
	errb.Reset()
	if code := run([]string{"init", "--genesis", g2, "--datadir", data}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "already holds") {
		t.Fatalf("init with another genesis: %d %q", code, errb.String())
	}
}

// go-ethereum's protections take its flag names, as flags and as quoted
// TOML keys, with its defaults; they reach the RPC server's configuration
// (a fee cap of 0 is none) and the sequencer's admission (the minimum tip).
func TestProtectionFlags(t *testing.T) {
	c, err := loadConfig(flag.NewFlagSet("sequencer", flag.ContinueOnError), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.RPCAllowUnprotectedTxs || c.RPCTxFeeCap != 1 || c.RPCGasCap != 50_000_000 || c.MinerGasPrice != 1 {
		t.Fatalf("defaults: %+v", c)
	}
	if r := rpcConfig(c, nil); r.AllowUnprotectedTxs || r.TxFeeCap != 1 || r.GasCap != 50_000_000 {
		t.Fatalf("default rpc config %+v", r)
	}
	c, err = loadConfig(flag.NewFlagSet("sequencer", flag.ContinueOnError), []string{
		"--rpc.allow-unprotected-txs", "--rpc.txfeecap", "0.5", "--rpc.gascap=1000000", "--miner.gasprice", "2000000000"})
	if err != nil {
		t.Fatal(err)
	}
	if r := rpcConfig(c, nil); !r.AllowUnprotectedTxs || r.TxFeeCap != 0.5 || r.GasCap != 1_000_000 || c.MinerGasPrice != 2_000_000_000 {
		t.Fatalf("flags: %+v, rpc config %+v", c, r)
	}
	c, err = loadConfig(flag.NewFlagSet("sequencer", flag.ContinueOnError), []string{"--rpc.txfeecap", "0"})
	if err != nil || rpcConfig(c, nil).TxFeeCap >= 0 {
		t.Fatalf("--rpc.txfeecap 0 is no cap: %+v %v", c, err)
	}
	for _, bad := range []string{"-1", "NaN"} {
		if _, err := loadConfig(flag.NewFlagSet("sequencer", flag.ContinueOnError), []string{"--rpc.txfeecap", bad}); err == nil || !strings.Contains(err.Error(), "rpc.txfeecap") {
			t.Fatalf("--rpc.txfeecap %s: %v", bad, err)
		}
	}

	// In the file, under quoted keys; a written config reads back the same.
	dir := t.TempDir()
	path := filepath.Join(dir, "seq.toml")
	if err := os.WriteFile(path, []byte("\"rpc.txfeecap\" = 2\n\"rpc.gascap\" = 3000000\n\"rpc.allow-unprotected-txs\" = true\n\"miner.gasprice\" = 7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err = loadConfig(flag.NewFlagSet("sequencer", flag.ContinueOnError), []string{"--config", path})
	if err != nil || c.RPCTxFeeCap != 2 || c.RPCGasCap != 3_000_000 || !c.RPCAllowUnprotectedTxs || c.MinerGasPrice != 7 {
		t.Fatalf("file: %+v %v", c, err)
	}
	if err := writeConfig(path, c); err != nil {
		t.Fatal(err)
	}
	got, err := loadConfig(flag.NewFlagSet("sequencer", flag.ContinueOnError), []string{"--config", path})
	if err != nil || got.RPCTxFeeCap != 2 || got.RPCGasCap != 3_000_000 || !got.RPCAllowUnprotectedTxs || got.MinerGasPrice != 7 {
		t.Fatalf("round trip: %+v %v", got, err)
	}

	// --miner.gasprice is the sequencer's minimum tip.
	genFile := filepath.Join(dir, "genesis.json")
	if err := writeDevGenesis(genFile); err != nil {
		t.Fatal(err)
	}
	gen, err := readGenesis(dir)
	if err != nil {
		t.Fatal(err)
	}
	tipped := func(tip int64) []byte {
		tx := types.MustSignNewTx(DevKey(1), types.LatestSignerForChainID(big.NewInt(DevChainID)), &types.DynamicFeeTx{ChainID: big.NewInt(DevChainID),
			GasTipCap: big.NewInt(tip), GasFeeCap: big.NewInt(10 * params.GWei), Gas: 21_000, To: &common.Address{1}, Value: big.NewInt(1)})
		raw, err := tx.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	for _, c := range []struct {
		flags []string
		tip   int64
		want  string // "": admitted
	}{
		{nil, 0, "transaction gas price below minimum: gas tip cap 0, minimum needed 1"},
		{nil, 1, ""},
		{[]string{"--miner.gasprice", "2000000000"}, params.GWei, "transaction gas price below minimum: gas tip cap 1000000000, minimum needed 2000000000"},
		{[]string{"--miner.gasprice", "2000000000"}, 2 * params.GWei, ""},
		{[]string{"--miner.gasprice", "0"}, 0, ""},
	} {
		cfg, err := loadConfig(flag.NewFlagSet("sequencer", flag.ContinueOnError), c.flags)
		if err != nil {
			t.Fatal(err)
		}
		n, _, err := buildNode("sequencer", cfg, gen, DevKey(0), nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = n.(*sequencer.Sequencer).Admit(tipped(c.tip))
		if (c.want == "" && err != nil) || (c.want != "" && (err == nil || err.Error() != c.want)) {
			t.Errorf("%v, tip %d: %v, want %q", c.flags, c.tip, err, c.want)
		}
	}

	// txpool.order and max-mini-block-gas reach the sequencer; an order
	// it does not know is refused by name.
	for _, c := range []struct {
		flags []string
		order mempool.Order
		gas   uint64
	}{
		{nil, mempool.OrderTip, 0},
		{[]string{"--txpool.order", "arrival", "--max-mini-block-gas", "63000"}, mempool.OrderArrival, 63_000},
	} {
		cfg, err := loadConfig(flag.NewFlagSet("sequencer", flag.ContinueOnError), c.flags)
		if err != nil {
			t.Fatal(err)
		}
		n, _, err := buildNode("sequencer", cfg, gen, DevKey(0), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := n.(*sequencer.Sequencer).Config(); got.Pool.Order != c.order || got.MaxMiniBlockGas != c.gas {
			t.Errorf("%v: order %d, mini-block gas %d; want %d, %d", c.flags, got.Pool.Order, got.MaxMiniBlockGas, c.order, c.gas)
		}
	}
	cfg, err := loadConfig(flag.NewFlagSet("sequencer", flag.ContinueOnError), []string{"--txpool.order", "fifo"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := buildNode("sequencer", cfg, gen, DevKey(0), nil); err == nil || !strings.Contains(err.Error(), `txpool.order "fifo"`) {
		t.Fatalf("an unknown order: %v, want an error naming txpool.order", err)
	}
}

// A devnet started again takes its --log-format: the devnet passes it to
// every node as a flag after the config file the devnet wrote when it was
// made, and the flag wins over the file. Without the flag, the file's
// format stands.
func TestDevnetLogFormatAppliesOnRestart(t *testing.T) {
	dir := t.TempDir()
	plan, err := prepareDevnet(dir, 1, 1, 18545, 38300, 19100, 10*time.Millisecond, 100, "text", DevGasLimit)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{{[]string{"--log-format", "json"}, "json"}, {nil, "text"}} {
		fs := flag.NewFlagSet("devnet", flag.ContinueOnError)
		fs.String("log-format", "text", "")
		fs.String("dir", "devnet", "")
		if err := fs.Parse(append(tc.args, "--dir", dir)); err != nil {
			t.Fatal(err)
		}
		// Started again: the plan and its config files are reused.
		again, err := prepareDevnet(dir, 1, 1, 18545, 38300, 19100, 10*time.Millisecond, 100, "json", DevGasLimit)
		if err != nil || again.Nodes[0].Config != plan.Nodes[0].Config {
			t.Fatalf("restart: %v", err)
		}
		node := append([]string{"--config", again.Nodes[0].Config}, nodeFlags(fs)...)
		c, err := loadConfig(flag.NewFlagSet("sequencer", flag.ContinueOnError), node)
		if err != nil {
			t.Fatal(err)
		}
		if c.LogFormat != tc.want {
			t.Fatalf("devnet flags %v: the node logs in %q, want %q", tc.args, c.LogFormat, tc.want)
		}
	}
}

// A sequencer group's configuration: members in order, keys, retired keys
// with their bounds, and the errors an operator gets for a wrong one.
func TestGroupConfig(t *testing.T) {
	a, b, c3, old := "0x1000000000000000000000000000000000000001", "0x2000000000000000000000000000000000000002", "0x3000000000000000000000000000000000000003", "0x4000000000000000000000000000000000000004"
	load := func(args ...string) (*Config, error) {
		return loadConfig(flag.NewFlagSet("sequencer", flag.ContinueOnError), args)
	}
	c, err := load("--sequencers", a+","+b+","+c3, "--sequencer-peers", "p1,p2,p3", "--group.id", "2", "--sequencers-retired", old+"@99,"+a)
	if err != nil {
		t.Fatal(err)
	}
	g, err := c.group()
	if err != nil {
		t.Fatal(err)
	}
	if g.ID != 2 || len(g.Members) != 3 || g.Members[1].Node != "p2" || g.Members[1].Key != common.HexToAddress(b) || g.Tick != DefaultGroupTick || g.ElectionTicks != DefaultGroupElectionTicks {
		t.Fatalf("group %+v", g)
	}
	keys := g.Keys()
	if !keys.Allows(common.HexToAddress(old), 99) || keys.Allows(common.HexToAddress(old), 100) || !keys.Allows(common.HexToAddress(c3), 1<<40) {
		t.Fatalf("keys %v: the retired key must sign up to 99 only, members without bound", keys)
	}
	for _, bad := range [][]string{
		{"--sequencers", a + "," + b, "--sequencer-peers", "p1,p2,p3"},                                        // counts differ
		{"--sequencers", a, "--sequencer-peers", "p1", "--group.id", "2"},                                     // no such member
		{"--sequencers", a, "--sequencer-peers", "p1", "--group.election-ticks", "1"},                         // timeout too short
		{"--sequencers", a, "--sequencer-peers", "p1", "--group.id", "1", "--sequencers-retired", old + "@x"}, // bad bound
	} {
		c, err := load(bad...)
		if err == nil {
			_, err = c.group()
		}
		if err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
}
