# meganode: the commands every issue builds on (DESIGN.md §7).
GO      ?= go
PKGS    := ./...
FUZZTIME ?= 30s
# Minimising each input that finds new coverage takes long for the larger
# records (a block bundle is kilobytes); keep it short so fuzzing runs.
FUZZMINIMIZETIME ?= 1s
# rapid runs a fifth of this many cases per property in short mode.
RAPID_CHECKS ?= 1000

.PHONY: test check conformance bench bench-geth sweep fuzz contracts node-client node-client-if-available devnet chaos mutate

## test: formatting and vet, then every test in short mode (the CI command)
test: check node-client-if-available
	RAPID_CHECKS=$(RAPID_CHECKS) $(GO) test -short -count=1 $(PKGS)

## check: gofmt and go vet must be clean
check:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "not gofmt-ed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)

## conformance: every Cancun GeneralStateTests case through our executor and state root
conformance:
	$(GO) run ./cmd/conformance

## bench: the performance figures, one "name value unit" line each
bench:
	$(GO) run ./cmd/megabench
	$(GO) run ./cmd/megasim bench
	$(GO) run ./cmd/meganode bench

## bench-geth: geth --dev and meganode side by side under the same load generator (not part of test);
## builds geth GETH_VERSION once into GETH_CACHE (~4 min), then takes ~4 min; BENCH_GETH_ARGS go to meganode bench-geth
GETH_VERSION    ?= v1.17.8
GETH_CACHE      ?= $(HOME)/.cache/meganode/geth-$(GETH_VERSION)
BENCH_GETH_ARGS ?=
bench-geth: $(GETH_CACHE)/geth
	$(GO) build -o bin/meganode ./cmd/meganode
	./bin/meganode bench-geth --geth $(abspath $(GETH_CACHE))/geth $(BENCH_GETH_ARGS)

# Later go-ethereum releases do not build here (DESIGN.md §9).
$(GETH_CACHE)/geth:
	mkdir -p $(GETH_CACHE)
	GOBIN=$(abspath $(GETH_CACHE)) $(GO) install github.com/ethereum/go-ethereum/cmd/geth@$(GETH_VERSION)

## devnet: build meganode and run a local cluster of separate processes (sequencer JSON-RPC on 127.0.0.1:8545); Ctrl-C stops it
DEVNET_ARGS ?=
devnet:
	$(GO) build -o bin/meganode ./cmd/meganode
	./bin/meganode devnet $(DEVNET_ARGS)

## chaos: build meganode and run a chaos campaign against a fresh devnet (not part of test): CYCLES kill -9s of the
## sequencer under load, then damaged fullnode data; closes with "N cycles, M acknowledged, L lost" (~5 min); CHAOS_ARGS go to meganode chaos
## SEQUENCERS=3: a raft group of sequencers, whose leader each cycle kill -9s; it prints the failover times too
CYCLES     ?= 50
SEQUENCERS ?= 1
CHAOS_ARGS ?=
chaos:
	$(GO) build -o bin/meganode ./cmd/meganode
	./bin/meganode chaos --cycles $(CYCLES) --sequencers $(SEQUENCERS) $(CHAOS_ARGS)

## sweep: SEEDS seeds of the simulator's PROFILE on every CPU, with an HTML report in REPORT/index.html
## (FINGERPRINTS=FILE also writes every seed's fingerprint there: two sweeps of one build write the same file)
SEEDS   ?= 1000
PROFILE ?= chain
REPORT  ?= out/sweep-report
FINGERPRINTS ?=
sweep:
	rm -f $(REPORT)/index.html; status=0; \
	$(GO) run ./cmd/megasim sweep --seeds $(SEEDS) --profile $(PROFILE) --report $(REPORT) $(if $(FINGERPRINTS),--fingerprints $(FINGERPRINTS)) || status=$$?; \
	if [ -f $(REPORT)/index.html ]; then echo "sweep report: $(REPORT)/index.html"; fi; exit $$status

## mutate: a mutation score for the roles (not part of test): MUTANTS valid mutants per package of MUTATE_PKGS, each
## in a private copy of HEAD against its package's tests and then a sweep of MUTATE_SEEDS seeds; one line per mutant,
## then "mutation score: ..."; every mutant, and each survivor's diff and triage note, in out/mutate/index.html.
## A mutant costs ~2 s when its tests catch it, 15-40 s when it reaches the sweep: the defaults take 25-60 min on 2 cores
MUTANTS      ?= 40
MUTATE_SEEDS ?= 30
MUTATE_PKGS  ?= node/sequencer,node/fullnode,node/mempool,node/ledger,node/prover
mutate:
	$(GO) run ./cmd/mutate --packages $(MUTATE_PKGS) --per-package $(MUTANTS) --seeds $(MUTATE_SEEDS) --html out/mutate/index.html

## fuzz: run each decoder fuzz target for FUZZTIME
fuzz:
	for f in FuzzDecodeDiff FuzzDecodeMiniBlock FuzzDecodeTx FuzzDecodeRangeRequest FuzzDecodeRangeResponse FuzzBlockBundle FuzzAttestation FuzzFaultReport FuzzDAMessages; do \
		$(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) ./node/chain || exit 1; \
	done
	for f in FuzzDecodeCall FuzzDecodeAnswer; do \
		$(GO) test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) ./node/api || exit 1; \
	done
	$(GO) test -run '^$$' -fuzz '^FuzzRequest$$' -fuzztime $(FUZZTIME) ./node/rpc
	$(GO) test -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME) ./traces

## contracts: recompile the workload contracts from Solidity (needs npm)
contracts:
	./model/contracts/build.sh

## node-client: install the clients' pinned ethers, web3.js, @ethereumjs/mpt and Foundry's cast into clients/node (needs npm)
node-client:
	npm ci --prefix clients/node --no-audit --no-fund

## node-client-if-available: node-client where node and npm are on PATH, else say it is skipped
node-client-if-available:
	@if command -v node >/dev/null && command -v npm >/dev/null; then \
		$(MAKE) node-client || echo "npm ci failed (no npm registry?): the Node.js client tests (ethers, web3.js, cast) will be skipped"; \
	else echo "node.js not found: skipping the Node.js client tests (ethers, web3.js, cast)"; fi
