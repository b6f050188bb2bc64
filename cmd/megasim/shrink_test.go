package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// megasim shrink on a failing register trace writes a smaller trace that
// still fails the same property and replays, and prints both sizes.
func TestShrinkCommand(t *testing.T) {
	path := failingTrace(t)
	small := filepath.Join(t.TempDir(), "small.trace")
	var out, log bytes.Buffer
	code, err := cmdShrink([]string{path, "--out", small, "--max-runs", "120"}, &out, &log)
	if err != nil || code != 0 {
		t.Fatalf("shrink: code %d, err %v\n%s", code, err, log.String())
	}
	s := out.String()
	for _, want := range []string{"P1 linearizability still fails", "before:", "after:", "wrote " + small} {
		if !strings.Contains(s, want) {
			t.Fatalf("output lacks %q:\n%s", want, s)
		}
	}
	t.Log(s)
	out.Reset()
	if code, err := cmdReplay([]string{small}, &out, &log); err != nil || code != 0 {
		t.Fatalf("the shrunk trace does not replay: %d %v\n%s", code, err, out.String())
	}
	orig, err := readTrace(path)
	if err != nil {
		t.Fatal(err)
	}
	shrunk, err := readTrace(small)
	if err != nil {
		t.Fatal(err)
	}
	f0, o0 := orig.Plan.Size()
	f1, o1 := shrunk.Plan.Size()
	if f1+o1 >= f0+o0 || len(shrunk.Violations) == 0 {
		t.Fatalf("not smaller or not failing: %d+%d → %d+%d, %v", f0, o0, f1, o1, shrunk.Violations)
	}
}
