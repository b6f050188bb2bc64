// Package cover names the coverage marks: rare paths in node code (gap
// repair, torn-write recovery, a full mempool, a root mismatch detected, …)
// that a node reports through node.Env.Mark when it reaches them. The
// simulator counts them per run and a sweep report shows how many seeds
// reached each, in the manner of TigerBeetle's coverage marks but
// aggregated: a mark no seed reaches is a path the simulation does not
// test.
//
// In the data flow it is a side channel: marks never change what a node
// does, and they are not part of a run's trace or fingerprint.
package cover

import (
	"slices"
	"strings"
)

// Mark is a named rare path.
type Mark struct {
	Name string
	What string
	// Scope is empty for a path every chain run may reach, or names the
	// setups that can reach it (ScopeGroup: a sequencer group). A sweep
	// counts a scope's marks only once a seed reached one of them.
	Scope string
}

// ScopeGroup is the scope of the marks of a sequencer group.
const ScopeGroup = "group"

// InScope reports whether the mark counts in a sweep whose seeds reached
// the named marks.
func (m Mark) InScope(reached func(name string) bool) bool {
	if m.Scope == "" {
		return true
	}
	for _, o := range marks {
		if o.Scope == m.Scope && reached(o.Name) {
			return true
		}
	}
	return false
}

// The marks. Node code calls env.Mark with these names only.
var marks = []Mark{
	{SeqRecoveredOpenBlock, "sequencer restarted inside a block and continued it", ""},
	{SeqDiskError, "sequencer hit a disk error and reopened its ledger", ""},
	{SeqPoolFull, "sequencer refused a transaction: mempool full", ""},
	{SeqWaitersFull, "sequencer refused a sync send: too many waiters", ""},
	{SeqSyncTimeout, "a sync send timed out before its receipt", ""},
	{SeqDARetry, "sequencer sent a DA put again after no answer", ""},
	{LedgerTornTail, "a ledger dropped a torn last record on recovery", ""},
	{FullGapRepair, "fullnode asked for missing mini-blocks", ""},
	{FullSourceRotated, "fullnode moved to its next repair source", ""},
	{FullBufferFull, "fullnode dropped a mini-block: buffer full", ""},
	{FullRootMismatch, "fullnode detected a sealed root mismatch and halted", ""},
	{FullConflict, "fullnode detected conflicting signed mini-blocks and halted", ""},
	{FullDiskError, "fullnode hit a disk error and reopened its ledger", ""},
	{FullFinalityStopped, "fullnode stopped finality on a prover's fault report", ""},
	{ProverFault, "prover reported a block faulty", ""},
	{ProverFetchedFromDA, "prover validated a block fetched from DA", ""},
	{ProverPendingFull, "prover dropped a bundle: pending full", ""},
	{ProverResumed, "prover restarted with statements on disk", ""},
	{DAEquivocation, "DA refused a second bundle for a held block", ""},
	{DAGapRefused, "DA refused a bundle beyond a gap", ""},
	{SeqSyncBackpressure, "sequencer held a mini-block open: too many syncs in flight", ""},
	{SeqPipelined, "sequencer closed a mini-block while an earlier one was still syncing", ""},
	{SeqEarlyClose, "sequencer closed a mini-block early, idle with executed transactions", ""},
	{SeqEarlySeal, "sequencer sealed a block ahead of its last tick, for the receipts waiting in it", ""},
	{SeqLateTick, "sequencer's tick came late by more than an interval and skipped slots", ""},
	{SeqKeptWaiters, "sequencer reopened its ledger with receipts still owed to waiting clients", ""},
	{SeqDuplicateInFlight, "a send repeated a transaction whose mini-block was still syncing", ""},
	{SeqMiniBlockFull, "sequencer held executable transactions for the next mini-block: its gas bound was reached", ""},
	{ReleaseAfterReopen, "a node released a view after reopening its ledger in the same process", ""},
	{FullSyncBackpressure, "fullnode held mini-blocks: too many syncs in flight", ""},
	{ProverStatementsInFlight, "prover was asked for statements still syncing", ""},
	{DAPutWhileSyncing, "DA took a put while an earlier one was still syncing", ""},
	{ProverRebuiltLow, "prover rebuilt its torn progress record from its statements", ""},
	{SeqGroupLed, "a sequencer group member was elected and took over the chain's head", ScopeGroup},
	{SeqGroupSteppedDown, "a sequencer group's leader stepped down", ScopeGroup},
	{SeqGroupLost, "a deposed leader's proposal was not committed: another took its place", ScopeGroup},
	{SeqGroupBackpressure, "a group's leader held a mini-block open: the previous one was still in the raft log", ScopeGroup},
	{SeqGroupReopen, "a group member reopened its raft log after raft broke on a message", ScopeGroup},
	{SeqGroupGap, "a group member lagged beyond the raft log's kept entries", ScopeGroup},
	{FullStaleTerm, "fullnode refused a mini-block from a sequencer term older than its head's", ScopeGroup},
}

// Mark names.
const (
	SeqRecoveredOpenBlock = "sequencer/recovered-open-block"
	SeqDiskError          = "sequencer/disk-error"
	SeqPoolFull           = "sequencer/pool-full"
	SeqWaitersFull        = "sequencer/waiters-full"
	SeqSyncTimeout        = "sequencer/sync-timeout"
	SeqDARetry            = "sequencer/da-retry"
	LedgerTornTail        = "ledger/torn-tail-dropped"
	FullGapRepair         = "fullnode/gap-repair"
	FullSourceRotated     = "fullnode/source-rotated"
	FullBufferFull        = "fullnode/buffer-full"
	FullRootMismatch      = "fullnode/root-mismatch-halt"
	FullConflict          = "fullnode/conflict-halt"
	FullDiskError         = "fullnode/disk-error"
	FullFinalityStopped   = "fullnode/finality-stopped"
	ProverFault           = "prover/fault-reported"
	ProverFetchedFromDA   = "prover/fetched-from-da"
	ProverPendingFull     = "prover/pending-full"
	ProverResumed         = "prover/resumed"
	DAEquivocation        = "da/equivocation-refused"
	DAGapRefused          = "da/gap-refused"

	SeqSyncBackpressure      = "sequencer/sync-backpressure"
	SeqPipelined             = "sequencer/pipelined-syncs"
	SeqEarlyClose            = "sequencer/early-close"
	SeqEarlySeal             = "sequencer/early-seal"
	SeqLateTick              = "sequencer/late-tick"
	SeqKeptWaiters           = "sequencer/kept-waiters-over-reopen"
	SeqDuplicateInFlight     = "sequencer/duplicate-while-syncing"
	SeqMiniBlockFull         = "sequencer/miniblock-gas-full"
	ReleaseAfterReopen       = "ledger/release-after-reopen"
	FullSyncBackpressure     = "fullnode/sync-backpressure"
	ProverStatementsInFlight = "prover/statements-in-flight"
	DAPutWhileSyncing        = "da/put-while-syncing"
	ProverRebuiltLow         = "prover/rebuilt-progress"

	SeqGroupLed          = "sequencer-group/led"
	SeqGroupSteppedDown  = "sequencer-group/stepped-down"
	SeqGroupLost         = "sequencer-group/proposal-lost"
	SeqGroupBackpressure = "sequencer-group/proposal-backpressure"
	SeqGroupReopen       = "sequencer-group/raft-reopened"
	SeqGroupGap          = "sequencer-group/beyond-the-log"
	FullStaleTerm        = "fullnode/stale-term-refused"
)

// All lists every mark, sorted by name.
func All() []Mark {
	out := slices.Clone(marks)
	slices.SortFunc(out, func(a, b Mark) int { return strings.Compare(a.Name, b.Name) })
	return out
}
