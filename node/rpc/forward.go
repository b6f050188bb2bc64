package rpc

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common/hexutil"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/meganode/meganode/node/api"
)

// Forwarding: a node that does not sequence (a fullnode) sends the
// transactions its clients send to the sequencer's JSON-RPC endpoint
// (Config.Forward), as op-geth forwards to its sequencer, so that a wallet
// pointed at a read node can transact. The stateless checks run here
// first; the sequencer's answer, error code and data included, comes back
// unchanged.

// forwarder dials each sequencer once, on first use. A sequencer group
// has several (Config.Forward lists them, comma-separated): sends go to
// the one that led last, and move on to the next when it answers that it
// does not lead (or cannot be reached), each at most once a send, and
// once around again after a pause while the group elects.
type forwarder struct {
	urls []string
	mu   sync.Mutex
	cs   []*gethrpc.Client
	cur  int // the one that led last
}

func newForwarder(list string) *forwarder {
	var urls []string
	for _, u := range strings.Split(list, ",") {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, u)
		}
	}
	return &forwarder{urls: urls, cs: make([]*gethrpc.Client, len(urls))}
}

func (f *forwarder) client(ctx context.Context, i int) (*gethrpc.Client, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cs[i] == nil {
		c, err := gethrpc.DialContext(context.WithoutCancel(ctx), f.urls[i])
		if err != nil {
			return nil, err
		}
		f.cs[i] = c
	}
	return f.cs[i], nil
}

func (f *forwarder) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.cs {
		if c != nil {
			c.Close()
		}
	}
}

// notLeader reports whether a sequencer's error says it does not lead its
// group now (node/sequencer: a member that does not lead refuses sends).
func notLeader(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "not the sequencer group's leader") || strings.Contains(msg, "the sequencer group is electing a leader")
}

// forwardRounds bounds the passes over a group's sequencers one send
// makes, and forwardPause is the wait between two (an election takes tens
// of milliseconds).
const (
	forwardRounds = 3
	forwardPause  = 50 * time.Millisecond
)

// forward calls method on the sequencer. It reports false when the server
// does not forward.
func (s *Server) forward(ctx context.Context, out any, method string, args ...any) (bool, error) {
	f := s.fwd
	if f == nil {
		return false, nil
	}
	f.mu.Lock()
	start := f.cur
	f.mu.Unlock()
	var last error
	for round := range forwardRounds {
		if round > 0 {
			select {
			case <-ctx.Done():
				return true, &rpcError{code: api.CodeServer, msg: fmt.Sprintf("forwarding to the sequencer: %v (last: %v)", ctx.Err(), last)}
			case <-time.After(forwardPause):
			}
		}
		for k := range f.urls {
			i := (start + k) % len(f.urls)
			c, err := f.client(ctx, i)
			if err == nil {
				err = c.CallContext(ctx, out, method, args...)
			}
			if err == nil {
				f.mu.Lock()
				f.cur = i
				f.mu.Unlock()
				return true, nil
			}
			if _, ok := err.(gethrpc.Error); ok && !notLeader(err) {
				return true, err // the sequencer's own error, code and data kept
			}
			if ctx.Err() != nil {
				return true, &rpcError{code: api.CodeServer, msg: fmt.Sprintf("forwarding to the sequencer at %s: %v", f.urls[i], err)}
			}
			last = err
			if len(f.urls) == 1 {
				if _, ok := err.(gethrpc.Error); ok {
					return true, err
				}
				return true, &rpcError{code: api.CodeServer, msg: fmt.Sprintf("forwarding to the sequencer at %s: %v", f.urls[i], err)}
			}
		}
	}
	return true, &rpcError{code: api.CodeServer, msg: fmt.Sprintf("forwarding to the sequencer group (%s): no member leads now: %v", strings.Join(f.urls, ", "), last)}
}

// MaxForwardCatchUp bounds how long a forwarded synchronous send waits
// for this node to hold the receipt's block (awaitBlock).
const MaxForwardCatchUp = 2 * time.Second

// awaitBlock waits until this node holds sealed block number (a receipt's
// blockNumber, as JSON), so that a wallet that sent through this node and
// got its receipt finds the receipt's block here next: read your writes.
// It gives up after MaxForwardCatchUp or when ctx ends (the receipt goes
// back anyway: it is the sequencer's, and true).
func (s *Server) awaitBlock(ctx context.Context, number any) {
	str, _ := number.(string)
	n, err := hexutil.DecodeUint64(str)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, MaxForwardCatchUp)
	defer cancel()
	for {
		a, err := s.do(ctx, &api.Call{Method: api.MethodHead})
		if err == nil && a.Safe >= n {
			return
		}
		select {
		case <-ctx.Done():
			slog.Warn("rpc: a forwarded send's block did not reach this node in time", "block", n, "waited", MaxForwardCatchUp)
			return
		case <-time.After(2 * time.Millisecond):
		}
	}
}
