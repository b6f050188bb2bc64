package chainsim_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/meganode/meganode/sim"
	"github.com/meganode/meganode/traces"
)

// corpusDir holds the regression corpus: shrunk plans, each with a line
// saying what it caught.
const corpusDir = "../../traces/corpus"

// corpusEntry is one file of the corpus.
type corpusEntry struct {
	Caught  string       `json:"caught"`            // what the plan caught, in one line
	Found   string       `json:"found"`             // where it was found (a profile or variant, a seed)
	Profile string       `json:"profile"`           // the profile the plan runs under now: it must pass
	Variant string       `json:"variant,omitempty"` // the deliberately wrong cluster it fails, when it came from one
	Fails   string       `json:"fails,omitempty"`   // the property it violates there
	Plan    *traces.Plan `json:"plan"`
}

// TestCorpus re-runs every plan of the regression corpus against the
// current code: no property may fail.
func TestCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(corpusDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("the corpus is empty")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var e corpusEntry
			if err := json.Unmarshal(raw, &e); err != nil || e.Plan == nil || e.Caught == "" {
				t.Fatalf("%s: malformed corpus entry: %v", f, err)
			}
			p, err := sim.Lookup(e.Profile)
			if err != nil {
				t.Fatal(err)
			}
			r := sim.RunPlan(p, e.Plan, sim.Options{})
			if r.Failed() {
				t.Fatalf("%s (it caught: %s) fails again: %v", filepath.Base(f), e.Caught, r.Violations)
			}
			// The plan still catches what it caught: under its wrong
			// variant it violates the same property.
			if e.Variant != "" {
				vp, err := sim.Lookup(e.Variant)
				if err != nil {
					t.Fatal(err)
				}
				plan := e.Plan.Clone()
				plan.Profile = e.Variant
				r := sim.RunPlan(vp, plan, sim.Options{})
				if !slices.ContainsFunc(r.Violations, func(v traces.Violation) bool { return v.Property == e.Fails }) {
					t.Fatalf("under %s the plan no longer violates %s: %v", e.Variant, e.Fails, r.Violations)
				}
			}
		})
	}
}

// TestWriteCorpus writes the shrunk plans of the wrong variants into the
// corpus (MEGANODE_WRITE_CORPUS=1): each plan made its variant fail, and
// must pass on the real code.
func TestWriteCorpus(t *testing.T) {
	if os.Getenv("MEGANODE_WRITE_CORPUS") == "" {
		t.Skip("set MEGANODE_WRITE_CORPUS=1 to write the corpus")
	}
	caught := map[string]string{
		"chain-bug-lying-disk":               "a sequencer whose disk says a sync completed when it did not loses an acknowledged receipt on a crash (P4)",
		"chain-bug-forgets-wal-tail":         "a sequencer that loses its WAL's tail on restart re-signs a different mini-block at a height fullnodes hold (P8)",
		"chain-bug-drops-diff-entry":         "a fullnode that drops a diff entry diverges from the sequencer and its sealed-root check halts it (P3)",
		"chain-bug-applies-duplicate":        "a fullnode that applies a duplicated mini-block twice diverges (P3)",
		"chain-bug-rubber-stamp-prover":      "a prover that attests without validating attests a block the sequencer lied about (P5)",
		"chain-bug-trusts-fault-reports":     "a fullnode that believes a prover's fault report without checking its evidence lets one lying prover stop an honest chain's finality (P5)",
		"chain-bug-acks-before-sync":         "a sequencer that answers a sync send once the mini-block is committed, before its sync completes, loses the receipt on a crash (P4)",
		"chain-bug-publishes-before-sync":    "a sequencer that gossips a mini-block before its sync completes signs another one at that height after a crash (P8)",
		"chain-bug-drops-outputs-on-restart": "a sequencer that restarts afresh after a disk error drops the receipts of its syncs in flight: clients wait in silence (P6)",
		"chain-bug-ignores-tip":              "a sequencer whose pool serves first come, first served runs a lower tip while it holds a higher one executable (P9)",
		"chain-bug-stale-reads":              "a sequencer whose latest reads lag a block answers a client's read after its receipt with the state before it (P1)",
		"failover-bug-acks-before-commit":    "a sequencer group's leader that answers from the mini-blocks it proposes, before raft commits them, loses the receipts when it is lost (P4)",
	}
	for _, b := range bugs {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			p, err := sim.Lookup(b.name)
			if err != nil {
				t.Fatal(err)
			}
			for seed := uint64(1); seed <= 500; seed++ {
				r := sim.Run(p, seed, sim.Options{})
				i := slices.IndexFunc(r.Violations, func(v traces.Violation) bool { return slices.Contains(b.want, v.Property) })
				if i < 0 {
					continue
				}
				small, _, st, err := sim.Shrink(p, sim.DerivePlan(p, seed), sim.ShrinkOptions{Property: r.Violations[i].Property})
				if err != nil {
					t.Fatal(err)
				}
				real := "chain"
				if b.v.Group > 0 {
					real = "failover"
				}
				switch len(b.v.Byzantine) {
				case 0:
				case 1:
					real = "byz-" + b.v.Byzantine[0].String()
				default:
					real = "byzantine"
				}
				small.Profile = real
				e := corpusEntry{Caught: caught[b.name], Found: b.name + ", seed " + itoa(seed) + ", shrunk keeping " + st.Property, Profile: real,
					Variant: b.name, Fails: st.Property, Plan: small}
				raw, err := json.MarshalIndent(e, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(corpusDir, b.name+".json"), append(raw, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			t.Fatal("no failing seed")
		})
	}
}

func itoa(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
