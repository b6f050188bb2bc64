package chainsim_test

import (
	"bytes"
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/ledger"
	"github.com/meganode/meganode/node/mempool"
	"github.com/meganode/meganode/node/sequencer"
	"github.com/meganode/meganode/sim/chainsim"
)

// Sequencers that get the order of their IO wrong. The real one lets
// nothing out before the sync it depends on completes (node.Outbox); these
// wrappers, which exist only here, break that from outside it, the way a
// careless implementation would:
//
//   - earlyAck answers a sync send with its receipt as soon as the
//     mini-block is committed, before its sync completes;
//   - earlyPublish gossips a mini-block as soon as it is committed;
//   - amnesiac, restarting after a disk error, starts afresh over its disk
//     and drops what it owed: the outputs of its syncs in flight and the
//     clients waiting for them.
//
// The simulator completes syncs after a drawn delay and crashes machines
// between a sync's submission and its completion (and between the
// completion and the node hearing of it), so it can see each of them.

// watchedDisk hands every mini-block the sequencer commits, as committed,
// to a callback: from its ledger's records, or, with raftEntries, from the
// entries it writes to its raft log (a group's leader: its proposals).
type watchedDisk struct {
	node.Disk
	committed   func(raw []byte)
	failed      func()
	raftEntries bool
}

func (d watchedDisk) NewBatch() node.Batch { return &watchedBatch{Batch: d.Disk.NewBatch(), d: d} }

type watchedBatch struct {
	node.Batch
	d  watchedDisk
	mb []byte
}

var miniBlockPrefix = []byte("ledger/mb/")

// raftEntryPrefix is the key prefix of raft log entries (node/raftlog,
// under the default prefix "raft/").
var raftEntryPrefix = []byte("raft/e")

func (b *watchedBatch) Set(key, value []byte) {
	switch {
	case !b.d.raftEntries && bytes.HasPrefix(key, miniBlockPrefix):
		b.mb = bytes.Clone(value)
	case b.d.raftEntries && bytes.HasPrefix(key, raftEntryPrefix) && len(value) > 1+8+1+4:
		// version | term (8) | type (1) | data | crc: data is a group
		// entry, or empty (raft's own).
		if _, mb, err := chain.DecodeGroupEntry(value[1+8+1 : len(value)-4]); err == nil {
			b.mb, _ = mb.Encode()
		}
	}
	b.Batch.Set(key, value)
}

func (b *watchedBatch) Commit() error {
	err := b.Batch.Commit()
	switch {
	case err != nil && b.d.failed != nil:
		b.d.failed()
	case err == nil && b.mb != nil && b.d.committed != nil:
		b.d.committed(b.mb)
	}
	return err
}

type watchedEnv struct {
	node.Env
	disk watchedDisk
}

func (e watchedEnv) Disk() node.Disk { return e.disk }

// earlyPublish gossips each mini-block the moment it is committed.
type earlyPublish struct{ *sequencer.Sequencer }

func (s earlyPublish) Start(env node.Env) error {
	return s.Sequencer.Start(watchedEnv{env, watchedDisk{Disk: env.Disk(), committed: func(raw []byte) {
		env.Publish(chain.TopicMiniBlocks, raw)
	}}})
}

// earlyAck answers sync sends from the committed mini-block. Its receipts
// must be the ones the sequencer gives later: a receipt that differs is a
// bug of this test, and it panics (an invariant violation, not the bug the
// sweep looks for).
type earlyAck struct {
	*sequencer.Sequencer
	signer  types.Signer
	waiting map[common.Hash][]*earlyReq
	// proposals: a group member that answers from the mini-blocks it
	// proposes, as it writes them to its raft log, before the group
	// commits them (the ack-before-commit bug of a sequencer group).
	proposals bool
}

func newEarlyAck(s *sequencer.Sequencer) *earlyAck {
	return &earlyAck{Sequencer: s, signer: types.LatestSignerForChainID(big.NewInt(chainsim.ChainID))}
}

type earlyReq struct {
	node.Request
	early *api.Receipt // the receipt answered early, if any
	group bool         // answered on a group's proposal, before raft committed it
}

func (r *earlyReq) Respond(body []byte) {
	if r.early == nil {
		r.Request.Respond(body)
		return
	}
	if r.group {
		return // answered already; a proposal lost may get another receipt, or none
	}
	if a, err := api.DecodeAnswer(body); err == nil && a.Receipt != nil {
		if got, want := receiptKey(a.Receipt), receiptKey(r.early); got != want {
			panic(fmt.Sprintf("earlyAck made a wrong receipt: %s, the sequencer's %s", want, got))
		}
	}
}

func receiptKey(r *api.Receipt) string {
	return fmt.Sprintf("%v/%d/%d/%d/%d/%d/%v/%d", r.TxHash, r.Status, r.GasUsed, r.CumulativeGasUsed, r.MiniBlock, r.TxIndex, r.From, len(r.Logs))
}

func (s *earlyAck) Start(env node.Env) error {
	s.waiting = map[common.Hash][]*earlyReq{}
	return s.Sequencer.Start(watchedEnv{env, watchedDisk{Disk: env.Disk(), committed: s.committed, raftEntries: s.proposals}})
}

func (s *earlyAck) OnRequest(req node.Request) {
	c, err := api.DecodeCall(req.Body())
	if err != nil || c.Method != api.MethodSendTxSync {
		s.Sequencer.OnRequest(req)
		return
	}
	tx, err := chain.DecodeTx(c.Raw)
	if err != nil {
		s.Sequencer.OnRequest(req)
		return
	}
	r := &earlyReq{Request: req}
	s.waiting[tx.Hash()] = append(s.waiting[tx.Hash()], r)
	s.Sequencer.OnRequest(r)
}

// committed answers the waiters of a mini-block's transactions at once,
// with the receipts the sequencer will give once it is durable.
func (s *earlyAck) committed(raw []byte) {
	mb, err := chain.DecodeMiniBlock(raw)
	if err != nil {
		return
	}
	for i, tx := range mb.Txs {
		reqs := s.waiting[tx.Hash()]
		delete(s.waiting, tx.Hash())
		if len(reqs) == 0 {
			continue
		}
		r := mb.Receipts[i]
		from, _ := types.Sender(s.signer, tx)
		rec := &api.Receipt{
			TxHash: r.TxHash, Status: r.Status, GasUsed: r.GasUsed, CumulativeGasUsed: r.CumulativeGasUsed,
			EffectiveGasPrice: r.EffectiveGasPrice, ContractAddress: r.ContractAddress, Logs: r.Logs,
			BlockNumber: mb.Header.BlockNumber, TxIndex: uint64(r.TransactionIndex), MiniBlock: mb.Header.Number, From: from,
		}
		if rec.Logs == nil {
			rec.Logs = []*types.Log{}
		}
		if len(rec.Logs) > 0 {
			rec.LogIndex = uint64(rec.Logs[0].Index)
		}
		if mb.Sealed != nil {
			rec.BlockHash = mb.Sealed.Hash()
		}
		body := (&api.Answer{Receipt: rec}).Encode()
		for _, req := range reqs {
			req.Request.Respond(body)
			req.early, req.group = rec, s.proposals
		}
	}
}

// amnesiac restarts afresh after a disk error: a new sequencer over the
// same disk, in the same process, with nothing of the old one's memory.
type amnesiac struct {
	cfg     sequencer.Config
	env     node.Env
	cur     *sequencer.Sequencer
	restart bool
}

func (s *amnesiac) Start(env node.Env) error {
	s.env = env
	s.cur = mustSeq(s.cfg)
	return s.cur.Start(watchedEnv{env, watchedDisk{Disk: env.Disk(), failed: func() { s.restart = true }}})
}

// after runs after each event: a disk error seen during it restarts the
// sequencer afresh.
func (s *amnesiac) after() {
	if s.restart {
		s.restart = false
		if err := s.Start(s.env); err != nil {
			panic(err)
		}
	}
}

func (s *amnesiac) OnTimer(id node.TimerID)              { s.cur.OnTimer(id); s.after() }
func (s *amnesiac) OnMessage(from node.NodeID, m []byte) { s.cur.OnMessage(from, m); s.after() }
func (s *amnesiac) OnRequest(req node.Request)           { s.cur.OnRequest(req); s.after() }
func (s *amnesiac) OnSynced(id node.SyncID)              { s.cur.OnSynced(id); s.after() }
func (s *amnesiac) Serve(ctx context.Context, req node.Request) bool {
	return s.cur.Serve(ctx, req)
}
func (s *amnesiac) Ledger() *ledger.Ledger { return s.cur.Ledger() }
func (s *amnesiac) Pool() *mempool.Pool    { return s.cur.Pool() }
