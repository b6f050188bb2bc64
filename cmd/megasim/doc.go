// Command megasim runs meganode's deterministic simulator.
//
//	megasim run    --seed S [--profile P] [--trace FILE] [-v]
//	megasim sweep  --seeds N [--from S] [--shard i/n] [--profile P] [--jobs J] [--traces DIR]
//	megasim replay FILE [-v]
//	megasim bench  [--seeds N]
//	megasim profiles
//
// run prints the configuration the seed derives, runs it, and prints what
// happened; on a violation it writes the trace and prints the command that
// replays it, and exits 1. sweep runs many seeds in parallel (each run on
// one goroutine), prints one line per failing seed with its replay command,
// and closes with "N passed, M failed". replay re-runs a trace's seed,
// compares the two event logs event by event, shows the violations the
// trace recorded, and exits 0 only when the run reproduced exactly.
package main
