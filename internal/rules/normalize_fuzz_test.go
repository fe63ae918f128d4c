package rules_test

import (
	"strings"
	"testing"

	"bulwark/internal/rules"
)

// FuzzNormalizeURI runs every normalizer over arbitrary targets: no panic,
// and what comes out is a target the request line can carry.
func FuzzNormalizeURI(f *testing.F) {
	for _, s := range []string{"/", "*", "/a/../b", "//x//y?b=2&a=1", "/%zz%6f", "/%%36%36", "/#f", "http://h//a/./b?x", "/..", "/?"} {
		f.Add(s)
	}
	var lists []*rules.List
	for _, n := range []string{"fragment-encode", "fragment-strip", "path-merge-slashes", "path-strip-dot",
		"path-strip-dotdot", "path-strip-dotdot full", "percent-decode-unreserved", "percent-decode-unreserved strict",
		"percent-to-uppercase", "percent-to-uppercase strict", "query-sort-by-name"} {
		lists = append(lists, mustSetup(f, head+" http-request normalize-uri "+n+"\n").req)
	}
	f.Fuzz(func(t *testing.T, target string) {
		if target == "" || strings.ContainsAny(target, " \r\n\x00") {
			return
		}
		for _, l := range lists {
			tx := newTxn()
			tx.Tgt = target
			res := run(l, tx)
			if res.Verdict == rules.Continue && tx.Tgt == "" {
				t.Fatalf("%q normalized to an empty target", target)
			}
		}
	})
}
