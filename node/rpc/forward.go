package rpc

import (
	"context"
	"fmt"
	"log/slog"
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

// forwarder dials the sequencer once, on first use.
type forwarder struct {
	url  string
	once sync.Once
	c    *gethrpc.Client
	err  error
}

func (f *forwarder) client(ctx context.Context) (*gethrpc.Client, error) {
	f.once.Do(func() { f.c, f.err = gethrpc.DialContext(context.WithoutCancel(ctx), f.url) })
	return f.c, f.err
}

func (f *forwarder) close() {
	if f.c != nil {
		f.c.Close()
	}
}

// forward calls method on the sequencer. It reports false when the server
// does not forward.
func (s *Server) forward(ctx context.Context, out any, method string, args ...any) (bool, error) {
	if s.fwd == nil {
		return false, nil
	}
	c, err := s.fwd.client(ctx)
	if err != nil {
		return true, &rpcError{code: api.CodeServer, msg: fmt.Sprintf("forwarding to the sequencer at %s: %v", s.fwd.url, err)}
	}
	if err := c.CallContext(ctx, out, method, args...); err != nil {
		if _, ok := err.(gethrpc.Error); ok {
			return true, err // the sequencer's own error, code and data kept
		}
		return true, &rpcError{code: api.CodeServer, msg: fmt.Sprintf("forwarding to the sequencer at %s: %v", s.fwd.url, err)}
	}
	return true, nil
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
