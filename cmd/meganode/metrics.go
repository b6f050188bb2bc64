package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/runtime"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are a node's Prometheus metrics, only those of its role: the
// mempool on the sequencer, finality and lag on a fullnode, prover lag and
// attestations on a prover, JSON-RPC on the roles that serve it. Mini-block
// figures come from the role's OnMiniBlock hook (on the loop); the rest
// from the sampler, the P2P network's counters and the RPC handler. A nil
// field is a metric the role does not have.
type metrics struct {
	reg        *prometheus.Registry
	collectors []prometheus.Collector // everything registered, for names
	interval   prometheus.Histogram
	txs        prometheus.Counter
	head       prometheus.Gauge
	safe       prometheus.Gauge
	finalized  prometheus.Gauge
	mempool    prometheus.Gauge
	lag        prometheus.Gauge
	proverLag  prometheus.Gauge
	attested   prometheus.Gauge
	faults     *prometheus.GaugeVec // fullnode: fault reports by outcome
	marked     prometheus.Gauge     // fullnode: provers caught filing a report that did not hold
	rpcCalls   *prometheus.CounterVec
	rpcLatency *prometheus.HistogramVec
	lastMicro  uint64

	methodsMu sync.Mutex
	methods   map[string]bool // method labels in use, at most maxMethodLabels
}

// Bounds of the JSON-RPC metrics.
const (
	rpcMaxBodyBytes  = 5 << 20 // the server's MaxBodyBytes (rpcConfig sets it)
	rpcMaxRespBytes  = 4 << 20 // responses read for their outcome; past it: ok
	maxMethodLabels  = 512     // distinct method labels; then "other"
	rpcUnknownMethod = "unknown"
)

func newMetrics(role string, p2p func() runtime.P2PMetrics) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{reg: reg, methods: map[string]bool{}}
	m.collectors = append(m.collectors, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(m.collectors...)
	f := prometheus.WrapRegistererWith(prometheus.Labels{"role": role}, reg)
	add := func(c prometheus.Collector) {
		f.MustRegister(c)
		m.collectors = append(m.collectors, c)
	}
	m.interval = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "meganode_miniblock_interval_seconds",
		Help:    "Time between consecutive mini-blocks, by their timestamps.",
		Buckets: []float64{0.002, 0.005, 0.008, 0.01, 0.012, 0.015, 0.02, 0.05, 0.1, 0.5, 1}})
	m.txs = prometheus.NewCounter(prometheus.CounterOpts{Name: "meganode_transactions_total", Help: "Transactions in the mini-blocks applied (rate() gives txs/s)."})
	m.head = prometheus.NewGauge(prometheus.GaugeOpts{Name: "meganode_head_miniblock", Help: "Newest mini-block applied."})
	m.safe = prometheus.NewGauge(prometheus.GaugeOpts{Name: "meganode_safe_block", Help: "Newest sealed block (for a prover: every block up to it has a statement)."})
	add(m.interval)
	add(m.txs)
	add(m.head)
	add(m.safe)
	switch role {
	case "sequencer":
		m.mempool = prometheus.NewGauge(prometheus.GaugeOpts{Name: "meganode_mempool_transactions", Help: "Transactions in the sequencer's pool."})
		add(m.mempool)
	case "fullnode":
		m.finalized = prometheus.NewGauge(prometheus.GaugeOpts{Name: "meganode_finalized_block", Help: "Newest finalized block (fullnode)."})
		m.lag = prometheus.NewGauge(prometheus.GaugeOpts{Name: "meganode_fullnode_lag_seconds", Help: "Age of the newest mini-block a fullnode applied."})
		m.faults = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "meganode_fullnode_fault_reports",
			Help: "Fault reports a fullnode checked since it started, by outcome: verified (finality stopped), refused (the prover is marked), inconclusive (the evidence's witness lacks data), ignored (from a marked prover)."},
			[]string{"outcome"})
		m.marked = prometheus.NewGauge(prometheus.GaugeOpts{Name: "meganode_fullnode_provers_marked", Help: "Provers a fullnode caught filing a fault report its evidence does not show."})
		add(m.finalized)
		add(m.lag)
		add(m.faults)
		add(m.marked)
	case "prover":
		m.proverLag = prometheus.NewGauge(prometheus.GaugeOpts{Name: "meganode_prover_lag_blocks", Help: "Blocks a prover has heard of but not yet stated about."})
		m.attested = prometheus.NewGauge(prometheus.GaugeOpts{Name: "meganode_attestations", Help: "Attestations a prover signed."})
		add(m.proverLag)
		add(m.attested)
	}
	if role == "sequencer" || role == "fullnode" {
		m.rpcCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "meganode_rpc_requests_total",
			Help: "JSON-RPC calls over HTTP by method and outcome (ok, error); a batch counts each call; method \"unknown\": not served (-32601)."},
			[]string{"method", "outcome"})
		m.rpcLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "meganode_rpc_request_duration_seconds",
			Help:    "Time to answer the HTTP request holding a JSON-RPC call (a whole batch for each of its calls), by method and outcome.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}},
			[]string{"method", "outcome"})
		add(m.rpcCalls)
		add(m.rpcLatency)
	}
	if p2p != nil {
		counter := func(name, help string, v func(runtime.P2PMetrics) uint64) {
			add(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v(p2p())) }))
		}
		add(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "meganode_p2p_peers", Help: "libp2p peers connected now."},
			func() float64 { return float64(p2p().Peers) }))
		counter("meganode_p2p_sent_messages_total", "Direct messages written to a stream.", func(x runtime.P2PMetrics) uint64 { return x.Sent })
		counter("meganode_p2p_send_dropped_total", "Direct messages dropped: too big, bad peer, full queue, closed, or lost.", func(x runtime.P2PMetrics) uint64 { return x.SendDropped })
		counter("meganode_p2p_received_messages_total", "Messages delivered, direct and gossiped.", func(x runtime.P2PMetrics) uint64 { return x.Received })
		counter("meganode_p2p_receive_refused_total", "Messages received and refused for their size.", func(x runtime.P2PMetrics) uint64 { return x.ReceiveRefused })
		counter("meganode_p2p_gossip_rejected_total", "Gossip messages the validator rejected (forged or malformed): not delivered, not forwarded.", func(x runtime.P2PMetrics) uint64 { return x.Rejected })
		counter("meganode_p2p_gossip_ignored_total", "Gossip messages the validator ignored (stale).", func(x runtime.P2PMetrics) uint64 { return x.Ignored })
		counter("meganode_p2p_gater_refused_total", "Connections (inbound, or dials) refused because the peer is not on p2p.allow-peers.", func(x runtime.P2PMetrics) uint64 { return x.GaterRefused })
		counter("meganode_p2p_rate_limited_total", "Direct requests (range, DA, attestation) refused for their sender's rate limit, each answered with a refusal.", func(x runtime.P2PMetrics) uint64 { return x.RateLimited })
		add(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "meganode_p2p_graylisted_peers", Help: "Peers whose gossip score is below the graylist threshold (invalid gossip): every message they send is ignored."},
			func() float64 { return float64(p2p().Graylisted) }))
		counter("meganode_p2p_published_messages_total", "Gossip messages handed to pubsub.", func(x runtime.P2PMetrics) uint64 { return x.Published })
		counter("meganode_p2p_publish_dropped_total", "Gossip messages refused or dropped.", func(x runtime.P2PMetrics) uint64 { return x.PublishDropped })
		counter("meganode_p2p_sent_bytes_total", "Payload bytes of the messages sent and published.", func(x runtime.P2PMetrics) uint64 { return x.SentBytes })
		counter("meganode_p2p_received_bytes_total", "Payload bytes of the messages received.", func(x runtime.P2PMetrics) uint64 { return x.ReceivedBytes })
	}
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// miniBlock observes a mini-block the node applied.
func (m *metrics) miniBlock(mb *chain.MiniBlock) {
	if m.lastMicro != 0 && mb.Header.TimeMicros > m.lastMicro {
		m.interval.Observe(float64(mb.Header.TimeMicros-m.lastMicro) / 1e6)
	}
	m.lastMicro = mb.Header.TimeMicros
	m.txs.Add(float64(len(mb.Txs)))
	m.head.Set(float64(mb.Header.Number))
}

// sample records what the sampler read.
func (m *metrics) sample(s nodeStatus) {
	m.safe.Set(float64(s.Safe))
	set := func(g prometheus.Gauge, v float64) {
		if g != nil {
			g.Set(v)
		}
	}
	set(m.finalized, float64(s.Finalized))
	set(m.mempool, float64(s.Mempool))
	set(m.lag, float64(s.LagMicros)/1e6)
	set(m.proverLag, float64(s.ProverLag))
	set(m.attested, float64(s.Attested))
	set(m.marked, float64(len(s.Marked)))
	if m.faults != nil {
		for outcome, n := range map[string]uint64{"verified": s.Faults.Verified, "refused": s.Faults.Refused, "inconclusive": s.Faults.Inconclusive, "ignored": s.Faults.Ignored} { // each label set once: order cannot leak
			m.faults.WithLabelValues(outcome).Set(float64(n))
		}
	}
	if s.Head > 0 {
		m.head.Set(float64(s.Head))
	}
}

// rpcCall is what the metrics read of a JSON-RPC request.
type rpcCall struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
}

// rpcAnswer is what the metrics read of a JSON-RPC response.
type rpcAnswer struct {
	ID    json.RawMessage `json:"id"`
	Error *struct {
		Code int `json:"code"`
	} `json:"error"`
}

// decodeOneOrBatch decodes a JSON-RPC message, single or batch.
func decodeOneOrBatch[T any](b []byte) ([]T, bool) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var xs []T
		if json.Unmarshal(b, &xs) != nil {
			return nil, false
		}
		return xs, true
	}
	var x T
	if json.Unmarshal(b, &x) != nil {
		return nil, false
	}
	return []T{x}, true
}

var methodName = regexp.MustCompile(`^[a-z][a-z0-9]*_[A-Za-z0-9]+$`)

// methodLabel bounds the method label: a well-formed name, at most
// maxMethodLabels distinct ones, else "other".
func (m *metrics) methodLabel(name string) string {
	if len(name) > 64 || !methodName.MatchString(name) {
		return "other"
	}
	m.methodsMu.Lock()
	defer m.methodsMu.Unlock()
	if !m.methods[name] {
		if len(m.methods) >= maxMethodLabels {
			return "other"
		}
		m.methods[name] = true
	}
	return name
}

// capture keeps the start of a response for its outcome.
type capture struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
	over   bool
}

func (c *capture) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *capture) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if !c.over {
		if c.buf.Len()+len(p) > rpcMaxRespBytes {
			c.over = true
			c.buf = bytes.Buffer{}
		} else {
			c.buf.Write(p)
		}
	}
	return c.ResponseWriter.Write(p)
}

// rpcHandler counts and times the JSON-RPC calls of HTTP POST requests
// by method and outcome. It reads the body up to maxBody (the server's
// own bound; a longer body goes on to the server, which refuses it, and
// counts as method "other", outcome "error"), and a call's outcome from
// its response: "error" with a JSON-RPC error, "ok" otherwise (a response
// over rpcMaxRespBytes is taken as ok: errors are short).
func (m *metrics) rpcHandler(next http.Handler, maxBody int) http.Handler {
	if m.rpcCalls == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, int64(maxBody)+1))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), r.Body), r.Body}
		calls, ok := []rpcCall(nil), false
		if len(body) <= maxBody {
			calls, ok = decodeOneOrBatch[rpcCall](body)
		}
		c := &capture{ResponseWriter: w}
		start := time.Now()
		next.ServeHTTP(c, r)
		secs := time.Since(start).Seconds()
		observe := func(method, outcome string) {
			m.rpcCalls.WithLabelValues(method, outcome).Inc()
			m.rpcLatency.WithLabelValues(method, outcome).Observe(secs)
		}
		if !ok || len(calls) == 0 {
			observe("other", "error")
			return
		}
		answers, _ := decodeOneOrBatch[rpcAnswer](c.buf.Bytes())
		byID := make(map[string]*rpcAnswer, len(answers))
		for i := range answers {
			byID[string(answers[i].ID)] = &answers[i]
		}
		for _, call := range calls {
			a := byID[string(call.ID)]
			if len(calls) == 1 && len(answers) == 1 {
				a = &answers[0]
			}
			outcome := "ok"
			switch {
			case c.status != http.StatusOK:
				outcome = "error"
			case a != nil && a.Error != nil:
				outcome = "error"
			case a == nil && !c.over && len(call.ID) > 0:
				outcome = "error" // no answer for a call with an id
			}
			method := call.Method
			if a != nil && a.Error != nil && a.Error.Code == -32601 {
				method = rpcUnknownMethod
			} else {
				method = m.methodLabel(method)
			}
			observe(method, outcome)
		}
	})
}
