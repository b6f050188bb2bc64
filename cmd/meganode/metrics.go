package main

import (
	"net/http"

	"github.com/meganode/meganode/node/chain"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are a node's Prometheus metrics. Mini-block figures come from
// the role's OnMiniBlock hook (on the loop); the rest from the sampler.
type metrics struct {
	reg       *prometheus.Registry
	interval  prometheus.Histogram
	txs       prometheus.Counter
	head      prometheus.Gauge
	safe      prometheus.Gauge
	finalized prometheus.Gauge
	mempool   prometheus.Gauge
	lag       prometheus.Gauge
	proverLag prometheus.Gauge
	attested  prometheus.Gauge
	lastMicro uint64
}

func newMetrics(role string) *metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := prometheus.WrapRegistererWith(prometheus.Labels{"role": role}, reg)
	m := &metrics{
		reg: reg,
		interval: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "meganode_miniblock_interval_seconds",
			Help:    "Time between consecutive mini-blocks, by their timestamps.",
			Buckets: []float64{0.002, 0.005, 0.008, 0.01, 0.012, 0.015, 0.02, 0.05, 0.1, 0.5, 1}}),
		txs:       prometheus.NewCounter(prometheus.CounterOpts{Name: "meganode_transactions_total", Help: "Transactions in the mini-blocks applied (rate() gives txs/s)."}),
		head:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "meganode_head_miniblock", Help: "Newest mini-block applied."}),
		safe:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "meganode_safe_block", Help: "Newest sealed block (for a prover: every block up to it has a statement)."}),
		finalized: prometheus.NewGauge(prometheus.GaugeOpts{Name: "meganode_finalized_block", Help: "Newest finalized block (fullnode)."}),
		mempool:   prometheus.NewGauge(prometheus.GaugeOpts{Name: "meganode_mempool_transactions", Help: "Transactions in the sequencer's pool."}),
		lag:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "meganode_fullnode_lag_seconds", Help: "Age of the newest mini-block a fullnode applied."}),
		proverLag: prometheus.NewGauge(prometheus.GaugeOpts{Name: "meganode_prover_lag_blocks", Help: "Blocks a prover has heard of but not yet stated about."}),
		attested:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "meganode_attestations", Help: "Attestations a prover signed."}),
	}
	f.MustRegister(m.interval, m.txs, m.head, m.safe, m.finalized, m.mempool, m.lag, m.proverLag, m.attested)
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
	m.finalized.Set(float64(s.Finalized))
	m.mempool.Set(float64(s.Mempool))
	m.lag.Set(float64(s.LagMicros) / 1e6)
	m.proverLag.Set(float64(s.ProverLag))
	m.attested.Set(float64(s.Attested))
	if s.Head > 0 {
		m.head.Set(float64(s.Head))
	}
}
