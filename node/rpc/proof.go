package rpc

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/meganode/meganode/node/api"
)

// GetProof is eth_getProof: the account's and the slots' Merkle proofs
// against the state root of the newest sealed block, which latest, pending
// and safe name here as eth_getBlockByNumber takes them; another block is
// refused, naming the newest sealed one (a node keeps the tries of that
// state only).
func (e *ethAPI) GetProof(ctx context.Context, address common.Address, storageKeys []string, bnh gethrpc.BlockNumberOrHash) (json.RawMessage, error) {
	if len(storageKeys) > api.MaxProofKeys {
		return nil, &invalidParamsError{fmt.Sprintf("too many storage keys: %d, limit %d", len(storageKeys), api.MaxProofKeys)}
	}
	c := &api.Call{Method: api.MethodProof, Address: address, Tag: api.Safe}
	for _, k := range storageKeys {
		key, err := decodeStorageKey(k)
		if err != nil {
			return nil, &invalidParamsError{fmt.Sprintf("%v: %q", err, k)}
		}
		c.Keys = append(c.Keys, key)
	}
	if n, ok := bnh.Number(); !ok || (n != gethrpc.LatestBlockNumber && n != gethrpc.PendingBlockNumber && n != gethrpc.SafeBlockNumber) {
		tag, err := e.s.tag(ctx, &bnh)
		if err != nil {
			return nil, err
		}
		c.Tag = tag
	}
	a, err := e.s.do(ctx, c)
	if err != nil {
		return nil, err
	}
	return a.Value, nil
}
