package sequencer

import (
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/consensus/misc/eip1559"
	"github.com/ethereum/go-ethereum/consensus/misc/eip4844"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/holiman/uint256"
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
	timerTick    node.TimerID = 1 // the next mini-block
	timerRecover node.TimerID = 2 // reopen the ledger after a disk error
	timerExpire  node.TimerID = 3 // time out sync sends, expire the pool
)

// expireEvery is how often waiters and the pool are checked for expiry.
const expireEvery = 100 * time.Millisecond

// maxRangeBytes bounds a range response.
const maxRangeBytes = 4 << 20

// waiter is a synchronous send waiting for its receipt.
type waiter struct {
	req      node.Request
	deadline time.Time
}

// Sequencer orders and executes transactions the moment they arrive,
// streams a signed mini-block every interval, and seals an EVM block every
// K mini-blocks. A mini-block is synced to the WAL before any of its
// receipts is returned and before it is published.
type Sequencer struct {
	cfg     Config
	env     node.Env
	ex      *exec.Executor
	genesis *types.Block
	gstate  *state.Mem
	signer  common.Address

	led  *ledger.Ledger
	pool *mempool.Pool
	down error // set while the ledger must be reopened

	// The open EVM block and the mini-block being filled.
	blk        *exec.Block
	header     *types.Header
	openMicros uint64 // time of the open block's first mini-block
	pending    []*types.Transaction
	receipts   []*types.Receipt
	executed   map[common.Hash]int // pending transactions by hash
	carry      *mempool.Entry      // popped but did not fit the block's gas
	access     *blockAccess        // what the open block read, for its witness

	pub publisher

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
	return &Sequencer{cfg: cfg, ex: ex, genesis: gb, gstate: gs, signer: crypto.PubkeyToAddress(cfg.Key.PublicKey)}, nil
}

// Ledger is the sequencer's applied chain (for tests and the simulator's
// checkers); nil while it recovers from a disk error.
func (s *Sequencer) Ledger() *ledger.Ledger {
	if s.down != nil {
		return nil
	}
	return s.led
}

// Pool is the sequencer's mempool.
func (s *Sequencer) Pool() *mempool.Pool { return s.pool }

// Start implements node.Node: reopen the ledger (snapshot plus WAL, by
// diff), resume the open block, and start the mini-block clock.
func (s *Sequencer) Start(env node.Env) error {
	s.env = env
	if err := s.recover(); err != nil {
		return err
	}
	env.After(s.cfg.MiniBlockInterval, timerTick)
	env.After(expireEvery, timerExpire)
	return nil
}

// recover rebuilds everything in memory from the disk. Pending sends are
// forgotten: unacknowledged transactions may be lost, clients retry.
func (s *Sequencer) recover() error {
	led, err := ledger.Open(s.env.Disk(), s.genesis, s.gstate, s.cfg.Ledger)
	if err != nil {
		return fmt.Errorf("sequencer: %w", err)
	}
	s.led, s.down = led, nil
	s.pool = mempool.New(s.cfg.Pool)
	s.blk, s.header, s.pending, s.receipts, s.carry, s.access = nil, nil, nil, nil, nil, nil
	s.pub = publisher{id: s.pub.id}
	s.executed = map[common.Hash]int{}
	for _, h := range s.order { // in arrival order: each answer is a network send
		for _, w := range s.waiters[h] {
			w.req.Respond(api.Failed(api.Errorf(api.KindUnavailable, "sequencer restarting")).Encode())
		}
		delete(s.waiters, h)
	}
	s.waiters, s.nwaiters, s.order = map[common.Hash][]waiter{}, 0, nil
	if led.TornTail() {
		s.env.Mark(cover.LedgerTornTail)
	}
	if open := led.OpenBlock(); len(open) > 0 {
		s.env.Mark(cover.SeqRecoveredOpenBlock)
		if err := s.resume(open); err != nil {
			return fmt.Errorf("sequencer: resume block: %w", err)
		}
	}
	s.publish()
	head, _ := led.Head()
	s.env.Log().Info("sequencer started", "head", head.Number, "block", head.BlockNumber, "safe", led.Safe().Header.Number)
	return nil
}

// fail handles a disk error: the in-memory state may be ahead of the disk,
// so the sequencer drops it and reopens the ledger, as after a crash.
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
	cc := s.cfg.Genesis.Config
	t := max(parent.Time+1, firstMicros/1_000_000)
	h := &types.Header{
		ParentHash: parent.Hash(), UncleHash: types.EmptyUncleHash, Coinbase: s.cfg.Coinbase,
		Number: new(big.Int).Add(parent.Number, common.Big1), GasLimit: parent.GasLimit, Time: t,
		Difficulty: new(big.Int), MixDigest: crypto.Keccak256Hash(parent.Hash().Bytes()),
		BaseFee: eip1559.CalcBaseFee(cc, parent),
	}
	if cc.IsShanghai(h.Number, t) {
		h.WithdrawalsHash = &types.EmptyWithdrawalsHash
	}
	if cc.IsCancun(h.Number, t) {
		zero, excess := common.Hash{}, eip4844.CalcExcessBlobGas(cc, parent, t)
		var used uint64
		h.ExcessBlobGas, h.BlobGasUsed, h.ParentBeaconRoot = &excess, &used, &zero
	}
	return h
}

// ledgerState lets the executor flush straight into the ledger, so that
// each mini-block's diff is applied once.
type ledgerState struct {
	*state.Mem
	led *ledger.Ledger
}

func (l ledgerState) Apply(d *chain.Diff) error { return l.led.ApplyDiff(d) }

// recording is the state the open block executes on: the ledger's, with
// every read recorded for the block's witness.
func (s *Sequencer) recording() state.State {
	return state.Recorder{State: ledgerState{s.led.State(), s.led}, Access: s.access.state}
}

// openBlock starts the next EVM block.
func (s *Sequencer) openBlock() {
	head, _ := s.led.Head()
	now := uint64(s.env.Now().UnixMicro())
	s.openMicros = max(head.TimeMicros+1, now)
	s.header = s.nextHeader(s.led.Safe().Header, s.openMicros)
	s.access = newBlockAccess(s.header.Number.Uint64())
	s.blk = s.ex.NewBlock(s.recording(), s.header, s.getHash)
	s.blk.Begin()
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
	s.access = newBlockAccess(s.header.Number.Uint64())
	if err := s.reread(open); err != nil {
		return err
	}
	blk, err := s.ex.ResumeBlock(s.recording(), s.header, s.getHash, gas, 0, txs, logs)
	if err != nil {
		return err
	}
	s.blk = blk
	return nil
}

// OnTimer implements node.Node.
func (s *Sequencer) OnTimer(id node.TimerID) {
	switch id {
	case timerTick:
		if s.down == nil {
			s.tick()
		}
		s.env.After(s.cfg.MiniBlockInterval, timerTick)
	case timerRecover:
		if s.down != nil {
			if err := s.recover(); err != nil {
				s.fail(err)
			}
		}
	case timerExpire:
		s.expire()
		s.env.After(expireEvery, timerExpire)
	default:
		if id >= timerDA {
			s.onDATimer(id)
		}
	}
}

// tick ends the current mini-block: flush, seal the block when it is the
// K-th, sign, write to the WAL with sync, then publish and answer.
func (s *Sequencer) tick() {
	if s.blk == nil {
		s.openBlock()
	}
	s.pump()
	head, headHash := s.led.Head()
	index := uint64(0)
	if head.BlockNumber == s.header.Number.Uint64() {
		index = head.Index + 1
	}
	last := index+1 >= uint64(s.cfg.MiniBlocksPerBlock)
	var requests [][]byte
	if last {
		var err error
		if requests, err = s.blk.End(); err != nil {
			s.fail(err)
			return
		}
	}
	txOffset := uint64(s.blk.TxCount() - len(s.pending))
	logOffset := uint64(s.blk.LogCount())
	var gasUsed uint64
	for _, r := range s.receipts {
		logOffset -= uint64(len(r.Logs))
		gasUsed += r.GasUsed
	}
	d, err := s.blk.Flush()
	if err != nil {
		s.fail(err)
		return
	}
	micros := max(head.TimeMicros+1, uint64(s.env.Now().UnixMicro()))
	if index == 0 {
		micros = s.openMicros
	}
	mb := &chain.MiniBlock{
		Header: chain.MiniBlockHeader{
			Number: head.Number + 1, BlockNumber: s.header.Number.Uint64(), Index: index, TimeMicros: micros,
			ParentHash: headHash, GasUsed: gasUsed, TxOffset: txOffset, LogOffset: logOffset,
		},
		Txs: s.pending, Receipts: s.receipts, Diff: d,
	}
	var witness []byte
	if last {
		var post common.Hash
		if witness, post, err = s.witness(mb); err != nil {
			s.fail(fmt.Errorf("witness of block %d: %w", s.header.Number, err))
			return
		}
		mb.Sealed = s.seal(mb, requests)
		if post != mb.Sealed.Root {
			s.fail(fmt.Errorf("block %d: witness leads to root %v, state is at %v", s.header.Number, post, mb.Sealed.Root))
			return
		}
	}
	if err := mb.Seal(s.cfg.Key); err != nil {
		s.fail(err)
		return
	}
	raw, err := mb.Encode()
	if err != nil {
		s.fail(err)
		return
	}
	if last {
		err = s.led.AppendSealed(mb, raw, witness, true)
	} else {
		err = s.led.Append(mb, raw, true)
	}
	if err != nil {
		s.fail(err)
		return
	}
	// Durable: now publish and acknowledge.
	s.env.Publish(Topic, raw)
	if s.cfg.OnMiniBlock != nil {
		s.cfg.OnMiniBlock(mb)
	}
	for i, tx := range mb.Txs {
		s.answer(tx.Hash(), &api.Answer{Receipt: api.ToReceipt(s.led, mb.Receipts[i], mb, ledger.TxLoc{MiniBlock: mb.Header.Number, Index: uint64(i)})})
	}
	s.pending, s.receipts = nil, nil
	clear(s.executed)
	if last {
		s.blk, s.access = nil, nil
		s.gossipBlock(mb.Sealed.Number.Uint64())
		s.publish()
	}
}

// seal builds the header of the block the mini-block mb ends.
func (s *Sequencer) seal(mb *chain.MiniBlock, requests [][]byte) *types.Header {
	h := types.CopyHeader(s.header)
	var txs []*types.Transaction
	var rs []*types.Receipt
	for _, m := range s.led.OpenBlock() {
		txs = append(txs, m.Txs...)
		rs = append(rs, m.Receipts...)
	}
	txs = append(txs, mb.Txs...)
	rs = append(rs, mb.Receipts...)
	h.Root = s.led.State().Root()
	h.TxHash = chain.TxRoot(txs)
	h.ReceiptHash = chain.ReceiptRoot(rs)
	h.Bloom = types.MergeBloom(rs)
	h.GasUsed = s.blk.GasUsed()
	if requests != nil {
		rh := types.CalcRequestsHash(requests)
		h.RequestsHash = &rh
	}
	return h
}

// pump executes what the pool has ready, best first, until the pool is
// empty or the block is full.
func (s *Sequencer) pump() {
	if s.blk == nil || s.down != nil {
		return
	}
	for {
		e := s.carry
		s.carry = nil
		if e == nil {
			e = s.pool.Pop(s.header.BaseFee)
		}
		if e == nil {
			return
		}
		if e.Tx.Gas() > s.blk.GasLeft() {
			s.carry = e // the next block
			return
		}
		r, _, err := s.blk.ApplyTx(e.Tx)
		h := e.Tx.Hash()
		if err != nil {
			s.answer(h, api.Failed(err))
			nonce, _ := s.blk.Account(e.From)
			s.dropped(s.pool.SetNonce(e.From, nonce), "its nonce was used")
			continue
		}
		s.executed[h] = len(s.pending)
		s.pending = append(s.pending, e.Tx)
		s.receipts = append(s.receipts, r)
		s.dropped(s.pool.SetNonce(e.From, e.Tx.Nonce()+1), "its nonce was used")
	}
}

// dropped tells the waiters of transactions the pool let go.
func (s *Sequencer) dropped(es []*mempool.Entry, why string) {
	for _, e := range es {
		s.answer(e.Tx.Hash(), api.Failed(api.Errorf(api.KindNonceTooLow, "transaction dropped: %s", why)))
	}
}

// answer responds to every waiter of a transaction.
func (s *Sequencer) answer(h common.Hash, a *api.Answer) {
	ws := s.waiters[h]
	if len(ws) == 0 {
		return
	}
	body := a.Encode()
	for _, w := range ws {
		w.req.Respond(body)
	}
	s.nwaiters -= len(ws)
	delete(s.waiters, h)
}

// expire times out sync sends past their deadline (the transaction stays
// in the pool) and drops pool entries past their lifetime.
func (s *Sequencer) expire() {
	if s.down != nil {
		return
	}
	now := s.env.Now()
	keep := s.order[:0]
	for _, h := range s.order {
		ws := s.waiters[h]
		if len(ws) == 0 {
			continue
		}
		live := ws[:0]
		for _, w := range ws {
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
		keep = append(keep, h)
	}
	s.order = keep
	for _, e := range s.pool.Expire(now) {
		s.answer(e.Tx.Hash(), api.Failed(api.Errorf(api.KindTimeout, "transaction %v expired from the pool", e.Tx.Hash())))
	}
}

// OnMessage implements node.Node: range requests from fullnodes.
func (s *Sequencer) OnMessage(from node.NodeID, msg []byte) {
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
	s.env.Send(from, s.led.ServeRange(req, maxRangeBytes).Encode())
}

// OnRequest implements node.Node: the client API.
func (s *Sequencer) OnRequest(req node.Request) {
	c, err := api.DecodeCall(req.Body())
	if err != nil {
		req.Respond(api.Failed(err).Encode())
		return
	}
	if s.down != nil {
		req.Respond(api.Failed(api.Errorf(api.KindUnavailable, "sequencer recovering from a disk error")).Encode())
		return
	}
	switch c.Method {
	case api.MethodSendTx, api.MethodSendTxSync:
		s.send(req, c)
		return
	}
	if a := api.ServeRead(s.led, s.ex, nil, c); a != nil {
		req.Respond(a.Encode())
		return
	}
	req.Respond(api.Failed(api.Errorf(api.KindUnknownMethod, "method %v not served", c.Method)).Encode())
}

// send admits a transaction and executes it at once if it can run. A
// transaction already known (executed, pending or in the pool) is not
// admitted twice: a repeated send waits for the same receipt.
func (s *Sequencer) send(req node.Request, c *api.Call) {
	sync := c.Method == api.MethodSendTxSync
	tx, err := chain.DecodeTx(c.Raw)
	if err != nil {
		req.Respond(api.Failed(api.Errorf(api.KindInvalidInput, "%v", err)).Encode())
		return
	}
	h := tx.Hash()
	switch r, mb, loc, err := s.led.Receipt(h); {
	case err == nil:
		if sync {
			req.Respond((&api.Answer{Receipt: api.ToReceipt(s.led, r, mb, loc)}).Encode())
		} else {
			req.Respond((&api.Answer{Hash: h}).Encode())
		}
		return
	case !errors.Is(err, ledger.ErrNotFound):
		// Not knowing whether it was executed, admitting it could run it twice.
		req.Respond(api.Failed(api.Errorf(api.KindUnavailable, "looking up transaction %v: %v", h, err)).Encode())
		return
	}
	_, executed := s.executed[h]
	known := executed || s.pool.Get(h) != nil || (s.carry != nil && s.carry.Tx.Hash() == h)
	if !known {
		if err := s.admit(tx); err != nil {
			req.Respond(api.Failed(err).Encode())
			return
		}
	}
	if !sync {
		req.Respond((&api.Answer{Hash: h}).Encode())
		s.pump()
		return
	}
	if err := s.wait(req, h, c.TimeoutMs); err != nil {
		req.Respond(api.Failed(err).Encode())
	}
	s.pump()
}

// admit validates a new transaction and puts it in the pool.
func (s *Sequencer) admit(tx *types.Transaction) error {
	if s.blk == nil {
		s.openBlock()
	}
	from, err := s.ex.ValidateTx(tx, s.header)
	if err != nil {
		return err
	}
	nonce, balance := s.blk.Account(from)
	cost := new(big.Int).Mul(tx.GasFeeCap(), new(big.Int).SetUint64(tx.Gas()))
	cost.Add(cost, tx.Value())
	if c, overflow := uint256.FromBig(cost); overflow || balance.Lt(c) {
		return api.Errorf(api.KindInsufficientFunds, "insufficient funds for gas * price + value: address %v have %v want %v", from, balance, cost)
	}
	if tx.GasFeeCap().Cmp(s.header.BaseFee) < 0 {
		return api.Errorf(api.KindFee, "max fee per gas less than block base fee: address %v, maxFeePerGas: %v, baseFee: %v", from, tx.GasFeeCap(), s.header.BaseFee)
	}
	replaced, err := s.pool.Add(tx, from, nonce, s.env.Now())
	if err != nil {
		if errors.Is(err, mempool.ErrPoolFull) {
			s.env.Mark(cover.SeqPoolFull)
		}
		return poolError(err)
	}
	if replaced != nil {
		s.answer(replaced.Tx.Hash(), api.Failed(api.Errorf(api.KindReplaced, "transaction replaced by %v", tx.Hash())))
	}
	return nil
}

// wait registers a sync send's request for the transaction's receipt.
func (s *Sequencer) wait(req node.Request, h common.Hash, timeoutMs uint64) error {
	if s.nwaiters >= s.cfg.MaxWaiters || len(s.waiters[h]) >= s.cfg.MaxWaitersPerTx {
		s.env.Mark(cover.SeqWaitersFull)
		return api.Errorf(api.KindUnavailable, "too many sends waiting for receipts (limit %d, %d per transaction): retry", s.cfg.MaxWaiters, s.cfg.MaxWaitersPerTx)
	}
	d := s.cfg.SyncTimeout
	if timeoutMs > 0 {
		d = min(time.Duration(timeoutMs)*time.Millisecond, s.cfg.MaxSyncTimeout)
	}
	if len(s.waiters[h]) == 0 {
		s.order = append(s.order, h)
	}
	s.waiters[h] = append(s.waiters[h], waiter{req: req, deadline: s.env.Now().Add(d)})
	s.nwaiters++
	return nil
}

// poolError maps the pool's refusals to the API's kinds.
func poolError(err error) *api.Error {
	k := api.KindInvalidTx
	switch {
	case errors.Is(err, mempool.ErrAlreadyKnown):
		k = api.KindAlreadyKnown
	case errors.Is(err, mempool.ErrNonceTooLow):
		k = api.KindNonceTooLow
	case errors.Is(err, mempool.ErrNonceGap):
		k = api.KindNonceGap
	case errors.Is(err, mempool.ErrReplaceUnderpriced):
		k = api.KindUnderpriced
	case errors.Is(err, mempool.ErrPoolFull), errors.Is(err, mempool.ErrAccountLimit):
		k = api.KindPoolFull
	}
	return api.Errorf(k, "%v", err)
}
