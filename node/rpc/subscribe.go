package rpc

import (
	"context"

	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/meganode/meganode/node/chain"
)

// Subscriptions (eth_subscribe): each follows the node's mini-blocks
// through Backend.MiniBlocks and notifies what it selects of each.

// subscribe starts a subscription that calls emit for every mini-block the
// node applies, until the client unsubscribes or goes, the server stops,
// or the subscriber falls too far behind (its mini-block channel closes).
// emit returns what to notify, in order.
func (s *Server) subscribe(ctx context.Context, emit func(mb *chain.MiniBlock) []any) (*gethrpc.Subscription, error) {
	notifier, ok := gethrpc.NotifierFromContext(ctx)
	if !ok {
		return nil, gethrpc.ErrNotificationsUnsupported
	}
	sub := notifier.CreateSubscription()
	ch, cancel := s.b.MiniBlocks(subscriptionBuffer)
	go func() {
		defer cancel()
		for {
			select {
			case mb, ok := <-ch:
				if !ok {
					return
				}
				for _, v := range emit(mb) {
					if err := notifier.Notify(sub.ID, v); err != nil {
						return
					}
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
// each mini-block applies (block and range criteria are ignored). A log's
// block hash is zero unless its mini-block seals the block.
func (e *ethAPI) Logs(ctx context.Context, q filterQuery) (*gethrpc.Subscription, error) {
	return e.s.subscribe(ctx, func(mb *chain.MiniBlock) []any {
		var out []any
		for _, r := range mb.Receipts {
			for _, l := range marshalLogs(r.Logs) {
				if !q.matches(l) {
					continue
				}
				if mb.Sealed != nil {
					l.BlockHash, l.BlockTimestamp = mb.Sealed.Hash(), mb.Sealed.Time
				}
				out = append(out, l)
			}
		}
		return out
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
