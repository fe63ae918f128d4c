package proxy

import (
	"crypto/tls"
	"net"
	"net/netip"
	"time"

	"bulwark/internal/model"
	"bulwark/internal/proxyproto"
	"bulwark/internal/tlsfail"
	"bulwark/internal/tlsinfo"
)

// ppConn is a client connection that may start with a PROXY protocol
// header ("bind ... accept-proxy", "tcp-request connection expect-proxy
// layer4"). Until the header is read it is the socket itself; afterwards
// RemoteAddr and LocalAddr are the addresses the header carries, so
// rules, balancing, headers and logs use the relayed client everywhere
// (except "tcp-request connection" rules, which run before the header is
// read, on the real peer: that is what lets them decide who may send one).
//
// The same wrapper reads a NetScaler Client IP header ("bind ...
// accept-netscaler-cip", "tcp-request connection expect-netscaler-cip
// layer4"), before the PROXY header when both are asked for, as HAProxy
// does; the PROXY header's addresses then win. fc_rcvd_proxy stays false
// for it, as in HAProxy.
type ppConn struct {
	net.Conn
	accept bool // the bind requires a PROXY header
	parsed bool
	hdr    *proxyproto.Header
	rest   []byte // bytes read past the header: the start of the payload
	src    net.Addr
	dst    net.Addr
	// acceptCIP: the bind requires a NetScaler header of magic cipMagic;
	// cip holds its addresses once read.
	acceptCIP, cipParsed bool
	cipMagic             uint32
	cip                  *[2]netip.AddrPort
}

// NetConn is the connection under the header reader (tlsfail.Wrap finds
// its connection through it).
func (c *ppConn) NetConn() net.Conn { return c.Conn }

func (c *ppConn) Read(p []byte) (int, error) {
	if len(c.rest) > 0 {
		n := copy(p, c.rest)
		c.rest = c.rest[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

func (c *ppConn) RemoteAddr() net.Addr {
	if c.src != nil {
		return c.src
	}
	return c.Conn.RemoteAddr()
}

func (c *ppConn) LocalAddr() net.Addr {
	if c.dst != nil {
		return c.dst
	}
	return c.Conn.LocalAddr()
}

// CloseWrite keeps TCP half-closes working under the wrapper.
func (c *ppConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}

// ppDefaultTimeout bounds the wait for a PROXY header when the frontend
// has neither "timeout client" nor "timeout http-request": a peer that
// never sends one must not hold a connection slot forever.
const ppDefaultTimeout = 10 * time.Second

// readHeader reads the PROXY header within timeout. Any error (a wrong
// signature, a malformed or truncated header, a timeout) means the
// connection must be closed without a byte in answer, as HAProxy does.
func (c *ppConn) readHeader(timeout time.Duration) error {
	c.parsed = true
	return c.readPrefix(timeout, proxyproto.MaxV2Len, func(b []byte) (int, error) {
		h, hl, err := proxyproto.Parse(b)
		if err != nil {
			return 0, err
		}
		c.hdr = h
		if !h.Local {
			c.src = net.TCPAddrFromAddrPort(h.Src)
			c.dst = net.TCPAddrFromAddrPort(h.Dst)
		}
		return hl, nil
	})
}

// readNetScaler reads the NetScaler Client IP header within timeout, with
// the same rule: any error closes the connection.
func (c *ppConn) readNetScaler(timeout time.Duration) error {
	c.cipParsed = true
	return c.readPrefix(timeout, 12+proxyproto.MaxCIPLen, func(b []byte) (int, error) {
		src, dst, n, err := proxyproto.ParseNetScaler(b, c.cipMagic)
		if err != nil {
			return 0, err
		}
		c.cip = &[2]netip.AddrPort{src, dst}
		c.src, c.dst = net.TCPAddrFromAddrPort(src), net.TCPAddrFromAddrPort(dst)
		return n, nil
	})
}

// readPrefix reads from the socket (after what an earlier header left
// in rest) until parse accepts a header at the start of the bytes, which
// it returns the length of, or fails with an error other than
// proxyproto.ErrShort; limit bounds what is read.
func (c *ppConn) readPrefix(timeout time.Duration, limit int, parse func([]byte) (int, error)) error {
	if timeout <= 0 {
		timeout = ppDefaultTimeout
	}
	c.Conn.SetReadDeadline(time.Now().Add(timeout))
	defer c.Conn.SetReadDeadline(time.Time{})
	buf := make([]byte, len(c.rest), max(256, len(c.rest)))
	copy(buf, c.rest)
	c.rest = nil
	for {
		if len(buf) > 0 {
			n, perr := parse(buf)
			switch {
			case perr == nil:
				if rest := buf[n:]; len(rest) > 0 {
					c.rest = rest
				}
				return nil
			case perr != proxyproto.ErrShort:
				return perr
			case len(buf) >= limit:
				return proxyproto.ErrTooLong
			}
		}
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), 2*cap(buf))
			copy(nb, buf)
			buf = nb
		}
		n, err := c.Conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil && n == 0 {
			return err
		}
	}
}

// ppOf returns the ppConn under c (plain or TLS), or nil.
func ppOf(c net.Conn) *ppConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	pc, _ := c.(*ppConn)
	return pc
}

// realAddrs returns the socket's own peer and local addresses of c, for
// "tcp-request connection" rules.
func realAddrs(c net.Conn) (src, dst netip.AddrPort) {
	if pc := ppOf(c); pc != nil {
		return addrPort(pc.Conn.RemoteAddr()), addrPort(pc.Conn.LocalAddr())
	}
	return addrPort(c.RemoteAddr()), addrPort(c.LocalAddr())
}

// wantsProxyHeader reports whether connections on bind b may carry a
// PROXY or NetScaler header: the bind requires one, or a "tcp-request
// connection expect-proxy|expect-netscaler-cip" rule may ask for one.
func (fe *frontend) wantsProxyHeader(b *model.Bind) bool {
	_, accept := b.Opts["accept-proxy"]
	return accept || b.NetScaler || fe.expectProxy || fe.expectCIP
}

// wrapProxy puts a ppConn under a freshly accepted connection. A TLS
// connection is rebuilt on it (its handshake has not started), and with
// "accept-proxy" or "accept-netscaler-cip" the headers are read at once:
// they come before the ClientHello. It returns nil when the connection
// must be closed.
func (fe *frontend) wrapProxy(c net.Conn, bl boundListener) net.Conn {
	_, accept := bl.bind.Opts["accept-proxy"]
	mk := func(c net.Conn) *ppConn {
		return &ppConn{Conn: c, accept: accept, acceptCIP: bl.bind.NetScaler, cipMagic: bl.bind.NetScalerMagic}
	}
	tc, isTLS := c.(*tls.Conn)
	if !isTLS {
		return mk(c)
	}
	tl, ok := bl.Listener.(tlsListener)
	if !ok || !(accept || bl.bind.NetScaler) {
		// expect-* rules run after the TLS handshake here, too late for
		// a header; the plan refuses that combination.
		return c
	}
	pc := mk(tc.NetConn())
	if !fe.readHeaders(pc, false, false) {
		pc.Conn.Close()
		return nil
	}
	if fc, ok := pc.Conn.(*tlsfail.Conn); ok {
		// The hello scanners read the header: they start again at the
		// TLS bytes, some of which the header reader already holds.
		fc.Info = tlsinfo.Info{}
		fc.Info.Read(pc.rest)
	}
	return tls.Server(pc, tl.cfg)
}

// readHeaders reads the headers pc still owes: the NetScaler header when
// the bind requires it or cip asks for it, then the PROXY one likewise
// (pp), in HAProxy's order. It reports false when the connection must be closed.
func (fe *frontend) readHeaders(pc *ppConn, pp, cip bool) bool {
	if !pc.cipParsed && (pc.acceptCIP || cip) && pc.readNetScaler(fe.proxyHeaderTimeout()) != nil {
		return false
	}
	if !pc.parsed && (pc.accept || pp) && pc.readHeader(fe.proxyHeaderTimeout()) != nil {
		return false
	}
	return true
}

// proxyHeaderTimeout is how long a client may take to send its PROXY
// header: HAProxy's handshake timeout is "timeout client".
func (fe *frontend) proxyHeaderTimeout() time.Duration {
	if fe.clientTimeout > 0 {
		return fe.clientTimeout
	}
	return fe.httpRequestTimeout
}

// afterConnRules reads the PROXY and NetScaler headers of c once the
// "tcp-request connection" rules have run, when the bind requires them or
// a rule asked for them (pp: expect-proxy, cip: expect-netscaler-cip). ok
// is false when the connection must be closed.
func (fe *frontend) afterConnRules(c net.Conn, pp, cip bool) (ok bool) {
	pc := ppOf(c)
	if pc == nil {
		return true
	}
	return fe.readHeaders(pc, pp, cip)
}

// proxyTLV returns a TLV the client's PROXY header carried.
func proxyTLV(c net.Conn, t byte) ([]byte, bool) {
	if pc := ppOf(c); pc != nil {
		return pc.hdr.TLV(t)
	}
	return nil, false
}

// proxyReceived reports whether c began with a PROXY header.
func proxyReceived(c net.Conn) bool {
	pc := ppOf(c)
	return pc != nil && pc.hdr != nil
}

// setClientAddrs gives the session its addresses once a PROXY header may
// have been read: the header's (HAProxy stores them in the session, not
// the connection), else the connection's as "tcp-request connection"
// rules left them.
func (s *httpSession) setClientAddrs() {
	s.client = s.c.RemoteAddr()
	s.src, s.dst = sessionAddrs(s.c, s.fcSrc, s.fcDst)
	// Never nil here, as when the connection's text was made up front: a
	// header with no usable source still gets an empty text (srcTextOf).
	s.srcText = s.srcText[:0]
	if s.srcText == nil {
		s.srcText = []byte{}
	}
	if s.src.IsValid() {
		s.srcText = s.src.Addr().Unmap().AppendTo(s.srcText)
	}
}

// sessionAddrs returns the addresses a session on c starts with: those of
// its PROXY header (unless LOCAL), else of its NetScaler header, else
// fcSrc and fcDst.
func sessionAddrs(c net.Conn, fcSrc, fcDst netip.AddrPort) (src, dst netip.AddrPort) {
	pc := ppOf(c)
	switch {
	case pc == nil:
	case pc.hdr != nil && !pc.hdr.Local:
		return pc.hdr.Src, pc.hdr.Dst
	case pc.cip != nil:
		return pc.cip[0], pc.cip[1]
	}
	return fcSrc, fcDst
}

// ExpectProxy and ExpectNetScaler are the "tcp-request connection
// expect-proxy|expect-netscaler-cip layer4" actions.
func (s *httpSession) ExpectProxy()     { s.expectPP = true }
func (s *httpSession) ExpectNetScaler() { s.expectCIP = true }

// ProxyTLV and ProxyReceived serve the fc_pp_* and fc_rcvd_proxy fetches.
func (s *httpSession) ProxyTLV(t byte) ([]byte, bool) { return proxyTLV(s.cconn, t) }
func (s *httpSession) ProxyReceived() bool            { return proxyReceived(s.cconn) }

func (t *tcpTxn) ExpectProxy()                     { t.expectPP = true }
func (t *tcpTxn) ExpectNetScaler()                 { t.expectCIP = true }
func (t *tcpTxn) ProxyTLV(typ byte) ([]byte, bool) { return proxyTLV(t.conn, typ) }
func (t *tcpTxn) ProxyReceived() bool              { return proxyReceived(t.conn) }

// ppSend is how a server wants the PROXY header ("send-proxy",
// "send-proxy-v2" and its options).
type ppSend struct {
	v2   bool
	opts model.ProxyV2Opts
}

func newPPSend(sc *model.Server) *ppSend {
	switch sc.SendProxy {
	case "v1":
		return &ppSend{}
	case "v2":
		return &ppSend{v2: true, opts: sc.ProxyV2()}
	}
	return nil
}

// clientSide is what a PROXY header sent to a server tells about the
// client connection. conn gives the TLS facts and the TLVs the client's
// own PROXY header carried (for an HTTP/2 stream, the h2 connection's).
type clientSide struct {
	conn     net.Conn
	src, dst netip.AddrPort
	// uniqueID is the request's unique-id-format value, for the
	// UNIQUE_ID TLV ("proxy-v2-options unique-id"); empty without one.
	uniqueID string
	// samples evaluates what a new connection is opened with for the
	// request (a "sni" expression); nil where nothing is evaluated.
	samples connSamples
}

// connSamples evaluates, for the request of a session, the samples that
// a new server connection is opened with.
type connSamples interface {
	serverSNI(*server) string
}

// header builds the PROXY header for one server connection. The TLVs
// and their order are HAProxy's: CRC32C (filled last), ALPN, AUTHORITY,
// UNIQUE_ID, SSL.
func (p *ppSend) header(cs clientSide) []byte {
	if !p.v2 {
		return proxyproto.AppendV1(nil, cs.src, cs.dst)
	}
	var st *tls.ConnectionState
	if tc, ok := cs.conn.(*tls.Conn); ok {
		s := tc.ConnectionState()
		st = &s
	}
	var tlvs []proxyproto.TLV
	if st != nil && st.NegotiatedProtocol != "" {
		tlvs = append(tlvs, proxyproto.TLV{Type: proxyproto.TypeALPN, Value: []byte(st.NegotiatedProtocol)})
	}
	if p.opts&model.PPv2Authority != 0 {
		if v, ok := proxyTLV(cs.conn, proxyproto.TypeAuthority); ok {
			tlvs = append(tlvs, proxyproto.TLV{Type: proxyproto.TypeAuthority, Value: v})
		} else if st != nil && st.ServerName != "" {
			tlvs = append(tlvs, proxyproto.TLV{Type: proxyproto.TypeAuthority, Value: []byte(st.ServerName)})
		}
	}
	if p.opts&model.PPv2UniqueID != 0 {
		// Without a "unique-id-format" (or in TCP mode) HAProxy sends the
		// TLV with an empty value.
		tlvs = append(tlvs, proxyproto.TLV{Type: proxyproto.TypeUniqueID, Value: []byte(cs.uniqueID)})
	}
	if p.opts&model.PPv2SSL != 0 {
		tlvs = append(tlvs, proxyproto.TLV{Type: proxyproto.TypeSSL, Value: p.sslTLV(st)})
	}
	return proxyproto.AppendV2(nil, cs.src, cs.dst, tlvs, p.opts&model.PPv2CRC32C != 0)
}

// sslTLV is the value of the SSL TLV: client flags, the verify result (0
// unless a client certificate failed, which a completed Go handshake
// rules out) and sub-TLVs.
func (p *ppSend) sslTLV(st *tls.ConnectionState) []byte {
	v := []byte{0, 0, 0, 0, 0}
	if st == nil {
		return v
	}
	v[0] = proxyproto.ClientSSL
	v = proxyproto.AppendTLV(v, proxyproto.SubSSLVersion, []byte(tlsVersionName(st.Version)))
	if len(st.PeerCertificates) > 0 {
		// Go keeps no session-resumed client certificates apart: the
		// certificate always came on this connection.
		v[0] |= proxyproto.ClientCertConn | proxyproto.ClientCertSess
		if p.opts&model.PPv2CertCN != 0 && st.PeerCertificates[0].Subject.CommonName != "" {
			v = proxyproto.AppendTLV(v, proxyproto.SubSSLCN, []byte(st.PeerCertificates[0].Subject.CommonName))
		}
	}
	if p.opts&model.PPv2SSLCipher != 0 {
		v = proxyproto.AppendTLV(v, proxyproto.SubSSLCipher, []byte(tls.CipherSuiteName(st.CipherSuite)))
	}
	return v
}

// tlsVersionName is OpenSSL's name of a protocol version, which HAProxy
// sends and logs.
func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return "unknown"
}

// sendProxyHeader writes the PROXY header on a new server connection,
// before any TLS handshake (the header is for the next hop's TCP layer).
func (s *server) sendProxyHeader(c net.Conn, cs clientSide, timeout time.Duration) error {
	if timeout > 0 {
		c.SetWriteDeadline(time.Now().Add(timeout))
		defer c.SetWriteDeadline(time.Time{})
	}
	_, err := c.Write(s.pp.header(cs))
	return err
}
