package register

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/meganode/meganode/node"
)

// Message and call encodings: a tag byte, then fixed-size fields.
const (
	msgReplicate = 'P' // primary → backup: seq, value
	msgAck       = 'A' // backup → primary: seq

	callWrite = 'W' // value
	callRead  = 'R'

	ansOK    = 'K' // write applied
	ansValue = 'V' // seq, value
	ansError = 'E' // message; the call had no effect
)

// retransmitEvery is how often the primary resends the latest write to a
// backup that has not acknowledged it.
const retransmitEvery = 50 * time.Millisecond

const timerRetransmit node.TimerID = 1

// record is the durable form of one write: key "reg/<seq>", value
// crc32c(seq‖value) ‖ seq ‖ value.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func recordKey(seq uint64) []byte { return binary.BigEndian.AppendUint64([]byte("reg/"), seq) }

func encodeRecord(seq uint64, value int64) []byte {
	body := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, seq), uint64(value))
	return append(binary.BigEndian.AppendUint32(nil, crc32.Checksum(body, castagnoli)), body...)
}

func decodeRecord(b []byte) (seq uint64, value int64, ok bool) {
	if len(b) != 20 || binary.BigEndian.Uint32(b) != crc32.Checksum(b[4:], castagnoli) {
		return 0, 0, false
	}
	return binary.BigEndian.Uint64(b[4:]), int64(binary.BigEndian.Uint64(b[12:])), true
}

// replica is what primary and backups share: the latest write, kept on
// disk, and the latest one known durable, which is what leaves the node.
type replica struct {
	env      node.Env
	out      *node.Outbox
	seq      uint64
	value    int64
	durSeq   uint64
	durValue int64
	ready    bool // what recover found is durable
}

// recover loads the newest intact record. A record that fails its checksum
// can only be the torn tail of a crash, which was never synced and so never
// acknowledged: it is skipped.
func (r *replica) recover(env node.Env) error {
	r.env = env
	r.out = node.NewOutbox(env, 0)
	defer func() {
		// What a killed process left may be unsynced: it leaves once a sync
		// says it is durable.
		seq, value := r.seq, r.value
		r.out.Sync(func() { r.durable(seq, value); r.ready = true })
	}()
	return env.Disk().Iterate([]byte("reg/"), func(k, v []byte) error {
		seq, value, ok := decodeRecord(v)
		if !ok || !equalKey(k, recordKey(seq)) {
			env.Log().Warn("skipping a damaged record", "key", fmt.Sprintf("%x", k))
			return nil
		}
		if seq >= r.seq {
			r.seq, r.value = seq, value
		}
		return nil
	})
}

func equalKey(a, b []byte) bool { return string(a) == string(b) }

// durable records that write seq is durable.
func (r *replica) durable(seq uint64, value int64) {
	if seq >= r.durSeq {
		r.durSeq, r.durValue = seq, value
	}
}

// OnSynced implements node.Node.
func (r *replica) OnSynced(id node.SyncID) { r.out.Synced(id) }

// store writes a record and drops the one it replaces, in one batch.
func (r *replica) store(seq uint64, value int64) error {
	b := r.env.Disk().NewBatch()
	r.batchStore(b, seq, value)
	return b.Commit()
}

func (r *replica) batchStore(b node.Batch, seq uint64, value int64) {
	b.Set(recordKey(seq), encodeRecord(seq, value))
	if r.seq > 0 {
		b.Delete(recordKey(r.seq))
	}
}

// Primary is the register's primary.
//
// A client repeats a call that timed out, and the network may deliver a
// call twice, so the primary must apply each write once: a write's value
// carries its client's id and a per-client counter, and the primary keeps,
// durably and in the same batch as the write, the highest counter it
// applied for each client. A write at or below it is answered OK again
// without being applied again.
type Primary struct {
	replica
	backups []node.NodeID
	acked   map[node.NodeID]uint64
	applied map[uint32]uint32 // client id → highest counter applied
	// syncBeforeAck is true in the correct primary. Only this package's
	// tests can build one without it.
	syncBeforeAck bool
}

// NewPrimary returns a primary replicating to backups.
func NewPrimary(backups []node.NodeID) *Primary {
	return &Primary{backups: backups, acked: map[node.NodeID]uint64{}, applied: map[uint32]uint32{}, syncBeforeAck: true}
}

func appliedKey(client uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte("applied/"), client)
}

// Start implements node.Node.
func (p *Primary) Start(env node.Env) error {
	if err := p.recover(env); err != nil {
		return fmt.Errorf("primary: recover: %w", err)
	}
	err := env.Disk().Iterate([]byte("applied/"), func(k, v []byte) error {
		client, counter, ok := decodeApplied(k, v)
		if !ok {
			env.Log().Warn("skipping a damaged record", "key", fmt.Sprintf("%x", k))
			return nil
		}
		p.applied[client] = counter
		return nil
	})
	if err != nil {
		return fmt.Errorf("primary: recover: %w", err)
	}
	env.After(retransmitEvery, timerRetransmit)
	return nil
}

// The applied record: crc32c(counter) ‖ counter.
func encodeApplied(counter uint32) []byte {
	c := binary.BigEndian.AppendUint32(nil, counter)
	return append(binary.BigEndian.AppendUint32(nil, crc32.Checksum(c, castagnoli)), c...)
}

func decodeApplied(k, v []byte) (client, counter uint32, ok bool) {
	if len(k) != len("applied/")+4 || len(v) != 8 || binary.BigEndian.Uint32(v) != crc32.Checksum(v[4:], castagnoli) {
		return 0, 0, false
	}
	return binary.BigEndian.Uint32(k[len("applied/"):]), binary.BigEndian.Uint32(v[4:]), true
}

// OnRequest implements node.Node.
func (p *Primary) OnRequest(req node.Request) {
	body := req.Body()
	switch {
	case len(body) == 9 && body[0] == callWrite:
		value := int64(binary.BigEndian.Uint64(body[1:]))
		client, counter := uint32(uint64(value)>>32), uint32(value)
		if counter <= p.applied[client] {
			// A repeat of a write already applied: answered once what
			// applied it is durable (its sync may still be in flight).
			p.out.Then(func() { req.Respond([]byte{ansOK}) })
			return
		}
		if !p.ready || p.out.Full() {
			req.Respond(append([]byte{ansError}, "busy: retry"...))
			return
		}
		b := p.env.Disk().NewBatch()
		p.batchStore(b, p.seq+1, value)
		b.Set(appliedKey(client), encodeApplied(counter))
		if err := b.Commit(); err != nil {
			req.Respond(append([]byte{ansError}, err.Error()...))
			return
		}
		p.seq, p.value = p.seq+1, value
		p.applied[client] = counter
		seq := p.seq
		if !p.syncBeforeAck {
			p.durable(seq, value) // the bug: as if it were durable
			req.Respond([]byte{ansOK})
			p.replicate()
			return
		}
		p.out.Sync(func() {
			p.durable(seq, value)
			req.Respond([]byte{ansOK})
			p.replicate()
		})
	case len(body) == 1 && body[0] == callRead:
		if !p.ready {
			req.Respond(append([]byte{ansError}, "starting: retry"...))
			return
		}
		req.Respond(encodeValue(p.durSeq, p.durValue))
	default:
		req.Respond(append([]byte{ansError}, "malformed call"...))
	}
}

func encodeValue(seq uint64, value int64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64([]byte{ansValue}, seq), uint64(value))
}

func (p *Primary) replicate() {
	msg := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64([]byte{msgReplicate}, p.durSeq), uint64(p.durValue))
	for _, b := range p.backups {
		if p.acked[b] < p.durSeq {
			p.env.Send(b, msg)
		}
	}
}

// OnMessage implements node.Node.
func (p *Primary) OnMessage(from node.NodeID, msg []byte) {
	if len(msg) == 9 && msg[0] == msgAck {
		if seq := binary.BigEndian.Uint64(msg[1:]); seq > p.acked[from] {
			p.acked[from] = seq
		}
	}
}

// OnTimer implements node.Node.
func (p *Primary) OnTimer(node.TimerID) {
	p.replicate()
	p.env.After(retransmitEvery, timerRetransmit)
}

// Backup is one of the register's backups.
type Backup struct {
	replica
}

// Start implements node.Node.
func (b *Backup) Start(env node.Env) error {
	if err := b.recover(env); err != nil {
		return fmt.Errorf("backup: recover: %w", err)
	}
	return nil
}

// OnMessage implements node.Node.
func (b *Backup) OnMessage(from node.NodeID, msg []byte) {
	if len(msg) != 17 || msg[0] != msgReplicate {
		return
	}
	if b.out.Full() {
		return // the primary will send it again
	}
	seq, value := binary.BigEndian.Uint64(msg[1:]), int64(binary.BigEndian.Uint64(msg[9:]))
	if seq > b.seq {
		if err := b.store(seq, value); err != nil {
			return // the primary will send it again
		}
		b.seq, b.value = seq, value
	}
	// The ack goes once what it acknowledges is durable.
	ack, held := b.seq, b.value
	b.out.Sync(func() {
		b.durable(ack, held)
		b.env.Send(from, binary.BigEndian.AppendUint64([]byte{msgAck}, ack))
	})
}

// OnTimer implements node.Node.
func (b *Backup) OnTimer(node.TimerID) {}

// OnRequest implements node.Node: backups serve no calls.
func (b *Backup) OnRequest(req node.Request) {
	req.Respond(append([]byte{ansError}, "not the primary"...))
}

// State is what a replica holds, for checks.
func (r *replica) State() (seq uint64, value int64) { return r.seq, r.value }

// Durable is the newest write the replica knows to be durable.
func (r *replica) Durable() (seq uint64, value int64) { return r.durSeq, r.durValue }
