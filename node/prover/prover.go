package prover

import (
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/cover"
	"github.com/meganode/meganode/node/exec"
)

// Config configures a prover.
type Config struct {
	Genesis    *core.Genesis
	Key        *ecdsa.PrivateKey // signs attestations and fault reports
	Sequencers chain.KeySet      // the keys mini-blocks must be signed with one of
	// DA is where blocks gossip did not bring are fetched from; empty:
	// gossip only.
	DA node.NodeID
	// MaxConcurrent bounds the blocks validated in one step (at once, when
	// Parallel runs them side by side). Default 4.
	MaxConcurrent int
	// MaxPending bounds the bundles held waiting for validation; beyond
	// it new ones are dropped (DA has them). Default 256.
	MaxPending int
	// MaxAhead bounds how far past the oldest block not yet validated a
	// bundle is taken; beyond it bundles are dropped. Default 1024.
	MaxAhead uint64
	// PollEvery is how often DA is asked for blocks gossip did not bring.
	// Default 200 ms.
	PollEvery time.Duration
	// FetchTimeout is how long a DA request may go unanswered before the
	// next. Default 500 ms.
	FetchTimeout time.Duration
	// StepDelay is the wait between a bundle's arrival and the step that
	// validates it, so that one step takes what arrived together.
	// Default 1 ms.
	StepDelay time.Duration
	// Parallel runs job(0), …, job(n-1), possibly at once; it returns when
	// all are done. Each job writes only its own result, so the outcome
	// does not depend on scheduling. Nil runs them one after another (the
	// simulator); the production runtime passes a worker pool.
	Parallel func(n int, job func(i int))
}

func (c Config) withDefaults() (Config, error) {
	if c.Genesis == nil || c.Genesis.Config == nil || c.Genesis.Config.ChainID == nil {
		return c, errors.New("prover: a genesis with a chain config is required")
	}
	if c.Key == nil {
		return c, errors.New("prover: a signing key is required")
	}
	if c.MaxConcurrent <= 0 {
		c.MaxConcurrent = 4
	}
	if c.MaxPending <= 0 {
		c.MaxPending = 256
	}
	if c.MaxAhead == 0 {
		c.MaxAhead = 1024
	}
	if c.PollEvery <= 0 {
		c.PollEvery = 200 * time.Millisecond
	}
	if c.FetchTimeout <= 0 {
		c.FetchTimeout = 500 * time.Millisecond
	}
	if c.StepDelay <= 0 {
		c.StepDelay = time.Millisecond
	}
	if c.Parallel == nil {
		c.Parallel = func(n int, job func(int)) {
			for i := range n {
				job(i)
			}
		}
	}
	return c, nil
}

// Timers.
const (
	timerPoll  node.TimerID = 1
	timerStep  node.TimerID = 2
	timerFetch node.TimerID = 1 << 32 // + request id
)

// Disk layout:
//
//	prover/stmt/<block>  the signed attestation or fault report for the block
//	prover/low           every block up to this one has a statement
var (
	prefixStmt = []byte("prover/stmt/")
	keyLow     = []byte("prover/low")
)

const formatLowV1 chain.Format = 0xB1

func stmtKey(n uint64) []byte { return binary.BigEndian.AppendUint64(slices.Clip(prefixStmt), n) }

// Metrics count what a prover did.
type Metrics struct {
	Attested, Faults uint64 // statements made
	Dropped          uint64 // bundles dropped at a bound, or unopenable
	Fetches          uint64 // requests to DA
}

// Prover validates sealed blocks statelessly, from their bundles (gossip,
// or DA when gossip missed them), in any order, several at a time, and
// publishes a signed attestation for each valid block and a signed fault
// report for each invalid one. What it has stated is on its disk: after a
// restart it does not validate those blocks again.
type Prover struct {
	cfg     Config
	env     node.Env
	ex      *exec.Executor
	chainID uint64
	self    common.Address

	low     uint64            // every block ≤ low has a statement on disk
	done    map[uint64][]byte // statements above low, encoded
	out     *node.Outbox
	syncing map[uint64]bool // statements stored and not yet durable: not served
	ready   bool            // what Start found on disk is durable
	pending map[uint64]*chain.BlockBundle
	head    uint64 // highest block number heard of
	armed   bool   // a step is scheduled
	fetchID uint64
	fetchOn bool

	metrics Metrics
}

// New returns a prover; Start recovers its progress from disk.
func New(cfg Config) (*Prover, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ex, err := exec.New(exec.Config{Chain: cfg.Genesis.Config})
	if err != nil {
		return nil, err
	}
	return &Prover{cfg: cfg, ex: ex, chainID: cfg.Genesis.Config.ChainID.Uint64(), self: crypto.PubkeyToAddress(cfg.Key.PublicKey)}, nil
}

// Address is the prover's signing address.
func (p *Prover) Address() common.Address { return p.self }

// Metrics returns the prover's counters.
func (p *Prover) Metrics() Metrics { return p.metrics }

// Head is the newest block number the prover has heard of.
func (p *Prover) Head() uint64 { return p.head }

// Low is the newest block such that the prover has a statement for it and
// every block before it.
func (p *Prover) Low() uint64 { return p.low }

// Start implements node.Node.
func (p *Prover) Start(env node.Env) error {
	p.env = env
	p.out = node.NewOutbox(env, 0)
	p.syncing, p.ready = map[uint64]bool{}, false
	p.done, p.pending, p.armed, p.fetchOn, p.head = map[uint64][]byte{}, map[uint64]*chain.BlockBundle{}, false, false, 0
	p.low = 0
	raw, err := env.Disk().Get(keyLow)
	switch {
	case errors.Is(err, node.ErrNotFound):
	case err != nil:
		return fmt.Errorf("prover: %w", err)
	default:
		var rec struct{ Low uint64 }
		if err := chain.UnframeRLP(formatLowV1, raw, &rec); err != nil {
			// A torn write of the record (it was not synced when the
			// machine crashed): count the statements on disk again.
			env.Log().Warn("prover progress record damaged: rebuilding it from the statements", "err", err)
			env.Mark(cover.ProverRebuiltLow)
			for p.low = 0; ; p.low++ {
				if _, err := p.readStmt(p.low + 1); err != nil {
					break
				}
			}
			break
		}
		p.low = rec.Low
	}
	for n := p.low + 1; n <= p.low+p.cfg.MaxAhead; n++ {
		if v, err := p.readStmt(n); err == nil {
			p.done[n] = v
		} else if !errors.Is(err, node.ErrNotFound) {
			env.Log().Warn("statement unreadable: the block is validated again", "block", n, "err", err)
		}
	}
	p.head = p.low
	if p.low > 0 || len(p.done) > 0 {
		env.Mark(cover.ProverResumed)
	}
	for n := range p.done { // a maximum: order cannot leak
		p.head = max(p.head, n)
	}
	env.Subscribe(chain.TopicBlocks)
	env.After(p.cfg.PollEvery, timerPoll)
	// What a killed process left may not be durable: serve it once a sync
	// says it is.
	p.out.Sync(func() { p.ready = true })
	env.Log().Info("prover started", "low", p.low, "stated above", len(p.done))
	return nil
}

// OnSynced implements node.Node.
func (p *Prover) OnSynced(id node.SyncID) { p.out.Synced(id) }

// OnTimer implements node.Node.
func (p *Prover) OnTimer(id node.TimerID) {
	switch {
	case id == timerPoll:
		p.fetch()
		p.env.After(p.cfg.PollEvery, timerPoll)
	case id == timerStep:
		p.armed = false
		p.step()
	case id >= timerFetch:
		if p.fetchOn && id == timerFetch+node.TimerID(p.fetchID) {
			p.fetchOn = false
		}
	}
}

// OnRequest implements node.Node: provers serve no client API.
func (p *Prover) OnRequest(req node.Request) {}

// OnMessage implements node.Node: bundles by gossip, DA's answers, and
// fullnodes' requests for statements.
func (p *Prover) OnMessage(from node.NodeID, msg []byte) {
	switch chain.Kind(msg) {
	case chain.FormatBlockBundleV1:
		p.accept(msg)
	case chain.FormatBlockRangeResponseV1:
		if from != p.cfg.DA {
			return
		}
		resp, err := chain.DecodeBlockRangeResponse(msg)
		if err != nil {
			p.env.Log().Warn("bad block range response", "from", from, "err", err)
			return
		}
		if resp.ID == p.fetchID {
			p.fetchOn = false
		}
		p.head = max(p.head, resp.Head)
		if len(resp.Bundles) > 0 {
			p.env.Mark(cover.ProverFetchedFromDA)
		}
		for _, b := range resp.Bundles {
			p.accept(b)
		}
		if len(resp.Bundles) > 0 {
			p.catchUp() // more behind these, room permitting
		}
	case chain.FormatAttRequestV1:
		req, err := chain.DecodeAttRequest(msg)
		if err != nil {
			p.env.Log().Warn("bad attestation request", "from", from, "err", err)
			return
		}
		p.env.Send(from, p.serve(req).Encode())
	}
}

// accept takes a bundle for validation, unless it is stated, pending, or
// beyond a bound.
func (p *Prover) accept(raw []byte) {
	b, err := chain.DecodeBlockBundle(raw)
	if err != nil {
		p.env.Log().Warn("bad block bundle", "err", err)
		p.metrics.Dropped++
		return
	}
	n := b.Number
	if n <= p.low || p.done[n] != nil || p.pending[n] != nil {
		return
	}
	p.head = max(p.head, n)
	if n > p.low+p.cfg.MaxAhead || len(p.pending) >= p.cfg.MaxPending {
		p.metrics.Dropped++
		p.env.Mark(cover.ProverPendingFull)
		return
	}
	p.pending[n] = b
	if !p.armed {
		p.armed = true
		p.env.After(p.cfg.StepDelay, timerStep)
	}
}

// step validates up to MaxConcurrent pending blocks, oldest first, at
// once; signs a statement for each; stores them and asks for the sync;
// once it completes, publishes them.
func (p *Prover) step() {
	if p.out.Full() {
		return // a completing sync steps again
	}
	nums := make([]uint64, 0, len(p.pending))
	for n := range p.pending { // sorted below: order cannot leak
		nums = append(nums, n)
	}
	slices.Sort(nums)
	nums = nums[:min(len(nums), p.cfg.MaxConcurrent)]
	var opened []*chain.Opened
	var bundles []*chain.BlockBundle // each opened one's: a fault report's evidence
	for _, n := range nums {
		b := p.pending[n]
		delete(p.pending, n)
		o, err := b.OpenSealed(p.cfg.Sequencers)
		if err != nil {
			// Not the sequencer's block: no statement about it; DA's copy
			// is fetched again.
			p.env.Log().Warn("bundle does not open", "block", n, "err", err)
			p.metrics.Dropped++
			continue
		}
		opened = append(opened, o)
		bundles = append(bundles, b)
	}
	verdicts := make([]Verdict, len(opened))
	p.cfg.Parallel(len(opened), func(i int) { verdicts[i] = Validate(p.ex, opened[i]) })
	batch := p.env.Disk().NewBatch()
	stmts := make([][]byte, len(verdicts))
	for i, v := range verdicts {
		raw, err := p.statement(v, bundles[i])
		if err != nil {
			p.env.Log().Error("cannot sign a statement", "block", v.Number, "err", err)
			return
		}
		stmts[i] = raw
		batch.Set(stmtKey(v.Number), raw)
	}
	low := p.low
	for {
		if _, ok := p.done[low+1]; ok {
			low++
			continue
		}
		if i := slices.IndexFunc(verdicts, func(v Verdict) bool { return v.Number == low+1 }); i >= 0 {
			low++
			continue
		}
		break
	}
	if low > p.low {
		batch.Set(keyLow, chain.FrameRLP(formatLowV1, &struct{ Low uint64 }{low}))
	}
	if batch.Len() > 0 {
		if err := batch.Commit(); err != nil {
			p.env.Log().Error("cannot store statements: validating again later", "err", err)
			return
		}
	}
	stated := make([]uint64, 0, len(verdicts))
	for i, v := range verdicts {
		p.done[v.Number] = stmts[i]
		p.syncing[v.Number] = true
		stated = append(stated, v.Number)
		if v.Fault == "" {
			p.metrics.Attested++
		} else {
			p.metrics.Faults++
			p.env.Mark(cover.ProverFault)
			p.env.Log().Error("block failed validation", "block", v.Number, "hash", v.Hash, "fault", v.Fault)
		}
	}
	if len(verdicts) > 0 {
		p.out.Sync(func() {
			// Durable: now they go out.
			for i, n := range stated {
				delete(p.syncing, n)
				p.env.Publish(chain.TopicAttestations, stmts[i])
			}
			if len(p.pending) > 0 && !p.armed {
				p.armed = true
				p.env.After(p.cfg.StepDelay, timerStep)
			}
		})
	}
	for n := p.low + 1; n <= low; n++ {
		delete(p.done, n)
	}
	p.low = low
	if len(p.pending) > 0 && !p.armed {
		p.armed = true
		p.env.After(p.cfg.StepDelay, timerStep)
	}
	p.catchUp()
}

// catchUp asks DA at once for the blocks a prover behind the head lacks,
// as soon as it has room for them, instead of at the next poll: a prover
// that fell behind catches up at the pace it validates, not one range a
// poll (blocks seal as fast as every mini-block). One fetch is in flight
// at a time (fetch).
func (p *Prover) catchUp() {
	from := p.low + 1
	for p.done[from] != nil || p.pending[from] != nil {
		from++
	}
	if from <= p.head {
		p.fetch()
	}
}

// statement signs the attestation or fault report for a verdict about
// bundle b; a report carries b as its evidence.
func (p *Prover) statement(v Verdict, b *chain.BlockBundle) ([]byte, error) {
	if v.Fault == "" {
		a := &chain.Attestation{ChainID: p.chainID, Number: v.Number, Hash: v.Hash, PreRoot: v.PreRoot, PostRoot: v.PostRoot}
		if err := a.Sign(p.cfg.Key); err != nil {
			return nil, err
		}
		return a.Encode(), nil
	}
	reason := v.Fault
	if len(reason) > chain.MaxReasonBytes {
		reason = reason[:chain.MaxReasonBytes]
	}
	f := &chain.FaultReport{ChainID: p.chainID, Number: v.Number, Hash: v.Hash, Reason: reason, Evidence: b.Encode()}
	if err := f.Sign(p.cfg.Key); err != nil {
		return nil, err
	}
	return f.Encode(), nil
}

// fetch asks DA for the oldest blocks that have no statement and are not
// pending.
func (p *Prover) fetch() {
	if p.cfg.DA == "" || p.fetchOn {
		return
	}
	space := p.cfg.MaxPending - len(p.pending)
	if space <= 0 {
		return
	}
	from := p.low + 1
	for p.done[from] != nil || p.pending[from] != nil {
		from++
	}
	if from > p.low+p.cfg.MaxAhead {
		return
	}
	p.fetchID++
	p.fetchOn = true
	p.metrics.Fetches++
	req := &chain.BlockRangeRequest{ID: p.fetchID, From: from, Count: uint64(min(space, chain.MaxBlockRange))}
	p.env.Send(p.cfg.DA, req.Encode())
	p.env.After(p.cfg.FetchTimeout, timerFetch+node.TimerID(p.fetchID))
}

// serve answers a fullnode's request for statements: durable ones only.
func (p *Prover) serve(req *chain.AttRequest) *chain.AttResponse {
	resp := &chain.AttResponse{ID: req.ID}
	if !p.ready {
		return resp
	}
	size := 0
	for n := req.From; n < req.From+req.Count && n <= p.head; n++ {
		if p.syncing[n] {
			p.env.Mark(cover.ProverStatementsInFlight)
			continue
		}
		raw := p.done[n]
		if raw == nil && n <= p.low {
			var err error
			if raw, err = p.readStmt(n); err != nil {
				continue
			}
		}
		switch chain.Kind(raw) {
		case chain.FormatAttestationV1:
			resp.Attestations = append(resp.Attestations, raw)
		case chain.FormatFaultReportV2:
			// A report carries its block's bundle: a response holds
			// reports up to maxServeBytes, and always the first.
			if size > 0 && size+len(raw) > maxServeBytes {
				return resp
			}
			resp.Faults = append(resp.Faults, raw)
		}
		size += len(raw)
	}
	return resp
}

// maxServeBytes bounds the statements of one answer to a fullnode: fault
// reports carry whole bundles. What is left out is asked for again.
const maxServeBytes = 8 << 20

// Statement returns the prover's signed statement about block n: an
// attestation or a fault report (the other is nil), or neither.
func (p *Prover) Statement(n uint64) (*chain.Attestation, *chain.FaultReport) {
	raw := p.done[n]
	if raw == nil && n <= p.low {
		raw, _ = p.readStmt(n)
	}
	switch chain.Kind(raw) {
	case chain.FormatAttestationV1:
		a, _ := chain.DecodeAttestation(raw)
		return a, nil
	case chain.FormatFaultReportV2:
		f, _ := chain.DecodeFaultReport(raw)
		return nil, f
	}
	return nil, nil
}

// readRetries is how many times a statement that fails its checks is read
// again before it is taken to be damaged on disk.
const readRetries = 5

// readStmt reads and checks the stored statement about block n.
func (p *Prover) readStmt(n uint64) ([]byte, error) {
	var last error
	for range readRetries {
		raw, err := p.env.Disk().Get(stmtKey(n))
		if errors.Is(err, node.ErrNotFound) {
			return nil, err
		}
		if err == nil {
			if chain.Kind(raw) == chain.FormatAttestationV1 {
				_, err = chain.DecodeAttestation(raw)
			} else {
				_, err = chain.DecodeFaultReport(raw)
			}
		}
		if err == nil {
			return raw, nil
		}
		last = err
	}
	return nil, last
}
