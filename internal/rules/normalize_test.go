package rules_test

import (
	"testing"

	"bulwark/internal/rules"
)

// The examples of CM 4.2 "http-request normalize-uri" and of HAProxy's
// normalize_uri reg-test.
func TestNormalizeURI(t *testing.T) {
	for _, tc := range []struct{ norm, in, want string }{
		{"path-merge-slashes", "///foo///bar///", "/foo/bar/"},
		{"path-merge-slashes", "//foo?bar=///", "/foo?bar=///"},
		{"path-merge-slashes", "*", "*"},
		{"path-strip-dot", "/.", "/"},
		{"path-strip-dot", "/./bar/", "/bar/"},
		{"path-strip-dot", "/a/./a", "/a/a"},
		{"path-strip-dot", "/a/.", "/a/"},
		{"path-strip-dot", "/.well-known/", "/.well-known/"},
		{"path-strip-dot", "/a/../a", "/a/../a"},
		{"path-strip-dot", "/?a=/./", "/?a=/./"},
		{"path-strip-dotdot", "/foo/..", "/"},
		{"path-strip-dotdot", "/foo/../bar/", "/bar/"},
		{"path-strip-dotdot", "/foo/bar/../", "/foo/"},
		{"path-strip-dotdot", "/../bar/", "/../bar/"},
		{"path-strip-dotdot", "/bar/../../", "/../"},
		{"path-strip-dotdot", "/foo//../", "/foo/"},
		{"path-strip-dotdot", "/foo//../../bar/", "/bar/"},
		{"path-strip-dotdot", "/foo/%2E%2E/", "/foo/%2E%2E/"},
		{"path-strip-dotdot", "/foo/../?bar=/foo/../", "/?bar=/foo/../"},
		{"path-strip-dotdot full", "/../bar/", "/bar/"},
		{"path-strip-dotdot full", "/bar/../../", "/"},
		{"path-strip-dotdot full", "/foo/../../bar/", "/bar/"},
		{"percent-decode-unreserved", "/%61dmin", "/admin"},
		{"percent-decode-unreserved", "/%61?%61=%61", "/a?a=a"},
		{"percent-decode-unreserved", "/foo%3Fbar=baz", "/foo%3Fbar=baz"},
		{"percent-decode-unreserved", "/%%36%36", "/%66"},
		{"percent-decode-unreserved", "/%ZZ", "/%ZZ"},
		{"percent-decode-unreserved strict", "/%%36%36", "400"},
		{"percent-decode-unreserved strict", "/%ZZ", "400"},
		{"percent-to-uppercase", "/%6f", "/%6F"},
		{"percent-to-uppercase", "/%aa?a=%aa", "/%AA?a=%AA"},
		{"percent-to-uppercase", "/%zz", "/%zz"},
		{"percent-to-uppercase strict", "/%zz", "400"},
		{"query-sort-by-name", "/?c=3&a=1&b=2", "/?a=1&b=2&c=3"},
		{"query-sort-by-name", "/?aaa=3&a=1&aa=2", "/?a=1&aa=2&aaa=3"},
		{"query-sort-by-name", "/?a=3&b=4&a=1&b=5&a=2", "/?a=3&a=1&a=2&b=4&b=5"},
		{"query-sort-by-name", "/?", "/?"},
		{"fragment-strip", "/#foo", "/"},
		{"fragment-encode", "/#foo/#foo", "/%23foo/%23foo"},
		{"path-merge-slashes", "http://h//a//b?x", "http://h/a/b?x"},
		// Checked against HAProxy 2.6.12 (a '#' brought in by set-uri).
		{"fragment-strip", "/a?b#c&d", "/a?b"},
		{"fragment-strip", "/%23foo", "/%23foo"},
		{"fragment-encode", "/a?b#c", "/a?b%23c"},
		{"path-merge-slashes", "/a//b#c//d", "/a/b#c/d"},
		{"query-sort-by-name", "/?a=1&z=2#c&b=3", "/?a=1&b=3&z=2#c"},
		{"query-sort-by-name", "/?b&a&", "/?a&b"},
		{"query-sort-by-name", "/?a&&", "/?&a"},
		{"query-sort-by-name", "/?&&", "/?&"},
		{"query-sort-by-name", "/?&", "/?"},
		{"percent-decode-unreserved", "/%7E%41%2d%2E%5F%30%e2%82%ac", "/~A-._0%e2%82%ac"},
		{"path-strip-dotdot", "/a/b/../../../c", "/../c"},
		// An absolute target's authority ends at the first '/' only.
		{"query-sort-by-name", "http://h?b&a", "http://h?b&a"},
		{"percent-decode-unreserved", "http://h?%61", "http://h?%61"},
		{"fragment-strip", "http://h?a#b", "http://h?a#b"},
		{"path-merge-slashes", "http://h?a//b", "http://h?a/b"},
	} {
		ev := mustSetup(t, head+" http-request normalize-uri "+tc.norm+"\n")
		tx := newTxn()
		tx.Tgt = tc.in
		res := run(ev.req, tx)
		got := tx.Tgt
		if res.Verdict == rules.Deny {
			got = "400"
			if res.Status != 400 {
				got = "deny"
			}
		}
		if got != tc.want {
			t.Errorf("%s %q = %q, want %q", tc.norm, tc.in, got, tc.want)
		}
	}
}

func TestReplaceURI(t *testing.T) {
	ev := mustSetup(t, head+` http-request replace-uri ^http://([^/]*)/(.*) /\1/\2`+"\n")
	tx := newTxn()
	tx.Tgt = "http://example.com/a?b"
	run(ev.req, tx)
	if tx.Tgt != "/example.com/a?b" {
		t.Errorf("replace-uri: %q", tx.Tgt)
	}
	tx.Tgt = "/plain"
	run(ev.req, tx)
	if tx.Tgt != "/plain" {
		t.Errorf("replace-uri without a match: %q", tx.Tgt)
	}
}
