package rpc

import (
	"context"
	"fmt"
	"sync"

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
