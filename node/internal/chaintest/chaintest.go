// Package chaintest drives a real sequencer by hand to produce a chain for
// the tests of the roles that consume one (fullnodes, provers): its
// mini-blocks as published, the state root after each, and the sealed
// blocks' bundles. It is only for tests.
package chaintest

import (
	"crypto/ecdsa"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/exec"
	"github.com/meganode/meganode/node/internal/nodetest"
	"github.com/meganode/meganode/node/memdisk"
	"github.com/meganode/meganode/node/sequencer"
)

// Stream is what a real sequencer published, with the state root it had
// after each mini-block.
type Stream struct {
	Gen     *core.Genesis
	SeqKey  *ecdsa.PrivateKey
	Keys    []*ecdsa.PrivateKey
	Raws    [][]byte      // Raws[i] is mini-block i+1
	Roots   []common.Hash // Roots[n]: after mini-block n
	Bundles [][]byte      // Bundles[i] is sealed block i+1's bundle, as gossiped
	Seq     *sequencer.Sequencer
	Env     *nodetest.Env
}

// Sequencer is the address of the stream's sequencer key.
func (s *Stream) Sequencer() common.Address { return crypto.PubkeyToAddress(s.SeqKey.PublicKey) }

// Produce runs a sequencer for n mini-blocks of K per block, sending one or
// two transactions before each: transfers, calls that log, and calls that
// store, from three accounts.
func Produce(t testing.TB, n, K int) *Stream { return ProduceLying(t, n, K, nil) }

// ProduceLying is Produce with a sequencer whose diffs pass through alter
// (sequencer.Config.AlterDiff): a self-consistent lie, where diffs, roots
// and witnesses agree and only re-execution disagrees.
func ProduceLying(t testing.TB, n, K int, alter func(*chain.MiniBlockHeader, *chain.Diff) *chain.Diff) *Stream {
	t.Helper()
	s := &Stream{SeqKey: nodetest.Key("sequencer", 0)}
	for i := range 3 {
		s.Keys = append(s.Keys, nodetest.Key("account", i))
	}
	s.Gen = nodetest.Genesis(s.Keys, nil)
	seq, err := sequencer.New(sequencer.Config{Genesis: s.Gen, Key: s.SeqKey, MiniBlockInterval: 10 * time.Millisecond, MiniBlocksPerBlock: K, MinGap: -1, BlockGap: -1, AlterDiff: alter})
	if err != nil {
		t.Fatal(err)
	}
	env := nodetest.NewEnv("seq", memdisk.New(), nodetest.T0.Add(time.Second))
	if err := seq.Start(env); err != nil {
		t.Fatal(err)
	}
	env.CompleteSyncs(seq)
	s.Seq, s.Env = seq, env
	gb, _, err := exec.Genesis(s.Gen)
	if err != nil {
		t.Fatal(err)
	}
	s.Roots = []common.Hash{gb.Root()}
	signer := types.LatestSignerForChainID(big.NewInt(nodetest.ChainID))
	nonces := make([]uint64, len(s.Keys))
	for i := range n {
		var reqs []*nodetest.Req
		for j := range 1 + i%2 {
			ki := (i + j) % len(s.Keys)
			to, data, gas := nodetest.Sink, []byte(nil), uint64(21_000)
			switch (i + j) % 3 {
			case 1:
				to, gas = nodetest.Logger, 100_000
			case 2:
				to, gas, data = nodetest.Setter, 100_000, common.BigToHash(big.NewInt(int64(i+1))).Bytes()
			}
			tx := types.MustSignNewTx(s.Keys[ki], signer, &types.DynamicFeeTx{ChainID: big.NewInt(nodetest.ChainID), Nonce: nonces[ki],
				GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(10 * params.GWei), Gas: gas, To: &to, Value: big.NewInt(int64(i + 1)), Data: data})
			nonces[ki]++
			raw, _ := tx.MarshalBinary()
			req := &nodetest.Req{Call: (&api.Call{Method: api.MethodSendTx, Raw: raw}).Encode()}
			seq.OnRequest(req)
			reqs = append(reqs, req)
		}
		env.Clock = env.Clock.Add(10 * time.Millisecond)
		env.RunDue(t, seq)
		for _, req := range reqs { // answered once durable
			if len(req.Answers) != 1 {
				t.Fatalf("send: %d answers", len(req.Answers))
			}
			if a, err := api.DecodeAnswer(req.Answers[0]); err != nil || a.Err != nil {
				t.Fatalf("send: %v %v", err, a.Err)
			}
		}
		if len(env.Published) != i+1 {
			t.Fatalf("published %d mini-blocks after %d ticks", len(env.Published), i+1)
		}
		s.Roots = append(s.Roots, seq.Ledger().State().Root())
	}
	s.Raws = env.Published
	for _, g := range env.Gossip {
		if g.Topic == chain.TopicBlocks {
			s.Bundles = append(s.Bundles, g.Msg)
		}
	}
	return s
}

// Raw returns mini-block n's encoding.
func (s *Stream) Raw(n int) []byte { return s.Raws[n-1] }

// Resigned decodes mini-block n, changes it and signs it again with key.
func (s *Stream) Resigned(t testing.TB, n int, key *ecdsa.PrivateKey, change func(*chain.MiniBlock)) []byte {
	t.Helper()
	mb, err := chain.DecodeMiniBlock(s.Raw(n))
	if err != nil {
		t.Fatal(err)
	}
	if change != nil {
		change(mb)
	}
	if err := mb.Seal(key); err != nil {
		t.Fatal(err)
	}
	raw, err := mb.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
