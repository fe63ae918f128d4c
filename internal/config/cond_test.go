package config

import (
	"strings"
	"testing"
)

func TestEvalCond(t *testing.T) {
	opt := LexOptions{
		Env:      testEnv,
		Version:  "2.6.12",
		Features: []string{"OPENSSL", "LINUX_SPLICE"},
	}
	cases := []struct {
		words []string
		want  bool
		err   string // substring of the error; "" means no error
	}{
		{nil, false, ""},
		{[]string{""}, false, ""},
		{[]string{"  "}, false, ""},
		{[]string{"0"}, false, ""},
		{[]string{"1"}, true, ""},
		{[]string{"-3"}, true, ""},
		{[]string{"0x0"}, false, ""},
		{[]string{"0x10"}, true, ""},
		{[]string{"000"}, false, ""},
		{[]string{"07"}, true, ""},
		{[]string{"!0"}, true, ""},
		{[]string{"!!1"}, true, ""},
		{[]string{"!", "1"}, false, ""},
		{[]string{"defined(FD_APP1)"}, true, ""},
		{[]string{"defined(EMPTY)"}, true, ""},
		{[]string{"defined(NOPE)"}, false, ""},
		{[]string{"defined()"}, false, ""},
		{[]string{"feature(OPENSSL)"}, true, ""},
		{[]string{"feature(OPEN)"}, false, ""},
		{[]string{"feature(LUA)"}, false, ""},
		{[]string{"streq(a,a)"}, true, ""},
		{[]string{"streq(a,b)"}, false, ""},
		{[]string{"streq(a, a)"}, false, ""}, // spaces are part of arguments
		{[]string{`streq("a,b",'a,b')`}, true, ""},
		{[]string{`streq(a\ b,"a b")`}, true, ""},
		{[]string{`streq(")",')')`}, true, ""},
		{[]string{`streq(")",\))`}, false, "unexpected character ')'"}, // \) is no escape
		{[]string{"streq(,)"}, true, ""},
		{[]string{"strneq(a,b)"}, true, ""},
		{[]string{"strneq(a,a)"}, false, ""},
		{[]string{"version_atleast(2.6)"}, true, ""},
		{[]string{"version_atleast(2.6.12)"}, true, ""},
		{[]string{"version_atleast(2.6.13)"}, false, ""},
		{[]string{"version_atleast(2.4-dev19)"}, true, ""},
		{[]string{"version_atleast(2.6-dev1)"}, true, ""},
		{[]string{"version_atleast(3)"}, false, ""},
		{[]string{"version_before(2.6.12)"}, false, ""},
		{[]string{"version_before(2.7)"}, true, ""},
		{[]string{"version_before(2.6.12.1)"}, true, ""},
		{[]string{"1", "&&", "0"}, false, ""},
		{[]string{"1&&1"}, true, ""},
		{[]string{"0", "||", "1"}, true, ""},
		{[]string{"1", "||", "0", "&&", "0"}, true, ""},    // && binds tighter
		{[]string{"0", "&&", "0", "||", "1"}, true, ""},    // (0&&0)||1
		{[]string{"(1", "||", "0)", "&&", "0"}, false, ""}, // parentheses
		{[]string{"!(0", "||", "0)"}, true, ""},
		{[]string{"((((1))))"}, true, ""},
		{[]string{"feature(OPENSSL)", "&&", `(streq(yes,yes)`, "||", "streq(no,yes))"}, true, ""},
		{[]string{"0", "&&", "version_atleast(junk)"}, false, ""}, // short-circuit
		{[]string{"ssllib_name_startswith(OpenSSL)"}, false, ""},

		{[]string{"nosuch(1)"}, false, "unknown predicate 'nosuch'"},
		{[]string{"nosuch"}, false, "unparsable conditional expression 'nosuch'"},
		{[]string{"!"}, false, "unparsable conditional expression"},
		{[]string{"1", "&&"}, false, "unparsable conditional expression"},
		{[]string{"1", "||"}, false, "unparsable conditional expression"},
		{[]string{"(1"}, false, "expected ')'"},
		{[]string{"1)"}, false, "unexpected character ')'"},
		{[]string{"1", "2"}, false, "unexpected character '2'"},
		{[]string{"08"}, false, "unexpected character '8'"},
		{[]string{"defined"}, false, "missing arguments (got 0/1)"},
		{[]string{"defined(A"}, false, "missing closing ')'"},
		{[]string{"streq(a)"}, false, "missing arguments (got 1/2)"},
		{[]string{"defined(a,b)"}, false, "too many arguments"},
		{[]string{"version_atleast(junk)"}, false, "unparsable version"},
		{[]string{"version_atleast()"}, false, "unparsable version"},
		{[]string{"openssl_version_atleast(1.1.1)"}, false, "needs OpenSSL"},
		{[]string{strings.Repeat("(", 200) + "1" + strings.Repeat(")", 200)}, false, "nested too deeply"},
	}
	for _, tc := range cases {
		got, err := EvalCond(tc.words, opt)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("EvalCond(%q): unexpected error %v", tc.words, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("EvalCond(%q) error = %v, want containing %q", tc.words, err, tc.err)
		case got != tc.want:
			t.Errorf("EvalCond(%q) = %v, want %v", tc.words, got, tc.want)
		}
	}
}

func TestEvalCondDefaults(t *testing.T) {
	t.Setenv("BULWARK_COND_TEST", "")
	for _, tc := range []struct {
		cond string
		want bool
	}{
		{"defined(BULWARK_COND_TEST)", true},
		{"feature(OPENSSL)", true},
		{"feature(LINUX_SPLICE)", true},
		{"feature(LUA)", false},
		{"version_atleast(2.6.12)", true},
		{"version_before(2.6.13)", true},
	} {
		got, err := EvalCond([]string{tc.cond}, LexOptions{})
		if err != nil || got != tc.want {
			t.Errorf("EvalCond(%q) = %v, %v; want %v", tc.cond, got, err, tc.want)
		}
	}
}

func TestSplitVersion(t *testing.T) {
	cases := []struct {
		in   string
		want [7]int
		ok   bool
	}{
		// The layout HAProxy documents in src/haproxy.c.
		{"1.2.1-pre2", [7]int{1, 2, 1, 0, 2, 2, 0}, true},
		{"1.2.1", [7]int{1, 2, 1, 0, 3, 0, 0}, true},
		{"1.2.10.1", [7]int{1, 2, 10, 1, 3, 0, 0}, true},
		{"1.3.16-rc1", [7]int{1, 3, 16, 0, 2, 1, 0}, true},
		{"1.4-dev3", [7]int{1, 4, 0, 0, 1, 3, 0}, true},
		{"1.5-dev18", [7]int{1, 5, 0, 0, 1, 18, 0}, true},
		{"1.5-dev18-43", [7]int{1, 5, 0, 0, 1, 18, 43}, true},
		{"2.4-dev18-f6818d-20", [7]int{2, 4, 0, 0, 1, 18, 20}, true},
		{"2.6", [7]int{2, 6, 0, 0, 3, 0, 0}, true},
		{"2.6.12-5", [7]int{2, 6, 12, 0, 3, 0, 5}, true},
		{"", [7]int{}, false},
		{"2.x", [7]int{}, false},
		{"1.2.3.4.5", [7]int{}, false},
		{"2.4-dev1x", [7]int{}, false},
		{"2.4-", [7]int{2, 4, 0, 0, 3, 0, 0}, true}, // as lenient as HAProxy
	}
	for _, tc := range cases {
		got, ok := splitVersion(tc.in)
		if ok != tc.ok || ok && got != tc.want {
			t.Errorf("splitVersion(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
