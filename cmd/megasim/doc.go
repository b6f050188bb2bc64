// Command megasim runs meganode's deterministic simulator.
//
//	megasim run     --seed S [--profile P] [--trace FILE] [-v]
//	megasim sweep   --seeds N [--from S] [--shard i/n] [--profile P] [--jobs J] [--traces DIR] [--report DIR]
//	                [--out DIR] [--fingerprints FILE] [--stop-after K] [--time-budget D] [--recheck-share F]
//	megasim merge   [--report DIR] [--fingerprints FILE] DIR...
//	megasim replay  FILE [-v]
//	megasim shrink  FILE [--out FILE] [--property P] [--max-runs N]
//	megasim explain FILE [--html FILE] [--events N] [--timers] [--artifacts DIR]
//	megasim bench   [--seeds N]
//	megasim profiles
//
// run prints the configuration the seed derives, runs it, and prints what
// happened; on a violation it writes the trace and prints the command that
// replays it, and exits 1. sweep runs many seeds in parallel (each run on
// one goroutine), prints one line per failing seed with its replay command,
// and closes with "N passed, M failed"; with --report it also writes
// DIR/index.html, a self-contained page of the sweep: outcomes per seed,
// faults planned by kind, the coverage marks each seed reached, client
// throughput and latency in simulated time, and catch-up times after the
// heal. With --out DIR (or --report DIR) it writes DIR/sweep.json, the
// sweep's machine-readable result: versioned by its "format" field, it
// holds the profile, build, seed range and shard, and per seed the
// fingerprint, outcome, violations, figures, coverage marks and planned
// faults. A share of the seeds (--recheck-share, 5% by default, picked by
// a hash of the seed) runs twice, and two fingerprints for one seed fail
// it (P7 determinism); the closing lines say how many ran twice.
// --stop-after K and --time-budget D start no more seeds after K failures
// or D of wall time, and say so. On a terminal, stderr shows a progress
// line (seeds done, failures, seeds/hour, ETA). merge combines the
// sweep.json of a sweep's shards (--shard i/n, run on many machines: see
// deploy/k8s and deploy/slurm) into what the unsharded sweep prints,
// reports and fingerprints; it refuses shards of different profiles,
// builds or formats, and reports missing shards and duplicated seeds.
// replay re-runs a trace's seed,
// compares the two event logs event by event, shows the violations the
// trace recorded, and exits 0 only when the run reproduced exactly.
// explain re-runs a trace's plan and prints the violated properties with
// their evidence, the scenario's explanation, the planned faults and a
// timeline of the last events before the first violation, one lane per
// node; --html writes the same as one self-contained page (SVG lanes,
// porcupine's visualization of a linearizability failure embedded).
package main
