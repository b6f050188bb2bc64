package ledger

import (
	"encoding/json"
	"errors"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/state"
)

// proofJSON is go-ethereum's eth_getProof answer (internal/ethapi
// AccountResult).
type proofJSON struct {
	Address      common.Address  `json:"address"`
	AccountProof []string        `json:"accountProof"`
	Balance      *hexutil.Big    `json:"balance"`
	CodeHash     common.Hash     `json:"codeHash"`
	Nonce        hexutil.Uint64  `json:"nonce"`
	StorageHash  common.Hash     `json:"storageHash"`
	StorageProof []slotProofJSON `json:"storageProof"`
}

type slotProofJSON struct {
	Key   string       `json:"key"`
	Value *hexutil.Big `json:"value"`
	Proof []string     `json:"proof"`
}

// serveProof answers eth_getProof at the view's sealed block: the state a
// node keeps proofs of is the newest sealed block's (DESIGN.md §4), so a
// proof at another block is refused, naming the one it can prove.
func (v *View) serveProof(c *api.Call) *api.Answer {
	safe := v.safe.Header.Number.Uint64()
	switch c.Tag.Kind {
	case api.TagLatest, api.TagSafe:
	case api.TagBlock:
		if c.Tag.Number != safe {
			return &api.Answer{Err: api.Errorf(api.KindInvalidInput, "proofs are served for the newest sealed block only (%d), not block %d", safe, c.Tag.Number)}
		}
	default:
		return &api.Answer{Err: api.Errorf(api.KindInvalidInput, "proofs are served for the newest sealed block only (%d), not %v", safe, c.Tag)}
	}
	at := api.Height{MiniBlock: v.safe.Last, Block: safe}
	if v.proofs == nil || v.proofs.Root() != v.safe.Header.Root {
		return &api.Answer{At: at, Err: api.Errorf(api.KindUnavailable, "%v", state.ErrProofsMoved)}
	}
	p, err := v.proofs.Prove(c.Address, c.Keys)
	if errors.Is(err, state.ErrProofsMoved) {
		return &api.Answer{At: at, Err: api.Errorf(api.KindUnavailable, "%v", err)}
	}
	if err != nil {
		return &api.Answer{At: at, Err: api.Errorf(api.KindInternal, "%v", err)}
	}
	out := proofJSON{
		Address: p.Address, AccountProof: hexes(p.Proof), Balance: (*hexutil.Big)(p.Balance.ToBig()),
		CodeHash: p.CodeHash, Nonce: hexutil.Uint64(p.Nonce), StorageHash: p.StorageHash, StorageProof: []slotProofJSON{},
	}
	for _, sp := range p.StorageProof {
		out.StorageProof = append(out.StorageProof, slotProofJSON{
			Key: hexutil.Encode(sp.Key[:]), Value: (*hexutil.Big)(sp.Value.Big()), Proof: hexes(sp.Proof),
		})
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return &api.Answer{At: at, Err: api.Errorf(api.KindInternal, "%v", err)}
	}
	return &api.Answer{At: at, Value: raw}
}

func hexes(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = hexutil.Encode(b)
	}
	return out
}
