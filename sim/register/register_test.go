package register

import (
	"bytes"

	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/properties"
	"github.com/meganode/meganode/sim"
	"github.com/meganode/meganode/traces"
)

// buggyProfile runs a primary that acknowledges a write before it is
// durable: a crash then loses an acknowledged write. Only this test can
// build it.
var buggyProfile = &sim.Profile{Name: "register-ack-before-sync", Ranges: Ranges, New: func(cfg *sim.Config, rng *rand.Rand) sim.Scenario {
	return New(cfg, rng, func(backups []node.NodeID) node.Node {
		p := NewPrimary(backups)
		p.syncBeforeAck = false
		return p
	})
}}

func init() { sim.Register(buggyProfile) }

func TestCorrectRegisterPasses1000Seeds(t *testing.T) {
	failed := 0
	var events int
	sim.Sweep(Profile, sim.Shard{}.Seeds(1, 1000), 2, sim.Options{}, func(r *sim.Result) {
		events += r.Events
		if r.Failed() {
			failed++
			if failed <= 5 {
				t.Errorf("seed %d: %v\n%s", r.Config.Seed, r.Violations, r.Config.String())
			}
		}
	})
	if failed > 0 {
		t.Fatalf("%d of 1000 seeds failed", failed)
	}
	t.Logf("1000 seeds, %d events", events)
}

// TestBuggyRegisterIsCaught: a sweep of at most 200 seeds finds the lost
// acknowledged write, and the failing seed's trace, written to a file and
// read back, replays exactly.
func TestBuggyRegisterIsCaught(t *testing.T) {
	var found *sim.Result
	failed := 0
	sim.Sweep(buggyProfile, sim.Shard{}.Seeds(1, 200), 2, sim.Options{Keep: true, BuildID: "test"}, func(r *sim.Result) {
		if r.Failed() {
			failed++
		}
		if found != nil {
			return
		}
		for _, v := range r.Violations {
			if v.Property == properties.PropLinearizability {
				found = r
			}
		}
	})
	if found == nil {
		t.Fatalf("200 seeds did not show the lost acknowledged write (%d failed on other properties)", failed)
	}
	t.Logf("%d of 200 seeds failed; seed %d shows the lost write: %v", failed, found.Config.Seed, found.Violations)

	path := filepath.Join(t.TempDir(), "trace.mtr")
	var buf bytes.Buffer
	if err := traces.Write(&buf, found.Trace); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := traces.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	res, div, err := sim.Replay(tr, sim.Options{})
	if err != nil || div != nil {
		t.Fatalf("the trace does not replay: %v %v", err, div)
	}
	if !res.Failed() || res.Fingerprint != found.Fingerprint {
		t.Fatal("the replay did not reproduce the failure")
	}
	// The trace shows the crash that lost the write.
	crashed := false
	for _, e := range tr.Events {
		crashed = crashed || (e.Kind == traces.KindCrash && e.Node == string(PrimaryID))
	}
	if !crashed {
		t.Fatal("the failing trace has no crash of the primary")
	}
}

// A replay of a doctored trace must report where it diverges.
func TestReplayReportsTheFirstDivergence(t *testing.T) {
	res := sim.Run(Profile, 7, sim.Options{Keep: true})
	tr := res.Trace
	if len(tr.Events) < 50 {
		t.Fatalf("only %d events", len(tr.Events))
	}
	tr.Events[40].Hash ^= 1
	_, div, err := sim.Replay(tr, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if div == nil || div.Index != 40 || div.Recorded == nil || div.Replayed == nil {
		t.Fatalf("divergence %v, want event 40", div)
	}
	if !strings.Contains(div.String(), "recorded") {
		t.Fatal(div.String())
	}
}

// The linearizability check has teeth: a history with a read of a value
// that was overwritten before the read began is refused.
func TestModelRejectsAStaleRead(t *testing.T) {
	history := []sim.Op{
		{Client: "client1", Call: 1, Return: 2, Input: []byte{callWrite, 0, 0, 0, 0, 0, 0, 0, 5}, Output: []byte{ansOK}},
		{Client: "client1", Call: 3, Return: 4, Input: []byte{callWrite, 0, 0, 0, 0, 0, 0, 0, 6}, Output: []byte{ansOK}},
		{Client: "client2", Call: 5, Return: 6, Input: []byte{callRead}, Output: encodeValue(1, 5)},
	}
	if v := properties.CheckLinearizable(Model, Operations(history), 0, ""); v == nil {
		t.Fatal("a stale read passed")
	}
	history[2].Output = encodeValue(2, 6)
	if v := properties.CheckLinearizable(Model, Operations(history), 0, ""); v != nil {
		t.Fatalf("a correct history failed: %v", v)
	}
	// A write that timed out may land later: a read of it is fine.
	history[1].TimedOut, history[1].Output = true, nil
	if v := properties.CheckLinearizable(Model, Operations(history), 0, ""); v != nil {
		t.Fatalf("a read of a write with an unknown outcome failed: %v", v)
	}
}
