package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	goruntime "runtime"
	"runtime/debug"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"math/big"
)

// version and --version print the version, the commit and the Go version;
// the commit is vcs.revision, "-dirty" when modified, "unknown" without.
func TestVersion(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		var out, errb bytes.Buffer
		if code := run([]string{arg}, &out, &errb); code != 0 {
			t.Fatalf("%s: exit %d %q", arg, code, errb.String())
		}
		for _, want := range []string{"Version: " + version + "\n", "Git Commit: ", "Go Version: " + goruntime.Version() + "\n", "Operating System: " + goruntime.GOOS} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%s: %q lacks %q", arg, out.String(), want)
			}
		}
	}
	bi := func(kv ...string) *debug.BuildInfo {
		b := &debug.BuildInfo{}
		for i := 0; i < len(kv); i += 2 {
			b.Settings = append(b.Settings, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return b
	}
	for _, c := range []struct {
		bi   *debug.BuildInfo
		ok   bool
		want string
	}{
		{bi("vcs.revision", "abc123", "vcs.modified", "false"), true, "abc123"},
		{bi("vcs.revision", "abc123", "vcs.modified", "true"), true, "abc123-dirty"},
		{bi("vcs.modified", "true"), true, "unknown"},
		{nil, false, "unknown"},
	} {
		if got := vcsCommit(c.bi, c.ok); got != c.want {
			t.Errorf("vcsCommit(%v) = %q, want %q", c.bi, got, c.want)
		}
		var out bytes.Buffer
		printVersion(&out, c.bi, c.ok)
		if !strings.Contains(out.String(), "Git Commit: "+c.want+"\n") {
			t.Errorf("printVersion: %q, want commit %q", out.String(), c.want)
		}
	}
}

// dumpconfig prints the defaults merged with the file and the flags; its
// output, read back as a config, gives the same config.
func TestDumpConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "in.toml")
	if err := os.WriteFile(path, []byte("quorum = 3\npeers = [\"a\"]\n\"http.corsdomain\" = [\"https://app.example\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--config", path, "--http.api", "eth,net", "--pprof", "--health.max-lag", "5s", "--rpc", "127.0.0.1:8545"}
	var out, errb bytes.Buffer
	if code := run(append([]string{"dumpconfig"}, args...), &out, &errb); code != 0 {
		t.Fatalf("dumpconfig: exit %d %q", code, errb.String())
	}
	for _, want := range []string{"quorum = 3", `"http.api" = ["eth", "net"]`, "pprof = true", `"health.max-lag" = "5s"`, `"pprof.port" = 6060`, `mini-block-interval = "10ms"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dumpconfig output lacks %q:\n%s", want, out.String())
		}
	}
	want, err := loadConfig(flag.NewFlagSet("x", flag.ContinueOnError), args)
	if err != nil {
		t.Fatal(err)
	}
	dumped := filepath.Join(dir, "dumped.toml")
	if err := os.WriteFile(dumped, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := loadConfig(flag.NewFlagSet("y", flag.ContinueOnError), []string{"--config", dumped})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read back:\n%+v\nwant\n%+v", got, want)
	}
	// An unknown namespace is a config error.
	errb.Reset()
	if code := run([]string{"dumpconfig", "--http.api", "eth,admin"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), `unknown namespace "admin"`) {
		t.Fatalf("--http.api eth,admin: exit %d %q", code, errb.String())
	}
}

// A fullnode whose newest mini-block is older than health.max-lag is
// unhealthy, with the reason; under it, or with no bound, or on a role
// without lag, it is healthy.
func TestHealthMaxLag(t *testing.T) {
	c, err := loadConfig(flag.NewFlagSet("fullnode", flag.ContinueOnError), nil)
	if err != nil || c.HealthMaxLag.Duration != 2*time.Second {
		t.Fatalf("default health.max-lag: %v %v", c.HealthMaxLag, err)
	}
	get := func(h *health, st nodeStatus) (int, map[string]any) {
		h.set(st)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/health", nil))
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		return rec.Code, body
	}
	lagging := nodeStatus{Running: true, Head: 10, LagMicros: 6_000_000}
	code, body := get(&health{role: "fullnode", maxLag: 2 * time.Second}, lagging)
	if reason, _ := body["reason"].(string); code != 503 || body["healthy"] != false || !strings.Contains(reason, "for 6s (health.max-lag 2s)") {
		t.Errorf("6 s behind: %d %v", code, body)
	}
	if code, body := get(&health{role: "fullnode", maxLag: 2 * time.Second}, nodeStatus{Running: true, Head: 10, LagMicros: 1_000_000}); code != 200 || body["healthy"] != true || body["reason"] != nil {
		t.Errorf("1 s behind: %d %v", code, body)
	}
	if code, _ := get(&health{role: "fullnode"}, lagging); code != 200 {
		t.Errorf("no bound: %d", code)
	}
	if code, body := get(&health{role: "fullnode", maxLag: time.Second}, nodeStatus{Running: true, Halted: "bad root"}); code != 503 || body["reason"] != "halted: bad root" {
		t.Errorf("halted: %d %v", code, body)
	}
	h := &health{role: "fullnode", maxLag: time.Second}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/health", nil))
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), "not sampled yet") {
		t.Errorf("before the first sample: %d %s", rec.Code, rec.Body.String())
	}
}

// The JSON-RPC metrics count each call of single and batch requests by
// method and outcome; a method not served is "unknown".
func TestRPCMetricsHandler(t *testing.T) {
	m := newMetrics("sequencer", nil)
	answers := map[string]string{
		`{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`: `{"jsonrpc":"2.0","id":1,"result":"0x1"}`,
		`[{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"},{"jsonrpc":"2.0","id":"x","method":"foo_bar"},{"jsonrpc":"2.0","id":3,"method":"eth_call"}]`: `[{"jsonrpc":"2.0","id":1,"result":"0x2"},{"jsonrpc":"2.0","id":"x","error":{"code":-32601,"message":"the method foo_bar does not exist/is not available"}},{"jsonrpc":"2.0","id":3,"error":{"code":3,"message":"execution reverted"}}]`,
	}
	h := m.rpcHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, answers[string(b)])
	}), 1<<20)
	for req := range answers {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/", strings.NewReader(req)))
		if rec.Body.String() != answers[req] {
			t.Fatalf("the server did not get the whole body: %q", rec.Body.String())
		}
	}
	exposition := func() string {
		rec := httptest.NewRecorder()
		m.handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		return rec.Body.String()
	}
	out := exposition()
	for _, want := range []string{
		`meganode_rpc_requests_total{method="eth_chainId",outcome="ok",role="sequencer"} 1`,
		`meganode_rpc_requests_total{method="eth_blockNumber",outcome="ok",role="sequencer"} 1`,
		`meganode_rpc_requests_total{method="unknown",outcome="error",role="sequencer"} 1`,
		`meganode_rpc_requests_total{method="eth_call",outcome="error",role="sequencer"} 1`,
		`meganode_rpc_request_duration_seconds_count{method="eth_call",outcome="error",role="sequencer"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, not := range []string{`method="foo_bar"`, `method="eth_call",outcome="ok"`} {
		if strings.Contains(out, not) {
			t.Errorf("/metrics has %s", not)
		}
	}
	// A body over the bound reaches the server whole and counts as other.
	small := m.rpcHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprint(w, len(b))
	}), 10)
	rec := httptest.NewRecorder()
	small.ServeHTTP(rec, httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("x", 100))))
	if rec.Body.String() != "100" || !strings.Contains(exposition(), `meganode_rpc_requests_total{method="other",outcome="error",role="sequencer"} 1`) {
		t.Errorf("over the bound: %q", rec.Body.String())
	}
}

// Only the sequencer has a mempool gauge, only the RPC roles RPC metrics;
// every role has the p2p metrics.
func TestMetricsPerRole(t *testing.T) {
	has := func(role, name string) bool {
		return metricNames(newMetrics(role, func() runtime.P2PMetrics { return runtime.P2PMetrics{} }))[name]
	}
	for role, want := range map[string]bool{"sequencer": true, "fullnode": false, "prover": false, "da": false} {
		if has(role, "meganode_mempool_transactions") != want {
			t.Errorf("%s: mempool gauge registered %v, want %v", role, !want, want)
		}
		if has(role, "meganode_rpc_requests_total") != (role == "sequencer" || role == "fullnode") {
			t.Errorf("%s: rpc metrics", role)
		}
		for _, n := range []string{"meganode_p2p_peers", "meganode_p2p_send_dropped_total", "meganode_p2p_sent_bytes_total", "meganode_p2p_received_bytes_total"} {
			if !has(role, n) {
				t.Errorf("%s: no %s", role, n)
			}
		}
	}
	m := newMetrics("prover", func() runtime.P2PMetrics { return runtime.P2PMetrics{Peers: 3, SentBytes: 42} })
	m.sample(nodeStatus{Mempool: 5, ProverLag: 2})
	rec := httptest.NewRecorder()
	m.handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{`meganode_p2p_peers{role="prover"} 3`, `meganode_p2p_sent_bytes_total{role="prover"} 42`, `meganode_prover_lag_blocks{role="prover"} 2`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// metricNames are the names of what m registers.
func metricNames(m *metrics) map[string]bool {
	names := map[string]bool{}
	fq := regexp.MustCompile(`fqName: "([^"]+)"`)
	ch := make(chan *prometheus.Desc, 1024)
	for _, c := range m.collectors {
		c.Describe(ch)
	}
	close(ch)
	for d := range ch {
		if s := fq.FindStringSubmatch(d.String()); s != nil {
			names[s[1]] = true
		}
	}
	return names
}

// dashboardFile is the devnet's Grafana dashboard.
var dashboardFile = filepath.Join("..", "..", "deploy", "grafana", "meganode-devnet.json")

// unknownMetrics lists the metric names in exprs that no role registers
// (a histogram's _bucket, _sum and _count series count as its name).
func unknownMetrics(exprs []string, names map[string]bool) []string {
	re := regexp.MustCompile(`\b(?:meganode|go|process)_[a-zA-Z0-9_]+`)
	var bad []string
	for _, e := range exprs {
		for _, n := range re.FindAllString(e, -1) {
			base := n
			for _, suf := range []string{"_bucket", "_sum", "_count"} {
				if b, ok := strings.CutSuffix(n, suf); ok && names[b] {
					base = b
				}
			}
			if !names[base] {
				bad = append(bad, n)
			}
		}
	}
	sort.Strings(bad)
	return bad
}

// Every metric the dashboard's PromQL names is registered by some role,
// and the dashboard has the panels the devnet needs.
func TestGrafanaDashboard(t *testing.T) {
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, role := range []string{"sequencer", "fullnode", "prover", "da"} {
		for n := range metricNames(newMetrics(role, func() runtime.P2PMetrics { return runtime.P2PMetrics{} })) {
			names[n] = true
		}
	}
	var exprs []string
	titles := map[string]bool{}
	for _, p := range dash.Panels {
		titles[p.Title] = true
		for _, tg := range p.Targets {
			if tg.Expr != "" {
				exprs = append(exprs, tg.Expr)
			}
		}
	}
	if bad := unknownMetrics(exprs, names); len(bad) > 0 {
		t.Errorf("the dashboard uses metrics no role registers: %v", bad)
	}
	if bad := unknownMetrics([]string{"rate(meganode_no_such_thing_total[1m])"}, names); len(bad) != 1 {
		t.Errorf("the check misses an unknown metric: %v", bad)
	}
	for _, want := range []string{"meganode_miniblock_interval_seconds_bucket", "meganode_transactions_total", "meganode_head_miniblock", "meganode_safe_block",
		"meganode_finalized_block", "meganode_fullnode_lag_seconds", "meganode_prover_lag_blocks", "meganode_mempool_transactions",
		"meganode_rpc_requests_total", "meganode_rpc_request_duration_seconds_bucket", "meganode_p2p_peers"} {
		if !strings.Contains(strings.Join(exprs, "\n"), want) {
			t.Errorf("no panel plots %s", want)
		}
	}
}

// Sealed blocks are logged once, as their last mini-block is applied.
func TestSealedBlockLog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	tx := types.NewTx(&types.LegacyTx{})
	logSealed(log, &chain.MiniBlock{Header: chain.MiniBlockHeader{Number: 7, TxOffset: 3}, Txs: []*types.Transaction{tx}})
	if buf.Len() != 0 {
		t.Fatalf("a mini-block that seals nothing was logged: %s", buf.String())
	}
	root := common.HexToHash("0x1234")
	logSealed(log, &chain.MiniBlock{Header: chain.MiniBlockHeader{Number: 8, TxOffset: 3}, Txs: []*types.Transaction{tx, tx},
		Sealed: &types.Header{Number: big.NewInt(5), GasUsed: 42000, Root: root, Time: 1700000000, Difficulty: big.NewInt(0)}})
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if line["msg"] != "sealed block" || line["level"] != "INFO" || line["number"] != float64(5) || line["txs"] != float64(5) ||
		line["gas"] != float64(42000) || line["root"] != root.Hex() || line["time"] != "2023-11-14T22:13:20Z" {
		t.Fatalf("sealed block line: %v", line)
	}
}

// Peer loss and dropped messages are warned of, once per change.
func TestP2PWarnings(t *testing.T) {
	var buf bytes.Buffer
	w := p2pWarnings{log: slog.New(slog.NewTextHandler(&buf, nil))}
	w.check(runtime.P2PMetrics{Peers: 3})
	w.check(runtime.P2PMetrics{Peers: 3})
	if buf.Len() != 0 {
		t.Fatalf("warned with nothing lost: %s", buf.String())
	}
	w.check(runtime.P2PMetrics{Peers: 1, SendDropped: 4})
	if s := buf.String(); !strings.Contains(s, "level=WARN") || !strings.Contains(s, "p2p peers lost") || !strings.Contains(s, "lost=2") || !strings.Contains(s, "dropped=4") {
		t.Fatalf("warnings: %s", s)
	}
	buf.Reset()
	w.check(runtime.P2PMetrics{Peers: 1, SendDropped: 4})
	if buf.Len() != 0 {
		t.Fatalf("warned again: %s", buf.String())
	}
}

// pebble's lines go through slog: in JSON mode, JSON.
func TestPebbleLoggerJSON(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLogger(&buf, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	l := pebbleLogger{log.With("module", "pebble")}
	d, err := runtime.OpenDisk(t.TempDir(), &runtime.Options{Logger: l})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	l.Infof("[JOB %d] flushed\n", 1)
	l.Errorf("background error: %s", "disk full")
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Fatalf returned")
			}
		}()
		l.Fatalf("corrupt %s", "MANIFEST")
	}()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) < 3 {
		t.Fatalf("lines: %q", lines)
	}
	for _, ln := range lines {
		var v map[string]any
		if err := json.Unmarshal([]byte(ln), &v); err != nil || v["module"] != "pebble" {
			t.Errorf("not a JSON pebble line: %q %v", ln, err)
		}
	}
	if !strings.Contains(buf.String(), `"msg":"[JOB 1] flushed"`) || !strings.Contains(buf.String(), `"level":"ERROR","msg":"background error: disk full"`) {
		t.Errorf("lines: %s", buf.String())
	}
}

// testNode is a role run in this process by serveContext.
type testNode struct {
	rpc, metrics string
	pprofPort    int
}

// startTestNode runs role with a fresh genesis and key and flags, and stops
// it at the end of the test.
func startTestNode(t *testing.T, role string, flags ...string) testNode {
	t.Helper()
	dir := t.TempDir()
	if err := writeDevGenesis(filepath.Join(dir, "genesis.json")); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "node.key")
	if _, _, err := writeKey(key); err != nil {
		t.Fatal(err)
	}
	base := freePorts(t, 3)
	n := testNode{rpc: fmt.Sprintf("127.0.0.1:%d", base), metrics: fmt.Sprintf("127.0.0.1:%d", base+1), pprofPort: base + 2}
	args := append([]string{"--datadir", dir, "--key", key, "--listen", "/ip4/127.0.0.1/tcp/0", "--metrics", n.metrics,
		"--pprof.port", fmt.Sprint(n.pprofPort), "--sequencer", "0x0000000000000000000000000000000000000001"}, flags...)
	if role == "sequencer" || role == "fullnode" {
		args = append(args, "--rpc", n.rpc)
	}
	cfg, err := loadConfig(flag.NewFlagSet(role, flag.ContinueOnError), args)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- serveContext(ctx, role, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("%s: %v", role, err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("%s did not stop", role)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + n.metrics + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return n
			}
		}
		select {
		case err := <-errc:
			t.Fatalf("%s exited: %v", role, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not healthy after 20 s: %v", role, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Running nodes: --pprof serves the profiler on pprof.port, nothing there
// without it; a prover's /metrics has no mempool gauge; a JSON-RPC call
// shows in the per-method counter; --http.api, --http.corsdomain and
// --http.vhosts act on the JSON-RPC listener.
func TestRunningNodeOps(t *testing.T) {
	if testing.Short() && os.Getenv("MEGANODE_E2E") == "0" {
		t.Skip("MEGANODE_E2E=0")
	}
	prover := startTestNode(t, "prover", "--pprof")
	seq := startTestNode(t, "sequencer", "--http.corsdomain", "https://app.example", "--http.api", "eth,net,web3")

	t.Run("pprof", func(t *testing.T) {
		if code, body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/", prover.pprofPort)); code != 200 || !strings.Contains(body, "goroutine") {
			t.Errorf("--pprof: %d %.200s", code, body)
		}
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", seq.pprofPort), time.Second); err == nil {
			c.Close()
			t.Errorf("without --pprof something listens on pprof.port")
		}
	})
	t.Run("metrics per role", func(t *testing.T) {
		_, pm := httpGet(t, "http://"+prover.metrics+"/metrics")
		if strings.Contains(pm, "meganode_mempool_transactions") || !strings.Contains(pm, "meganode_prover_lag_blocks") || !strings.Contains(pm, "meganode_p2p_peers") {
			t.Errorf("prover /metrics:\n%s", pm)
		}
		_, sm := httpGet(t, "http://"+seq.metrics+"/metrics")
		if !strings.Contains(sm, "meganode_mempool_transactions") {
			t.Errorf("sequencer /metrics has no mempool gauge")
		}
	})
	post := func(host, body string) (int, string) {
		req, _ := http.NewRequest("POST", "http://"+seq.rpc, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if host != "" {
			req.Host = host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	t.Run("rpc metrics and http.api", func(t *testing.T) {
		if code, body := post("", `{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`); code != 200 || !strings.Contains(body, `"result"`) {
			t.Fatalf("eth_chainId: %d %s", code, body)
		}
		if _, body := post("", `{"jsonrpc":"2.0","id":2,"method":"txpool_status"}`); !strings.Contains(body, "-32601") {
			t.Errorf("txpool_status with --http.api eth,net,web3: %s", body)
		}
		_, sm := httpGet(t, "http://"+seq.metrics+"/metrics")
		for _, want := range []string{`meganode_rpc_requests_total{method="eth_chainId",outcome="ok",role="sequencer"} 1`,
			`meganode_rpc_requests_total{method="unknown",outcome="error",role="sequencer"} 1`,
			`meganode_rpc_request_duration_seconds_count{method="eth_chainId",outcome="ok",role="sequencer"} 1`} {
			if !strings.Contains(sm, want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})
	t.Run("vhosts", func(t *testing.T) {
		if code, body := post("evil.example", `{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`); code != 403 || strings.TrimSpace(body) != "invalid host specified" {
			t.Errorf("bad Host: %d %q", code, body)
		}
		if code, _ := post("localhost:8545", `{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}`); code != 200 {
			t.Errorf("Host localhost: %d", code)
		}
	})
	t.Run("cors", func(t *testing.T) {
		preflight := func(origin string) http.Header {
			req, _ := http.NewRequest("OPTIONS", "http://"+seq.rpc, nil)
			req.Header.Set("Origin", origin)
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "content-type")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.Header
		}
		if h := preflight("https://app.example"); h.Get("Access-Control-Allow-Origin") != "https://app.example" {
			t.Errorf("allowed origin: %v", h)
		}
		if h := preflight("https://evil.example"); h.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("disallowed origin got %q", h.Get("Access-Control-Allow-Origin"))
		}
	})
}
