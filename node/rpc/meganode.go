package rpc

import (
	"context"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
)

// GetBlockWitness is meganode_getBlockWitness: the witness of sealed block
// number, in go-ethereum's RLP encoding (core/stateless.Witness), which a
// stateless client checks the block against with core.ExecuteStateless, as
// the provers do. The sequencer keeps the witnesses DA has not taken yet,
// and 64 blocks more; another block's gets -32000 "not found".
func (m *meganodeAPI) GetBlockWitness(ctx context.Context, number hexutil.Uint64) (hexutil.Bytes, error) {
	a, err := m.s.do(ctx, &api.Call{Method: api.MethodWitness, Number: uint64(number)})
	if err != nil {
		return nil, err
	}
	return a.Value, nil
}

// attestationJSON is a prover's signed attestation of a block.
type attestationJSON struct {
	Number    hexutil.Uint64 `json:"number"`
	Hash      common.Hash    `json:"hash"`
	PreRoot   common.Hash    `json:"preStateRoot"`
	PostRoot  common.Hash    `json:"postStateRoot"`
	Prover    common.Address `json:"prover"`
	Signature hexutil.Bytes  `json:"signature"`
	Raw       hexutil.Bytes  `json:"raw"`
}

// GetAttestations is meganode_getAttestations: the attestations of block
// number the node accepted from its configured provers (a fullnode keeps
// them from 1024 blocks below the finalized one up), one per prover, by
// prover address: each names the block hash it attests, which the client
// compares with the block it knows, and carries its signature and
// encoding, so that the client can check it. The sequencer, which does not
// track finality, refuses it, naming a fullnode.
func (m *meganodeAPI) GetAttestations(ctx context.Context, number hexutil.Uint64) ([]attestationJSON, error) {
	a, err := m.s.do(ctx, &api.Call{Method: api.MethodAttestations, Number: uint64(number)})
	if err != nil {
		return nil, err
	}
	out := make([]attestationJSON, 0, len(a.Txs))
	for _, raw := range a.Txs {
		att, err := chain.DecodeAttestation(raw)
		if err != nil {
			return nil, &rpcError{code: api.CodeInternal, msg: "malformed attestation: " + err.Error()}
		}
		signer, err := att.Signer()
		if err != nil {
			return nil, &rpcError{code: api.CodeInternal, msg: "attestation signature: " + err.Error()}
		}
		out = append(out, attestationJSON{Number: hexutil.Uint64(att.Number), Hash: att.Hash, PreRoot: att.PreRoot,
			PostRoot: att.PostRoot, Prover: signer, Signature: att.Sig, Raw: raw})
	}
	return out, nil
}
