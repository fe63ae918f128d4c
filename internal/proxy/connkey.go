package proxy

import (
	"net/netip"

	"bulwark/internal/acl"
)

// A server connection is made for one request and may carry others
// ("http-reuse"), but some of what was decided when it was opened is
// fixed for its life: the SNI it sent (a "sni" expression), the address
// it went to (a server without an address or port, "option
// transparent", set-dst), the PROXY header it began with (the client's
// addresses, its unique ID, TLS facts) and the source it came from
// ("usesrc"). As in HAProxy 2.6, these make up one hash per connection;
// a connection only carries a request whose hash is the same (CM 4
// "http-reuse": "A connection is reused only if it shares the same set
// of properties with the request"). 0 is the hash of a request to a
// server where none of these depends on the request.

// connParams is what a new connection to a server would be opened with
// for one request, beyond the server itself.
type connParams struct {
	key uint64
	sni string // the SNI to send; "" without a "sni" expression
}

// fnv64 is FNV-1a, 64 bits: the key is compared, never stored beyond the
// process, so any stable hash does; this one costs no allocation.
type fnv64 uint64

const (
	fnvOffset fnv64 = 14695981039346656037
	fnvPrime  fnv64 = 1099511628211
)

func (h fnv64) bytes(b []byte) fnv64 {
	for _, c := range b {
		h = (h ^ fnv64(c)) * fnvPrime
	}
	return h
}

func (h fnv64) str(s string) fnv64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ fnv64(s[i])) * fnvPrime
	}
	return h
}

// part starts a component with its tag and length, so that no two
// different sets of components hash the same bytes.
func (h fnv64) part(tag byte, n int) fnv64 {
	h = (h ^ fnv64(tag)) * fnvPrime
	return h.bytes([]byte{byte(n >> 8), byte(n)})
}

func (h fnv64) addrPort(ap netip.AddrPort) fnv64 {
	b, _ := ap.MarshalBinary()
	return h.part('a', len(b)).bytes(b)
}

// dstVaries reports whether the address a connection to s goes to
// depends on the request's destination: a server without a port (the
// client's port, or an offset from it) or without an address ("option
// transparent").
func (s *server) dstVaries() bool {
	if s.unix {
		return false
	}
	return s.toDst || s.cfg.Addr.PortDelta || s.state != nil && s.state.Addr().Port() == 0
}

// connParams computes the parameters of a connection to srv for the
// current request of cs, and their hash.
func (srv *server) connParams(cs clientSide) connParams {
	var p connParams
	if srv.sni == nil && srv.pp == nil && srv.useSrc == "" && !srv.dstVaries() {
		return p
	}
	h := fnvOffset
	if srv.sni != nil {
		if cs.samples != nil {
			p.sni = cs.samples.serverSNI(srv)
		}
		h = h.part('s', len(p.sni)).str(p.sni)
	}
	if srv.dstVaries() {
		h = h.addrPort(srv.dialDst(cs.dst))
	}
	if srv.useSrc != "" {
		h = h.part('u', 0).addrPort(srv.bindSrc(cs))
	}
	if srv.pp != nil {
		// The header itself: it depends on the client's addresses, its
		// unique ID and TLS facts, exactly as the server will see them.
		b := srv.pp.header(cs)
		h = h.part('p', len(b)).bytes(b)
	}
	if h == 0 {
		h = 1 // 0 is "nothing depends on the request"
	}
	p.key = uint64(h)
	return p
}

// serverSNI evaluates srv's "sni" expression for the current request.
func (s *httpSession) serverSNI(srv *server) string {
	s.eval.Reset()
	b, _ := srv.sni.AppendString(nil, s.eval)
	return string(b)
}

// tcpSamples evaluates connection samples for a TCP session.
type tcpSamples struct{ txn *tcpTxn }

func (t tcpSamples) serverSNI(srv *server) string {
	b, _ := srv.sni.AppendString(nil, acl.NewEval(t.txn))
	return string(b)
}

// bindSrc is the local address of a connection to srv under "usesrc":
// the client's address, with its port for "client" (any port for
// "clientip").
func (srv *server) bindSrc(cs clientSide) netip.AddrPort {
	port := uint16(0)
	if srv.useSrc == "client" {
		port = cs.src.Port()
	}
	return netip.AddrPortFrom(cs.src.Addr().Unmap(), port)
}
