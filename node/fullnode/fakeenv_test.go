package fullnode

import "github.com/meganode/meganode/node/internal/nodetest"

type (
	fakeEnv = nodetest.Env
	fakeReq = nodetest.Req
)

var (
	newFakeEnv = nodetest.NewEnv
	testKey    = nodetest.Key
)

const testChainID = nodetest.ChainID

var (
	t0     = nodetest.T0
	logger = nodetest.Logger
	setter = nodetest.Setter
	sink   = nodetest.Sink
)
