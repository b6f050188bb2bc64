package chain

import (
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// maxSigners bounds the recovered signers remembered; beyond it the oldest
// is forgotten.
const maxSigners = 8192

// sigKey is a signed hash and its signature.
type sigKey [common.HashLength + crypto.SignatureLength]byte

// signers remembers the signers recovered from signatures, so that a
// signature checked off a node's step (by the gossip validator, on
// GossipSub's goroutines, or by admission) is not recovered again when the
// step checks it: the step's check is then a lookup. It changes no
// outcome, only when the work is done. Safe for concurrent use.
var signers = &sigCache{m: make(map[sigKey]common.Address, maxSigners)}

type sigCache struct {
	mu   sync.Mutex
	m    map[sigKey]common.Address
	ring []sigKey // insertion order, for eviction
	next int
}

// recover returns the address that signed h with sig (65 bytes).
func (c *sigCache) recover(h common.Hash, sig []byte) (common.Address, error) {
	var k sigKey
	copy(k[:], h[:])
	copy(k[common.HashLength:], sig)
	c.mu.Lock()
	a, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return a, nil
	}
	pub, err := crypto.SigToPub(h[:], sig)
	if err != nil {
		return common.Address{}, err
	}
	a = crypto.PubkeyToAddress(*pub)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; ok {
		return a, nil
	}
	if len(c.ring) < maxSigners {
		c.ring = append(c.ring, k)
	} else {
		delete(c.m, c.ring[c.next])
		c.ring[c.next] = k
		c.next = (c.next + 1) % maxSigners
	}
	c.m[k] = a
	return a, nil
}

// PrecheckSigners recovers the signers of the signed records in msg — a
// mini-block, a range response's mini-blocks, a bundle's sealing
// mini-block (each of a block range response's), an attestation or fault
// report (each of an attestation response's) — so that the role's step,
// checking them again, finds them in the cache. It is for the network's
// goroutines (runtime.LoopConfig.Precheck): it checks nothing itself and
// ignores what does not decode, which the step refuses with its reason.
func PrecheckSigners(msg []byte) {
	miniBlock := func(raw []byte) {
		if mb, err := DecodeMiniBlock(raw); err == nil {
			_, _ = mb.Signer()
		}
	}
	bundle := func(raw []byte) {
		if b, err := DecodeBlockBundle(raw); err == nil && len(b.MiniBlocks) > 0 {
			miniBlock(b.MiniBlocks[len(b.MiniBlocks)-1])
		}
	}
	statement := func(raw []byte) {
		switch Kind(raw) {
		case FormatAttestationV1:
			if a, err := DecodeAttestation(raw); err == nil {
				_, _ = a.Signer()
			}
		case FormatFaultReportV2:
			if f, err := DecodeFaultReport(raw); err == nil {
				_, _ = f.Signer()
			}
		}
	}
	switch Kind(msg) {
	case FormatMiniBlockV1:
		miniBlock(msg)
	case FormatRangeResponseV1:
		if r, err := DecodeRangeResponse(msg); err == nil {
			for _, raw := range r.MiniBlocks {
				miniBlock(raw)
			}
		}
	case FormatBlockBundleV1:
		bundle(msg)
	case FormatBlockRangeResponseV1:
		if r, err := DecodeBlockRangeResponse(msg); err == nil {
			for _, raw := range r.Bundles {
				bundle(raw)
			}
		}
	case FormatAttestationV1, FormatFaultReportV2:
		statement(msg)
	case FormatAttResponseV1:
		if r, err := DecodeAttResponse(msg); err == nil {
			for _, raw := range r.Attestations {
				statement(raw)
			}
			for _, raw := range r.Faults {
				statement(raw)
			}
		}
	}
}
