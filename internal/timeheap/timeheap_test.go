package timeheap

import (
	"math/rand"
	"sort"
	"testing"
	"time"
)

type item struct {
	at  time.Time
	idx int
}

func (it *item) HeapDeadline() time.Time { return it.at }
func (it *item) SetHeapIndex(i int)      { it.idx = i }

// A random mix of pushes, removals and deadline changes must always pop
// in deadline order and keep every entry's index true.
func TestHeapOrderAndIndexes(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	base := time.Unix(0, 0)
	var h Heap[*item]
	live := map[*item]bool{}
	check := func() {
		for i, e := range h.es {
			if e.idx != i {
				t.Fatalf("entry at %d says index %d", i, e.idx)
			}
		}
	}
	for round := 0; round < 2000; round++ {
		switch op := r.Intn(4); {
		case op <= 1 || len(live) == 0:
			it := &item{at: base.Add(time.Duration(r.Intn(1000)))}
			h.Push(it)
			live[it] = true
		case op == 2:
			for it := range live {
				if h.Remove(it.idx) != it || it.idx != -1 {
					t.Fatal("Remove took another entry or left its index")
				}
				delete(live, it)
				break
			}
		default:
			for it := range live {
				it.at = base.Add(time.Duration(r.Intn(1000)))
				h.Fix(it.idx)
				break
			}
		}
		check()
	}
	var want []time.Time
	for it := range live {
		want = append(want, it.at)
	}
	sort.Slice(want, func(i, j int) bool { return want[i].Before(want[j]) })
	for i, w := range want {
		if h.Peek().at != w {
			t.Fatalf("pop %d: peek %v, want %v", i, h.Peek().at, w)
		}
		if got := h.Pop(); !got.at.Equal(w) || got.idx != -1 {
			t.Fatalf("pop %d: got %v (index %d), want %v", i, got.at, got.idx, w)
		}
	}
	if h.Len() != 0 {
		t.Fatalf("%d entries left", h.Len())
	}
}
