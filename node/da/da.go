package da

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/cover"
)

// Config configures a DA node.
type Config struct {
	// Sequencers are the nodes whose puts are accepted (a lone sequencer,
	// or every member of a sequencer group: whichever leads puts); puts
	// from any other node are ignored.
	Sequencers []node.NodeID
	// SequencerKeys are the keys every mini-block of a stored bundle must
	// be signed with one of (chain.BlockBundle.Open).
	SequencerKeys chain.KeySet
	// MaxServeBytes bounds the bytes of one response (mini-block ranges,
	// block ranges, blobs); a response carries at least one item if it has
	// any. Default 4 MiB; at most chain.MaxRecordSize/2.
	MaxServeBytes int
}

const defaultMaxServeBytes = 4 << 20

func (c Config) withDefaults() (Config, error) {
	if len(c.Sequencers) == 0 || slices.Contains(c.Sequencers, "") {
		return c, errors.New("da: the sequencer's node id is required")
	}
	if len(c.SequencerKeys) == 0 || c.SequencerKeys.Has(common.Address{}) {
		return c, errors.New("da: the sequencer's key is required")
	}
	if c.MaxServeBytes <= 0 {
		c.MaxServeBytes = defaultMaxServeBytes
	}
	c.MaxServeBytes = min(c.MaxServeBytes, chain.MaxRecordSize/2)
	return c, nil
}

// ErrCorrupt is a record on disk that fails its checks: a frame that does
// not check, a blob whose keccak256 is not its key.
var ErrCorrupt = errors.New("da record corrupt")

// Metrics are the DA node's counters.
type Metrics struct {
	// Stored counts the bundles stored.
	Stored uint64
	// Refused counts the bundles refused (badly signed or built, beyond a
	// gap, equivocating), and the puts refused whole (undecodable, or not
	// from the sequencer).
	Refused uint64
	// Served counts the answers sent to range requests, block range
	// requests and gets.
	Served uint64
}

// Disk layout: see doc.go.
var (
	prefixBlob = []byte("da/blob/")
	prefixBlk  = []byte("da/blk/")
	prefixMini = []byte("da/mb/")
	keyHead    = []byte("da/head")
)

func blobKey(h common.Hash) []byte { return append(slices.Clip(prefixBlob), h[:]...) }

func be64(prefix []byte, n uint64) []byte {
	return binary.BigEndian.AppendUint64(slices.Clip(prefix), n)
}

// head is what the store holds contiguously from block 1 and mini-block
// 1, with the hashes a next bundle must chain onto (zero while empty).
type head struct {
	Block         uint64
	BlockHash     common.Hash // the sealed header's hash of Block
	MiniBlock     uint64
	MiniBlockHash common.Hash // the header hash of MiniBlock
}

// ref is an index entry: the hash of a stored blob.
type ref struct{ Hash common.Hash }

// readRetries is how many times a record that fails its checks is read
// again before it is taken to be damaged on disk: a read can be corrupted
// on its way (the simulated disk does this), a stored record stays bad.
const readRetries = 5

// DA is the DA role: a content-addressed store of the sequencer's sealed
// blocks, serving them to fullnodes and provers.
type DA struct {
	cfg      Config
	env      node.Env
	head     head // what the store holds, committed
	released head // what is durable: served, and acknowledged
	out      *node.Outbox
	metrics  Metrics
}

// New returns a DA node; Start recovers it from its disk.
func New(cfg Config) (*DA, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &DA{cfg: cfg}, nil
}

// Head is the newest block and the newest mini-block the store holds
// durably, every one before them too (0, 0: empty).
func (d *DA) Head() (block, miniBlock uint64) { return d.released.Block, d.released.MiniBlock }

// Metrics returns the counters.
func (d *DA) Metrics() Metrics { return d.metrics }

// Start implements node.Node: it recovers the head from disk. A missing
// head is an empty store; a corrupt one is rebuilt from the block index.
func (d *DA) Start(env node.Env) error {
	d.env = env
	h, err := d.readHead()
	switch {
	case errors.Is(err, node.ErrNotFound):
		h = head{}
	case errors.Is(err, ErrCorrupt):
		env.Log().Error("DA head record corrupt: rebuilding it from the block index", "err", err)
		if h, err = d.rebuildHead(); err != nil {
			return fmt.Errorf("da: rebuild head: %w", err)
		}
	case err != nil:
		return fmt.Errorf("da: read head: %w", err)
	}
	d.head, d.released = h, head{}
	d.out = node.NewOutbox(env, 0)
	// What a killed process left may not be durable: serve it once a sync
	// says it is.
	d.out.Sync(func() { d.released = h })
	env.Log().Info("DA started", "block", h.Block, "mini-block", h.MiniBlock)
	return nil
}

// OnSynced implements node.Node.
func (d *DA) OnSynced(id node.SyncID) { d.out.Synced(id) }

// OnTimer implements node.Node; DA sets no timers.
func (d *DA) OnTimer(node.TimerID) {}

// OnRequest implements node.Node: DA serves no client API.
func (d *DA) OnRequest(req node.Request) {
	req.Respond(api.Failed(api.Errorf(api.KindUnknownMethod, "the DA node %s serves no client API", d.env.ID())).Encode())
}

// OnMessage implements node.Node: puts from the sequencer; range, block
// range and blob requests from anyone.
func (d *DA) OnMessage(from node.NodeID, msg []byte) {
	switch k := chain.Kind(msg); k {
	case chain.FormatDAPutV1:
		d.onPut(from, msg)
	case chain.FormatRangeRequestV1:
		req, err := chain.DecodeRangeRequest(msg)
		if err != nil {
			d.env.Log().Warn("bad range request", "from", from, "err", err)
			return
		}
		d.reply(from, d.serveRange(req).Encode())
	case chain.FormatBlockRangeRequestV1:
		req, err := chain.DecodeBlockRangeRequest(msg)
		if err != nil {
			d.env.Log().Warn("bad block range request", "from", from, "err", err)
			return
		}
		d.reply(from, d.serveBlockRange(req).Encode())
	case chain.FormatDAGetV1:
		req, err := chain.DecodeDAGet(msg)
		if err != nil {
			d.env.Log().Warn("bad DA get", "from", from, "err", err)
			return
		}
		d.reply(from, d.serveGet(req).Encode())
	default:
		d.env.Log().Debug("ignored a message", "from", from, "format", k)
	}
}

func (d *DA) reply(to node.NodeID, msg []byte) {
	d.metrics.Served++
	d.env.Send(to, msg)
}

// onPut stores what extends the held chain of a put from the sequencer,
// in one batch, and acknowledges it once the batch is durable.
func (d *DA) onPut(from node.NodeID, msg []byte) {
	log := d.env.Log()
	if !slices.Contains(d.cfg.Sequencers, from) {
		d.metrics.Refused++
		log.Warn("ignored a DA put from a node other than the sequencer", "from", from)
		return
	}
	put, err := chain.DecodeDAPut(msg)
	if err != nil {
		d.metrics.Refused++
		log.Warn("bad DA put", "from", from, "err", err)
		return
	}
	if d.out.Full() {
		return // too many syncs in flight: no ack, the sequencer puts it again
	}
	if d.out.InFlight() > 0 {
		d.env.Mark(cover.DAPutWhileSyncing)
	}
	next := d.head // the head once what is staged is stored
	b := d.env.Disk().NewBatch()
	var commits []common.Hash
	stored := 0
	var prev uint64 // the number of the bundle before
	for i, raw := range put.Bundles {
		bundle, err := chain.DecodeBlockBundle(raw)
		if err != nil {
			log.Warn("refused a bundle that does not decode", "put", put.ID, "bundle", i, "err", err)
			break
		}
		n, c := bundle.Number, crypto.Keccak256Hash(raw)
		if i > 0 && n != prev+1 {
			log.Warn("refused a put whose bundles are not consecutive", "put", put.ID, "bundle", i, "block", n, "after", prev)
			break
		}
		prev = n
		if n == 0 {
			log.Warn("refused a bundle of block 0", "put", put.ID)
			break
		}
		if n <= d.head.Block {
			held, err := d.readRef(be64(prefixBlk, n))
			if err != nil {
				log.Error("cannot read a held block's commitment", "block", n, "err", err)
				break
			}
			if held != c {
				d.env.Mark(cover.DAEquivocation)
				log.Error("EQUIVOCATION: the sequencer put a second, different bundle for a held block",
					"block", n, "held", held, "put", c)
				break
			}
			commits = append(commits, c) // held already
			continue
		}
		if n != next.Block+1 {
			d.env.Mark(cover.DAGapRefused)
			log.Warn("refused bundles beyond a gap", "put", put.ID, "block", n, "head", next.Block)
			break
		}
		o, err := bundle.Open(d.cfg.SequencerKeys)
		if err != nil {
			log.Warn("refused a bundle that does not open", "block", n, "err", err)
			break
		}
		first, last := o.MiniBlocks[0], o.MiniBlocks[len(o.MiniBlocks)-1]
		if first.Header.Number != next.MiniBlock+1 || (next.MiniBlock > 0 && first.Header.ParentHash != next.MiniBlockHash) ||
			(next.Block > 0 && o.Header.ParentHash != next.BlockHash) {
			log.Error("refused a signed bundle that does not extend the held chain", "block", n,
				"first mini-block", first.Header.Number, "held mini-block", next.MiniBlock)
			break
		}
		b.Set(blobKey(c), raw)
		for j, mraw := range bundle.MiniBlocks {
			h := crypto.Keccak256Hash(mraw)
			b.Set(blobKey(h), mraw)
			b.Set(be64(prefixMini, o.MiniBlocks[j].Header.Number), chain.FrameRLP(chain.FormatDARefV1, &ref{h}))
		}
		b.Set(be64(prefixBlk, n), chain.FrameRLP(chain.FormatDARefV1, &ref{c}))
		next = head{Block: n, BlockHash: o.Header.Hash(), MiniBlock: last.Header.Number, MiniBlockHash: last.Hash()}
		commits = append(commits, c)
		stored++
	}
	d.metrics.Refused += uint64(len(put.Bundles) - len(commits))
	if stored > 0 {
		b.Set(keyHead, chain.FrameRLP(chain.FormatDAHeadV1, &next))
		if err := b.Commit(); err != nil {
			// No ack: the sequencer sends the put again.
			log.Error("DA write failed: the put goes unacknowledged", "put", put.ID, "err", err)
			return
		}
		d.head = next
		d.metrics.Stored += uint64(stored)
	}
	// The ack says what is held; it goes once that is durable (a put of
	// blocks held already may wait for an earlier put's sync).
	held := d.head
	d.out.Sync(func() {
		if held.Block > d.released.Block {
			d.released = held
		}
		d.env.Send(from, (&chain.DAAck{ID: put.ID, Head: held.Block, Commitments: commits}).Encode())
	})
}

// serveRange answers a range request with the consecutive stored
// mini-blocks from req.From on, as a peer does (ledger.ServeRange).
func (d *DA) serveRange(req *chain.RangeRequest) *chain.RangeResponse {
	resp := &chain.RangeResponse{ID: req.ID, From: req.From, Head: d.released.MiniBlock}
	resp.MiniBlocks = d.serveSeq(prefixMini, req.From, req.Count, d.released.MiniBlock, "mini-block")
	return resp
}

// serveBlockRange answers a block range request with the consecutive
// stored bundles from req.From on.
func (d *DA) serveBlockRange(req *chain.BlockRangeRequest) *chain.BlockRangeResponse {
	resp := &chain.BlockRangeResponse{ID: req.ID, From: req.From, Head: d.released.Block}
	resp.Bundles = d.serveSeq(prefixBlk, req.From, req.Count, d.released.Block, "block")
	return resp
}

// serveSeq reads the blobs indexed under prefix for from, from+1, …, at
// most count of them, none past top, within MaxServeBytes (at least one),
// stopping at the first that cannot be read.
func (d *DA) serveSeq(prefix []byte, from, count, top uint64, what string) [][]byte {
	var out [][]byte
	size := 0
	for i := range count {
		n := from + i
		if n == 0 || n < from || n > top {
			break
		}
		h, err := d.readRef(be64(prefix, n))
		if err != nil {
			d.env.Log().Error("cannot serve a stored record", "what", what, "number", n, "err", err)
			break
		}
		raw, err := d.readBlob(h)
		if err != nil {
			d.env.Log().Error("cannot serve a stored record", "what", what, "number", n, "err", err)
			break
		}
		if len(out) > 0 && size+len(raw) > d.cfg.MaxServeBytes {
			break
		}
		out = append(out, raw)
		size += len(raw)
	}
	return out
}

// serveGet answers a get with the blobs asked for that the store holds,
// in the order asked, within MaxServeBytes (at least one). A corrupt blob
// is left out; a failing read ends the answer.
func (d *DA) serveGet(req *chain.DAGet) *chain.DABlobs {
	resp := &chain.DABlobs{ID: req.ID}
	size := 0
	for _, h := range req.Hashes {
		raw, err := d.readBlob(h)
		switch {
		case errors.Is(err, node.ErrNotFound):
			continue
		case errors.Is(err, ErrCorrupt):
			d.env.Log().Error("not serving a corrupt blob", "hash", h, "err", err)
			continue
		case err != nil:
			d.env.Log().Error("cannot read a blob", "hash", h, "err", err)
			return resp
		}
		if len(resp.Blobs) > 0 && size+len(raw) > d.cfg.MaxServeBytes {
			break
		}
		resp.Blobs = append(resp.Blobs, raw)
		size += len(raw)
	}
	return resp
}

// readBlob reads the blob stored under h and checks that it hashes to h.
func (d *DA) readBlob(h common.Hash) ([]byte, error) {
	var last error
	for range readRetries {
		raw, err := d.env.Disk().Get(blobKey(h))
		if errors.Is(err, node.ErrNotFound) {
			return nil, err
		}
		if err != nil {
			last = err
			continue
		}
		if got := crypto.Keccak256Hash(raw); got != h {
			last = fmt.Errorf("%w: blob %v hashes to %v", ErrCorrupt, h, got)
			continue
		}
		return raw, nil
	}
	return nil, last
}

// readRef reads the index entry at key.
func (d *DA) readRef(key []byte) (common.Hash, error) {
	var r ref
	err := d.readFramed(key, chain.FormatDARefV1, &r)
	return r.Hash, err
}

// readHead reads the head record.
func (d *DA) readHead() (head, error) {
	var h head
	err := d.readFramed(keyHead, chain.FormatDAHeadV1, &h)
	return h, err
}

// readFramed reads and decodes the framed record at key into v.
func (d *DA) readFramed(key []byte, f chain.Format, v any) error {
	var last error
	for range readRetries {
		raw, err := d.env.Disk().Get(key)
		if errors.Is(err, node.ErrNotFound) {
			return err
		}
		if err != nil {
			last = err
			continue
		}
		if err := chain.UnframeRLP(f, raw, v); err != nil {
			last = fmt.Errorf("%w: %q: %v", ErrCorrupt, key, err)
			continue
		}
		return nil
	}
	return last
}

// errStop ends an iteration early.
var errStop = errors.New("stop")

// rebuildHead finds the newest block held contiguously from 1 whose bundle
// can be read, from the block index, and reads the hashes a next bundle
// must chain onto from that bundle.
func (d *DA) rebuildHead() (head, error) {
	var top uint64
	err := d.env.Disk().Iterate(prefixBlk, func(key, _ []byte) error {
		if len(key) != len(prefixBlk)+8 || binary.BigEndian.Uint64(key[len(prefixBlk):]) != top+1 {
			return errStop
		}
		top++
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return head{}, err
	}
	for n := top; n > 0; n-- {
		h, err := d.headAt(n)
		if err == nil {
			d.env.Log().Info("DA head rebuilt", "block", h.Block, "mini-block", h.MiniBlock)
			return h, nil
		}
		d.env.Log().Error("cannot read a held bundle while rebuilding the head", "block", n, "err", err)
	}
	return head{}, nil
}

// headAt is the head with block n the newest held, from n's bundle.
func (d *DA) headAt(n uint64) (head, error) {
	c, err := d.readRef(be64(prefixBlk, n))
	if err != nil {
		return head{}, err
	}
	raw, err := d.readBlob(c)
	if err != nil {
		return head{}, err
	}
	b, err := chain.DecodeBlockBundle(raw)
	if err != nil {
		return head{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	o, err := b.Open(d.cfg.SequencerKeys)
	if err != nil || b.Number != n {
		return head{}, fmt.Errorf("%w: bundle of block %d: %v", ErrCorrupt, n, err)
	}
	last := o.MiniBlocks[len(o.MiniBlocks)-1]
	return head{Block: n, BlockHash: o.Header.Hash(), MiniBlock: last.Header.Number, MiniBlockHash: last.Hash()}, nil
}
