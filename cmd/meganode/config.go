package main

import (
	"flag"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/rpc"
	"github.com/meganode/meganode/node/sequencer"
)

// Config is a node's configuration: a TOML file (--config), every key of
// which is also a flag of the same name; a flag given on the command line
// wins over the file.
type Config struct {
	DataDir   string   `toml:"datadir" help:"data directory: the database (db/) and the genesis (genesis.json, written by init)"`
	Key       string   `toml:"key" help:"file holding the node's secp256k1 key in hex (meganode keygen): its libp2p identity and, for the sequencer and provers, its signing key"`
	Listen    []string `toml:"listen" help:"libp2p listen multiaddrs, comma-separated"`
	Peers     []string `toml:"peers" help:"multiaddrs (with /p2p/<peer id>) of the peers to stay connected to, comma-separated"`
	RPC       string   `toml:"rpc" help:"JSON-RPC (HTTP and WebSocket) listen address; empty: none"`
	Metrics   string   `toml:"metrics" help:"Prometheus /metrics and /health listen address (loopback); empty: none"`
	LogFormat string   `toml:"log-format" help:"log format: text or json"`
	LogLevel  string   `toml:"log-level" help:"log level: debug, info, warn or error"`

	// A permissioned network (runtime.P2PConfig.AllowPeers); meganode
	// devnet lists every node of the devnet.
	AllowPeers []string `toml:"p2p.allow-peers" help:"peer ids (or multiaddrs with /p2p/) allowed to connect, comma-separated: when set, connections to or from any peer neither listed nor in peers are refused and counted; empty: any peer may connect"`

	// go-ethereum's HTTP server and profiler flags, under its names.
	HTTPAPI        []string `toml:"http.api" help:"JSON-RPC namespaces served, comma-separated, of eth,net,web3,realtime,meganode,txpool,debug; empty: all (sequencer, fullnode)"`
	HTTPCorsDomain []string `toml:"http.corsdomain" help:"origins from which browsers may send cross-origin JSON-RPC requests (CORS), comma-separated; * any; empty: no CORS headers (sequencer, fullnode)"`
	HTTPVHosts     []string `toml:"http.vhosts" help:"host names accepted in the Host header of JSON-RPC HTTP requests, comma-separated, besides the rpc address's own host; * any; IP addresses always pass (sequencer, fullnode)"`
	PProf          bool     `toml:"pprof" help:"serve Go's profiler (/debug/pprof/) on pprof.addr:pprof.port"`
	PProfAddr      string   `toml:"pprof.addr" help:"profiler listen interface"`
	PProfPort      int      `toml:"pprof.port" help:"profiler listen port"`
	HealthMaxLag   Duration `toml:"health.max-lag" help:"/health answers 503 on a fullnode whose newest mini-block is older than this; 0: no bound (fullnode)"`

	// go-ethereum's RPC protections, under its flag names (quoted keys in
	// TOML: "rpc.txfeecap" = 1.0).
	RPCAllowUnprotectedTxs bool    `toml:"rpc.allow-unprotected-txs" help:"accept transactions without EIP-155 replay protection over JSON-RPC (sequencer)"`
	RPCTxFeeCap            float64 `toml:"rpc.txfeecap" help:"refuse JSON-RPC sends whose fee (fee cap × gas) exceeds this, in ether; 0: no cap (sequencer)"`
	RPCGasCap              uint64  `toml:"rpc.gascap" help:"gas cap of eth_call and eth_estimateGas; 0: no cap but the node's own, 50,000,000 (sequencer, fullnode)"`
	// Where a node sends what it does not serve itself.
	SequencerRPC string `toml:"sequencer-rpc" help:"the sequencer's JSON-RPC URL: the transactions this node's clients send are checked here, then forwarded there; a sequencer group's members' URLs, comma-separated: forwarded to the one that leads (fullnode)"`
	FinalityRPC  string `toml:"finality-rpc" help:"a fullnode's JSON-RPC URL, named in the error a read at the finalized tag gets here (sequencer)"`

	Sequencer     string `toml:"sequencer" help:"the sequencer's signing address (fullnode, prover, da)"`
	SequencerPeer string `toml:"sequencer-peer" help:"the sequencer's peer id (fullnode, da)"`
	// A sequencer group (node/sequencer's GroupConfig).
	Sequencers         []string `toml:"sequencers" help:"a sequencer group's signing addresses, one per member, in member order: mini-blocks signed by any are accepted (fullnode, prover, da; and each member); overrides sequencer"`
	SequencersRetired  []string `toml:"sequencers-retired" help:"keys a sequencer group's mini-blocks may be signed with besides the members': ADDRESS for a member's new key while it is rotated in, ADDRESS@N for an old one rotated out, up to mini-block N, the last it signed (fullnode, prover, da, each member)"`
	SequencerPeers     []string `toml:"sequencer-peers" help:"a sequencer group's peer ids, in member order (each member; fullnode: asked for mini-blocks; da: whose puts count); overrides sequencer-peer"`
	GroupID            int      `toml:"group.id" help:"this sequencer's member number in its group, 1 to the number of sequencers; 0: a lone sequencer (sequencer)"`
	GroupTick          Duration `toml:"group.tick" help:"a sequencer group's raft tick: the leader's heartbeats go every tick (sequencer)"`
	GroupElectionTicks int      `toml:"group.election-ticks" help:"ticks a member waits without hearing the leader before it campaigns, plus a random 0 to as many more (sequencer)"`
	DAPeer             string   `toml:"da-peer" help:"the DA node's peer id (sequencer, prover, fullnode)"`
	FullnodePeers      []string `toml:"fullnode-peers" help:"other fullnodes' peer ids, asked for missing mini-blocks (fullnode)"`
	Provers            []string `toml:"provers" help:"the provers' signing addresses whose attestations count (fullnode)"`
	ProverPeers        []string `toml:"prover-peers" help:"the provers' peer ids, asked for attestations (fullnode)"`
	Quorum             int      `toml:"quorum" help:"attestations that finalize a block; 0: a majority of provers (fullnode)"`

	Coinbase           string   `toml:"coinbase" help:"address that receives priority fees (sequencer)"`
	MinerGasPrice      uint64   `toml:"miner.gasprice" help:"least tip (priority fee per gas; a legacy transaction's gas price) a transaction must offer, in wei; 0: none (sequencer)"`
	MiniBlockInterval  Duration `toml:"mini-block-interval" help:"time between mini-blocks (sequencer)"`
	MiniBlocksPerBlock int      `toml:"mini-blocks-per-block" help:"mini-block intervals a sealed EVM block lasts (sequencer)"`
	BlockGap           Duration `toml:"block-gap" help:"least time between the seals of blocks that hold transactions: a block seals at the first mini-block close that finds a transaction in it this long after the last seal (receipts wait for their block's seal), and at its mini-blocks-per-block-th interval in any case; negative: at that interval only (sequencer)"`
	MaxSealShare       float64  `toml:"max-seal-share" help:"most of the sequencer's time sealing blocks may take: after a seal that took d, the next waits d×(1−share)/share at least, so that under load blocks grow rather than seal more often (sequencer)"`
	MinGap             Duration `toml:"min-gap" help:"least time between mini-blocks: a mini-block closes early, once the sequencer is idle with executed transactions, this long after the last at the earliest; negative: on the interval only (sequencer)"`
	MaxMiniBlockGas    uint64   `toml:"max-mini-block-gas" help:"most gas (the transactions' gas limits) one mini-block executes; what the pool holds beyond it waits for the next mini-block and runs then, best tip first; a larger transaction runs alone; 0: the block's gas limit only (sequencer)"`
	TxPoolOrder        string   `toml:"txpool.order" help:"how the pool ranks executable transactions: tip (effective tip, then arrival: the chain's ordering property) or arrival (first come, first served) (sequencer)"`
	Workers            int      `toml:"workers" help:"blocks validated at once; 0: the number of CPUs (prover)"`
}

// Duration is a time.Duration written as "10ms" in TOML and flags.
type Duration struct{ time.Duration }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

func defaultConfig() Config {
	return Config{
		DataDir: "meganode-data", Listen: []string{"/ip4/127.0.0.1/tcp/30300"}, LogFormat: "text", LogLevel: "info",
		MiniBlockInterval: Duration{10 * time.Millisecond}, MiniBlocksPerBlock: 100, MinGap: Duration{time.Millisecond}, BlockGap: Duration{sequencer.DefaultBlockGap}, MaxSealShare: sequencer.DefaultMaxSealShare,
		RPCTxFeeCap: rpc.DefaultTxFeeCap, RPCGasCap: rpc.DefaultGasCap, MinerGasPrice: sequencer.DefaultMinTip, TxPoolOrder: "tip",
		HTTPAPI: slices.Clone(rpc.Namespaces), HTTPVHosts: []string{"localhost"},
		PProfAddr: "127.0.0.1", PProfPort: 6060, HealthMaxLag: Duration{2 * time.Second},
		GroupTick: Duration{DefaultGroupTick}, GroupElectionTicks: DefaultGroupElectionTicks,
	}
}

// listFlag is a comma-separated flag of strings.
type listFlag struct{ p *[]string }

func (l listFlag) String() string {
	if l.p == nil {
		return ""
	}
	return strings.Join(*l.p, ",")
}

func (l listFlag) Set(s string) error {
	*l.p = nil
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			*l.p = append(*l.p, x)
		}
	}
	return nil
}

type durationFlag struct{ p *Duration }

func (d durationFlag) String() string {
	if d.p == nil {
		return ""
	}
	return d.p.String()
}
func (d durationFlag) Set(s string) error { return d.p.UnmarshalText([]byte(s)) }

// bindFlags defines a flag for every key of c, defaulting to its value.
func bindFlags(fs *flag.FlagSet, c *Config) {
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, help := f.Tag.Get("toml"), f.Tag.Get("help")
		switch p := v.Field(i).Addr().Interface().(type) {
		case *string:
			fs.StringVar(p, name, *p, help)
		case *int:
			fs.IntVar(p, name, *p, help)
		case *uint64:
			fs.Uint64Var(p, name, *p, help)
		case *float64:
			fs.Float64Var(p, name, *p, help)
		case *bool:
			fs.BoolVar(p, name, *p, help)
		case *[]string:
			fs.Var(listFlag{p}, name, help)
		case *Duration:
			fs.Var(durationFlag{p}, name, help)
		default:
			panic(fmt.Sprintf("config key %s: no flag for %T", name, p))
		}
	}
}

// loadConfig reads the configuration of a role command: the file named by
// --config, then the flags. It returns the flag set's error for --help.
func loadConfig(fs *flag.FlagSet, args []string) (*Config, error) {
	c := defaultConfig()
	if path := configPath(args); path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		md, err := toml.Decode(string(raw), &c)
		if err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
		if undecoded := md.Undecoded(); len(undecoded) > 0 {
			return nil, fmt.Errorf("config %s: unknown keys %v", path, undecoded)
		}
	}
	fs.String("config", "", "TOML configuration file; flags override its keys")
	bindFlags(fs, &c)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return &c, nil
}

// check refuses values no node could run with.
func (c *Config) check() error {
	if !(c.RPCTxFeeCap >= 0) { // NaN too
		return fmt.Errorf("rpc.txfeecap %v: want ether, 0 or more (0: no cap)", c.RPCTxFeeCap)
	}
	for _, n := range c.HTTPAPI {
		if !slices.Contains(rpc.Namespaces, n) {
			return fmt.Errorf("http.api: unknown namespace %q (want some of %s)", n, strings.Join(rpc.Namespaces, ","))
		}
	}
	if c.PProfPort < 0 || c.PProfPort > 65535 {
		return fmt.Errorf("pprof.port %d: want 0 to 65535", c.PProfPort)
	}
	if c.HealthMaxLag.Duration < 0 {
		return fmt.Errorf("health.max-lag %v: want 0 or more (0: no bound)", c.HealthMaxLag)
	}
	if len(c.SequencerPeers) > 0 && len(c.Sequencers) > 0 && len(c.SequencerPeers) != len(c.Sequencers) {
		return fmt.Errorf("sequencers lists %d addresses, sequencer-peers %d peer ids: one of each per member, in the same order", len(c.Sequencers), len(c.SequencerPeers))
	}
	if c.GroupID < 0 || (c.GroupID > 0 && (c.GroupID > len(c.Sequencers) || len(c.SequencerPeers) != len(c.Sequencers))) {
		return fmt.Errorf("group.id %d: want 0 (a lone sequencer) or 1 to the number of sequencers (%d), with as many sequencer-peers (%d)", c.GroupID, len(c.Sequencers), len(c.SequencerPeers))
	}
	if c.GroupTick.Duration <= 0 || c.GroupElectionTicks < 2 {
		return fmt.Errorf("group.tick %v, group.election-ticks %d: want a positive tick and 2 ticks or more", c.GroupTick, c.GroupElectionTicks)
	}
	return nil
}

// configPath finds --config's value before the flags are parsed.
func configPath(args []string) string {
	for i, a := range args {
		a = strings.TrimLeft(a, "-")
		if v, ok := strings.CutPrefix(a, "config="); ok {
			return v
		}
		if a == "config" && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// writeConfig writes c as TOML.
func writeConfig(path string, c *Config) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if err := toml.NewEncoder(f).Encode(c); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// A sequencer group's raft tick and election timeout, by default: 2 ms and
// 10 ticks, so that a leader lost is replaced 20 to 40 ms after the
// followers last heard it (make chaos SEQUENCERS=3: failover p50 73 ms,
// max 128 ms on the 2-core devnet). The leader's heartbeats wait for its
// step, and a block's seal (roots, witness) takes tens of ms under load
// on a small machine: there, under saturating load, 10 ticks saw 4
// needless elections in 10 s (each a failover's worth of refused sends),
// 25 ticks none, at the cost of failover p50 149 ms, max 298 ms. Raise
// group.election-ticks where the leader's steps run long.
const (
	DefaultGroupTick          = 2 * time.Millisecond
	DefaultGroupElectionTicks = 10
)

// sequencerKeys are the keys mini-blocks must be signed with one of: the
// group's (sequencers), or the lone sequencer's.
func (c *Config) sequencerKeys() (chain.KeySet, error) {
	list := c.Sequencers
	if len(list) == 0 {
		if c.Sequencer == "" {
			return nil, fmt.Errorf("sequencer: no sequencer address configured (sequencer or sequencers)")
		}
		list = []string{c.Sequencer}
	}
	var keys chain.KeySet
	for _, s := range list {
		a, err := parseAddress("sequencer", s)
		if err != nil {
			return nil, err
		}
		keys = append(keys, chain.Key{Addr: a})
	}
	retired, err := c.retiredKeys()
	if err != nil {
		return nil, err
	}
	return append(keys, retired...), nil
}

// retiredKeys parses sequencers-retired: ADDRESS, or ADDRESS@N (a key
// that may sign mini-blocks up to N).
func (c *Config) retiredKeys() ([]chain.Key, error) {
	var out []chain.Key
	for _, s := range c.SequencersRetired {
		addr, last, bounded := strings.Cut(s, "@")
		a, err := parseAddress("sequencers-retired", addr)
		if err != nil {
			return nil, err
		}
		k := chain.Key{Addr: a}
		if bounded {
			if k.Last, err = strconv.ParseUint(last, 10, 64); err != nil || k.Last == 0 {
				return nil, fmt.Errorf("sequencers-retired %q: want ADDRESS or ADDRESS@N, N the last mini-block the key signed (1 or more)", s)
			}
		}
		out = append(out, k)
	}
	return out, nil
}

// sequencerNodes are the sequencer's peer ids: the group's, or the lone
// sequencer's.
func (c *Config) sequencerNodes() []node.NodeID {
	if len(c.SequencerPeers) > 0 {
		return peerIDs(c.SequencerPeers)
	}
	if c.SequencerPeer == "" {
		return nil
	}
	return []node.NodeID{node.NodeID(c.SequencerPeer)}
}

// group is a group member's configuration (nil for a lone sequencer).
func (c *Config) group() (*sequencer.GroupConfig, error) {
	if c.GroupID == 0 {
		return nil, nil
	}
	keys, err := c.sequencerKeys()
	if err != nil {
		return nil, err
	}
	retired, err := c.retiredKeys()
	if err != nil {
		return nil, err
	}
	g := &sequencer.GroupConfig{ID: uint64(c.GroupID), Tick: c.GroupTick.Duration, ElectionTicks: c.GroupElectionTicks, Retired: retired,
		// Under the p2p bound on a message (16 MiB): a raft append carries
		// one entry at least.
		MaxEntryBytes: 12 << 20}
	for i, id := range c.SequencerPeers {
		g.Members = append(g.Members, sequencer.Member{ID: uint64(i + 1), Node: node.NodeID(id), Key: keys[i].Addr})
	}
	return g, nil
}
