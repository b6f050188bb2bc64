package chainsim

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/fullnode"
	"github.com/meganode/meganode/node/ledger"
	"github.com/meganode/meganode/node/prover"
	"github.com/meganode/meganode/node/sequencer"
	"github.com/meganode/meganode/properties"
	"github.com/meganode/meganode/sim"
	"github.com/meganode/meganode/traces"
)

// ByzKind is a byzantine behaviour a run draws: one actor of the cluster
// lies, and the run passes when the honest nodes hold.
type ByzKind uint8

const (
	// ByzPublishedLie: every copy the sequencer publishes of one block's
	// last mini-block (gossip, bundle, DA, range answers) carries a diff
	// or a sealed state root that disagrees with execution; its own
	// ledger is honest. Fullnodes catch it themselves (they halt on the
	// root mismatch); provers report it.
	ByzPublishedLie ByzKind = iota + 1
	// ByzConsistentLie: the sequencer's own state transition is wrong, in
	// any mini-block of any of the first blocks: the diff credits an
	// account no transaction touched, and the state root, the witness
	// and every later block follow that diff. Fullnodes apply it and
	// their roots agree; only re-execution, by provers, catches it. Every
	// fullnode must verify a prover's report and stop finality before the
	// block.
	ByzConsistentLie
	// ByzEquivocation: the sequencer gossips two signed versions of one
	// mini-block. A fullnode holding either version at that height when
	// the other arrives halts (fullnode.ErrConflict); no fullnode serves
	// a fork past it.
	ByzEquivocation
	// ByzFalseReports: one prover files fault reports against sound
	// blocks, with the real bundle, another block's, or none as evidence.
	// Every fullnode that hears one refuses it and marks the prover, and
	// the honest provers' quorum finalizes the chain.
	ByzFalseReports
	// ByzAttestAll: one prover attests every block without validating it,
	// while the sequencer tells a consistent lie (ByzConsistentLie). The
	// bad block is never finalized.
	ByzAttestAll
	// ByzFlood: an extra peer floods the cluster with garbage, mini-blocks
	// and statements signed by keys nobody configured, and replays of old
	// messages. Nothing it sends is applied; every fullnode follows the
	// sequencer.
	ByzFlood
)

// ByzKinds are every kind, in order: the byzantine profile draws from them.
var ByzKinds = []ByzKind{ByzPublishedLie, ByzConsistentLie, ByzEquivocation, ByzFalseReports, ByzAttestAll, ByzFlood}

var byzNames = map[ByzKind]string{
	ByzPublishedLie: "published-lie", ByzConsistentLie: "consistent-lie", ByzEquivocation: "equivocation",
	ByzFalseReports: "false-reports", ByzAttestAll: "attest-all", ByzFlood: "flood",
}

func (k ByzKind) String() string { return byzNames[k] }

// StatPrefix is the prefix of the names of the kind's run figures
// (sim.World.Stat), e.g. "byz_consistent_lie_".
func (k ByzKind) StatPrefix() string { return "byz_" + strings.ReplaceAll(k.String(), "-", "_") + "_" }

// ByzantineProfile draws one byzantine kind per seed; each kind also has
// its own profile, "byz-<kind>", for a sweep of that kind alone.
var ByzantineProfile = NewProfile("byzantine", Variants{Byzantine: ByzKinds})

// TightProfile runs the chain with every bound made small, so that runs
// reach them: a full pool, full waiters, a full fullnode buffer, a full
// prover pending set, one block a DA put, one item a DA answer.
var TightProfile = NewProfile("tight", Variants{Tight: true})

func init() {
	sim.Register(ByzantineProfile)
	sim.Register(TightProfile)
	for _, k := range ByzKinds {
		sim.Register(NewProfile("byz-"+k.String(), Variants{Byzantine: []ByzKind{k}}))
	}
}

// byzantine is what a run's byzantine actor does, and what it did.
type byzantine struct {
	kind ByzKind

	// ByzPublishedLie.
	block    uint64 // the sealed block lied about (ByzConsistentLie: at or after it)
	rootLie  bool   // the sealed root lies; otherwise the diff does
	doctored uint64 // the mini-block doctored, once it was
	honest   common.Hash
	raw      []byte // its doctored encoding

	// ByzConsistentLie, ByzAttestAll: the lie is in the first mini-block
	// of block ≥ block at index ≥ from; target is its number once chosen.
	from   uint64
	target uint64

	// ByzEquivocation: the first mini-block ≥ eqFrom published is
	// published twice; eqNumber and eqAlt are the second version's.
	eqFrom, eqNumber uint64
	eqAlt            common.Hash
	eqAltFirst       bool
	// and to DA: bundles it put, by block, and whether it sent DA a second
	// bundle for a held block, and a put beyond a gap.
	daSeen                           map[uint64][]byte
	daEquivocated, daGap, daWithheld bool

	// ByzFalseReports, ByzAttestAll: the prover that lies, an index in
	// Scenario.provers, and the reports it filed (by block).
	liar    int
	filed   map[uint64]bool
	attests map[uint64]bool // ByzAttestAll: blocks it attested

	// ByzFlood.
	every   int // the flooder's period, in ms
	flooded map[string]int
}

func newByzantine(rng *rand.Rand, kinds []ByzKind, perBlock int, provers int) *byzantine {
	b := &byzantine{kind: kinds[rng.IntN(len(kinds))], liar: -1}
	switch b.kind {
	case ByzPublishedLie:
		b.block, b.rootLie = 2+uint64(rng.IntN(3)), rng.IntN(2) == 0
	case ByzConsistentLie, ByzAttestAll:
		b.block, b.from = 2+uint64(rng.IntN(5)), uint64(rng.IntN(perBlock))
	case ByzEquivocation:
		b.eqFrom, b.eqAltFirst = 2+uint64(rng.IntN(60)), rng.IntN(2) == 0
	case ByzFlood:
		b.every, b.flooded = 1+rng.IntN(5), map[string]int{}
	}
	if b.kind == ByzFalseReports || b.kind == ByzAttestAll {
		b.liar, b.filed, b.attests = rng.IntN(provers), map[uint64]bool{}, map[uint64]bool{}
	}
	return b
}

// needsProvers is how many provers the kind needs so that the honest ones
// still make a quorum (a majority) without the liar.
func (b *byzantine) needsProvers() int {
	if b.liar >= 0 {
		return 3
	}
	return 0
}

func (b *byzantine) String() string {
	switch b.kind {
	case ByzPublishedLie:
		what := "its last mini-block's diff"
		if b.rootLie {
			what = "its sealed state root"
		}
		return fmt.Sprintf("byzantine sequencer: publishes a lie about block %d (%s)", b.block, what)
	case ByzConsistentLie:
		return fmt.Sprintf("byzantine sequencer: a self-consistent wrong state transition in block %d or later, mini-block index %d or later", b.block, b.from)
	case ByzEquivocation:
		return fmt.Sprintf("byzantine sequencer: gossips two signed versions of mini-block %d or the next published", b.eqFrom)
	case ByzFalseReports:
		return fmt.Sprintf("byzantine prover%d: files fault reports against sound blocks", b.liar+1)
	case ByzAttestAll:
		return fmt.Sprintf("byzantine prover%d: attests everything, while the sequencer lies self-consistently in block %d or later", b.liar+1, b.block)
	case ByzFlood:
		return fmt.Sprintf("byzantine peer %s: floods forged, replayed and garbage messages every %d ms", FlooderID, b.every)
	}
	return "byzantine: " + b.kind.String()
}

// lieAddr is the account a lie credits.
var lieAddr = common.HexToAddress("0x00000000000000000000000000000000000bad00")

// lieBalance is what a lie sets lieAddr's balance to.
var lieBalance = uint256.NewInt(1_000_000)

// alter is the consistent liar's sequencer.Config.AlterDiff: the lie goes
// into one mini-block number, chosen the first time one qualifies (again
// if that mini-block is lost in a crash and executed anew).
func (b *byzantine) alter(h *chain.MiniBlockHeader, d *chain.Diff) *chain.Diff {
	if b.target == 0 {
		if h.BlockNumber < b.block || (h.BlockNumber == b.block && h.Index < b.from) {
			return d
		}
		b.target = h.Number
	}
	if h.Number != b.target {
		return d
	}
	return d.WithBalance(lieAddr, lieBalance)
}

// lying tells whether the kind's sequencer lies about state.
func (b *byzantine) lying() bool {
	return b.kind == ByzPublishedLie || b.kind == ByzConsistentLie || b.kind == ByzAttestAll
}

// badBlock is the block whose version on the chain disagrees with
// execution, once the lie was told and the chain holds it (0: none).
func (s *Scenario) badBlock(seq *ledger.Ledger) uint64 {
	b := s.byz
	switch {
	case b == nil:
		return 0
	case b.kind == ByzPublishedLie && b.doctored != 0:
		return b.block
	case (b.kind == ByzConsistentLie || b.kind == ByzAttestAll) && b.target != 0:
		if head, _ := seq.Head(); head.Number < b.target {
			return 0
		}
		mb, _, err := seq.MiniBlock(b.target)
		if err != nil {
			return 0
		}
		if safe := seq.Safe().Header.Number.Uint64(); mb.Header.BlockNumber > safe {
			return 0 // not sealed yet
		}
		return mb.Header.BlockNumber
	}
	return 0
}

// doctor returns the encoding of a mini-block the sequencer publishes: the
// doctored one in place of the honest one (ByzPublishedLie).
func (s *Scenario) doctor(raw []byte) []byte {
	b := s.byz
	mb, err := chain.DecodeMiniBlock(raw)
	if err != nil || mb.Header.BlockNumber != b.block || mb.Sealed == nil {
		return raw
	}
	if b.doctored != 0 {
		if mb.Header.Number == b.doctored && mb.Hash() == b.honest {
			return b.raw
		}
		return raw
	}
	b.doctored, b.honest = mb.Header.Number, mb.Hash()
	if b.rootLie {
		mb.Sealed.Root[0] ^= 0xff
	} else {
		prev := new(uint256.Int)
		if a := mb.Diff.Account(lieAddr); a != nil {
			prev = &a.Balance
		}
		mb.Diff = mb.Diff.WithBalance(lieAddr, new(uint256.Int).Add(prev, lieBalance))
	}
	if err := mb.Seal(s.cast.SeqKey); err != nil {
		panic(err)
	}
	enc, err := mb.Encode()
	if err != nil {
		panic(err)
	}
	b.raw = enc
	return enc
}

// byzSequencer is a real sequencer whose every publication passes through
// the byzantine actor (ByzPublishedLie, ByzEquivocation).
type byzSequencer struct {
	*sequencer.Sequencer
	s *Scenario
}

func (n byzSequencer) Start(env node.Env) error {
	return n.Sequencer.Start(&byzEnv{Env: env, s: n.s})
}

type byzEnv struct {
	node.Env
	s *Scenario
}

func (e *byzEnv) Publish(topic node.Topic, msg []byte) {
	b := e.s.byz
	if b.kind == ByzEquivocation {
		if alt := e.s.equivocate(msg); alt != nil {
			if b.eqAltFirst {
				e.Env.Publish(topic, alt)
				e.Env.Publish(topic, msg)
			} else {
				e.Env.Publish(topic, msg)
				e.Env.Publish(topic, alt)
			}
			return
		}
		e.Env.Publish(topic, msg)
		return
	}
	switch chain.Kind(msg) {
	case chain.FormatMiniBlockV1:
		msg = e.s.doctor(msg)
	case chain.FormatBlockBundleV1:
		msg = e.s.doctorBundle(msg)
	}
	e.Env.Publish(topic, msg)
}

func (e *byzEnv) Send(to node.NodeID, msg []byte) {
	if b := e.s.byz; b.kind == ByzEquivocation {
		if chain.Kind(msg) == chain.FormatDAPutV1 && !b.daWithheld {
			// Withhold one put, as a lost message: its retry carries the
			// blocks sealed since, for the put beyond a gap below.
			if p, err := chain.DecodeDAPut(msg); err == nil && len(p.Bundles) == 1 {
				b.daWithheld = true
				return
			}
		}
		e.Env.Send(to, msg)
		if chain.Kind(msg) == chain.FormatDAPutV1 {
			e.s.equivocateToDA(e.Env, to, msg)
		}
		return
	}
	if e.s.byz.kind != ByzPublishedLie {
		e.Env.Send(to, msg)
		return
	}
	switch chain.Kind(msg) {
	case chain.FormatRangeResponseV1:
		if r, err := chain.DecodeRangeResponse(msg); err == nil {
			for i, raw := range r.MiniBlocks {
				r.MiniBlocks[i] = e.s.doctor(raw)
			}
			msg = r.Encode()
		}
	case chain.FormatDAPutV1:
		if p, err := chain.DecodeDAPut(msg); err == nil {
			for i, raw := range p.Bundles {
				p.Bundles[i] = e.s.doctorBundle(raw)
			}
			msg = p.Encode()
		}
	}
	e.Env.Send(to, msg)
}

func (s *Scenario) doctorBundle(raw []byte) []byte {
	b, err := chain.DecodeBlockBundle(raw)
	if err != nil || b.Number != s.byz.block {
		return raw
	}
	for i, m := range b.MiniBlocks {
		b.MiniBlocks[i] = s.doctor(m)
	}
	return b.Encode()
}

// equivocate returns a second signed version of the mini-block msg, once:
// the first one published at or after eqFrom; nil for any other message.
// The versions differ in their timestamp alone, so either leads to the
// same state: what is at stake is only which history the sequencer signed.
func (s *Scenario) equivocate(msg []byte) []byte {
	b := s.byz
	if chain.Kind(msg) != chain.FormatMiniBlockV1 || b.eqNumber != 0 {
		return nil
	}
	mb, err := chain.DecodeMiniBlock(msg)
	if err != nil || mb.Header.Number < b.eqFrom {
		return nil
	}
	mb.Header.TimeMicros++
	if err := mb.Seal(s.cast.SeqKey); err != nil {
		panic(err)
	}
	alt, err := mb.Encode()
	if err != nil {
		panic(err)
	}
	b.eqNumber, b.eqAlt = mb.Header.Number, mb.Hash()
	return alt
}

// equivocateToDA makes the equivocating sequencer lie to DA too, once
// each way, after the honest put: a second, different bundle for the
// block before the put's first (DA acknowledged that one already, since
// the sequencer puts in order: DA refuses it as equivocation), and the
// put's bundles without its first (beyond a gap, unless DA holds the
// first already: DA refuses it). Both carry an id the sequencer never
// used, so their acknowledgements are ignored.
func (s *Scenario) equivocateToDA(env node.Env, to node.NodeID, msg []byte) {
	b := s.byz
	put, err := chain.DecodeDAPut(msg)
	if err != nil || len(put.Bundles) == 0 {
		return
	}
	if b.daSeen == nil {
		b.daSeen = map[uint64][]byte{}
	}
	first := uint64(0)
	for i, raw := range put.Bundles {
		if bb, err := chain.DecodeBlockBundle(raw); err == nil {
			if i == 0 {
				first = bb.Number
			}
			b.daSeen[bb.Number] = raw
		}
	}
	for n := range b.daSeen { // deleting: order cannot leak
		if n+maxLiarBundles < first {
			delete(b.daSeen, n)
		}
	}
	const fake = 1 << 63
	if !b.daEquivocated && first > 1 && b.daSeen[first-1] != nil {
		if alt := s.altBundle(b.daSeen[first-1]); alt != nil {
			b.daEquivocated = true
			env.Send(to, (&chain.DAPut{ID: put.ID | fake, Bundles: [][]byte{alt}}).Encode())
		}
	}
	if !b.daGap && len(put.Bundles) > 1 {
		b.daGap = true
		env.Send(to, (&chain.DAPut{ID: put.ID | fake, Bundles: put.Bundles[1:]}).Encode())
	}
}

// altBundle is a bundle whose last mini-block is signed again with its
// timestamp moved: another bundle of the same block, as the sequencer
// could sign it.
func (s *Scenario) altBundle(raw []byte) []byte {
	bb, err := chain.DecodeBlockBundle(raw)
	if err != nil {
		return nil
	}
	last := len(bb.MiniBlocks) - 1
	mb, err := chain.DecodeMiniBlock(bb.MiniBlocks[last])
	if err != nil {
		return nil
	}
	mb.Header.TimeMicros++
	if err := mb.Seal(s.cast.SeqKey); err != nil {
		panic(err)
	}
	if bb.MiniBlocks[last], err = mb.Encode(); err != nil {
		panic(err)
	}
	return bb.Encode()
}

// liarProver is a real prover whose attestations of some blocks become
// fault reports (ByzFalseReports): it files them against sound blocks,
// with evidence it picks per block — the block's bundle as it received
// it, another block's, or none.
type liarProver struct {
	*prover.Prover
	s       *Scenario
	key     *ecdsa.PrivateKey
	bundles map[uint64][]byte // received, the last maxLiarBundles
}

const maxLiarBundles = 64

func (p *liarProver) Start(env node.Env) error {
	p.bundles = map[uint64][]byte{}
	return p.Prover.Start(&liarEnv{Env: env, p: p})
}

func (p *liarProver) OnMessage(from node.NodeID, msg []byte) {
	switch chain.Kind(msg) {
	case chain.FormatBlockBundleV1:
		p.keep(msg)
	case chain.FormatBlockRangeResponseV1:
		if r, err := chain.DecodeBlockRangeResponse(msg); err == nil {
			for _, raw := range r.Bundles {
				p.keep(raw)
			}
		}
	}
	p.Prover.OnMessage(from, msg)
}

func (p *liarProver) keep(raw []byte) {
	b, err := chain.DecodeBlockBundle(raw)
	if err != nil {
		return
	}
	if len(p.bundles) >= maxLiarBundles {
		oldest := uint64(0)
		for n := range p.bundles { // the minimum: order cannot leak
			if oldest == 0 || n < oldest {
				oldest = n
			}
		}
		delete(p.bundles, oldest)
	}
	p.bundles[b.Number] = raw
}

// lie turns an attestation of an even block (odd, by the seed) into a
// false fault report.
func (p *liarProver) lie(raw []byte) ([]byte, bool) {
	a, err := chain.DecodeAttestation(raw)
	if err != nil || (a.Number+p.s.seed)%2 != 0 {
		return raw, false
	}
	f := &chain.FaultReport{ChainID: a.ChainID, Number: a.Number, Hash: a.Hash, Reason: "state root: header and re-execution differ (false)"}
	switch (a.Number + p.s.seed/2) % 4 {
	case 0, 1:
		f.Evidence = p.bundles[a.Number] // the real one: it validates
	case 2:
		f.Evidence = p.bundles[a.Number-1]
	}
	if err := f.Sign(p.key); err != nil {
		panic(err)
	}
	p.s.byz.filed[a.Number] = true
	return f.Encode(), true
}

type liarEnv struct {
	node.Env
	p *liarProver
}

func (e *liarEnv) Publish(topic node.Topic, msg []byte) {
	if chain.Kind(msg) == chain.FormatAttestationV1 {
		msg, _ = e.p.lie(msg)
	}
	e.Env.Publish(topic, msg)
}

func (e *liarEnv) Send(to node.NodeID, msg []byte) {
	if chain.Kind(msg) == chain.FormatAttResponseV1 {
		if r, err := chain.DecodeAttResponse(msg); err == nil {
			var atts [][]byte
			for _, a := range r.Attestations {
				if f, lied := e.p.lie(a); lied {
					r.Faults = append(r.Faults, f)
				} else {
					atts = append(atts, a)
				}
			}
			r.Attestations = atts
			msg = r.Encode()
		}
	}
	e.Env.Send(to, msg)
}

// AttestAll is a prover that attests every block whose bundle opens under
// the sequencer's key, without validating it (ByzAttestAll; the tests'
// rubber-stamp cluster is made of them). It answers fullnodes' requests
// for statements.
type AttestAll struct {
	cfg   prover.Config
	env   node.Env
	stmts map[uint64]*chain.Attestation
	low   uint64
	// Stamped, when set, is told of every block attested.
	Stamped func(n uint64)
}

// NewAttestAll returns a rubber-stamp prover with cfg's key and sequencer.
func NewAttestAll(cfg prover.Config) *AttestAll { return &AttestAll{cfg: cfg} }

func (p *AttestAll) Start(env node.Env) error {
	p.env, p.stmts, p.low = env, map[uint64]*chain.Attestation{}, 0
	env.Subscribe(chain.TopicBlocks)
	return nil
}

func (p *AttestAll) OnTimer(node.TimerID)    {}
func (p *AttestAll) OnSynced(node.SyncID)    {}
func (p *AttestAll) OnRequest(node.Request)  {}
func (p *AttestAll) Low() uint64             { return p.low }
func (p *AttestAll) Metrics() prover.Metrics { return prover.Metrics{Attested: uint64(len(p.stmts))} }
func (p *AttestAll) Statement(n uint64) (*chain.Attestation, *chain.FaultReport) {
	return p.stmts[n], nil
}

func (p *AttestAll) OnMessage(from node.NodeID, msg []byte) {
	if chain.Kind(msg) == chain.FormatAttRequestV1 {
		req, err := chain.DecodeAttRequest(msg)
		if err != nil {
			return
		}
		resp := &chain.AttResponse{ID: req.ID}
		for n := req.From; n < req.From+req.Count; n++ {
			if a := p.stmts[n]; a != nil {
				resp.Attestations = append(resp.Attestations, a.Encode())
			}
		}
		p.env.Send(from, resp.Encode())
		return
	}
	b, err := chain.DecodeBlockBundle(msg)
	if err != nil || p.stmts[b.Number] != nil {
		return
	}
	o, err := b.OpenSealed(p.cfg.Sequencers)
	if err != nil {
		return
	}
	a := &chain.Attestation{ChainID: ChainID, Number: b.Number, Hash: o.Header.Hash(), PreRoot: o.Witness.Headers[0].Root, PostRoot: o.Header.Root}
	if a.Sign(p.cfg.Key) != nil {
		return
	}
	p.stmts[b.Number] = a
	for p.stmts[p.low+1] != nil {
		p.low++
	}
	if p.Stamped != nil {
		p.Stamped(b.Number)
	}
	p.env.Publish(chain.TopicAttestations, a.Encode())
}

// FlooderID is the flooding peer of ByzFlood runs.
const FlooderID node.NodeID = "flooder"

// flooder sends, every few milliseconds, one of: garbage on a topic or to
// a node; a mini-block, a bundle, an attestation or a fault report signed
// by its own key, which nobody configured; a replay of an old honest
// mini-block or bundle it heard.
type flooder struct {
	s    *Scenario
	env  node.Env
	key  *ecdsa.PrivateKey
	seen [][]byte // honest mini-blocks and bundles heard, the last maxFloodSeen
}

const (
	maxFloodSeen = 64
	timerFlood   = node.TimerID(1)
)

func (f *flooder) Start(env node.Env) error {
	f.env, f.seen = env, nil
	env.Subscribe(chain.TopicMiniBlocks)
	env.Subscribe(chain.TopicBlocks)
	env.After(0, timerFlood)
	return nil
}

func (f *flooder) OnSynced(node.SyncID)   {}
func (f *flooder) OnRequest(node.Request) {}

func (f *flooder) OnMessage(_ node.NodeID, msg []byte) {
	if k := chain.Kind(msg); k != chain.FormatMiniBlockV1 && k != chain.FormatBlockBundleV1 {
		return
	}
	if len(f.seen) >= maxFloodSeen {
		f.seen = f.seen[1:]
	}
	f.seen = append(f.seen, msg)
}

func (f *flooder) OnTimer(node.TimerID) {
	r := f.env.Rand()
	defer f.env.After(msDur(f.s.byz.every), timerFlood)
	targets := append(append([]node.NodeID{SequencerID, DAID}, f.s.fullnodes...), f.s.provers...)
	count := func(what string) { f.s.byz.flooded[what]++ }
	switch r.IntN(6) {
	case 0: // garbage, published or sent
		junk := make([]byte, 1+r.IntN(512))
		for i := range junk {
			junk[i] = byte(r.Uint32())
		}
		if r.IntN(2) == 0 {
			junk[0] = byte(chain.FormatMiniBlockV1) // looks like one
		}
		if r.IntN(2) == 0 {
			f.env.Publish(chain.TopicMiniBlocks, junk)
		} else {
			f.env.Send(targets[r.IntN(len(targets))], junk)
		}
		count("garbage")
	case 1, 2: // a heard mini-block, changed and signed by the wrong key
		if mb := f.heardMiniBlock(r); mb != nil {
			mb.Header.TimeMicros++
			if r.IntN(2) == 0 {
				mb.Diff = mb.Diff.WithBalance(lieAddr, lieBalance)
			}
			if mb.Seal(f.key) == nil {
				if raw, err := mb.Encode(); err == nil {
					f.env.Publish(chain.TopicMiniBlocks, raw)
					count("forged")
				}
			}
		}
	case 3: // a replay of something old and honest
		if len(f.seen) > 0 {
			raw := f.seen[r.IntN(len(f.seen))]
			topic := chain.TopicMiniBlocks
			if chain.Kind(raw) == chain.FormatBlockBundleV1 {
				topic = chain.TopicBlocks
			}
			f.env.Publish(topic, raw)
			count("replayed")
		}
	case 4, 5: // a statement signed by the wrong key
		n := 1 + uint64(r.IntN(8))
		if mb := f.heardMiniBlock(r); mb != nil {
			n = mb.Header.BlockNumber
		}
		var raw []byte
		if r.IntN(2) == 0 {
			a := &chain.Attestation{ChainID: ChainID, Number: n, Hash: common.Hash{byte(r.Uint32())}}
			if a.Sign(f.key) != nil {
				return
			}
			raw = a.Encode()
		} else {
			fr := &chain.FaultReport{ChainID: ChainID, Number: n, Reason: "forged"}
			if fr.Sign(f.key) != nil {
				return
			}
			raw = fr.Encode()
		}
		f.env.Publish(chain.TopicAttestations, raw)
		count("forged")
	}
}

// heardMiniBlock decodes a mini-block the flooder heard, or nil.
func (f *flooder) heardMiniBlock(r *rand.Rand) *chain.MiniBlock {
	for range 4 {
		if len(f.seen) == 0 {
			return nil
		}
		if mb, err := chain.DecodeMiniBlock(f.seen[r.IntN(len(f.seen))]); err == nil {
			return mb
		}
	}
	return nil
}

// byzantineConverged is the liveness goal of a run with a byzantine actor.
//   - A lie about state: the lie was told; every honest prover reported
//     the block; every fullnode halted at it or stopped finality before it
//     (ByzPublishedLie), or stopped finality before it on a verified
//     report without halting (ByzConsistentLie, ByzAttestAll).
//   - ByzEquivocation: every fullnode is halted on the conflict or holds
//     the sequencer's head; the chain's proving goal, for those that hold
//     it.
//   - ByzFalseReports, ByzFlood: the honest chain's goal (the liar
//     prover's own progress aside).
func (s *Scenario) byzantineConverged(w *sim.World, seq *ledger.Ledger) (bool, string) {
	b := s.byz
	if !b.lying() {
		return s.provingConverged(w, seq)
	}
	bad := s.badBlock(seq)
	if bad == 0 {
		return false, "the lie is not told, or its block not sealed, yet"
	}
	for i, id := range s.provers {
		if i == b.liar {
			continue
		}
		p, ok := w.Node(id).(proverNode)
		if !ok {
			return false, fmt.Sprintf("%s is down", id)
		}
		if _, f := p.Statement(bad); f == nil {
			return false, fmt.Sprintf("%s has not reported block %d", id, bad)
		}
	}
	for _, id := range s.fullnodes {
		f, ok := w.Node(id).(finalityNode)
		if !ok || f.Ledger() == nil {
			return false, fmt.Sprintf("%s is down", id)
		}
		stopped := f.Fault() != nil && f.Fault().Number == bad
		if b.kind == ByzPublishedLie && f.Halted() == nil && !stopped {
			return false, fmt.Sprintf("%s neither halted at block %d nor stopped finality there", id, bad)
		}
		if b.kind != ByzPublishedLie && !stopped {
			return false, fmt.Sprintf("%s has not stopped finality at block %d (finalized %d)", id, bad, f.Finalized())
		}
	}
	return true, ""
}

// expectedHalt tells whether a fullnode's halt is what the run's byzantine
// actor should cause: a conflict (ByzEquivocation), or a root mismatch at
// or after the doctored block (ByzPublishedLie).
func (s *Scenario) expectedHalt(f interface {
	Ledger() *ledger.Ledger
	Halted() error
}) bool {
	b, err := s.byz, f.Halted()
	switch {
	case b == nil || err == nil:
		return false
	case b.kind == ByzEquivocation:
		return errors.Is(err, fullnode.ErrConflict)
	case b.kind == ByzPublishedLie:
		return f.Ledger().Safe().Header.Number.Uint64() < b.block
	}
	return false
}

// honestProver tells whether prover i states honestly in this run.
func (s *Scenario) honestProver(i int) bool { return s.byz == nil || i != s.byz.liar }

// checkByzantine checks what the kind requires beyond P5 (which runs for
// every run, with the doctored block as bad) and records its figures.
func (s *Scenario) checkByzantine(w *sim.World, seq *ledger.Ledger, stmts []properties.ProverStatements) []traces.Violation {
	b := s.byz
	var out []traces.Violation
	fail := func(prop, format string, args ...any) {
		out = append(out, traces.Violation{Property: prop, At: w.Now(), Detail: fmt.Sprintf(format, args...)})
	}
	stat := func(name string, v float64) { w.Stat(b.kind.StatPrefix()+name, v) }
	fullnodes := func(each func(id node.NodeID, f *fullnode.Fullnode)) {
		for _, id := range s.fullnodes {
			if f, ok := w.Node(id).(*fullnode.Fullnode); ok && f.Ledger() != nil {
				each(id, f)
			}
		}
	}
	switch b.kind {
	case ByzPublishedLie, ByzConsistentLie, ByzAttestAll:
		bad := s.badBlock(seq)
		if bad == 0 {
			fail(sim.PropLiveness, "the lie was never told, or its block never sealed")
			return out
		}
		reported := 0
		for _, ps := range stmts {
			if slices.ContainsFunc(ps.Faults, func(f *chain.FaultReport) bool { return f.Number == bad }) {
				reported++
			}
		}
		halted, verified := 0, 0
		fullnodes(func(id node.NodeID, f *fullnode.Fullnode) {
			if f.Halted() != nil {
				halted++
			}
			if r := f.Fault(); r != nil && r.Number == bad && f.Halted() == nil {
				verified++
			}
		})
		stat("told", 1)
		stat("reported_by_all", b2f(reported == len(stmts)))
		stat("fullnodes_halted", float64(halted))
		stat("fullnodes_verified", float64(verified))
		if b.kind != ByzPublishedLie && halted > 0 {
			// A consistent lie leaves nothing a fullnode can catch alone:
			// a halt would be a false alarm.
			fail(properties.PropDiffEquivalence, "%d fullnodes halted on a self-consistent chain", halted)
		}
		if b.kind == ByzAttestAll {
			stamped := b.attests[bad]
			stat("bad_attested", b2f(stamped))
		}
	case ByzEquivocation:
		if b.eqNumber == 0 {
			fail(sim.PropLiveness, "the sequencer never equivocated")
			return out
		}
		halted := 0
		fullnodes(func(id node.NodeID, f *fullnode.Fullnode) {
			if s.expectedHalt(f) {
				halted++
			}
		})
		stat("told", 1)
		stat("fullnodes_halted", float64(halted))
		stat("fullnodes_followed", float64(len(s.fullnodes)-halted))
	case ByzFalseReports:
		liar := s.cast.ProverAddrs[b.liar]
		marked, stopped := 0, 0
		fullnodes(func(id node.NodeID, f *fullnode.Fullnode) {
			if slices.ContainsFunc(f.Marked(), func(m fullnode.MarkedProver) bool { return m.Prover == liar }) {
				marked++
			}
			if f.Fault() != nil {
				stopped++
			}
		})
		stat("filed", float64(len(b.filed)))
		stat("fullnodes_marked", float64(marked))
		stat("fullnodes_stopped", float64(stopped))
	case ByzFlood:
		total := 0
		for _, k := range []string{"garbage", "forged", "replayed"} {
			stat(k, float64(b.flooded[k]))
			total += b.flooded[k]
		}
		refused := 0
		fullnodes(func(id node.NodeID, f *fullnode.Fullnode) { refused += int(f.Metrics().BadMiniBlocks) })
		stat("sent", float64(total))
		stat("refused_by_fullnodes", float64(refused))
	}
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// ByzantineFigures are the closing lines of a sweep of byzantine runs,
// one per kind that ran, from the sweep's figures (every run's stats, by
// name); unsound is the number of runs that failed P5.
func ByzantineFigures(figures map[string][]float64, unsound int) []string {
	sum := func(name string) float64 {
		t := 0.0
		for _, x := range figures[name] {
			t += x
		}
		return t
	}
	runs := func(name string) int { return len(figures[name]) }
	var out []string
	for _, k := range ByzKinds {
		p := k.StatPrefix()
		switch k {
		case ByzPublishedLie, ByzConsistentLie, ByzAttestAll:
			if runs(p+"told") == 0 {
				continue
			}
			line := fmt.Sprintf("byzantine %s: %.0f lies told, %.0f reported by every honest prover, fullnodes halted %.0f times on their own, stopped finality on a verified report %.0f times",
				k, sum(p+"told"), sum(p+"reported_by_all"), sum(p+"fullnodes_halted"), sum(p+"fullnodes_verified"))
			if k == ByzAttestAll {
				line += fmt.Sprintf(", the bad block attested by the liar in %.0f runs", sum(p+"bad_attested"))
			}
			out = append(out, line)
		case ByzEquivocation:
			if runs(p+"told") == 0 {
				continue
			}
			out = append(out, fmt.Sprintf("byzantine %s: %.0f equivocations, fullnodes halted on the conflict %.0f times, followed the sequencer %.0f times, 0 forks served (P8)",
				k, sum(p+"told"), sum(p+"fullnodes_halted"), sum(p+"fullnodes_followed")))
		case ByzFalseReports:
			if runs(p+"filed") == 0 {
				continue
			}
			out = append(out, fmt.Sprintf("byzantine %s: %.0f false reports filed in %d runs, the liar marked by %.0f fullnodes, finality stopped %.0f times",
				k, sum(p+"filed"), runs(p+"filed"), sum(p+"fullnodes_marked"), sum(p+"fullnodes_stopped")))
		case ByzFlood:
			if runs(p+"sent") == 0 {
				continue
			}
			out = append(out, fmt.Sprintf("byzantine %s: %.0f messages flooded in %d runs (%.0f garbage, %.0f forged, %.0f replayed), %.0f forged mini-blocks refused by fullnodes, none applied",
				k, sum(p+"sent"), runs(p+"sent"), sum(p+"garbage"), sum(p+"forged"), sum(p+"replayed"), sum(p+"refused_by_fullnodes")))
		}
	}
	if len(out) > 0 {
		out = append(out, fmt.Sprintf("byzantine: %d runs finalized a bad block, attested one honestly, or stopped finality without a verified fault (P5)", unsound))
	}
	return out
}

// flooderKey is the key the flooder signs with: nobody configured it.
func flooderKey() *ecdsa.PrivateKey { return key("meganode-sim-flooder", 0) }

func msDur(ms int) time.Duration { return time.Duration(ms) * time.Millisecond }
