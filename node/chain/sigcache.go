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
