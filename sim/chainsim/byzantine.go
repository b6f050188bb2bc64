package chainsim

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/ledger"
	"github.com/meganode/meganode/node/mempool"
	"github.com/meganode/meganode/node/sequencer"
	"github.com/meganode/meganode/properties"
	"github.com/meganode/meganode/sim"
	"github.com/meganode/meganode/traces"
)

// ByzantineProfile runs the chain with a sequencer that lies about one
// sealed block: every copy it publishes of the block's last mini-block (by
// gossip, in the block's bundle, to DA, in range answers) carries either a
// diff or a sealed state root that disagrees with execution, signed with
// the sequencer's key. The run passes when the lie is detected: every
// honest prover reports the block, every fullnode halts at it or stops
// finality before it, and nothing at or after it is ever finalized.
var ByzantineProfile = NewProfile("byzantine", Variants{Byzantine: true})

// TightProfile runs the chain with every bound made small, so that runs
// reach them: a full pool, full waiters, a full fullnode buffer, a full
// prover pending set, one block a DA put, one item a DA answer.
var TightProfile = NewProfile("tight", Variants{Tight: true})

func init() {
	sim.Register(ByzantineProfile)
	sim.Register(TightProfile)
}

// byzantine is the lie a run's sequencer tells.
type byzantine struct {
	block    uint64 // the sealed block lied about
	rootLie  bool   // the sealed root lies; otherwise the diff does
	doctored uint64 // the mini-block doctored, once it was
	honest   common.Hash
	raw      []byte // its doctored encoding
}

func newByzantine(rng *rand.Rand) *byzantine {
	return &byzantine{block: 2 + uint64(rng.IntN(3)), rootLie: rng.IntN(2) == 0}
}

func (b *byzantine) String() string {
	what := "its last mini-block's diff"
	if b.rootLie {
		what = "its sealed state root"
	}
	return fmt.Sprintf("byzantine sequencer: lies about block %d (%s)", b.block, what)
}

// lieAddr is the account the doctored diff credits.
var lieAddr = common.HexToAddress("0x00000000000000000000000000000000000bad00")

// mini returns the encoding of a mini-block the sequencer publishes: the
// doctored one in place of the honest one.
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
		d := mb.Diff.Clone()
		ad := chain.AccountDiff{Address: lieAddr, Flags: chain.SetBalance}
		if prev := d.Account(lieAddr); prev != nil {
			ad = *prev
		}
		ad.Flags |= chain.SetBalance
		ad.Balance.AddUint64(&ad.Balance, 1_000_000)
		d.Accounts = slices.DeleteFunc(d.Accounts, func(a chain.AccountDiff) bool { return a.Address == lieAddr })
		i, _ := slices.BinarySearchFunc(d.Accounts, lieAddr, func(a chain.AccountDiff, t common.Address) int { return bytes.Compare(a.Address[:], t[:]) })
		d.Accounts = slices.Insert(d.Accounts, i, ad)
		mb.Diff = d
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
// doctor.
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
	switch chain.Kind(msg) {
	case chain.FormatMiniBlockV1:
		msg = e.s.doctor(msg)
	case chain.FormatBlockBundleV1:
		msg = e.s.doctorBundle(msg)
	}
	e.Env.Publish(topic, msg)
}

func (e *byzEnv) Send(to node.NodeID, msg []byte) {
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

// byzantineConverged: the lie was told, every prover reported it, every
// fullnode halted at it or stopped finality before it, and the sequencer
// has nothing left to execute.
func (s *Scenario) byzantineConverged(w *sim.World) (bool, string) {
	b := s.byz
	seq, ok := w.Node(SequencerID).(interface {
		Ledger() *ledger.Ledger
		Pool() *mempool.Pool
	})
	if !ok || seq.Ledger() == nil {
		return false, "the sequencer is down"
	}
	if b.doctored == 0 {
		return false, fmt.Sprintf("block %d is not sealed yet", b.block)
	}
	for _, id := range s.provers {
		p, ok := w.Node(id).(proverNode)
		if !ok {
			return false, fmt.Sprintf("%s is down", id)
		}
		if _, f := p.Statement(b.block); f == nil {
			return false, fmt.Sprintf("%s has not reported block %d", id, b.block)
		}
	}
	for _, id := range s.fullnodes {
		f, ok := w.Node(id).(finalityNode)
		if !ok || f.Ledger() == nil {
			return false, fmt.Sprintf("%s is down", id)
		}
		if f.Halted() == nil && (f.Fault() == nil || f.Fault().Number != b.block) {
			return false, fmt.Sprintf("%s neither halted at block %d nor stopped finality there", id, b.block)
		}
	}
	return true, ""
}

// checkByzantine records the detection; P5 itself (nothing doctored
// attested or finalized) is checked with the honest runs' checker.
func (s *Scenario) checkByzantine(w *sim.World, stmts []properties.ProverStatements) []traces.Violation {
	b := s.byz
	if b.doctored == 0 {
		return []traces.Violation{{Property: sim.PropLiveness, At: w.Now(), Detail: fmt.Sprintf("the sequencer never sealed block %d, so the lie was never told", b.block)}}
	}
	reported := 0
	for _, ps := range stmts {
		if slices.ContainsFunc(ps.Faults, func(f *chain.FaultReport) bool { return f.Number == b.block }) {
			reported++
		}
	}
	w.Stat("byzantine_injected", 1)
	w.Stat("byzantine_reported_by", float64(reported))
	if reported == len(s.provers) {
		w.Stat("byzantine_detected", 1)
	} else {
		w.Stat("byzantine_detected", 0)
	}
	return nil
}
