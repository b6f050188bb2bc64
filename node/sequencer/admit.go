package sequencer

import (
	"errors"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/txpool"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/holiman/uint256"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/cover"
	"github.com/meganode/meganode/node/ledger"
	"github.com/meganode/meganode/node/mempool"
)

// Admission: what a transaction must pass before the step sees it.
//
// Admit is a pure function of the raw transaction, the chain's rules and
// the sequencer's configuration: decode, size, type, chain id, intrinsic
// gas, fee caps, the sender's signature and the minimum tip (validate);
// the signature is recovered once and cached in the transaction (go-ethereum
// keeps it there), so that nothing recovers it again: not the executor,
// not the receipts, not the RPC. The production runtime runs it before the
// loop, on every core, in a bounded pool, and hands the step the decoded
// transaction (api.Call.Tx); the simulator, whose calls arrive as bytes,
// runs the same function inline, in the step. The step then checks only
// what needs state: nonce, balance, the pool's bounds.

// Admit decodes a raw transaction and runs the checks that need no state
// against the sequencer's chain rules, recovering its sender. It may be
// called from any goroutine.
func (s *Sequencer) Admit(raw []byte) (*types.Transaction, error) {
	tx, err := chain.DecodeTx(raw)
	if err != nil {
		return nil, api.Errorf(api.KindInvalidInput, "%v", err)
	}
	if _, err := s.validate(tx, s.admissionHeader()); err != nil {
		return nil, err
	}
	return tx, nil
}

// validate runs the stateless checks against header, for Admit and for
// a send the step admits itself: the chain's rules and the signature (the
// executor's), then the minimum tip, which go-ethereum's pool checks
// last too (txpool.ValidateTransaction), with its message. A fee cap
// below the base fee needs the open block's: admit checks it.
func (s *Sequencer) validate(tx *types.Transaction, header *types.Header) (common.Address, error) {
	from, err := s.ex.ValidateTx(tx, header)
	if err != nil {
		return common.Address{}, ledger.AsError(err)
	}
	if tx.GasTipCapIntCmp(s.cfg.MinTip) < 0 {
		return common.Address{}, api.Errorf(api.KindFee, "%v: gas tip cap %v, minimum needed %v", txpool.ErrTxGasPriceTooLow, tx.GasTipCap(), s.cfg.MinTip)
	}
	return from, nil
}

// admissionHeader is the header stateless checks run against: the gas
// limit and fork rules of the next block after the newest sealed one.
func (s *Sequencer) admissionHeader() *types.Header {
	if h := s.admitHeader.Load(); h != nil {
		return h
	}
	g := s.genesis.Header()
	return &types.Header{Number: big.NewInt(1), Time: g.Time, GasLimit: g.GasLimit, Difficulty: new(big.Int)}
}

// admitted is the call's transaction, admitted: by the runtime before the
// step (c.Tx), or here.
func (s *Sequencer) admitted(c *api.Call) (*types.Transaction, common.Address, error) {
	if tx := c.Tx; tx != nil {
		// Checked before the step; the executor checks the consensus
		// rules again when it runs it. The sender is cached in tx.
		from, err := types.Sender(s.ex.Signer(s.header), tx)
		if err != nil {
			return nil, common.Address{}, ledger.AsError(err)
		}
		return tx, from, nil
	}
	tx, err := chain.DecodeTx(c.Raw)
	if err != nil {
		return nil, common.Address{}, api.Errorf(api.KindInvalidInput, "%v", err)
	}
	from, err := s.validate(tx, s.header)
	if err != nil {
		return nil, common.Address{}, err
	}
	return tx, from, nil
}

// send takes a transaction into the pool and executes it at once if it
// can run. A transaction already known (executed, syncing, pending or in
// the pool) is not admitted twice: a repeated send waits for the same
// receipt.
func (s *Sequencer) send(req node.Request, c *api.Call) {
	sync := c.Method == api.MethodSendTxSync
	if s.blk == nil {
		s.openBlock()
	}
	tx, from, err := s.admitted(c)
	if err != nil {
		api.Reply(req, api.Failed(err), nil)
		return
	}
	h := tx.Hash()
	known := false
	if _, ok := s.executed[h]; ok || s.pool.Get(h) != nil {
		if !sync {
			// As go-ethereum: a pending duplicate (pooled, or executed in
			// the open block, not sealed yet) is "already known". A sync
			// send waits for the receipt instead: what a client retrying
			// an undecided sync send needs.
			api.Reply(req, api.Failed(api.Errorf(api.KindAlreadyKnown, "already known")), nil)
			return
		}
		known = true
	} else if nonce, _ := s.blk.Account(from); tx.Nonce() < nonce {
		// Its nonce is used: it may be this very transaction, executed
		// before. (A transaction whose nonce is not used yet cannot have
		// run, so fresh sends never look up the disk.)
		switch loc, err := s.led.Tip().Executed(h); {
		case err == nil:
			if v := s.led.View(); v != nil && loc.MiniBlock <= v.Safe().Last {
				if sync {
					r, mb, loc, err := v.Receipt(h)
					if err != nil {
						api.Reply(req, api.Failed(api.Errorf(api.KindUnavailable, "reading the receipt of %v: %v", h, err)), nil)
						return
					}
					api.Reply(req, &api.Answer{Receipt: v.ToReceipt(r, mb, loc)}, nil)
				} else {
					// As go-ethereum: the transaction is in a sealed block.
					api.Reply(req, api.Failed(api.Errorf(api.KindNonceTooLow, "nonce too low: address %v, tx: %d state: %d", from, tx.Nonce(), nonce)), nil)
				}
				return
			}
			if !sync {
				api.Reply(req, api.Failed(api.Errorf(api.KindAlreadyKnown, "already known")), nil)
				return
			}
			s.env.Mark(cover.SeqDuplicateInFlight)
			known = true // its block is open or syncing: the seal's announce answers
		case !errors.Is(err, ledger.ErrNotFound):
			// Not knowing whether it ran, admitting it could run it twice.
			api.Reply(req, api.Failed(api.Errorf(api.KindUnavailable, "looking up transaction %v: %v", h, err)), nil)
			return
		}
	}
	if !known {
		if err := s.admit(tx, from); err != nil {
			api.Reply(req, api.Failed(err), nil)
			return
		}
	}
	if !sync {
		s.pump()
		// A transaction that just executed is answered once its receipt
		// is out (its block sealed and durable), so that a client asking
		// for it next finds it (most clients poll at once, then wait a
		// second); one that waits in the pool, or with no room to wait, or
		// whose block seals only at its K-th tick, is answered now.
		if _, ran := s.executed[h]; ran && !known && s.cfg.BlockGap >= 0 && s.nwaiters < s.cfg.MaxWaiters && len(s.waiters[h]) < s.cfg.MaxWaitersPerTx {
			if len(s.waiters[h]) == 0 {
				s.order = append(s.order, h)
			}
			s.waiters[h] = append(s.waiters[h], waiter{req: req, deadline: s.env.Now().Add(s.cfg.SyncTimeout), hashOnly: true})
			s.nwaiters++
			return
		}
		api.Reply(req, &api.Answer{Hash: h}, nil)
		return
	}
	if err := s.wait(req, h, c.TimeoutMs); err != nil {
		api.Reply(req, api.Failed(err), nil)
	}
	s.pump()
}

// admit checks a new transaction against the state (balance, base fee)
// and puts it in the pool.
func (s *Sequencer) admit(tx *types.Transaction, from common.Address) error {
	nonce, balance := s.blk.Account(from)
	cost := new(big.Int).Mul(tx.GasFeeCap(), new(big.Int).SetUint64(tx.Gas()))
	cost.Add(cost, tx.Value())
	if c, overflow := uint256.FromBig(cost); overflow || balance.Lt(c) {
		if err := s.uncommitted(from, tx.Nonce(), c, overflow); err != nil {
			return err
		}
		return api.Errorf(api.KindInsufficientFunds, "insufficient funds for gas * price + value: address %v have %v want %v", from, balance, cost)
	}
	if tx.Nonce() < nonce {
		if err := s.uncommitted(from, tx.Nonce(), nil, false); err != nil {
			return err
		}
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
		s.observe(PoolEvent{Kind: PoolDropped, Tx: replaced.Tx, From: replaced.From})
	}
	s.observe(PoolEvent{Kind: PoolAdmitted, Tx: tx, From: from, Nonce: nonce})
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

// PoolEvent is one decision of the sequencer about its pool
// (Config.ObservePool).
type PoolEvent struct {
	Kind PoolEventKind
	Tx   *types.Transaction // not for PoolReset
	From common.Address     // Tx's sender
	// Nonce (PoolAdmitted) is the sender's nonce in the executed state
	// at admission: the nonce its next transaction to run must have.
	Nonce uint64
	// BaseFee (PoolExecuted) is the open block's base fee, at which the
	// transaction was ranked.
	BaseFee *big.Int
	// Failed (PoolExecuted): the block refused the transaction (it is
	// dropped, and its nonce stays unused).
	Failed bool
}

// PoolEventKind is what a PoolEvent says.
type PoolEventKind uint8

// The pool events.
const (
	// PoolReset: the sequencer starts over with an empty pool (it started,
	// or reopened its ledger after a disk error).
	PoolReset PoolEventKind = iota + 1
	// PoolAdmitted: Tx joined the pool.
	PoolAdmitted
	// PoolDropped: Tx left the pool without running (replaced, expired,
	// or its nonce was used).
	PoolDropped
	// PoolExecuted: Tx left the pool to run, now, in the open block.
	PoolExecuted
)

func (s *Sequencer) observe(ev PoolEvent) {
	if s.cfg.ObservePool != nil {
		s.cfg.ObservePool(ev)
	}
}

// uncommitted is a group member's answer to a send that the open block's
// state refuses (nonce used, or funds spent) but the committed state does
// not: the open block may yet be lost with a leader, so the refusal would
// not be definite. It is nil for a lone sequencer, or when the committed
// state refuses the send too (then the refusal stands). cost is the
// send's maximum cost when its funds are in question.
func (s *Sequencer) uncommitted(from common.Address, nonce uint64, cost *uint256.Int, overflow bool) error {
	if s.grp == nil {
		return nil
	}
	acct, _ := s.led.State().Account(from)
	switch {
	case cost == nil && nonce >= acct.Nonce:
		return api.Errorf(api.KindUnderpriced, "nonce %d of %v is taken by a transaction executed and not yet committed by the sequencer group: it cannot be replaced; send again if that one fails", nonce, from)
	case cost != nil && !overflow && !acct.Balance.Lt(cost):
		return api.Errorf(api.KindUnavailable, "the funds of %v are spent by transactions executed and not yet committed by the sequencer group; send again", from)
	}
	return nil
}
