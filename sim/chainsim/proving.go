package chainsim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/da"
	"github.com/meganode/meganode/node/fullnode"
	"github.com/meganode/meganode/node/ledger"
	"github.com/meganode/meganode/node/prover"
	"github.com/meganode/meganode/properties"
	"github.com/meganode/meganode/sim"
	"github.com/meganode/meganode/traces"
)

// proverFaults are the fault kinds aimed at the proving side: each on or
// off per seed, with its mean interval.
type proverFaults struct {
	crash, slow, daDown time.Duration
}

func drawProverFaults(cfg *sim.Config, rng *rand.Rand) proverFaults {
	on := func() time.Duration {
		if rng.Float64() >= Ranges.FaultOn {
			return 0
		}
		return time.Duration(300+rng.IntN(1700)) * time.Millisecond
	}
	return proverFaults{crash: on(), slow: on(), daDown: on()}
}

func (p proverFaults) String() string {
	var on []string
	for _, k := range []struct {
		name  string
		every time.Duration
	}{{"prover crash", p.crash}, {"prover slow", p.slow}, {"DA down", p.daDown}} {
		if k.every > 0 {
			on = append(on, fmt.Sprintf("%s every %v", k.name, k.every))
		}
	}
	if len(on) == 0 {
		return "no proving faults"
	}
	return strings.Join(on, ", ")
}

// Faults implements sim.ScenarioFaults: prover crashes, slow provers, DA
// unreachable.
func (s *Scenario) Faults() []sim.FaultKind {
	pick := func(rng *rand.Rand) string { return string(s.provers[rng.IntN(len(s.provers))]) }
	return append([]sim.FaultKind{
		{Name: "prover crash", Every: s.pfaults.crash, Plan: func(rng *rand.Rand) traces.PlannedFault {
			return traces.PlannedFault{Kind: sim.FaultCrash, Node: pick(rng)}
		}},
		{Name: "prover slow", Every: s.pfaults.slow, Plan: func(rng *rand.Rand) traces.PlannedFault {
			return traces.PlannedFault{Kind: sim.FaultSlow, Node: pick(rng), By: time.Duration(5+rng.IntN(95)) * time.Millisecond}
		}},
		{Name: "DA down", Every: s.pfaults.daDown, Plan: func(*rand.Rand) traces.PlannedFault {
			return traces.PlannedFault{Kind: sim.FaultIsolate, Node: string(DAID)}
		}},
	}, s.leaderFaults()...)
}

// ProverConfig is prover i's configuration in this scenario.
func (s *Scenario) ProverConfig(i int) prover.Config {
	cfg := prover.Config{
		Genesis: s.cast.Genesis, Key: s.cast.ProverKeys[i], Sequencers: s.SeqKeys(), DA: DAID,
		PollEvery: 100 * time.Millisecond, FetchTimeout: 200 * time.Millisecond,
	}
	if s.v.Tight || s.bug.prover {
		cfg.MaxPending, cfg.MaxConcurrent, cfg.MaxAhead = 2, 1, 8
	}
	return cfg
}

// DAConfig is the DA node's configuration in this scenario.
func (s *Scenario) DAConfig() da.Config {
	cfg := da.Config{Sequencers: s.SeqIDs(), SequencerKeys: s.SeqKeys()}
	if s.v.Tight {
		cfg.MaxServeBytes = 1 // one item a response
	}
	return cfg
}

type proverNode interface {
	Low() uint64
	Statement(n uint64) (*chain.Attestation, *chain.FaultReport)
	Metrics() prover.Metrics
}

type finalityNode interface {
	Ledger() *ledger.Ledger
	Halted() error
	Finalized() uint64
	Fault() *chain.FaultReport
	AttestDelays() []time.Duration
}

// provingConverged is the proving side's liveness goal: DA holds, every
// prover stated about, and every fullnode finalized, each block the
// sequencer had sealed when the liveness phase began.
func (s *Scenario) provingConverged(w *sim.World, seqLedger *ledger.Ledger) (bool, string) {
	if s.finTarget == 0 {
		s.finTarget = max(1, seqLedger.Safe().Header.Number.Uint64())
	}
	target := s.finTarget
	d, ok := w.Node(DAID).(*da.DA)
	if !ok {
		return false, "DA is down"
	}
	if b, _ := d.Head(); b < target {
		return false, fmt.Sprintf("DA holds blocks up to %d, the target is %d", b, target)
	}
	for _, id := range s.provers {
		p, ok := w.Node(id).(proverNode)
		if !ok {
			return false, fmt.Sprintf("%s is down", id)
		}
		if p.Low() < target {
			return false, fmt.Sprintf("%s has stated about blocks up to %d, the target is %d", id, p.Low(), target)
		}
	}
	for _, id := range s.fullnodes {
		f, ok := w.Node(id).(finalityNode)
		if !ok || f.Ledger() == nil {
			return false, fmt.Sprintf("%s is down", id)
		}
		if s.expectedHalt(f) {
			continue
		}
		if f.Finalized() < target {
			return false, fmt.Sprintf("%s finalized up to block %d, the target is %d", id, f.Finalized(), target)
		}
	}
	return true, ""
}

// checkProving checks P5 over the provers' statements and the fullnodes'
// finality, against the sequencer's chain (which P3 re-executes), and
// records the proving figures.
func (s *Scenario) checkProving(w *sim.World, seqLedger *ledger.Ledger) []traces.Violation {
	var out []traces.Violation
	safe := seqLedger.Safe().Header.Number.Uint64()
	chainHeaders := make([]*properties.SealedHeader, 0, safe)
	for n := uint64(1); n <= safe; n++ {
		sb, err := seqLedger.SealedBlock(n)
		if err != nil {
			return append(out, traces.Violation{Property: properties.PropProverSoundness, At: w.Now(), Detail: fmt.Sprintf("the sequencer cannot read block %d: %v", n, err)})
		}
		parent, err := seqLedger.SealedBlock(n - 1)
		if err != nil {
			return append(out, traces.Violation{Property: properties.PropProverSoundness, At: w.Now(), Detail: fmt.Sprintf("the sequencer cannot read block %d: %v", n-1, err)})
		}
		chainHeaders = append(chainHeaders, &properties.SealedHeader{Number: n, Hash: sb.Header.Hash(), PreRoot: parent.Header.Root, PostRoot: sb.Header.Root})
	}
	bad := map[uint64]bool{}
	if n := s.badBlock(seqLedger); n != 0 {
		bad[n] = true
	}
	var stmts []properties.ProverStatements // the honest provers'
	var validated float64
	for i, id := range s.provers {
		p, ok := w.Node(id).(proverNode)
		if !ok || !s.honestProver(i) {
			continue
		}
		ps := properties.ProverStatements{Prover: string(id)}
		for n := uint64(1); n <= safe; n++ {
			a, f := p.Statement(n)
			if a != nil {
				ps.Attestations = append(ps.Attestations, a)
			}
			if f != nil {
				ps.Faults = append(ps.Faults, f)
			}
		}
		stmts = append(stmts, ps)
		m := p.Metrics()
		validated += float64(m.Attested + m.Faults)
	}
	var finals []properties.Finality
	var delays []time.Duration
	for _, id := range s.fullnodes {
		f, ok := w.Node(id).(finalityNode)
		if !ok || f.Ledger() == nil {
			continue
		}
		fin := properties.Finality{Node: string(id), Finalized: f.Finalized()}
		if fr := f.Fault(); fr != nil {
			fin.FaultAt = fr.Number
		}
		finals = append(finals, fin)
		delays = append(delays, f.AttestDelays()...)
	}
	// Finalized heights clients saw in head answers count too.
	finals = append(finals, s.finalizedSeen(w)...)
	if v := properties.CheckProverSoundness(chainHeaders, bad, stmts, finals); v != nil {
		out = append(out, s.violation(w, v))
	}
	if s.byz != nil {
		out = append(out, s.checkByzantine(w, seqLedger, stmts)...)
	}
	w.Stat("blocks_sealed", float64(safe))
	w.Stat("provers_statements", validated)
	if len(delays) > 0 && !s.skewed {
		// Seal times are the sequencer's clock, arrivals the fullnode's.
		slices.Sort(delays)
		w.Stat("attest_delay_ms", float64(delays[len(delays)/2].Microseconds())/1000)
	}
	if d, ok := w.Node(DAID).(*da.DA); ok {
		b, _ := d.Head()
		w.Stat("da_blocks", float64(b))
	}
	return out
}

// finalizedSeen is every finalized height a fullnode told a client: in a
// head answer, or as the height of a read at the finalized tag.
func (s *Scenario) finalizedSeen(w *sim.World) []properties.Finality {
	var out []properties.Finality
	for _, op := range w.History() {
		if op.TimedOut || !slices.Contains(s.fullnodes, op.Node) {
			continue
		}
		a, err := api.DecodeAnswer(op.Output)
		if err != nil || a.Err != nil {
			continue
		}
		if a.Finalized > 0 {
			out = append(out, properties.Finality{Node: string(op.Node) + " (head answer)", Finalized: a.Finalized})
		}
		if c, err := api.DecodeCall(op.Input); err == nil && c.Method.IsRead() && c.Tag.Kind == api.TagFinalized {
			out = append(out, properties.Finality{Node: string(op.Node) + " (read at finalized)", Finalized: a.At.Block})
		}
	}
	return out
}

var _ finalityNode = (*fullnode.Fullnode)(nil)
