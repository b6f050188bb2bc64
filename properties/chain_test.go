package properties

import (
	"encoding/binary"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"
	"github.com/meganode/meganode/model/contracts"
	"github.com/meganode/meganode/node/chain"
)

// wantChainViolation fails unless v is a violation of prop; where, when not
// empty, must be the place it names.
func wantChainViolation(t *testing.T, v *Violation, prop, where string) {
	t.Helper()
	if v == nil {
		t.Fatalf("doctored input accepted, want a %q violation", prop)
	}
	if v.Property != prop {
		t.Fatalf("violation of %q, want %q: %v", v.Property, prop, v)
	}
	if where != "" && v.Where != where {
		t.Fatalf("violation at %q, want %q: %v", v.Where, where, v)
	}
}

// diffAccountIndex is the position of addr's entry in d, or -1.
func diffAccountIndex(d *chain.Diff, addr common.Address) int {
	for i := range d.Accounts {
		if d.Accounts[i].Address == addr {
			return i
		}
	}
	return -1
}

// --- P3: CheckChainReexecution -------------------------------------------

func TestCheckChainReexecutionAcceptsAnHonestChain(t *testing.T) {
	c := buildChain(t)
	for _, n := range []int{0, 1, 3, 4, 5, 6} { // every prefix the chain ever had: sealed or with an open block
		if v := CheckChainReexecution(c.cfg, c.alloc, c.minis[:n], c.blockHash); v != nil {
			t.Fatalf("the first %d mini-blocks of an honest chain: %v", n, v)
		}
	}
}

// Every doctored chain is refused as P3, at the mini-block (or block) that
// was doctored.
func TestCheckChainReexecutionRejectsDoctoredChains(t *testing.T) {
	cases := map[string]struct {
		doctor func(t *testing.T, c *builtChain)
		where  string
	}{
		"an account entry dropped from a diff": {func(t *testing.T, c *builtChain) {
			d := c.minis[0].Diff
			i := diffAccountIndex(d, c.sink)
			if i < 0 {
				t.Fatal("mini-block 1 does not create the sink")
			}
			d.Accounts = append(d.Accounts[:i], d.Accounts[i+1:]...)
		}, "mini-block 1 (block 1)"},
		"the sender's entry dropped from a later block's diff": {func(t *testing.T, c *builtChain) {
			d := c.minis[3].Diff
			i := diffAccountIndex(d, c.addrs[2])
			if i < 0 {
				t.Fatal("mini-block 4 does not change sender #2")
			}
			d.Accounts = append(d.Accounts[:i], d.Accounts[i+1:]...)
		}, "mini-block 4 (block 2)"},
		"a receipt's gas used": {func(t *testing.T, c *builtChain) {
			c.minis[1].Receipts[0].GasUsed++
		}, "mini-block 2 (block 1)"},
		"a reverted receipt reported as a success": {func(t *testing.T, c *builtChain) {
			r := c.minis[1].Receipts[1]
			if r.Status != types.ReceiptStatusFailed {
				t.Fatal("the over-balance token transfer did not revert")
			}
			r.Status = types.ReceiptStatusSuccessful
		}, "mini-block 2 (block 1)"},
		"a slot value in a diff": {func(t *testing.T, c *builtChain) {
			d := c.minis[1].Diff
			i := diffAccountIndex(d, c.probe)
			if i < 0 || len(d.Accounts[i].Storage) != 1 {
				t.Fatal("mini-block 2 does not write one probe slot")
			}
			d.Accounts[i].Storage[0].Value[31]++
		}, "mini-block 2 (block 1)"},
		"a token balance slot in a diff": {func(t *testing.T, c *builtChain) {
			d := c.minis[3].Diff
			i := diffAccountIndex(d, c.token)
			if i < 0 || len(d.Accounts[i].Storage) == 0 {
				t.Fatal("mini-block 4 does not write token balances")
			}
			d.Accounts[i].Storage[0].Value[0] ^= 0x80
		}, "mini-block 4 (block 2)"},
		"a balance in a diff": {func(t *testing.T, c *builtChain) {
			d := c.minis[5].Diff
			i := diffAccountIndex(d, c.sink)
			if i < 0 || d.Accounts[i].Flags&chain.SetBalance == 0 {
				t.Fatal("mini-block 6 does not pay the sink")
			}
			d.Accounts[i].Balance.AddUint64(&d.Accounts[i].Balance, 1)
		}, "mini-block 6 (block 2)"},
		"a transaction dropped but its effects kept": {func(t *testing.T, c *builtChain) {
			mb := c.minis[0]
			mb.Txs, mb.Receipts = mb.Txs[1:], mb.Receipts[1:]
		}, "mini-block 1 (block 1)"}, // the next receipt's cumulative gas gives it away
		"the sealed header's root": {func(t *testing.T, c *builtChain) {
			c.minis[2].Sealed.Root[0] ^= 1
		}, "block 1"},
		"the second block's sealed root": {func(t *testing.T, c *builtChain) {
			c.minis[5].Sealed.Root = c.minis[2].Sealed.Root
		}, "block 2"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := buildChain(t)
			if v := CheckChainReexecution(c.cfg, c.alloc, c.minis, c.blockHash); v != nil {
				t.Fatalf("before doctoring: %v", v)
			}
			tc.doctor(t, c)
			wantChainViolation(t, CheckChainReexecution(c.cfg, c.alloc, c.minis, c.blockHash), PropDiffEquivalence, tc.where)
		})
	}
}

func TestCheckChainReexecutionNeedsTheGenesis(t *testing.T) {
	c := buildChain(t)
	acc := c.alloc[c.sink]
	acc.Balance = big.NewInt(1) // an account the chain does not start with
	c.alloc[c.sink] = acc
	wantChainViolation(t, CheckChainReexecution(c.cfg, c.alloc, c.minis, c.blockHash), PropDiffEquivalence, "")
}

// --- P8: CheckNoFork -------------------------------------------------------

func TestCheckNoFork(t *testing.T) {
	want := buildChain(t).hashes()
	clone := func() []common.Hash { return append([]common.Hash(nil), want...) }

	for _, n := range []int{0, 1, len(want) - 1, len(want)} { // equal, or behind: no fork
		if v := CheckNoFork("fn1", want[:n], want); v != nil {
			t.Fatalf("a node holding the first %d of the sequencer's mini-blocks: %v", n, v)
		}
	}

	forked := clone()
	forked[3] = crypto.Keccak256Hash([]byte("another mini-block 4"))
	v := CheckNoFork("fn1", forked, want)
	wantChainViolation(t, v, PropNoFork, "fn1 mini-block 4")
	if !strings.Contains(v.Detail, forked[3].Hex()) || !strings.Contains(v.Detail, want[3].Hex()) {
		t.Fatalf("the detail does not show both hashes: %v", v)
	}
	// A fork in a prefix is still a fork.
	wantChainViolation(t, CheckNoFork("fn1", forked[:4], want), PropNoFork, "fn1 mini-block 4")
	// The first difference is the one reported.
	forked[5] = common.Hash{}
	wantChainViolation(t, CheckNoFork("fn2", forked, want), PropNoFork, "fn2 mini-block 4")

	// A node ahead of the sequencer holds mini-blocks the sequencer never made.
	longer := append(clone(), crypto.Keccak256Hash([]byte("mini-block 7")))
	wantChainViolation(t, CheckNoFork("fn1", longer, want), PropNoFork, "fn1 mini-block 7")
	wantChainViolation(t, CheckNoFork("fn1", want[:2], nil), PropNoFork, "fn1 mini-block 1")
}

// --- P2: CheckReads --------------------------------------------------------

// The expected values below come from the plan of the chain (who sent what
// to whom, and which receipts succeeded), not from its diffs, which are what
// CheckReads replays.

func (c *builtChain) wantNonce(a, h int) uint64 {
	var n uint64
	for _, txs := range c.plan[:h] {
		for _, p := range txs {
			if p.From == a {
				n++
			}
		}
	}
	return n
}

func (c *builtChain) wantSinkBalance(h int) *uint256.Int {
	b := new(uint256.Int)
	for _, txs := range c.plan[:h] {
		for _, p := range txs {
			if p.To == c.sink {
				b.Add(b, uint256.MustFromBig(p.Value))
			}
		}
	}
	return b
}

func (c *builtChain) wantToken(a, h int) *big.Int {
	b := big.NewInt(bcTokenSupply)
	for _, txs := range c.plan[:h] {
		for _, p := range txs {
			if p.TokenTo < 0 || p.Status != types.ReceiptStatusSuccessful {
				continue
			}
			if p.From == a {
				b.Sub(b, p.TokenAmount)
			}
			if p.TokenTo == a {
				b.Add(b, p.TokenAmount)
			}
		}
	}
	return b
}

func (c *builtChain) wantProbeSlot(slot common.Hash, h int) common.Hash {
	v := common.Hash{}
	if slot == (common.Hash{31: 1}) {
		v = common.Hash{31: 1} // the genesis value
	}
	for _, txs := range c.plan[:h] {
		for _, p := range txs {
			if p.Slot != nil && *p.Slot == slot {
				v = p.SlotValue
			}
		}
	}
	return v
}

func balanceBytes(b *uint256.Int) []byte { x := b.Bytes32(); return x[:] }
func nonceBytes(n uint64) []byte         { return binary.BigEndian.AppendUint64(nil, n) }

// honestReads reads everything the chain changes at every height, in
// several sessions, with latest reads that only go forward within each.
func honestReads(c *builtChain) []Read {
	var reads []Read
	add := func(r Read) {
		r.Op = len(reads)
		reads = append(reads, r)
	}
	slot1, slot2 := common.Hash{31: 1}, common.Hash{31: 2}
	for h := 0; h <= len(c.minis); h++ {
		s := "c1@fn1"
		if h%2 == 1 {
			s = "c2@fn2"
		}
		hh := uint64(h)
		for a := range c.addrs {
			add(Read{Session: s, MiniBlock: hh, Kind: ReadNonce, Address: c.addrs[a], Value: nonceBytes(c.wantNonce(a, h))})
			tok := common.BigToHash(c.wantToken(a, h))
			add(Read{Session: s, MiniBlock: hh, Kind: ReadStorage, Address: c.token, Key: contracts.TokenBalanceSlot(c.addrs[a]), Value: tok[:]})
		}
		add(Read{Session: s, MiniBlock: hh, Kind: ReadBalance, Address: c.sink, Value: balanceBytes(c.wantSinkBalance(h))})
		v1, v2 := c.wantProbeSlot(slot1, h), c.wantProbeSlot(slot2, h)
		add(Read{Session: s, MiniBlock: hh, Kind: ReadStorage, Address: c.probe, Key: slot1, Value: v1[:]})
		add(Read{Session: s, MiniBlock: hh, Kind: ReadStorage, Address: c.probe, Key: slot2, Value: v2[:]})
		add(Read{Session: s, MiniBlock: hh, Kind: ReadCode, Address: c.token, Value: contracts.Token.Runtime})
		add(Read{Session: s, MiniBlock: hh, Kind: ReadCode, Address: c.sink})
	}
	// Latest reads: forward (or level) within a session; another session
	// may be behind.
	for _, x := range []struct {
		s string
		h int
	}{{"c3@fn1", 1}, {"c3@fn1", 3}, {"c4@fn2", 6}, {"c3@fn1", 3}, {"c4@fn2", 6}, {"c5@fn1", 2}, {"c3@fn1", 5}} {
		add(Read{Session: x.s, Latest: true, MiniBlock: uint64(x.h), Kind: ReadBalance, Address: c.sink, Value: balanceBytes(c.wantSinkBalance(x.h))})
	}
	return reads
}

func TestCheckReadsAcceptsHonestReads(t *testing.T) {
	c := buildChain(t)
	if v := CheckReads(c.alloc, c.minis, honestReads(c)); v != nil {
		t.Fatal(v)
	}
	// Reads at explicit heights may go back within a session.
	back := []Read{
		{Session: "c1@fn1", MiniBlock: 6, Kind: ReadNonce, Address: c.addrs[0], Value: nonceBytes(c.wantNonce(0, 6))},
		{Session: "c1@fn1", MiniBlock: 1, Kind: ReadNonce, Address: c.addrs[0], Value: nonceBytes(c.wantNonce(0, 1))},
	}
	if v := CheckReads(c.alloc, c.minis, back); v != nil {
		t.Fatal(v)
	}
	if v := CheckReads(c.alloc, c.minis, nil); v != nil {
		t.Fatal(v)
	}
	// The expectations are not trivially constant.
	if c.wantNonce(0, 6) != 4 || c.wantSinkBalance(3).Cmp(uint256.NewInt(params.Ether+5)) != 0 || c.wantToken(2, 6).Int64() != bcTokenSupply+50 {
		t.Fatalf("the plan is not the one the tests were written for: nonce %d, sink %v, token %v",
			c.wantNonce(0, 6), c.wantSinkBalance(3), c.wantToken(2, 6))
	}
}

func TestCheckReadsRejectsWrongReads(t *testing.T) {
	c := buildChain(t)
	slot1 := common.Hash{31: 1}
	cases := map[string]func(rs []Read) []Read{
		"a stale balance (the value before the mini-block)": func(rs []Read) []Read {
			return append(rs, Read{Session: "c9", MiniBlock: 1, Kind: ReadBalance, Address: c.sink, Value: balanceBytes(c.wantSinkBalance(0))})
		},
		"a balance from the future": func(rs []Read) []Read {
			return append(rs, Read{Session: "c9", MiniBlock: 2, Kind: ReadBalance, Address: c.sink, Value: balanceBytes(c.wantSinkBalance(3))})
		},
		"a nonce off by one": func(rs []Read) []Read {
			return append(rs, Read{Session: "c9", MiniBlock: 4, Kind: ReadNonce, Address: c.addrs[0], Value: nonceBytes(c.wantNonce(0, 4) + 1)})
		},
		"a token balance that counts the reverted transfer": func(rs []Read) []Read {
			v := common.BigToHash(new(big.Int).Add(c.wantToken(2, 2), big.NewInt(10*bcTokenSupply)))
			return append(rs, Read{Session: "c9", MiniBlock: 2, Kind: ReadStorage, Address: c.token, Key: contracts.TokenBalanceSlot(c.addrs[2]), Value: v[:]})
		},
		"a cleared slot read as still set": func(rs []Read) []Read {
			v := c.wantProbeSlot(slot1, 5)
			return append(rs, Read{Session: "c9", MiniBlock: 6, Kind: ReadStorage, Address: c.probe, Key: slot1, Value: v[:]})
		},
		"code missing": func(rs []Read) []Read {
			return append(rs, Read{Session: "c9", MiniBlock: 3, Kind: ReadCode, Address: c.token, Value: nil})
		},
		"code where there is none": func(rs []Read) []Read {
			return append(rs, Read{Session: "c9", MiniBlock: 3, Kind: ReadCode, Address: c.sink, Value: []byte{0x60}})
		},
		"a value truncated to fewer bytes": func(rs []Read) []Read {
			return append(rs, Read{Session: "c9", MiniBlock: 3, Kind: ReadBalance, Address: c.sink, Value: c.wantSinkBalance(3).Bytes()})
		},
		"served at a height beyond the chain": func(rs []Read) []Read {
			return append(rs, Read{Session: "c9", MiniBlock: uint64(len(c.minis)) + 1, Kind: ReadBalance, Address: c.sink, Value: balanceBytes(c.wantSinkBalance(len(c.minis)))})
		},
		"latest reads going back within a session": func(rs []Read) []Read {
			return append(rs,
				Read{Session: "c9@fn1", Latest: true, MiniBlock: 4, Kind: ReadBalance, Address: c.sink, Value: balanceBytes(c.wantSinkBalance(4))},
				Read{Session: "c9@fn1", Latest: true, MiniBlock: 3, Kind: ReadBalance, Address: c.sink, Value: balanceBytes(c.wantSinkBalance(3))},
			)
		},
	}
	for name, doctor := range cases {
		t.Run(name, func(t *testing.T) {
			reads := doctor(honestReads(c))
			last := &reads[len(reads)-1]
			last.Op = 1000
			wantChainViolation(t, CheckReads(c.alloc, c.minis, reads), PropReads, "call 1000")
		})
	}
}

// --- P4: CheckDurability ---------------------------------------------------

// honestAcks acknowledges every transaction of the chain as its receipt
// says.
func honestAcks(c *builtChain) []Ack {
	var acks []Ack
	for _, mb := range c.minis {
		for i, tx := range mb.Txs {
			acks = append(acks, Ack{Op: len(acks), Tx: tx.Hash(), MiniBlock: mb.Header.Number, Status: mb.Receipts[i].Status, GasUsed: mb.Receipts[i].GasUsed})
		}
	}
	return acks
}

func TestCheckDurabilityAcceptsKeptAcks(t *testing.T) {
	c := buildChain(t)
	acks := honestAcks(c)
	if len(acks) != 9 {
		t.Fatalf("%d acks, want 9", len(acks))
	}
	if v := CheckDurability(acks, c.minis); v != nil {
		t.Fatal(v)
	}
	// Transactions never acknowledged may be anywhere, or lost.
	if v := CheckDurability(acks[:4], c.minis[:3]); v != nil {
		t.Fatal(v)
	}
	if v := CheckDurability(nil, c.minis); v != nil {
		t.Fatal(v)
	}
}

func TestCheckDurabilityRejectsBrokenAcks(t *testing.T) {
	c := buildChain(t)
	stranger := types.MustSignNewTx(c.keys[0], types.LatestSignerForChainID(c.cfg.ChainID), &types.DynamicFeeTx{
		ChainID: c.cfg.ChainID, Nonce: 99, GasTipCap: big.NewInt(1), GasFeeCap: big.NewInt(params.GWei), Gas: 21_000, To: &c.sink})
	cases := map[string]struct {
		acks  func([]Ack) []Ack
		minis func([]*chain.MiniBlock) []*chain.MiniBlock
		op    int
	}{
		"an acked transaction missing": {
			acks: func(a []Ack) []Ack {
				return append(a, Ack{Op: len(a), Tx: stranger.Hash(), MiniBlock: 6, Status: 1, GasUsed: 21_000})
			}, op: 9,
		},
		"acked mini-blocks lost from the end of the chain": {
			minis: func(m []*chain.MiniBlock) []*chain.MiniBlock { return m[:3] }, op: 5,
		},
		"acked in another mini-block": {
			acks: func(a []Ack) []Ack { a[5].MiniBlock++; return a }, op: 5,
		},
		"acked with another status": {
			acks: func(a []Ack) []Ack { a[3].Status = 1 - a[3].Status; return a }, op: 3,
		},
		"acked with other gas": {
			acks: func(a []Ack) []Ack { a[0].GasUsed--; return a }, op: 0,
		},
		"moved to a later mini-block in the final chain": {
			minis: func(m []*chain.MiniBlock) []*chain.MiniBlock {
				from, to := m[3], m[4] // mini-block 4's second transaction into the empty mini-block 5
				to.Txs, to.Receipts = from.Txs[1:], from.Receipts[1:]
				from.Txs, from.Receipts = from.Txs[:1], from.Receipts[:1]
				return m
			}, op: 6,
		},
		"another outcome in the final chain": {
			minis: func(m []*chain.MiniBlock) []*chain.MiniBlock { m[5].Receipts[1].Status = 0; return m }, op: 8,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := buildChain(t)
			acks, minis := honestAcks(c), c.minis
			if tc.acks != nil {
				acks = tc.acks(acks)
			}
			if tc.minis != nil {
				minis = tc.minis(minis)
			}
			wantChainViolation(t, CheckDurability(acks, minis), PropDurability, "call "+strconv.Itoa(tc.op))
		})
	}
}
