package tlsinfo

import "encoding/binary"

// The layout of records and hellos (RFC 8446 4.1.2, 5.1; RFC 5246
// 7.4.1.2), read in one place for the Scanner, which sees the start of
// each record as it streams past, and for callers holding a whole record
// (the req.ssl_* fetches read the ClientHello's extensions).

// RecordHandshake is the content type of a handshake record.
const RecordHandshake = 22

// RecordHeader reads the 5-byte record header at b's start: content type,
// legacy_record_version and the length of the fragment that follows. b
// must hold 5 bytes.
func RecordHeader(b []byte) (typ uint8, version uint16, length int) {
	return b[0], binary.BigEndian.Uint16(b[1:3]), int(binary.BigEndian.Uint16(b[3:5]))
}

// HandshakeHeader reads the 4-byte handshake message header at b's start:
// message type and the length of the body that follows. b must hold 4
// bytes.
func HandshakeHeader(b []byte) (typ uint8, length int) {
	return b[0], int(b[1])<<16 | int(b[2])<<8 | int(b[3])
}

// vector splits off a field that is prefixed by its length in n bytes
// (1 or 2); ok is false when b ends inside it.
func vector(b []byte, n int) (v, rest []byte, ok bool) {
	if len(b) < n {
		return nil, nil, false
	}
	l := int(b[0])
	if n == 2 {
		l = l<<8 | int(b[1])
	}
	if len(b) < n+l {
		return nil, nil, false
	}
	return b[n : n+l], b[n+l:], true
}

// splitHello splits the body of a ClientHello or ServerHello, which both
// begin with legacy_version, random and legacy_session_id; ok is false
// when b ends inside them. The session id may be longer than the 32
// bytes TLS allows: what to make of that is the caller's.
func splitHello(b []byte) (version uint16, random, sessionID, rest []byte, ok bool) {
	if len(b) < 34 {
		return 0, nil, nil, nil, false
	}
	sessionID, rest, ok = vector(b[34:], 1)
	return binary.BigEndian.Uint16(b), b[2:34], sessionID, rest, ok
}

// ClientHelloMsg is a ClientHello body split into its fields; each
// slices the buffer it was read from.
type ClientHelloMsg struct {
	Version      uint16
	Random       []byte
	SessionID    []byte
	CipherSuites []byte
	Compression  []byte
	// Extensions is the extensions block without its length, nil when
	// the hello has none (a TLS 1.0-era hello may end after its
	// compression methods).
	Extensions []byte
}

// ParseClientHello splits the body of a ClientHello (what follows its
// handshake header); ok is false when a field or the extensions block
// runs past b.
func ParseClientHello(b []byte) (m ClientHelloMsg, ok bool) {
	var r []byte
	if m.Version, m.Random, m.SessionID, r, ok = splitHello(b); !ok {
		return m, false
	}
	if m.CipherSuites, r, ok = vector(r, 2); !ok {
		return m, false
	}
	if m.Compression, r, ok = vector(r, 1); !ok || len(r) == 0 {
		return m, ok
	}
	m.Extensions, _, ok = vector(r, 2)
	return m, ok
}

// EachExtension calls fn with the type and data of each extension in
// order; false when one runs past the block (fn has seen the ones before
// it). Fewer than 4 bytes left at the end are not an extension and are
// passed over.
func (m *ClientHelloMsg) EachExtension(fn func(typ uint16, data []byte)) bool {
	r := m.Extensions
	for len(r) >= 4 {
		typ := binary.BigEndian.Uint16(r)
		l := int(binary.BigEndian.Uint16(r[2:]))
		if len(r) < 4+l {
			return false
		}
		fn(typ, r[4:4+l])
		r = r[4+l:]
	}
	return true
}
