package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"time"
)

type options struct {
	n, reps int
	holders int
	only    *regexp.Regexp // nil selects every figure
	// The witness figures' sealed blocks: witnessTxs of the n transfers
	// each, witnessBlocks of them.
	witnessTxs, witnessBlocks int
}

type figure struct {
	name, unit string
	prec       int // decimals printed
}

// job measures its figures once per repetition, under GOMAXPROCS procs.
type job struct {
	figs    []figure
	procs   int
	run     func(w *workload) ([]float64, error)
	witness bool // it needs the sealed blocks of prepareWitness
}

// figureJobs lists the measurements in output order.
func figureJobs() []job {
	single := func(name, unit string, prec, procs int, f func(w *workload) (float64, error)) job {
		return job{figs: []figure{{name, unit, prec}}, procs: procs, run: func(w *workload) ([]float64, error) {
			v, err := f(w)
			return []float64{v}, err
		}}
	}
	js := []job{
		single("exec_erc20_per_s", "tx/s", 0, 1, func(w *workload) (float64, error) { return w.execRun(w.txs, false) }),
		single("exec_erc20_with_ecrecover_per_s", "tx/s", 0, 1, func(w *workload) (float64, error) {
			txs, err := w.fresh()
			if err != nil {
				return 0, err
			}
			return w.execRun(txs, false)
		}),
		single("exec_erc20_with_root_per_s", "tx/s", 0, 1, func(w *workload) (float64, error) { return w.execRun(w.txs, true) }),
		single("geth_statedb_erc20_per_s", "tx/s", 0, 1, func(w *workload) (float64, error) { return w.gethRun(false) }),
		single("geth_statedb_erc20_with_root_per_s", "tx/s", 0, 1, func(w *workload) (float64, error) { return w.gethRun(true) }),
		{figs: []figure{{"diff_bytes_per_erc20", "B/tx", 1}, {"diff_bytes_per_erc20_per_tx_diffs", "B/tx", 1}}, procs: 1,
			run: (*workload).diffSizes},
	}
	js = append(js, single("diff_bytes_per_erc20_zstd", "B/tx", 1, 1, (*workload).zstdSize))
	return append(js,
		single("diff_apply_per_s", "tx/s", 0, 1, (*workload).applyRun),
		single("root_key_updates_per_s", "keys/s", 0, 1, (*workload).rootRun),
		single("root_key_updates_per_s_allcores", "keys/s", 0, runtime.NumCPU(), (*workload).rootRun),
		job{figs: []figure{
			{"witness_bytes_per_block", "B", 0}, {"witness_bytes_per_tx", "B/tx", 1}, {"witness_nodes_per_block", "nodes", 1},
			{"geth_witness_bytes_per_block", "B", 0}, {"geth_witness_nodes_per_block", "nodes", 1},
		}, procs: 1, run: (*workload).witnessSizes, witness: true},
		job{figs: []figure{{"prover_validate_ms_per_block", "ms", 2}, {"geth_stateless_ms_per_block", "ms", 2}},
			procs: 1, run: (*workload).witnessTimes, witness: true},
	)
}

func main() {
	o := options{holders: 10_000}
	flag.IntVar(&o.n, "n", 20_000, "transfers per measurement")
	flag.IntVar(&o.witnessTxs, "witness-txs", 200, "transfers per sealed block of the witness figures")
	flag.IntVar(&o.witnessBlocks, "witness-blocks", 5, "sealed blocks of the witness figures")
	flag.IntVar(&o.reps, "reps", 3, "repetitions; each figure is their median")
	only := flag.String("only", "", "measure only the figures whose names match this regexp")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "megabench: -cpuprofile:", err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			fmt.Fprintln(os.Stderr, "megabench: -only:", err)
			os.Exit(2)
		}
		o.only = re
	}
	if err := run(o, os.Stdout, os.Stderr); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "megabench:", err)
		os.Exit(1)
	}
}

func run(o options, out, log io.Writer) error {
	if o.n < 1 || o.reps < 1 || o.holders < 2 {
		return fmt.Errorf("need n ≥ 1, reps ≥ 1 and holders ≥ 2")
	}
	procs := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(procs)
	fmt.Fprintf(log, "megabench: %s %s/%s, %d CPUs (GOMAXPROCS %d), n=%d transfers, reps=%d, %d holders, mini-blocks of %d\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), procs, o.n, o.reps, o.holders, miniBlock)

	selected := slices.DeleteFunc(figureJobs(), func(j job) bool {
		return !slices.ContainsFunc(j.figs, func(f figure) bool { return o.only == nil || o.only.MatchString(f.name) })
	})
	if len(selected) == 0 {
		return fmt.Errorf("-only %v selects no figure", o.only)
	}

	start := time.Now()
	w, err := newWorkload(o.holders, o.n)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "setup: genesis and %d signed transfers in %v\n", o.n, time.Since(start).Round(time.Millisecond))
	if err := w.check(log); err != nil {
		return fmt.Errorf("correctness check: %w", err)
	}
	fmt.Fprintf(log, "notes: single-core figures run under GOMAXPROCS(1); _allcores under GOMAXPROCS(%d)\n", runtime.NumCPU())
	fmt.Fprintf(log, "notes: with_root figures compute the root after every mini-block (%d transfers) on both paths: meganode state.Mem.Root, go-ethereum StateDB.IntermediateRoot\n", miniBlock)
	distinct, summed := w.rootKeys()
	fmt.Fprintf(log, "notes: root_key_updates_per_s times Root once per %d mini-blocks (a sealed block of %d transfers) after applying their diffs untimed;"+
		" it counts %d key updates (distinct accounts + slots per block; %d if counted in every mini-block diff)\n", blockMinis, blockMinis*miniBlock, distinct, summed)
	fmt.Fprintf(log, "notes: the go-ethereum peer reads state through its hash-based trie database over an in-memory key-value store, without a snapshot layer\n")
	if slices.ContainsFunc(selected, func(j job) bool { return j.witness }) {
		if err := w.prepareWitness(o.witnessTxs, o.witnessBlocks, log); err != nil {
			return err
		}
		fmt.Fprintf(log, "notes: witness figures: sizes are means over the %d blocks; prover_validate_ms_per_block and geth_stateless_ms_per_block medians over them,"+
			" each on a freshly opened bundle (senders not yet recovered)\n", o.witnessBlocks)
	}

	values := make([][][]float64, len(selected)) // [job][figure][rep]
	for i, j := range selected {
		values[i] = make([][]float64, len(j.figs))
	}
	for rep := range o.reps {
		for i, j := range selected {
			runtime.GOMAXPROCS(j.procs)
			vs, err := j.run(w)
			runtime.GOMAXPROCS(procs)
			if err != nil {
				return fmt.Errorf("%s: %w", j.figs[0].name, err)
			}
			for k, v := range vs {
				values[i][k] = append(values[i][k], v)
				f := j.figs[k]
				fmt.Fprintf(log, "rep %d/%d: %s %s %s\n", rep+1, o.reps, f.name, format(v, f.prec), f.unit)
			}
		}
	}
	for i, j := range selected {
		for k, f := range j.figs {
			if o.only == nil || o.only.MatchString(f.name) {
				fmt.Fprintf(out, "%s %s %s\n", f.name, format(median(values[i][k]), f.prec), f.unit)
			}
		}
	}
	fmt.Fprintf(log, "total %v\n", time.Since(start).Round(time.Millisecond))
	return nil
}

func format(v float64, prec int) string {
	return strconv.FormatFloat(v, 'f', prec, 64)
}

func median(vs []float64) float64 {
	s := slices.Sorted(slices.Values(vs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
