package properties

import (
	"crypto/ecdsa"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/consensus/misc/eip1559"
	"github.com/ethereum/go-ethereum/consensus/misc/eip4844"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/meganode/meganode/model/contracts"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/exec"
	"github.com/meganode/meganode/node/state"
)

// An honest chain of mini-blocks for the chain checkers' tests, built the
// way the sequencer builds one (node/sequencer/sequencer.go: nextHeader,
// openBlock, tick, seal) but without its clock, pool and ledger.

// Test chain parameters.
const (
	bcChainID      = 424242
	bcGasLimit     = 30_000_000
	bcTokenSupply  = 1_000_000 // each account's initial token balance
	bcBaseMicros   = 1_700_000_000_000_000
	bcMicrosPerMBk = 100_000 // the mini-block interval
)

// bcTx is one planned transaction: who sends what, and the status its
// receipt must have.
type bcTx struct {
	From   int // index in builtChain.keys
	To     common.Address
	Value  *big.Int // ETH moved; nil for none
	Gas    uint64
	Data   []byte
	Status uint64
	// What the tests' expectations are computed from (not from the diffs):
	TokenTo     int      // token transfers: recipient index, -1 otherwise
	TokenAmount *big.Int // token transfers: amount
	Slot        *common.Hash
	SlotValue   common.Hash // probe stores: the raw slot written
}

// builtChain is a genesis and the mini-blocks after it.
type builtChain struct {
	cfg     *params.ChainConfig
	alloc   types.GenesisAlloc // including the system contracts, as the checkers take it
	genesis *types.Block
	seqKey  *ecdsa.PrivateKey // signs the mini-blocks
	keys    []*ecdsa.PrivateKey
	addrs   []common.Address
	token   common.Address // an ERC-20 every account holds bcTokenSupply of
	probe   common.Address // raw storage writes
	sink    common.Address // receives ETH only; absent from the genesis
	minis   []*chain.MiniBlock
	plan    [][]bcTx                 // plan[i][j] is minis[i].Txs[j]
	sealed  map[uint64]*types.Header // sealed headers by block number; 0 is the genesis header
}

// blockHash answers BLOCKHASH as the sequencer's ledger does.
func (c *builtChain) blockHash(n uint64) common.Hash {
	if h, ok := c.sealed[n]; ok {
		return h.Hash()
	}
	return common.Hash{}
}

// hashes are the mini-block hashes, index i for mini-block i+1.
func (c *builtChain) hashes() []common.Hash {
	out := make([]common.Hash, len(c.minis))
	for i, mb := range c.minis {
		out[i] = mb.Hash()
	}
	return out
}

func bcKey(i byte) *ecdsa.PrivateKey {
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte("chainbuild"), []byte{i}))
	if err != nil {
		panic(err)
	}
	return k
}

// buildChain builds two EVM blocks of three mini-blocks each (the second
// block's middle mini-block is empty):
//
//	mini-block 1: #0 token→#1 100; #1 sends 1 ether to sink
//	mini-block 2: #0 probe.store(1, 7); #1 token→#2 more than it holds (reverts)
//	mini-block 3: #2 sends 5 wei to sink                     (seals block 1)
//	mini-block 4: #0 token→#2 50; #2 probe.store(2, 9)
//	mini-block 5: (empty)
//	mini-block 6: #1 sends 3 wei to sink; #0 probe.store(1, 0) (seals block 2)
func buildChain(t testing.TB) *builtChain {
	t.Helper()
	c := &builtChain{
		cfg:    exec.DefaultChainConfig(bcChainID),
		seqKey: bcKey(100),
		token:  common.HexToAddress("0x70c0"),
		probe:  common.HexToAddress("0x9b0e"),
		sink:   common.HexToAddress("0x5151"),
		sealed: map[uint64]*types.Header{},
	}
	alloc := types.GenesisAlloc{}
	tokenStorage := map[common.Hash]common.Hash{}
	for i := range 3 {
		k := bcKey(byte(i))
		c.keys = append(c.keys, k)
		a := crypto.PubkeyToAddress(k.PublicKey)
		c.addrs = append(c.addrs, a)
		alloc[a] = types.Account{Balance: new(big.Int).Mul(big.NewInt(10), big.NewInt(params.Ether))}
		tokenStorage[contracts.TokenBalanceSlot(a)] = common.BigToHash(big.NewInt(bcTokenSupply))
	}
	tokenStorage[contracts.TokenTotalSupplySlot()] = common.BigToHash(big.NewInt(3 * bcTokenSupply))
	alloc[c.token] = types.Account{Code: contracts.Token.Runtime, Storage: tokenStorage, Balance: new(big.Int)}
	alloc[c.probe] = types.Account{Code: contracts.Probe.Runtime, Balance: new(big.Int),
		Storage: map[common.Hash]common.Hash{{31: 1}: {31: 1}}}

	g := &core.Genesis{Config: c.cfg, Alloc: alloc, GasLimit: bcGasLimit, BaseFee: big.NewInt(params.InitialBaseFee)}
	genesis, st, err := exec.Genesis(g)
	if err != nil {
		t.Fatal(err)
	}
	c.genesis = genesis
	c.sealed[0] = genesis.Header()
	c.alloc = types.GenesisAlloc{}
	for a, acc := range alloc { // filling a map: order cannot leak
		c.alloc[a] = acc
	}
	for a, acc := range exec.SystemContracts(c.cfg, g.Timestamp) { // as above
		c.alloc[a] = acc
	}
	ex, err := exec.New(exec.Config{Chain: c.cfg, Policy: exec.DefaultPolicy()})
	if err != nil {
		t.Fatal(err)
	}

	transfer := func(from, to int, amount int64, status uint64) bcTx {
		return bcTx{From: from, To: c.token, Gas: 100_000, Data: contracts.TokenTransfer(c.addrs[to], big.NewInt(amount)),
			Status: status, TokenTo: to, TokenAmount: big.NewInt(amount)}
	}
	pay := func(from int, wei *big.Int) bcTx {
		return bcTx{From: from, To: c.sink, Value: wei, Gas: 21_000, Status: 1, TokenTo: -1}
	}
	store := func(from int, slot, val byte) bcTx {
		s := common.Hash{31: slot}
		return bcTx{From: from, To: c.probe, Gas: 100_000, Data: contracts.ProbeStore(s, common.Hash{31: val}),
			Status: 1, TokenTo: -1, Slot: &s, SlotValue: common.Hash{31: val}}
	}
	blocks := [][][]bcTx{
		{
			{transfer(0, 1, 100, 1), pay(1, big.NewInt(params.Ether))},
			{store(0, 1, 7), transfer(1, 2, 10*bcTokenSupply, 0)},
			{pay(2, big.NewInt(5))},
		},
		{
			{transfer(0, 2, 50, 1), store(2, 2, 9)},
			{},
			{pay(1, big.NewInt(3)), store(0, 1, 0)},
		},
	}

	signer := types.LatestSignerForChainID(c.cfg.ChainID)
	nonces := make([]uint64, len(c.keys))
	parent := genesis.Header()
	headHash := genesis.Hash()
	micros := uint64(bcBaseMicros)
	for _, minis := range blocks {
		// nextHeader and openBlock.
		openMicros := micros
		ts := max(parent.Time+1, openMicros/1_000_000)
		header := &types.Header{
			ParentHash: parent.Hash(), UncleHash: types.EmptyUncleHash, Coinbase: common.HexToAddress("0xc0ffee"),
			Number: new(big.Int).Add(parent.Number, common.Big1), GasLimit: parent.GasLimit, Time: ts,
			Difficulty: new(big.Int), MixDigest: crypto.Keccak256Hash(parent.Hash().Bytes()),
			BaseFee: eip1559.CalcBaseFee(c.cfg, parent),
		}
		if c.cfg.IsShanghai(header.Number, ts) {
			header.WithdrawalsHash = &types.EmptyWithdrawalsHash
		}
		if c.cfg.IsCancun(header.Number, ts) {
			zero, excess := common.Hash{}, eip4844.CalcExcessBlobGas(c.cfg, parent, ts)
			var used uint64
			header.ExcessBlobGas, header.BlobGasUsed, header.ParentBeaconRoot = &excess, &used, &zero
		}
		blk := ex.NewBlock(st, header, c.blockHash)
		blk.Begin()
		var blockTxs []*types.Transaction
		var blockReceipts []*types.Receipt
		var gasBefore uint64
		for index, planned := range minis {
			// pump
			var txs []*types.Transaction
			var receipts []*types.Receipt
			for _, p := range planned {
				to := p.To
				tx := types.MustSignNewTx(c.keys[p.From], signer, &types.DynamicFeeTx{
					ChainID: c.cfg.ChainID, Nonce: nonces[p.From], GasTipCap: big.NewInt(params.GWei),
					GasFeeCap: big.NewInt(10 * params.GWei), Gas: p.Gas, To: &to, Value: p.Value, Data: p.Data,
				})
				r, _, err := blk.ApplyTx(tx)
				if err != nil {
					t.Fatalf("block %v: planned tx refused: %v", header.Number, err)
				}
				if r.Status != p.Status {
					t.Fatalf("block %v: planned tx got status %d, want %d", header.Number, r.Status, p.Status)
				}
				nonces[p.From]++
				txs = append(txs, tx)
				receipts = append(receipts, r)
			}
			// tick
			last := index == len(minis)-1
			var requests [][]byte
			if last {
				if requests, err = blk.End(); err != nil {
					t.Fatal(err)
				}
			}
			txOffset := uint64(blk.TxCount() - len(txs))
			logOffset := uint64(blk.LogCount())
			for _, r := range receipts {
				logOffset -= uint64(len(r.Logs))
			}
			d := blk.Flush()
			if err := st.Apply(d); err != nil {
				t.Fatal(err)
			}
			if index > 0 {
				micros += bcMicrosPerMBk
			}
			mb := &chain.MiniBlock{
				Header: chain.MiniBlockHeader{
					Number: uint64(len(c.minis)) + 1, BlockNumber: header.Number.Uint64(), Index: uint64(index),
					TimeMicros: micros, ParentHash: headHash, GasUsed: blk.GasUsed() - gasBefore,
					TxOffset: txOffset, LogOffset: logOffset,
				},
				Txs: txs, Receipts: receipts, Diff: d,
			}
			gasBefore = blk.GasUsed()
			blockTxs = append(blockTxs, txs...)
			blockReceipts = append(blockReceipts, receipts...)
			if last {
				// seal
				h := types.CopyHeader(header)
				h.Root = st.Root()
				h.TxHash = chain.TxRoot(blockTxs)
				h.ReceiptHash = chain.ReceiptRoot(blockReceipts)
				h.Bloom = types.MergeBloom(blockReceipts)
				h.GasUsed = blk.GasUsed()
				if requests != nil {
					rh := types.CalcRequestsHash(requests)
					h.RequestsHash = &rh
				}
				mb.Sealed = h
			}
			if err := mb.Seal(c.seqKey); err != nil {
				t.Fatal(err)
			}
			c.minis = append(c.minis, mb)
			c.plan = append(c.plan, planned)
			headHash = mb.Hash()
		}
		parent = c.minis[len(c.minis)-1].Sealed
		c.sealed[parent.Number.Uint64()] = parent
		micros += bcMicrosPerMBk
	}
	return c
}

// stateAfter replays the chain's diffs from the genesis allocation up to
// mini-block n (0 for the genesis state).
func (c *builtChain) stateAfter(t testing.TB, n int) *state.Mem {
	t.Helper()
	st, err := state.FromAlloc(c.alloc)
	if err != nil {
		t.Fatal(err)
	}
	for _, mb := range c.minis[:n] {
		if err := st.Apply(mb.Diff); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// TestBuildChainIsTheSequencers checks the builder itself: the chain links,
// every diff applies, every sealed header commits to the state and bodies,
// and the mini-blocks survive their wire encoding. A builder that drifted
// from the sequencer would make the checkers' tests meaningless.
func TestBuildChainIsTheSequencers(t *testing.T) {
	c := buildChain(t)
	if len(c.minis) != 6 || len(c.sealed) != 3 {
		t.Fatalf("%d mini-blocks, %d sealed headers", len(c.minis), len(c.sealed))
	}
	parent := c.genesis.Hash()
	var blockTxs []*types.Transaction
	for i, mb := range c.minis {
		if mb.Header.Number != uint64(i+1) || mb.Header.ParentHash != parent {
			t.Fatalf("mini-block %d: number %d, parent %v, want %v", i+1, mb.Header.Number, mb.Header.ParentHash, parent)
		}
		if err := mb.VerifySigner(crypto.PubkeyToAddress(c.seqKey.PublicKey)); err != nil {
			t.Fatal(err)
		}
		raw, err := mb.Encode()
		if err != nil {
			t.Fatal(err)
		}
		back, err := chain.DecodeMiniBlock(raw)
		if err != nil {
			t.Fatalf("mini-block %d does not decode: %v", i+1, err)
		}
		if back.Hash() != mb.Hash() {
			t.Fatalf("mini-block %d hash changed across the wire", i+1)
		}
		parent = mb.Hash()
		blockTxs = append(blockTxs, mb.Txs...)
		if mb.Sealed != nil {
			st := c.stateAfter(t, i+1)
			if mb.Sealed.Root != st.Root() {
				t.Fatalf("block %v: sealed root %v, state %v", mb.Sealed.Number, mb.Sealed.Root, st.Root())
			}
			if mb.Sealed.TxHash != chain.TxRoot(blockTxs) {
				t.Fatalf("block %v: transactions root", mb.Sealed.Number)
			}
			if mb.Sealed.RequestsHash == nil {
				t.Fatalf("block %v: no requests hash under Prague", mb.Sealed.Number)
			}
			blockTxs = nil
		}
	}
	if c.minis[4].Txs != nil || !c.minis[4].Diff.Empty() {
		t.Fatalf("mini-block 5 should be empty: %d txs, diff %+v", len(c.minis[4].Txs), c.minis[4].Diff)
	}
	if c.sealed[2].ParentHash != c.sealed[1].Hash() || c.sealed[1].ParentHash != c.genesis.Hash() {
		t.Fatal("sealed headers do not link")
	}
}
