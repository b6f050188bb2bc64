package exec

import (
	"fmt"
	"maps"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
	"github.com/meganode/meganode/node/state"
)

// SystemContracts returns the system contracts the fork rules at genesis
// call into: the EIP-4788 beacon roots contract from Cancun, and from Prague
// the EIP-2935 history contract and the EIP-7002 and EIP-7251 queues.
func SystemContracts(cfg *params.ChainConfig, timestamp uint64) types.GenesisAlloc {
	all := core.SystemContractAllocs()
	out := types.GenesisAlloc{}
	if cfg.IsCancun(common.Big0, timestamp) {
		out[params.BeaconRootsAddress] = all[params.BeaconRootsAddress]
	}
	if cfg.IsPrague(common.Big0, timestamp) {
		for _, a := range []common.Address{params.HistoryStorageAddress, params.WithdrawalQueueAddress, params.ConsolidationQueueAddress} {
			out[a] = all[a]
		}
	}
	return out
}

// Genesis builds the genesis state and block of g, with the system
// contracts its fork rules need added to the allocation (an allocation that
// already holds one keeps its own). The block's state root is this
// package's; it is checked against go-ethereum's computation of the same
// allocation, so a genesis file gives the same block here as in geth.
func Genesis(g *core.Genesis) (*types.Block, *state.Mem, error) {
	if g.Config == nil {
		return nil, nil, fmt.Errorf("genesis: no chain config")
	}
	withSys := *g
	withSys.Alloc = maps.Clone(g.Alloc)
	if withSys.Alloc == nil {
		withSys.Alloc = types.GenesisAlloc{}
	}
	for addr, acc := range SystemContracts(g.Config, g.Timestamp) { // filling a map: order cannot leak
		if _, ok := withSys.Alloc[addr]; !ok {
			withSys.Alloc[addr] = acc
		}
	}
	st, err := state.FromAlloc(withSys.Alloc)
	if err != nil {
		return nil, nil, fmt.Errorf("genesis: %w", err)
	}
	block := withSys.ToBlock()
	if root := st.Root(); root != block.Root() {
		return nil, nil, fmt.Errorf("genesis: state root %v, go-ethereum computes %v", root, block.Root())
	}
	return block, st, nil
}
