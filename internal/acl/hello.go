package acl

import "encoding/binary"

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
	if len(b) < 9 || b[0] != 0x16 || b[1] < 3 {
		return h, false
	}
	h.version = int(b[1])<<16 | int(b[2])
	rec := int(binary.BigEndian.Uint16(b[3:5]))
	if len(b) < 5+rec || rec < 4 {
		return h, false
	}
	msg := b[5 : 5+rec]
	h.msgType = int(msg[0])
	mlen := int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3])
	if mlen > len(msg)-4 {
		return h, false
	}
	if h.msgType != 1 {
		return h, true
	}
	r := msg[4 : 4+mlen]
	// client_version, random, session_id
	if len(r) < 35 || len(r) < 35+int(r[34]) {
		return h, false
	}
	r = r[35+int(r[34]):]
	if len(r) < 2 || len(r) < 2+int(binary.BigEndian.Uint16(r)) {
		return h, false
	}
	r = r[2+int(binary.BigEndian.Uint16(r)):] // cipher_suites
	if len(r) < 1 || len(r) < 1+int(r[0]) {
		return h, false
	}
	r = r[1+int(r[0]):] // compression_methods
	if len(r) == 0 {
		return h, true // no extensions
	}
	if len(r) < 2 || len(r) < 2+int(binary.BigEndian.Uint16(r)) {
		return h, false
	}
	r = r[2 : 2+int(binary.BigEndian.Uint16(r))]
	for len(r) >= 4 {
		typ := binary.BigEndian.Uint16(r)
		l := int(binary.BigEndian.Uint16(r[2:]))
		if len(r) < 4+l {
			return h, false
		}
		data := r[4 : 4+l]
		switch typ {
		case 10: // supported_groups, "elliptic_curves" in RFC 4492
			h.hasEC = true
		case 16: // application_layer_protocol_negotiation
			if len(data) >= 2 {
				h.alpn = data[2:]
			}
		case 35: // session_ticket
			h.ticket = 1
			if l > 0 {
				h.ticket = 2
			}
		}
		r = r[4+l:]
	}
	return h, true
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
