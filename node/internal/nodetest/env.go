// Package nodetest holds what the roles' unit tests share: a hand-driven
// node.Env, a recording client request, and deterministic keys. It is
// only for tests; node/internal keeps it out of reach of other modules.
package nodetest

import (
	"bytes"
	"crypto/ecdsa"
	"log/slog"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/exec"
)

// Env is a hand-driven node.Env: the clock moves only when a test moves
// it, timers wait in a sorted list until a test fires them, syncs wait
// until a test completes them, and sends and publishes are recorded.
type Env struct {
	Self      node.NodeID
	Clock     time.Time
	Store     node.Disk
	rng       *rand.Rand
	log       *slog.Logger
	Timers    []Timer // by due time, then arming order
	armed     uint64
	Sent      []Sent
	Published [][]byte // what was published on chain.TopicMiniBlocks
	Gossip    []Gossip // everything published, on any topic
	Subs      []node.Topic
	Marks     map[string]int // coverage marks hit
	// Syncs are the syncs asked for and not completed yet, oldest first.
	Syncs    []node.SyncID
	lastSync node.SyncID
}

// Gossip is one published message.
type Gossip struct {
	Topic node.Topic
	Msg   []byte
}

// Timer is an armed timer.
type Timer struct {
	At  time.Time
	Seq uint64
	ID  node.TimerID
}

// Sent is a message a node sent.
type Sent struct {
	To  node.NodeID
	Msg []byte
}

// NewEnv returns an Env for node id over disk, its clock at now.
func NewEnv(id node.NodeID, disk node.Disk, now time.Time) *Env {
	return &Env{Self: id, Clock: now, Store: disk, rng: rand.New(rand.NewPCG(1, 2)), log: slog.New(slog.DiscardHandler)}
}

func (e *Env) ID() node.NodeID   { return e.Self }
func (e *Env) Now() time.Time    { return e.Clock }
func (e *Env) Disk() node.Disk   { return e.Store }
func (e *Env) Rand() *rand.Rand  { return e.rng }
func (e *Env) Log() *slog.Logger { return e.log }

// Mark implements node.Env: the marks hit, by name.
func (e *Env) Mark(name string) {
	if e.Marks == nil {
		e.Marks = map[string]int{}
	}
	e.Marks[name]++
}
func (e *Env) Subscribe(t node.Topic) { e.Subs = append(e.Subs, t) }

func (e *Env) Send(to node.NodeID, msg []byte) {
	e.Sent = append(e.Sent, Sent{To: to, Msg: bytes.Clone(msg)})
}

func (e *Env) Publish(topic node.Topic, msg []byte) {
	e.Gossip = append(e.Gossip, Gossip{topic, bytes.Clone(msg)})
	if topic == chain.TopicMiniBlocks {
		e.Published = append(e.Published, bytes.Clone(msg))
	}
}

// Sync implements node.Env: the sync waits in Syncs until CompleteSyncs.
func (e *Env) Sync() node.SyncID {
	e.lastSync++
	e.Syncs = append(e.Syncs, e.lastSync)
	return e.lastSync
}

// CompleteSyncs completes every sync asked for so far: n hears of the
// newest (which says all of them are done). The disks tests use keep
// whatever is committed, so there is nothing to make durable.
func (e *Env) CompleteSyncs(n node.Node) {
	if len(e.Syncs) == 0 {
		return
	}
	id := e.Syncs[len(e.Syncs)-1]
	e.Syncs = nil
	n.OnSynced(id)
}

// Fire takes the earliest pending timer with id off the list, delivers it
// to n, and completes the syncs it asked for, as a disk would soon after.
func (e *Env) FireAndSync(t testing.TB, n node.Node, id node.TimerID) {
	t.Helper()
	e.Fire(t, n, id)
	e.CompleteSyncs(n)
}

// RunDue fires, in order, every timer due by the clock (including those
// they arm), completing syncs after each.
func (e *Env) RunDue(t testing.TB, n node.Node) {
	t.Helper()
	for len(e.Timers) > 0 && !e.Timers[0].At.After(e.Clock) {
		e.FireAndSync(t, n, e.Timers[0].ID)
	}
	e.CompleteSyncs(n)
}

func (e *Env) After(d time.Duration, id node.TimerID) {
	t := Timer{At: e.Clock.Add(d), Seq: e.armed, ID: id}
	e.armed++
	i, _ := slices.BinarySearchFunc(e.Timers, t, func(a, b Timer) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return int(a.Seq) - int(b.Seq)
	})
	e.Timers = slices.Insert(e.Timers, i, t)
}

// Fire takes the earliest pending timer with id off the list and delivers
// it to n. The clock does not move: the test sets it.
func (e *Env) Fire(t testing.TB, n node.Node, id node.TimerID) {
	t.Helper()
	i := slices.IndexFunc(e.Timers, func(x Timer) bool { return x.ID == id })
	if i < 0 {
		t.Fatalf("no timer %d pending", id)
	}
	e.Timers = slices.Delete(e.Timers, i, i+1)
	n.OnTimer(id)
}

// Req is a client request that records its answers.
type Req struct {
	Call    []byte
	Answers [][]byte
}

func (r *Req) Client() node.NodeID { return "client" }
func (r *Req) Body() []byte        { return r.Call }
func (r *Req) Respond(b []byte)    { r.Answers = append(r.Answers, bytes.Clone(b)) }

// Key is a deterministic secp256k1 key named by label and i.
func Key(label string, i int) *ecdsa.PrivateKey {
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte(label), []byte{byte(i)}))
	if err != nil {
		panic(err)
	}
	return k
}

// The small chain the roles' tests run.
const ChainID = 424242

var (
	// T0 is the genesis time.
	T0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	// Logger emits LOG1(topic 7) with no data; Setter stores
	// calldata[0:32] at slot 0; Sink is an empty account.
	Logger = common.HexToAddress("0x1000000000000000000000000000000000000001")
	Setter = common.HexToAddress("0x1000000000000000000000000000000000000002")
	Sink   = common.HexToAddress("0x2000000000000000000000000000000000000002")
)

// Genesis is a genesis at T0 on ChainID with the Logger and Setter
// contracts, 100 ether for each key, and the accounts of extra.
func Genesis(keys []*ecdsa.PrivateKey, extra types.GenesisAlloc) *core.Genesis {
	alloc := types.GenesisAlloc{
		Logger: {Code: []byte{0x60, 0x07, 0x60, 0x00, 0x60, 0x00, 0xa1, 0x00}}, // PUSH1 7 PUSH1 0 PUSH1 0 LOG1 STOP
		Setter: {Code: []byte{0x60, 0x00, 0x35, 0x60, 0x00, 0x55, 0x00}},       // PUSH1 0 CALLDATALOAD PUSH1 0 SSTORE STOP
	}
	for _, k := range keys {
		alloc[crypto.PubkeyToAddress(k.PublicKey)] = types.Account{Balance: new(big.Int).Mul(big.NewInt(100), big.NewInt(params.Ether))}
	}
	for a, acc := range extra { // filling a map: order cannot leak
		alloc[a] = acc
	}
	return &core.Genesis{
		Config: exec.DefaultChainConfig(ChainID), Alloc: alloc, GasLimit: 30_000_000,
		BaseFee: big.NewInt(params.InitialBaseFee), Difficulty: new(big.Int), Timestamp: uint64(T0.Unix()),
	}
}
