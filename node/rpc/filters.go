package rpc

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
)

// Filters (go-ethereum's eth/filters API, polled over HTTP) and the limits
// on filters and subscriptions.
//
// A filter collects what it selects of each mini-block the node applies
// until the client polls it with eth_getFilterChanges, which hands over
// everything collected since the previous poll, each item exactly once.
// All filters of a server share one Backend.MiniBlocks subscription,
// started with the first filter and stopped when none remains; a janitor
// goroutine, running while filters exist, removes those not polled within
// Config.FilterTimeout.

// Default limits.
const (
	defaultFilterTimeout           = 5 * time.Minute
	defaultMaxFilters              = 256
	defaultMaxFilterItems          = 10_000
	defaultMaxSubscriptions        = 240
	defaultMaxSubscriptionsPerConn = 128
)

// withLimitDefaults fills the zero limits of filters and subscriptions.
func (c Config) withLimitDefaults() Config {
	if c.FilterTimeout <= 0 {
		c.FilterTimeout = defaultFilterTimeout
	}
	if c.MaxFilters <= 0 {
		c.MaxFilters = defaultMaxFilters
	}
	if c.MaxFilterItems <= 0 {
		c.MaxFilterItems = defaultMaxFilterItems
	}
	if c.MaxSubscriptions <= 0 {
		c.MaxSubscriptions = defaultMaxSubscriptions
	}
	if c.MaxSubscriptionsPerConn <= 0 {
		c.MaxSubscriptionsPerConn = defaultMaxSubscriptionsPerConn
	}
	return c
}

// errFilterNotFound is go-ethereum's answer for an unknown, uninstalled or
// expired filter id.
var errFilterNotFound = &rpcError{code: api.CodeServer, msg: "filter not found"}

// errInvalidBlockRange is go-ethereum's answer for a filter's block range
// it cannot follow.
var errInvalidBlockRange = &invalidParamsError{"invalid block range params"}

type filterKind int

const (
	logsFilter filterKind = iota
	blocksFilter
	pendingTxFilter
)

// filter is one installed filter: what it selects and what it collected
// since the last poll.
type filter struct {
	kind filterKind
	// A logs filter's query, and the bounds on its new logs' block
	// numbers (-1: none).
	q        filterQuery
	from, to int64
	fullTx   bool // a pending-transaction filter returns transactions, not hashes

	deadline time.Time // removed by the janitor once past it without a poll
	logs     []*types.Log
	hashes   []common.Hash
	txs      []pendingTx
	// err is set when the filter was dropped (its buffer overflowed, or
	// the server lost the node's mini-blocks): the next call on it
	// answers err and removes it.
	err error
}

// pendingTx is a transaction a fullTx pending-transaction filter
// collected, and where it executed.
type pendingTx struct {
	tx  *types.Transaction
	loc txLocation
}

func (f *filter) items() int { return len(f.logs) + len(f.hashes) + len(f.txs) }

// drop marks the filter dropped with err and frees what it collected.
func (f *filter) drop(err error) {
	f.err = err
	f.logs, f.hashes, f.txs = nil, nil, nil
}

// wants reports whether a logs filter selects a new log.
func (f *filter) wants(l *types.Log) bool {
	if f.from >= 0 && l.BlockNumber < uint64(f.from) {
		return false
	}
	if f.to >= 0 && l.BlockNumber > uint64(f.to) {
		return false
	}
	return f.q.matches(l)
}

// filterSystem is a server's filters, the shared mini-block feed that fills
// them and the janitor that expires them. The zero value is ready.
type filterSystem struct {
	mu      sync.Mutex
	filters map[gethrpc.ID]*filter
	feed    *filterFeed // nil while no filter needs mini-blocks
	janitor bool        // the janitor goroutine runs
}

// filterFeed is the Backend.MiniBlocks subscription the filters share.
type filterFeed struct {
	ch       <-chan *chain.MiniBlock
	cancel   func()
	stop     chan struct{}
	stopOnce sync.Once
}

// close ends the subscription and the goroutine reading it.
func (f *filterFeed) close() {
	f.stopOnce.Do(func() {
		close(f.stop)
		f.cancel()
	})
}

// install adds f, starting the feed and the janitor if they do not run.
func (s *Server) installFilter(f *filter) (gethrpc.ID, error) {
	fs := &s.filters
	fs.mu.Lock()
	defer fs.mu.Unlock()
	select {
	case <-s.quit:
		return "", &rpcError{code: api.CodeServer, msg: "server stopped"}
	default:
	}
	if len(fs.filters) >= s.cfg.MaxFilters {
		return "", &rpcError{code: api.CodeServer, msg: fmt.Sprintf("too many filters: limit %d", s.cfg.MaxFilters)}
	}
	if fs.filters == nil {
		fs.filters = make(map[gethrpc.ID]*filter)
	}
	id := gethrpc.NewID()
	f.deadline = time.Now().Add(s.cfg.FilterTimeout)
	fs.filters[id] = f
	if fs.feed == nil {
		ch, cancel, first, err := s.openMiniBlocks()
		if err != nil {
			delete(fs.filters, id)
			return "", err
		}
		feed := &filterFeed{ch: ch, cancel: cancel, stop: make(chan struct{})}
		fs.feed = feed
		go s.runFilterFeed(feed, first)
	}
	if !fs.janitor {
		fs.janitor = true
		go s.runFilterJanitor()
	}
	return id, nil
}

// openMiniBlocks subscribes to the node's mini-blocks (Backend.MiniBlocks).
// A node with too many subscribers, or stopping, returns the channel
// closed: that is an error here, so that the client is refused rather
// than answered an id that never gets anything. first, if not nil, is a
// mini-block that already came, to handle before the channel's.
func (s *Server) openMiniBlocks() (ch <-chan *chain.MiniBlock, cancel func(), first *chain.MiniBlock, err error) {
	ch, cancel = s.b.MiniBlocks(subscriptionBuffer)
	select {
	case mb, ok := <-ch:
		if !ok {
			cancel()
			return nil, nil, nil, &rpcError{code: api.CodeServer, msg: "the node refused a mini-block subscription (too many subscribers, or stopping)"}
		}
		first = mb
	default:
	}
	return ch, cancel, first, nil
}

// removeFilterLocked removes a filter, and stops the feed when it was the
// last one.
func (s *Server) removeFilterLocked(id gethrpc.ID) {
	fs := &s.filters
	delete(fs.filters, id)
	if len(fs.filters) == 0 && fs.feed != nil {
		fs.feed.close()
		fs.feed = nil
	}
}

// runFilterFeed hands each mini-block of feed to the filters, until the
// feed is stopped or lost or the server stops. A lost feed (the server
// fell behind the node, or the node stopped) drops every filter: each
// would miss what the node applied meanwhile.
func (s *Server) runFilterFeed(feed *filterFeed, first *chain.MiniBlock) {
	fs := &s.filters
	deliver := func(mb *chain.MiniBlock) bool {
		// A sealed block's logs are read before taking the lock: a read
		// must not hold up polls.
		logs, err := s.sealedLogs(mb)
		fs.mu.Lock()
		defer fs.mu.Unlock()
		if fs.feed != feed {
			return false
		}
		s.deliverLocked(mb, logs, err)
		return true
	}
	if first != nil && !deliver(first) {
		return
	}
	for {
		select {
		case mb, ok := <-feed.ch:
			if ok {
				if !deliver(mb) {
					return
				}
				continue
			}
			fs.mu.Lock()
			if fs.feed != feed {
				fs.mu.Unlock()
				return
			}
			if !ok {
				fs.feed = nil
				for _, f := range fs.filters {
					if f.err == nil {
						f.drop(&rpcError{code: api.CodeServer, msg: "filter dropped: the server lost the node's mini-blocks"})
					}
				}
				n := len(fs.filters)
				fs.mu.Unlock()
				slog.Warn("rpc: the filters' mini-block feed closed; filters dropped", "filters", n)
				return
			}
		case <-feed.stop:
			return
		case <-s.quit:
			feed.close()
			return
		}
	}
}

// janitorInterval is how often the janitor looks for expired filters: a
// filter lives between FilterTimeout and FilterTimeout plus this without
// a poll.
func janitorInterval(timeout time.Duration) time.Duration {
	return min(max(timeout/4, time.Millisecond), time.Minute)
}

// runFilterJanitor removes the filters not polled in time, until no
// filter remains or the server stops.
func (s *Server) runFilterJanitor() {
	fs := &s.filters
	tick := time.NewTicker(janitorInterval(s.cfg.FilterTimeout))
	defer tick.Stop()
	for {
		select {
		case now := <-tick.C:
			fs.mu.Lock()
			for id, f := range fs.filters {
				if now.After(f.deadline) {
					s.removeFilterLocked(id)
				}
			}
			if len(fs.filters) == 0 {
				fs.janitor = false
				fs.mu.Unlock()
				return
			}
			fs.mu.Unlock()
		case <-s.quit:
			return
		}
	}
}

// deliverLocked adds what each filter selects of mb to it: logs are
// those of the block mb seals (sealedLogs' logs, or its error, which
// drops the log filters). A filter that would hold more than
// MaxFilterItems unpolled items is dropped.
func (s *Server) deliverLocked(mb *chain.MiniBlock, logs []*types.Log, logsErr error) {
	var (
		txHashes   []common.Hash
		sealedHash common.Hash
	)
	if mb.Sealed != nil {
		sealedHash = mb.Sealed.Hash()
	}
	for _, f := range s.filters.filters {
		if f.err != nil {
			continue
		}
		switch f.kind {
		case blocksFilter:
			if mb.Sealed != nil {
				f.hashes = append(f.hashes, sealedHash)
			}
		case pendingTxFilter:
			if f.fullTx {
				f.txs = appendPendingTxs(f.txs, mb, sealedHash)
				break
			}
			if txHashes == nil {
				txHashes = make([]common.Hash, len(mb.Txs))
				for i, tx := range mb.Txs {
					txHashes[i] = tx.Hash()
				}
			}
			f.hashes = append(f.hashes, txHashes...)
		case logsFilter:
			if logsErr != nil {
				f.drop(&rpcError{code: api.CodeServer, msg: fmt.Sprintf("filter dropped: the logs of block %v could not be read: %v", mb.Sealed.Number, logsErr)})
				continue
			}
			for _, l := range logs {
				if f.wants(l) {
					f.logs = append(f.logs, l)
				}
			}
		}
		if f.items() > s.cfg.MaxFilterItems {
			f.drop(&rpcError{code: api.CodeServer, msg: fmt.Sprintf("filter dropped: more than %d changes waited for a poll", s.cfg.MaxFilterItems)})
		}
	}
}

// appendPendingTxs appends mb's transactions and where they executed.
func appendPendingTxs(out []pendingTx, mb *chain.MiniBlock, sealedHash common.Hash) []pendingTx {
	var t uint64
	if mb.Sealed != nil {
		t = mb.Sealed.Time
	}
	for i, tx := range mb.Txs {
		loc := txLocation{BlockHash: sealedHash, BlockNumber: mb.Header.BlockNumber, Time: t, MiniBlock: mb.Header.Number}
		if i < len(mb.Receipts) {
			loc.Index, loc.GasPrice = uint64(mb.Receipts[i].TransactionIndex), mb.Receipts[i].EffectiveGasPrice
		}
		out = append(out, pendingTx{tx: tx, loc: loc})
	}
	return out
}

// sealedLogs are the logs of the block mb seals, as eth_getLogs answers
// them (each with the block's hash and time), read from the node; none
// when mb does not seal a block. Logs go out with their block, never
// before: a log's block hash, once given, is the block's.
func (s *Server) sealedLogs(mb *chain.MiniBlock) ([]*types.Log, error) {
	if mb.Sealed == nil {
		return nil, nil
	}
	n := mb.Sealed.Number.Uint64()
	a, err := s.do(context.Background(), &api.Call{Method: api.MethodLogs, Filter: &api.LogFilter{From: api.AtBlock(n), To: api.AtBlock(n)}})
	if err != nil {
		return nil, err
	}
	return marshalLogs(a.Logs), nil
}

// takeFilter refreshes a live filter's deadline and calls take on it,
// under the lock. A dropped filter is removed and its error returned; an
// unknown one is errFilterNotFound.
func (s *Server) takeFilter(id gethrpc.ID, take func(f *filter)) error {
	fs := &s.filters
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f, ok := fs.filters[id]
	if !ok {
		return errFilterNotFound
	}
	if f.err != nil {
		s.removeFilterLocked(id)
		return f.err
	}
	f.deadline = time.Now().Add(s.cfg.FilterTimeout)
	take(f)
	return nil
}

// filterAPI is the filter methods of the eth namespace.
type filterAPI struct{ s *Server }

// NewFilter is eth_newFilter: a filter of the logs of the mini-blocks the
// node applies from now on that the query selects. Numbered fromBlock and
// toBlock bound the new logs' block numbers; latest, pending and no bound
// leave them open (pending is latest here); a block hash applies to
// eth_getFilterLogs only, as in go-ethereum. A log's block hash is zero
// unless its mini-block sealed the block, as in the logs subscription.
func (a *filterAPI) NewFilter(q filterQuery) (gethrpc.ID, error) {
	f := &filter{kind: logsFilter, q: q, from: -1, to: -1}
	bound := func(n *gethrpc.BlockNumber) (int64, bool) {
		switch {
		case n == nil, *n == gethrpc.LatestBlockNumber, *n == gethrpc.PendingBlockNumber:
			return -1, true
		case *n == gethrpc.EarliestBlockNumber:
			return 0, true
		case *n >= 0:
			return int64(*n), true
		}
		return 0, false // safe, finalized: go-ethereum refuses them too
	}
	var okFrom, okTo bool
	f.from, okFrom = bound(q.FromBlock)
	f.to, okTo = bound(q.ToBlock)
	if !okFrom || !okTo || (f.to >= 0 && f.from < 0) || (f.from >= 0 && f.to >= 0 && f.from > f.to) {
		return "", errInvalidBlockRange
	}
	return a.s.installFilter(f)
}

// NewBlockFilter is eth_newBlockFilter: a filter of the hashes of the
// blocks the node seals from now on.
func (a *filterAPI) NewBlockFilter() (gethrpc.ID, error) {
	return a.s.installFilter(&filter{kind: blocksFilter})
}

// NewPendingTransactionFilter is eth_newPendingTransactionFilter: a filter
// of the transactions the node executes from now on (it executes each as
// it arrives), as hashes or, with fullTx, as transaction objects with
// where they executed.
func (a *filterAPI) NewPendingTransactionFilter(fullTx *bool) (gethrpc.ID, error) {
	return a.s.installFilter(&filter{kind: pendingTxFilter, fullTx: fullTx != nil && *fullTx})
}

// GetFilterChanges is eth_getFilterChanges: what the filter collected
// since the last poll (hashes, logs, or transactions), and it refreshes
// the filter's timeout.
func (a *filterAPI) GetFilterChanges(id gethrpc.ID) (any, error) {
	var (
		out     any
		pending []pendingTx
		fullTx  bool
	)
	err := a.s.takeFilter(id, func(f *filter) {
		switch {
		case f.kind == logsFilter:
			out = returnLogs(f.logs)
			f.logs = nil
		case f.kind == pendingTxFilter && f.fullTx:
			pending, fullTx = f.txs, true
			f.txs = nil
		default:
			out = returnHashes(f.hashes)
			f.hashes = nil
		}
	})
	if err != nil {
		return nil, err
	}
	if fullTx { // built out of the lock: it may recover senders
		txs := make([]*rpcTransaction, len(pending))
		for i, p := range pending {
			txs[i] = newRPCTransaction(p.tx, senderOf(p.tx, a.s.signer, common.Address{}), &p.loc)
		}
		return txs, nil
	}
	return out, nil
}

// GetFilterLogs is eth_getFilterLogs: the logs a logs filter's query
// selects, run as eth_getLogs; it refreshes the filter's timeout.
func (a *filterAPI) GetFilterLogs(ctx context.Context, id gethrpc.ID) ([]*types.Log, error) {
	var (
		q      filterQuery
		isLogs bool
	)
	err := a.s.takeFilter(id, func(f *filter) {
		q, isLogs = f.q, f.kind == logsFilter
	})
	if err != nil {
		return nil, err
	}
	if !isLogs {
		return nil, errFilterNotFound
	}
	logs, err := (&ethAPI{a.s}).GetLogs(ctx, q)
	if err != nil {
		return nil, err
	}
	return returnLogs(logs), nil
}

// UninstallFilter is eth_uninstallFilter: whether the filter existed.
func (a *filterAPI) UninstallFilter(id gethrpc.ID) bool {
	fs := &a.s.filters
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if _, ok := fs.filters[id]; !ok {
		return false
	}
	a.s.removeFilterLocked(id)
	return true
}

func returnHashes(hs []common.Hash) []common.Hash {
	if hs == nil {
		return []common.Hash{}
	}
	return hs
}

func returnLogs(ls []*types.Log) []*types.Log {
	if ls == nil {
		return []*types.Log{}
	}
	return ls
}

// Subscription limits.

// subscriptionCounts counts a server's live subscriptions, in all and per
// connection. The zero value is ready.
type subscriptionCounts struct {
	mu      sync.Mutex
	total   int
	perConn map[any]int
}

// acquireSubscription counts a new subscription against the limits, or
// refuses it; release uncounts it. A connection is identified by the
// go-ethereum client the rpc package makes of each WebSocket (or other
// bidirectional) connection it serves and puts in every call's context;
// without one the notifier, which is the call's, stands for it.
func (s *Server) acquireSubscription(ctx context.Context, n *gethrpc.Notifier) (release func(), err error) {
	var conn any = n
	if c, ok := gethrpc.ClientFromContext(ctx); ok {
		conn = c
	}
	sc := &s.subs
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.total >= s.cfg.MaxSubscriptions {
		return nil, &rpcError{code: api.CodeServer, msg: fmt.Sprintf("too many subscriptions: limit %d", s.cfg.MaxSubscriptions)}
	}
	if sc.perConn[conn] >= s.cfg.MaxSubscriptionsPerConn {
		return nil, &rpcError{code: api.CodeServer, msg: fmt.Sprintf("too many subscriptions: limit %d per connection", s.cfg.MaxSubscriptionsPerConn)}
	}
	if sc.perConn == nil {
		sc.perConn = make(map[any]int)
	}
	sc.total++
	sc.perConn[conn]++
	var once sync.Once
	return func() {
		once.Do(func() {
			sc.mu.Lock()
			defer sc.mu.Unlock()
			sc.total--
			if sc.perConn[conn]--; sc.perConn[conn] <= 0 {
				delete(sc.perConn, conn)
			}
		})
	}, nil
}
