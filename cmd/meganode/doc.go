// Command meganode is the production build: the sequencer, fullnode,
// prover and DA roles over libp2p, pebble and JSON-RPC, and the tools an
// operator needs around them.
//
//	meganode sequencer|fullnode|prover|da --config FILE   run a role (TOML config; every key is also a flag)
//	meganode keygen [--out FILE]                          a node key: its address and libp2p peer id
//	meganode init --genesis FILE [--datadir DIR]          put a genesis into a data directory
//	meganode devnet [--fullnodes N --provers N] [--dir D] a whole cluster as separate processes on 127.0.0.1
//	meganode load [--rpc URL]                             ERC-20 load at any JSON-RPC endpoint: tx/s and latency
//	meganode bench                                        a devnet under load: the devnet_* figures of make bench
//	meganode bench-geth --geth PATH                       geth --dev and meganode side by side under that load (make bench-geth)
//	meganode chaos [--cycles N] [--seed S]                kill -9 a devnet's nodes under load; check nothing acknowledged is lost (make chaos)
//	meganode dumpconfig [--config FILE] [flags]           the effective configuration as TOML (a valid --config file)
//	meganode version | --version                          the version, the VCS commit and the Go version
//
// Each role logs with log/slog (log-format text or json; pebble's lines
// too; an info line per sealed block, warnings on p2p peer loss and drops),
// serves its role's Prometheus metrics (p2p and, on the RPC roles, JSON-RPC
// calls by method among them; deploy/grafana has a dashboard), /health
// (503 with a reason; on a fullnode also past health.max-lag without a
// mini-block) and Go's profiler on its metrics address, the profiler on
// pprof.addr:pprof.port too with --pprof, and JSON-RPC with go-ethereum's
// http.api, http.corsdomain and http.vhosts. It stops
// gracefully on SIGINT or SIGTERM: the current step finishes, the loop
// stops, the database closes. What was acknowledged was synced before the
// acknowledgement, so kill -9 loses none of it (e2e_test.go checks this,
// and make chaos, 50 times). A fatal storage error stops it, exiting
// non-zero with a message naming its data directory; the devnet, like any
// supervisor, restarts it. Its gossip validator (gossip.go) rejects
// forgeries before GossipSub forwards them, and peer scoring graylists
// their senders.
package main
