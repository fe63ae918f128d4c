package acl

import (
	"path/filepath"
	"strconv"
	"testing"
)

// The requests and answers are HAProxy 2.6.12's (tcp-request content
// set-var from distcc_param / distcc_body, logged).
func TestDistccElem(t *testing.T) {
	full := "DIST00000001ARGC00000002ARGV00000002ccARGV00000003-c.DOTI00000005helloXXXX00000004abcdDONE00000001"
	partial := "DIST00000001ARGC00000002ARGV00000002ccDOTI00001000abc"
	type q struct {
		tok   string
		occ   int64
		param string // "-": no sample
		body  string
	}
	for _, tc := range []struct {
		in string
		qs []q
	}{
		{full, []q{{"DIST", 0, "1", "-"}, {"ARGC", 0, "2", "-"}, {"ARGV", 0, "2", "cc"}, {"ARGV", 2, "3", "-c."},
			{"ARGV", 3, "-", "-"}, {"DOTI", 0, "5", "hello"}, {"XXXX", 0, "4", "abcd"}, {"DONE", 0, "1", "-"}}},
		{partial, []q{{"DIST", 0, "1", "-"}, {"ARGV", 0, "2", "cc"}, {"ARGV", 2, "-", "-"}, {"DOTI", 0, "4096", "abc"}, {"DONE", 0, "-", "-"}}},
		// Lower-case hex is a number; a bad one ends the request.
		{"DIST0000000aARGC0000000ZARGV00000002cc", []q{{"DIST", 0, "10", "-"}, {"ARGC", 0, "-", "-"}, {"ARGV", 0, "-", "-"}}},
		{"DIST00000001ARGC00000002ARGV00000000ARGV00000003abcDOTI0000000", []q{{"ARGV", 0, "0", "-"}, {"ARGV", 2, "3", "abc"}, {"DOTI", 0, "-", "-"}}},
	} {
		for _, qq := range tc.qs {
			p, b, ok := DistccElem([]byte(tc.in), qq.tok, qq.occ)
			gotP, gotB := "-", "-"
			if ok {
				gotP = itoa(int64(p))
				if len(b) > 0 {
					gotB = string(b)
				}
			}
			if gotP != qq.param || gotB != qq.body {
				t.Errorf("%.20s… %s,%d: param %s body %s, want %s %s", tc.in, qq.tok, qq.occ, gotP, gotB, qq.param, qq.body)
			}
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func FuzzDistccElem(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/fuzz/FuzzDistccElem/*")
	if len(seeds) == 0 {
		f.Fatal("no seeds in testdata/fuzz/FuzzDistccElem")
	}
	f.Fuzz(func(t *testing.T, data []byte, token string, occ int64) {
		p, b, ok := DistccElem(data, token, occ)
		if !ok && (p != 0 || b != nil) {
			t.Fatal("values without a match")
		}
		if ok && (len(b) > len(data) || uint64(len(b)) > uint64(p)) {
			t.Fatalf("body of %d bytes for param %d", len(b), p)
		}
	})
}
