package main

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/da"
	"github.com/meganode/meganode/node/fullnode"
	"github.com/meganode/meganode/node/mempool"
	"github.com/meganode/meganode/node/prover"
	"github.com/meganode/meganode/node/rpc"
	"github.com/meganode/meganode/node/runtime"
	"github.com/meganode/meganode/node/sequencer"
)

var roleHelp = map[string]string{
	"sequencer": "orders and executes transactions, streams mini-blocks, seals blocks, publishes to DA",
	"fullnode":  "applies the sequencer's mini-blocks by diff, checks sealed roots, serves reads, tracks finality",
	"prover":    "validates sealed blocks statelessly and signs attestations",
	"da":        "stores sealed blocks, witnesses and mini-blocks, and serves them",
}

// runRole runs one node until SIGINT or SIGTERM.
func runRole(role string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(role, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: meganode %s [--config FILE] [flags]\n\nRuns a %s: %s.\n\nFlags (each is also a key of the TOML config file):\n", role, role, roleHelp[role])
		fs.PrintDefaults()
	}
	cfg, err := loadConfig(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "meganode %s: %v\n", role, err)
		return 2
	}
	log, err := newLogger(stderr, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		fmt.Fprintf(stderr, "meganode %s: %v\n", role, err)
		return 2
	}
	log = log.With("role", role)
	if err := serve(role, cfg, log); err != nil {
		log.Error("exiting", "err", err)
		return 1
	}
	return 0
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log-level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log-format %q: want text or json", format)
}

// readGenesis reads the genesis init wrote into the data directory.
func readGenesis(datadir string) (*core.Genesis, error) {
	raw, err := os.ReadFile(filepath.Join(datadir, "genesis.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no genesis in %s: run meganode init --genesis FILE --datadir %s first", datadir, datadir)
	}
	if err != nil {
		return nil, err
	}
	g := new(core.Genesis)
	if err := json.Unmarshal(raw, g); err != nil {
		return nil, fmt.Errorf("genesis %s: %w", filepath.Join(datadir, "genesis.json"), err)
	}
	if g.Config == nil || g.Config.ChainID == nil {
		return nil, fmt.Errorf("genesis %s: no chain config with a chain id", filepath.Join(datadir, "genesis.json"))
	}
	return g, nil
}

func parseAddress(what, s string) (common.Address, error) {
	if !common.IsHexAddress(s) {
		return common.Address{}, fmt.Errorf("%s %q is not an address", what, s)
	}
	return common.HexToAddress(s), nil
}

func peerIDs(ss []string) []node.NodeID {
	out := make([]node.NodeID, 0, len(ss))
	for _, s := range ss {
		out = append(out, node.NodeID(s))
	}
	return out
}

// serve builds the role's node and runs it with its network, RPC and
// metrics until a signal.
func serve(role string, cfg *Config, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveContext(ctx, role, cfg, log)
}

// serveContext is serve until ctx is done.
func serveContext(ctx context.Context, role string, cfg *Config, log *slog.Logger) error {
	gen, err := readGenesis(cfg.DataDir)
	if err != nil {
		return err
	}
	if cfg.Key == "" {
		return errors.New("no key: set key to a file written by meganode keygen")
	}
	key, err := crypto.LoadECDSA(cfg.Key)
	if err != nil {
		return fmt.Errorf("key %s: %w", cfg.Key, err)
	}
	raw := crypto.FromECDSA(key)
	id, err := runtime.PeerIDFromKey(raw)
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	// A fatal storage error stops the node: it exits non-zero naming the
	// data directory, and its supervisor restarts it from what is durable.
	// Reopening the ledger on a poisoned store forever is no recovery.
	var fatal atomic.Pointer[runtime.FatalError]
	disk, err := runtime.OpenDisk(filepath.Join(cfg.DataDir, "db"), &runtime.Options{Logger: pebbleLogger{log.With("module", "pebble")},
		OnFatal: func(fe *runtime.FatalError) {
			fatal.CompareAndSwap(nil, fe)
			log.Error("FATAL STORAGE ERROR: stopping the node", "datadir", cfg.DataDir, "err", fe)
			stop()
		}})
	if err != nil {
		return fmt.Errorf("data directory %s: cannot open the store: %w", cfg.DataDir, err)
	}
	defer disk.Close()
	var p2pNet atomic.Pointer[runtime.P2P]
	m := newMetrics(role, func() runtime.P2PMetrics {
		if p := p2pNet.Load(); p != nil {
			return p.Metrics()
		}
		return runtime.P2PMetrics{}
	})
	var loop *runtime.Loop
	// head is the newest mini-block the node applied (the sequencer: made),
	// for the gossip validator, which reads it off the loop to ignore stale
	// mini-blocks; 0 (none yet, or a role without mini-blocks): nothing is
	// stale.
	var head atomic.Uint64
	onMiniBlock := func(mb *chain.MiniBlock) {
		head.Store(mb.Header.Number)
		loop.EmitMiniBlock(mb)
		m.miniBlock(mb)
		logSealed(log, mb)
	}
	n, sample, err := buildNode(role, cfg, gen, key, onMiniBlock)
	if err != nil {
		return err
	}
	loop = runtime.NewLoop(id, n, disk, runtime.LoopConfig{Log: log, Precheck: chain.PrecheckSigners})
	pcfg := runtime.P2PConfig{Key: raw, Listen: cfg.Listen, Peers: cfg.Peers, AllowPeers: cfg.AllowPeers, Log: log}
	seqAddr, provers, ok, err := gossipIdentities(role, cfg, key)
	if err != nil {
		return err
	}
	if ok {
		pcfg.Validate = gossipValidator(seqAddr, provers, head.Load)
	}
	p2p, err := runtime.NewP2P(pcfg, loop.Deliver)
	if err != nil {
		return err
	}
	defer p2p.Close()
	p2pNet.Store(p2p)
	loop.SetNetwork(p2p)

	var servers []*http.Server
	var wg sync.WaitGroup
	listen := func(addr string, h http.Handler, what string) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("http server", "what", what, "err", err)
			}
		}()
		log.Info("listening", "what", what, "addr", ln.Addr().String())
		return nil
	}
	var rpcSrv *rpc.Server
	if cfg.RPC != "" && (role == "sequencer" || role == "fullnode") {
		rpcSrv, err = rpc.NewServer(backend{Loop: loop, chainID: gen.Config.ChainID.Uint64(), p2p: p2p}, rpcConfig(cfg, log))
		if err != nil {
			return err
		}
		if err := listen(cfg.RPC, rpcHTTPHandler(cfg, rpcSrv.Handler(), m), "json-rpc"); err != nil {
			return err
		}
	}
	status := &health{role: role, id: string(id), maxLag: cfg.HealthMaxLag.Duration}
	if cfg.Metrics != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", m.handler())
		mux.Handle("/health", status)
		// Go's profiler on the metrics address too, as before --pprof
		// (the metrics address is loopback, as geth's pprof.addr).
		addPprof(mux)
		if err := listen(cfg.Metrics, mux, "metrics"); err != nil {
			return err
		}
	}
	if addr := pprofAddr(cfg); addr != "" {
		mux := http.NewServeMux()
		addPprof(mux)
		if err := listen(addr, mux, "pprof"); err != nil {
			return err
		}
	}
	// Sample the node's state on its loop once a second, for metrics and health.
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		warn := p2pWarnings{log: log}
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				var s nodeStatus
				if err := loop.OnLoop(ctx, func() { s = sample() }); err == nil {
					m.sample(s)
					status.set(s)
				}
				warn.check(p2p.Metrics())
			}
		}
	}()
	log.Info("starting", "id", id, "address", crypto.PubkeyToAddress(key.PublicKey), "p2p", strings.Join(p2p.Addrs(), ","))
	runErr := loop.Run(ctx)
	log.Info("stopping")
	stop()
	for _, srv := range servers {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = srv.Shutdown(sctx)
		cancel()
	}
	if rpcSrv != nil {
		rpcSrv.Stop()
	}
	wg.Wait()
	if fe := fatal.Load(); fe != nil {
		return fmt.Errorf("data directory %s: fatal storage error: %w (restart the node: it recovers from what is durable; if this repeats, the data directory is damaged)", cfg.DataDir, fe)
	}
	return runErr
}

// rpcConfig is the JSON-RPC server's configuration: go-ethereum's
// protections as the flags set them. A fee cap of 0 is none, as
// go-ethereum's --rpc.txfeecap 0 (rpc.Config's is then negative).
func rpcConfig(cfg *Config, log *slog.Logger) rpc.Config {
	c := rpc.Config{ClientVersion: "meganode/" + version, AllowUnprotectedTxs: cfg.RPCAllowUnprotectedTxs,
		TxFeeCap: cfg.RPCTxFeeCap, GasCap: cfg.RPCGasCap, Log: log, Forward: cfg.SequencerRPC, FinalityFrom: cfg.FinalityRPC,
		MaxBodyBytes: rpcMaxBodyBytes}
	if c.TxFeeCap == 0 {
		c.TxFeeCap = -1
	}
	if len(cfg.HTTPAPI) > 0 {
		c.APIs = cfg.HTTPAPI
	}
	return c
}

// backend is the RPC's view of a node's loop.
type backend struct {
	*runtime.Loop
	chainID uint64
	p2p     *runtime.P2P
}

func (b backend) ChainID() uint64 { return b.chainID }

// PeerCount is net_peerCount's answer: the libp2p peers connected now.
func (b backend) PeerCount() int { return int(b.p2p.Metrics().Peers) }

// nodeStatus is what the sampler reads of a node.
type nodeStatus struct {
	Running   bool   `json:"running"`
	Head      uint64 `json:"head_mini_block"`
	Safe      uint64 `json:"safe_block"`
	Finalized uint64 `json:"finalized_block,omitempty"`
	Mempool   int    `json:"mempool,omitempty"`
	ProverLag uint64 `json:"prover_lag_blocks,omitempty"`
	Attested  uint64 `json:"attestations,omitempty"`
	LagMicros int64  `json:"lag_us,omitempty"`
	Halted    string `json:"halted,omitempty"`
	// A fullnode's fault reports by outcome, and the provers it marked.
	Faults struct {
		Verified, Refused, Inconclusive, Ignored uint64
	} `json:"-"`
	Marked []string `json:"provers_marked,omitempty"`
	// A sequencer group member: whether it leads (and executes), and its
	// raft term.
	Leader bool   `json:"leader,omitempty"`
	Term   uint64 `json:"term,omitempty"`
}

// buildNode makes the role's node from the configuration, and the sampler
// that reads its status (on the loop).
func buildNode(role string, cfg *Config, gen *core.Genesis, key *ecdsa.PrivateKey, onMiniBlock func(*chain.MiniBlock)) (node.Node, func() nodeStatus, error) {
	switch role {
	case "sequencer":
		var coinbase common.Address
		if cfg.Coinbase != "" {
			var err error
			if coinbase, err = parseAddress("coinbase", cfg.Coinbase); err != nil {
				return nil, nil, err
			}
		}
		order, err := poolOrder(cfg.TxPoolOrder)
		if err != nil {
			return nil, nil, err
		}
		grp, err := cfg.group()
		if err != nil {
			return nil, nil, err
		}
		s, err := sequencer.New(sequencer.Config{
			Genesis: gen, Key: key, Coinbase: coinbase, DA: node.NodeID(cfg.DAPeer), Group: grp,
			MiniBlockInterval: cfg.MiniBlockInterval.Duration, MiniBlocksPerBlock: cfg.MiniBlocksPerBlock, MinGap: cfg.MinGap.Duration, BlockGap: cfg.BlockGap.Duration, MaxSealShare: cfg.MaxSealShare,
			MaxMiniBlockGas: cfg.MaxMiniBlockGas, Pool: mempool.Config{Order: order},
			MinTip: new(big.Int).SetUint64(cfg.MinerGasPrice), OnMiniBlock: onMiniBlock,
		})
		if err != nil {
			return nil, nil, err
		}
		return s, func() nodeStatus {
			st := nodeStatus{}
			if l := s.Ledger(); l != nil {
				head, _ := l.Head()
				st.Running, st.Head, st.Safe, st.Mempool = true, head.Number, l.Safe().Header.Number.Uint64(), s.Pool().Len()
			}
			if grp != nil {
				st.Leader, st.Term = s.Leads()
			}
			return st
		}, nil
	case "fullnode":
		sa, err := cfg.sequencerKeys()
		if err != nil {
			return nil, nil, err
		}
		var provers []common.Address
		for _, p := range cfg.Provers {
			a, err := parseAddress("prover", p)
			if err != nil {
				return nil, nil, err
			}
			provers = append(provers, a)
		}
		sources := append(cfg.sequencerNodes(), peerIDs(cfg.FullnodePeers)...)
		if cfg.DAPeer != "" {
			sources = append(sources, node.NodeID(cfg.DAPeer))
		}
		f, err := fullnode.New(fullnode.Config{
			Genesis: gen, Sequencers: sa, Sources: sources, Provers: provers, ProverNodes: peerIDs(cfg.ProverPeers),
			Quorum: cfg.Quorum, OnMiniBlock: onMiniBlock,
		})
		if err != nil {
			return nil, nil, err
		}
		return f, func() nodeStatus {
			st := nodeStatus{}
			if err := f.Halted(); err != nil {
				st.Halted = err.Error()
			}
			if l := f.Ledger(); l != nil {
				head, _ := l.Head()
				st.Running, st.Head, st.Safe, st.Finalized = true, head.Number, l.Safe().Header.Number.Uint64(), f.Finalized()
				fm := f.Metrics()
				st.Faults.Verified, st.Faults.Refused, st.Faults.Inconclusive, st.Faults.Ignored = fm.FaultsVerified, fm.FaultsRefused, fm.FaultsInconclusive, fm.FaultsIgnored
				for _, mp := range f.Marked() {
					st.Marked = append(st.Marked, mp.Prover.Hex()+": "+mp.Reason)
				}
				st.LagMicros = time.Now().UnixMicro() - int64(head.TimeMicros)
			}
			return st
		}, nil
	case "prover":
		sa, err := cfg.sequencerKeys()
		if err != nil {
			return nil, nil, err
		}
		workers := cfg.Workers
		if workers <= 0 {
			workers = goruntime.NumCPU()
		}
		p, err := prover.New(prover.Config{
			Genesis: gen, Key: key, Sequencers: sa, DA: node.NodeID(cfg.DAPeer),
			MaxConcurrent: workers, Parallel: parallel(workers),
		})
		if err != nil {
			return nil, nil, err
		}
		return p, func() nodeStatus {
			m := p.Metrics()
			return nodeStatus{Running: true, Safe: p.Low(), Attested: m.Attested, ProverLag: p.Head() - p.Low()}
		}, nil
	case "da":
		sa, err := cfg.sequencerKeys()
		if err != nil {
			return nil, nil, err
		}
		d, err := da.New(da.Config{Sequencers: cfg.sequencerNodes(), SequencerKeys: sa})
		if err != nil {
			return nil, nil, err
		}
		return d, func() nodeStatus {
			b, mb := d.Head()
			return nodeStatus{Running: true, Head: mb, Safe: b}
		}, nil
	}
	return nil, nil, fmt.Errorf("unknown role %q", role)
}

// parallel runs jobs on up to workers goroutines: the prover's validations
// of one step. Each job writes only its own result.
func parallel(workers int) func(n int, job func(int)) {
	return func(n int, job func(int)) {
		var wg sync.WaitGroup
		sem := make(chan struct{}, workers)
		for i := range n {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				job(i)
			}()
		}
		wg.Wait()
	}
}

// health answers /health: 200 with the node's status while it runs, is
// not halted, was sampled in the last 5 s and, on a fullnode, applied a
// mini-block in the last maxLag (the sequencer closes one every interval,
// idle or not); 503 otherwise, with the reason.
type health struct {
	role, id string
	maxLag   time.Duration // 0: no bound
	mu       sync.Mutex
	st       nodeStatus
	at       time.Time
}

// verdict says whether st, sampled at at, is healthy at now, and if not why.
func (h *health) verdict(st nodeStatus, at, now time.Time) (bool, string) {
	switch {
	case at.IsZero():
		return false, "not sampled yet"
	case !st.Running:
		return false, "not running"
	case st.Halted != "":
		return false, "halted: " + st.Halted
	case now.Sub(at) >= 5*time.Second:
		return false, fmt.Sprintf("status not sampled for %v", now.Sub(at).Round(time.Millisecond))
	case h.role == "fullnode" && h.maxLag > 0 && st.LagMicros > h.maxLag.Microseconds():
		return false, fmt.Sprintf("no new mini-block from the sequencer for %v (health.max-lag %v)",
			(time.Duration(st.LagMicros) * time.Microsecond).Round(time.Millisecond), h.maxLag)
	}
	return true, ""
}

func (h *health) set(s nodeStatus) {
	h.mu.Lock()
	h.st, h.at = s, time.Now()
	h.mu.Unlock()
}

func (h *health) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	h.mu.Lock()
	st, at := h.st, h.at
	h.mu.Unlock()
	ok, reason := h.verdict(st, at, time.Now())
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(struct {
		Role    string `json:"role"`
		ID      string `json:"id"`
		Healthy bool   `json:"healthy"`
		Reason  string `json:"reason,omitempty"`
		nodeStatus
	}{h.role, h.id, ok, reason, st})
}

// logSealed logs a sealed block, once, as the mini-block that seals it is
// applied (on the sequencer and fullnodes).
func logSealed(log *slog.Logger, mb *chain.MiniBlock) {
	h := mb.Sealed
	if h == nil {
		return
	}
	log.Info("sealed block", "number", h.Number, "hash", h.Hash(), "txs", mb.Header.TxOffset+uint64(len(mb.Txs)),
		"gas", h.GasUsed, "root", h.Root, "time", time.Unix(int64(h.Time), 0).UTC().Format(time.RFC3339), "miniblock", mb.Header.Number)
}

// p2pWarnings warns, at each sample, of the peers lost, the messages
// dropped (full queues among them), the requests and connections refused
// since the last, and of peers newly graylisted.
type p2pWarnings struct {
	log  *slog.Logger
	last runtime.P2PMetrics
}

func (w *p2pWarnings) check(now runtime.P2PMetrics) {
	if now.Peers < w.last.Peers {
		w.log.Warn("p2p peers lost", "lost", w.last.Peers-now.Peers, "peers", now.Peers)
	}
	if d := now.SendDropped - w.last.SendDropped; d > 0 {
		w.log.Warn("p2p messages dropped (full queue, unreachable peer or too big)", "dropped", d, "total", now.SendDropped)
	}
	if d := now.PublishDropped - w.last.PublishDropped; d > 0 {
		w.log.Warn("p2p gossip dropped (full queue or failed publish)", "dropped", d, "total", now.PublishDropped)
	}
	if d := now.RateLimited - w.last.RateLimited; d > 0 {
		w.log.Warn("p2p requests refused: a peer is over its rate limit", "refused", d, "total", now.RateLimited)
	}
	if d := now.GaterRefused - w.last.GaterRefused; d > 0 {
		w.log.Warn("p2p connections refused: peer not on p2p.allow-peers", "refused", d, "total", now.GaterRefused)
	}
	if now.Graylisted > w.last.Graylisted {
		w.log.Warn("p2p peers graylisted for invalid gossip", "graylisted", now.Graylisted)
	}
	w.last = now
}

// poolOrder parses txpool.order.
func poolOrder(name string) (mempool.Order, error) {
	switch name {
	case "", "tip":
		return mempool.OrderTip, nil
	case "arrival":
		return mempool.OrderArrival, nil
	}
	return 0, fmt.Errorf("txpool.order %q: want tip or arrival", name)
}
