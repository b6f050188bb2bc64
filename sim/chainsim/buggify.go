package chainsim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// buggify are the knobs a seed turns, FoundationDB style: each makes one
// bound of the cluster small or one wait short, so that the rare paths
// behind it run in ordinary sweeps. They are drawn per seed into the
// scenario's configuration (never as branches in node code), each on in
// a share of seeds, and printed with the scenario. The tight profile
// turns them all on at once, with its own values.
type buggify struct {
	pool      int           // the pool holds at most this many transactions (0: off); clients also send transactions ahead of their nonce
	lifetime  time.Duration // and a pooled transaction waits at most this long
	waiters   int           // sync sends waiting for receipts (0: off)
	inFlight  int           // the sequencer's syncs in flight (0: off)
	syncWait  time.Duration // a sync send's wait for its receipt (0: off)
	buffer    int           // a fullnode's buffer (0: off)
	prover    bool          // a prover's pending set and look-ahead
	byzantine bool          // one byzantine actor (drawn as the byzantine profile draws)
	miniGas   uint64        // the sequencer's gas bound per mini-block (0: off): executable transactions wait together, and P9 ranks them
}

// buggifyShare is the share of seeds that turn each knob.
const buggifyShare = 0.12

// byzantineShare is the share of seeds of the honest profiles that run
// with one byzantine actor.
const byzantineShare = 0.1

// miniGasShare is the share of seeds whose sequencer bounds a
// mini-block's gas: more than the other knobs, since it is what makes the
// sequencer hold executable transactions together, for P9 to rank.
const miniGasShare = 0.25

func drawBuggify(rng *rand.Rand) buggify {
	var b buggify
	on := func() bool { return rng.Float64() < buggifyShare }
	if on() {
		b.pool, b.lifetime = 2+rng.IntN(4), time.Duration(300+rng.IntN(700))*time.Millisecond
	}
	if on() {
		b.waiters = 2 + rng.IntN(3)
	}
	if on() {
		b.inFlight = 1 + rng.IntN(2)
	}
	if on() {
		b.syncWait = time.Duration(20+rng.IntN(60)) * time.Millisecond
	}
	if on() {
		b.buffer = 4 + rng.IntN(5)
	}
	b.prover = on()
	b.byzantine = rng.Float64() < byzantineShare
	// Drawn last, so that the knobs above draw the same as before it.
	if rng.Float64() < miniGasShare {
		b.miniGas = uint64(21_000 * (1 + rng.IntN(4)))
	}
	return b
}

func (b buggify) String() string {
	var on []string
	if b.pool > 0 {
		on = append(on, fmt.Sprintf("pool of %d, %v lifetime, sends ahead of their nonce", b.pool, b.lifetime))
	}
	if b.waiters > 0 {
		on = append(on, fmt.Sprintf("%d waiting sends", b.waiters))
	}
	if b.inFlight > 0 {
		on = append(on, fmt.Sprintf("%d syncs in flight", b.inFlight))
	}
	if b.syncWait > 0 {
		on = append(on, fmt.Sprintf("sync sends wait %v", b.syncWait))
	}
	if b.buffer > 0 {
		on = append(on, fmt.Sprintf("fullnode buffer of %d", b.buffer))
	}
	if b.prover {
		on = append(on, "provers hold 2 bundles")
	}
	if b.miniGas > 0 {
		on = append(on, fmt.Sprintf("%d gas a mini-block", b.miniGas))
	}
	if len(on) == 0 {
		return ""
	}
	return "buggify: " + strings.Join(on, ", ")
}
