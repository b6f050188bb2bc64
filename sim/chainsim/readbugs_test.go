package chainsim_test

import (
	"context"

	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/sequencer"
)

// staleReads is a sequencer whose latest reads come from a cache that
// lags: they are served at the sealed block before its newest. Each answer
// names the height it was read at, truthfully, so reads at a height (P2)
// hold; only real time tells: a client that got a receipt and then reads
// its own balance sees the balance from before. P1 must catch it.
type staleReads struct{ *sequencer.Sequencer }

func (s staleReads) Serve(ctx context.Context, req node.Request) bool {
	c, err := api.CallOf(req)
	if err != nil || !c.Method.IsRead() || c.Tag.Kind != api.TagLatest || s.Ledger() == nil || s.Ledger().Safe() == nil {
		return s.Sequencer.Serve(ctx, req)
	}
	safe := s.Ledger().Safe().Header.Number.Uint64()
	if safe < 2 {
		return s.Sequencer.Serve(ctx, req)
	}
	lagged := *c
	lagged.Tag = api.AtBlock(safe - 1)
	return s.Sequencer.Serve(ctx, rewritten{req, lagged.Encode()})
}

// OnRequest sends the step's reads (if any come there) the same way.
func (s staleReads) OnRequest(req node.Request) {
	if s.Serve(context.Background(), req) {
		return
	}
	s.Sequencer.OnRequest(req)
}

// rewritten is a request with another body; answers go to the original.
type rewritten struct {
	node.Request
	body []byte
}

func (r rewritten) Body() []byte { return r.body }
