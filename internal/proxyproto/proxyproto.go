// Package proxyproto reads and writes the PROXY protocol header, versions
// 1 (text) and 2 (binary), as HAProxy's doc/proxy-protocol.txt describes
// it: the first bytes of a connection that carry the addresses of the
// client the sender relays.
package proxyproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"net/netip"
)

// TLV types of version 2 (doc/proxy-protocol.txt 2.2).
const (
	TypeALPN      = 0x01
	TypeAuthority = 0x02
	TypeCRC32C    = 0x03
	TypeNoop      = 0x04
	TypeUniqueID  = 0x05
	TypeSSL       = 0x20
	SubSSLVersion = 0x21
	SubSSLCN      = 0x22
	SubSSLCipher  = 0x23
	SubSSLSigAlg  = 0x24
	SubSSLKeyAlg  = 0x25
	TypeNetNS     = 0x30
)

// Bits of the SSL TLV's client field.
const (
	ClientSSL      = 0x01
	ClientCertConn = 0x02
	ClientCertSess = 0x04
)

const (
	// MaxV1Len is the longest version 1 line, CRLF included.
	MaxV1Len = 107
	// MaxV2Len bounds a version 2 header (16 fixed bytes and the
	// addresses and TLVs). The format allows 64 KB; HAProxy keeps the
	// header in one buffer, and a sender has no reason to use more.
	MaxV2Len = 16384
	// Value limits HAProxy enforces on received TLVs.
	maxAuthority = 255
	maxUniqueID  = 128
)

var sigV2 = []byte("\r\n\r\n\x00\r\nQUIT\n")

// Errors. ErrShort means more bytes are needed; every other error means
// the header is invalid and the connection must be closed.
var (
	ErrShort    = errors.New("proxyproto: truncated header")
	ErrNotProxy = errors.New("proxyproto: not a PROXY protocol header")
	ErrInvalid  = errors.New("proxyproto: malformed header")
	ErrTooLong  = errors.New("proxyproto: header too long")
	ErrChecksum = errors.New("proxyproto: CRC32C mismatch")
)

// TLV is one type-length-value of a version 2 header.
type TLV struct {
	Type  byte
	Value []byte
}

// Header is a parsed PROXY header. Local means the sender relays no
// client (v2 LOCAL, v1 UNKNOWN, or address families the receiver cannot
// use): the connection's own addresses stay in force.
type Header struct {
	Version  int
	Local    bool
	Src, Dst netip.AddrPort
	TLVs     []TLV
}

// TLV returns the value of the first TLV of type t.
func (h *Header) TLV(t byte) ([]byte, bool) {
	if h == nil {
		return nil, false
	}
	for _, v := range h.TLVs {
		if v.Type == t {
			return v.Value, true
		}
	}
	return nil, false
}

// Parse reads a header at the start of b. It returns the header and its
// length in bytes; ErrShort when b is a valid but incomplete prefix, so
// the caller reads more (never more than the header needs: a protocol
// where the server speaks first must not wait on the client). TLV values
// alias b.
func Parse(b []byte) (*Header, int, error) {
	if len(b) == 0 {
		return nil, 0, ErrShort
	}
	switch b[0] {
	case 'P':
		return parseV1(b)
	case '\r':
		return parseV2(b)
	}
	return nil, 0, ErrNotProxy
}

func prefixOf(b, sig []byte) bool {
	if len(b) < len(sig) {
		return bytes.Equal(b, sig[:len(b)])
	}
	return bytes.Equal(b[:len(sig)], sig)
}

func parseV1(b []byte) (*Header, int, error) {
	if !prefixOf(b, []byte("PROXY ")) {
		return nil, 0, ErrNotProxy
	}
	lim := b
	if len(lim) > MaxV1Len {
		lim = lim[:MaxV1Len]
	}
	end := bytes.IndexByte(lim, '\n')
	if end < 0 {
		if len(b) >= MaxV1Len {
			return nil, 0, ErrTooLong
		}
		return nil, 0, ErrShort
	}
	if end < 7 || b[end-1] != '\r' {
		return nil, 0, ErrInvalid
	}
	line := b[6 : end-1]
	h := &Header{Version: 1}
	if bytes.HasPrefix(line, []byte("UNKNOWN")) && (len(line) == 7 || line[7] == ' ') {
		// The rest of an UNKNOWN line is ignored, as the spec says.
		h.Local = true
		return h, end + 1, nil
	}
	f := bytes.Split(line, []byte(" "))
	if len(f) != 5 {
		return nil, 0, ErrInvalid
	}
	var v6 bool
	switch string(f[0]) {
	case "TCP4":
	case "TCP6":
		v6 = true
	default:
		return nil, 0, ErrInvalid
	}
	src, ok1 := parseV1Addr(f[1], v6)
	dst, ok2 := parseV1Addr(f[2], v6)
	sp, ok3 := parseV1Port(f[3])
	dp, ok4 := parseV1Port(f[4])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return nil, 0, ErrInvalid
	}
	h.Src, h.Dst = netip.AddrPortFrom(src, sp), netip.AddrPortFrom(dst, dp)
	return h, end + 1, nil
}

func parseV1Addr(s []byte, v6 bool) (netip.Addr, bool) {
	a, err := netip.ParseAddr(string(s))
	if err != nil || a.Zone() != "" || a.Is4() == v6 {
		return netip.Addr{}, false
	}
	return a, true
}

// parseV1Port accepts 0..65535 in decimal, no sign, no leading zero
// beyond "0" itself, as the spec asks.
func parseV1Port(s []byte) (uint16, bool) {
	if len(s) == 0 || len(s) > 5 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return 0, false
	}
	return uint16(n), true
}

func parseV2(b []byte) (*Header, int, error) {
	if !prefixOf(b, sigV2) {
		return nil, 0, ErrNotProxy
	}
	if len(b) < 16 {
		return nil, 0, ErrShort
	}
	verCmd, fam := b[12], b[13]
	n := 16 + int(binary.BigEndian.Uint16(b[14:16]))
	if verCmd>>4 != 2 {
		return nil, 0, ErrInvalid
	}
	if n > MaxV2Len {
		return nil, 0, ErrTooLong
	}
	if len(b) < n {
		return nil, 0, ErrShort
	}
	body := b[16:n]
	h := &Header{Version: 2}
	switch verCmd & 0xf {
	case 0: // LOCAL: a health check of the sender; addresses and TLVs are ignored
		h.Local = true
		return h, n, nil
	case 1:
	default:
		return nil, 0, ErrInvalid
	}
	var alen int
	switch fam {
	case 0x11, 0x12:
		alen = 12
		if len(body) < alen {
			return nil, 0, ErrInvalid
		}
		h.Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[0:4])), binary.BigEndian.Uint16(body[8:10]))
		h.Dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(body[4:8])), binary.BigEndian.Uint16(body[10:12]))
	case 0x21, 0x22:
		alen = 36
		if len(body) < alen {
			return nil, 0, ErrInvalid
		}
		h.Src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[0:16])), binary.BigEndian.Uint16(body[32:34]))
		h.Dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(body[16:32])), binary.BigEndian.Uint16(body[34:36]))
	case 0x31, 0x32:
		// Unix socket paths say nothing usable about a client: keep the
		// connection's addresses, as for UNSPEC.
		alen = 216
		if len(body) < alen {
			return nil, 0, ErrInvalid
		}
		h.Local = true
	case 0x00:
		h.Local = true
	default:
		return nil, 0, ErrInvalid
	}
	tlvs, err := parseTLVs(body[alen:], b[:n])
	if err != nil {
		return nil, 0, err
	}
	h.TLVs = tlvs
	return h, n, nil
}

// parseTLVs checks every TLV fits exactly in b, enforces HAProxy's value
// limits and verifies a CRC32C TLV over the whole header hdr.
func parseTLVs(b, hdr []byte) ([]TLV, error) {
	var out []TLV
	for len(b) > 0 {
		if len(b) < 3 {
			return nil, ErrInvalid
		}
		t, l := b[0], int(binary.BigEndian.Uint16(b[1:3]))
		if 3+l > len(b) {
			return nil, ErrInvalid
		}
		v := b[3 : 3+l : 3+l]
		switch t {
		case TypeAuthority:
			if l > maxAuthority {
				return nil, ErrInvalid
			}
		case TypeUniqueID:
			if l > maxUniqueID {
				return nil, ErrInvalid
			}
		case TypeCRC32C:
			if l != 4 {
				return nil, ErrInvalid
			}
			off := len(hdr) - len(b) + 3
			if !crcOK(hdr, off, binary.BigEndian.Uint32(v)) {
				return nil, ErrChecksum
			}
		}
		out = append(out, TLV{Type: t, Value: v})
		b = b[3+l:]
	}
	return out, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crcOK computes the CRC32C of hdr with the 4 checksum bytes at off taken
// as zero.
func crcOK(hdr []byte, off int, want uint32) bool {
	c := crc32.Update(0, castagnoli, hdr[:off])
	c = crc32.Update(c, castagnoli, []byte{0, 0, 0, 0})
	c = crc32.Update(c, castagnoli, hdr[off+4:])
	return c == want
}
