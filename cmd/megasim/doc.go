// Command megasim runs meganode's deterministic simulator.
//
//	megasim run     --seed S [--profile P] [--trace FILE] [-v]
//	megasim sweep   --seeds N [--from S] [--shard i/n] [--profile P] [--jobs J] [--traces DIR] [--report DIR]
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
// heal. replay re-runs a trace's seed,
// compares the two event logs event by event, shows the violations the
// trace recorded, and exits 0 only when the run reproduced exactly.
// explain re-runs a trace's plan and prints the violated properties with
// their evidence, the scenario's explanation, the planned faults and a
// timeline of the last events before the first violation, one lane per
// node; --html writes the same as one self-contained page (SVG lanes,
// porcupine's visualization of a linearizability failure embedded).
package main
