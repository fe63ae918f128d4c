package acl

import (
	"math"
	"testing"
)

// The string-to-integer cast, as Debian's HAProxy 2.6.12 gave these
// values through var(),add(0) in a return lf-string.
func TestStrToInt(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"12abc", 12, true}, {" 42", 0, true}, {"42 ", 42, true}, {"abc", 0, true},
		{"-3x", -3, true}, {"+5", 5, true}, {"-", 0, true}, {"--3", 0, true}, {"", 0, false},
		{"99999999999999999999", math.MaxInt64, true}, {"-99999999999999999999", math.MinInt64, true},
		{"9223372036854775807", math.MaxInt64, true}, {"-9223372036854775808", math.MinInt64, true},
		{"-9223372036854775807", -9223372036854775807, true},
	} {
		// Through the cast every converter and match uses.
		got, ok := cast(&Eval{}, Sample{Kind: KindStr, B: []byte(tc.in)}, KindInt)
		if got.I != tc.want || ok != tc.ok {
			t.Errorf("%q: %d %v, want %d %v", tc.in, got.I, ok, tc.want, tc.ok)
		}
	}
}
