package chainsim_test

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/fullnode"
	"github.com/meganode/meganode/node/mempool"
	"github.com/meganode/meganode/node/prover"
	"github.com/meganode/meganode/node/sequencer"
	"github.com/meganode/meganode/properties"
	"github.com/meganode/meganode/sim"
	"github.com/meganode/meganode/sim/chainsim"
	"github.com/meganode/meganode/traces"
)

// Deliberately wrong clusters. They exist only in this test file: the
// production build cannot make them.

// A sequencer whose disk lies about sync: it says a sync completed as soon
// as it is asked for, and never makes anything durable.
type lyingSequencer struct {
	*sequencer.Sequencer
	fake node.SyncID
}

// lieTimer is the timer the lie is told on, out of the sequencer's range.
const lieTimer node.TimerID = 1 << 62

type lyingEnv struct {
	node.Env
	s *lyingSequencer
}

func (e lyingEnv) Sync() node.SyncID {
	e.s.fake++
	e.Env.After(0, lieTimer)
	return e.s.fake
}

func (s *lyingSequencer) Start(env node.Env) error { return s.Sequencer.Start(lyingEnv{env, s}) }
func (s *lyingSequencer) OnSynced(node.SyncID)     {} // never asked for a real one
func (s *lyingSequencer) OnTimer(id node.TimerID) {
	if id == lieTimer {
		s.Sequencer.OnSynced(s.fake)
		return
	}
	s.Sequencer.OnTimer(id)
}

// A sequencer that forgets the tail of its WAL on restart: the newest
// mini-block record is gone before recovery reads the log.
type forgetfulSequencer struct{ *sequencer.Sequencer }

func (s forgetfulSequencer) Start(env node.Env) error {
	var last []byte
	prefix := []byte("ledger/mb/")
	_ = env.Disk().Iterate(prefix, func(k, _ []byte) error { last = bytes.Clone(k); return nil })
	if last != nil && binary.BigEndian.Uint64(last[len(prefix):]) > 0 {
		b := env.Disk().NewBatch()
		b.Delete(last)
		if err := b.Commit(); err != nil {
			return err
		}
	}
	return s.Sequencer.Start(env)
}

// A fullnode that drops one entry of a mini-block's diff after verifying
// it. The wrapper verifies the signature as the fullnode does, removes the
// entry, and signs again with the sequencer's key so that the fullnode
// inside applies what the buggy one would.
type droppingFullnode struct {
	*fullnode.Fullnode
	id node.NodeID
}

func (f droppingFullnode) OnMessage(from node.NodeID, msg []byte) {
	if chain.Kind(msg) == chain.FormatMiniBlockV1 {
		msg = dropEntry(msg)
	}
	f.Fullnode.OnMessage(from, msg)
}

func dropEntry(raw []byte) []byte {
	mb, err := chain.DecodeMiniBlock(raw)
	if err != nil || mb.VerifySigner(chainsim.TheCast().SeqAddr) != nil || len(mb.Diff.Accounts) < 2 || mb.Header.Number%7 != 3 {
		return raw
	}
	mb.Diff.Accounts = slices.Delete(mb.Diff.Accounts, 0, 1)
	if mb.Seal(chainsim.TheCast().SeqKey) != nil {
		return raw
	}
	out, err := mb.Encode()
	if err != nil {
		return raw
	}
	return out
}

// A fullnode that applies a duplicated mini-block twice: the diff of a
// mini-block it already holds, received again (by gossip or in a range
// answer), is applied again, before a later mini-block's. The wrapper
// folds the stale diff into the next mini-block that seals a block (and
// signs it again with the sequencer's key, as droppingFullnode does), so
// that the fullnode inside applies what the buggy one would; folding it
// into one in the middle of a block would change that mini-block's hash
// and break the chain of parents, which the fullnode reports as a fork.
type doublingFullnode struct {
	*fullnode.Fullnode
	again **chain.Diff // a duplicate's diff, to apply before the next mini-block's
}

func (f doublingFullnode) OnMessage(from node.NodeID, msg []byte) {
	if f.Ledger() == nil {
		f.Fullnode.OnMessage(from, msg)
		return
	}
	switch chain.Kind(msg) {
	case chain.FormatMiniBlockV1:
		msg = f.double(msg)
	case chain.FormatRangeResponseV1:
		if resp, err := chain.DecodeRangeResponse(msg); err == nil {
			for i, raw := range resp.MiniBlocks {
				resp.MiniBlocks[i] = f.double(raw)
			}
			msg = resp.Encode()
		}
	}
	f.Fullnode.OnMessage(from, msg)
}

// double notes a duplicate's diff, or folds a noted one into the next
// mini-block.
func (f doublingFullnode) double(raw []byte) []byte {
	mb, err := chain.DecodeMiniBlock(raw)
	if err != nil || mb.VerifySigner(chainsim.TheCast().SeqAddr) != nil {
		return raw
	}
	head, _ := f.Ledger().Head()
	switch {
	case mb.Header.Number <= head.Number && mb.Header.Number > 0 && !mb.Diff.Empty():
		*f.again = mb.Diff
	case mb.Header.Number == head.Number+1 && *f.again != nil && mb.Sealed != nil:
		mb.Diff = (*f.again).Merge(mb.Diff)
		*f.again = nil
		if mb.Seal(chainsim.TheCast().SeqKey) == nil {
			if out, err := mb.Encode(); err == nil {
				return out
			}
		}
	}
	return raw
}

func mustSeq(cfg sequencer.Config) *sequencer.Sequencer {
	s, err := sequencer.New(cfg)
	if err != nil {
		panic(err)
	}
	return s
}

func mustFull(cfg fullnode.Config) *fullnode.Fullnode {
	f, err := fullnode.New(cfg)
	if err != nil {
		panic(err)
	}
	return f
}

var bugs = []struct {
	name string
	want []string // the properties that name this bug
	v    chainsim.Variants
}{
	{"chain-bug-lying-disk", []string{properties.PropDurability},
		chainsim.Variants{Sequencer: func(c sequencer.Config) node.Node { return &lyingSequencer{Sequencer: mustSeq(c)} }}},
	{"chain-bug-forgets-wal-tail", []string{properties.PropDurability, properties.PropNoFork},
		chainsim.Variants{Sequencer: func(c sequencer.Config) node.Node { return forgetfulSequencer{mustSeq(c)} }}},
	{"chain-bug-drops-diff-entry", []string{properties.PropDiffEquivalence},
		chainsim.Variants{Fullnode: func(c fullnode.Config) node.Node { return droppingFullnode{Fullnode: mustFull(c)} }}},
	{"chain-bug-applies-duplicate", []string{properties.PropDiffEquivalence},
		chainsim.Variants{Fullnode: func(c fullnode.Config) node.Node { return doublingFullnode{mustFull(c), new(*chain.Diff)} }}},
	{"chain-bug-rubber-stamp-prover", []string{properties.PropProverSoundness},
		chainsim.Variants{Byzantine: []chainsim.ByzKind{chainsim.ByzPublishedLie}, Prover: func(c prover.Config) node.Node { return chainsim.NewAttestAll(c) }}},
	{"chain-bug-trusts-fault-reports", []string{properties.PropProverSoundness},
		chainsim.Variants{Byzantine: []chainsim.ByzKind{chainsim.ByzFalseReports}, Fullnode: func(c fullnode.Config) node.Node {
			// A fullnode that believes any configured prover's report.
			c.VerifyFault = func(*chain.FaultReport) fullnode.FaultCheck {
				return fullnode.FaultCheck{Verified: true, Reason: "trusted"}
			}
			return mustFull(c)
		}}},
	// A mempool that ignores the tip: first come, first served (P9).
	{"chain-bug-ignores-tip", []string{properties.PropOrdering},
		chainsim.Variants{Sequencer: func(c sequencer.Config) node.Node {
			c.Pool.Order = mempool.OrderArrival
			return mustSeq(c)
		}}},
	// Latest reads from a lagging cache (readbugs_test.go): stale (P1).
	{"chain-bug-stale-reads", []string{properties.PropLinearizability},
		chainsim.Variants{Sequencer: func(c sequencer.Config) node.Node { return staleReads{mustSeq(c)} }}},
	// The order of IO (iobugs_test.go).
	{"chain-bug-acks-before-sync", []string{properties.PropDurability},
		chainsim.Variants{Sequencer: func(c sequencer.Config) node.Node { return newEarlyAck(mustSeq(c)) }}},
	// A sequencer group's leader that acknowledges what it proposed,
	// before the group committed it (iobugs_test.go): a failover loses
	// it (P4).
	{"failover-bug-acks-before-commit", []string{properties.PropDurability},
		chainsim.Variants{Group: 3, Sequencer: func(c sequencer.Config) node.Node {
			s := newEarlyAck(mustSeq(c))
			s.proposals = true
			return s
		}}},
	{"chain-bug-publishes-before-sync", []string{properties.PropNoFork},
		chainsim.Variants{Sequencer: func(c sequencer.Config) node.Node { return earlyPublish{mustSeq(c)} }}},
	{"chain-bug-drops-outputs-on-restart", []string{sim.PropLiveness},
		chainsim.Variants{Sequencer: func(c sequencer.Config) node.Node { return &amnesiac{cfg: c} }}},
}

func init() {
	for _, b := range bugs {
		sim.Register(chainsim.NewProfile(b.name, b.v))
	}
}

// TestCheckersCatchWrongVariants: for each deliberately wrong cluster, a
// sweep of at most 500 seeds finds a failing seed whose violations name
// the right property, and the seed's trace, written and read back,
// replays exactly.
func TestCheckersCatchWrongVariants(t *testing.T) {
	for _, b := range bugs {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			p, err := sim.Lookup(b.name)
			if err != nil {
				t.Fatal(err)
			}
			var found *sim.Result
			for seed := uint64(1); seed <= 500 && found == nil; seed++ {
				res := sim.Run(p, seed, sim.Options{Keep: true})
				for _, v := range res.Violations {
					if slices.Contains(b.want, v.Property) {
						found = res
						break
					}
				}
			}
			if found == nil {
				t.Fatalf("500 seeds of %s found no violation of %v", b.name, b.want)
			}
			t.Logf("seed %d: %v", found.Config.Seed, found.Violations)
			var buf bytes.Buffer
			if err := traces.Write(&buf, found.Trace); err != nil {
				t.Fatal(err)
			}
			tr, err := traces.Read(&buf)
			if err != nil {
				t.Fatal(err)
			}
			res, div, err := sim.Replay(tr, sim.Options{})
			if err != nil || div != nil {
				t.Fatalf("replay: %v %v", err, div)
			}
			if res.Fingerprint != found.Fingerprint {
				t.Fatal("replay gave another fingerprint")
			}
		})
	}
}

// A prover that attests every block it is sent without validating it: a
// rubber stamp. Only a lying sequencer tells it apart, so its sweep runs
// the byzantine profile.
// TestShrinkWrongVariants: the failing seed of each wrong variant shrinks
// to a plan that still fails the same property and is smaller: at most 5
// faults and 20 client operations. In short mode (make test) one of the
// variants runs; without -short, all of them (a few minutes).
func TestShrinkWrongVariants(t *testing.T) {
	for _, b := range bugs {
		t.Run(b.name, func(t *testing.T) {
			if testing.Short() && b.name != "chain-bug-publishes-before-sync" {
				t.Skip("short mode: go test -run TestShrinkWrongVariants ./sim/chainsim/ runs every variant")
			}
			t.Parallel()
			p, err := sim.Lookup(b.name)
			if err != nil {
				t.Fatal(err)
			}
			var found *sim.Result
			var prop string
			for seed := uint64(1); seed <= 500 && found == nil; seed++ {
				res := sim.Run(p, seed, sim.Options{})
				for _, v := range res.Violations {
					if slices.Contains(b.want, v.Property) {
						found, prop = res, v.Property
						break
					}
				}
			}
			if found == nil {
				t.Fatalf("no failing seed")
			}
			plan := sim.DerivePlan(p, found.Config.Seed)
			f0, o0 := plan.Size()
			small, res, st, err := sim.Shrink(p, plan, sim.ShrinkOptions{MaxRuns: 300, Property: prop})
			if err != nil {
				t.Fatal(err)
			}
			f1, o1 := small.Size()
			t.Logf("seed %d, %s: %d faults, %d operations, %d nodes, %v → %d faults, %d operations, %d nodes, %v (%d runs, %v)",
				found.Config.Seed, st.Property, f0, o0, plan.Nodes, found.SimTime.Round(time.Millisecond), f1, o1, small.Nodes, res.SimTime.Round(time.Millisecond), st.Runs, st.Wall.Round(time.Second))
			if f1 > 5 || o1 > 20 {
				t.Errorf("shrunk to %d faults and %d operations; want at most 5 and 20", f1, o1)
			}
			if f1+o1 >= f0+o0 {
				t.Errorf("not smaller: %d+%d from %d+%d", f1, o1, f0, o0)
			}
			if !slices.ContainsFunc(res.Violations, func(v traces.Violation) bool { return v.Property == st.Property }) {
				t.Errorf("the shrunk plan does not fail %s: %v", st.Property, res.Violations)
			}
			// The shrunk trace replays.
			var buf bytes.Buffer
			if err := traces.Write(&buf, res.Trace); err != nil {
				t.Fatal(err)
			}
			tr, err := traces.Read(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if _, div, err := sim.Replay(tr, sim.Options{}); err != nil || div != nil {
				t.Fatalf("the shrunk trace does not replay: %v %v", err, div)
			}
		})
	}
}

// TestExplainNamesTheDivergence: for a fullnode that drops a diff entry,
// the scenario's explanation names the first differing account, both
// values, and the mini-blocks that wrote it on each side.
func TestExplainNamesTheDivergence(t *testing.T) {
	p, err := sim.Lookup("chain-bug-drops-diff-entry")
	if err != nil {
		t.Fatal(err)
	}
	for seed := uint64(1); seed <= 100; seed++ {
		r := sim.Run(p, seed, sim.Options{Explain: true})
		if !r.Failed() {
			continue
		}
		for _, line := range r.Explanation {
			if strings.Contains(line, "diverged by mini-block") && strings.Contains(line, "chain ") && strings.Contains(line, "node ") &&
				strings.Contains(line, "the sequencer's chain last wrote it in mini-block") {
				t.Logf("seed %d: %s", seed, line)
				return
			}
		}
		t.Fatalf("seed %d failed (%v) but the explanation does not name the divergence: %q", seed, r.Violations[0], r.Explanation)
	}
	t.Fatal("no failing seed in 100")
}
