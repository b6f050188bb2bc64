package node

import (
	"slices"
	"strings"
	"testing"
)

// syncEnv is an Env whose only working part is Sync: it hands out ids.
type syncEnv struct {
	Env
	last SyncID
}

func (e *syncEnv) Sync() SyncID { e.last++; return e.last }

func mustBreak(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		r := recover()
		inv, ok := r.(*Invariant)
		if !ok || !strings.Contains(inv.Msg, want) {
			t.Fatalf("got %v, want an invariant saying %q", r, want)
		}
	}()
	f()
}

// Continuations run only once their sync completed, in the order their
// syncs were asked for; a completion covers every sync before it.
func TestOutboxReleasesInOrderOnCompletion(t *testing.T) {
	env := &syncEnv{}
	o := NewOutbox(env, 4)
	var got []string
	a := o.Sync(func() { got = append(got, "a") })
	b := o.Sync(func() { got = append(got, "b") })
	c := o.Sync(func() { got = append(got, "c") })
	if len(got) != 0 || o.InFlight() != 3 {
		t.Fatalf("before any completion: %v, %d in flight", got, o.InFlight())
	}
	o.Synced(a)
	if !slices.Equal(got, []string{"a"}) {
		t.Fatalf("after %d: %v", a, got)
	}
	o.Synced(c) // covers b
	if !slices.Equal(got, []string{"a", "b", "c"}) || o.InFlight() != 0 || o.Durable() != c {
		t.Fatalf("after %d: %v, %d in flight, durable %d", c, got, o.InFlight(), o.Durable())
	}
	o.Synced(b)     // late: nothing
	o.Synced(c + 5) // never asked (another incarnation's): nothing
	if len(got) != 3 || o.Durable() != c {
		t.Fatalf("a stale or unknown completion changed things: %v, durable %d", got, o.Durable())
	}
}

// The bound on syncs in flight is an invariant: a role checks Full before
// it commits more.
func TestOutboxBound(t *testing.T) {
	o := NewOutbox(&syncEnv{}, 2)
	o.Sync(nil)
	o.Sync(nil)
	if !o.Full() {
		t.Fatal("two syncs in flight with a bound of 2 is not full")
	}
	mustBreak(t, "limit", func() { o.Sync(nil) })
}

// Then waits for every sync asked so far, without asking for one; with
// none in flight it runs at once.
func TestOutboxThen(t *testing.T) {
	o := NewOutbox(&syncEnv{}, 2)
	var got []string
	o.Then(func() { got = append(got, "now") })
	id := o.Sync(func() { got = append(got, "sync") })
	o.Then(func() { got = append(got, "then") })
	if !slices.Equal(got, []string{"now"}) || o.InFlight() != 1 {
		t.Fatalf("%v, %d in flight", got, o.InFlight())
	}
	o.Synced(id)
	if !slices.Equal(got, []string{"now", "sync", "then"}) {
		t.Fatalf("%v", got)
	}
}

// A continuation may ask for another sync (a fullnode applies what it had
// buffered); a completion heard inside a continuation breaks an invariant.
func TestOutboxContinuations(t *testing.T) {
	env := &syncEnv{}
	o := NewOutbox(env, 4)
	var second SyncID
	first := o.Sync(func() { second = o.Sync(nil) })
	o.Synced(first)
	if second != first+1 || o.InFlight() != 1 {
		t.Fatalf("second sync %d, %d in flight", second, o.InFlight())
	}
	third := o.Sync(func() { o.Synced(second + 1) })
	mustBreak(t, "from inside a continuation", func() { o.Synced(third) })
}

// Ids must grow: an Env that hands one out twice is caught.
func TestOutboxIDsGrow(t *testing.T) {
	env := &syncEnv{last: 5}
	o := NewOutbox(env, 4)
	o.Sync(nil)
	env.last = 3
	mustBreak(t, "ids must grow", func() { o.Sync(nil) })
}
