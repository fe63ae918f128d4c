package tlsconf

import (
	"strings"
	"testing"
	"time"
)

// The cache counts HAProxy's ~200-byte blocks, lets the least recently used
// sessions go first, forgets a session after its lifetime, and gives a
// session back only to its own bind.
func TestSessionCache(t *testing.T) {
	now := time.Unix(1000, 0)
	c := NewSessionCache(4, 10*time.Second)
	c.now = func() time.Time { return now }
	a, b := &sessionScope{}, &sessionScope{}
	small, big := []byte("s"), []byte(strings.Repeat("x", 2*sessionBlock+1))
	c.put("1", a, small)
	c.put("2", a, small)
	if c.get("1", a) == nil {
		t.Fatal("session 1 not found")
	}
	// 3 blocks: session 2, least recently used, leaves; 1 stays.
	c.put("3", a, big)
	if c.get("2", a) != nil || c.get("1", a) == nil || c.get("3", a) == nil {
		t.Fatalf("after eviction: 1 %v 2 %v 3 %v", c.get("1", a) != nil, c.get("2", a) != nil, c.get("3", a) != nil)
	}
	if c.used != 4 || c.Len() != 2 {
		t.Fatalf("used %d blocks, %d sessions", c.used, c.Len())
	}
	if c.get("1", b) != nil {
		t.Fatal("another bind resumed session 1")
	}
	// Larger than the whole cache: not kept, nothing evicted.
	c.put("4", a, []byte(strings.Repeat("x", 5*sessionBlock)))
	if c.get("4", a) != nil || c.Len() != 2 {
		t.Fatal("a session larger than the cache was kept")
	}
	now = now.Add(10 * time.Second)
	if c.get("1", a) != nil {
		t.Fatal("session 1 resumed after its lifetime")
	}
	if c.Len() != 1 || c.used != 3 {
		t.Fatalf("expired session kept: %d sessions, %d blocks", c.Len(), c.used)
	}
	if NewSessionCache(0, time.Minute) != nil {
		t.Fatal("tune.ssl.cachesize 0 made a cache")
	}
}
