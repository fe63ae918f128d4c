package acl_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	. "bulwark/internal/acl"
	"bulwark/internal/acl/acltest"
	"bulwark/internal/config"
)

// sampleOf compiles expr in a plain HTTP frontend and renders it as a
// log-format would; "<none>" for a missing sample.
func sampleOf(t *testing.T, expr string, tx *acltest.Txn) string {
	t.Helper()
	_, _, s, ds := build(t, "frontend fe\n mode http\n bind :80\n", Options{})
	if ds.HasAlerts() {
		t.Fatal(ds)
	}
	x, err := s.Expr(expr)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	out, ok := x.AppendString(nil, NewEval(tx))
	if !ok {
		return "<none>"
	}
	return string(out)
}

// hexEscapes are the \xHH bytes of the golden file's expressions (the
// configuration lexer's escape, which Expr alone does not see).
var hexEscapes = regexp.MustCompile(`\\x[0-9A-Fa-f]{2}`)

// TestConverters checks the converters against the golden file
// testdata/converters.golden: "expression<TAB>result" per line, the
// results taken from the 2.6 manual's examples and HAProxy's reg tests.
func TestConverters(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "converters.golden"))
	if err != nil {
		t.Fatal(err)
	}
	tx := acltest.New()
	tx.SetVar("txn.key", Sample{Kind: KindStr, B: []byte("a2V5")}) // "key"
	tx.SetVar("txn.two", Sample{Kind: KindInt, I: 2})
	tx.SetVar("txn.abc", Sample{Kind: KindStr, B: []byte("abc")})
	n := 0
	for _, ln := range strings.Split(string(data), "\n") {
		if ln == "" || ln[0] == '#' {
			continue
		}
		expr, want, ok := strings.Cut(ln, "\t")
		if !ok {
			t.Fatalf("bad golden line %q", ln)
		}
		n++
		expr = hexEscapes.ReplaceAllStringFunc(expr, func(m string) string {
			v, _ := strconv.ParseUint(m[2:], 16, 8)
			return string([]byte{byte(v)})
		})
		if got := sampleOf(t, expr, tx); got != want {
			t.Errorf("%s = %q, want %q", expr, got, want)
		}
	}
	if n < 40 {
		t.Fatalf("only %d golden cases", n)
	}
}

// Bad input is an error at load time naming the problem, never a panic.
func TestConverterErrors(t *testing.T) {
	_, _, s, _ := build(t, "frontend fe\n mode http\n bind :80\n", Options{})
	for _, tc := range []struct{ expr, want string }{
		{"str(a),regsub('(',x)", "invalid regex"},
		{"str(a),field(0,/)", "invalid field index"},
		{"str(a),sha2(100)", "invalid bits"},
		{"str(a),digest(foo)", "unknown digest"},
		{"src,ipmask(24,ffff::zz)", "invalid IPv6 mask"},
		{"src,ipmask(24,129)", "invalid IPv6 mask"},
		{"str(a),add(x)", "expects an integer or a variable name"},
		{"str(a),ltime(%Q)", "unsupported time format"},
		{"int(x)", "invalid integer"},
		{"bin(zz)", "invalid hexadecimal"},
		{"internal.htx.data", "sample fetch 'internal.htx.data' is not supported by bulwark: HAProxy-internal debug fetch"},
		{"internal.htx_blk.type(0)", "'internal.htx_blk.type' is not supported by bulwark: HAProxy-internal debug fetch"},
		{"str(a),da-csv-conv(x)", "converter 'da-csv-conv' is not supported by bulwark: DeviceAtlas"},
		{"str(a),nosuch", "unknown converter 'nosuch'"},
		{"nosuch", "unknown fetch method 'nosuch'"},
	} {
		_, err := s.Expr(tc.expr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.expr, err, tc.want)
		}
	}
}

// TestRegistryMatches26 checks the fetch and converter registry against
// HAProxy 2.6's table (config.Fetches, config.Converters): everything
// implemented is a 2.6 keyword (or a listed legacy alias), and every 2.6
// keyword is either implemented or refused as not supported.
func TestRegistryMatches26(t *testing.T) {
	_, _, s, _ := build(t, "frontend fe\n mode http\n bind :80\n", Options{})
	for _, n := range config.Fetches() {
		_, err := s.Expr(n)
		if err != nil && strings.Contains(err.Error(), "unknown fetch") {
			t.Errorf("2.6 fetch %s is unknown to the registry: %v", n, err)
		}
	}
	for _, n := range config.Converters() {
		_, err := s.Expr("str(x)," + n)
		if err != nil && strings.Contains(err.Error(), "unknown converter") {
			t.Errorf("2.6 converter %s is unknown to the registry: %v", n, err)
		}
	}
	for _, n := range AllFetchNames() {
		if !config.IsFetch(n) && !isLegacy(n) {
			t.Errorf("implemented fetch %s is not a 2.6 fetch", n)
		}
	}
	for _, n := range AllConverterNames() {
		if !config.IsConverter(n) {
			t.Errorf("implemented converter %s is not a 2.6 converter", n)
		}
	}
	if f, c := len(ImplementedFetches()), len(ImplementedConverters()); f < 60 || c < 70 {
		t.Errorf("implemented %d fetches, %d converters: registry lost entries", f, c)
	}
}

func isLegacy(n string) bool {
	for _, l := range LegacyFetches() {
		if l == n {
			return true
		}
	}
	return false
}

// Backslashes in arguments are HAProxy's (2.6.12 gives these results for
// the same text after its configuration lexer): only \\, "\ ", \", \' and
// \r \n \t are escapes, none inside single quotes, and any other backslash
// stays for the regex to read.
func TestArgBackslashes(t *testing.T) {
	tx := acltest.New()
	for _, c := range []struct{ expr, want string }{
		{`str(example.org:8443),regsub(:\d+$,,)`, "example.org"},
		{`str(a.b.c),regsub(\.,_,g)`, "a_b_c"},
		{`str(a1b),regsub('\d',X)`, "aXb"},
		{`str(a1b),regsub("\d",Y)`, "aYb"},
		{`str(a\\b)`, `a\b`},
		{`str(a\ b)`, "a b"},
		{`str(a\'b)`, "a'b"},
		{`str('a\'),concat(b)`, `a\b`},
	} {
		if got := sampleOf(t, c.expr, tx); got != c.want {
			t.Errorf("%s = %q, want %q", c.expr, got, c.want)
		}
	}
}
