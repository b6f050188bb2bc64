package main

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/runtime"
)

// miniBlockStaleSlack is how far below the node's head a gossiped
// mini-block is still taken (and forwarded): 256 mini-blocks, about 2.5 s
// at the default 10 ms interval. Validation runs in parallel (up to
// runtime.P2PConfig.ValidateConcurrency at once, 64 by default) and range
// repair moves the head ahead of the gossip stream, so a mini-block of the
// honest stream may be validated after later ones were applied; only one
// well older than that, which every peer has had time to repair, is
// ignored.
const miniBlockStaleSlack = 256

// gossipValidator checks each gossip message before the node takes or
// forwards it (runtime.P2PConfig.Validate): a mini-block must be signed by
// the sequencer; a block's bundle must open as the sequencer's sealed
// block (its last mini-block's signature and sealed header); an
// attestation or fault report must decode and carry a valid signature,
// and where the node knows the prover set (a fullnode) a statement by
// another key is ignored (runtime.ErrNotOurs: not forwarded, its relayer
// not blamed, since nodes without the list relay it). Anything else is
// rejected, so a forgery stops at the first honest peer.
//
// head, when not nil, is the newest mini-block the node holds (0: none
// yet): a mini-block the sequencer did sign but more than
// miniBlockStaleSlack below it is stale (runtime.ErrStale: ignored, neither
// delivered nor forwarded, its sender not blamed).
func gossipValidator(sequencer chain.KeySet, provers []common.Address, head func() uint64) func(node.Topic, []byte) error {
	return func(topic node.Topic, msg []byte) error {
		switch topic {
		case chain.TopicMiniBlocks:
			mb, err := chain.DecodeMiniBlock(msg)
			if err != nil {
				return err
			}
			if err := mb.VerifyKeys(sequencer); err != nil {
				return err
			}
			if head != nil {
				if h := head(); mb.Header.Number+miniBlockStaleSlack < h {
					return fmt.Errorf("mini-block %d, %d behind the head %d: %w", mb.Header.Number, h-mb.Header.Number, h, runtime.ErrStale)
				}
			}
			return nil
		case chain.TopicBlocks:
			b, err := chain.DecodeBlockBundle(msg)
			if err != nil {
				return err
			}
			_, err = b.OpenSealed(sequencer)
			return err
		case chain.TopicAttestations:
			var signer common.Address
			switch chain.Kind(msg) {
			case chain.FormatAttestationV1:
				a, err := chain.DecodeAttestation(msg)
				if err != nil {
					return err
				}
				if signer, err = a.Signer(); err != nil {
					return err
				}
			case chain.FormatFaultReportV2, chain.FormatFaultReportV1: // v1 fails to decode: no evidence
				f, err := chain.DecodeFaultReport(msg)
				if err != nil {
					return err
				}
				if signer, err = f.Signer(); err != nil {
					return err
				}
			default:
				return errors.New("not an attestation or a fault report")
			}
			if len(provers) > 0 && !slices.Contains(provers, signer) {
				// Ignored, not rejected: a node that knows no prover
				// list relays it in good faith.
				return fmt.Errorf("statement signed by %v, not a configured prover: %w", signer, runtime.ErrNotOurs)
			}
			return nil
		}
		return fmt.Errorf("unknown topic %q", topic)
	}
}

// gossipIdentities is whom a role's gossip must come from: the sequencer
// (the node itself for a lone sequencer; the group for a member) and, on a
// fullnode, the provers. ok is false where the configuration names no
// sequencer: then no validator.
func gossipIdentities(role string, cfg *Config, key *ecdsa.PrivateKey) (seq chain.KeySet, provers []common.Address, ok bool, err error) {
	if role == "sequencer" && cfg.GroupID == 0 {
		return chain.Keys(crypto.PubkeyToAddress(key.PublicKey)), nil, true, nil
	}
	if cfg.Sequencer == "" && len(cfg.Sequencers) == 0 {
		return nil, nil, false, nil
	}
	if seq, err = cfg.sequencerKeys(); err != nil {
		return nil, nil, false, err
	}
	if role == "fullnode" {
		for _, p := range cfg.Provers {
			a, err := parseAddress("prover", p)
			if err != nil {
				return nil, nil, false, err
			}
			provers = append(provers, a)
		}
	}
	return seq, provers, true, nil
}
