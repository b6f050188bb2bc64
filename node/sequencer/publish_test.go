package sequencer

import (
	"bytes"
	"slices"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/stateless"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
)

// puts are the DA puts sent so far.
func (h *harness) puts() []*chain.DAPut {
	var out []*chain.DAPut
	for _, m := range h.env.Sent {
		if p, err := chain.DecodeDAPut(m.Msg); err == nil && m.To == "da" {
			out = append(out, p)
		}
	}
	return out
}

func ackFor(t *testing.T, p *chain.DAPut, head uint64) []byte {
	t.Helper()
	a := &chain.DAAck{ID: p.ID, Head: head}
	for _, raw := range p.Bundles {
		b, err := chain.DecodeBlockBundle(raw)
		if err != nil {
			t.Fatal(err)
		}
		if b.Number <= head {
			a.Commitments = append(a.Commitments, b.Commitment())
		}
	}
	return a.Encode()
}

// TestPublishesSealedBlocksToDA: every sealed block goes to DA with its
// mini-blocks and witness, one put in flight at a time, again after a
// timeout, and what DA acknowledged is recorded durably: a restarted
// sequencer resumes after it.
func TestPublishesSealedBlocksToDA(t *testing.T) {
	const K = 3
	f := newFixture()
	h := newHarness(t, f, func(c *Config) { c.MiniBlocksPerBlock = K; c.DA = "da"; c.BlockGap = -1 })
	for i := range 3 * K {
		h.send(api.MethodSendTx, enc(t, f.nth(f.keys[i%len(f.keys)], uint64(i/len(f.keys)), i)))
		h.tick()
	}
	puts := h.puts()
	if len(puts) != 1 || len(puts[0].Bundles) != 1 {
		t.Fatalf("%d puts after 3 seals, want 1 (one in flight) of block 1", len(puts))
	}
	b, err := chain.DecodeBlockBundle(puts[0].Bundles[0])
	if err != nil || b.Number != 1 || len(b.MiniBlocks) != K {
		t.Fatalf("bundle %+v %v", b, err)
	}
	for i, raw := range b.MiniBlocks {
		if _, stored, _ := h.seq.Ledger().MiniBlock(uint64(i + 1)); !bytes.Equal(raw, stored) {
			t.Fatalf("bundle mini-block %d differs from the ledger's", i)
		}
	}
	var w stateless.Witness
	if err := rlp.DecodeBytes(b.Witness, &w); err != nil || len(w.Headers) == 0 || w.Headers[0].Hash() != h.seq.Ledger().Genesis().Hash() {
		t.Fatalf("witness: %v", err)
	}
	// DA acknowledges block 1; the next put carries blocks 2 and 3.
	h.seq.OnMessage("da", ackFor(t, puts[0], 1))
	if h.seq.Ledger().Published() != 1 {
		t.Fatalf("published %d, want 1", h.seq.Ledger().Published())
	}
	if c, err := h.seq.Ledger().Commitment(1); err != nil || c != b.Commitment() {
		t.Fatalf("commitment of block 1: %v %v", c, err)
	}
	puts = h.puts()
	if len(puts) != 2 || len(puts[1].Bundles) != 2 {
		t.Fatalf("second put: %d puts", len(puts))
	}
	// An ack from elsewhere, or for another put, changes nothing.
	h.seq.OnMessage("mallory", ackFor(t, puts[1], 3))
	h.seq.OnMessage("da", ackFor(t, puts[0], 3))
	if h.seq.Ledger().Published() != 1 {
		t.Fatal("a stray ack was taken")
	}
	// No answer: the put goes again after its timer.
	h.env.Fire(t, h.seq, timerDA+node.TimerID(puts[1].ID))
	puts = h.puts()
	if len(puts) != 3 || !slices.EqualFunc(puts[2].Bundles, puts[1].Bundles, bytes.Equal) {
		t.Fatalf("after the timeout: %d puts", len(puts))
	}
	// A restart resumes after what DA acknowledged.
	h.restart()
	h.env.Sent = nil
	h.tick()
	h.restart()
	puts = h.puts()
	if len(puts) != 1 {
		t.Fatalf("%d puts after the restart", len(puts))
	}
	first, _ := chain.DecodeBlockBundle(puts[0].Bundles[0])
	if first.Number != 2 {
		t.Fatalf("restarted sequencer publishes from block %d, want 2", first.Number)
	}
	var zero common.Hash
	if c, _ := h.seq.Ledger().Commitment(2); c != zero {
		t.Fatal("block 2 recorded as published before DA acknowledged it")
	}
}
