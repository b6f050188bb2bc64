package fullnode

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/cover"
	"github.com/meganode/meganode/node/prover"
)

// keyFinalized holds the newest finalized block. It is written without
// sync: after a crash finality may restart lower, never higher.
var keyFinalized = []byte("fullnode/finalized")

const formatFinalizedV1 chain.Format = 0xC1

// maxDelays bounds the attestation delays kept for Metrics.
const maxDelays = 1024

// finality tracks the provers' statements about the node's sealed blocks.
// A block is finalized when Quorum of the configured provers attested its
// hash, no verified fault stands against it, and every block before it is
// finalized. A fault report stops finality before its block for good only
// once this node verified its evidence (verifyFault): the block's bundle,
// signed by the sequencer, that fails validation here too. A report whose
// evidence is missing, is not that block, or validates, is refused and its
// prover marked: its later reports are not even opened. No single prover,
// nor any number short of the honest provers' quorum, can stop an honest
// chain's finality (DESIGN: the finality property, checked as P5).
type finality struct {
	provers map[common.Address]bool
	block   uint64 // newest finalized
	// votes[n][hash] is the set of provers that attested block n as hash,
	// for n in (block, block+MaxAttAhead].
	votes map[uint64]map[common.Hash]map[common.Address]bool
	// faults[n][prover] are the signed fault reports in the same window,
	// not yet verified: at most one per configured prover and block.
	faults map[uint64]map[common.Address]*chain.FaultReport
	fault  *chain.FaultReport // the verified one that stopped finality
	why    string             // what this node's own validation found wrong with it
	// marked are the provers whose report was refused, with the reason.
	marked map[common.Address]string
	first  map[uint64]bool // blocks whose first attestation was seen (for delays)
	delays []time.Duration // first attestation after the block's seal
	reqID  uint64
}

func (f *Fullnode) initFinality() {
	fin := &finality{provers: map[common.Address]bool{}, votes: map[uint64]map[common.Hash]map[common.Address]bool{},
		faults: map[uint64]map[common.Address]*chain.FaultReport{}, marked: map[common.Address]string{}, first: map[uint64]bool{}}
	for _, p := range f.cfg.Provers {
		fin.provers[p] = true
	}
	if f.fin != nil {
		fin.delays = f.fin.delays
		// Marks outlive a reopened ledger: they are about the provers.
		fin.marked = f.fin.marked
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
		signer, _ := r.Signer()
		out.Fault = fmt.Sprintf("block %d (%v) reported faulty by prover %v, and its evidence fails validation here: %s", r.Number, r.Hash, signer, f.fin.why)
	}
	f.led.SetFinality(out)
}

// Finalized is the newest finalized block.
func (f *Fullnode) Finalized() uint64 { return f.fin.block }

// Fault is the verified fault report that stopped finality, or nil.
func (f *Fullnode) Fault() *chain.FaultReport { return f.fin.fault }

// Marked are the provers whose fault report this node refused, sorted,
// with the reason of the first refusal.
func (f *Fullnode) Marked() []MarkedProver {
	out := make([]MarkedProver, 0, len(f.fin.marked))
	for a, why := range f.fin.marked { // sorted below: order cannot leak
		out = append(out, MarkedProver{Prover: a, Reason: why})
	}
	slices.SortFunc(out, func(a, b MarkedProver) int { return a.Prover.Cmp(b.Prover) })
	return out
}

// MarkedProver is a prover a fullnode caught filing a fault report it
// could not verify.
type MarkedProver struct {
	Prover common.Address
	Reason string
}

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

// onFault takes a prover's fault report. It is kept, unverified, until
// its block is the next to finalize (advance verifies it then): a report
// about a block this node does not hold as the report says costs nothing.
func (f *Fullnode) onFault(from node.NodeID, raw []byte) {
	r, err := chain.DecodeFaultReport(raw)
	if err != nil {
		f.env.Log().Warn("bad fault report", "from", from, "err", err)
		return
	}
	fin := f.fin
	if r.ChainID != f.chainID || r.Number <= fin.block || r.Number > fin.block+f.cfg.MaxAttAhead || fin.fault != nil {
		return
	}
	signer, err := r.Signer()
	if err != nil || !fin.provers[signer] {
		f.env.Log().Warn("fault report not from a configured prover", "from", from, "signer", signer, "err", err)
		return
	}
	if _, ok := fin.marked[signer]; ok {
		f.metrics.FaultsIgnored++
		return // caught lying before: not opened again
	}
	byProver := fin.faults[r.Number]
	if byProver == nil {
		byProver = map[common.Address]*chain.FaultReport{}
		fin.faults[r.Number] = byProver
	}
	if byProver[signer] != nil {
		return
	}
	byProver[signer] = r
	f.advance()
}

// FaultCheck is a fullnode's verdict on a fault report's evidence.
type FaultCheck struct {
	// Verified: the evidence is the sequencer's signed bundle of the
	// reported block, and it fails validation here. Reason says why.
	Verified bool
	// Inconclusive: the bundle's witness lacks what the block reads, which
	// whoever relayed it could have caused; neither the block nor the
	// prover is blamed. Reason says what is lacking.
	Inconclusive bool
	Reason       string // otherwise: why the report is refused
}

// verifyFault checks a fault report's evidence: the bundle must decode,
// be block r.Number, open under the sequencer's key (its signed header
// authenticates every mini-block, diff and receipt), hash to r.Hash, and
// fail validation on this node (prover.Validate, the provers' own
// stateless check). It runs on the node's step, at most once per prover
// and block, and only for the next block to finalize: a prover whose
// report is refused is never heard on faults again.
func (f *Fullnode) verifyFault(r *chain.FaultReport) FaultCheck {
	if f.cfg.VerifyFault != nil {
		return f.cfg.VerifyFault(r)
	}
	if len(r.Evidence) == 0 {
		return FaultCheck{Reason: "no evidence"}
	}
	b, err := chain.DecodeBlockBundle(r.Evidence)
	if err != nil {
		return FaultCheck{Reason: fmt.Sprintf("evidence: %v", err)}
	}
	if b.Number != r.Number {
		return FaultCheck{Reason: fmt.Sprintf("evidence is block %d, the report is about %d", b.Number, r.Number)}
	}
	o, err := b.OpenSealed(f.cfg.Sequencers)
	if err != nil {
		return FaultCheck{Reason: fmt.Sprintf("evidence: %v", err)}
	}
	if h := o.Header.Hash(); h != r.Hash {
		return FaultCheck{Reason: fmt.Sprintf("evidence is block %v, the report is about %v", h, r.Hash)}
	}
	v := prover.Validate(f.vex, o)
	switch {
	case v.Fault == "":
		return FaultCheck{Reason: "the evidence validates: the block is sound"}
	case v.Inconclusive:
		return FaultCheck{Inconclusive: true, Reason: v.Fault}
	}
	return FaultCheck{Verified: true, Reason: v.Fault}
}

// checkFaults verifies the reports standing against block n, hash h (this
// node's), in the order of their provers' addresses, until one is
// verified; reports about another hash are left alone. It returns the
// verified one, or nil.
func (f *Fullnode) checkFaults(n uint64, h common.Hash) *chain.FaultReport {
	fin := f.fin
	byProver := fin.faults[n]
	signers := make([]common.Address, 0, len(byProver))
	for a, r := range byProver { // sorted below: order cannot leak
		if r.Hash == h {
			signers = append(signers, a)
		}
	}
	slices.SortFunc(signers, func(a, b common.Address) int { return a.Cmp(b) })
	for _, a := range signers {
		r := byProver[a]
		delete(byProver, a)
		c := f.verifyFault(r)
		switch {
		case c.Verified:
			fin.why = c.Reason
			f.metrics.FaultsVerified++
			return r
		case c.Inconclusive:
			f.metrics.FaultsInconclusive++
			f.env.Log().Warn("fault report inconclusive: the bundle's witness lacks what the block reads", "block", n, "prover", a, "reason", c.Reason)
		default:
			fin.marked[a] = c.Reason
			f.metrics.FaultsRefused++
			f.env.Log().Error("FAULT REPORT REFUSED: a prover reported a block its evidence does not show faulty; the prover is marked", "block", n, "hash", h, "prover", a, "reason", c.Reason)
		}
	}
	return nil
}

// advance finalizes what has a quorum, in order, and stops for good at a
// block of this node's chain with a verified fault.
func (f *Fullnode) advance() {
	fin := f.fin
	safe := f.led.Safe().Header.Number.Uint64()
	start, stopped := fin.block, fin.fault != nil
	for fin.fault == nil && fin.block < safe {
		n := fin.block + 1
		h := f.led.BlockHash(n)
		if r := f.checkFaults(n, h); r != nil {
			fin.fault = r
			f.env.Mark(cover.FullFinalityStopped)
			f.env.Log().Error("FINALITY STOPPED: a prover reported a block of this chain, and its evidence fails validation here", "block", n, "hash", h, "reason", fin.why)
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
