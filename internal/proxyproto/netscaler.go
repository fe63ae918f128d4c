package proxyproto

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// The NetScaler Client IP insertion protocol (HAProxy's
// doc/netscaler-client-ip-insertion-protocol.txt): a NetScaler that
// proxies a TCP connection sends, before the client's data, a magic
// number both sides agree on, a length, then a copy of the IP and TCP
// headers of the client's last handshake packet, whose addresses and
// ports are the client's. Two framings exist:
//
//	legacy:   magic(4) length(4) IP header, TCP header
//	standard: magic(4) CIP length(4) type(2) length(2) IP header, TCP header
//
// where length counts the bytes of the IP and TCP headers that follow.
// The first byte after the magic's 8 tells them apart: an IPv4 or IPv6
// version nibble (legacy), or 0, the high byte of the standard type.

// Errors of ParseNetScaler besides ErrShort.
var (
	ErrCIPMagic = errors.New("netscaler: invalid Client IP magic number")
	ErrCIPProto = errors.New("netscaler: unhandled protocol in the Client IP header")
)

// MaxCIPLen bounds a NetScaler header: the IP and TCP headers it copies
// take 120 bytes at most (IPv4 and TCP options), 100 with IPv6's basic
// header; a length past this bound is no NetScaler's.
const MaxCIPLen = 4096

const (
	ipProtoTCP = 6
	tcpMinLen  = 20
	ip6Len     = 40
)

// ParseNetScaler reads a NetScaler Client IP header at the start of b
// whose magic number is magic. It returns the client's address and the
// one it connected to, and the header's length in bytes; ErrShort when b
// is a valid but incomplete prefix (never more is asked for than the
// header needs). Every other error means the connection must be closed.
func ParseNetScaler(b []byte, magic uint32) (src, dst netip.AddrPort, n int, err error) {
	var m [4]byte
	binary.BigEndian.PutUint32(m[:], magic)
	if !prefixOf(b, m[:]) {
		return src, dst, 0, ErrCIPMagic
	}
	if len(b) < 9 {
		return src, dst, 0, ErrShort
	}
	var off, length int
	switch {
	case b[8]&0xd0 == 0x40:
		l := binary.BigEndian.Uint32(b[4:8])
		if l > MaxCIPLen {
			return src, dst, 0, ErrInvalid
		}
		off, length = 8, int(l)
	case b[8] == 0:
		if len(b) < 12 {
			return src, dst, 0, ErrShort
		}
		off, length = 12, int(binary.BigEndian.Uint16(b[10:12]))
	default:
		return src, dst, 0, ErrCIPProto
	}
	n = off + length
	if length > MaxCIPLen {
		return src, dst, 0, ErrInvalid
	}
	if len(b) < n {
		return src, dst, 0, ErrShort
	}
	p := b[off:n]
	// The header must hold the whole IP header and a TCP header: the
	// ports are read from it, never from the bytes that follow.
	if len(p) < 1 {
		return src, dst, 0, ErrInvalid
	}
	var tcp []byte
	switch p[0] >> 4 {
	case 4:
		ihl := int(p[0]&0x0f) * 4
		if ihl < 20 || len(p) < ihl+tcpMinLen {
			return src, dst, 0, ErrInvalid
		}
		if p[9] != ipProtoTCP {
			return src, dst, 0, ErrCIPProto
		}
		tcp = p[ihl:]
		sa, da := netip.AddrFrom4([4]byte(p[12:16])), netip.AddrFrom4([4]byte(p[16:20]))
		src = netip.AddrPortFrom(sa, binary.BigEndian.Uint16(tcp[0:2]))
		dst = netip.AddrPortFrom(da, binary.BigEndian.Uint16(tcp[2:4]))
	case 6:
		if len(p) < ip6Len+tcpMinLen {
			return src, dst, 0, ErrInvalid
		}
		if p[6] != ipProtoTCP {
			return src, dst, 0, ErrCIPProto
		}
		tcp = p[ip6Len:]
		sa, da := netip.AddrFrom16([16]byte(p[8:24])), netip.AddrFrom16([16]byte(p[24:40]))
		src = netip.AddrPortFrom(sa, binary.BigEndian.Uint16(tcp[0:2]))
		dst = netip.AddrPortFrom(da, binary.BigEndian.Uint16(tcp[2:4]))
	default:
		return src, dst, 0, ErrCIPProto
	}
	return src, dst, n, nil
}
