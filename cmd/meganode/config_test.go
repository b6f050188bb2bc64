package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	for _, cmd := range []string{"sequencer", "fullnode", "prover", "da", "keygen", "init", "devnet", "load", "bench"} {
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
