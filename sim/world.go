package sim

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/traces"
)

// Epoch is every node's clock at virtual time zero, before skew.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// NodeSpec is one node of a scenario's cluster.
type NodeSpec struct {
	ID  node.NodeID
	New func() node.Node // a fresh node, for the first start and every restart
}

// Scenario is what a profile runs in the world: its nodes, its clients'
// calls, its liveness goal and its checks.
type Scenario interface {
	// Nodes lists the cluster, in a fixed order.
	Nodes() []NodeSpec
	// NextCall draws a client's next call: the node to call and the
	// encoded call; ok is false when the client has nothing more to do.
	NextCall(c *Client) (to node.NodeID, body []byte, ok bool)
	// Converged reports whether the run has reached its liveness goal,
	// and if not, what is missing.
	Converged(w *World) (ok bool, missing string)
	// Check checks the run once it is over.
	Check(w *World) []traces.Violation
}

// Profile is a named kind of run: ranges for the configuration and the
// scenario to build from it.
type Profile struct {
	Name   string
	Ranges Ranges
	// New builds the scenario for cfg. It may draw its own settings from
	// rng and describe them in cfg.Scenario.
	New func(cfg *Config, rng *rand.Rand) Scenario
}

// Op is one client call as its client saw it. A client whose call times
// out sends the same call again, until it gets an answer; the Op spans all
// the attempts.
type Op struct {
	Client, Node node.NodeID
	Call, Return time.Duration // Return is meaningless when TimedOut
	Input        []byte
	Output       []byte
	Attempts     int
	TimedOut     bool // the run ended with the call unanswered: it may or may not have taken effect
}

// Options control a run.
type Options struct {
	Keep      bool      // keep the event log, to write a trace
	BuildID   string    // recorded in the trace
	Log       io.Writer // node logs, with virtual times; nil discards them
	MaxEvents int       // a run with more events stops with a violation; 0 = 50 million
	// ArtifactDir, when set, is where checkers may write evidence of a
	// failure (porcupine's visualization); it never changes a run.
	ArtifactDir string
	// Explain asks a failing run's scenario for the details an auditor
	// needs (see Explainer); it never changes a run.
	Explain bool
}

// Explainer is implemented by a scenario that can say more about a
// failing run once it is over: for a state divergence, the first differing
// account or slot, its value on each side, and the mini-block that wrote
// it.
type Explainer interface {
	Explain(w *World) []string
}

// Phase names.
const (
	PhaseSafety   = "safety"
	PhaseLiveness = "liveness"
)

// Property names the world itself checks.
const (
	PropLiveness = "P6 liveness"
	PropRunaway  = "runaway run"
	// PropInvariant: node code found one of its invariants broken (it
	// panicked; see node.Invariant).
	PropInvariant = "invariant"
)

// Result is what a run produced.
type Result struct {
	Config      Config
	Fingerprint [32]byte
	Events      int
	Violations  []traces.Violation
	History     []Op
	SimTime     time.Duration // virtual time at the end
	HealedAt    time.Duration // when the liveness phase began
	Converged   time.Duration // when the liveness goal was reached; 0 if never
	Trace       *traces.Trace // the whole trace, with events if Options.Keep
	Artifacts   []string      // files the checkers wrote (see Options.ArtifactDir)
	// Stats are figures the scenario measured about the run (history
	// sizes, checking times). They are reports, not part of the run: a
	// replay does not compare them.
	Stats []Stat
	// OpsRun is, per client, how many of its planned operations ran up to
	// the last one that made a call: the rest never did anything.
	OpsRun []int
	// Marks counts the coverage marks the nodes hit (node/cover).
	Marks map[string]int
	// Explanation is what the scenario's Explainer said of a failing run
	// (Options.Explain).
	Explanation []string
}

// Stat is one figure a scenario measured.
type Stat struct {
	Name  string
	Value float64
}

// Failed reports whether the run found a violation.
func (r *Result) Failed() bool { return len(r.Violations) > 0 }

type linkKey struct{ from, to node.NodeID }

type link struct {
	latency time.Duration
	jitter  float64
}

// World is one simulated run.
type World struct {
	cfg  Config
	sc   Scenario
	opts Options
	q    queue
	now  time.Duration
	rec  *traces.Recorder

	netRng *rand.Rand
	plan   *Plan

	nodes   []*simNode
	byID    map[node.NodeID]*simNode
	clients []*Client
	client  map[node.NodeID]*Client
	links   map[linkKey]*link
	cut     map[linkKey]bool
	clogged map[linkKey]time.Duration
	topics  map[node.Topic][]node.NodeID

	history     []Op
	open        []*request // calls delivered to a node and not answered yet
	phase       string
	faultsOn    bool
	healedAt    time.Duration
	converged   time.Duration
	stopped     bool
	violations  []traces.Violation
	stats       []Stat
	events      int
	maxEvents   int
	artifacts   []string
	marks       map[string]int
	explanation []string
}

// Run runs one seed of a profile (the plan it derives) and checks it.
func Run(p *Profile, seed uint64, opts Options) *Result {
	return RunPlan(p, DerivePlan(p, seed), opts)
}

// newWorld builds the world a plan describes, ready to run.
func newWorld(p *Profile, plan *Plan, opts Options) *World {
	st := streams(plan.Seed)
	cfg := p.Ranges.derive(plan.Seed, p.Name, st.cfg)
	cfg.Nodes, cfg.Duration = plan.Nodes, plan.Duration
	cfg.Clients = len(plan.Ops)
	sc := p.New(&cfg, st.scenario)
	w := &World{
		cfg: cfg, sc: sc, opts: opts, plan: plan,
		rec:    traces.NewRecorder(opts.Keep),
		netRng: st.net,
		byID:   map[node.NodeID]*simNode{}, client: map[node.NodeID]*Client{},
		links: map[linkKey]*link{}, cut: map[linkKey]bool{}, clogged: map[linkKey]time.Duration{},
		topics:    map[node.Topic][]node.NodeID{},
		marks:     map[string]int{},
		maxEvents: opts.MaxEvents,
	}
	if w.maxEvents == 0 {
		w.maxEvents = 50_000_000
	}
	nodeRng := st.nodes
	for _, spec := range sc.Nodes() {
		n := &simNode{w: w, spec: spec, id: spec.ID, disk: NewDisk(split(nodeRng)), rng: split(nodeRng), syncRng: split(nodeRng)}
		n.disk.Observe(func(f DiskFault) {
			w.record(traces.Event{Kind: traces.KindDiskFault, Node: string(n.id), Data: []byte(f.String())})
		})
		if cfg.Faults.ClockJump > 0 && cfg.Faults.MaxSkew > 0 {
			n.skew = time.Duration(between(nodeRng, -float64(cfg.Faults.MaxSkew), float64(cfg.Faults.MaxSkew)))
		}
		w.nodes = append(w.nodes, n)
		w.byID[n.id] = n
	}
	for i, ops := range plan.Ops {
		c := &Client{ID: node.NodeID(fmt.Sprintf("client%d", i+1)), w: w, last: -1, ops: ops}
		w.clients = append(w.clients, c)
		w.client[c.ID] = c
	}
	return w
}

func (w *World) result(p *Profile, plan *Plan) *Result {
	seed := plan.Seed
	res := &Result{
		Config: w.cfg, Fingerprint: w.rec.Fingerprint(), Events: w.rec.Len(), Violations: w.violations,
		History: w.history, SimTime: w.now, HealedAt: w.healedAt, Converged: w.converged,
		Artifacts: w.artifacts, Stats: w.stats, Marks: w.marks, Explanation: w.explanation,
	}
	for _, c := range w.clients {
		res.OpsRun = append(res.OpsRun, c.started)
	}
	res.Trace = &traces.Trace{
		Header:      traces.Header{Seed: seed, Profile: p.Name, Config: w.cfg.String(), BuildID: w.opts.BuildID},
		Plan:        plan,
		Events:      w.rec.Events(),
		Violations:  w.violations,
		Fingerprint: res.Fingerprint,
		Phases:      map[string]time.Duration{PhaseSafety: 0, PhaseLiveness: w.healedAt},
	}
	return res
}

// Config is the run's configuration.
func (w *World) Config() *Config { return &w.cfg }

// ArtifactDir is where checkers may write evidence of a failure; "" for
// nowhere.
func (w *World) ArtifactDir() string { return w.opts.ArtifactDir }

// AddArtifact lists a file a checker wrote, for the run's report.
func (w *World) AddArtifact(path string) { w.artifacts = append(w.artifacts, path) }

// Now is the virtual time since the start of the run.
func (w *World) Now() time.Duration { return w.now }

// Phase is the current phase.
func (w *World) Phase() string { return w.phase }

// History is the client calls so far.
func (w *World) History() []Op { return w.history }

// Node returns the running instance of a node, or nil if it is down.
func (w *World) Node(id node.NodeID) node.Node {
	if n := w.byID[id]; n != nil && n.up {
		return n.n
	}
	return nil
}

// Disk returns a node's disk.
func (w *World) Disk(id node.NodeID) *Disk {
	if n := w.byID[id]; n != nil {
		return n.disk
	}
	return nil
}

// Stat records a figure about the run for the report (see Result.Stats).
func (w *World) Stat(name string, value float64) {
	w.stats = append(w.stats, Stat{Name: name, Value: value})
}

// Note adds a scenario's remark to the event log.
func (w *World) Note(at node.NodeID, text string) {
	w.record(traces.Event{Kind: traces.KindNote, Node: string(at), Data: []byte(text)})
}

// Violate records a violation found during the run.
func (w *World) Violate(property, detail string) {
	w.violations = append(w.violations, traces.Violation{Property: property, At: w.now, Detail: detail})
}

func (w *World) record(e traces.Event) {
	e.At = w.now
	w.rec.Add(e)
}

func (w *World) after(d time.Duration, fn func()) { w.q.push(w.now+d, fn) }

func (w *World) run() {
	w.phase = PhaseSafety
	w.faultsOn = true
	w.record(traces.Event{Kind: traces.KindPhase, Data: []byte(PhaseSafety)})
	for _, n := range w.nodes {
		n.disk.SetFaults(w.cfg.Faults.Disk)
		w.after(0, n.start)
	}
	for _, c := range w.clients {
		c.schedule()
	}
	for _, f := range w.plan.Faults {
		w.after(f.At, func() { w.applyFault(f) })
	}
	w.after(w.cfg.Duration, w.heal)
	deadline := w.cfg.Duration + w.cfg.Liveness
	for w.q.len() > 0 && !w.stopped {
		e := w.q.pop()
		if e.at > deadline {
			w.now = deadline
			break
		}
		w.now = e.at
		e.fn()
		w.events++
		if w.events > w.maxEvents {
			w.Violate(PropRunaway, fmt.Sprintf("more than %d events by %v", w.maxEvents, w.now))
			return
		}
	}
	for _, c := range w.clients {
		if c.pending != nil {
			w.history[c.pending.op].TimedOut = true
		}
	}
	if w.converged == 0 {
		_, missing := w.sc.Converged(w)
		if missing == "" {
			missing = "the liveness goal was not met"
		}
		if pending := w.pendingCalls(); pending > 0 {
			missing += fmt.Sprintf("; %d client calls still pending", pending)
		}
		if silent := w.unanswered(); silent != "" {
			missing += "; " + silent
		}
		w.Violate(PropLiveness, fmt.Sprintf("not converged %v after faults healed: %s", w.cfg.Liveness, missing))
	}
	w.violations = append(w.violations, w.sc.Check(w)...)
	if ex, ok := w.sc.(Explainer); ok && w.opts.Explain && len(w.violations) > 0 {
		w.explanation = ex.Explain(w)
	}
}

// heal ends the safety phase: faults stop, partitions and clogs go,
// paused nodes resume and crashed ones restart; then the world waits for
// the scenario's liveness goal.
func (w *World) heal() {
	w.phase = PhaseLiveness
	w.faultsOn = false
	w.healedAt = w.now
	w.record(traces.Event{Kind: traces.KindPhase, Data: []byte(PhaseLiveness)})
	clear(w.cut)
	clear(w.clogged)
	w.record(traces.Event{Kind: traces.KindHeal})
	for _, n := range w.nodes {
		n.disk.SetFaults(DiskFaults{})
		n.slowUntil = 0
		if n.paused {
			n.resume()
		}
		if !n.up {
			n.start()
		}
	}
	w.poll()
}

func (w *World) poll() {
	if ok, _ := w.sc.Converged(w); ok && w.pendingCalls() == 0 && w.unanswered() == "" {
		w.converged = w.now
		w.stopped = true
		return
	}
	w.after(20*time.Millisecond, w.poll)
}

// unanswered describes the calls delivered to a node that is still up in
// the same incarnation and never answered, or returns "". A node answers
// every call it takes, with an error if need be: a client must never wait
// in silence (a call to a node that crashed since is the crash's to answer).
func (w *World) unanswered() string {
	keep := w.open[:0]
	for _, r := range w.open {
		if n := w.byID[r.at]; !r.answered && n != nil && n.inc == r.inc && n.up {
			keep = append(keep, r)
		}
	}
	clear(w.open[len(keep):])
	w.open = keep
	if len(keep) == 0 {
		return ""
	}
	r := keep[0]
	return fmt.Sprintf("%d calls delivered to running nodes were never answered (the first: %s's call #%d to %s, delivered at %v)",
		len(keep), r.client, r.id, r.at, r.delivered)
}

func (w *World) pendingCalls() int {
	n := 0
	for _, c := range w.clients {
		if c.pending != nil {
			n++
		}
	}
	return n
}

// The network.

type packetKind uint8

const (
	pMessage packetKind = iota
	pRequest
	pResponse
)

func (w *World) linkTo(from, to node.NodeID) *link {
	k := linkKey{from, to}
	l := w.links[k]
	if l == nil {
		l = &link{latency: w.cfg.Latency.draw(w.netRng), jitter: w.cfg.Jitter}
		w.links[k] = l
	}
	return l
}

func hashBytes(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// send puts a packet on the network. msg must already be the sender's copy.
func (w *World) send(from, to node.NodeID, kind packetKind, reqID uint64, msg []byte) {
	if w.faultsOn && w.cut[linkKey{from, to}] {
		w.record(traces.Event{Kind: traces.KindDrop, Node: string(to), Peer: string(from), Hash: hashBytes(msg), Size: len(msg), Data: []byte("partitioned")})
		return
	}
	if w.faultsOn && w.netRng.Float64() < w.cfg.Drop {
		w.record(traces.Event{Kind: traces.KindDrop, Node: string(to), Peer: string(from), Hash: hashBytes(msg), Size: len(msg), Data: []byte("lost")})
		return
	}
	copies := 1
	if w.faultsOn && w.netRng.Float64() < w.cfg.Duplicate {
		copies = 2
	}
	l := w.linkTo(from, to)
	for range copies {
		d := l.latency + time.Duration(w.netRng.Float64()*l.jitter*float64(l.latency))
		if w.faultsOn && w.netRng.Float64() < w.cfg.Reorder {
			d += time.Duration(w.netRng.Float64() * 10 * float64(l.latency))
		}
		if until, ok := w.clogged[linkKey{from, to}]; ok && w.now+d < until {
			d = until - w.now + d
		}
		if n := w.byID[to]; n != nil && w.now < n.slowUntil {
			d += n.slowBy
		}
		w.after(d, func() { w.deliver(from, to, kind, reqID, msg) })
	}
}

func (w *World) deliver(from, to node.NodeID, kind packetKind, reqID uint64, msg []byte) {
	if c := w.client[to]; c != nil {
		c.onResponse(from, reqID, msg)
		return
	}
	n := w.byID[to]
	if n == nil {
		return
	}
	if !n.up {
		w.record(traces.Event{Kind: traces.KindDrop, Node: string(to), Peer: string(from), Hash: hashBytes(msg), Size: len(msg), Data: []byte("node down")})
		return
	}
	if n.paused {
		n.deferred = append(n.deferred, func() { w.deliver(from, to, kind, reqID, msg) })
		return
	}
	w.record(traces.Event{Kind: traces.KindDeliver, Node: string(to), Peer: string(from), Hash: hashBytes(msg), Size: len(msg)})
	switch kind {
	case pMessage:
		n.call(func(inst node.Node) { inst.OnMessage(from, clone(msg)) })
	case pRequest:
		r := &request{w: w, at: to, inc: n.inc, delivered: w.now, client: from, id: reqID, body: clone(msg)}
		w.open = append(w.open, r)
		served := false
		if rs, ok := n.n.(node.ReadServer); ok {
			// Reads are served off the step in production; here, inline,
			// from the same view, so that they stay deterministic.
			n.call(func(node.Node) { served = rs.Serve(context.Background(), r) })
		}
		if !served && n.up && n.inc == r.inc {
			n.call(func(inst node.Node) { inst.OnRequest(r) })
		}
	}
}

// bytes hands a receiver its own copy, so that no two participants ever
// share memory.
func clone(b []byte) []byte { return append([]byte(nil), b...) }

// request is a client call delivered to a node.
type request struct {
	w         *World
	at        node.NodeID
	inc       uint64 // the incarnation of the node it was delivered to
	delivered time.Duration
	client    node.NodeID
	id        uint64
	body      []byte
	answered  bool
}

func (r *request) Client() node.NodeID { return r.client }
func (r *request) Body() []byte        { return r.body }
func (r *request) Respond(body []byte) {
	if n := r.w.byID[r.at]; r.answered || n == nil || n.inc != r.inc {
		return // answered already, or by a process that has died since
	}
	r.answered = true
	r.w.send(r.at, r.client, pResponse, r.id, clone(body))
}

// Nodes.

type simNode struct {
	w        *World
	spec     NodeSpec
	id       node.NodeID
	n        node.Node
	up       bool
	paused   bool
	inc      uint64 // incarnation: a crash ends it, and with it its timers
	deferred []func()
	disk     *Disk
	rng      *rand.Rand
	skew     time.Duration
	// While now < slowUntil, what reaches the node (messages, timers)
	// comes slowBy late.
	slowBy, slowUntil time.Duration

	// Syncs: the newest id handed out (ids grow across incarnations), when
	// the newest one in flight completes (syncs complete in order), and the
	// stream their durations are drawn from.
	syncs   node.SyncID
	syncAt  time.Duration
	syncRng *rand.Rand
	// While now < slowDiskUntil, syncs take slowDiskBy longer.
	slowDiskBy, slowDiskUntil time.Duration
	// syncCrash, when set, crashes the node during its next sync.
	syncCrash *syncCrash
}

// syncCrash is an armed sync-crash fault.
type syncCrash struct {
	afterDurable bool // after the sync is durable, before the node hears; else before it is durable
	downFor      time.Duration
}

// call runs node code. A panic there is the node's process dying: the
// world records it as a violation (an invariant of the node broke: a bug
// found) and the node is down, its disk as a killed process leaves it.
func (n *simNode) call(fn func(node.Node)) {
	inst, inc := n.n, n.inc
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		n.w.Violate(PropInvariant, fmt.Sprintf("%s panicked: %v", n.id, r))
		if n.w.opts.Log != nil {
			fmt.Fprintf(n.w.opts.Log, "%12.6fs %-8s PANIC %v\n%s\n", n.w.now.Seconds(), n.id, r, debug.Stack())
		}
		if n.inc == inc {
			n.kill()
		}
	}()
	fn(inst)
}

// start starts (or restarts) the node from its disk. A failed start leaves
// it down and tries again a little later.
func (n *simNode) start() {
	w := n.w
	if n.up {
		return
	}
	n.inc++
	inst := n.spec.New()
	env := &env{n: n, inc: n.inc, rng: split(n.rng)}
	var err error
	n.n = inst
	n.call(func(node.Node) { err = inst.Start(env) })
	if n.inc != env.inc {
		n.n = nil
		w.after(100*time.Millisecond, n.start)
		return // it panicked
	}
	if err != nil {
		n.n = nil
		n.inc++ // whatever it set up is dead
		w.record(traces.Event{Kind: traces.KindStartFail, Node: string(n.id), Data: []byte(err.Error())})
		w.after(100*time.Millisecond, n.start)
		return
	}
	n.n, n.up = inst, true
	w.record(traces.Event{Kind: traces.KindRestart, Node: string(n.id), Hash: n.inc})
}

// kill ends the node's process (kill -9, or a panic): the disk keeps
// everything committed, synced or not, as the operating system would.
func (n *simNode) kill() {
	if !n.up && n.n == nil {
		return
	}
	n.up, n.paused, n.n, n.deferred, n.syncCrash = false, false, nil, nil, nil
	n.inc++
	n.w.record(traces.Event{Kind: traces.KindCrash, Node: string(n.id), Data: []byte(fmt.Sprintf("process killed; %d batches still unsynced", n.disk.Unsynced()))})
}

// crash is a crash of the node's machine: what was not synced is lost.
func (n *simNode) crash() {
	if !n.up {
		return
	}
	n.up, n.paused, n.n, n.deferred, n.syncCrash = false, false, nil, nil, nil
	n.inc++
	lost, torn := n.disk.Crash()
	detail := fmt.Sprintf("lost %d unsynced batches", lost)
	if torn {
		detail += ", tail torn"
	}
	n.w.record(traces.Event{Kind: traces.KindCrash, Node: string(n.id), Data: []byte(detail)})
}

func (n *simNode) pause() {
	if !n.up || n.paused {
		return
	}
	n.paused = true
	n.w.record(traces.Event{Kind: traces.KindPause, Node: string(n.id)})
}

func (n *simNode) resume() {
	if !n.paused {
		return
	}
	n.paused = false
	n.w.record(traces.Event{Kind: traces.KindResume, Node: string(n.id)})
	held := n.deferred
	n.deferred = nil
	for _, fn := range held {
		n.w.after(0, fn)
	}
}

// env is a node incarnation's view of the world. Once the incarnation has
// crashed, everything it asks for is ignored.
type env struct {
	n   *simNode
	inc uint64
	rng *rand.Rand
	log *slog.Logger
}

func (e *env) alive() bool { return e.n.inc == e.inc && e.n.up }

func (e *env) ID() node.NodeID { return e.n.id }

func (e *env) Now() time.Time { return Epoch.Add(e.n.w.now + e.n.skew) }

func (e *env) After(d time.Duration, id node.TimerID) {
	if e.n.inc != e.inc {
		return
	}
	n := e.n
	inc := e.inc
	var fire func()
	fire = func() {
		if n.inc != inc || !n.up {
			return
		}
		if n.paused {
			n.deferred = append(n.deferred, fire)
			return
		}
		n.w.record(traces.Event{Kind: traces.KindTimer, Node: string(n.id), Hash: uint64(id)})
		n.call(func(inst node.Node) { inst.OnTimer(id) })
	}
	if n.w.now < n.slowUntil {
		d += n.slowBy
	}
	n.w.after(max(d, 0), fire)
}

func (e *env) Send(to node.NodeID, msg []byte) {
	if e.n.inc != e.inc {
		return
	}
	e.n.w.send(e.n.id, to, pMessage, 0, clone(msg))
}

func (e *env) Subscribe(topic node.Topic) {
	subs := e.n.w.topics[topic]
	if i, found := slices.BinarySearch(subs, e.n.id); !found {
		e.n.w.topics[topic] = slices.Insert(subs, i, e.n.id)
	}
}

func (e *env) Publish(topic node.Topic, msg []byte) {
	if e.n.inc != e.inc {
		return
	}
	for _, to := range e.n.w.topics[topic] {
		if to != e.n.id {
			e.n.w.send(e.n.id, to, pMessage, 0, clone(msg))
		}
	}
}

func (e *env) Disk() node.Disk { return e.n.disk }

// Sync implements node.Env. The disk makes everything committed so far
// durable after a drawn delay (syncs complete in order), and a little later
// the node hears of it: a crash can fall before the sync is durable, or
// after, before the node hears.
func (e *env) Sync() node.SyncID {
	n, w := e.n, e.n.w
	n.syncs++
	id := n.syncs
	if n.inc != e.inc {
		return id // a dead process asks for nothing
	}
	mark, inc := n.disk.Mark(), e.inc
	d := w.cfg.SyncLatency.draw(n.syncRng)
	if w.now < n.slowDiskUntil {
		d += n.slowDiskBy
	}
	at := max(w.now+d, n.syncAt)
	n.syncAt = at
	hear := time.Duration(1+n.syncRng.IntN(100)) * time.Microsecond
	if sc := n.syncCrash; sc != nil {
		n.syncCrash = nil
		crashAt := w.now + (at-w.now)/2 // before it is durable
		if sc.afterDurable {
			crashAt = at + hear/2
		}
		w.q.push(crashAt, func() {
			if n.inc == inc && n.up && w.faultsOn {
				w.Note(n.id, fmt.Sprintf("sync %d: the machine crashes", id))
				w.CrashFor(n.id, sc.downFor)
			}
		})
	}
	var tell func()
	tell = func() {
		if n.inc != inc || !n.up {
			return
		}
		if n.paused {
			n.deferred = append(n.deferred, tell)
			return
		}
		w.record(traces.Event{Kind: traces.KindSynced, Node: string(n.id), Hash: uint64(id)})
		n.call(func(inst node.Node) { inst.OnSynced(id) })
	}
	w.q.push(at, func() {
		if n.inc != inc {
			return // the process died: its sync never finished
		}
		n.disk.SyncThrough(mark)
		w.record(traces.Event{Kind: traces.KindSync, Node: string(n.id), Hash: uint64(id)})
		w.after(hear, tell)
	})
	return id
}

func (e *env) Rand() *rand.Rand { return e.rng }

// Mark implements node.Env: the world counts coverage marks per run (not
// in the trace: they never change a run).
func (e *env) Mark(name string) {
	if e.n.inc == e.inc { // during Start too, before the node counts as up
		e.n.w.marks[name]++
	}
}

func (e *env) Log() *slog.Logger {
	if e.log == nil {
		e.log = slog.New(&logHandler{n: e.n, out: e.n.w.opts.Log})
	}
	return e.log
}

// logHandler writes a node's log lines with virtual times (never the wall
// clock slog stamps records with), or discards them.
type logHandler struct {
	n     *simNode
	out   io.Writer
	attrs []slog.Attr
}

func (h *logHandler) Enabled(context.Context, slog.Level) bool { return h.out != nil }

func (h *logHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%12.6fs %-8s %-5s %s", h.n.w.now.Seconds(), h.n.id, r.Level, r.Message)
	for _, a := range h.attrs {
		fmt.Fprintf(&b, " %s", a)
	}
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&b, " %s", a); return true })
	b.WriteByte('\n')
	_, err := io.WriteString(h.out, b.String())
	return err
}

func (h *logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &logHandler{n: h.n, out: h.out, attrs: append(slices.Clone(h.attrs), as...)}
}

func (h *logHandler) WithGroup(string) slog.Handler { return h }

// Clients.

// Client is a simulated client. It makes one call at a time: it waits a
// think time, asks the scenario for its next call, sends it over the
// network, and waits for the answer; when the answer does not come within
// the timeout, it sends the same call again (so nodes must treat a
// repeated call as one), until an answer comes or the run ends.
type Client struct {
	ID   node.NodeID
	Rand *rand.Rand
	Data any // the scenario's per-client state

	w       *World
	nextID  uint64
	pending *pendingCall
	last    int // index in the history of the client's last call, -1 for none
	ops     []traces.PlannedOp
	nextOp  int
	started int // planned operations that made a call, counted to the last one that did
}

// schedule arms the client's next planned operation, if any.
func (c *Client) schedule() {
	if c.nextOp >= len(c.ops) {
		return
	}
	op := c.ops[c.nextOp]
	c.nextOp++
	c.w.after(op.After, func() {
		c.Rand = newRand(op.Seed)
		c.next()
	})
}

// Last is the client's previous call, with its answer; nil before the
// first.
func (c *Client) Last() *Op {
	if c.last < 0 {
		return nil
	}
	return &c.w.history[c.last]
}

// Now is the virtual time.
func (c *Client) Now() time.Duration { return c.w.now }

type pendingCall struct {
	id uint64
	op int // index in the history
}

func (c *Client) next() {
	w := c.w
	if w.phase != PhaseSafety || c.pending != nil {
		return
	}
	to, body, ok := w.sc.NextCall(c)
	if !ok {
		return
	}
	w.history = append(w.history, Op{Client: c.ID, Node: to, Call: w.now, Input: clone(body)})
	c.pending = &pendingCall{op: len(w.history) - 1}
	c.started = c.nextOp
	c.last = c.pending.op
	c.attempt()
}

// attempt sends the pending call (again) and arms its timeout.
func (c *Client) attempt() {
	w := c.w
	op := &w.history[c.pending.op]
	op.Attempts++
	c.nextID++
	id := c.nextID
	c.pending.id = id
	w.record(traces.Event{Kind: traces.KindCall, Node: string(c.ID), Peer: string(op.Node), Hash: id, Data: op.Input})
	w.send(c.ID, op.Node, pRequest, id, clone(op.Input))
	w.after(w.cfg.Timeout, func() {
		if c.pending == nil || c.pending.id != id {
			return
		}
		w.record(traces.Event{Kind: traces.KindTimeout, Node: string(c.ID), Peer: string(w.history[c.pending.op].Node), Hash: id})
		c.attempt()
	})
}

func (c *Client) onResponse(from node.NodeID, id uint64, body []byte) {
	w := c.w
	if c.pending == nil || c.pending.id != id {
		w.record(traces.Event{Kind: traces.KindDrop, Node: string(c.ID), Peer: string(from), Hash: id, Size: len(body), Data: []byte("late answer")})
		return
	}
	op := &w.history[c.pending.op]
	op.Return, op.Output = w.now, body
	c.pending = nil
	w.record(traces.Event{Kind: traces.KindReturn, Node: string(c.ID), Peer: string(from), Hash: id, Data: body})
	c.schedule()
}

// ScenarioFaults is implemented by a scenario with fault kinds of its own
// (aimed at its roles: a prover crash, a slow prover, DA unavailable). The
// world schedules them like its own, while faults are on.
type ScenarioFaults interface {
	Faults() []FaultKind
}

// FaultTargeter is implemented by a scenario whose world faults (crashes,
// pauses, partitions, clogs, clock jumps, disk faults) may hit only some
// of its nodes: the others are left to the scenario's own faults.
type FaultTargeter interface {
	FaultTargets() []node.NodeID
}

// TargetResolver is implemented by a scenario whose own faults name a role
// ("@leader") rather than a node: when the fault comes, Resolve says which
// node it hits, or that it is skipped (ok false). The plan stays the same
// for a seed; what it hits follows the run.
type TargetResolver interface {
	Resolve(w *World, f traces.PlannedFault) (id node.NodeID, ok bool)
}

// Skew is how far a node's clock is off virtual time now (its env.Now()
// is Epoch + virtual time + Skew).
func (w *World) Skew(id node.NodeID) time.Duration {
	if n := w.byID[id]; n != nil {
		return n.skew
	}
	return 0
}

// Running reports whether a node is up and not paused.
func (w *World) Running(id node.NodeID) bool {
	n := w.byID[id]
	return n != nil && n.up && !n.paused
}

// FaultKind is a scenario's fault: planned every Every on average (0:
// off). Plan draws one, its target and parameters, from the nemesis's
// random stream; a zero For takes the configuration's DownFor.
type FaultKind struct {
	Name  string
	Every time.Duration
	Plan  func(rng *rand.Rand) traces.PlannedFault
}

// CrashFor crashes a node (losing its unsynced writes) and restarts it
// after d, unless the faults are over by then (healing restarts it).
func (w *World) CrashFor(id node.NodeID, d time.Duration) {
	n := w.byID[id]
	if n == nil || !n.up {
		return
	}
	n.crash()
	w.after(d, func() {
		if w.faultsOn {
			n.start()
		}
	})
}

// KillFor kills a node's process (its disk keeps what it committed, synced
// or not) and restarts it after d, unless the faults are over by then.
func (w *World) KillFor(id node.NodeID, d time.Duration) {
	n := w.byID[id]
	if n == nil || !n.up {
		return
	}
	n.kill()
	w.after(d, func() {
		if w.faultsOn {
			n.start()
		}
	})
}

// SlowFor makes everything that reaches a node (messages, its timers) come
// by late, for d.
func (w *World) SlowFor(id node.NodeID, by, d time.Duration) {
	n := w.byID[id]
	if n == nil {
		return
	}
	n.slowBy, n.slowUntil = by, w.now+d
	w.record(traces.Event{Kind: traces.KindSlow, Node: string(id), Hash: uint64(by), Size: int(d / time.Millisecond)})
}

// IsolateFor cuts every link to and from a node, for d.
func (w *World) IsolateFor(id node.NodeID, d time.Duration) {
	n := w.byID[id]
	if n == nil {
		return
	}
	var others []*simNode
	for _, m := range w.nodes {
		if m != n {
			others = append(others, m)
		}
	}
	w.cutLinks([]*simNode{n}, others, true, d)
}

// cutLinks cuts every link from a to b, and from b to a when symmetric,
// for a while.
func (w *World) cutLinks(a, b []*simNode, symmetric bool, d time.Duration) {
	var cuts []string
	var keys []linkKey
	for _, x := range a {
		for _, y := range b {
			keys = append(keys, linkKey{x.id, y.id})
			cuts = append(cuts, fmt.Sprintf("%s→%s", x.id, y.id))
			if symmetric {
				keys = append(keys, linkKey{y.id, x.id})
				cuts = append(cuts, fmt.Sprintf("%s→%s", y.id, x.id))
			}
		}
	}
	for _, key := range keys {
		w.cut[key] = true
	}
	w.record(traces.Event{Kind: traces.KindPartition, Data: []byte(strings.Join(cuts, " "))})
	w.after(d, func() {
		for _, key := range keys {
			delete(w.cut, key)
		}
		w.record(traces.Event{Kind: traces.KindHeal, Data: []byte("partition")})
	})
}

// clog holds everything sent from one node to another until a time.
func (w *World) clog(from, to node.NodeID, until time.Duration) {
	w.clogged[linkKey{from, to}] = until
	w.record(traces.Event{Kind: traces.KindClog, Node: string(to), Peer: string(from), Hash: uint64(until)})
}

// jump moves a node's clock by d.
func (n *simNode) jump(d time.Duration) {
	n.skew += d
	n.w.record(traces.Event{Kind: traces.KindClock, Node: string(n.id), Hash: uint64(n.skew)})
}

// ErrNoProfile is returned for a profile name nobody registered.
var ErrNoProfile = errors.New("no such profile")
