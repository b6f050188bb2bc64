package sequencer

import (
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/cover"
	"github.com/meganode/meganode/node/ledger"
)

// timerDA + put id: the put in flight to DA timed out.
const timerDA node.TimerID = 1 << 32

// maxDABackoff caps the wait between retries of a put DA does not answer.
const maxDABackoff = 2 * time.Second

// publisher tracks what the sequencer owes DA: every sealed block, in
// order, one put in flight at a time. What DA acknowledged is recorded in
// the ledger (Published), so a restarted sequencer resumes where DA is.
type publisher struct {
	id       uint64
	inflight bool
	first    uint64        // first block of the put in flight
	commits  []common.Hash // its bundles' commitments
	wait     time.Duration // current retry delay
	// recent holds the newest bundles, encoded when they were gossiped, so
	// that a put to DA does not assemble them again.
	recent []encodedBundle
}

type encodedBundle struct {
	number uint64
	raw    []byte
	commit common.Hash
}

// maxRecentBundles bounds the encoded bundles kept for DA.
const maxRecentBundles = 8

func (p *publisher) remember(n uint64, raw []byte, commit common.Hash) {
	if len(p.recent) == maxRecentBundles {
		p.recent = append(p.recent[:0], p.recent[1:]...)
	}
	p.recent = append(p.recent, encodedBundle{n, raw, commit})
}

func (p *publisher) encoded(n uint64) (encodedBundle, bool) {
	for _, b := range p.recent {
		if b.number == n {
			return b, true
		}
	}
	return encodedBundle{}, false
}

// bundle assembles sealed block n's DA bundle from a released view.
func (s *Sequencer) bundle(v *ledger.View, n uint64) (*chain.BlockBundle, error) {
	sb, err := v.SealedBlock(n)
	if err != nil {
		return nil, err
	}
	w, err := s.led.Witness(n)
	if err != nil {
		return nil, err
	}
	b := &chain.BlockBundle{Number: n, Witness: w, MiniBlocks: make([][]byte, 0, sb.Last-sb.First+1)}
	for i := sb.First; i <= sb.Last; i++ {
		_, raw, err := v.MiniBlock(i)
		if err != nil {
			return nil, fmt.Errorf("block %d: %w", n, err)
		}
		b.MiniBlocks = append(b.MiniBlocks, raw)
	}
	return b, nil
}

// gossipBlock publishes sealed block n's bundle to the provers.
func (s *Sequencer) gossipBlock(v *ledger.View, n uint64) {
	b, err := s.bundle(v, n)
	if err != nil {
		s.env.Log().Warn("cannot gossip sealed block", "block", n, "err", err)
		return
	}
	raw := b.Encode()
	if s.cfg.DA != "" {
		s.pub.remember(n, raw, crypto.Keccak256Hash(raw)) // b.Commitment(), without encoding again
	}
	s.env.Publish(chain.TopicBlocks, raw)
}

// publish sends DA the oldest sealed blocks it has not acknowledged, up to
// chain.MaxPutBundles and Config.MaxPutBytes in one put: released blocks
// only, durable here before they go.
func (s *Sequencer) publish() {
	p := &s.pub
	if s.cfg.DA == "" || p.inflight || s.down != nil || (s.grp != nil && !s.grp.ready) {
		return
	}
	v := s.led.View()
	if v == nil {
		return
	}
	next, safe := s.led.Published()+1, v.Safe().Header.Number.Uint64()
	put := &chain.DAPut{}
	var commits []common.Hash
	size := 0
	for n := next; n <= safe && len(put.Bundles) < chain.MaxPutBundles; n++ {
		e, ok := p.encoded(n)
		if !ok {
			b, err := s.bundle(v, n)
			if err != nil {
				s.env.Log().Error("cannot assemble a block for DA", "block", n, "err", err)
				break
			}
			raw := b.Encode()
			e = encodedBundle{number: n, raw: raw, commit: crypto.Keccak256Hash(raw)}
		}
		if len(put.Bundles) > 0 && size+len(e.raw) > s.cfg.MaxPutBytes {
			break
		}
		put.Bundles = append(put.Bundles, e.raw)
		commits = append(commits, e.commit)
		size += len(e.raw)
	}
	if len(put.Bundles) == 0 {
		return
	}
	p.id++
	put.ID = p.id
	p.inflight, p.first, p.commits = true, next, commits
	if p.wait == 0 {
		p.wait = s.cfg.RetryDA
	}
	s.env.Send(s.cfg.DA, put.Encode())
	s.env.After(p.wait, timerDA+node.TimerID(p.id))
}

// onDATimer retries a put DA did not answer, waiting longer each time.
func (s *Sequencer) onDATimer(id node.TimerID) {
	p := &s.pub
	if !p.inflight || id != timerDA+node.TimerID(p.id) {
		return
	}
	p.inflight = false
	s.env.Mark(cover.SeqDARetry)
	p.wait = min(2*p.wait, maxDABackoff)
	s.publish()
}

// onDAAck records what DA now holds, durably, and sends the next put.
func (s *Sequencer) onDAAck(from node.NodeID, msg []byte) {
	p := &s.pub
	ack, err := chain.DecodeDAAck(msg)
	if err != nil {
		s.env.Log().Warn("bad DA ack", "from", from, "err", err)
		return
	}
	if from != s.cfg.DA || !p.inflight || ack.ID != p.id {
		return
	}
	p.inflight, p.wait = false, 0
	last := p.first + uint64(len(p.commits)) - 1
	held := min(ack.Head, last)
	if held >= p.first {
		k := held - p.first + 1
		for i := range k {
			if i >= uint64(len(ack.Commitments)) || ack.Commitments[i] != p.commits[i] {
				s.env.Log().Error("DA acknowledged a different bundle", "block", p.first+i)
				return
			}
		}
		if err := s.led.SetPublished(p.first, p.commits[:k]); err != nil {
			s.fail(err)
			return
		}
	} else if ack.Head+1 < p.first {
		s.env.Log().Error("DA holds fewer blocks than it acknowledged before", "da head", ack.Head, "published", p.first-1)
	}
	s.publish()
}
