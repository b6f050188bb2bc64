package fullnode

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/cover"
	"github.com/meganode/meganode/node/exec"
	"github.com/meganode/meganode/node/ledger"
	"github.com/meganode/meganode/node/state"
)

// Config configures a fullnode.
type Config struct {
	Genesis *core.Genesis
	// Sequencers are the keys mini-blocks must be signed with one of: the
	// sequencer's, or each member's of a sequencer group.
	Sequencers chain.KeySet
	// Sources are asked, in turn, for missing mini-blocks: the sequencer
	// first, then other fullnodes.
	Sources []node.NodeID
	Ledger  ledger.Config

	// MaxBuffered bounds the mini-blocks held that arrived ahead of a gap;
	// beyond it new ones are dropped (range repair fetches them again).
	// Default 1024.
	MaxBuffered int
	// RepairTimeout is how long a range request may go unanswered before
	// the next source is asked. Default 100 ms.
	RepairTimeout time.Duration
	// RepairBatch is how many mini-blocks one range request asks for.
	// Default 64.
	RepairBatch uint64
	// PollEvery is how often an idle fullnode asks a source whether there
	// is anything newer, which catches up after gossip was lost. Default
	// 200 ms.
	PollEvery time.Duration
	// RetryRecovery is the wait before reopening the ledger after a disk
	// error. Default 50 ms.
	RetryRecovery time.Duration

	// OnMiniBlock, when set, is called with every mini-block once it is
	// applied and durable (the runtime feeds subscriptions and metrics from
	// it). It runs inside the node's step: it must not block.
	OnMiniBlock func(mb *chain.MiniBlock)
	// MaxInFlight bounds the mini-blocks synced in flight; at the bound,
	// received mini-blocks wait in the buffer. Default
	// node.DefaultMaxInFlight.
	MaxInFlight int

	// Provers are the keys whose attestations count towards finality, and
	// ProverNodes the nodes asked for them when gossip missed some.
	Provers     []common.Address
	ProverNodes []node.NodeID
	// Quorum is how many of Provers must attest a block to finalize it.
	// Default: a majority.
	Quorum int
	// MaxAttAhead bounds how far past the finalized block attestations are
	// kept. Default 1024.
	MaxAttAhead uint64
	// VerifyFault, when set, replaces the check of a fault report's
	// evidence (verifyFault: open the bundle under the sequencer's key,
	// validate it with prover.Validate): a hook for another verifier, such
	// as a validity proof's. Nil: the built-in check.
	VerifyFault func(r *chain.FaultReport) FaultCheck
}

func (c Config) withDefaults() (Config, error) {
	if c.Genesis == nil || c.Genesis.Config == nil {
		return c, errors.New("fullnode: a genesis with a chain config is required")
	}
	if len(c.Sources) == 0 {
		return c, errors.New("fullnode: at least one source (the sequencer) is required")
	}
	if c.MaxBuffered <= 0 {
		c.MaxBuffered = 1024
	}
	if c.RepairTimeout <= 0 {
		c.RepairTimeout = 100 * time.Millisecond
	}
	if c.RepairBatch == 0 || c.RepairBatch > chain.MaxRangeCount {
		c.RepairBatch = 64
	}
	if c.PollEvery <= 0 {
		c.PollEvery = 200 * time.Millisecond
	}
	if c.RetryRecovery <= 0 {
		c.RetryRecovery = 50 * time.Millisecond
	}
	if c.Quorum <= 0 {
		c.Quorum = len(c.Provers)/2 + 1
	}
	if c.Quorum > len(c.Provers) && len(c.Provers) > 0 {
		return c, fmt.Errorf("fullnode: quorum %d of %d provers", c.Quorum, len(c.Provers))
	}
	if c.MaxAttAhead == 0 {
		c.MaxAttAhead = 1024
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = node.DefaultMaxInFlight
	}
	return c, nil
}

// ErrConflict is the halt of a fullnode that received, signed by the
// sequencer, a mini-block conflicting with one it applied (equivocation).
var ErrConflict = errors.New("conflicting mini-blocks signed by the sequencer")

// Timers.
const (
	timerPoll    node.TimerID = 2
	timerRecover node.TimerID = 3
	// timerRepair + request id: that range request timed out.
	timerRepair node.TimerID = 1 << 32
)

const maxRangeBytes = 4 << 20

// Metrics are the fullnode's counters.
type Metrics struct {
	Applied        uint64 // mini-blocks applied
	Sealed         uint64 // sealed blocks checked
	RootMismatches uint64 // sealed blocks that disagreed with the applied state (the node halts)
	BadMiniBlocks  uint64 // mini-blocks refused: undecodable or wrongly signed
	Conflicts      uint64 // signed mini-blocks that conflict with the applied chain (the node halts)
	Repairs        uint64 // range requests sent
	Dropped        uint64 // mini-blocks dropped because the buffer was full
	// Fault reports: verified (finality stopped), refused (the prover is
	// marked), inconclusive (the evidence's witness lacks data), and
	// ignored unopened (from a marked prover).
	FaultsVerified, FaultsRefused, FaultsInconclusive, FaultsIgnored uint64
}

type buffered struct {
	mb  *chain.MiniBlock
	raw []byte
}

// Fullnode applies the sequencer's mini-blocks by diff, strictly in order,
// checks every sealed block's roots against its own state, repairs gaps by
// range requests, and serves the client API from what it applied. Each
// mini-block is committed as it is applied and synced without waiting
// (several in flight); clients and peers see it once its sync completed,
// when the ledger releases its view.
type Fullnode struct {
	atts    attestationStore // attestations.go; read off the step
	cfg     Config
	env     node.Env
	ex      *exec.Executor
	vex     *exec.Executor // the provers' executor: checks fault reports' evidence
	genesis *types.Block
	gstate  *state.Mem

	led      *ledger.Ledger
	served   atomic.Pointer[ledger.Ledger] // what Serve reads: led once it released a view
	halt     atomic.Pointer[error]         // halted, for Serve
	out      *node.Outbox
	released uint64 // the newest mini-block handed to OnMiniBlock
	down     error
	halted   error

	buffer map[uint64]buffered // ahead of the head, by number

	reqID    uint64
	inflight bool
	seen     uint64 // the newest mini-block heard of: a source's head, or one dropped beyond the buffer
	source   int    // index in cfg.Sources of the source asked next

	chainID uint64
	fin     *finality

	metrics Metrics
	// verify, when set, checks a decoded mini-block before it is applied;
	// tests use it to build deliberately wrong fullnodes.
	mutate func(*chain.MiniBlock)
}

// New returns a fullnode; Start recovers it from its disk.
func New(cfg Config) (*Fullnode, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ex, err := exec.New(exec.Config{Chain: cfg.Genesis.Config, Policy: exec.DefaultPolicy()})
	if err != nil {
		return nil, err
	}
	vex, err := exec.New(exec.Config{Chain: cfg.Genesis.Config})
	if err != nil {
		return nil, err
	}
	gb, gs, err := exec.Genesis(cfg.Genesis)
	if err != nil {
		return nil, err
	}
	return &Fullnode{cfg: cfg, ex: ex, vex: vex, genesis: gb, gstate: gs, chainID: cfg.Genesis.Config.ChainID.Uint64()}, nil
}

// Ledger is the fullnode's applied chain; nil while it recovers from a
// disk error.
func (f *Fullnode) Ledger() *ledger.Ledger {
	if f.down != nil {
		return nil
	}
	return f.led
}

// Metrics returns the counters.
func (f *Fullnode) Metrics() Metrics { return f.metrics }

// Halted is the seal mismatch that stopped the node, or nil.
func (f *Fullnode) Halted() error { return f.halted }

// Start implements node.Node.
func (f *Fullnode) Start(env node.Env) error {
	f.env = env
	f.out = node.NewOutbox(env, f.cfg.MaxInFlight)
	if err := f.open(); err != nil {
		return err
	}
	env.Subscribe(chain.TopicMiniBlocks)
	env.Subscribe(chain.TopicAttestations)
	env.After(f.cfg.PollEvery, timerPoll)
	return nil
}

func (f *Fullnode) open() error {
	led, err := ledger.Open(f.env.Disk(), f.cfg.Genesis.Config, f.genesis, f.gstate, f.cfg.Ledger)
	if err != nil {
		return fmt.Errorf("fullnode: %w", err)
	}
	reopen := f.led != nil
	f.led, f.down = led, nil
	if led.TornTail() {
		f.env.Mark(cover.LedgerTornTail)
	}
	f.buffer = map[uint64]buffered{}
	f.inflight = false
	f.initFinality()
	f.tellFinality()
	head, _ := led.Head()
	if !reopen {
		f.released = head.Number
	}
	// The barrier: what the ledger recovered is served once durable.
	if !f.out.Full() {
		n := head.Number
		f.out.Sync(func() { f.release(n) })
	}
	f.env.Log().Info("fullnode started", "head", head.Number, "safe", led.Safe().Header.Number, "reopen", reopen)
	return nil
}

// release runs once the sync covering mini-block n completed: the ledger
// releases n's view to clients and peers, and the runtime hears of the
// mini-blocks now durable.
func (f *Fullnode) release(n uint64) {
	if f.down != nil {
		return // the reopened ledger's barrier releases it
	}
	if f.led.View() == nil {
		f.env.Mark(cover.ReleaseAfterReopen)
	}
	v := f.led.Release(min(n, f.led.Tip().Number()))
	if v == nil {
		return
	}
	f.served.Store(f.led)
	for m := f.released + 1; m <= v.Number(); m++ {
		if f.cfg.OnMiniBlock != nil {
			if mb, _, err := v.MiniBlock(m); err == nil {
				f.cfg.OnMiniBlock(mb)
			}
		}
		f.released = m
	}
	f.released = max(f.released, v.Number())
	f.drain() // a full outbox may have held the buffer
	if f.behind() && !f.inflight {
		f.repair() // what was dropped while the outbox was full
	}
}

// behind reports whether the fullnode knows of mini-blocks past its head
// that it neither holds nor buffers.
func (f *Fullnode) behind() bool {
	if f.down != nil || f.halted != nil {
		return false
	}
	head, _ := f.led.Head()
	return f.seen > head.Number+uint64(len(f.buffer))
}

func (f *Fullnode) fail(err error) {
	f.env.Mark(cover.FullDiskError)
	f.env.Log().Error("fullnode disk error: reopening the ledger", "err", err)
	f.down = err
	f.env.After(f.cfg.RetryRecovery, timerRecover)
}

// OnTimer implements node.Node.
func (f *Fullnode) OnTimer(id node.TimerID) {
	switch id {
	case timerRecover:
		if f.down != nil {
			if err := f.open(); err != nil {
				f.fail(err)
			}
		}
	case timerRepair + node.TimerID(f.reqID):
		if f.inflight {
			f.inflight = false
			f.source = (f.source + 1) % len(f.cfg.Sources)
			f.env.Mark(cover.FullSourceRotated)
			f.repair()
		}
	case timerPoll:
		if !f.inflight {
			f.repair()
		}
		if f.down == nil && f.halted == nil {
			f.askProvers()
		}
		f.env.After(f.cfg.PollEvery, timerPoll)
	}
}

// repair asks the next source for the mini-blocks after the head.
func (f *Fullnode) repair() {
	if f.down != nil || f.halted != nil || f.inflight {
		return
	}
	head, _ := f.led.Head()
	if len(f.buffer) > 0 {
		f.env.Mark(cover.FullGapRepair)
	}
	f.reqID++
	f.inflight = true
	f.metrics.Repairs++
	req := &chain.RangeRequest{ID: f.reqID, From: head.Number + 1, Count: f.cfg.RepairBatch}
	f.env.Send(f.cfg.Sources[f.source], req.Encode())
	f.env.After(f.cfg.RepairTimeout, timerRepair+node.TimerID(f.reqID))
}

// OnMessage implements node.Node: gossiped mini-blocks, range responses,
// and range requests from other fullnodes.
func (f *Fullnode) OnMessage(from node.NodeID, msg []byte) {
	if f.down != nil {
		return
	}
	switch chain.Kind(msg) {
	case chain.FormatAttestationV1:
		if f.halted == nil {
			f.onAttestation(from, msg)
		}
	case chain.FormatFaultReportV2, chain.FormatFaultReportV1: // v1 is refused with its reason
		if f.halted == nil {
			f.onFault(from, msg)
		}
	case chain.FormatAttResponseV1:
		if f.halted == nil {
			f.onAttResponse(from, msg)
		}
	case chain.FormatMiniBlockV1:
		f.receive(from, msg)
		f.drain()
		if (len(f.buffer) > 0 || f.behind()) && !f.inflight {
			f.repair() // a gap: something before the buffered ones is missing
		}
	case chain.FormatRangeResponseV1:
		resp, err := chain.DecodeRangeResponse(msg)
		if err != nil {
			f.metrics.BadMiniBlocks++
			f.env.Log().Warn("bad range response", "from", from, "err", err)
			return
		}
		if resp.ID != f.reqID || !f.inflight {
			return // late: an earlier request's answer
		}
		f.inflight = false
		before, _ := f.led.Head()
		for _, raw := range resp.MiniBlocks {
			f.receive(from, raw)
		}
		f.drain()
		after, _ := f.led.Head()
		if after.Number == before.Number || (uint64(len(resp.MiniBlocks)) < f.cfg.RepairBatch && resp.Head > after.Number) {
			// The source had nothing we can use, or less than it holds and
			// we asked for (it answers in small pieces): ask the next one
			// next time, so that the slowest source does not set the pace.
			f.source = (f.source + 1) % len(f.cfg.Sources)
			f.env.Mark(cover.FullSourceRotated)
		}
		f.seen = max(f.seen, resp.Head)
		if head, _ := f.led.Head(); resp.Head > head.Number && len(resp.MiniBlocks) > 0 {
			f.repair()
		}
	case chain.FormatRangeRequestV1:
		req, err := chain.DecodeRangeRequest(msg)
		if err != nil {
			f.env.Log().Warn("bad range request", "from", from, "err", err)
			return
		}
		if v := f.led.View(); f.halted == nil && v != nil {
			f.env.Send(from, v.ServeRange(req, maxRangeBytes).Encode())
		}
	}
}

// receive checks one encoded mini-block and buffers it if it is ahead of
// the head.
func (f *Fullnode) receive(from node.NodeID, raw []byte) {
	mb, err := chain.DecodeMiniBlock(raw)
	if err != nil {
		f.metrics.BadMiniBlocks++
		f.env.Log().Warn("refused a mini-block", "from", from, "err", err)
		return
	}
	head, hash := f.led.Head()
	n := mb.Header.Number
	switch {
	case n == head.Number && mb.Hash() != hash && mb.VerifyKeys(f.cfg.Sequencers) == nil:
		f.metrics.Conflicts++
		f.env.Mark(cover.FullConflict)
		f.halted = fmt.Errorf("%w: mini-block %d is %v here and %v from %s", ErrConflict, n, hash, mb.Hash(), from)
		f.halt.Store(&f.halted)
		f.env.Log().Error("HALT: the sequencer signed a mini-block that conflicts with the applied chain", "err", f.halted)
		return
	case n <= head.Number:
		return // applied already
	case mb.Header.Term < head.Term:
		// Fencing: a sequencer group's terms never go back along the
		// chain; this is a deposed leader's, whatever its signature.
		f.refuseStale(from, mb, head.Term)
		return
	case n > head.Number+uint64(f.cfg.MaxBuffered):
		f.metrics.Dropped++
		f.env.Mark(cover.FullBufferFull)
		if n > f.seen && mb.VerifyKeys(f.cfg.Sequencers) == nil {
			f.seen = n // what repair must reach
		}
		return
	}
	if _, ok := f.buffer[n]; ok {
		return
	}
	// The signature is checked last: it is the expensive check.
	if err := mb.VerifyKeys(f.cfg.Sequencers); err != nil {
		f.metrics.BadMiniBlocks++
		f.env.Log().Warn("refused a mini-block", "from", from, "err", err)
		return
	}
	f.buffer[n] = buffered{mb: mb, raw: raw}
}

// drain applies buffered mini-blocks that extend the head, as long as the
// bound on syncs in flight allows.
func (f *Fullnode) drain() {
	for f.halted == nil && f.down == nil {
		if f.out.Full() {
			if len(f.buffer) > 0 {
				f.env.Mark(cover.FullSyncBackpressure)
			}
			return
		}
		head, _ := f.led.Head()
		b, ok := f.buffer[head.Number+1]
		if !ok {
			return
		}
		delete(f.buffer, head.Number+1)
		if b.mb.Header.Term < head.Term {
			f.refuseStale("", b.mb, head.Term) // buffered before the head's term was known
			continue
		}
		f.apply(b.mb, b.raw)
	}
}

// refuseStale refuses a mini-block from a term older than the head's.
func (f *Fullnode) refuseStale(from node.NodeID, mb *chain.MiniBlock, term uint64) {
	f.metrics.BadMiniBlocks++
	f.env.Mark(cover.FullStaleTerm)
	f.env.Log().Warn("refused a mini-block from an older sequencer term", "from", from, "mini-block", mb.Header.Number, "term", mb.Header.Term, "head term", term)
}

func (f *Fullnode) apply(mb *chain.MiniBlock, raw []byte) {
	if f.mutate != nil {
		f.mutate(mb)
	}
	err := f.led.Append(mb, raw)
	switch {
	case err == nil:
		f.metrics.Applied++
		n := mb.Header.Number
		f.out.Sync(func() { f.release(n) })
		if mb.Sealed != nil {
			f.metrics.Sealed++
			f.advance()
		}
	case errors.Is(err, ledger.ErrSealMismatch):
		f.halt.Store(&err)
		f.halted = err
		f.metrics.RootMismatches++
		f.env.Mark(cover.FullRootMismatch)
		f.env.Log().Error("HALT: sealed block disagrees with the applied state", "err", err)
	case errors.Is(err, ledger.ErrNotNext):
		// Signed by the sequencer, numbered next, and yet it does not
		// chain on our head: the sequencer has signed two histories. Going
		// on would mean choosing one; a fullnode stops and says so.
		f.metrics.Conflicts++
		f.env.Mark(cover.FullConflict)
		f.halted = fmt.Errorf("%w: %v", ErrConflict, err)
		f.halt.Store(&f.halted)
		f.env.Log().Error("HALT: the sequencer signed a mini-block that conflicts with the applied chain", "err", err)
	default:
		f.fail(err)
	}
}

// OnSynced implements node.Node.
func (f *Fullnode) OnSynced(id node.SyncID) { f.out.Synced(id) }

// Serve implements node.ReadServer: every call, from the released view,
// off the step; sends are refused (the sequencer takes them).
func (f *Fullnode) Serve(ctx context.Context, req node.Request) bool {
	c, err := api.CallOf(req)
	if err != nil {
		api.Reply(req, api.Failed(err), nil)
		return true
	}
	if h := f.halt.Load(); h != nil {
		api.Reply(req, api.Failed(api.Errorf(api.KindHalted, "fullnode halted: %v", *h)), nil)
		return true
	}
	if c.Method == api.MethodSendTx || c.Method == api.MethodSendTxSync {
		api.Reply(req, api.Failed(api.Errorf(api.KindUnknownMethod, "method %v is served by the sequencer only", c.Method)), nil)
		return true
	}
	if c.Method == api.MethodAttestations {
		api.Reply(req, f.serveAttestations(c.Number), nil)
		return true
	}
	l := f.served.Load()
	if l == nil {
		api.Reply(req, api.Failed(api.Errorf(api.KindUnavailable, "fullnode starting: %v", ledger.ErrStarting)), nil)
		return true
	}
	api.Reply(req, l.View().Serve(ctx, f.ex, c), nil)
	return true
}

// OnRequest implements node.Node: a runtime that does not serve reads off
// the step hands them here.
func (f *Fullnode) OnRequest(req node.Request) { f.Serve(context.Background(), req) }
