package sim

import (
	"container/heap"
	"time"
)

// event is something that happens at a virtual time. Events at the same
// time run in the order they were scheduled (seq), so the order never
// depends on anything but the run itself.
type event struct {
	at  time.Duration
	seq uint64
	fn  func()
}

type eventHeap []*event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

// queue is the world's single event queue.
type queue struct {
	h   eventHeap
	seq uint64
}

func (q *queue) push(at time.Duration, fn func()) {
	q.seq++
	heap.Push(&q.h, &event{at: at, seq: q.seq, fn: fn})
}

func (q *queue) pop() *event { return heap.Pop(&q.h).(*event) }

func (q *queue) peek() *event {
	if len(q.h) == 0 {
		return nil
	}
	return q.h[0]
}

func (q *queue) len() int { return len(q.h) }
