package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	ethereum "github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/params"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/meganode/meganode/model/contracts"
)

// loadOptions drive the load generator.
type loadOptions struct {
	rpc         string
	funder      *ecdsa.PrivateKey
	senders     int
	duration    time.Duration
	rate        float64 // transfers per second in all; 0: each sender as fast as it gets receipts
	sync        bool    // eth_sendRawTransactionSync instead of send + receipt polling
	poll        time.Duration
	gasTipGwei  int64
	setupWithin time.Duration
	// paced: with rate, the i-th transfer is sent at i/rate after the
	// start, whichever sender is free then, so that none is skipped when
	// a timer fires late on a busy machine (a ticker drops those ticks).
	paced bool
}

// loadResult is what a load run measured.
type loadResult struct {
	Sent, Confirmed, Failed int
	FirstErr                string // the first failure, described
	Elapsed                 time.Duration
	Latencies               []time.Duration // send to receipt, sorted
}

func (r *loadResult) percentile(p float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	return r.Latencies[min(len(r.Latencies)-1, int(p*float64(len(r.Latencies))))]
}

func (r *loadResult) tps() float64 { return float64(r.Confirmed) / r.Elapsed.Seconds() }

func load(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := loadOptions{}
	fs.StringVar(&o.rpc, "rpc", "http://127.0.0.1:8545", "JSON-RPC endpoint of any Ethereum node that accepts transactions")
	funder := fs.String("funder-key", "", "hex private key of a funded account; default: devnet dev account 0")
	fs.IntVar(&o.senders, "senders", 32, "sending accounts (each with one transfer in flight when --rate is 0)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to send")
	fs.Float64Var(&o.rate, "rate", 0, "transfers per second in all; 0 saturates")
	fs.BoolVar(&o.sync, "sync", false, "send with eth_sendRawTransactionSync (EIP-7966) instead of polling receipts")
	fs.DurationVar(&o.poll, "poll", 5*time.Millisecond, "receipt polling interval")
	fs.Int64Var(&o.gasTipGwei, "tip", 1, "priority fee in gwei")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: meganode load [--rpc URL] [flags]

Deploys an ERC-20, funds sender accounts with ETH and tokens, then sends
token transfers for --duration and prints the confirmed transfers per second
and the send-to-receipt latency. It speaks plain JSON-RPC, so it can be
pointed at any Ethereum node (with --funder-key for a funded account there).`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitFlag(err)
	}
	o.funder = DevKey(0)
	if *funder != "" {
		k, err := crypto.HexToECDSA(trimHex(*funder))
		if err != nil {
			fmt.Fprintf(stderr, "meganode load: funder key: %v\n", err)
			return 2
		}
		o.funder = k
	}
	o.setupWithin = 2 * time.Minute
	res, err := runLoad(context.Background(), o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "meganode load: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "load: %d transfers confirmed of %d sent (%d failed) in %v\n", res.Confirmed, res.Sent, res.Failed, res.Elapsed.Round(time.Millisecond))
	if res.FirstErr != "" {
		fmt.Fprintf(stdout, "load: the first failure: %s\n", res.FirstErr)
	}
	fmt.Fprintf(stdout, "erc20_tps %.0f tx/s\nlatency_ms_p50 %.1f ms\nlatency_ms_p99 %.1f ms\n", res.tps(),
		float64(res.percentile(0.5).Microseconds())/1000, float64(res.percentile(0.99).Microseconds())/1000)
	return 0
}

func trimHex(s string) string {
	if len(s) >= 2 && (s[:2] == "0x" || s[:2] == "0X") {
		return s[2:]
	}
	return s
}

// loadClient is one JSON-RPC connection with the chain's facts.
type loadClient struct {
	rpc     *gethrpc.Client
	eth     *ethclient.Client
	signer  types.Signer
	chainID *big.Int
	feeCap  *big.Int
	tip     *big.Int
}

func dialLoad(ctx context.Context, o loadOptions) (*loadClient, error) {
	// Keep a connection per sender open: a fresh connection per call
	// would leave thousands of sockets in TIME_WAIT.
	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: 4 * o.senders, MaxIdleConnsPerHost: 4 * o.senders, IdleConnTimeout: time.Minute}}
	c, err := gethrpc.DialOptions(ctx, o.rpc, gethrpc.WithHTTPClient(hc))
	if err != nil {
		return nil, err
	}
	eth := ethclient.NewClient(c)
	id, err := eth.ChainID(ctx)
	if err != nil {
		return nil, fmt.Errorf("eth_chainId: %w", err)
	}
	head, err := eth.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("latest header: %w", err)
	}
	tip := big.NewInt(o.gasTipGwei * params.GWei)
	fee := new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(4)), tip)
	return &loadClient{rpc: c, eth: eth, signer: types.LatestSignerForChainID(id), chainID: id, feeCap: fee, tip: tip}, nil
}

// send signs and sends one transaction and waits for its receipt.
func (c *loadClient) send(ctx context.Context, o loadOptions, key *ecdsa.PrivateKey, nonce uint64, to common.Address, value *big.Int, gas uint64, data []byte) (*types.Receipt, error) {
	var toPtr *common.Address
	if to != (common.Address{}) {
		toPtr = &to
	}
	tx, err := types.SignNewTx(key, c.signer, &types.DynamicFeeTx{ChainID: c.chainID, Nonce: nonce, GasTipCap: c.tip, GasFeeCap: c.feeCap, Gas: gas, To: toPtr, Value: value, Data: data})
	if err != nil {
		return nil, err
	}
	raw, err := tx.MarshalBinary()
	if err != nil {
		return nil, err
	}
	if o.sync {
		var r *types.Receipt
		if err := c.rpc.CallContext(ctx, &r, "eth_sendRawTransactionSync", hexutil.Bytes(raw)); err != nil {
			return nil, err
		}
		return r, nil
	}
	if err := c.rpc.CallContext(ctx, nil, "eth_sendRawTransaction", hexutil.Bytes(raw)); err != nil {
		return nil, err
	}
	for {
		r, err := c.eth.TransactionReceipt(ctx, tx.Hash())
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, ethereum.NotFound) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(o.poll):
		}
	}
}

func senderKey(i int) *ecdsa.PrivateKey {
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte(fmt.Sprintf("meganode load sender %d", i))))
	if err != nil {
		panic(err)
	}
	return k
}

// runLoad sets the load up (token, funded senders) and runs it.
func runLoad(ctx context.Context, o loadOptions, log io.Writer) (*loadResult, error) {
	c, err := dialLoad(ctx, o)
	if err != nil {
		return nil, err
	}
	defer c.rpc.Close()
	s, err := setupLoad(ctx, c, o, log)
	if err != nil {
		return nil, err
	}
	return driveLoad(ctx, c, o, s)
}

// loadSetup is what setting the load up made on the chain: the token and
// the senders holding ETH and tokens. Runs with up to len(keys) senders
// can reuse it.
type loadSetup struct {
	token common.Address
	keys  []*ecdsa.PrivateKey
}

// fundWindow is how many of the funder's transactions are in the pool at
// once: well below the per-sender bounds of nodes' pools (meganode holds
// 64 per sender, go-ethereum guarantees 16 executable ones and takes more
// while the pool has room).
const fundWindow = 32

// setupLoad deploys the token and funds o.senders senders from o.funder.
func setupLoad(ctx context.Context, c *loadClient, o loadOptions, log io.Writer) (*loadSetup, error) {
	setup, cancel := context.WithTimeout(ctx, o.setupWithin)
	defer cancel()
	funder := crypto.PubkeyToAddress(o.funder.PublicKey)
	nonce, err := c.eth.PendingNonceAt(setup, funder)
	if err != nil {
		return nil, err
	}
	supply := new(big.Int).Mul(big.NewInt(1_000_000_000), big.NewInt(params.Ether))
	r, err := c.send(setup, o, o.funder, nonce, common.Address{}, new(big.Int), 3_000_000, contracts.TokenDeployCode("Load", "LOAD", supply))
	if err != nil || r.Status != types.ReceiptStatusSuccessful {
		return nil, fmt.Errorf("deploying the token: %v (receipt %+v)", err, r)
	}
	token := r.ContractAddress
	nonce++
	fmt.Fprintf(log, "load: token at %s; funding %d senders\n", token, o.senders)
	// Fund the senders: ETH and tokens, from the one funder account, so in
	// nonce order. Each window of transactions goes as one JSON-RPC batch
	// (which a node runs in order), then their receipts are awaited.
	s := &loadSetup{token: token, keys: make([]*ecdsa.PrivateKey, o.senders)}
	eth := new(big.Int).Mul(big.NewInt(10), big.NewInt(params.Ether))
	tokens := new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(params.Ether))
	var window []*types.Transaction
	for i := range o.senders {
		s.keys[i] = senderKey(i)
		addr := crypto.PubkeyToAddress(s.keys[i].PublicKey)
		for _, tx := range []*types.DynamicFeeTx{
			{To: &addr, Value: eth, Gas: 21_000},
			{To: &token, Value: new(big.Int), Gas: 100_000, Data: contracts.TokenTransfer(addr, tokens)},
		} {
			tx.ChainID, tx.Nonce, tx.GasTipCap, tx.GasFeeCap = c.chainID, nonce, c.tip, c.feeCap
			nonce++
			signed, err := types.SignNewTx(o.funder, c.signer, tx)
			if err != nil {
				return nil, err
			}
			if window = append(window, signed); len(window) == fundWindow {
				if err := c.sendAll(setup, window, o.poll); err != nil {
					return nil, fmt.Errorf("funding the senders: %w", err)
				}
				window = window[:0]
			}
		}
	}
	if err := c.sendAll(setup, window, o.poll); err != nil {
		return nil, fmt.Errorf("funding the senders: %w", err)
	}
	return s, nil
}

// sendAll sends txs in one JSON-RPC batch and waits until each has a
// successful receipt.
func (c *loadClient) sendAll(ctx context.Context, txs []*types.Transaction, poll time.Duration) error {
	if len(txs) == 0 {
		return nil
	}
	batch := make([]gethrpc.BatchElem, len(txs))
	for i, tx := range txs {
		raw, err := tx.MarshalBinary()
		if err != nil {
			return err
		}
		batch[i] = gethrpc.BatchElem{Method: "eth_sendRawTransaction", Args: []any{hexutil.Bytes(raw)}, Result: new(common.Hash)}
	}
	if err := c.rpc.BatchCallContext(ctx, batch); err != nil {
		return err
	}
	for i, b := range batch {
		if b.Error != nil {
			return fmt.Errorf("transaction with nonce %d: %w", txs[i].Nonce(), b.Error)
		}
	}
	receipts := make([]*types.Receipt, len(txs))
	for {
		var ask []gethrpc.BatchElem
		var at []int
		for i, r := range receipts {
			if r == nil {
				ask = append(ask, gethrpc.BatchElem{Method: "eth_getTransactionReceipt", Args: []any{txs[i].Hash()}, Result: &receipts[i]})
				at = append(at, i)
			}
		}
		if err := c.rpc.BatchCallContext(ctx, ask); err != nil {
			return err
		}
		for j, b := range ask {
			if b.Error != nil {
				return fmt.Errorf("receipt of the transaction with nonce %d: %w", txs[at[j]].Nonce(), b.Error)
			}
			if r := receipts[at[j]]; r != nil && r.Status != types.ReceiptStatusSuccessful {
				return fmt.Errorf("the transaction with nonce %d failed", txs[at[j]].Nonce())
			}
		}
		if !slices.Contains(receipts, nil) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// driveLoad runs the load of o with the first o.senders senders of s: each
// sender keeps one transfer in flight, or the senders share a fixed rate.
func driveLoad(ctx context.Context, c *loadClient, o loadOptions, s *loadSetup) (*loadResult, error) {
	if o.senders > len(s.keys) {
		return nil, fmt.Errorf("%d senders asked, %d funded", o.senders, len(s.keys))
	}
	keys, token := s.keys, s.token
	res := &loadResult{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	var sent, failed atomic.Int64
	run, stop := context.WithTimeout(ctx, o.duration)
	defer stop()
	var tick <-chan time.Time
	if o.rate > 0 && !o.paced {
		t := time.NewTicker(time.Duration(float64(time.Second) / o.rate))
		defer t.Stop()
		tick = t.C
	}
	var slots atomic.Int64
	start := time.Now()
	for i := range o.senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := keys[i]
			n, err := c.eth.PendingNonceAt(run, crypto.PubkeyToAddress(key.PublicKey))
			if err != nil {
				return
			}
			for run.Err() == nil {
				if tick != nil {
					select {
					case <-tick:
					case <-run.Done():
						return
					}
				}
				if o.rate > 0 && o.paced {
					at := start.Add(time.Duration(float64(slots.Add(1)-1) * float64(time.Second) / o.rate))
					t := time.NewTimer(time.Until(at))
					select {
					case <-t.C:
					case <-run.Done():
						t.Stop()
						return
					}
				}
				to := common.BigToAddress(big.NewInt(int64(1000 + i)))
				t0 := time.Now()
				sent.Add(1)
				r, err := c.send(ctx, o, key, n, token, new(big.Int), 100_000, contracts.TokenTransfer(to, big.NewInt(1)))
				if err != nil || r.Status != types.ReceiptStatusSuccessful {
					if failed.Add(1) == 1 {
						what := "reverted"
						if err != nil {
							what = err.Error()
						}
						mu.Lock()
						res.FirstErr = what
						mu.Unlock()
					}
					if n2, err := c.eth.PendingNonceAt(ctx, crypto.PubkeyToAddress(key.PublicKey)); err == nil {
						n = n2
					}
					continue
				}
				n++
				mu.Lock()
				res.Latencies = append(res.Latencies, time.Since(t0))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Sent, res.Failed, res.Confirmed = int(sent.Load()), int(failed.Load()), len(res.Latencies)
	slices.Sort(res.Latencies)
	return res, nil
}
