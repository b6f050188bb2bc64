package rpc

import (
	"context"
	"log/slog"

	"github.com/ethereum/go-ethereum/common"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/meganode/meganode/node/chain"
)

// Subscriptions (eth_subscribe): each follows the node's mini-blocks
// through Backend.MiniBlocks and notifies what it selects of each.

// subscribe starts a subscription that calls emit for every mini-block the
// node applies, until the client unsubscribes or goes, the server stops,
// or the subscriber falls too far behind (its mini-block channel closes).
// emit returns what to notify, in order. Past the subscription limits, or
// when the node refuses a mini-block subscription, it fails instead.
func (s *Server) subscribe(ctx context.Context, emit func(mb *chain.MiniBlock) []any) (*gethrpc.Subscription, error) {
	return s.subscribeErr(ctx, func(mb *chain.MiniBlock) ([]any, error) { return emit(mb), nil })
}

// subscribeErr is subscribe with an emit that may fail: its error ends the
// subscription (logged), so that the client sees it end rather than miss
// what emit could not read.
func (s *Server) subscribeErr(ctx context.Context, emit func(mb *chain.MiniBlock) ([]any, error)) (*gethrpc.Subscription, error) {
	notifier, ok := gethrpc.NotifierFromContext(ctx)
	if !ok {
		return nil, gethrpc.ErrNotificationsUnsupported
	}
	release, err := s.acquireSubscription(ctx, notifier)
	if err != nil {
		return nil, err
	}
	ch, cancel, first, err := s.openMiniBlocks()
	if err != nil {
		release()
		return nil, err
	}
	sub := notifier.CreateSubscription()
	notify := func(mb *chain.MiniBlock) bool {
		vs, err := emit(mb)
		if err != nil {
			slog.Warn("rpc: subscription ended: what it notifies could not be read", "id", sub.ID, "err", err)
			return false
		}
		for _, v := range vs {
			if err := notifier.Notify(sub.ID, v); err != nil {
				return false
			}
		}
		return true
	}
	go func() {
		defer release()
		defer cancel()
		if first != nil && !notify(first) {
			return
		}
		for {
			select {
			case mb, ok := <-ch:
				if !ok || !notify(mb) {
					return
				}
			case <-sub.Err():
				return
			case <-s.quit:
				return
			}
		}
	}()
	return sub, nil
}

// NewHeads is eth_subscribe("newHeads"): the header of each sealed block.
func (e *ethAPI) NewHeads(ctx context.Context) (*gethrpc.Subscription, error) {
	return e.s.subscribe(ctx, func(mb *chain.MiniBlock) []any {
		if mb.Sealed == nil {
			return nil
		}
		return []any{marshalHeader(mb.Sealed)}
	})
}

// Logs is eth_subscribe("logs", filter): the logs the filter selects, as
// each block seals (block and range criteria are ignored), each with its
// block's hash, as go-ethereum notifies them. A block's logs that cannot
// be read end the subscription: the client sees its error channel close,
// never a silent gap. The open block's logs stream in real time in the
// miniBlocks subscription.
func (e *ethAPI) Logs(ctx context.Context, q filterQuery) (*gethrpc.Subscription, error) {
	return e.s.subscribeErr(ctx, func(mb *chain.MiniBlock) ([]any, error) {
		logs, err := e.s.sealedLogs(mb)
		if err != nil {
			return nil, err
		}
		var out []any
		for _, l := range logs {
			if q.matches(l) {
				out = append(out, l)
			}
		}
		return out, nil
	})
}

// MiniBlocks is eth_subscribe("miniBlocks"): every mini-block.
func (e *ethAPI) MiniBlocks(ctx context.Context) (*gethrpc.Subscription, error) {
	return e.s.subscribe(ctx, func(mb *chain.MiniBlock) []any { return []any{marshalMiniBlock(mb)} })
}

// StateChanges is eth_subscribe("stateChanges"): every mini-block's state
// diff.
func (e *ethAPI) StateChanges(ctx context.Context) (*gethrpc.Subscription, error) {
	return e.s.subscribe(ctx, func(mb *chain.MiniBlock) []any { return []any{marshalStateChanges(mb)} })
}

// NewPendingTransactions is eth_subscribe("newPendingTransactions",
// fullTx?): each transaction as it executes, which on this chain is the
// moment it arrives: its hash, or with fullTx the transaction with where
// it executed.
func (e *ethAPI) NewPendingTransactions(ctx context.Context, fullTx *bool) (*gethrpc.Subscription, error) {
	full := fullTx != nil && *fullTx
	return e.s.subscribe(ctx, func(mb *chain.MiniBlock) []any {
		var hash common.Hash
		if mb.Sealed != nil {
			hash = mb.Sealed.Hash()
		}
		var out []any
		for _, p := range appendPendingTxs(nil, mb, hash) {
			if full {
				out = append(out, newRPCTransaction(p.tx, senderOf(p.tx, e.s.signer, common.Address{}), &p.loc))
			} else {
				out = append(out, p.tx.Hash())
			}
		}
		return out
	})
}

// Syncing is eth_subscribe("syncing"): go-ethereum notifies when its sync
// starts or ends. A meganode node follows the chain mini-block by
// mini-block and never enters a sync mode (eth_syncing is false), so, as
// go-ethereum on a synced node, the subscription is live and notifies
// nothing. (It is the filter receiver's: ethAPI's Syncing is eth_syncing.)
func (a *filterAPI) Syncing(ctx context.Context) (*gethrpc.Subscription, error) {
	return a.s.subscribe(ctx, func(*chain.MiniBlock) []any { return nil })
}
