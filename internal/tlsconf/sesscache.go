package tlsconf

import (
	"bytes"
	"container/list"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"sync"
	"time"
)

// sessionBlock is the size HAProxy gives a block of tune.ssl.cachesize:
// one holds a session without peer certificate; a session with client
// certificates takes several.
const sessionBlock = 200

// sessionIDLen is the length of the handle a client gets for a cached
// session: as long as the largest TLS session ID, and random, so that it
// says nothing about the session.
const sessionIDLen = 32

// SessionCache is the stateful session cache of the binds with
// "no-tls-tickets" (HAProxy's tune.ssl.cachesize and tune.ssl.lifetime).
// crypto/tls resumes sessions from tickets only; with no-tls-tickets the
// session state stays here and the ticket a client gets is only a random
// handle to it, as OpenSSL's stateful TLS 1.3 tickets are. Such a ticket
// carries no secret encrypted under a ticket key, which is why HAProxy
// documents no-tls-tickets as keeping forward secrecy. One cache serves all
// the binds of a configuration, as HAProxy's is global; a session resumes
// only on the bind (crt-list lines included) that made it.
type SessionCache struct {
	blocks   int
	lifetime time.Duration
	now      func() time.Time

	mu   sync.Mutex
	used int
	byID map[string]*list.Element
	lru  *list.List // of *cachedSession, most recently used first
}

type cachedSession struct {
	id      string
	scope   *sessionScope
	state   []byte
	created time.Time
	blocks  int
}

// sessionScope tells the sessions of one bind from those of the others.
type sessionScope struct{ _ byte }

// NewSessionCache returns a cache of the given number of blocks whose
// sessions resume for lifetime at most; nil when blocks is 0, which
// disables stateful resumption as tune.ssl.cachesize 0 does.
func NewSessionCache(blocks int, lifetime time.Duration) *SessionCache {
	if blocks <= 0 || lifetime <= 0 {
		return nil
	}
	return &SessionCache{blocks: blocks, lifetime: lifetime, now: time.Now,
		byID: make(map[string]*list.Element), lru: list.New()}
}

// Len is how many sessions the cache holds.
func (c *SessionCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// attach makes cfg, a configuration of the bind of scope, resume sessions
// from the cache instead of from self-contained tickets.
func (c *SessionCache) attach(cfg *tls.Config, scope *sessionScope) {
	cfg.SessionTicketsDisabled = false
	cfg.WrapSession = func(_ tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		b, err := ss.Bytes()
		if err != nil {
			return nil, err
		}
		id := make([]byte, sessionIDLen)
		rand.Read(id)
		c.put(string(id), scope, b)
		return id, nil
	}
	cfg.UnwrapSession = func(id []byte, _ tls.ConnectionState) (*tls.SessionState, error) {
		b := c.get(string(id), scope)
		if b == nil {
			// Unknown, expired, evicted or another bind's: a full
			// handshake.
			return nil, nil
		}
		ss, err := tls.ParseSessionState(b)
		if err != nil {
			return nil, nil
		}
		return ss, nil
	}
}

func (c *SessionCache) put(id string, scope *sessionScope, state []byte) {
	n := max(1, (len(state)+sessionBlock-1)/sessionBlock)
	if n > c.blocks {
		// The client gets a handle that resumes nothing.
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.used+n > c.blocks {
		c.remove(c.lru.Back())
	}
	e := &cachedSession{id: id, scope: scope, state: state, created: c.now(), blocks: n}
	c.byID[id] = c.lru.PushFront(e)
	c.used += n
}

func (c *SessionCache) get(id string, scope *sessionScope) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byID[id]
	if !ok {
		return nil
	}
	e := el.Value.(*cachedSession)
	if e.scope != scope {
		return nil
	}
	if c.now().Sub(e.created) >= c.lifetime {
		c.remove(el)
		return nil
	}
	c.lru.MoveToFront(el)
	return e.state
}

func (c *SessionCache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*cachedSession)
	delete(c.byID, e.id)
	c.used -= e.blocks
}

// lifeTag marks the creation time a bind's self-contained tickets carry in
// their session's Extra.
const lifeTag = "bulwark-created:"

// limitTicketLifetime makes the tickets of cfg, a configuration of a bind
// with tickets, resume for life at most (tune.ssl.lifetime, which OpenSSL
// applies to ticket sessions as to cached ones; crypto/tls alone accepts a
// ticket for 7 days). Tickets are sealed with keys' ticket keys: one bind's
// configurations (crt-list lines included) share them.
func limitTicketLifetime(cfg, keys *tls.Config, life time.Duration, now func() time.Time) {
	cfg.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		stamp := binary.BigEndian.AppendUint64([]byte(lifeTag), uint64(now().UnixMilli()))
		ss.Extra = append(ss.Extra, stamp)
		return keys.EncryptTicket(cs, ss)
	}
	cfg.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := keys.DecryptTicket(identity, cs)
		if ss == nil || err != nil {
			return ss, err
		}
		for _, e := range ss.Extra {
			if s, ok := bytes.CutPrefix(e, []byte(lifeTag)); ok && len(s) == 8 {
				created := time.UnixMilli(int64(binary.BigEndian.Uint64(s)))
				if now().Sub(created) < life {
					return ss, nil
				}
			}
		}
		// Too old, or sealed without a creation time: a full handshake.
		return nil, nil
	}
}
