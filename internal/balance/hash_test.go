package balance

import (
	"net/netip"
	"testing"
)

// Reference values were computed with HAProxy 2.6.0's src/hash.c and
// full_hash(), so the mappings stay identical across the migration.
func TestHashFunctionsMatchHAProxy(t *testing.T) {
	tests := []struct {
		in                     string
		sdbm, djb2, wt6, crc32 uint32
	}{
		{"", 0x00000000, 0x00001505, 0xf99a0360, 0x00000000},
		{"a", 0x00000061, 0x0002b606, 0x714bf225, 0xe8b7be43},
		{"/index.html", 0x33242976, 0xe114b9cf, 0x3101077e, 0xea224b42},
		{"haproxy.1wt.eu", 0xd5016dc9, 0x55369522, 0x50a60c3a, 0x12ebd928},
		{"123456789", 0x68a07035, 0x35cdbb82, 0x84a16c1d, 0xcbf43926},
		{"The quick brown fox jumps over the lazy dog", 0x8ca77173, 0x34cc38de, 0xe4e7b045, 0x414fa339},
	}
	for _, tt := range tests {
		for _, c := range []struct {
			f    HashFunc
			want uint32
		}{{SDBM, tt.sdbm}, {DJB2, tt.djb2}, {WT6, tt.wt6}, {CRC32, tt.crc32}} {
			if got := (HashType{Func: c.f}).Sum(tt.in); got != c.want {
				t.Errorf("%v(%q) = %#08x, want %#08x", c.f, tt.in, got, c.want)
			}
		}
	}
}

func TestAvalancheMatchesHAProxy(t *testing.T) {
	for _, tt := range []struct{ in, want uint32 }{
		{0x00000000, 0x6b4ed927},
		{0x00000001, 0xb48681b6},
		{0x00001000, 0x09c2008b},
		{0x0a000001, 0xaaa26e52},
		{0xffffffff, 0xfe64c182},
	} {
		if got := avalanche(tt.in); got != tt.want {
			t.Errorf("avalanche(%#x) = %#08x, want %#08x", tt.in, got, tt.want)
		}
	}
	if got, want := (HashType{Avalanche: true}).Sum("a"), avalanche(0x61); got != want {
		t.Errorf("sdbm+avalanche = %#x, want %#x", got, want)
	}
}

func TestSourceHash(t *testing.T) {
	ht := HashType{}
	if got := ht.sourceHash(netip.MustParseAddr("10.0.0.1")); got != 0x0a000001 {
		t.Errorf("v4 = %#x", got)
	}
	// IPv6: XOR of the four big-endian words (the zero word drops out).
	got := ht.sourceHash(netip.MustParseAddr("2001:db8::1:0:0:1"))
	if want := uint32(0x20010db8 ^ 0x00010000 ^ 0x00000001); got != want {
		t.Errorf("v6 = %#x, want %#x", got, want)
	}
	if got := (HashType{Avalanche: true}).sourceHash(netip.MustParseAddr("10.0.0.1")); got != 0xaaa26e52 {
		t.Errorf("v4 avalanche = %#x", got)
	}
}

func TestURIKey(t *testing.T) {
	tests := []struct {
		args []string
		uri  string
		want string
	}{
		{[]string{"uri"}, "/a/b/c?x=1", "/a/b/c"},
		{[]string{"uri", "whole"}, "/a/b/c?x=1", "/a/b/c?x=1"},
		{[]string{"uri", "len", "4"}, "/a/b/c?x=1", "/a/b"},
		{[]string{"uri", "len", "100"}, "/a/b", "/a/b"},
		{[]string{"uri", "depth", "1"}, "/a/b/c?x=1", "/a"},
		{[]string{"uri", "depth", "2"}, "/a/b/c?x=1", "/a/b"},
		{[]string{"uri", "depth", "5"}, "/a/b/c?x=1", "/a/b/c"},
		{[]string{"uri", "depth", "2", "whole"}, "/a?q=/x/y", "/a?q=/x"},
		{[]string{"uri", "len", "3", "depth", "2"}, "/ab/cd", "/ab"},
		{[]string{"uri"}, "http://h.example/p/q?z", "http://h.example/p/q"},
		{[]string{"uri", "path-only"}, "http://h.example/p/q?z", "/p/q"},
		{[]string{"uri", "path-only", "whole"}, "https://u@h:8080/p?z", "/p?z"},
		{[]string{"uri", "path-only"}, "/p/q", "/p/q"},
		{[]string{"uri", "path-only"}, "h.example:443", ""},
		{[]string{"uri", "path-only"}, "*", ""},
		{[]string{"uri", "path-only"}, "http://h.example", ""},
	}
	for _, tt := range tests {
		p, err := ParseParams(tt.args)
		if err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if got := p.uriKey(tt.uri); got != tt.want {
			t.Errorf("%v on %q = %q, want %q", tt.args, tt.uri, got, tt.want)
		}
	}
}

func TestDomainKey(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"haproxy.1wt.eu", "1wt"},
		{"example.com", "example"},
		{"www.example.com:8080", "example"},
		{"localhost", "localhost"},
		{".com", ".com"},
		{"a..com", "a."}, // HAProxy never checks the byte right before the TLD dot
		{"example.com.", "com"},
		{"", ""},
	} {
		if got := domainKey(tt.in); got != tt.want {
			t.Errorf("domainKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestURLParamValue(t *testing.T) {
	for _, tt := range []struct {
		uri, name, want string
		ok              bool
	}{
		{"/p?user=42&x=1", "user", "42", true},
		{"/p?x=1&user=42", "user", "42", true},
		{"/p?x=1&user=", "user", "", true},
		{"/p?xuser=1&user=2", "user", "2", true},
		{"/p?user", "user", "", false},
		{"/p?User=1", "user", "", false},
		{"/p", "user", "", false},
		{"/p?a=1&b=2", "user", "", false},
		{"/p?user=a=b&c", "user", "a=b", true},
	} {
		got, ok := URLParamValue(tt.uri, tt.name)
		if got != tt.want || ok != tt.ok {
			t.Errorf("URLParamValue(%q, %q) = %q, %v; want %q, %v", tt.uri, tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzHashedPick(f *testing.F) {
	f.Add("/a/b/c?x=1", "www.example.com", uint8(0))
	f.Add("http://h/p?q", ".", uint8(3))
	f.Add("", "", uint8(255))
	f.Fuzz(func(t *testing.T, uri, value string, opt uint8) {
		p := Params{Algo: URI, Whole: opt&1 != 0, PathOnly: opt&2 != 0, Len: int(opt >> 4), Depth: int(opt>>2) & 3}
		if k := p.uriKey(uri); len(k) > len(uri) {
			t.Fatalf("uri key %q longer than %q", k, uri)
		}
		if d := domainKey(value); len(d) > len(value) {
			t.Fatalf("domain key %q longer than %q", d, value)
		}
		URLParamValue(uri, value)
		ht := HashType{Method: HashMethod(opt & 1), Func: HashFunc(opt>>1) & 3, Avalanche: opt&8 != 0}
		srvs := servers(1, 2, 3)
		for _, bp := range []Params{p, {Algo: Header, Name: "host", DomainOnly: true}, {Algo: URLParam, Name: "id"}} {
			b, err := New(bp, ht, srvs)
			if err != nil {
				t.Fatal(err)
			}
			i, st := b.Pick(Key{URI: uri, Value: value, HasValue: opt&4 != 0})
			if st != OK || i < 0 || i >= len(srvs) {
				t.Fatalf("pick = %d, %v", i, st)
			}
			b.Release(i)
		}
	})
}
