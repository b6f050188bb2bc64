package da_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/da"
	"github.com/meganode/meganode/node/internal/chaintest"
	"github.com/meganode/meganode/node/internal/nodetest"
	"github.com/meganode/meganode/node/memdisk"
)

// testDisk is a memdisk that can fail commits and reads, and records each
// commit: how many messages the node had sent by then.
type testDisk struct {
	*memdisk.Disk
	env        *nodetest.Env
	failCommit bool
	failGet    bool
	commits    []commitRec
}

type commitRec struct {
	sent int // len(env.Sent) at the commit
}

var errDisk = errors.New("injected disk error")

func (d *testDisk) Get(key []byte) ([]byte, error) {
	if d.failGet {
		return nil, errDisk
	}
	return d.Disk.Get(key)
}

func (d *testDisk) NewBatch() node.Batch { return &testBatch{Batch: d.Disk.NewBatch(), d: d} }

type testBatch struct {
	node.Batch
	d *testDisk
}

func (b *testBatch) Commit() error {
	if b.d.failCommit {
		return errDisk
	}
	b.d.commits = append(b.d.commits, commitRec{sent: len(b.d.env.Sent)})
	return b.Batch.Commit()
}

// harness runs one DA node over a testDisk, fed the bundles of a chain a
// real sequencer produced: 4 blocks of 3 mini-blocks.
type harness struct {
	t    *testing.T
	s    *chaintest.Stream
	cfg  da.Config
	disk *testDisk
	env  *nodetest.Env
	da   *da.DA
}

const (
	seqID    node.NodeID = "seq"
	blocks               = 4
	perBlock             = 3
)

var stream *chaintest.Stream

func testStream(t *testing.T) *chaintest.Stream {
	t.Helper()
	if stream == nil {
		stream = chaintest.Produce(t, blocks*perBlock, perBlock)
		if len(stream.Bundles) != blocks {
			t.Fatalf("the sequencer sealed %d blocks, want %d", len(stream.Bundles), blocks)
		}
	}
	return stream
}

func newHarness(t *testing.T, mutate func(*da.Config)) *harness {
	t.Helper()
	s := testStream(t)
	h := &harness{t: t, s: s, cfg: da.Config{Sequencers: []node.NodeID{seqID}, SequencerKeys: chain.Keys(s.Sequencer())}, disk: &testDisk{Disk: memdisk.New()}}
	if mutate != nil {
		mutate(&h.cfg)
	}
	h.start()
	return h
}

// start (re)starts the DA node over the harness's disk.
func (h *harness) start() {
	h.t.Helper()
	h.env = nodetest.NewEnv("da", h.disk, nodetest.T0.Add(time.Second))
	h.disk.env = h.env
	d, err := da.New(h.cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := d.Start(h.env); err != nil {
		h.t.Fatal(err)
	}
	h.da = d
	h.env.CompleteSyncs(d) // the start's barrier
}

func (h *harness) bundle(n int) []byte { return h.s.Bundles[n-1] }

// put sends a put of the given bundles from node from and returns the
// ack it got back, or nil.
func (h *harness) put(from node.NodeID, id uint64, bundles ...[]byte) *chain.DAAck {
	h.t.Helper()
	sent := len(h.env.Sent)
	h.da.OnMessage(from, (&chain.DAPut{ID: id, Bundles: bundles}).Encode())
	if len(h.env.Sent) != sent {
		h.t.Fatal("the put was acknowledged before its sync completed")
	}
	h.env.CompleteSyncs(h.da)
	switch len(h.env.Sent) - sent {
	case 0:
		return nil
	case 1:
	default:
		h.t.Fatalf("%d messages sent for one put", len(h.env.Sent)-sent)
	}
	m := h.env.Sent[sent]
	if m.To != from {
		h.t.Fatalf("ack sent to %s, want %s", m.To, from)
	}
	ack, err := chain.DecodeDAAck(m.Msg)
	if err != nil {
		h.t.Fatal(err)
	}
	if ack.ID != id {
		h.t.Fatalf("ack of put %d, want %d", ack.ID, id)
	}
	return ack
}

// blocks returns bundles from..to of the stream.
func (h *harness) blocks(from, to int) [][]byte {
	var out [][]byte
	for n := from; n <= to; n++ {
		out = append(out, h.bundle(n))
	}
	return out
}

func commitment(raw []byte) common.Hash { return crypto.Keccak256Hash(raw) }

func (h *harness) checkAck(ack *chain.DAAck, head uint64, bundles ...[]byte) {
	h.t.Helper()
	if ack == nil {
		h.t.Fatal("no ack")
	}
	if ack.Head != head || len(ack.Commitments) != len(bundles) {
		h.t.Fatalf("ack head %d with %d commitments, want %d with %d", ack.Head, len(ack.Commitments), head, len(bundles))
	}
	for i, b := range bundles {
		if ack.Commitments[i] != commitment(b) {
			h.t.Fatalf("commitment %d: %v, want %v", i, ack.Commitments[i], commitment(b))
		}
	}
}

func (h *harness) checkHead(block int) {
	h.t.Helper()
	b, mb := h.da.Head()
	if b != uint64(block) || mb != uint64(block*perBlock) {
		h.t.Fatalf("head %d/%d, want %d/%d", b, mb, block, block*perBlock)
	}
}

// ask sends msg from "full" and returns the one answer.
func (h *harness) ask(msg []byte) []byte {
	h.t.Helper()
	sent := len(h.env.Sent)
	h.da.OnMessage("full", msg)
	if len(h.env.Sent) != sent+1 || h.env.Sent[sent].To != "full" {
		h.t.Fatalf("%d answers, want 1 to full", len(h.env.Sent)-sent)
	}
	return h.env.Sent[sent].Msg
}

func (h *harness) askRange(from, count uint64) *chain.RangeResponse {
	h.t.Helper()
	resp, err := chain.DecodeRangeResponse(h.ask((&chain.RangeRequest{ID: 7, From: from, Count: count}).Encode()))
	if err != nil || resp.ID != 7 || resp.From != from {
		h.t.Fatalf("range response %+v, %v", resp, err)
	}
	return resp
}

func (h *harness) askBlocks(from, count uint64) *chain.BlockRangeResponse {
	h.t.Helper()
	resp, err := chain.DecodeBlockRangeResponse(h.ask((&chain.BlockRangeRequest{ID: 8, From: from, Count: count}).Encode()))
	if err != nil || resp.ID != 8 || resp.From != from {
		h.t.Fatalf("block range response %+v, %v", resp, err)
	}
	return resp
}

func (h *harness) askBlobs(hashes ...common.Hash) *chain.DABlobs {
	h.t.Helper()
	resp, err := chain.DecodeDABlobs(h.ask((&chain.DAGet{ID: 9, Hashes: hashes}).Encode()))
	if err != nil || resp.ID != 9 {
		h.t.Fatalf("blobs %+v, %v", resp, err)
	}
	return resp
}

func TestConfig(t *testing.T) {
	if _, err := da.New(da.Config{SequencerKeys: chain.Keys(common.Address{1})}); err == nil {
		t.Error("no sequencer: accepted")
	}
	if _, err := da.New(da.Config{Sequencers: []node.NodeID{seqID}}); err == nil {
		t.Error("no sequencer key: accepted")
	}
}

func TestPutIsAckedOnlyOnceDurable(t *testing.T) {
	h := newHarness(t, nil)
	h.checkHead(0)
	ack := h.put(seqID, 1, h.blocks(1, 3)...)
	h.checkAck(ack, 3, h.blocks(1, 3)...)
	h.checkHead(3)
	// One batch, synced, committed before the ack was sent.
	if len(h.disk.commits) != 1 || h.disk.commits[0].sent != 0 {
		t.Fatalf("commits %+v, want one before any send", h.disk.commits)
	}
	if m := h.da.Metrics(); m.Stored != 3 || m.Refused != 0 {
		t.Fatalf("metrics %+v", m)
	}
	// The commitment is the bundle's own.
	b, err := chain.DecodeBlockBundle(h.bundle(2))
	if err != nil || b.Commitment() != ack.Commitments[1] {
		t.Fatalf("commitment %v, bundle's %v (%v)", ack.Commitments[1], b.Commitment(), err)
	}
}

func TestFailedWriteIsNotAcked(t *testing.T) {
	h := newHarness(t, nil)
	h.disk.failCommit = true
	if ack := h.put(seqID, 1, h.blocks(1, 2)...); ack != nil {
		t.Fatalf("acked %+v though the write failed", ack)
	}
	h.checkHead(0)
	if m := h.da.Metrics(); m.Stored != 0 {
		t.Fatalf("metrics %+v", m)
	}
	// The sequencer retries; now the disk takes it.
	h.disk.failCommit = false
	h.checkAck(h.put(seqID, 2, h.blocks(1, 2)...), 2, h.blocks(1, 2)...)
	h.checkHead(2)
}

func TestRePutIsIdempotent(t *testing.T) {
	h := newHarness(t, nil)
	h.checkAck(h.put(seqID, 1, h.blocks(1, 2)...), 2, h.blocks(1, 2)...)
	// Overlapping: the held ones are skipped, the new one stored.
	h.checkAck(h.put(seqID, 2, h.blocks(1, 4)...), 4, h.blocks(1, 4)...)
	h.checkHead(4)
	commits := len(h.disk.commits)
	// All held: acked again, nothing written.
	h.checkAck(h.put(seqID, 3, h.blocks(2, 4)...), 4, h.blocks(2, 4)...)
	h.checkAck(h.put(seqID, 3, h.blocks(2, 4)...), 4, h.blocks(2, 4)...) // a duplicated message
	if len(h.disk.commits) != commits {
		t.Fatalf("%d commits for puts of held bundles", len(h.disk.commits)-commits)
	}
	if m := h.da.Metrics(); m.Stored != 4 || m.Refused != 0 {
		t.Fatalf("metrics %+v", m)
	}
}

// rebuilt returns block n's bundle with its mini-blocks changed by change
// and signed again, in order, each naming the one before as its parent;
// signed with the sequencer's key (a second history the sequencer signed:
// equivocation) or, with byKey false, another one.
func (h *harness) rebuilt(n int, byKey bool, change func(i int, mb *chain.MiniBlock)) []byte {
	h.t.Helper()
	b, err := chain.DecodeBlockBundle(h.bundle(n))
	if err != nil {
		h.t.Fatal(err)
	}
	key := h.s.SeqKey
	if !byKey {
		key = nodetest.Key("mallory", 0)
	}
	var prev common.Hash
	for i, raw := range b.MiniBlocks {
		mb, err := chain.DecodeMiniBlock(raw)
		if err != nil {
			h.t.Fatal(err)
		}
		if i > 0 {
			mb.Header.ParentHash = prev
		}
		change(i, mb)
		if err := mb.Seal(key); err != nil {
			h.t.Fatal(err)
		}
		if b.MiniBlocks[i], err = mb.Encode(); err != nil {
			h.t.Fatal(err)
		}
		prev = mb.Hash()
	}
	return b.Encode()
}

func TestEquivocationIsRefused(t *testing.T) {
	h := newHarness(t, nil)
	h.checkAck(h.put(seqID, 1, h.blocks(1, 2)...), 2, h.blocks(1, 2)...)
	other := h.rebuilt(2, true, func(i int, mb *chain.MiniBlock) {
		if i == perBlock-1 {
			mb.Header.TimeMicros++
		}
	})
	if b, err := chain.DecodeBlockBundle(other); err != nil {
		t.Fatal(err)
	} else if _, err := b.Open(chain.Keys(h.s.Sequencer())); err != nil {
		t.Fatalf("the second history does not open: %v", err)
	}
	// Acked with the head, without the refused bundle's commitment, and
	// nothing after it is taken.
	h.checkAck(h.put(seqID, 2, h.bundle(1), other, h.bundle(3)), 2, h.bundle(1))
	h.checkHead(2)
	if m := h.da.Metrics(); m.Refused != 2 || m.Stored != 2 {
		t.Fatalf("metrics %+v", m)
	}
	// The held bundle is still what is served.
	if resp := h.askBlocks(2, 1); len(resp.Bundles) != 1 || !bytes.Equal(resp.Bundles[0], h.bundle(2)) {
		t.Fatal("the held bundle was replaced")
	}
}

func TestGapsAndBadBundlesAreRefused(t *testing.T) {
	h := newHarness(t, nil)
	// Beyond a gap: nothing stored, the ack says where DA is.
	h.checkAck(h.put(seqID, 1, h.blocks(2, 3)...), 0)
	h.checkHead(0)
	if len(h.disk.commits) != 0 {
		t.Fatal("wrote for a put beyond a gap")
	}
	// Not consecutive: the prefix is stored.
	h.checkAck(h.put(seqID, 2, h.bundle(1), h.bundle(2), h.bundle(4)), 2, h.blocks(1, 2)...)
	h.checkHead(2)
	// Mini-blocks signed by another key.
	h.checkAck(h.put(seqID, 3, h.rebuilt(3, false, func(int, *chain.MiniBlock) {})), 2)
	// Undecodable bytes where a bundle should be.
	h.checkAck(h.put(seqID, 4, []byte("junk")), 2)
	// A signed bundle that does not chain on the held one: its first
	// mini-block names another parent.
	unchained := h.rebuilt(3, true, func(i int, mb *chain.MiniBlock) {
		if i == 0 {
			mb.Header.ParentHash = common.Hash{1}
		}
	})
	h.checkAck(h.put(seqID, 5, unchained), 2)
	h.checkHead(2)
	if len(h.disk.commits) != 1 {
		t.Fatalf("%d commits, want 1", len(h.disk.commits))
	}
	if m := h.da.Metrics(); m.Stored != 2 || m.Refused != 2+1+1+1+1 {
		t.Fatalf("metrics %+v", m)
	}
	// The good block 3 is still taken.
	h.checkAck(h.put(seqID, 6, h.blocks(3, 4)...), 4, h.blocks(3, 4)...)
}

func TestPutsFromOthersAreIgnored(t *testing.T) {
	h := newHarness(t, nil)
	if ack := h.put("mallory", 1, h.blocks(1, 2)...); ack != nil {
		t.Fatalf("acked a put from mallory: %+v", ack)
	}
	h.checkHead(0)
	if len(h.disk.commits) != 0 {
		t.Fatal("wrote a put from mallory")
	}
	// An undecodable put is ignored too.
	h.da.OnMessage(seqID, chain.Frame(chain.FormatDAPutV1, []byte{0xc0}))
	if len(h.env.Sent) != 0 {
		t.Fatal("answered an undecodable put")
	}
	if m := h.da.Metrics(); m.Refused != 2 || m.Stored != 0 {
		t.Fatalf("metrics %+v", m)
	}
}

func TestServesMiniBlockRangesLikeAPeer(t *testing.T) {
	h := newHarness(t, nil)
	h.checkAck(h.put(seqID, 1, h.blocks(1, 4)...), 4, h.blocks(1, 4)...)
	resp := h.askRange(1, chain.MaxRangeCount)
	if resp.Head != blocks*perBlock || len(resp.MiniBlocks) != blocks*perBlock {
		t.Fatalf("head %d, %d mini-blocks", resp.Head, len(resp.MiniBlocks))
	}
	for i, raw := range resp.MiniBlocks {
		if !bytes.Equal(raw, h.s.Raw(i+1)) {
			t.Fatalf("mini-block %d differs from what the sequencer published", i+1)
		}
	}
	// The same answer as the sequencer's own ledger gives (a peer).
	for _, req := range []*chain.RangeRequest{{ID: 3, From: 5, Count: 4}, {ID: 4, From: 11, Count: 10}, {ID: 5, From: 0, Count: 3}} {
		got := h.askRange(req.From, req.Count)
		want := h.s.Seq.Ledger().View().ServeRange(req, 4<<20)
		if len(got.MiniBlocks) != len(want.MiniBlocks) {
			t.Fatalf("from %d: %d mini-blocks, the sequencer serves %d", req.From, len(got.MiniBlocks), len(want.MiniBlocks))
		}
		for i := range got.MiniBlocks {
			if !bytes.Equal(got.MiniBlocks[i], want.MiniBlocks[i]) {
				t.Fatalf("from %d: mini-block %d differs from the sequencer's", req.From, i)
			}
		}
	}
	// Past the head: none, and the head.
	if resp := h.askRange(13, 5); len(resp.MiniBlocks) != 0 || resp.Head != 12 {
		t.Fatalf("past the head: %d mini-blocks, head %d", len(resp.MiniBlocks), resp.Head)
	}
	if resp := h.askRange(1<<64-3, 200); len(resp.MiniBlocks) != 0 {
		t.Fatal("served a wrapping range")
	}
	// Byte bounds: at least one, then as many as fit.
	size := len(h.s.Raw(1)) + len(h.s.Raw(2))
	h2 := newHarness(t, func(c *da.Config) { c.MaxServeBytes = size })
	h2.put(seqID, 1, h2.blocks(1, 2)...)
	if resp := h2.askRange(1, 10); len(resp.MiniBlocks) != 2 {
		t.Fatalf("%d mini-blocks within %d bytes, want 2", len(resp.MiniBlocks), size)
	}
	h3 := newHarness(t, func(c *da.Config) { c.MaxServeBytes = 1 })
	h3.put(seqID, 1, h3.blocks(1, 1)...)
	if resp := h3.askRange(2, 10); len(resp.MiniBlocks) != 1 || !bytes.Equal(resp.MiniBlocks[0], h.s.Raw(2)) {
		t.Fatalf("%d mini-blocks within 1 byte, want 1", len(resp.MiniBlocks))
	}
	if m := h3.da.Metrics(); m.Served != 1 {
		t.Fatalf("metrics %+v", m)
	}
}

func TestServesBlockRanges(t *testing.T) {
	h := newHarness(t, nil)
	h.put(seqID, 1, h.blocks(1, 4)...)
	resp := h.askBlocks(2, chain.MaxBlockRange)
	if resp.Head != 4 || len(resp.Bundles) != 3 {
		t.Fatalf("head %d, %d bundles", resp.Head, len(resp.Bundles))
	}
	for i, raw := range resp.Bundles {
		if !bytes.Equal(raw, h.bundle(i+2)) {
			t.Fatalf("bundle %d differs", i+2)
		}
		b, err := chain.DecodeBlockBundle(raw)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Open(chain.Keys(h.s.Sequencer())); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ from, count, want uint64 }{{0, 2, 0}, {5, 3, 0}, {4, 1, 1}, {1, 2, 2}} {
		if resp := h.askBlocks(c.from, c.count); uint64(len(resp.Bundles)) != c.want || resp.Head != 4 {
			t.Fatalf("from %d count %d: %d bundles, head %d; want %d", c.from, c.count, len(resp.Bundles), resp.Head, c.want)
		}
	}
	// Byte bounds.
	size := len(h.bundle(1)) + len(h.bundle(2)) + len(h.bundle(3)) - 1
	h2 := newHarness(t, func(c *da.Config) { c.MaxServeBytes = size })
	h2.put(seqID, 1, h2.blocks(1, 4)...)
	if resp := h2.askBlocks(1, 4); len(resp.Bundles) != 2 {
		t.Fatalf("%d bundles within %d bytes, want 2", len(resp.Bundles), size)
	}
	h3 := newHarness(t, func(c *da.Config) { c.MaxServeBytes = 10 })
	h3.put(seqID, 1, h3.blocks(1, 4)...)
	if resp := h3.askBlocks(3, 4); len(resp.Bundles) != 1 || !bytes.Equal(resp.Bundles[0], h.bundle(3)) {
		t.Fatalf("%d bundles within 10 bytes, want 1", len(resp.Bundles))
	}
}

func TestServesBlobsByHash(t *testing.T) {
	h := newHarness(t, nil)
	h.put(seqID, 1, h.blocks(1, 2)...)
	mb5 := h.s.Raw(5)
	resp := h.askBlobs(commitment(h.bundle(2)), common.Hash{1}, crypto.Keccak256Hash(mb5), commitment(h.bundle(3)))
	if len(resp.Blobs) != 2 || !bytes.Equal(resp.Blobs[0], h.bundle(2)) || !bytes.Equal(resp.Blobs[1], mb5) {
		t.Fatalf("%d blobs, want bundle 2 and mini-block 5", len(resp.Blobs))
	}
	if resp := h.askBlobs(common.Hash{2}); len(resp.Blobs) != 0 {
		t.Fatal("served a blob nobody stored")
	}
	// Byte bounds.
	h2 := newHarness(t, func(c *da.Config) { c.MaxServeBytes = 10 })
	h2.put(seqID, 1, h2.blocks(1, 2)...)
	if resp := h2.askBlobs(common.Hash{1}, commitment(h.bundle(1)), commitment(h.bundle(2))); len(resp.Blobs) != 1 || !bytes.Equal(resp.Blobs[0], h.bundle(1)) {
		t.Fatalf("%d blobs within 10 bytes, want 1", len(resp.Blobs))
	}
}

func TestRestartRecoversTheHead(t *testing.T) {
	h := newHarness(t, nil)
	h.start() // an empty disk is an empty store
	h.checkHead(0)
	h.put(seqID, 1, h.blocks(1, 2)...)
	h.start()
	h.checkHead(2)
	// What it holds is served, and the next block chains on.
	if resp := h.askRange(1, 100); len(resp.MiniBlocks) != 6 || resp.Head != 6 {
		t.Fatalf("after restart: %d mini-blocks, head %d", len(resp.MiniBlocks), resp.Head)
	}
	h.checkAck(h.put(seqID, 2, h.blocks(2, 3)...), 3, h.blocks(2, 3)...)
	h.start()
	h.checkHead(3)
	// A corrupt head record is rebuilt from the block index.
	b := h.disk.Disk.NewBatch()
	b.Set([]byte("da/head"), []byte{0xa7, 1, 2, 3, 4, 5})
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	h.start()
	h.checkHead(3)
	h.checkAck(h.put(seqID, 3, h.bundle(4)), 4, h.bundle(4))
	// A disk that cannot be read fails the start.
	h.disk.failGet = true
	d, _ := da.New(h.cfg)
	if err := d.Start(nodetest.NewEnv("da", h.disk, nodetest.T0)); !errors.Is(err, errDisk) {
		t.Fatalf("start over a failing disk: %v", err)
	}
}

func TestCorruptRecordsAreNotServed(t *testing.T) {
	h := newHarness(t, nil)
	h.put(seqID, 1, h.blocks(1, 3)...)
	// Mini-block 5's blob rots on disk.
	mb5 := crypto.Keccak256Hash(h.s.Raw(5))
	rotten := bytes.Clone(h.s.Raw(5))
	rotten[len(rotten)/2] ^= 1
	b := h.disk.Disk.NewBatch()
	b.Set(append([]byte("da/blob/"), mb5[:]...), rotten)
	// And block 3's index entry.
	b.Set(binary.BigEndian.AppendUint64([]byte("da/blk/"), 3), []byte{0xa8, 0, 0, 0, 0})
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	// A range stops before it.
	if resp := h.askRange(1, 100); len(resp.MiniBlocks) != 4 || resp.Head != 9 {
		t.Fatalf("%d mini-blocks served, head %d; want 4 (up to the corrupt one)", len(resp.MiniBlocks), resp.Head)
	}
	if resp := h.askRange(5, 3); len(resp.MiniBlocks) != 0 {
		t.Fatal("served a corrupt mini-block")
	}
	if resp := h.askRange(6, 3); len(resp.MiniBlocks) != 3 {
		t.Fatalf("after the corrupt one: %d mini-blocks", len(resp.MiniBlocks))
	}
	// A get leaves it out and goes on.
	if resp := h.askBlobs(mb5, commitment(h.bundle(1))); len(resp.Blobs) != 1 || !bytes.Equal(resp.Blobs[0], h.bundle(1)) {
		t.Fatalf("%d blobs, want only bundle 1", len(resp.Blobs))
	}
	// The block range stops at block 3's broken index entry.
	if resp := h.askBlocks(1, 3); len(resp.Bundles) != 2 {
		t.Fatalf("%d bundles, want 2", len(resp.Bundles))
	}
	// A disk that fails every read: answers with nothing, no panic.
	h.disk.failGet = true
	if resp := h.askRange(1, 10); len(resp.MiniBlocks) != 0 || resp.Head != 9 {
		t.Fatalf("failing disk: %d mini-blocks", len(resp.MiniBlocks))
	}
	if resp := h.askBlocks(1, 10); len(resp.Bundles) != 0 {
		t.Fatal("failing disk: served bundles")
	}
	if resp := h.askBlobs(commitment(h.bundle(1))); len(resp.Blobs) != 0 {
		t.Fatal("failing disk: served blobs")
	}
	// A put of held blocks cannot be checked against them: acked with
	// nothing held.
	h.checkAck(h.put(seqID, 2, h.bundle(1)), 3)
}

func TestNoClientAPIAndJunkMessages(t *testing.T) {
	h := newHarness(t, nil)
	req := &nodetest.Req{Call: (&api.Call{Method: api.MethodHead}).Encode()}
	h.da.OnRequest(req)
	if len(req.Answers) != 1 {
		t.Fatalf("%d answers", len(req.Answers))
	}
	a, err := api.DecodeAnswer(req.Answers[0])
	if err != nil || a.Err == nil || a.Err.Kind != api.KindUnknownMethod {
		t.Fatalf("answer %+v, %v; want an unknown-method error", a, err)
	}
	// Junk and malformed requests get no answer and change nothing.
	for _, msg := range [][]byte{nil, {0xff}, chain.Frame(chain.FormatRangeRequestV1, []byte{0xc0}),
		(&chain.RangeRequest{ID: 1, From: 1, Count: 0}).Encode(), (&chain.BlockRangeRequest{ID: 1, Count: 0}).Encode(),
		(&chain.DAGet{ID: 1}).Encode(), (&chain.DAAck{ID: 1}).Encode()} {
		h.da.OnMessage("full", msg)
	}
	if len(h.env.Sent) != 0 || len(h.disk.commits) != 0 {
		t.Fatalf("answered junk: %d sent, %d commits", len(h.env.Sent), len(h.disk.commits))
	}
}
