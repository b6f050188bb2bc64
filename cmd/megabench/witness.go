package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/consensus"
	"github.com/ethereum/go-ethereum/consensus/beacon"
	"github.com/ethereum/go-ethereum/consensus/ethash"
	"github.com/ethereum/go-ethereum/core"
	gethstate "github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/stateless"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/meganode/meganode/model"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/memdisk"
	"github.com/meganode/meganode/node/prover"
	"github.com/meganode/meganode/node/sequencer"
)

// The sequencer of the witness figures: K mini-blocks per sealed block, one
// every witnessTick of its (hand-driven) clock.
const (
	witnessMinis = 10
	witnessTick  = 10 * time.Millisecond
)

// witnessRun is what the witness figures measure: sealed blocks of the
// workload's transfers, each as a real sequencer gossiped it, with
// go-ethereum's own witness for the same block.
type witnessRun struct {
	txsPerBlock int
	sequencer   common.Address
	blocks      []witnessBlock
}

type witnessBlock struct {
	bundle *chain.BlockBundle // as gossiped on chain.TopicBlocks
	ours   *stateless.Witness // bundle.Witness decoded
	geth   []byte             // go-ethereum's RLP witness of the same block
	gethW  *stateless.Witness // geth decoded
	opened *chain.Opened      // bundle opened, for the untimed runs (they leave its senders cached)
	header *types.Header      // the sealed header
}

// prepareWitness drives a real sequencer through blocks sealed blocks of
// perBlock of the workload's transfers (in order) and builds go-ethereum's
// witness of each (untimed), and checks both witnesses re-execute to the
// sealed header's roots under core.ExecuteStateless.
func (w *workload) prepareWitness(perBlock, blocks int, log io.Writer) error {
	if perBlock < 1 || blocks < 1 || perBlock*blocks > len(w.raw) {
		return fmt.Errorf("witness figures: need 1 ≤ -witness-txs × -witness-blocks ≤ -n, have %d × %d and n=%d", perBlock, blocks, len(w.raw))
	}
	start := time.Now()
	key, err := crypto.ToECDSA(crypto.Keccak256([]byte("megabench sequencer")))
	if err != nil {
		return err
	}
	raws, err := produceBlocks(w, key, perBlock, blocks)
	if err != nil {
		return err
	}
	r := &witnessRun{txsPerBlock: perBlock, sequencer: crypto.PubkeyToAddress(key.PublicKey)}
	for i, raw := range raws {
		b, err := chain.DecodeBlockBundle(raw)
		if err != nil {
			return fmt.Errorf("witness: block %d: %w", i+1, err)
		}
		o, err := b.Open(chain.Keys(r.sequencer))
		if err != nil {
			return fmt.Errorf("witness: %w", err)
		}
		if n := len(o.Block.Transactions()); n != perBlock {
			return fmt.Errorf("witness: block %d holds %d transfers, want %d", b.Number, n, perBlock)
		}
		r.blocks = append(r.blocks, witnessBlock{bundle: b, ours: o.Witness, opened: o, header: o.Header})
	}
	produced := time.Since(start)
	start = time.Now()
	if err := gethWitnesses(w, r.blocks); err != nil {
		return fmt.Errorf("go-ethereum witness: %w", err)
	}
	for _, b := range r.blocks {
		if err := statelessRoots(w.config, b.opened, b.ours); err != nil {
			return fmt.Errorf("block %d: core.ExecuteStateless on our witness: %w", b.header.Number, err)
		}
		if err := statelessRoots(w.config, b.opened, b.gethW); err != nil {
			return fmt.Errorf("block %d: core.ExecuteStateless on go-ethereum's witness: %w", b.header.Number, err)
		}
	}
	w.wit = r
	fmt.Fprintf(log, "witness: a sequencer sealed %d blocks of %d transfers (%d mini-blocks each) in %v; go-ethereum's witnesses of the same blocks built in %v;"+
		" core.ExecuteStateless reaches each sealed header's roots on both witnesses\n",
		blocks, perBlock, witnessMinis, produced.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	ours, geth, onlyOurs, onlyGeth := r.composition()
	fmt.Fprintf(log, "witness: per block (mean): ours %s; go-ethereum's %s; trie nodes only in ours %.1f, only in go-ethereum's %.1f\n",
		ours, geth, onlyOurs, onlyGeth)
	return nil
}

// witnessParts is the mean make-up of a block's witness.
type witnessParts struct {
	nodes, nodeBytes, codes, codeBytes, headers, headerBytes float64
}

func (p witnessParts) String() string {
	return fmt.Sprintf("%.1f trie nodes (%.0f B), %.1f codes (%.0f B), %.1f headers (%.0f B)",
		p.nodes, p.nodeBytes, p.codes, p.codeBytes, p.headers, p.headerBytes)
}

func parts(w *stateless.Witness) witnessParts {
	p := witnessParts{nodes: float64(len(w.State)), codes: float64(len(w.Codes)), headers: float64(len(w.Headers))}
	for n := range w.State { // summing: order cannot leak
		p.nodeBytes += float64(len(n))
	}
	for c := range w.Codes { // summing: order cannot leak
		p.codeBytes += float64(len(c))
	}
	for _, h := range w.Headers {
		enc, _ := rlp.EncodeToBytes(h)
		p.headerBytes += float64(len(enc))
	}
	return p
}

// composition is the mean make-up of both witnesses per block, and the
// mean count of trie nodes one holds and the other lacks.
func (r *witnessRun) composition() (ours, geth witnessParts, onlyOurs, onlyGeth float64) {
	add := func(sum *witnessParts, p witnessParts) {
		sum.nodes += p.nodes
		sum.nodeBytes += p.nodeBytes
		sum.codes += p.codes
		sum.codeBytes += p.codeBytes
		sum.headers += p.headers
		sum.headerBytes += p.headerBytes
	}
	for _, b := range r.blocks {
		add(&ours, parts(b.ours))
		add(&geth, parts(b.gethW))
		for n := range b.ours.State { // counting: order cannot leak
			if _, ok := b.gethW.State[n]; !ok {
				onlyOurs++
			}
		}
		for n := range b.gethW.State { // counting: order cannot leak
			if _, ok := b.ours.State[n]; !ok {
				onlyGeth++
			}
		}
	}
	k := float64(len(r.blocks))
	for _, p := range []*witnessParts{&ours, &geth} {
		*p = witnessParts{p.nodes / k, p.nodeBytes / k, p.codes / k, p.codeBytes / k, p.headers / k, p.headerBytes / k}
	}
	return ours, geth, onlyOurs / k, onlyGeth / k
}

// witnessSizes returns, per block (mean over the blocks), the bytes of our
// witness, its bytes per transfer, its trie nodes, and the bytes and trie
// nodes of go-ethereum's witness of the same block.
func (w *workload) witnessSizes() ([]float64, error) {
	r := w.wit
	var bytes, nodes, gethBytes, gethNodes float64
	for _, b := range r.blocks {
		bytes += float64(len(b.bundle.Witness))
		nodes += float64(len(b.ours.State))
		gethBytes += float64(len(b.geth))
		gethNodes += float64(len(b.gethW.State))
	}
	k := float64(len(r.blocks))
	return []float64{bytes / k, bytes / k / float64(r.txsPerBlock), nodes / k, gethBytes / k, gethNodes / k}, nil
}

// witnessTimes returns the median over the blocks of the wall time of
// prover.Validate on the block's bundle, and of go-ethereum's
// core.ExecuteStateless alone on the same block and witness, in
// milliseconds. Each runs on a freshly opened bundle, so both pay for
// recovering the senders, as a prover does.
func (w *workload) witnessTimes() ([]float64, error) {
	r := w.wit
	var validate, geth []float64
	for _, b := range r.blocks {
		o, err := b.bundle.Open(chain.Keys(r.sequencer))
		if err != nil {
			return nil, err
		}
		runtime.GC()
		start := time.Now()
		v := prover.Validate(w.ex, o)
		validate = append(validate, ms(time.Since(start)))
		if v.Fault != "" {
			return nil, fmt.Errorf("block %d: prover.Validate: %s", b.header.Number, v.Fault)
		}

		if o, err = b.bundle.Open(chain.Keys(r.sequencer)); err != nil {
			return nil, err
		}
		runtime.GC()
		start = time.Now()
		err = statelessRoots(w.config, o, o.Witness)
		geth = append(geth, ms(time.Since(start)))
		if err != nil {
			return nil, fmt.Errorf("block %d: core.ExecuteStateless: %w", b.header.Number, err)
		}
	}
	return []float64{median(validate), median(geth)}, nil
}

func ms(d time.Duration) float64 { return d.Seconds() * 1000 }

// statelessRoots runs core.ExecuteStateless on o's block, its state and
// receipts roots zeroed, with wit, and checks it reaches the sealed
// header's roots.
func statelessRoots(cc *params.ChainConfig, o *chain.Opened, wit *stateless.Witness) error {
	bare := types.CopyHeader(o.Header)
	bare.Root, bare.ReceiptHash = common.Hash{}, common.Hash{}
	blk := types.NewBlockWithHeader(bare).WithBody(*o.Block.Body())
	root, receipts, err := core.ExecuteStateless(context.Background(), cc, vm.Config{}, blk, wit)
	if err != nil {
		return err
	}
	if root != o.Header.Root || receipts != o.Header.ReceiptHash {
		return fmt.Errorf("roots %v, %v; the header says %v, %v", root, receipts, o.Header.Root, o.Header.ReceiptHash)
	}
	return nil
}

// produceBlocks runs a sequencer from the workload's genesis and sends it
// perBlock transfers before each of blocks sealed blocks, spread evenly
// over its mini-blocks, through its client API. It returns the bundles it
// gossiped.
func produceBlocks(w *workload, key *ecdsa.PrivateKey, perBlock, blocks int) ([][]byte, error) {
	seq, err := sequencer.New(sequencer.Config{
		Genesis: w.gen, Key: key, Coinbase: coinbase,
		MiniBlockInterval: witnessTick, MiniBlocksPerBlock: witnessMinis, MinGap: -1, BlockGap: -1,
	})
	if err != nil {
		return nil, err
	}
	var logs bytes.Buffer
	env := &benchEnv{
		clock: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), disk: memdisk.New(), rng: rand.New(rand.NewPCG(1, 2)),
		log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if err := seq.Start(env); err != nil {
		return nil, err
	}
	env.completeSyncs(seq)
	for b := range blocks {
		txs := w.raw[b*perBlock : (b+1)*perBlock]
		for m := range witnessMinis {
			var reqs []*sendReq
			for _, raw := range txs[m*perBlock/witnessMinis : (m+1)*perBlock/witnessMinis] {
				req := &sendReq{body: (&api.Call{Method: api.MethodSendTx, Raw: raw}).Encode()}
				seq.OnRequest(req)
				reqs = append(reqs, req)
			}
			env.advance(seq, witnessTick)
			for _, req := range reqs { // a send that executed is answered once durable
				a, err := api.DecodeAnswer(req.answer)
				if err == nil && a.Err != nil {
					err = a.Err
				}
				if err != nil {
					return nil, fmt.Errorf("sequencer: send to block %d: %w", b+1, err)
				}
			}
		}
		if len(env.bundles) != b+1 {
			return nil, fmt.Errorf("sequencer: %d blocks sealed after %d of %d mini-blocks each; its log:\n%s",
				len(env.bundles), b+1, witnessMinis, logs.String())
		}
	}
	return env.bundles, nil
}

// gethWitnesses builds go-ethereum's witness of each block the way its
// blockchain does when it makes one: a StateDB over a trie database
// holding the pre-state, stateless.NewWitness and StartPrefetcher before
// its StateProcessor runs the block, ValidateState (whose IntermediateRoot
// collects the trie nodes) after, then Commit for the next block.
func gethWitnesses(w *workload, blocks []witnessBlock) error {
	ref, err := model.NewReference(w.config, w.alloc)
	if err != nil {
		return err
	}
	db, root := ref.StateDB().Database(), ref.Root()
	hc := &headerChain{config: w.config, engine: beacon.New(ethash.NewFaker()), byHash: map[common.Hash]*types.Header{}}
	for _, b := range blocks {
		for _, h := range b.ours.Headers {
			hc.byHash[h.Hash()] = h
		}
		hc.byHash[b.header.Hash()] = b.header
	}
	processor, validator := core.NewStateProcessor(hc), core.NewBlockValidator(w.config, nil)
	for i := range blocks {
		b := &blocks[i]
		h := b.header
		if parent := b.ours.Headers[0]; parent.Root != root {
			return fmt.Errorf("block %d: pre-state root %v, go-ethereum's state is at %v", h.Number, parent.Root, root)
		}
		sdb, err := gethstate.New(root, db)
		if err != nil {
			return err
		}
		wit, err := stateless.NewWitness(h, hc, false)
		if err != nil {
			return err
		}
		sdb.StartPrefetcher("chain", wit)
		res, err := processor.Process(context.Background(), b.opened.Block, sdb, nil, nil, vm.Config{}, nil)
		if err == nil {
			err = validator.ValidateState(b.opened.Block, sdb, res, false)
		}
		sdb.StopPrefetcher()
		if err != nil {
			return fmt.Errorf("block %d: %w", h.Number, err)
		}
		if b.geth, err = rlp.EncodeToBytes(wit); err != nil {
			return err
		}
		b.gethW = new(stateless.Witness)
		if err := rlp.DecodeBytes(b.geth, b.gethW); err != nil {
			return err
		}
		if root, err = sdb.Commit(w.config.Rules(h.Number, true, h.Time), h.Number.Uint64()); err != nil {
			return fmt.Errorf("block %d: commit: %w", h.Number, err)
		}
		if root != h.Root {
			return fmt.Errorf("block %d: go-ethereum commits root %v, header says %v", h.Number, root, h.Root)
		}
	}
	return nil
}

// headerChain is the chain go-ethereum's StateProcessor and witness read:
// headers by hash, and the beacon engine.
type headerChain struct {
	config *params.ChainConfig
	engine consensus.Engine
	byHash map[common.Hash]*types.Header
}

func (c *headerChain) Config() *params.ChainConfig  { return c.config }
func (c *headerChain) Engine() consensus.Engine     { return c.engine }
func (c *headerChain) CurrentHeader() *types.Header { return nil }
func (c *headerChain) GetHeaderByHash(h common.Hash) *types.Header {
	return c.byHash[h]
}
func (c *headerChain) GetHeaderByNumber(uint64) *types.Header { return nil }
func (c *headerChain) GetHeader(h common.Hash, n uint64) *types.Header {
	if hd := c.byHash[h]; hd != nil && hd.Number.Uint64() == n {
		return hd
	}
	return nil
}

// benchEnv is a hand-driven node.Env for one sequencer: its clock moves
// only in advance, which fires the timers due by then in order; what it
// publishes on chain.TopicBlocks is kept, everything else it sends or
// publishes is dropped.
type benchEnv struct {
	clock   time.Time
	disk    node.Disk
	rng     *rand.Rand
	log     *slog.Logger
	timers  []benchTimer // by due time, then arming order
	armed   uint64
	bundles [][]byte
	syncs   node.SyncID // the newest sync asked for
	synced  node.SyncID // the newest completed
}

type benchTimer struct {
	at  time.Time
	seq uint64
	id  node.TimerID
}

func (e *benchEnv) ID() node.NodeID          { return "sequencer" }
func (e *benchEnv) Now() time.Time           { return e.clock }
func (e *benchEnv) Send(node.NodeID, []byte) {}
func (e *benchEnv) Subscribe(node.Topic)     {}
func (e *benchEnv) Disk() node.Disk          { return e.disk }
func (e *benchEnv) Rand() *rand.Rand         { return e.rng }
func (e *benchEnv) Log() *slog.Logger        { return e.log }
func (e *benchEnv) Mark(string)              {}
func (e *benchEnv) Publish(t node.Topic, msg []byte) {
	if t == chain.TopicBlocks {
		e.bundles = append(e.bundles, bytes.Clone(msg))
	}
}

// Sync implements node.Env: the memory disk has nothing to make durable;
// advance completes the syncs after each timer.
func (e *benchEnv) Sync() node.SyncID {
	e.syncs++
	return e.syncs
}

func (e *benchEnv) completeSyncs(n node.Node) {
	if e.synced < e.syncs {
		e.synced = e.syncs
		n.OnSynced(e.synced)
	}
}

func (e *benchEnv) After(d time.Duration, id node.TimerID) {
	t := benchTimer{at: e.clock.Add(d), seq: e.armed, id: id}
	e.armed++
	i, _ := slices.BinarySearchFunc(e.timers, t, func(a, b benchTimer) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return int(a.seq) - int(b.seq)
	})
	e.timers = slices.Insert(e.timers, i, t)
}

// advance moves the clock d forward and fires every timer due by then, in
// order, including those the fired ones arm.
func (e *benchEnv) advance(n node.Node, d time.Duration) {
	e.clock = e.clock.Add(d)
	e.completeSyncs(n)
	for len(e.timers) > 0 && !e.timers[0].at.After(e.clock) {
		t := e.timers[0]
		e.timers = slices.Delete(e.timers, 0, 1)
		n.OnTimer(t.id)
		e.completeSyncs(n)
	}
}

// sendReq is a client request that keeps its first answer.
type sendReq struct{ body, answer []byte }

func (r *sendReq) Client() node.NodeID { return "megabench" }
func (r *sendReq) Body() []byte        { return r.body }
func (r *sendReq) Respond(b []byte) {
	if r.answer == nil {
		r.answer = bytes.Clone(b)
	}
}
