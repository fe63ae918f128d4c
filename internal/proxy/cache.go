package proxy

import (
	"fmt"
	"hash/fnv"
	"io"
	"strconv"
	"strings"
	"time"

	"bulwark/internal/cache"
	"bulwark/internal/compress"
	"bulwark/internal/h1"
)

// cacheState is the cache work of one request.
type cacheState struct {
	use *cache.Cache // the cache "cache-use" looked the request up in
	key []byte       // its key, in a buffer kept across requests
	hit *cache.Entry // the entry to deliver instead of a server's answer
	// hitName is set once a hit is being delivered (res.cache_hit).
	hitName string
	// age holds the Age field of a hit, so that delivering one
	// allocates nothing.
	ageName [3]byte
	age     [20]byte
	// store and entry are what "cache-store" prepared: the entry gets
	// the body as it is forwarded and goes in at its end.
	store *cache.Cache
	entry *cache.Entry
}

// CacheUse is "http-request cache-use": it computes the request's key (a
// later "cache-store" needs it, as in HAProxy) and looks for an entry the
// request may be answered with.
func (s *httpSession) CacheUse(name string) {
	c := s.fe.rt.caches[name]
	st := &s.m.cache
	if c == nil || st.hit != nil {
		return
	}
	req := &s.m.req
	st.use, st.key = c, cache.AppendKey(st.key[:0], req)
	if cache.Deliverable(req) {
		st.hit = c.Lookup(st.key, req)
	}
}

// CacheStore is "http-response cache-store": the response's fields are
// taken as they are now; the body follows as it is forwarded. Nothing is
// stored for a response that came from the cache, for a request that no
// "cache-use" keyed, or for a body longer than max-object-size.
func (s *httpSession) CacheStore(name string) {
	c := s.fe.rt.caches[name]
	st := &s.m.cache
	resp := &s.m.resp
	if c == nil || st.hitName != "" || st.use == nil || st.entry != nil {
		return
	}
	if m := string(s.m.req.Method); m != "GET" && m != "HEAD" && resp.Status < 400 {
		c.Invalidate(string(st.key))
		return
	}
	if resp.Body == h1.FramingClose || resp.Tunnel || (resp.Body == h1.FramingLength && resp.ContentLength > c.Config().MaxObject) {
		return
	}
	if e := c.Prepare(&s.m.req, resp.Status, resp.Reason, resp.Headers); e != nil {
		st.store, st.entry = c, e
	}
}

// CacheHit reports a response delivered from a cache.
func (s *httpSession) CacheHit() (bool, string) {
	if s.m == nil {
		return false, ""
	}
	return s.m.cache.hitName != "", s.m.cache.hitName
}

// keepBody adds forwarded body bytes to the entry being stored; an entry
// that grows past max-object-size is given up (the response still goes
// to the client whole).
func (st *cacheState) keepBody(b []byte) {
	if st.entry == nil {
		return
	}
	if int64(len(st.entry.Body)+len(b)) > st.store.Config().MaxObject {
		st.entry, st.store = nil, nil
		return
	}
	st.entry.Body = append(st.entry.Body, b...)
}

// commit stores the entry once its whole body went out.
func (st *cacheState) commit() {
	if st.entry != nil {
		st.store.Insert(string(st.key), st.entry)
		st.entry, st.store = nil, nil
	}
}

// storeBody forwards the server's body while keeping a copy for the
// cache, in the framing the head announced.
func (s *httpSession) storeBody(sc *srvConn, e *LogEntry) error {
	b := sc.rd.Body()
	cnt := &countingWriter{w: &s.tc}
	var out io.Writer = cnt
	var cw *h1.ChunkedWriter
	if b.Framing() == h1.FramingChunked {
		cw = &h1.ChunkedWriter{W: cnt}
		out = cw
	}
	defer func() { e.BytesOut += cnt.n }()
	for {
		n, err := b.Read(s.copyBuf)
		if n > 0 {
			s.m.cache.keepBody(s.copyBuf[:n])
			if b.Done() {
				// Stored before the client can see the end of the
				// response, so that its next request finds the entry.
				s.m.cache.commit()
			}
			if _, werr := out.Write(s.copyBuf[:n]); werr != nil {
				return clientWriteError(werr)
			}
		}
		if err == io.EOF {
			s.m.cache.commit()
			if cw != nil {
				if cw.Close(b.Trailers()) != nil {
					return errClientAborted
				}
			}
			return nil
		}
		if err != nil {
			return responseBodyError(err, e)
		}
	}
}

// serveFromCache answers the request with the entry "cache-use" found,
// without a server: a 304 when the request's validators match, else the
// stored response with its Age. The backend's and frontend's
// http-response rules run on it as on a server's response (res.cache_hit
// tells them apart), and compression applies as it would to the server's.
// The log names the server "<CACHE>".
func (s *httpSession) serveFromCache(be *backend, e *LogEntry) bool {
	st := &s.m.cache
	ent := st.hit
	req := &s.m.req
	resp := &s.m.resp
	st.hitName = st.use.Config().Name
	e.Server = "<CACHE>"
	age := ent.Age + time.Since(ent.Stored)
	resp.Major, resp.Minor, resp.Status, resp.Reason, resp.Tunnel = 1, 1, ent.Status, ent.Reason, false
	resp.Headers = append(resp.Headers[:0], ent.Headers...)
	st.ageName = [3]byte{'A', 'g', 'e'}
	resp.Headers = append(resp.Headers, h1.Header{Name: st.ageName[:], Value: strconv.AppendInt(st.age[:0], int64(age/time.Second), 10)})
	body := ent.Body
	if cache.NotModified(req, ent) {
		resp.Status, resp.Reason, body = 304, []byte("Not Modified"), nil
	}
	resp.Body, resp.ContentLength = h1.FramingLength, int64(len(body))
	if resp.Status == 304 {
		resp.Body = h1.FramingNone
	}
	e.Tr = 0
	if res, _, stop := s.responseRules(be); stop {
		s.reply(res, be.pages, e)
		return false
	}
	e.Status = resp.Status
	comp := s.m.comp
	if comp != compress.None && !compress.Eligible(s.m.compTypes, req, resp) {
		comp = compress.None
	}
	s.head = h1.AppendStatusLine(s.head[:0], 1, 1, resp.Status, resp.Reason)
	if comp != compress.None {
		s.head = compress.AppendHeaders(s.head, resp.Headers, comp)
		s.head = h1.AppendHeaderField(s.head, "Transfer-Encoding", "chunked")
	} else {
		s.head = h1.AppendForwardHeaders(s.head, resp.Headers, false)
		if resp.Status != 304 {
			s.head = h1.AppendHeaderField(s.head, "Content-Length", strconv.Itoa(len(body)))
		}
	}
	keep := req.KeepAlive && max(s.fe.connLevel, be.connLevel) < 2 && !s.fe.rt.stopping.Load()
	if !keep {
		s.head = h1.AppendHeaderField(s.head, "Connection", "close")
	} else if req.Major == 1 && req.Minor == 0 {
		s.head = h1.AppendHeaderField(s.head, "Connection", "keep-alive")
	}
	s.head = append(s.head, '\r', '\n')
	head := string(req.Method) == "HEAD" || resp.Status == 304
	if comp != compress.None && !head {
		n, err := s.tc.Write(s.head)
		e.BytesOut += int64(n)
		if err != nil {
			return false
		}
		out := s.fe.rt.getCopyBuf()
		defer s.fe.rt.putCopyBuf(out)
		enc := s.fe.rt.comp.NewEncoder(comp, &s.tc, out)
		_, err = enc.Write(body)
		if err == nil {
			err = enc.Close(nil)
		} else {
			enc.Abort()
		}
		e.BytesOut += enc.Sent
		return err == nil && keep
	}
	if !head {
		s.head = append(s.head, body...)
	}
	n, err := s.tc.Write(s.head)
	e.BytesOut += int64(n)
	return err == nil && keep
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// apiShowCache answers "show cache" in HAProxy's layout: a line per cache
// section with its free 1 kB blocks, then a line per entry with its hash,
// size in bytes and blocks, and seconds left. HAProxy prints memory
// addresses as identifiers; Bulwark prints stable numbers in their place.
func (rt *Runtime) apiShowCache(args []string) string {
	var b strings.Builder
	now := time.Now()
	for i, cs := range rt.model.Caches {
		c := rt.caches[cs.Config.Name]
		if c == nil {
			continue
		}
		st := c.Stats()
		fmt.Fprintf(&b, "0x%012x: %s (shctx:0x%012x, available blocks:%d)\n", 0x100000*(i+1)+0x3a, cs.Config.Name, 0x100000*(i+1), (st.Total-st.Used)/1024)
		n := 0
		c.Each(func(key string, e *cache.Entry) {
			n++
			h := fnv.New32a()
			h.Write([]byte(key))
			size := e.Size()
			fmt.Fprintf(&b, "0x%012x hash:%d vary:0x%016x size:%d (%d blocks), refcount:0, expire:%d\n",
				0x100000*(i+1)+0xc8*n, h.Sum32(), 0, size, (size+1023)/1024, int64(e.Expires.Sub(now)/time.Second))
		})
	}
	return b.String()
}
