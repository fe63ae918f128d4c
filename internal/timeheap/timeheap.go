// Package timeheap is a min-heap of entries ordered by a deadline, where
// each entry keeps its own position so that it can be moved or removed
// in O(log n) when its deadline changes or it leaves early. The health
// checker's schedule and the parker's keep-alive deadlines are such sets.
package timeheap

import "time"

// Entry is an element of a Heap. SetHeapIndex tells it where the heap put
// it, -1 once it left; the heap calls it on every move.
type Entry interface {
	comparable
	HeapDeadline() time.Time
	SetHeapIndex(i int)
}

// Heap holds entries, earliest deadline first. The zero value is empty.
// It is not safe for concurrent use: its owners hold their own lock.
type Heap[E Entry] struct {
	es []E
}

// Len is the number of entries.
func (h *Heap[E]) Len() int { return len(h.es) }

// Peek returns the entry with the earliest deadline; the heap must not be
// empty.
func (h *Heap[E]) Peek() E { return h.es[0] }

// Push adds e.
func (h *Heap[E]) Push(e E) {
	h.es = append(h.es, e)
	i := len(h.es) - 1
	e.SetHeapIndex(i)
	h.up(i)
}

// Pop removes and returns the entry with the earliest deadline; the heap
// must not be empty.
func (h *Heap[E]) Pop() E { return h.Remove(0) }

// Remove takes out the entry at index i and returns it.
func (h *Heap[E]) Remove(i int) E {
	e := h.es[i]
	last := len(h.es) - 1
	if i != last {
		h.swap(i, last)
	}
	var zero E
	h.es[last] = zero
	h.es = h.es[:last]
	if i != last {
		if !h.down(i) {
			h.up(i)
		}
	}
	e.SetHeapIndex(-1)
	return e
}

// Fix puts the entry at index i back in order after its deadline changed.
func (h *Heap[E]) Fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h *Heap[E]) less(i, j int) bool {
	return h.es[i].HeapDeadline().Before(h.es[j].HeapDeadline())
}

func (h *Heap[E]) swap(i, j int) {
	h.es[i], h.es[j] = h.es[j], h.es[i]
	h.es[i].SetHeapIndex(i)
	h.es[j].SetHeapIndex(j)
}

func (h *Heap[E]) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

// down sifts i towards the leaves and says whether it moved.
func (h *Heap[E]) down(i int) bool {
	start, n := i, len(h.es)
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && h.less(r, c) {
			c = r
		}
		if !h.less(c, i) {
			break
		}
		h.swap(i, c)
		i = c
	}
	return i > start
}
