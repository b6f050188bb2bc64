package chainsim_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/cover"
	"github.com/meganode/meganode/node/da"
	"github.com/meganode/meganode/node/fullnode"
	"github.com/meganode/meganode/node/ledger"
	"github.com/meganode/meganode/properties"
	"github.com/meganode/meganode/sim"
	"github.com/meganode/meganode/sim/chainsim"
	"github.com/meganode/meganode/traces"
)

// The byzantine profile's short sweep: every run passes, every lie about
// state is reported by every honest prover (and, by P5, never finalized),
// and the runs draw several kinds of byzantine actor.
func TestByzantineShortSweepDetectsEveryLie(t *testing.T) {
	n := 60
	if testing.Short() {
		n = 16
	}
	told, detected := 0, 0
	kinds := map[string]bool{}
	sim.Sweep(chainsim.ByzantineProfile, sim.Shard{}.Seeds(1, n), 2, sim.Options{}, func(r *sim.Result) {
		if r.Failed() {
			t.Errorf("seed %d: %v (replay: go run ./cmd/megasim run --profile byzantine --seed %d)", r.Config.Seed, r.Violations, r.Config.Seed)
		}
		for _, s := range r.Stats {
			for _, k := range chainsim.ByzKinds {
				if strings.HasPrefix(s.Name, k.StatPrefix()) {
					kinds[k.String()] = true
				}
			}
			switch {
			case strings.HasSuffix(s.Name, "_told") && strings.Contains(s.Name, "lie"),
				strings.HasPrefix(s.Name, "byz_attest_all_told"):
				told++
			case strings.HasSuffix(s.Name, "_reported_by_all") && s.Value == 1:
				detected++
			}
		}
	})
	if told == 0 || detected != told {
		t.Fatalf("%d of %d lies about state reported by every honest prover", detected, told)
	}
	if len(kinds) < 3 {
		t.Fatalf("%d seeds drew only %v", n, kinds)
	}
}

// daOnly is the chain scenario with one more fullnode, "newcomer", that
// starts from an empty disk after WakeAt and hears from DA alone: it
// subscribes to nothing, and every message to or from another node is
// dropped at its edge. The run converges only once it holds every
// mini-block DA holds, so passing means it caught up from DA alone.
type daOnly struct {
	*chainsim.Scenario
	wakeAt time.Duration
	node   *newcomer
}

const newcomerID node.NodeID = "newcomer"

type newcomer struct {
	inner *fullnode.Fullnode
	awake bool
	env   node.Env
	wake  time.Duration
}

const timerWake node.TimerID = 1 << 62

type daEnv struct{ node.Env }

func (e daEnv) Subscribe(node.Topic) {}
func (e daEnv) Send(to node.NodeID, msg []byte) {
	if to == chainsim.DAID {
		e.Env.Send(to, msg)
	}
}
func (e daEnv) Publish(node.Topic, []byte) {}

func (n *newcomer) Start(env node.Env) error {
	n.env, n.awake = env, false
	env.After(n.wake, timerWake)
	return nil
}

func (n *newcomer) OnTimer(id node.TimerID) {
	if id == timerWake && !n.awake {
		n.awake = true
		n.wake = 0 // a restart wakes at once
		if err := n.inner.Start(daEnv{n.env}); err != nil {
			panic(err)
		}
		return
	}
	if n.awake {
		n.inner.OnTimer(id)
	}
}

func (n *newcomer) OnMessage(from node.NodeID, msg []byte) {
	if n.awake && from == chainsim.DAID {
		n.inner.OnMessage(from, msg)
	}
}

func (n *newcomer) OnRequest(req node.Request) {
	req.Respond(api.Failed(api.Errorf(api.KindUnavailable, "the newcomer serves no client")).Encode())
}

func (n *newcomer) OnSynced(id node.SyncID) {
	if n.awake {
		n.inner.OnSynced(id)
	}
}

func (s *daOnly) Nodes() []sim.NodeSpec {
	specs := s.Scenario.Nodes()
	return append(specs, sim.NodeSpec{ID: newcomerID, New: func() node.Node {
		cfg := s.FullnodeConfig(newcomerID)
		cfg.Sources = []node.NodeID{chainsim.DAID}
		f, err := fullnode.New(cfg)
		if err != nil {
			panic(err)
		}
		wake := s.wakeAt
		if s.node != nil {
			wake = 0
		}
		s.node = &newcomer{inner: f, wake: wake}
		return s.node
	}})
}

func (s *daOnly) Converged(w *sim.World) (bool, string) {
	if ok, missing := s.Scenario.Converged(w); !ok {
		return ok, missing
	}
	d, ok := w.Node(chainsim.DAID).(*da.DA)
	if !ok {
		return false, "DA is down"
	}
	_, mbs := d.Head()
	n := s.node
	if n == nil || !n.awake || n.inner.Ledger() == nil {
		return false, "the newcomer is not up"
	}
	if head, _ := n.inner.Ledger().Head(); head.Number < mbs {
		return false, "the newcomer is behind DA"
	}
	return true, ""
}

// Check adds P8 for the newcomer: every mini-block it holds is the
// sequencer's.
func (s *daOnly) Check(w *sim.World) []traces.Violation {
	out := s.Scenario.Check(w)
	seq, ok := w.Node(chainsim.SequencerID).(interface{ Ledger() *ledger.Ledger })
	if !ok || seq.Ledger() == nil || s.node == nil || s.node.inner.Ledger() == nil {
		return out
	}
	var mine, theirs []common.Hash
	head, _ := s.node.inner.Ledger().Head()
	for n := uint64(1); n <= head.Number; n++ {
		a, _, err := s.node.inner.Ledger().MiniBlock(n)
		b, _, err2 := seq.Ledger().MiniBlock(n)
		if err != nil || err2 != nil {
			return append(out, traces.Violation{Property: properties.PropNoFork, Detail: fmt.Sprintf("mini-block %d unreadable: %v %v", n, err, err2)})
		}
		mine, theirs = append(mine, a.Hash()), append(theirs, b.Hash())
	}
	if v := properties.CheckNoFork(string(newcomerID), mine, theirs); v != nil {
		out = append(out, traces.Violation{Property: v.Property, Detail: v.Detail})
	}
	return out
}

// TestNewFullnodeSyncsFromDAAlone: a fullnode that joins late with an
// empty disk, and can reach only DA, catches up to everything DA holds,
// with the same mini-blocks as the sequencer.
func TestNewFullnodeSyncsFromDAAlone(t *testing.T) {
	var sc *daOnly
	p := &sim.Profile{Name: "chain-da-sync", Ranges: chainsim.Ranges, New: func(cfg *sim.Config, rng *rand.Rand) sim.Scenario {
		sc = &daOnly{Scenario: chainsim.New(cfg, rng, chainsim.Variants{}), wakeAt: cfg.Duration}
		return sc
	}}
	for seed := uint64(1); seed <= 3; seed++ {
		res := sim.Run(p, seed, sim.Options{})
		if res.Failed() {
			t.Fatalf("seed %d: %v", seed, res.Violations)
		}
		f := sc.node.inner
		head, _ := f.Ledger().Head()
		if head.Number == 0 || f.Metrics().Repairs == 0 {
			t.Fatalf("seed %d: newcomer at mini-block %d after %d repairs", seed, head.Number, f.Metrics().Repairs)
		}
		t.Logf("seed %d: newcomer woke at %v, caught up to mini-block %d (block %d) from DA in %d requests", seed, sc.wakeAt, head.Number, head.BlockNumber, f.Metrics().Repairs)
	}
}

// The tight profile, every bound made small, passes a short sweep and
// reaches the bounds it is there for.
func TestTightShortSweepReachesTheBounds(t *testing.T) {
	n := 40
	if testing.Short() {
		n = 12
	}
	reached := map[string]int{}
	sim.Sweep(chainsim.TightProfile, sim.Shard{}.Seeds(1, n), 2, sim.Options{}, func(r *sim.Result) {
		if r.Failed() {
			t.Errorf("seed %d: %v (replay: go run ./cmd/megasim run --profile tight --seed %d)", r.Config.Seed, r.Violations, r.Config.Seed)
		}
		for name, c := range r.Marks { // counting: order cannot matter
			if c > 0 {
				reached[name]++
			}
		}
	})
	for _, m := range []string{cover.FullBufferFull, cover.SeqWaitersFull, cover.FullSourceRotated, cover.SeqSyncBackpressure, cover.FullSyncBackpressure} {
		if reached[m] == 0 {
			t.Errorf("no seed of %d reached %s", n, m)
		}
	}
}
