package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/meganode/meganode/node/exec"
	"github.com/meganode/meganode/node/runtime"
)

const version = "0.6.0"

const usage = `usage: meganode COMMAND [flags]

Roles (each takes --config FILE; every config key is also a flag):
  sequencer   order and execute transactions, stream mini-blocks, seal blocks
  fullnode    apply mini-blocks by diff, check roots, serve reads, track finality
  prover      validate sealed blocks statelessly, sign attestations
  da          store and serve sealed blocks, witnesses and mini-blocks

Set-up:
  keygen      write a new node key and print its address and peer id
  init        put a genesis into a data directory
  devnet      generate and run a whole local cluster on 127.0.0.1
  load        drive ERC-20 transfers at any Ethereum JSON-RPC endpoint and measure
  bench       start a devnet and print its throughput and latency figures
  bench-geth  run geth --dev and meganode side by side under the same load and print both
  chaos       kill -9 a devnet's nodes under load and check that nothing acknowledged is lost

Operators:
  dumpconfig  print the effective configuration (defaults, --config FILE, flags) as TOML
  version     print the version, the commit and the Go version (also --version)

Run "meganode COMMAND --help" for a command's flags.
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "sequencer", "fullnode", "prover", "da":
		return runRole(cmd, rest, stdout, stderr)
	case "keygen":
		return keygen(rest, stdout, stderr)
	case "init":
		return initCmd(rest, stdout, stderr)
	case "devnet":
		return devnet(rest, stdout, stderr)
	case "load":
		return load(rest, stdout, stderr)
	case "bench":
		return bench(rest, stdout, stderr)
	case "bench-geth":
		return benchGeth(rest, stdout, stderr)
	case "chaos":
		return chaos(rest, stdout, stderr)
	case "dumpconfig":
		return dumpConfig(rest, stdout, stderr)
	case "version", "--version", "-version":
		bi, ok := debug.ReadBuildInfo()
		printVersion(stdout, bi, ok)
		return 0
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "meganode: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
}

func keygen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "node.key", "file to write the key to (hex, mode 0600); it must not exist")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: meganode keygen [--out FILE]\n\nWrites a new secp256k1 node key and prints its address and libp2p peer id.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitFlag(err)
	}
	addr, id, err := writeKey(*out)
	if err != nil {
		fmt.Fprintf(stderr, "meganode keygen: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "key      %s\naddress  %s\npeer id  %s\n", *out, addr, id)
	return 0
}

// writeKey writes a new key to path, refusing to overwrite one.
func writeKey(path string) (addr, id string, err error) {
	if _, err := os.Stat(path); err == nil {
		return "", "", fmt.Errorf("%s exists: refusing to overwrite a key", path)
	}
	k, err := crypto.GenerateKey()
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", "", err
	}
	if err := crypto.SaveECDSA(path, k); err != nil {
		return "", "", err
	}
	pid, err := runtime.PeerIDFromKey(crypto.FromECDSA(k))
	if err != nil {
		return "", "", err
	}
	return crypto.PubkeyToAddress(k.PublicKey).Hex(), string(pid), nil
}

func initCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	genesis := fs.String("genesis", "", "genesis file (go-ethereum's genesis JSON)")
	datadir := fs.String("datadir", "meganode-data", "data directory to initialize")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: meganode init --genesis FILE [--datadir DIR]\n\nChecks a genesis and writes it into a data directory; a directory that holds another genesis is refused.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitFlag(err)
	}
	if *genesis == "" {
		fmt.Fprintln(stderr, "meganode init: --genesis is required")
		return 2
	}
	hash, err := initDataDir(*genesis, *datadir)
	if err != nil {
		fmt.Fprintf(stderr, "meganode init: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "datadir  %s\ngenesis  %s\n", *datadir, hash)
	return 0
}

// initDataDir checks the genesis file and writes it into datadir.
func initDataDir(genesisFile, datadir string) (string, error) {
	raw, err := os.ReadFile(genesisFile)
	if err != nil {
		return "", err
	}
	g := new(core.Genesis)
	if err := json.Unmarshal(raw, g); err != nil {
		return "", fmt.Errorf("genesis %s: %w", genesisFile, err)
	}
	if g.Config == nil || g.Config.ChainID == nil {
		return "", fmt.Errorf("genesis %s: no chain config with a chain id", genesisFile)
	}
	block, _, err := exec.Genesis(g)
	if err != nil {
		return "", fmt.Errorf("genesis %s: %w", genesisFile, err)
	}
	if old, err := readGenesis(datadir); err == nil {
		ob, _, err := exec.Genesis(old)
		if err == nil && ob.Hash() != block.Hash() {
			return "", fmt.Errorf("%s already holds genesis %s, not %s", datadir, ob.Hash(), block.Hash())
		}
	}
	if err := os.MkdirAll(datadir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(datadir, "genesis.json"), raw, 0o644); err != nil {
		return "", err
	}
	return block.Hash().Hex(), nil
}

func exitFlag(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}
