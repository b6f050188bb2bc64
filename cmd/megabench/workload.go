package main

import (
	"crypto/ecdsa"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"math/big"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/meganode/meganode/model"
	"github.com/meganode/meganode/model/contracts"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/exec"
	"github.com/meganode/meganode/node/state"
)

const (
	chainID    = 424242
	miniBlock  = 1000 // transfers per mini-block (one Flush)
	blockMinis = 10   // mini-blocks per sealed block (one Root in root_key_updates_per_s)
	txGas      = 60_000
	gasLimit   = 10_000_000_000
)

var (
	tokenAddr = common.HexToAddress("0x00000000000000000000000000000000000070c0")
	coinbase  = common.HexToAddress("0x00000000000000000000000000000000000c0b1e")
	baseFee   = big.NewInt(params.GWei)
)

// workload is the genesis and the signed transfers every figure runs.
type workload struct {
	ex      *exec.Executor
	config  *params.ChainConfig
	gen     *core.Genesis      // what the sequencer of the witness figures starts from
	alloc   types.GenesisAlloc // with the system contracts, for the reference
	genesis *state.Mem         // never modified: runs work on copies
	header  *types.Header
	signer  types.Signer
	txs     []*types.Transaction // senders recovered
	raw     [][]byte             // the same transactions' binary encodings

	// From the check pass.
	diffs       []*chain.Diff // the mini-block (Flush) diffs, in order
	txDiffBytes int           // total encoded size of the per-transaction diffs

	// From prepareWitness: the sealed blocks of the witness figures.
	wit *witnessRun
}

func getHash(uint64) common.Hash { return common.Hash{} }

// newWorkload builds a genesis with holders funded EOAs that each hold
// tokens, and n signed random transfers between them.
func newWorkload(holders, n int) (*workload, error) {
	cfg := exec.DefaultChainConfig(chainID)
	ex, err := exec.New(exec.Config{Chain: cfg, Policy: exec.DefaultPolicy()})
	if err != nil {
		return nil, err
	}
	keys := make([]*ecdsa.PrivateKey, holders)
	addrs := make([]common.Address, holders)
	alloc := types.GenesisAlloc{}
	tokens := new(big.Int).Exp(big.NewInt(10), big.NewInt(24), nil) // per holder
	storage := map[common.Hash]common.Hash{
		contracts.TokenTotalSupplySlot(): common.BigToHash(new(big.Int).Mul(tokens, big.NewInt(int64(holders)))),
	}
	for i := range keys {
		if keys[i], err = crypto.ToECDSA(crypto.Keccak256(binary.BigEndian.AppendUint64(nil, uint64(i)))); err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		addrs[i] = crypto.PubkeyToAddress(keys[i].PublicKey)
		alloc[addrs[i]] = types.Account{Balance: new(big.Int).Set(tokens)} // 1e6 ether
		storage[contracts.TokenBalanceSlot(addrs[i])] = common.BigToHash(tokens)
	}
	alloc[tokenAddr] = types.Account{Code: contracts.Token.Runtime, Balance: new(big.Int), Storage: storage}

	g := &core.Genesis{Config: cfg, GasLimit: gasLimit, BaseFee: baseFee, Difficulty: new(big.Int), Alloc: alloc}
	gblock, gst, err := exec.Genesis(g)
	if err != nil {
		return nil, err
	}
	w := &workload{ex: ex, config: cfg, gen: g, genesis: gst, alloc: maps.Clone(alloc)}
	for addr, acc := range exec.SystemContracts(cfg, g.Timestamp) { // filling a map: order cannot leak
		if _, ok := w.alloc[addr]; !ok {
			w.alloc[addr] = acc
		}
	}
	w.header = &types.Header{
		ParentHash: gblock.Hash(), Number: big.NewInt(1), Time: gblock.Time() + 1,
		Coinbase: coinbase, GasLimit: gasLimit, BaseFee: gblock.BaseFee(),
		Difficulty: new(big.Int), ExcessBlobGas: new(uint64), BlobGasUsed: new(uint64),
	}
	w.signer = ex.Signer(w.header)

	// The transfers: random distinct pairs, each sender's nonces in order.
	rng := rand.New(rand.NewPCG(0x6d656761, 0x62656e63))
	from := make([]int, n)
	data := make([]*types.DynamicFeeTx, n)
	nonces := make([]uint64, holders)
	for i := range data {
		f, t := rng.IntN(holders), rng.IntN(holders-1)
		if t >= f {
			t++
		}
		from[i] = f
		data[i] = &types.DynamicFeeTx{
			ChainID: cfg.ChainID, Nonce: nonces[f],
			GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(2 * params.GWei), Gas: txGas,
			To: &tokenAddr, Data: contracts.TokenTransfer(addrs[t], big.NewInt(1+rng.Int64N(1000))),
		}
		nonces[f]++
	}
	w.txs, w.raw = make([]*types.Transaction, n), make([][]byte, n)
	errs := make([]error, n)
	parallel(n, func(i int) {
		tx := types.MustSignNewTx(keys[from[i]], w.signer, data[i])
		if _, errs[i] = types.Sender(w.signer, tx); errs[i] == nil {
			w.raw[i], errs[i] = tx.MarshalBinary()
		}
		w.txs[i] = tx
	})
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("transaction %d: %w", i, err)
		}
	}
	return w, nil
}

// parallel calls f(0) … f(n-1) on all CPUs (setup only, never timed).
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	workers := runtime.NumCPU()
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				f(i)
			}
		})
	}
	wg.Wait()
}

// endsMini reports whether transfer i closes a mini-block.
func endsMini(i, n int) bool { return (i+1)%miniBlock == 0 || i+1 == n }

// check runs every transfer through meganode's executor and through the
// go-ethereum StateDB model side by side (untimed). Every receipt must be
// successful and equal on both, and the state roots must be equal after the
// first mini-block and at the end. It records the mini-block diffs and the
// per-transaction diff sizes the diff figures use.
func (w *workload) check(log io.Writer) error {
	st := w.genesis.Copy().(*state.Mem)
	b := w.ex.NewBlock(st, w.header, getHash)
	ref, err := model.NewReference(w.config, w.alloc)
	if err != nil {
		return err
	}
	if got, want := ref.Root(), st.Root(); got != want {
		return fmt.Errorf("genesis: go-ethereum root %v, meganode root %v", got, want)
	}
	rb, err := ref.NewBlock(w.header, getHash)
	if err != nil {
		return err
	}
	for i, tx := range w.txs {
		r, d, err := b.ApplyTx(tx)
		if err != nil {
			return fmt.Errorf("transfer %d: meganode: %w", i, err)
		}
		rr, err := rb.ApplyTx(tx)
		if err != nil {
			return fmt.Errorf("transfer %d: go-ethereum: %w", i, err)
		}
		if r.Status != types.ReceiptStatusSuccessful || rr.Status != types.ReceiptStatusSuccessful {
			return fmt.Errorf("transfer %d failed: status %d (meganode), %d (go-ethereum)", i, r.Status, rr.Status)
		}
		if diff := model.ReceiptsEqual(r, rr); diff != "" {
			return fmt.Errorf("transfer %d: receipts differ: %s", i, diff)
		}
		w.txDiffBytes += len(d.Encode())
		if !endsMini(i, len(w.txs)) {
			continue
		}
		d = b.Flush()
		if err := st.Apply(d); err != nil {
			return err
		}
		w.diffs = append(w.diffs, d)
		if len(w.diffs) == 1 || i+1 == len(w.txs) {
			got, want := st.Root(), rb.Root()
			if got != want {
				return fmt.Errorf("after %d transfers: meganode root %v, go-ethereum root %v", i+1, got, want)
			}
			fmt.Fprintf(log, "check: %d transfers successful and receipts equal on both paths, state root %v on both\n", i+1, got)
		}
	}
	return nil
}
