package sequencer

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/cover"
	"github.com/meganode/meganode/node/exec"
	"github.com/meganode/meganode/node/ledger"
	"github.com/meganode/meganode/node/mempool"
	"github.com/meganode/meganode/node/state"
)

// Timers.
const (
	timerTick    node.TimerID = 1 // the scheduled end of the mini-block
	timerRecover node.TimerID = 2 // reopen the ledger after a disk error
	timerExpire  node.TimerID = 3 // time out sync sends, expire the pool
	timerClose   node.TimerID = 4 // close the mini-block early: idle with executed transactions
	timerSeal    node.TimerID = 5 // seal the open block: it holds transactions, BlockGap after the last seal
)

// expireEvery is how often waiters and the pool are checked for expiry.
const expireEvery = 100 * time.Millisecond

// maxRangeBytes bounds a range response.
const maxRangeBytes = 4 << 20

// waiter is a synchronous send waiting for its receipt.
type waiter struct {
	req      node.Request
	deadline time.Time
	// hashOnly: a plain send of a transaction that executed at once, whose
	// hash is answered once its receipt is durable (or at the deadline), so
	// that a client polling for the receipt right after finds it.
	hashOnly bool
}

// Sequencer orders and executes transactions the moment they arrive and
// turns them into signed mini-blocks, sealing an EVM block every K
// intervals. Closing a mini-block is a pipeline of four stages:
//
//   - execute: transactions run as they arrive (pump), against the open
//     block;
//   - seal: at the close, the executor's diff, the mini-block's header and,
//     at the end of a block, the sealed header and the witness, signed;
//   - persist: the ledger applies and stores the mini-block in one batch
//     and the Outbox asks for the sync;
//   - announce: once the sync completes, and never before, the ledger
//     releases the mini-block's view and the mini-block is published and
//     its receipts answered (from that view), with the block's bundle to
//     the provers and DA when it seals one.
//
// The sequencer does not wait for the sync: it executes the next
// mini-block meanwhile (group commit), with up to Config.MaxInFlight syncs
// in flight. Mini-blocks close at the latest on a fixed schedule, every
// interval, and earlier, after at least Config.MinGap, when the sequencer
// is idle with executed transactions waiting.
type Sequencer struct {
	cfg     Config
	env     node.Env
	ex      *exec.Executor
	genesis *types.Block
	gstate  *state.Mem
	signer  common.Address

	led    *ledger.Ledger
	served atomic.Pointer[ledger.Ledger] // what Serve reads: led once it has released a view
	// poolShown is the pool's content as of the last mini-block close
	// (txpool_content reads it off the step), and poolVersion the pool's
	// version then.
	poolShown   atomic.Pointer[poolContent]
	poolVersion uint64
	pool        *mempool.Pool
	out         *node.Outbox
	down        error // set while the ledger must be reopened

	// The open EVM block and the mini-block being filled.
	blk        *exec.Block
	header     *types.Header
	openMicros uint64 // time of the open block's first mini-block
	ticks      int    // scheduled ticks of the open block so far
	pending    []*types.Transaction
	receipts   []*types.Receipt
	executed   map[common.Hash]int // pending transactions by hash
	miniGas    uint64              // the gas limits of the transactions the mini-block being filled executed
	access     *blockAccess        // what the open block read, for its witness

	// The schedule: the next tick's due time, the last close, and whether
	// an early close is armed.
	due        time.Time
	lastClose  time.Time
	closeArmed bool
	// The last seal, how long after it the next may come (BlockGap, or
	// more after a costly seal: Config.MaxSealShare), and whether a seal
	// of the open block is armed.
	lastSeal  time.Time
	sealGap   time.Duration
	sealArmed bool

	announced uint64 // the newest mini-block published and answered
	unhashed  int    // transactions since the state root was last hashed

	pub publisher

	admitHeader atomic.Pointer[types.Header] // what Admit checks against

	// grp is the member's state in a sequencer group; nil for a lone
	// sequencer.
	grp *group

	waiters  map[common.Hash][]waiter
	nwaiters int
	order    []common.Hash // waiters' transactions in arrival order, for expiry
}

// New returns a sequencer; Start recovers it from its disk.
func New(cfg Config) (*Sequencer, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ex, err := exec.New(exec.Config{Chain: cfg.Genesis.Config, Policy: cfg.Policy})
	if err != nil {
		return nil, err
	}
	gb, gs, err := exec.Genesis(cfg.Genesis)
	if err != nil {
		return nil, err
	}
	signer := crypto.PubkeyToAddress(cfg.Key.PublicKey)
	if cfg.Group != nil {
		if cfg.Group, err = cfg.Group.withDefaults(signer); err != nil {
			return nil, err
		}
	}
	return &Sequencer{cfg: cfg, ex: ex, genesis: gb, gstate: gs, signer: signer}, nil
}

// Ledger is the sequencer's applied chain (for tests and the simulator's
// checkers); nil while it recovers from a disk error.
func (s *Sequencer) Ledger() *ledger.Ledger {
	if s.down != nil {
		return nil
	}
	return s.led
}

// Config is the sequencer's configuration, defaults filled in.
func (s *Sequencer) Config() Config { return s.cfg }

// Pool is the sequencer's mempool.
func (s *Sequencer) Pool() *mempool.Pool { return s.pool }

// Executor is the sequencer's executor (its chain rules and policy):
// admission runs with it before the step.
func (s *Sequencer) Executor() *exec.Executor { return s.ex }

// Start implements node.Node: reopen the ledger (snapshot plus WAL, by
// diff), resume the open block, and start the mini-block clock. Nothing
// recovered is let out before a first sync makes it durable: a process
// that was killed leaves its unsynced writes readable.
func (s *Sequencer) Start(env node.Env) error {
	s.env = env
	s.out = node.NewOutbox(env, s.cfg.MaxInFlight)
	s.waiters = map[common.Hash][]waiter{}
	if err := s.recover(); err != nil {
		return err
	}
	s.due = env.Now().Add(s.cfg.MiniBlockInterval)
	env.After(s.cfg.MiniBlockInterval, timerTick)
	env.After(expireEvery, timerExpire)
	if s.cfg.Group != nil {
		env.After(s.cfg.Group.Tick, timerRaft)
		return s.startGroup()
	}
	return nil
}

// recover rebuilds everything in memory from the disk. Pending sends whose
// transaction is not in the reopened ledger are answered: unacknowledged
// transactions may be lost, clients retry. Those whose transaction is (it
// was committed, its sync may still be in flight) keep waiting: the sync's
// completion, or the barrier sync asked for here, answers them.
func (s *Sequencer) recover() error {
	led, err := ledger.Open(s.env.Disk(), s.cfg.Genesis.Config, s.genesis, s.gstate, s.cfg.Ledger)
	if err != nil {
		return fmt.Errorf("sequencer: %w", err)
	}
	reopen := s.led != nil
	s.led, s.down = led, nil
	s.pool = mempool.New(s.cfg.Pool)
	s.blk, s.header, s.pending, s.receipts, s.access, s.ticks, s.miniGas = nil, nil, nil, nil, nil, 0, 0
	s.observe(PoolEvent{Kind: PoolReset})
	s.pub = publisher{id: s.pub.id}
	s.executed = map[common.Hash]int{}
	head, _ := led.Head()
	if !reopen {
		// A new process: what was let out before is not ours to know; what
		// it recovered goes out by range requests, not again by gossip.
		s.announced = head.Number
	}
	kept := 0
	for _, h := range s.order { // in arrival order: each answer is a network send
		if _, err := led.Tip().Executed(h); err == nil {
			kept += len(s.waiters[h])
			continue
		}
		for _, w := range s.waiters[h] {
			w.req.Respond(api.Failed(api.Errorf(api.KindUnavailable, "sequencer restarting")).Encode())
		}
		s.nwaiters -= len(s.waiters[h])
		delete(s.waiters, h)
	}
	if kept > 0 {
		s.env.Mark(cover.SeqKeptWaiters)
	}
	s.compactOrder()
	if led.TornTail() {
		s.env.Mark(cover.LedgerTornTail)
	}
	if s.cfg.Group != nil && s.grp != nil {
		// A group member reopening its ledger reopens its raft log too:
		// the log hands out again what the reopened ledger lacks. It
		// leads again, if it does, once it applied everything.
		for _, d := range s.grp.deferred {
			api.Reply(d.req, api.Failed(api.Errorf(api.KindUnavailable, "sequencer reopening its ledger after a disk error; send again")), nil)
		}
		s.grp.leading, s.grp.ready, s.grp.proposed, s.grp.deferred = false, false, nil, nil
		if err := s.startGroup(); err != nil {
			return err
		}
	}
	if open := led.OpenBlock(); len(open) > 0 && s.cfg.Group == nil {
		s.env.Mark(cover.SeqRecoveredOpenBlock)
		if err := s.resume(open); err != nil {
			return fmt.Errorf("sequencer: resume block: %w", err)
		}
	}
	// The barrier: what the ledger recovered is released once durable.
	if s.out.Full() {
		// Only a reopen can find the outbox full; the syncs in flight
		// complete, and the next close asks again.
		s.env.Log().Warn("sequencer reopened with its sync limit reached")
	} else {
		n := head.Number
		s.out.Sync(func() { s.announce(n) })
	}
	s.env.Log().Info("sequencer started", "head", head.Number, "block", head.BlockNumber, "safe", led.Safe().Header.Number, "reopen", reopen)
	return nil
}

// fail handles a disk error: the in-memory state may be ahead of the disk,
// so the sequencer drops it and reopens the ledger, as after a crash. Its
// Outbox stays: syncs in flight still complete.
func (s *Sequencer) fail(err error) {
	s.env.Mark(cover.SeqDiskError)
	s.env.Log().Error("sequencer disk error: reopening the ledger", "err", err)
	s.down = err
	s.blk = nil
	s.env.After(s.cfg.RetryRecovery, timerRecover)
}

// nextHeader derives the header of the block after parent, opened at
// firstMicros (the time of its first mini-block).
func (s *Sequencer) nextHeader(parent *types.Header, firstMicros uint64) *types.Header {
	return ledger.NextHeader(s.cfg.Genesis.Config, parent, firstMicros, s.cfg.Coinbase)
}

// recording is the state the open block executes on: the ledger's, with
// every read recorded for the block's witness.
func (s *Sequencer) recording() state.Reader {
	return state.Recorder{Reader: s.led.State(), Access: s.access.state}
}

// openBlock starts the next EVM block.
func (s *Sequencer) openBlock() {
	head, _ := s.led.Head()
	now := uint64(s.env.Now().UnixMicro())
	s.openMicros = max(head.TimeMicros+1, now)
	s.header = s.nextHeader(s.led.Safe().Header, s.openMicros)
	s.access = newBlockAccess(s.header.Number.Uint64(), s.led.State())
	s.blk = s.ex.NewBlock(s.recording(), s.header, s.getHash)
	s.blk.Begin()
	s.ticks = 0
	s.admitHeader.Store(s.header)
}

// resume continues the open block after recovery.
func (s *Sequencer) resume(open []*chain.MiniBlock) error {
	s.openMicros = open[0].Header.TimeMicros
	s.header = s.nextHeader(s.led.Safe().Header, s.openMicros)
	var gas uint64
	txs, logs := 0, 0
	for _, mb := range open {
		gas += mb.Header.GasUsed
		txs += len(mb.Txs)
		for _, r := range mb.Receipts {
			logs += len(r.Logs)
		}
	}
	s.access = newBlockAccess(s.header.Number.Uint64(), s.led.State())
	if err := s.reread(open); err != nil {
		return err
	}
	blk, err := s.ex.ResumeBlock(s.recording(), s.header, s.getHash, gas, 0, txs, logs)
	if err != nil {
		return err
	}
	s.blk = blk
	// The ticks the block lasted so far, by its clock (the tick that
	// opened it counts): it seals on time.
	s.ticks = 1
	if now := uint64(s.env.Now().UnixMicro()); now > s.openMicros {
		s.ticks += int(time.Duration(now-s.openMicros) * time.Microsecond / s.cfg.MiniBlockInterval)
	}
	s.admitHeader.Store(s.header)
	return nil
}

// OnTimer implements node.Node.
func (s *Sequencer) OnTimer(id node.TimerID) {
	switch id {
	case timerTick:
		s.tick()
	case timerClose:
		s.closeArmed = false
		if s.down == nil && len(s.pending) > 0 {
			s.env.Mark(cover.SeqEarlyClose)
			s.close(s.sealDue())
		}
	case timerSeal:
		s.sealArmed = false
		if s.down == nil && s.sealDue() {
			s.env.Mark(cover.SeqEarlySeal)
			s.close(true)
		}
	case timerRecover:
		if s.down != nil {
			if err := s.recover(); err != nil {
				s.fail(err)
			}
		}
	case timerExpire:
		s.expire()
		s.env.After(expireEvery, timerExpire)
	case timerLead:
		s.leadClose()
	case timerRaft:
		if s.grp != nil {
			s.onGroupTimer()
		} else {
			s.env.After(s.cfg.Group.Tick, timerRaft) // the log opens at the next tick
		}
	default:
		if id >= timerDA {
			s.onDATimer(id)
		}
	}
}

// tick is the scheduled end of a mini-block. The schedule does not drift:
// the next tick is due an interval after this one was due, not after this
// one's work; a tick that comes more than an interval late skips the slots
// it missed (and counts them towards the block's length, so that blocks
// seal on time).
func (s *Sequencer) tick() {
	now, iv := s.env.Now(), s.cfg.MiniBlockInterval
	slots := 1
	if late := now.Sub(s.due); late >= iv {
		s.env.Mark(cover.SeqLateTick)
		slots += int(late / iv)
	}
	s.due = s.due.Add(time.Duration(slots) * iv)
	if !s.due.After(now) || s.due.Sub(now) > iv {
		s.due = now.Add(iv) // the clock jumped: start the schedule again
	}
	s.env.After(s.due.Sub(now), timerTick)
	if s.down != nil || (s.grp != nil && !s.grp.ready) {
		return
	}
	if s.blk == nil {
		s.openBlock()
	}
	s.ticks += slots
	s.close(s.ticks >= s.cfg.MiniBlocksPerBlock || s.sealDue())
}

// sealDue says whether the open block should seal at this close ahead of
// its K-th tick: it holds a transaction, whose receipt waits for the seal,
// and the last seal is at least BlockGap old.
func (s *Sequencer) sealDue() bool {
	return s.cfg.BlockGap >= 0 && s.blk != nil && s.blk.TxCount() > 0 && !s.env.Now().Before(s.lastSeal.Add(s.sealGap))
}

// armSeal arms the seal of an open block that holds transactions, due
// BlockGap after the last seal.
func (s *Sequencer) armSeal() {
	if s.cfg.BlockGap < 0 || s.sealArmed || s.blk == nil || s.blk.TxCount() == 0 {
		return
	}
	s.sealArmed = true
	s.env.After(max(0, s.lastSeal.Add(s.sealGap).Sub(s.env.Now())), timerSeal)
}

// close ends the mini-block being filled: seal, persist, and ask for the
// sync, whose completion announces it. At the bound on syncs in flight the
// mini-block stays open (the executed transactions wait, the next tick
// tries again).
func (s *Sequencer) close(last bool) {
	if s.out.Full() {
		s.env.Mark(cover.SeqSyncBackpressure)
		return
	}
	if s.groupBusy() {
		if s.grp.ready {
			s.env.Mark(cover.SeqGroupBackpressure)
		}
		return
	}
	if s.blk == nil {
		s.openBlock()
	}
	s.pump()
	if err := s.pool.Check(); err != nil {
		node.Broken("sequencer: mempool: %v", err)
	}
	start := s.env.Now()
	mb, raw, witness, err := s.seal(last)
	if err != nil {
		s.fail(err)
		return
	}
	if s.grp != nil {
		if err := s.propose(mb, raw, witness, last, start); err != nil {
			// The executor flushed what the mini-block holds: without it
			// in the log, the block starts again from the ledger.
			s.env.Log().Warn("sequencer: cannot propose a mini-block", "mini-block", mb.Header.Number, "err", err)
			s.dropWork(api.Errorf(api.KindUnavailable, "the sequencer group could not take the mini-block (%v); send again", err))
			s.grp.ready = false
			s.drainGroup()
		}
		return // closed runs once the group committed it
	}
	if err := s.persist(mb, raw, witness); err != nil {
		s.fail(err)
		return
	}
	s.closed(mb, last, start)
}

// closed finishes a close once the mini-block is in the ledger: the next
// mini-block starts, or, after a seal, the next block.
func (s *Sequencer) closed(mb *chain.MiniBlock, last bool, start time.Time) {
	s.lastClose = s.env.Now()
	s.showPool()
	s.pending, s.receipts, s.miniGas = nil, nil, 0
	clear(s.executed)
	if last {
		s.blk, s.access = nil, nil
		s.unhashed = 0
		s.lastSeal = s.lastClose
		cost := s.lastClose.Sub(start)
		s.sealGap = max(s.cfg.BlockGap, time.Duration(float64(cost)*(1-s.cfg.MaxSealShare)/s.cfg.MaxSealShare))
		return
	}
	// Hash the state root as the block goes, not all at its seal: the
	// seal's step stays short however much the block holds.
	if s.unhashed += len(mb.Txs); s.unhashed >= rootEvery {
		s.led.State().Root()
		s.unhashed = 0
	}
	s.access.readAhead(s.led.State())
	// What the mini-block's gas bound held back runs now, in the next.
	s.pump()
	s.armSeal()
}

// rootEvery is how many transactions a block executes between two
// intermediate state roots.
const rootEvery = 256

// seal builds the signed mini-block of what the open block executed since
// the last close; the last one of a block also carries the sealed header
// and the block's witness (whose post-state root the header takes, and
// which the ledger's root check confirms when it applies the diff).
func (s *Sequencer) seal(last bool) (*chain.MiniBlock, []byte, []byte, error) {
	head, headHash := s.led.Head()
	index := uint64(0)
	if head.BlockNumber == s.header.Number.Uint64() {
		index = head.Index + 1
	}
	var requests [][]byte
	if last {
		var err error
		if requests, err = s.blk.End(); err != nil {
			return nil, nil, nil, err
		}
	}
	txOffset := uint64(s.blk.TxCount() - len(s.pending))
	logOffset := uint64(s.blk.LogCount())
	var gasUsed uint64
	for _, r := range s.receipts {
		logOffset -= uint64(len(r.Logs))
		gasUsed += r.GasUsed
	}
	micros := max(head.TimeMicros+1, uint64(s.env.Now().UnixMicro()))
	if index == 0 {
		micros = s.openMicros
	}
	var term uint64
	if s.grp != nil {
		term = s.grp.term
	}
	mb := &chain.MiniBlock{
		Header: chain.MiniBlockHeader{
			Number: head.Number + 1, BlockNumber: s.header.Number.Uint64(), Index: index, TimeMicros: micros,
			ParentHash: headHash, GasUsed: gasUsed, TxOffset: txOffset, LogOffset: logOffset, Term: term,
		},
		Txs: s.pending, Receipts: s.receipts, Diff: s.blk.Flush(),
	}
	if s.cfg.AlterDiff != nil {
		mb.Diff = s.cfg.AlterDiff(&mb.Header, mb.Diff)
	}
	var witness []byte
	if last {
		var post common.Hash
		var err error
		if witness, post, err = s.witness(mb); err != nil {
			return nil, nil, nil, fmt.Errorf("witness of block %d: %w", s.header.Number, err)
		}
		mb.Sealed = s.sealedHeader(mb, requests, post)
	}
	if err := mb.Seal(s.cfg.Key); err != nil {
		return nil, nil, nil, err
	}
	raw, err := mb.Encode()
	if err != nil {
		return nil, nil, nil, err
	}
	return mb, raw, witness, nil
}

// sealedHeader builds the header of the block the mini-block mb ends, with
// root as its state root.
func (s *Sequencer) sealedHeader(mb *chain.MiniBlock, requests [][]byte, root common.Hash) *types.Header {
	h := types.CopyHeader(s.header)
	body := s.led.Body(mb) // the ledger's seal check takes these as computed
	h.Root = root
	h.TxHash, h.ReceiptHash, h.Bloom = body.TxHash, body.ReceiptHash, body.Bloom
	h.GasUsed = s.blk.GasUsed()
	if h.GasUsed != body.GasUsed {
		node.Broken("sequencer: block %d used %d gas, its mini-blocks say %d", h.Number, h.GasUsed, body.GasUsed)
	}
	if requests != nil {
		rh := types.CalcRequestsHash(requests)
		h.RequestsHash = &rh
	}
	return h
}

// persist writes the mini-block to the ledger, which applies its diff to
// the state (the only time it is applied) and commits it in one batch,
// and asks for the sync that announces it.
func (s *Sequencer) persist(mb *chain.MiniBlock, raw, witness []byte) error {
	var err error
	if mb.Sealed != nil {
		err = s.led.AppendSealed(mb, raw, witness)
	} else {
		err = s.led.Append(mb, raw)
	}
	if errors.Is(err, ledger.ErrSealMismatch) || errors.Is(err, ledger.ErrNotNext) {
		// The sequencer's own mini-block does not fit its own ledger.
		node.Broken("sequencer: its mini-block %d does not fit its ledger: %v", mb.Header.Number, err)
	}
	if err != nil {
		return err
	}
	if head, _ := s.led.Head(); head.Number != mb.Header.Number {
		node.Broken("sequencer: ledger head %d after appending mini-block %d", head.Number, mb.Header.Number)
	}
	if s.out.InFlight() > 0 {
		s.env.Mark(cover.SeqPipelined)
	}
	n := mb.Header.Number
	s.out.Sync(func() { s.announce(n) })
	return nil
}

// announce runs once the sync covering mini-block n completed: the ledger
// releases n's view, and every mini-block it holds that was not announced
// yet is published, answered and, when it seals a block, sent to the
// provers and DA, all from the released view.
func (s *Sequencer) announce(n uint64) {
	if s.down != nil {
		return // the reopened ledger's barrier announces it
	}
	if s.led.View() == nil {
		s.env.Mark(cover.ReleaseAfterReopen)
	}
	v := s.led.Release(min(n, s.led.Tip().Number()))
	if v == nil {
		return // a sync of the previous ledger: the barrier's announces
	}
	s.served.Store(s.led)
	head, _ := v.Head()
	// A group member that does not lead answers its waiters and feeds its
	// own subscribers; only the leader gossips.
	gossip := s.grp == nil || s.grp.leading
	for m := s.announced + 1; m <= head.Number; m++ {
		mb, raw, err := v.MiniBlock(m)
		if err != nil {
			s.env.Log().Error("cannot read a released mini-block to announce it", "mini-block", m, "err", err)
			break
		}
		if gossip {
			s.env.Publish(chain.TopicMiniBlocks, raw)
		}
		if s.cfg.OnMiniBlock != nil {
			s.cfg.OnMiniBlock(mb)
		}
		if mb.Sealed != nil {
			s.answerBlock(v, mb.Sealed.Number.Uint64())
			if gossip {
				s.gossipBlock(v, mb.Sealed.Number.Uint64())
			}
		}
		s.announced = m
	}
	s.publish()
}

// answerBlock answers the waiters of sealed block n's transactions from
// the released view v: a receipt goes out only once its block is sealed
// and durable, so that it names the block, which a client can then fetch.
func (s *Sequencer) answerBlock(v *ledger.View, n uint64) {
	if s.nwaiters == 0 {
		return
	}
	sb, err := v.SealedBlock(n)
	if err != nil {
		s.env.Log().Error("cannot read a released block to answer its receipts", "block", n, "err", err)
		return
	}
	for m := sb.First; m <= sb.Last; m++ {
		mb, _, err := v.MiniBlock(m)
		if err != nil {
			s.env.Log().Error("cannot read a released mini-block to answer its receipts", "mini-block", m, "err", err)
			return
		}
		for i, tx := range mb.Txs {
			if len(s.waiters[tx.Hash()]) > 0 {
				s.answer(tx.Hash(), &api.Answer{Receipt: v.ToReceipt(mb.Receipts[i], mb, ledger.TxLoc{MiniBlock: m, Index: uint64(i)})})
			}
		}
	}
}

// pump executes what the pool has ready, best first, until the pool has
// nothing executable, the block's gas is spent or the mini-block's
// (Config.MaxMiniBlockGas), and arms an early close when it executed
// something. It looks at the best before it takes it: what does not fit
// stays in the pool, and so does everything ranked below it, so that no
// transaction ever runs ahead of a better one the sequencer holds (P9).
func (s *Sequencer) pump() {
	if s.blk == nil || s.down != nil || s.groupBusy() {
		return
	}
	before := len(s.pending)
	base := s.header.BaseFee
	for {
		e := s.pool.Peek(base)
		if e == nil {
			break
		}
		gas := e.Tx.Gas()
		if gas > s.blk.GasLeft() {
			break // the next block
		}
		if s.cfg.MaxMiniBlockGas > 0 && s.miniGas > 0 && s.miniGas+gas > s.cfg.MaxMiniBlockGas {
			s.env.Mark(cover.SeqMiniBlockFull)
			break // the next mini-block
		}
		if got := s.pool.Pop(base); got != e {
			node.Broken("sequencer: the pool popped %v after peeking %v", got.Tx.Hash(), e.Tx.Hash())
		}
		r, _, err := s.blk.ApplyTx(e.Tx)
		h := e.Tx.Hash()
		s.observe(PoolEvent{Kind: PoolExecuted, Tx: e.Tx, From: e.From, BaseFee: base, Failed: err != nil})
		if err != nil {
			s.answer(h, ledger.Failed(err))
			nonce, _ := s.blk.Account(e.From)
			s.dropped(s.pool.SetNonce(e.From, nonce), "its nonce was used")
			continue
		}
		s.miniGas += gas
		s.executed[h] = len(s.pending)
		s.pending = append(s.pending, e.Tx)
		s.receipts = append(s.receipts, r)
		s.dropped(s.pool.SetNonce(e.From, e.Tx.Nonce()+1), "its nonce was used")
	}
	if len(s.pending) > before && !s.closeArmed && s.cfg.MinGap >= 0 {
		// Close as soon as the sequencer has nothing else waiting for it
		// (a zero-delay timer comes after what is queued), but not sooner
		// than MinGap after the last close.
		s.closeArmed = true
		s.env.After(max(0, s.lastClose.Add(s.cfg.MinGap).Sub(s.env.Now())), timerClose)
	}
}

// dropped tells the waiters of transactions the pool let go.
func (s *Sequencer) dropped(es []*mempool.Entry, why string) {
	for _, e := range es {
		s.observe(PoolEvent{Kind: PoolDropped, Tx: e.Tx, From: e.From})
		s.answer(e.Tx.Hash(), api.Failed(api.Errorf(api.KindNonceTooLow, "transaction dropped: %s", why)))
	}
}

// answer responds to every waiter of a transaction.
func (s *Sequencer) answer(h common.Hash, a *api.Answer) {
	ws := s.waiters[h]
	if len(ws) == 0 {
		return
	}
	var body []byte // encoded once, for the waiters that take bytes
	hash := &api.Answer{Hash: h}
	for _, w := range ws {
		if w.hashOnly && a.Err == nil {
			api.Reply(w.req, hash, nil)
			continue
		}
		if _, typed := w.req.(api.AnswerRequest); !typed && body == nil {
			body = a.Encode()
		}
		api.Reply(w.req, a, body)
	}
	s.nwaiters -= len(ws)
	delete(s.waiters, h)
}

// expire times out sync sends past their deadline (the transaction stays
// in the pool) and drops pool entries past their lifetime.
func (s *Sequencer) expire() {
	now := s.env.Now()
	for _, h := range s.order {
		ws := s.waiters[h]
		if len(ws) == 0 {
			continue
		}
		live := ws[:0]
		for _, w := range ws {
			if now.After(w.deadline) && w.hashOnly {
				api.Reply(w.req, &api.Answer{Hash: h}, nil) // accepted; still pending
				s.nwaiters--
				continue
			}
			if now.After(w.deadline) {
				s.env.Mark(cover.SeqSyncTimeout)
				w.req.Respond(api.Failed(api.Errorf(api.KindTimeout, "transaction %v is pending: no receipt within the timeout", h)).Encode())
				s.nwaiters--
			} else {
				live = append(live, w)
			}
		}
		if len(live) == 0 {
			delete(s.waiters, h)
			continue
		}
		s.waiters[h] = live
	}
	s.compactOrder()
	if s.down != nil {
		return
	}
	for _, e := range s.pool.Expire(now) {
		s.observe(PoolEvent{Kind: PoolDropped, Tx: e.Tx, From: e.From})
		s.answer(e.Tx.Hash(), api.Failed(api.Errorf(api.KindTimeout, "transaction %v expired from the pool", e.Tx.Hash())))
	}
}

// compactOrder drops from the arrival order the transactions nobody waits
// for any more.
func (s *Sequencer) compactOrder() {
	keep := s.order[:0]
	for _, h := range s.order {
		if len(s.waiters[h]) > 0 {
			keep = append(keep, h)
		}
	}
	clear(s.order[len(keep):])
	s.order = keep
}

// OnSynced implements node.Node: a sync completed; what waited for it goes
// out.
func (s *Sequencer) OnSynced(id node.SyncID) {
	s.out.Synced(id)
	if s.grp != nil {
		s.grp.log.OnSynced(id)
		s.drainGroup()
	}
}

// OnMessage implements node.Node: range requests from fullnodes, served
// from the released view, and DA's acknowledgements.
func (s *Sequencer) OnMessage(from node.NodeID, msg []byte) {
	if chain.Kind(msg) == chain.FormatRaftV1 {
		if s.grp != nil {
			s.onGroupMessage(from, msg)
		}
		return
	}
	if s.down != nil {
		return
	}
	if chain.Kind(msg) == chain.FormatDAAckV1 {
		s.onDAAck(from, msg)
		return
	}
	if chain.Kind(msg) != chain.FormatRangeRequestV1 {
		return
	}
	req, err := chain.DecodeRangeRequest(msg)
	if err != nil {
		s.env.Log().Warn("bad range request", "from", from, "err", err)
		return
	}
	v := s.led.View()
	if v == nil {
		return // nothing durable yet: the peer asks again
	}
	s.env.Send(from, v.ServeRange(req, maxRangeBytes).Encode())
}

// poolContent is what txpool_content shows: the pool's transactions by
// sender then nonce, the first pending of them pending.
type poolContent struct {
	txs     []*mempool.Entry
	pending int
}

// showPool publishes the pool's content for reads, when it changed.
func (s *Sequencer) showPool() {
	if v := s.pool.Version(); v != s.poolVersion || s.poolShown.Load() == nil {
		pending, queued := s.pool.Content()
		s.poolShown.Store(&poolContent{txs: append(pending, queued...), pending: len(pending)})
		s.poolVersion = v
	}
}

// servePool answers txpool_content from the content shown last.
func (s *Sequencer) servePool() *api.Answer {
	a := &api.Answer{}
	pc := s.poolShown.Load()
	if pc == nil {
		return a
	}
	a.Nonce = uint64(pc.pending)
	for _, e := range pc.txs {
		raw, err := e.Tx.MarshalBinary()
		if err != nil {
			return api.Failed(api.Errorf(api.KindInternal, "encoding pooled transaction %v: %v", e.Tx.Hash(), err))
		}
		a.Txs = append(a.Txs, raw)
		a.Senders = append(a.Senders, e.From)
	}
	return a
}

// Serve implements node.ReadServer: every call but a send, from the
// released view, off the step.
func (s *Sequencer) Serve(ctx context.Context, req node.Request) bool {
	c, err := api.CallOf(req)
	if err != nil {
		api.Reply(req, api.Failed(err), nil)
		return true
	}
	if c.Method == api.MethodSendTx || c.Method == api.MethodSendTxSync {
		return false
	}
	if c.Method == api.MethodPool {
		api.Reply(req, s.servePool(), nil)
		return true
	}
	l := s.served.Load()
	if l == nil {
		api.Reply(req, api.Failed(api.Errorf(api.KindUnavailable, "sequencer starting: %v", ledger.ErrStarting)), nil)
		return true
	}
	api.Reply(req, l.View().Serve(ctx, s.ex, c), nil)
	return true
}

// OnRequest implements node.Node: the sends (reads go to Serve; one that
// comes here is served from the released view all the same).
func (s *Sequencer) OnRequest(req node.Request) {
	c, err := api.CallOf(req)
	if err != nil {
		api.Reply(req, api.Failed(err), nil)
		return
	}
	if c.Method != api.MethodSendTx && c.Method != api.MethodSendTxSync {
		s.Serve(context.Background(), req)
		return
	}
	if s.down != nil {
		api.Reply(req, api.Failed(api.Errorf(api.KindUnavailable, "sequencer recovering from a disk error")), nil)
		return
	}
	if s.grp != nil && !s.grp.ready {
		api.Reply(req, api.Failed(s.notLeader()), nil)
		return
	}
	if s.grp != nil && s.grp.proposed != nil {
		s.deferSend(req, c)
		return
	}
	s.send(req, c)
}
