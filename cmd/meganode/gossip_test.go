package main

import (
	"crypto/ecdsa"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/runtime"
)

// The validator accepts the sequencer's mini-blocks and a configured
// prover's attestations, and rejects the same signed by anyone else,
// garbage, and a message on a topic it does not know.
func TestGossipValidator(t *testing.T) {
	key := func() *ecdsa.PrivateKey {
		k, err := crypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	seqKey, proverKey, otherKey := key(), key(), key()
	seq, prover := crypto.PubkeyToAddress(seqKey.PublicKey), crypto.PubkeyToAddress(proverKey.PublicKey)
	var head atomic.Uint64 // 0: the node holds nothing yet
	validate := gossipValidator(chain.Keys(seq), []common.Address{prover}, head.Load)

	miniBlockAt := func(k *ecdsa.PrivateKey, n uint64) []byte {
		mb := &chain.MiniBlock{Header: chain.MiniBlockHeader{Number: n, BlockNumber: 1}, Diff: &chain.Diff{}}
		if err := mb.Seal(k); err != nil {
			t.Fatal(err)
		}
		raw, err := mb.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	miniBlock := func(k *ecdsa.PrivateKey) []byte { return miniBlockAt(k, 1) }
	attestation := func(k *ecdsa.PrivateKey) []byte {
		a := &chain.Attestation{Number: 1}
		if err := a.Sign(k); err != nil {
			t.Fatal(err)
		}
		return a.Encode()
	}
	cases := []struct {
		name  string
		topic string
		msg   []byte
		want  string // "" accepts; else a part of the refusal
	}{
		{"the sequencer's mini-block", string(chain.TopicMiniBlocks), miniBlock(seqKey), ""},
		{"a mini-block signed by another key", string(chain.TopicMiniBlocks), miniBlock(otherKey), "sign"},
		{"garbage as a mini-block", string(chain.TopicMiniBlocks), []byte("garbage"), "decode"},
		{"garbage as a block", string(chain.TopicBlocks), []byte("garbage"), "decode"},
		{"a prover's attestation", string(chain.TopicAttestations), attestation(proverKey), ""},
		{"an attestation by a stranger", string(chain.TopicAttestations), attestation(otherKey), "not a configured prover"},
		{"a mini-block on the attestations topic", string(chain.TopicAttestations), miniBlock(seqKey), "not an attestation"},
		{"an unknown topic", "meganode/other/1", miniBlock(seqKey), "unknown topic"},
	}
	for _, c := range cases {
		err := validate(nodeTopic(c.topic), c.msg)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
	// A stranger's statement is validly signed: ignored, not rejected,
	// since a node without the prover list relays it in good faith.
	if err := validate(chain.TopicAttestations, attestation(otherKey)); !errors.Is(err, runtime.ErrNotOurs) {
		t.Errorf("a stranger's attestation: %v, want runtime.ErrNotOurs (ignored)", err)
	}
	report := &chain.FaultReport{Number: 1, Reason: "r", Evidence: []byte{1}}
	if err := report.Sign(proverKey); err != nil {
		t.Fatal(err)
	}
	if err := validate(chain.TopicAttestations, report.Encode()); err != nil {
		t.Errorf("a prover's fault report: %v", err)
	}
	forged := report.Encode()
	forged[len(forged)/2] ^= 1
	if err := validate(chain.TopicAttestations, forged); err == nil || errors.Is(err, runtime.ErrNotOurs) {
		t.Errorf("a damaged fault report: %v, want it rejected", err)
	}

	// With the node at mini-block 1000: the sequencer's mini-blocks more
	// than miniBlockStaleSlack behind are stale (ignored, not rejected);
	// within the slack, or ahead, they are taken; a forgery is a forgery
	// however old.
	head.Store(1000)
	edge := uint64(1000 - miniBlockStaleSlack)
	for _, c := range []struct {
		name  string
		msg   []byte
		stale bool
		want  string // "" accepts (or ignores, when stale)
	}{
		{"the next mini-block", miniBlockAt(seqKey, 1001), false, ""},
		{"the head again", miniBlockAt(seqKey, 1000), false, ""},
		{"a mini-block at the edge of the slack", miniBlockAt(seqKey, edge), false, ""},
		{"a mini-block just beyond the slack", miniBlockAt(seqKey, edge-1), true, ""},
		{"an old mini-block", miniBlockAt(seqKey, 1), true, ""},
		{"an old forgery", miniBlockAt(otherKey, 1), false, "sign"},
		{"old garbage", []byte("garbage"), false, "decode"},
	} {
		err := validate(chain.TopicMiniBlocks, c.msg)
		switch {
		case c.stale && !errors.Is(err, runtime.ErrStale):
			t.Errorf("%s: %v, want stale", c.name, err)
		case !c.stale && errors.Is(err, runtime.ErrStale):
			t.Errorf("%s: stale: %v", c.name, err)
		case !c.stale && c.want == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
	// No head (a role that does not follow mini-blocks): nothing is stale.
	if err := gossipValidator(chain.Keys(seq), nil, nil)(chain.TopicMiniBlocks, miniBlockAt(seqKey, 1)); err != nil {
		t.Errorf("without a head: %v", err)
	}
}

func nodeTopic(s string) node.Topic { return node.Topic(s) }
