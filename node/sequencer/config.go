package sequencer

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/exec"
	"github.com/meganode/meganode/node/ledger"
	"github.com/meganode/meganode/node/mempool"
)

// DefaultBlockGap and DefaultMaxSealShare are Config.BlockGap's and
// Config.MaxSealShare's defaults.
const (
	DefaultBlockGap     = 2 * time.Millisecond
	DefaultMaxSealShare = 0.2
)

// DefaultMinTip is Config.MinTip's default, in wei.
const DefaultMinTip = 1

// Config configures a sequencer.
type Config struct {
	Genesis  *core.Genesis
	Key      *ecdsa.PrivateKey // signs mini-blocks
	Coinbase common.Address    // receives the priority fees

	// MiniBlockInterval is the longest a mini-block stays open: mini-blocks
	// close on a schedule, one interval apart. Default 10 ms.
	MiniBlockInterval time.Duration
	// MiniBlocksPerBlock, K, is how many intervals a sealed EVM block
	// lasts: a block seals at its K-th scheduled tick, on time, whatever
	// the early closes in between. Default 100.
	MiniBlocksPerBlock int
	// BlockGap is the least time between the seals of two blocks that hold
	// transactions. A block seals at the first mini-block close that
	// finds a transaction in it at least BlockGap after the previous seal,
	// and at its K-th tick in any case. A receipt is answered only once
	// its block is sealed and durable, so that it carries the block's
	// hash: while load is light every transaction's block seals with its
	// mini-block, and receipts come at mini-block speed; under load blocks
	// seal every BlockGap, which bounds the headers, state roots and
	// witnesses per second. Default 5 ms; negative: blocks seal at their
	// K-th tick only (receipts wait for it).
	BlockGap time.Duration
	// MaxSealShare bounds the share of the sequencer's time sealing may
	// take: after a seal that took d, the next waits at least
	// d×(1−share)/share (a seal costs the block's roots, witness and the
	// state checkpoint, which grow with the state), so that under load
	// blocks grow instead of sealing ever more often. The simulator's
	// steps take no time, so there only BlockGap counts. Default 0.2.
	MaxSealShare float64
	// MinGap is the least time between two mini-blocks. A mini-block
	// closes before its interval is over when the sequencer is idle with
	// executed transactions waiting, MinGap after the previous one at the
	// earliest: a lone transaction is acknowledged in about the time it
	// takes to execute and sync. Default 1 ms; a negative MinGap closes
	// mini-blocks on the interval only.
	MinGap time.Duration
	// MaxInFlight bounds the mini-blocks synced in flight (group commit);
	// at the bound, the mini-block being filled stays open until one
	// completes. Default node.DefaultMaxInFlight.
	MaxInFlight int

	// MinTip is the least tip (priority fee per gas; a legacy
	// transaction's gas price) a transaction must offer to be admitted,
	// in wei: go-ethereum's --miner.gasprice. Default (nil)
	// DefaultMinTip, 1 wei, which refuses a zero tip; zero: no minimum.
	// It is admission policy, not a consensus rule: what was admitted
	// under another minimum stays valid.
	MinTip *big.Int

	// MaxMiniBlockGas bounds the gas (the transactions' gas limits) one
	// mini-block executes: beyond it, what the pool holds waits for the
	// next mini-block, and runs then best first. A transaction larger
	// than the bound runs alone in a mini-block. It keeps each
	// mini-block's work, and so its latency, bounded under load. Default
	// (0): the block's gas limit is the only bound.
	MaxMiniBlockGas uint64

	Pool   mempool.Config
	Ledger ledger.Config
	Policy exec.Policy // zero: exec.DefaultPolicy()

	// MaxWaiters bounds the synchronous sends waiting for their receipt;
	// beyond it a sync send is refused as unavailable. Default 4096.
	MaxWaiters int
	// MaxWaitersPerTx bounds the waiters of one transaction (a client
	// retrying the same send). Default 16.
	MaxWaitersPerTx int
	// SyncTimeout is how long a synchronous send waits for its receipt
	// when the call names no timeout; MaxSyncTimeout caps what a call may
	// ask. Defaults 2 s and 10 s.
	SyncTimeout, MaxSyncTimeout time.Duration
	// OnMiniBlock, when set, is called with every mini-block once it is
	// durable and published (the runtime feeds subscriptions and metrics
	// from it). It runs inside the node's step: it must not block.
	OnMiniBlock func(mb *chain.MiniBlock)
	// DA is the DA node sealed blocks are published to; empty: none.
	DA node.NodeID
	// RetryDA is the first wait for DA's acknowledgement of a put before
	// sending it again (doubling up to 2 s). Default 200 ms.
	RetryDA time.Duration
	// MaxPutBytes bounds one put to DA (it carries at least one block).
	// Default 8 MiB.
	MaxPutBytes int
	// RetryRecovery is how long the sequencer waits before reopening its
	// ledger after a disk error. Default 50 ms.
	RetryRecovery time.Duration

	// ObservePool, when set, is told every decision the sequencer makes
	// about its pool, in order, inside its step: what it admits, drops
	// and executes, and when it starts over with an empty pool. The
	// simulator records them to check the ordering property (P9); the
	// production runtime leaves it nil. It must not block.
	ObservePool func(PoolEvent)

	// Group, when set, makes the sequencer one member of a replicated
	// sequencer group (group.go): only the elected leader executes, and a
	// mini-block is acknowledged and published only once the group's
	// raft log has it on a quorum's disks. Nil: a lone sequencer.
	Group *GroupConfig
	// ObserveGroup, when set, is told what a group member sees of the
	// group's leadership and commits (the simulator measures failovers
	// from it; the runtime logs and counts). It must not block.
	ObserveGroup func(GroupEvent)

	// AlterDiff, when set, replaces each mini-block's diff with what it
	// returns, before the sequencer applies, roots, witnesses and signs
	// it: a byzantine sequencer whose state transition is wrong yet
	// self-consistent (diff, state root and witness agree; only
	// re-execution disagrees). It is fault injection for the simulator's
	// byzantine profiles and the tests of fullnodes and provers; a node's
	// configuration file has no key for it.
	AlterDiff func(h *chain.MiniBlockHeader, d *chain.Diff) *chain.Diff
}

func (c Config) withDefaults() (Config, error) {
	if c.Genesis == nil || c.Genesis.Config == nil || c.Genesis.Config.ChainID == nil {
		return c, errors.New("sequencer: a genesis with a chain config is required")
	}
	if c.Key == nil {
		return c, errors.New("sequencer: a signing key is required")
	}
	switch {
	case c.MinTip == nil:
		c.MinTip = big.NewInt(DefaultMinTip)
	case c.MinTip.Sign() < 0:
		return c, fmt.Errorf("sequencer: negative minimum tip %v", c.MinTip)
	default:
		c.MinTip = new(big.Int).Set(c.MinTip)
	}
	if c.MiniBlockInterval <= 0 {
		c.MiniBlockInterval = 10 * time.Millisecond
	}
	if c.MiniBlocksPerBlock <= 0 {
		c.MiniBlocksPerBlock = 100
	}
	if c.BlockGap == 0 {
		c.BlockGap = DefaultBlockGap
	}
	if c.MaxSealShare <= 0 || c.MaxSealShare > 1 {
		c.MaxSealShare = DefaultMaxSealShare
	}
	if c.MinGap == 0 {
		c.MinGap = time.Millisecond
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = node.DefaultMaxInFlight
	}
	if c.Policy == (exec.Policy{}) {
		c.Policy = exec.DefaultPolicy()
	}
	if c.RetryDA <= 0 {
		c.RetryDA = 200 * time.Millisecond
	}
	if c.MaxPutBytes <= 0 {
		c.MaxPutBytes = 8 << 20
	}
	if c.MaxWaiters <= 0 {
		c.MaxWaiters = 4096
	}
	if c.MaxWaitersPerTx <= 0 {
		c.MaxWaitersPerTx = 16
	}
	if c.SyncTimeout <= 0 {
		c.SyncTimeout = 2 * time.Second
	}
	if c.MaxSyncTimeout <= 0 {
		c.MaxSyncTimeout = 10 * time.Second
	}
	if c.RetryRecovery <= 0 {
		c.RetryRecovery = 50 * time.Millisecond
	}
	return c, nil
}
