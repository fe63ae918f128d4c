package proxyproto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const v2sig = "0d0a0d0a000d0a515549540a"

func TestParse(t *testing.T) {
	ap := netip.MustParseAddrPort
	for _, tc := range []struct {
		name     string
		in       string // text, or hex when it starts with "hex:"
		err      error
		n        int
		src, dst string
		local    bool
		auth     string
	}{
		{name: "v1 tcp4", in: "PROXY TCP4 192.0.2.1 198.51.100.2 4242 80\r\nGET", n: 43, src: "192.0.2.1:4242", dst: "198.51.100.2:80"},
		{name: "v1 tcp6", in: "PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n", n: 44, src: "[2001:db8::1]:1", dst: "[2001:db8::2]:65535"},
		{name: "v1 unknown", in: "PROXY UNKNOWN ff 1 2\r\n", n: 22, local: true},
		{name: "v1 unknown bare", in: "PROXY UNKNOWN\r\n", n: 15, local: true},
		{name: "v1 prefix", in: "PROXY TCP4 192.0.2.1", err: ErrShort},
		{name: "v1 short sig", in: "PRO", err: ErrShort},
		{name: "v1 family mismatch", in: "PROXY TCP4 2001:db8::1 192.0.2.1 1 2\r\n", err: ErrInvalid},
		{name: "v1 port too big", in: "PROXY TCP4 192.0.2.1 192.0.2.2 65536 2\r\n", err: ErrInvalid},
		{name: "v1 leading zero", in: "PROXY TCP4 192.0.2.1 192.0.2.2 01 2\r\n", err: ErrInvalid},
		{name: "v1 bare LF", in: "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\n", err: ErrInvalid},
		{name: "v1 extra field", in: "PROXY TCP4 192.0.2.1 192.0.2.2 1 2 3\r\n", err: ErrInvalid},
		{name: "v1 too long", in: "PROXY TCP4 " + strings.Repeat("1", 120), err: ErrTooLong},
		{name: "http", in: "GET / HTTP/1.1\r\n", err: ErrNotProxy},
		{name: "wrong sig", in: "PROXZ TCP4", err: ErrNotProxy},
		{name: "v2 tcp4 authority", in: "hex:" + v2sig + "21 11 0014 7f000001 7f000001 002a 0539 02 0005 3132333435",
			n: 36, src: "127.0.0.1:42", dst: "127.0.0.1:1337", auth: "12345"},
		{name: "v2 tlv past end", in: "hex:" + v2sig + "21 11 0014 7f000001 7f000001 002a 0539 02 000a 3132333435", err: ErrInvalid},
		{name: "v2 tlv leftover", in: "hex:" + v2sig + "21 11 0014 7f000001 7f000001 002a 0539 02 0004 3132333435", err: ErrInvalid},
		{name: "v2 short tlv head", in: "hex:" + v2sig + "21 11 000e 7f000001 7f000001 002a 0539 0200", err: ErrInvalid},
		{name: "v2 truncated", in: "hex:" + v2sig + "21 11 000c 7f000001", err: ErrShort},
		{name: "v2 addr past len", in: "hex:" + v2sig + "21 11 0008 7f000001 7f000001", err: ErrInvalid},
		{name: "v2 local", in: "hex:" + v2sig + "20 00 0000", n: 16, local: true},
		{name: "v2 bad version", in: "hex:" + v2sig + "11 11 0000", err: ErrInvalid},
		{name: "v2 bad command", in: "hex:" + v2sig + "22 11 0000", err: ErrInvalid},
		{name: "v2 bad family", in: "hex:" + v2sig + "21 41 0000", err: ErrInvalid},
		{name: "v2 too long", in: "hex:" + v2sig + "21 11 ffff", err: ErrTooLong},
		{name: "v2 bad sig", in: "hex:0d0a0d0a000d0a515549540b 21 11 0000", err: ErrNotProxy},
		{name: "v2 unique id too long", in: "hex:" + v2sig + "21 00 0084 05 0081" + strings.Repeat("41", 129), err: ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			if strings.HasPrefix(tc.in, "hex:") {
				in = unhex(t, tc.in[4:])
			}
			h, n, err := Parse(in)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if n != tc.n || h.Local != tc.local {
				t.Fatalf("n=%d local=%v, want %d %v", n, h.Local, tc.n, tc.local)
			}
			if tc.src != "" && (h.Src != ap(tc.src) || h.Dst != ap(tc.dst)) {
				t.Fatalf("addrs %v %v, want %s %s", h.Src, h.Dst, tc.src, tc.dst)
			}
			if v, ok := h.TLV(TypeAuthority); string(v) != tc.auth || ok != (tc.auth != "") {
				t.Fatalf("authority %q %v, want %q", v, ok, tc.auth)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	ap := netip.MustParseAddrPort
	for _, c := range [][2]string{
		{"192.0.2.1:1", "198.51.100.2:443"},
		{"[2001:db8::1]:65535", "[2001:db8::2]:80"},
		{"[::ffff:192.0.2.1]:5", "[::ffff:192.0.2.2]:6"}, // Go's view of IPv4 on a dual-stack socket
	} {
		src, dst := ap(c[0]), ap(c[1])
		v1 := AppendV1(nil, src, dst)
		h, n, err := Parse(v1)
		if err != nil || n != len(v1) || h.Src.Addr() != src.Addr().Unmap() || h.Dst.Port() != dst.Port() {
			t.Fatalf("v1 %q: %v %v", v1, h, err)
		}
		tlvs := []TLV{{TypeAuthority, []byte("example.com")}, {TypeUniqueID, []byte("id-1")}}
		v2 := AppendV2(nil, src, dst, tlvs, true)
		h, n, err = Parse(v2)
		if err != nil || n != len(v2) || h.Src.Addr().Unmap() != src.Addr().Unmap() || h.Src.Port() != src.Port() {
			t.Fatalf("v2 %x: %v %v", v2, h, err)
		}
		if v, _ := h.TLV(TypeUniqueID); string(v) != "id-1" {
			t.Fatalf("unique id %q", v)
		}
		// A flipped bit anywhere in a checksummed header is caught.
		v2[len(v2)-1] ^= 1
		if _, _, err := Parse(v2); !errors.Is(err, ErrChecksum) {
			t.Fatalf("corrupted header: %v", err)
		}
	}
	if got := string(AppendV1(nil, ap("192.0.2.1:1"), ap("[2001:db8::1]:2"))); got != "PROXY UNKNOWN\r\n" {
		t.Fatalf("mixed families: %q", got)
	}
	if got := AppendV2(nil, netip.AddrPort{}, netip.AddrPort{}, nil, false); !bytes.Equal(got, unhex(t, v2sig+"20000000")) {
		t.Fatalf("no addresses: %x", got)
	}
}

// FuzzParse checks that no input panics, that a header never claims more
// bytes than given, and that ErrShort really means "a longer input may
// parse": a prefix of a valid header is always ErrShort.
func FuzzParse(f *testing.F) {
	f.Add([]byte("PROXY TCP4 192.0.2.1 198.51.100.2 4242 80\r\n"))
	f.Add(unhex(f, v2sig+"21110014 7f000001 7f000001 002a 0539 02 0005 3132333435"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := Parse(b)
		if err != nil {
			return
		}
		if n <= 0 || n > len(b) || h == nil {
			t.Fatalf("n=%d len=%d", n, len(b))
		}
		for i := 0; i < n; i++ {
			if _, _, err := Parse(b[:i]); err != ErrShort {
				t.Fatalf("prefix %d of a valid header: %v", i, err)
			}
		}
		if h.Version == 2 {
			for _, tlv := range h.TLVs {
				if len(tlv.Value) > n {
					t.Fatal("TLV longer than header")
				}
			}
		}
	})
}

// The length field ends the header: a TLV after it belongs to the
// payload (HAProxy's proxy_protocol_tlv_validation c2), so it is neither
// parsed nor consumed.
func TestParseV2StopsAtLength(t *testing.T) {
	hdr := unhex(t, v2sig+"21110014 7f000001 7f000001 002a 0539 02 0005 3132333435")
	b := append(append([]byte(nil), hdr...), unhex(t, "02 0005 3534333231")...)
	h, n, err := Parse(b)
	if err != nil || n != len(hdr) {
		t.Fatalf("n=%d err=%v, want %d", n, err, len(hdr))
	}
	if v, ok := h.TLV(TypeAuthority); !ok || string(v) != "12345" || len(h.TLVs) != 1 {
		t.Errorf("TLVs %+v: want only AUTHORITY 12345", h.TLVs)
	}
}
