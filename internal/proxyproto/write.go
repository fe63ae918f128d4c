package proxyproto

import (
	"encoding/binary"
	"hash/crc32"
	"net/netip"
	"strconv"
)

// AppendV1 appends a version 1 line for a client src talking to dst.
// Addresses that are missing or of different families give "PROXY
// UNKNOWN", as HAProxy sends.
func AppendV1(b []byte, src, dst netip.AddrPort) []byte {
	s, d := src.Addr().Unmap(), dst.Addr().Unmap()
	if !s.IsValid() || !d.IsValid() || s.Is4() != d.Is4() {
		return append(b, "PROXY UNKNOWN\r\n"...)
	}
	b = append(b, "PROXY TCP4 "...)
	if !s.Is4() {
		b[len(b)-2] = '6'
	}
	b = s.WithZone("").AppendTo(b)
	b = append(b, ' ')
	b = d.WithZone("").AppendTo(b)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(src.Port()), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(dst.Port()), 10)
	return append(b, '\r', '\n')
}

// AppendV2 appends a version 2 header with tlvs. Without usable addresses
// it sends the LOCAL command; mixed families are sent as IPv6 with the
// IPv4 address mapped. crc adds a CRC32C TLV first and fills it last.
func AppendV2(b []byte, src, dst netip.AddrPort, tlvs []TLV, crc bool) []byte {
	start := len(b)
	b = append(b, sigV2...)
	s, d := src.Addr().Unmap(), dst.Addr().Unmap()
	switch {
	case !s.IsValid() || !d.IsValid():
		b = append(b, 0x20, 0x00, 0, 0)
	case s.Is4() && d.Is4():
		b = append(b, 0x21, 0x11, 0, 0)
		b = append(b, s.AsSlice()...)
		b = append(b, d.AsSlice()...)
		b = binary.BigEndian.AppendUint16(b, src.Port())
		b = binary.BigEndian.AppendUint16(b, dst.Port())
	default:
		b = append(b, 0x21, 0x21, 0, 0)
		s16, d16 := s.As16(), d.As16()
		b = append(b, s16[:]...)
		b = append(b, d16[:]...)
		b = binary.BigEndian.AppendUint16(b, src.Port())
		b = binary.BigEndian.AppendUint16(b, dst.Port())
	}
	crcAt := -1
	if crc {
		b = append(b, TypeCRC32C, 0, 4)
		crcAt = len(b)
		b = append(b, 0, 0, 0, 0)
	}
	for _, t := range tlvs {
		b = AppendTLV(b, t.Type, t.Value)
	}
	binary.BigEndian.PutUint16(b[start+14:], uint16(len(b)-start-16))
	if crcAt >= 0 {
		binary.BigEndian.PutUint32(b[crcAt:], crc32.Checksum(b[start:], castagnoli))
	}
	return b
}

// AppendTLV appends one TLV; a value past 64 KB is cut (no caller sends
// one: the header would not fit MaxV2Len anyway).
func AppendTLV(b []byte, t byte, v []byte) []byte {
	if len(v) > 0xffff {
		v = v[:0xffff]
	}
	b = append(b, t)
	b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
	return append(b, v...)
}
