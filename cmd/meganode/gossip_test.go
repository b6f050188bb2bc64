package main

import (
	"crypto/ecdsa"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/chain"
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
	validate := gossipValidator(seq, []common.Address{prover})

	miniBlock := func(k *ecdsa.PrivateKey) []byte {
		mb := &chain.MiniBlock{Header: chain.MiniBlockHeader{Number: 1, BlockNumber: 1}, Diff: &chain.Diff{}}
		if err := mb.Seal(k); err != nil {
			t.Fatal(err)
		}
		raw, err := mb.Encode()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
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
}

func nodeTopic(s string) node.Topic { return node.Topic(s) }
