// Package cache is the small-object HTTP cache of HAProxy's "cache"
// sections: responses stored by "http-response cache-store" and delivered
// by "http-request cache-use", keyed by Host and request-target, with
// HAProxy 2.6's rules on what may be stored (rules.go).
//
// Entries live in memory and are lost on reload, as HAProxy's cache is
// lost with its process. They are immutable once inserted: a delivery
// reads an entry without a lock while another request replaces it.
package cache

import (
	"container/list"
	"sync"
	"time"

	"bulwark/internal/h1"
)

// Config is one "cache" section.
type Config struct {
	Name         string
	TotalMax     int64         // total-max-size, in bytes
	MaxObject    int64         // max-object-size: head and body, in bytes
	MaxAge       time.Duration // max-age: the longest an object is kept
	ProcessVary  bool
	MaxSecondary int // max-secondary-entries
}

// Entry is a stored response. Its fields are never written after Insert.
type Entry struct {
	Status  int
	Reason  []byte
	Headers []h1.Header // forwardable fields, without framing ones
	Body    []byte
	// Stored is when the entry was made; Age is the response's own Age
	// then. Expires bounds the delivery.
	Stored, Expires time.Time
	Age             time.Duration
	// ETag and LastModified are the validators, for conditional
	// requests; Date is the response's Date.
	ETag               []byte
	LastModified, Date time.Time

	// What the entry varies on: its content coding for Accept-Encoding
	// ("identity" for none), the request's Referer.
	varyAE, varyRef bool
	codings         []string
	referer         string

	key  string
	size int64
	elem *list.Element
}

// Cache holds the entries of one section.
type Cache struct {
	cfg Config
	now func() time.Time

	mu      sync.Mutex
	entries map[string][]*Entry // primary key -> variants (secondary keys)
	lru     list.List           // *Entry, most recently used at the front
	used    int64
	// Hits and Lookups count deliveries and tries, for "show cache" and
	// the stats.
	hits, lookups int64
}

// New makes an empty cache; now is the clock (time.Now when nil).
func New(cfg Config, now func() time.Time) *Cache {
	if now == nil {
		now = time.Now
	}
	return &Cache{cfg: cfg, now: now, entries: map[string][]*Entry{}}
}

// Config returns the section the cache was made from.
func (c *Cache) Config() Config { return c.cfg }

// AppendKey appends the primary key of a request to dst: its Host and
// its target.
func AppendKey(dst []byte, req *h1.Request) []byte {
	host, _ := h1.Get(req.Headers, "host")
	dst = append(dst, host...)
	dst = append(dst, 0)
	return append(dst, req.Target...)
}

// Key is AppendKey as a string.
func Key(req *h1.Request) string { return string(AppendKey(nil, req)) }

// Lookup returns a fresh entry for key that may answer req, or nil.
// Expired entries found on the way are dropped. key is not kept.
func (c *Cache) Lookup(key []byte, req *h1.Request) *Entry {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lookups++
	for _, e := range c.entries[string(key)] {
		if !now.Before(e.Expires) {
			c.remove(e)
			return c.lookupLocked(string(key), req, now)
		}
		if !e.matches(req) {
			continue
		}
		c.lru.MoveToFront(e.elem)
		c.hits++
		return e
	}
	return nil
}

// lookupLocked is Lookup's scan again after a removal changed the list.
func (c *Cache) lookupLocked(key string, req *h1.Request, now time.Time) *Entry {
	for _, e := range c.entries[key] {
		if now.Before(e.Expires) && e.matches(req) {
			c.lru.MoveToFront(e.elem)
			c.hits++
			return e
		}
	}
	return nil
}

// Insert stores e (from Prepare, with its body) under key, replacing the
// variant it stands for and evicting the least recently used entries
// until it fits. It reports whether the entry was stored: not when it is
// larger than max-object-size, or when the key already has
// max-secondary-entries other variants.
func (c *Cache) Insert(key string, e *Entry) bool {
	e.key = key
	secondary := secondaryOf(e)
	e.size = int64(len(e.Body)) + int64(len(e.Reason)) + 64
	for _, h := range e.Headers {
		e.size += int64(len(h.Name) + len(h.Value) + 4)
	}
	if e.size > c.cfg.MaxObject || e.size > c.cfg.TotalMax {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	variants := c.entries[key]
	for _, old := range variants {
		if secondaryOf(old) == secondary {
			c.remove(old)
			variants = c.entries[key]
			break
		}
	}
	if c.cfg.ProcessVary && len(variants) >= max(c.cfg.MaxSecondary, 1) {
		return false
	}
	for c.used+e.size > c.cfg.TotalMax {
		oldest := c.lru.Back()
		if oldest == nil {
			break
		}
		c.remove(oldest.Value.(*Entry))
	}
	e.elem = c.lru.PushFront(e)
	c.entries[key] = append(c.entries[key], e)
	c.used += e.size
	return true
}

func (c *Cache) remove(e *Entry) {
	vs := c.entries[e.key]
	for i, v := range vs {
		if v == e {
			vs = append(vs[:i:i], vs[i+1:]...)
			break
		}
	}
	if len(vs) == 0 {
		delete(c.entries, e.key)
	} else {
		c.entries[e.key] = vs
	}
	c.lru.Remove(e.elem)
	c.used -= e.size
}

// Invalidate drops every variant of key: a successful unsafe request
// (POST, PUT, DELETE…) changed what the URI names (RFC 9111 §4.4).
func (c *Cache) Invalidate(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range append([]*Entry(nil), c.entries[key]...) {
		c.remove(e)
	}
}

// Each calls fn for every entry, most recently used first, under the
// cache's lock: fn must not call the cache.
func (c *Cache) Each(fn func(key string, e *Entry)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for el := c.lru.Front(); el != nil; el = el.Next() {
		e := el.Value.(*Entry)
		fn(e.key, e)
	}
}

// Size is what the entry counts against total-max-size.
func (e *Entry) Size() int64 { return e.size }

// Stats is what "show cache" reports about a cache.
type Stats struct {
	Entries       int
	Used, Total   int64
	Hits, Lookups int64
}

// Stats returns the cache's counters.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Entries: c.lru.Len(), Used: c.used, Total: c.cfg.TotalMax, Hits: c.hits, Lookups: c.lookups}
}
