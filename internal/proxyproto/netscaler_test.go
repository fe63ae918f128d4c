package proxyproto

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

// cipIP4 is the IPv4 and TCP headers of a packet from 192.0.2.1:1111 to
// 198.51.100.2:80 (ihl 5, protocol proto).
func cipIP4(proto byte) []byte {
	b := []byte{0x45, 0, 0, 40, 0, 0, 0, 0, 64, proto, 0, 0, 192, 0, 2, 1, 198, 51, 100, 2}
	return append(b, 0x04, 0x57, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x10, 0, 0, 0, 0, 0, 0)
}

// cipIP6 is the IPv6 and TCP headers of a packet from [2001:db8::1]:2222
// to [2001:db8::2]:443.
func cipIP6(next byte) []byte {
	b := []byte{0x60, 0, 0, 0, 0, 20, next, 64}
	s, d := netip.MustParseAddr("2001:db8::1").As16(), netip.MustParseAddr("2001:db8::2").As16()
	b = append(append(b, s[:]...), d[:]...)
	return append(b, 0x08, 0xae, 0x01, 0xbb, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x10, 0, 0, 0, 0, 0, 0)
}

func cipLegacy(magic uint32, p []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, magic)
	b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
	return append(b, p...)
}

func cipStandard(magic uint32, p []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, magic)
	b = binary.BigEndian.AppendUint32(b, uint32(12+len(p)))
	b = binary.BigEndian.AppendUint16(b, 1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(p)))
	return append(b, p...)
}

func TestParseNetScaler(t *testing.T) {
	ap := netip.MustParseAddrPort
	v4s, v4d := ap("192.0.2.1:1111"), ap("198.51.100.2:80")
	v6s, v6d := ap("[2001:db8::1]:2222"), ap("[2001:db8::2]:443")
	opts := append([]byte{0x46}, cipIP4(6)[1:20]...)
	opts = append(append(opts, 1, 1, 1, 1), cipIP4(6)[20:]...) // ihl 6: 4 bytes of IP options
	short := cipLegacy(7, cipIP4(6)[:20])                      // no TCP header
	binary.BigEndian.PutUint32(short[4:8], 20)
	for _, tc := range []struct {
		name     string
		in       []byte
		src, dst netip.AddrPort
		n        int
		err      error
	}{
		{"legacy v4", cipLegacy(7, cipIP4(6)), v4s, v4d, 48, nil},
		{"standard v4", cipStandard(7, cipIP4(6)), v4s, v4d, 52, nil},
		{"legacy v6", cipLegacy(7, cipIP6(6)), v6s, v6d, 68, nil},
		{"standard v6", cipStandard(7, cipIP6(6)), v6s, v6d, 72, nil},
		{"payload after", append(cipLegacy(7, cipIP4(6)), "GET /"...), v4s, v4d, 48, nil},
		{"IP options", cipLegacy(7, opts), v4s, v4d, 52, nil},
		{"wrong magic", cipLegacy(8, cipIP4(6)), netip.AddrPort{}, netip.AddrPort{}, 0, ErrCIPMagic},
		{"not CIP at all", []byte("GET / HTTP/1.1\r\n\r\n"), netip.AddrPort{}, netip.AddrPort{}, 0, ErrCIPMagic},
		{"UDP", cipLegacy(7, cipIP4(17)), netip.AddrPort{}, netip.AddrPort{}, 0, ErrCIPProto},
		{"IPv6 UDP", cipStandard(7, cipIP6(17)), netip.AddrPort{}, netip.AddrPort{}, 0, ErrCIPProto},
		{"unknown framing", append(binary.BigEndian.AppendUint64(nil, 7<<32|40), 0x20), netip.AddrPort{}, netip.AddrPort{}, 0, ErrCIPProto},
		{"no TCP header", short, netip.AddrPort{}, netip.AddrPort{}, 0, ErrInvalid},
		{"length past the bound", binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(nil, 7<<32|(MaxCIPLen+1)), 0x45000000), netip.AddrPort{}, netip.AddrPort{}, 0, ErrInvalid},
		{"truncated", cipLegacy(7, cipIP4(6))[:30], netip.AddrPort{}, netip.AddrPort{}, 0, ErrShort},
		{"magic only", cipLegacy(7, cipIP4(6))[:4], netip.AddrPort{}, netip.AddrPort{}, 0, ErrShort},
		{"empty", nil, netip.AddrPort{}, netip.AddrPort{}, 0, ErrShort},
	} {
		src, dst, n, err := ParseNetScaler(tc.in, 7)
		if err != tc.err || n != tc.n || src != tc.src || dst != tc.dst {
			t.Errorf("%s: %v %v %d %v, want %v %v %d %v", tc.name, src, dst, n, err, tc.src, tc.dst, tc.n, tc.err)
		}
	}
	// Every prefix of a valid header asks for more, never fails.
	for _, full := range [][]byte{cipLegacy(7, cipIP4(6)), cipStandard(7, cipIP6(6))} {
		for i := range full {
			if _, _, _, err := ParseNetScaler(full[:i], 7); err != ErrShort {
				t.Fatalf("prefix %d: %v", i, err)
			}
		}
	}
}

func FuzzParseNetScaler(f *testing.F) {
	f.Add(cipLegacy(0, cipIP4(6)), uint32(0))
	f.Add(cipStandard(0x1234, cipIP6(6)), uint32(0x1234))
	f.Fuzz(func(t *testing.T, b []byte, magic uint32) {
		src, dst, n, err := ParseNetScaler(b, magic)
		if err != nil {
			if n != 0 {
				t.Fatalf("error %v with length %d", err, n)
			}
			return
		}
		if n <= 8 || n > len(b) || n > 12+MaxCIPLen || !src.IsValid() || !dst.IsValid() {
			t.Fatalf("n=%d len=%d src=%v dst=%v", n, len(b), src, dst)
		}
		if binary.BigEndian.Uint32(b) != magic {
			t.Fatal("accepted a wrong magic number")
		}
		for i := 0; i < n; i++ {
			if _, _, _, err := ParseNetScaler(b[:i], magic); err != ErrShort {
				t.Fatalf("prefix %d of a valid header: %v", i, err)
			}
		}
	})
}
