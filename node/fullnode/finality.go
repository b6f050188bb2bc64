package fullnode

import (
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/cover"
)

// keyFinalized holds the newest finalized block. It is written without
// sync: after a crash finality may restart lower, never higher.
var keyFinalized = []byte("fullnode/finalized")

const formatFinalizedV1 chain.Format = 0xC1

// maxDelays bounds the attestation delays kept for Metrics.
const maxDelays = 1024

// finality tracks the provers' statements about the node's sealed blocks.
// A block is finalized when Quorum of the configured provers attested its
// hash, and every block before it is finalized. A valid fault report from
// a configured prover against a block of this node's chain stops finality
// before that block for good.
type finality struct {
	provers map[common.Address]bool
	block   uint64 // newest finalized
	// votes[n][hash] is the set of provers that attested block n as hash,
	// for n in (block, block+MaxAttAhead].
	votes map[uint64]map[common.Hash]map[common.Address]bool
	// faults are valid fault reports in the same window, by block.
	faults map[uint64]*chain.FaultReport
	fault  *chain.FaultReport // the one that stopped finality
	first  map[uint64]bool    // blocks whose first attestation was seen (for delays)
	delays []time.Duration    // first attestation after the block's seal
	reqID  uint64
}

func (f *Fullnode) initFinality() {
	fin := &finality{provers: map[common.Address]bool{}, votes: map[uint64]map[common.Hash]map[common.Address]bool{},
		faults: map[uint64]*chain.FaultReport{}, first: map[uint64]bool{}}
	for _, p := range f.cfg.Provers {
		fin.provers[p] = true
	}
	if f.fin != nil {
		fin.delays = f.fin.delays
	}
	f.fin = fin
	raw, err := f.env.Disk().Get(keyFinalized)
	if err != nil {
		if !errors.Is(err, node.ErrNotFound) {
			f.env.Log().Warn("finalized block unreadable: finality restarts from genesis", "err", err)
		}
		return
	}
	var rec struct{ Block uint64 }
	if err := chain.UnframeRLP(formatFinalizedV1, raw, &rec); err != nil {
		f.env.Log().Warn("finalized block record corrupt: finality restarts from genesis", "err", err)
		return
	}
	fin.block = min(rec.Block, f.led.Safe().Header.Number.Uint64())
}

// tellFinality gives the ledger what the API serves of finality: the
// views it releases carry it.
func (f *Fullnode) tellFinality() {
	out := api.Finality{Tracked: true, Block: f.fin.block}
	if r := f.fin.fault; r != nil {
		out.Fault = fmt.Sprintf("block %d (%v) reported faulty by a prover: %s", r.Number, r.Hash, r.Reason)
	}
	f.led.SetFinality(out)
}

// Finalized is the newest finalized block.
func (f *Fullnode) Finalized() uint64 { return f.fin.block }

// Fault is the fault report that stopped finality, or nil.
func (f *Fullnode) Fault() *chain.FaultReport { return f.fin.fault }

// AttestDelays are the delays between a block's seal (its last mini-block's
// time) and the first attestation of it this node received, for the last
// blocks.
func (f *Fullnode) AttestDelays() []time.Duration { return f.fin.delays }

// onAttestation takes a prover's attestation.
func (f *Fullnode) onAttestation(from node.NodeID, raw []byte) {
	a, err := chain.DecodeAttestation(raw)
	if err != nil {
		f.env.Log().Warn("bad attestation", "from", from, "err", err)
		return
	}
	fin := f.fin
	if a.ChainID != f.chainID || a.Number <= fin.block || a.Number > fin.block+f.cfg.MaxAttAhead || fin.fault != nil && a.Number >= fin.fault.Number {
		return
	}
	signer, err := a.Signer()
	if err != nil || !fin.provers[signer] {
		f.env.Log().Warn("attestation not from a configured prover", "from", from, "signer", signer, "err", err)
		return
	}
	byHash := fin.votes[a.Number]
	if byHash == nil {
		byHash = map[common.Hash]map[common.Address]bool{}
		fin.votes[a.Number] = byHash
	}
	if byHash[a.Hash] == nil {
		if len(byHash) >= len(fin.provers) {
			return // at most one hash per prover can matter
		}
		byHash[a.Hash] = map[common.Address]bool{}
	}
	byHash[a.Hash][signer] = true
	f.atts.add(signer, a, raw)
	f.noteDelay(a.Number, a.Hash)
	f.advance()
}

// noteDelay records, once per block of this node's chain, how long after
// the seal its first attestation came.
func (f *Fullnode) noteDelay(n uint64, h common.Hash) {
	fin := f.fin
	if fin.first[n] || n > f.led.Safe().Header.Number.Uint64() || f.led.BlockHash(n) != h {
		return
	}
	fin.first[n] = true
	sb, err := f.led.SealedBlock(n)
	if err != nil {
		return
	}
	mb, _, err := f.led.MiniBlock(sb.Last)
	if err != nil {
		return
	}
	d := f.env.Now().Sub(time.UnixMicro(int64(mb.Header.TimeMicros)))
	if len(fin.delays) >= maxDelays {
		fin.delays = fin.delays[1:]
	}
	fin.delays = append(fin.delays, d)
}

// onFault takes a prover's fault report.
func (f *Fullnode) onFault(from node.NodeID, raw []byte) {
	r, err := chain.DecodeFaultReport(raw)
	if err != nil {
		f.env.Log().Warn("bad fault report", "from", from, "err", err)
		return
	}
	fin := f.fin
	if r.ChainID != f.chainID || r.Number <= fin.block || r.Number > fin.block+f.cfg.MaxAttAhead || fin.faults[r.Number] != nil {
		return
	}
	signer, err := r.Signer()
	if err != nil || !fin.provers[signer] {
		f.env.Log().Warn("fault report not from a configured prover", "from", from, "signer", signer, "err", err)
		return
	}
	fin.faults[r.Number] = r
	f.advance()
}

// advance finalizes what has a quorum, in order, and stops at a block of
// this node's chain that a prover reported.
func (f *Fullnode) advance() {
	fin := f.fin
	safe := f.led.Safe().Header.Number.Uint64()
	start, stopped := fin.block, fin.fault != nil
	for fin.fault == nil && fin.block < safe {
		n := fin.block + 1
		h := f.led.BlockHash(n)
		if r := fin.faults[n]; r != nil && r.Hash == h {
			fin.fault = r
			f.env.Mark(cover.FullFinalityStopped)
			f.env.Log().Error("FINALITY STOPPED: a prover reported a block of this chain", "block", n, "hash", h, "reason", r.Reason)
			break
		}
		if len(fin.votes[n][h]) < f.cfg.Quorum {
			break
		}
		delete(fin.votes, n)
		delete(fin.faults, n)
		delete(fin.first, n)
		fin.block = n
	}
	if fin.block > start {
		f.atts.prune(fin.block)
		b := f.env.Disk().NewBatch()
		b.Set(keyFinalized, chain.FrameRLP(formatFinalizedV1, &struct{ Block uint64 }{fin.block}))
		if err := b.Commit(); err != nil {
			f.env.Log().Warn("cannot record the finalized block", "err", err)
		}
	}
	if fin.block > start || (fin.fault != nil && !stopped) {
		f.tellFinality()
	}
}

// askProvers asks every configured prover for its statements about the
// blocks after the finalized one, when there are sealed blocks to finalize.
func (f *Fullnode) askProvers() {
	fin := f.fin
	safe := f.led.Safe().Header.Number.Uint64()
	if fin.fault != nil || fin.block >= safe || len(f.cfg.ProverNodes) == 0 {
		return
	}
	fin.reqID++
	req := &chain.AttRequest{ID: fin.reqID, From: fin.block + 1, Count: min(safe-fin.block, chain.MaxAttCount)}
	enc := req.Encode()
	for _, p := range f.cfg.ProverNodes {
		f.env.Send(p, enc)
	}
}

// onAttResponse takes a prover's answer: its statements, each checked as
// if gossiped.
func (f *Fullnode) onAttResponse(from node.NodeID, raw []byte) {
	resp, err := chain.DecodeAttResponse(raw)
	if err != nil {
		f.env.Log().Warn("bad attestation response", "from", from, "err", err)
		return
	}
	for _, a := range resp.Attestations {
		f.onAttestation(from, a)
	}
	for _, r := range resp.Faults {
		f.onFault(from, r)
	}
}
