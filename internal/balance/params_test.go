package balance

import (
	"errors"
	"strings"
	"testing"
)

func TestParseParams(t *testing.T) {
	tests := []struct {
		args    []string
		want    Params
		wantErr string
	}{
		{nil, Params{Algo: RoundRobin}, ""},
		{[]string{"roundrobin"}, Params{Algo: RoundRobin}, ""},
		{[]string{"static-rr"}, Params{Algo: StaticRR}, ""},
		{[]string{"leastconn"}, Params{Algo: LeastConn}, ""},
		{[]string{"first"}, Params{Algo: First}, ""},
		{[]string{"source"}, Params{Algo: Source}, ""},
		{[]string{"random"}, Params{Algo: Random, Draws: 2}, ""},
		{[]string{"random(5)"}, Params{Algo: Random, Draws: 5}, ""},
		{[]string{"random(0)"}, Params{}, "number of draws must be at least 1"},
		{[]string{"random(3"}, Params{}, "missing closing parenthesis"},
		{[]string{"random(x)"}, Params{}, "invalid number of draws"},
		{[]string{"randomly"}, Params{}, "only supports"},
		{[]string{"uri"}, Params{Algo: URI}, ""},
		{[]string{"uri", "whole", "path-only", "len", "12", "depth", "3"}, Params{Algo: URI, Whole: true, PathOnly: true, Len: 12, Depth: 3}, ""},
		{[]string{"uri", "len"}, Params{}, "'len' expects a positive integer (got '')"},
		{[]string{"uri", "depth", "0"}, Params{}, "'depth' expects a positive integer (got '0')"},
		{[]string{"uri", "deep"}, Params{}, "uri only accepts parameters 'len', 'depth', 'path-only', and 'whole' (got 'deep')"},
		{[]string{"url_param", "userid"}, Params{Algo: URLParam, Name: "userid"}, ""},
		{[]string{"url_param", "sid", "check_post", "64"}, Params{Algo: URLParam, Name: "sid", CheckPost: true}, ""},
		{[]string{"url_param"}, Params{}, "url_param requires an URL parameter name"},
		{[]string{"url_param", "sid", "post"}, Params{}, "only accepts 'check_post' modifier (got 'post')"},
		{[]string{"hdr(Host)"}, Params{Algo: Header, Name: "Host"}, ""},
		{[]string{"hdr(host)", "use_domain_only"}, Params{Algo: Header, Name: "host", DomainOnly: true}, ""},
		{[]string{"hdr()"}, Params{}, "hdr requires an http header field name"},
		{[]string{"hdr(host"}, Params{}, "hdr requires an http header field name"},
		{[]string{"hdr(host)", "domain"}, Params{}, "only accepts 'use_domain_only' modifier (got 'domain')"},
		{[]string{"rdp-cookie"}, Params{Algo: RDPCookie, Name: "mstshash"}, ""},
		{[]string{"rdp-cookie(user)"}, Params{Algo: RDPCookie, Name: "user"}, ""},
		{[]string{"rdp-cookie()"}, Params{}, "rdp-cookie : missing cookie name"},
		{[]string{"hash", "req.cookie(id)"}, Params{Algo: HashExpr, Name: "req.cookie(id)"}, ""},
		{[]string{"hash"}, Params{}, "hash requires a sample expression"},
		{[]string{"hash", "a", "b"}, Params{}, "hash takes no other argument (got 'b')"},
		{[]string{"leastconn", "x"}, Params{}, "leastconn takes no other argument (got 'x')"},
		{[]string{"fastest"}, Params{}, "only supports 'roundrobin'"},
	}
	for _, tt := range tests {
		got, err := ParseParams(tt.args)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseParams(%q) error = %v, want containing %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseParams(%q): %v", tt.args, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseParams(%q) = %+v, want %+v", tt.args, got, tt.want)
		}
	}
	if _, err := ParseParams([]string{"nope"}); !errors.Is(err, ErrUnknownAlgorithm) {
		t.Errorf("unknown algorithm error %v does not wrap ErrUnknownAlgorithm", err)
	}
}

func TestParamsStringRoundTrip(t *testing.T) {
	for _, line := range []string{
		"roundrobin", "static-rr", "leastconn", "first", "source", "random", "random(3)",
		"uri", "uri whole path-only len 4 depth 2", "url_param id check_post",
		"hdr(Host) use_domain_only", "rdp-cookie(mstshash)", "hash req.cookie(x)",
	} {
		p, err := ParseParams(strings.Fields(line))
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if got := p.String(); got != line {
			t.Errorf("String() = %q, want %q", got, line)
		}
	}
}

func TestParamsInputAndDynamic(t *testing.T) {
	for _, tt := range []struct {
		line    string
		in      Input
		dynMap  bool
		dynCons bool
	}{
		{"roundrobin", InputNone, true, true},
		{"static-rr", InputNone, false, false},
		{"leastconn", InputNone, true, true},
		{"random", InputNone, true, true},
		{"source", InputSource, false, true},
		{"uri", InputURI, false, true},
		{"url_param x", InputValue, false, true},
		{"hdr(x)", InputValue, false, true},
	} {
		p, _ := ParseParams(strings.Fields(tt.line))
		if p.Input() != tt.in {
			t.Errorf("%s: Input = %v, want %v", tt.line, p.Input(), tt.in)
		}
		if got := p.Dynamic(HashType{}); got != tt.dynMap {
			t.Errorf("%s: Dynamic(map-based) = %v", tt.line, got)
		}
		if got := p.Dynamic(HashType{Method: Consistent}); got != tt.dynCons {
			t.Errorf("%s: Dynamic(consistent) = %v", tt.line, got)
		}
	}
}

func TestParseHashType(t *testing.T) {
	tests := []struct {
		args    []string
		want    HashType
		wantErr string
	}{
		{[]string{"map-based"}, HashType{}, ""},
		{[]string{"consistent"}, HashType{Method: Consistent, Avalanche: true}, ""},
		{[]string{"consistent", "sdbm"}, HashType{Method: Consistent}, ""},
		{[]string{"map-based", "djb2", "avalanche"}, HashType{Func: DJB2, Avalanche: true}, ""},
		{[]string{"consistent", "wt6"}, HashType{Method: Consistent, Func: WT6}, ""},
		{[]string{"map-based", "crc32"}, HashType{Func: CRC32}, ""},
		{nil, HashType{}, "only supports 'consistent' and 'map-based'"},
		{[]string{"ring"}, HashType{}, "only supports 'consistent' and 'map-based'"},
		{[]string{"avalanche"}, HashType{}, "not supported anymore"},
		{[]string{"consistent", "md5"}, HashType{}, "only supports 'sdbm', 'djb2', 'crc32', or 'wt6'"},
		{[]string{"consistent", "sdbm", "mix"}, HashType{}, "only supports 'avalanche' as a modifier"},
		{[]string{"consistent", "sdbm", "avalanche", "x"}, HashType{}, "takes no other argument"},
	}
	for _, tt := range tests {
		got, err := ParseHashType(tt.args)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseHashType(%q) error = %v, want containing %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseHashType(%q) = %+v, %v; want %+v", tt.args, got, err, tt.want)
		}
	}
}

func FuzzParseParams(f *testing.F) {
	for _, s := range []string{"roundrobin", "random(3)", "uri len 3 depth 2 whole", "hdr(host) use_domain_only", "url_param a check_post 1", "rdp-cookie(x)", "random(", "hdr(()"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		p, err := ParseParams(strings.Fields(line))
		if err != nil {
			return
		}
		// Whatever parses must render to something that parses the same.
		again, err := ParseParams(strings.Fields(p.String()))
		if err != nil {
			t.Fatalf("%q -> %q: %v", line, p.String(), err)
		}
		if p.Algo == Random && p.Draws == 0 {
			t.Fatalf("random with 0 draws from %q", line)
		}
		if again.Algo != p.Algo || again.Name != p.Name {
			t.Fatalf("%q -> %+v -> %+v", line, p, again)
		}
	})
}
