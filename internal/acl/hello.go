package acl

import "bulwark/internal/tlsinfo"

// clientHello is what the req.ssl_* fetches read from a TLS record in
// the request payload (RFC 8446 4.1.2, RFC 5246 7.4.1.2).
type clientHello struct {
	msgType int
	version int // record version, major<<16 | minor
	alpn    []byte
	hasEC   bool
	ticket  int // 0 none, 1 empty SessionTicket extension, 2 with a ticket
}

// parseHello decodes the first handshake message of a TLS record; ok is
// false unless the buffer holds a whole one. Only a ClientHello (type 1)
// has its extensions decoded.
func parseHello(b []byte) (h clientHello, ok bool) {
	if len(b) < 9 {
		return h, false
	}
	typ, ver, rec := tlsinfo.RecordHeader(b)
	if typ != tlsinfo.RecordHandshake || ver>>8 < 3 {
		return h, false
	}
	h.version = int(ver>>8)<<16 | int(ver&0xff)
	if len(b) < 5+rec || rec < 4 {
		return h, false
	}
	msg := b[5 : 5+rec]
	mt, mlen := tlsinfo.HandshakeHeader(msg)
	h.msgType = int(mt)
	if mlen > len(msg)-4 {
		return h, false
	}
	if mt != 1 {
		return h, true
	}
	m, ok := tlsinfo.ParseClientHello(msg[4 : 4+mlen])
	if !ok {
		return h, false
	}
	ok = m.EachExtension(func(typ uint16, data []byte) {
		switch typ {
		case 10: // supported_groups, "elliptic_curves" in RFC 4492
			h.hasEC = true
		case 16: // application_layer_protocol_negotiation
			if len(data) >= 2 {
				h.alpn = data[2:]
			}
		case 35: // session_ticket
			h.ticket = 1
			if len(data) > 0 {
				h.ticket = 2
			}
		}
	})
	return h, ok
}

// nextALPN yields the protocol names of an ALPN list one by one.
func nextALPN(list []byte, it *iter) ([]byte, bool) {
	if it.off >= len(list) {
		return nil, false
	}
	n := int(list[it.off])
	if it.off+1+n > len(list) {
		return nil, false
	}
	v := list[it.off+1 : it.off+1+n]
	it.off += 1 + n
	return v, true
}
