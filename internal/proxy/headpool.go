package proxy

// A session builds the heads it sends (the request to the server, the
// response to the client) in s.head. A new session grew it from nothing
// through five or six appends per connection; with a connection per
// request that was as many allocations per request. The buffer now comes
// from the runtime's pool with the first request sent to a server and goes
// back when the session ends or goes idle.

// headBufSize holds a usual request or response head without growing.
const headBufSize = 1024

// maxPooledHead: a head that grew past this (a small body sent with its
// head, long cookies) is left to the garbage collector, not kept.
const maxPooledHead = 32 << 10

func (s *httpSession) takeHead() {
	if s.head != nil || s.headBox != nil {
		return
	}
	p, _ := s.fe.rt.heads.Get().(*[]byte)
	if p == nil {
		b := make([]byte, 0, headBufSize)
		p = &b
	}
	s.headBox, s.head = p, (*p)[:0]
}

// giveHead returns the head buffer; nothing may refer to s.head after.
func (s *httpSession) giveHead() {
	p := s.headBox
	s.headBox = nil
	if p == nil {
		s.head = nil
		return
	}
	if cap(s.head) >= headBufSize && cap(s.head) <= maxPooledHead {
		*p = s.head[:0]
	}
	s.head = nil
	s.fe.rt.heads.Put(p)
}
