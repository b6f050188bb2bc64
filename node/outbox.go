package node

// Outbox is how a node lets out what depends on a write only once the
// write is durable: receipts, publications, attestations, acknowledgements,
// and the read views clients are served from.
//
// A role commits its batch to the Disk, then calls Sync with what must
// happen once the batch is durable: the continuation. Outbox asks the Env
// for a sync and keeps the continuation until the sync's completion comes
// back (the role's OnSynced hands it to Synced). Continuations run in the
// order their syncs were asked for, never before. So the order of
// statements in a role cannot release an output early: an output that
// depends on a write is only ever produced inside a continuation.
//
// Several syncs may be in flight (group commit): a sequencer executes the
// next mini-block while the previous ones sync. Their number is bounded by
// the Outbox's limit; a role checks Full before it commits more, and
// decides what waiting means for it.
//
// A crash takes the Outbox with it: whatever was waiting never leaves the
// node, which is what makes it safe. A role that reopens its disk in the
// same process (after a disk error) keeps its Outbox: the syncs in flight
// still complete, and their continuations still run.
type Outbox struct {
	env     Env
	limit   int
	waiting []waiting // ascending by id
	done    SyncID    // the newest completed sync
	asked   SyncID    // the newest sync asked for
	running bool      // Synced is running continuations
}

type waiting struct {
	id   SyncID
	then func()
}

// DefaultMaxInFlight is the default bound on syncs in flight.
const DefaultMaxInFlight = 64

// NewOutbox returns an Outbox over env that allows at most limit syncs in
// flight (DefaultMaxInFlight if limit ≤ 0).
func NewOutbox(env Env, limit int) *Outbox {
	if limit <= 0 {
		limit = DefaultMaxInFlight
	}
	return &Outbox{env: env, limit: limit}
}

// Sync asks for everything committed so far to be made durable, and keeps
// then (nil: nothing) to run once it is. It returns the sync's id. Asking
// while Full breaks the Outbox's bound: the caller must check Full first.
func (o *Outbox) Sync(then func()) SyncID {
	Assert(len(o.waiting) < o.limit, "outbox: a sync asked for with %d in flight, the limit", len(o.waiting))
	id := o.env.Sync()
	Assert(id > o.asked, "outbox: sync id %d after %d: ids must grow", id, o.asked)
	o.asked = id
	o.waiting = append(o.waiting, waiting{id: id, then: then})
	return id
}

// Then runs fn once every sync asked for so far has completed: with the
// newest one's continuations, or at once when none is in flight. It adds
// no sync, so it does not count against the bound: what fn lets out must
// depend only on writes already synced or covered by a sync in flight.
func (o *Outbox) Then(fn func()) {
	if len(o.waiting) == 0 {
		fn()
		return
	}
	last := &o.waiting[len(o.waiting)-1]
	if prev := last.then; prev != nil {
		last.then = func() { prev(); fn() }
	} else {
		last.then = fn
	}
}

// Synced takes the completion of sync id (the role's OnSynced): every
// continuation of a sync up to id runs, in order. An id never asked for is
// ignored (a completion for an earlier incarnation of the node).
func (o *Outbox) Synced(id SyncID) {
	Assert(!o.running, "outbox: Synced(%d) from inside a continuation", id)
	if id > o.asked || id <= o.done {
		return
	}
	o.done = id
	o.running = true
	defer func() { o.running = false }()
	for len(o.waiting) > 0 && o.waiting[0].id <= id {
		w := o.waiting[0]
		o.waiting[0] = waiting{}
		o.waiting = o.waiting[1:]
		if w.then != nil {
			w.then()
		}
	}
}

// InFlight is the number of syncs asked for and not yet completed.
func (o *Outbox) InFlight() int { return len(o.waiting) }

// Full reports whether the bound on syncs in flight is reached.
func (o *Outbox) Full() bool { return len(o.waiting) >= o.limit }

// Durable is the newest sync completed.
func (o *Outbox) Durable() SyncID { return o.done }

// Asked is the newest sync asked for.
func (o *Outbox) Asked() SyncID { return o.asked }
