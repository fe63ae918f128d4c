package proxy

import (
	"encoding/binary"
	"net"
	"time"
)

// peekClientHello reads the start of a TLS connection for at most d
// ("tcp-request inspect-delay") and returns what it read, to be replayed to
// the server, and the SNI of the ClientHello when there is one. It gives up
// (returning what it has) on anything that is not a TLS handshake record.
func peekClientHello(c net.Conn, d time.Duration) (buf []byte, sni string) {
	c.SetReadDeadline(time.Now().Add(d))
	defer c.SetReadDeadline(time.Time{})
	buf = make([]byte, 0, 1024)
	need := 5
	tpkt := false
	for len(buf) < need {
		if cap(buf) < need {
			nb := make([]byte, len(buf), need)
			copy(nb, buf)
			buf = nb
		}
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf) >= 5 && need == 5 {
			if buf[0] == 3 && buf[1] == 0 {
				// A TPKT packet (RDP): wait for all of it, the
				// connection request with its cookie.
				need = int(binary.BigEndian.Uint16(buf[2:4]))
				if need < 5 || need > 4096 {
					return buf, ""
				}
				tpkt = true
				continue
			}
			if buf[0] != 0x16 { // not a TLS handshake record
				return buf, ""
			}
			need = 5 + int(binary.BigEndian.Uint16(buf[3:5]))
			if need > 5+16384 {
				return buf, ""
			}
		}
		if err != nil {
			return buf, ""
		}
	}
	if tpkt {
		return buf, ""
	}
	return buf, clientHelloSNI(buf[5:need])
}

// clientHelloSNI extracts the server_name extension of a ClientHello
// handshake message (RFC 8446 §4.1.2, RFC 6066 §3); "" when absent or
// malformed.
func clientHelloSNI(b []byte) string {
	if len(b) < 4 || b[0] != 1 { // ClientHello
		return ""
	}
	b = b[4:]
	// legacy_version(2) random(32)
	if len(b) < 34 {
		return ""
	}
	b = b[34:]
	skip := func(lenBytes int) bool {
		if len(b) < lenBytes {
			return false
		}
		n := 0
		for i := 0; i < lenBytes; i++ {
			n = n<<8 | int(b[i])
		}
		if len(b) < lenBytes+n {
			return false
		}
		b = b[lenBytes+n:]
		return true
	}
	// session_id, cipher_suites, compression_methods
	if !skip(1) || !skip(2) || !skip(1) {
		return ""
	}
	if len(b) < 2 {
		return ""
	}
	ext := b[2:]
	if n := int(binary.BigEndian.Uint16(b)); n < len(ext) {
		ext = ext[:n]
	}
	for len(ext) >= 4 {
		typ := binary.BigEndian.Uint16(ext)
		n := int(binary.BigEndian.Uint16(ext[2:]))
		if len(ext) < 4+n {
			return ""
		}
		data := ext[4 : 4+n]
		ext = ext[4+n:]
		if typ != 0 {
			continue
		}
		// server_name_list: length(2), then entries type(1) length(2) name
		if len(data) < 2 {
			return ""
		}
		list := data[2:]
		for len(list) >= 3 {
			nt := list[0]
			nl := int(binary.BigEndian.Uint16(list[1:]))
			if len(list) < 3+nl {
				return ""
			}
			if nt == 0 {
				return string(list[3 : 3+nl])
			}
			list = list[3+nl:]
		}
		return ""
	}
	return ""
}
