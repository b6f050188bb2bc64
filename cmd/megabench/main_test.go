package main

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// figures runs the pipeline on a small workload and returns its figures
// by name, checking every stdout line is "name value unit" with a positive
// value.
func figures(t *testing.T, o options) map[string]string {
	t.Helper()
	var out, log bytes.Buffer
	if err := run(o, &out, &log); err != nil {
		t.Fatalf("run: %v\nstderr:\n%s", err, log.String())
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		f := strings.Split(line, " ")
		if len(f) != 3 || f[0] == "" || f[2] == "" {
			t.Fatalf("line %q is not \"name value unit\"", line)
		}
		if v, err := strconv.ParseFloat(f[1], 64); err != nil || !(v > 0) || strings.ContainsAny(f[1], "eE+-") {
			t.Errorf("line %q: value is not a positive plain decimal", line)
		}
		if _, dup := got[f[0]]; dup {
			t.Errorf("figure %s printed twice", f[0])
		}
		got[f[0]] = f[2]
	}
	return got
}

func TestPipelinePrintsEveryFigure(t *testing.T) {
	got := figures(t, options{n: 2500, reps: 1, holders: 300, witnessTxs: 20, witnessBlocks: 2})
	want := []string{
		"exec_erc20_per_s", "exec_erc20_with_ecrecover_per_s", "exec_erc20_with_root_per_s",
		"geth_statedb_erc20_per_s", "geth_statedb_erc20_with_root_per_s",
		"diff_bytes_per_erc20", "diff_bytes_per_erc20_per_tx_diffs",
		"diff_apply_per_s", "root_key_updates_per_s", "root_key_updates_per_s_allcores",
	}
	want = append(want, "diff_bytes_per_erc20_zstd")
	want = append(want, witnessFigures...)
	for _, name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("figure %s missing", name)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d figures, want %d: %v", len(got), len(want), got)
	}
}

func TestOnlySelectsFigures(t *testing.T) {
	got := figures(t, options{n: 1000, reps: 2, holders: 50, only: regexp.MustCompile(`^diff_bytes_per_erc20$|^root_key_updates_per_s$`)})
	if len(got) != 2 || got["diff_bytes_per_erc20"] != "B/tx" || got["root_key_updates_per_s"] != "keys/s" {
		t.Errorf("got %v", got)
	}
}
