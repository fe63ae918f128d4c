// Package tlsinfo records what crypto/tls does not export of a handshake:
// the client and server randoms, the session id and the ClientHello's
// version field, read from the hellos as they cross the connection in the
// clear, and the secrets crypto/tls writes to a key log. HAProxy gives
// them as the ssl_fc_client_random, ssl_fc_session_id, ... and (with
// "tune.ssl.keylog on") ssl_fc_*_traffic_secret* fetches (CM 7.3.4).
// Its readers of the record and hello layout (hello.go) serve as well
// the req.ssl_* fetches, which read a whole ClientHello from a buffer.
package tlsinfo

import (
	"bytes"
	"encoding/hex"
	"net"
	"sync"
)

// Hello is what a ClientHello or ServerHello said (RFC 8446 4.1.2-4.1.3,
// RFC 5246 7.4.1.2): its legacy_version field, its random and its
// (legacy) session id.
type Hello struct {
	Version   uint16
	Random    [32]byte
	sessionID [32]byte
	sidLen    uint8
}

// SessionID is the hello's session id (empty when the hello had none).
func (h *Hello) SessionID() []byte { return h.sessionID[:h.sidLen] }

const (
	recCCS = 20
	// head is what a record must hold for its hello's fields: the record
	// header, the handshake header, version, random and a session id of
	// at most 32 bytes.
	head = 5 + 4 + 2 + 32 + 1 + 32
)

// helloRetry is the random of a HelloRetryRequest (RFC 8446 4.1.3): a
// ServerHello that is not the server's hello.
var helloRetry = [32]byte{0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
	0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C}

// Scanner finds the first ClientHello or ServerHello in one direction of
// a TLS byte stream fed to it in pieces of any size. It keeps no more than
// one record's start and stops for good at the first record that is
// neither a handshake nor a ChangeCipherSpec (encrypted data, alerts,
// anything that is not TLS), so that feeding it costs nothing once the
// handshake is over.
type Scanner struct {
	buf  [head]byte
	n    int // bytes of the current record's start in buf
	skip int // bytes of the current record still to pass over
	done bool
	// Type is the handshake type found (1 ClientHello, 2 ServerHello),
	// 0 while none was.
	Type  uint8
	Hello Hello
}

// Done reports whether the scanner looks at no more bytes.
func (s *Scanner) Done() bool { return s.done }

// Feed reads p, the next bytes of the stream.
func (s *Scanner) Feed(p []byte) {
	for len(p) > 0 && !s.done {
		if s.skip > 0 {
			k := min(s.skip, len(p))
			s.skip -= k
			p = p[k:]
			continue
		}
		if s.n < 5 {
			k := copy(s.buf[s.n:5], p)
			s.n += k
			p = p[k:]
			if s.n < 5 {
				return
			}
			if typ, ver, _ := RecordHeader(s.buf[:5]); ver>>8 != 3 || typ != RecordHandshake && typ != recCCS {
				s.done = true
				return
			}
		}
		_, _, rl := RecordHeader(s.buf[:5])
		need := 5 + min(rl, head-5)
		k := copy(s.buf[s.n:need], p)
		s.n += k
		p = p[k:]
		if s.n == need {
			s.record()
		}
	}
}

// record reads the start of a whole record (buf[:n]) and sets skip to
// the rest of it.
func (s *Scanner) record() {
	typ, _, rl := RecordHeader(s.buf[:5])
	s.skip = rl - (s.n - 5)
	body := s.buf[5:s.n]
	s.n = 0
	if typ != RecordHandshake {
		return
	}
	if len(body) < 4 {
		s.done = true
		return
	}
	mt, _ := HandshakeHeader(body)
	if mt != 1 && mt != 2 {
		// Some other handshake message before any hello (or a hello
		// split into records too short to hold its fields): nothing
		// to read in this direction.
		s.done = true
		return
	}
	// body holds at most head-5 bytes: the hello's length cannot be
	// checked, only that its first fields are here.
	ver, random, sid, _, ok := splitHello(body[4:])
	if !ok || len(sid) > 32 {
		s.done = true
		return
	}
	var h Hello
	h.Version = ver
	copy(h.Random[:], random)
	if mt == 2 && h.Random == helloRetry {
		return // the real ServerHello comes after the client's second hello
	}
	h.sidLen = uint8(len(sid))
	copy(h.sessionID[:], sid)
	s.Type, s.Hello, s.done = mt, h, true
}

// Label names a secret of the NSS key log format crypto/tls writes.
type Label uint8

// The secrets of a key log, in the order of HAProxy's table
// (tune.ssl.keylog). Go's crypto/tls writes neither early secrets (it
// has no 0-RTT) nor the exporter secret.
const (
	MasterSecret           Label = iota // CLIENT_RANDOM: the TLS 1.2 master secret
	ClientHandshakeTraffic              // CLIENT_HANDSHAKE_TRAFFIC_SECRET
	ServerHandshakeTraffic              // SERVER_HANDSHAKE_TRAFFIC_SECRET
	ClientTraffic0                      // CLIENT_TRAFFIC_SECRET_0
	ServerTraffic0                      // SERVER_TRAFFIC_SECRET_0
	numLabels
)

var labels = [numLabels]string{"CLIENT_RANDOM", "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
	"SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"}

// KeyLog is the key log of one connection: a tls.Config's KeyLogWriter
// set on that connection's own copy of the configuration, so that no line
// has to be matched to its connection by client random.
type KeyLog struct {
	mu sync.Mutex // crypto/tls writes in the handshake, rules read later
	// hex holds each secret as the key log wrote it, in lower-case hex.
	hex [numLabels][]byte
}

// Write takes one line "<label> <client random> <secret>\n"; lines of
// other labels are ignored.
func (k *KeyLog) Write(line []byte) (int, error) {
	f := bytes.Fields(line)
	if len(f) != 3 {
		return len(line), nil
	}
	for i, l := range labels {
		if string(f[0]) == l {
			k.mu.Lock()
			k.hex[i] = bytes.Clone(f[2])
			k.mu.Unlock()
			break
		}
	}
	return len(line), nil
}

// Hex returns a secret in hexadecimal, nil when the handshake gave none.
func (k *KeyLog) Hex(l Label) []byte {
	if k == nil || l >= numLabels {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.hex[l]
}

// Secret returns a secret's bytes, nil when the handshake gave none.
func (k *KeyLog) Secret(l Label) []byte {
	h := k.Hex(l)
	if h == nil {
		return nil
	}
	b, err := hex.DecodeString(string(h))
	if err != nil {
		return nil
	}
	return b
}

// Info is what one connection's handshake carried: the first hello read
// and the first written, and its key log when key logging is on.
type Info struct {
	in, out Scanner
	// Keys is nil unless the connection's configuration logs keys.
	Keys *KeyLog
}

// Read passes bytes read from the peer.
func (i *Info) Read(p []byte) {
	if !i.in.done {
		i.in.Feed(p)
	}
}

// Wrote passes bytes written to the peer.
func (i *Info) Wrote(p []byte) {
	if !i.out.done {
		i.out.Feed(p)
	}
}

// hello returns the hello of type t seen in either direction.
func (i *Info) hello(t uint8) *Hello {
	if i == nil {
		return nil
	}
	for _, s := range []*Scanner{&i.in, &i.out} {
		if s.Type == t {
			return &s.Hello
		}
	}
	return nil
}

// ClientHello is the client's hello, nil when none was seen.
func (i *Info) ClientHello() *Hello { return i.hello(1) }

// ServerHello is the server's hello (not a HelloRetryRequest), nil when
// none was seen.
func (i *Info) ServerHello() *Hello { return i.hello(2) }

// Conn is a connection under a tls.Conn that records its Info.
type Conn struct {
	net.Conn
	Info Info
}

// NewConn wraps c.
func NewConn(c net.Conn) *Conn { return &Conn{Conn: c} }

func (c *Conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.Info.Read(p[:n])
	return n, err
}

func (c *Conn) Write(p []byte) (int, error) {
	c.Info.Wrote(p)
	return c.Conn.Write(p)
}

// NetConn returns the connection under c, as tls.Conn's does.
func (c *Conn) NetConn() net.Conn { return c.Conn }
