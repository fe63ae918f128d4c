package acl_test

import (
	"testing"

	. "bulwark/internal/acl"
	"bulwark/internal/acl/acltest"
	"bulwark/internal/stick"
)

// CM 7.3.1 table_expire and table_idle: the time left before the entry
// expires and the time since its last update; a missing key fails unless
// a default is given.
func TestTableExpireIdle(t *testing.T) {
	spec, err := stick.ParseTableSpec([]string{"type", "string", "len", "32", "size", "10", "expire", "10s"})
	if err != nil {
		t.Fatal(err)
	}
	tbl := stick.New("fe", spec)
	r, err := tbl.GetOrCreate(stick.BytesKey([]byte("k")), 1000)
	if err != nil {
		t.Fatal(err)
	}
	r.Release(1000) // touched at 1000 ms: expires at 11000
	_, _, s, _ := build(t, "frontend fe\n mode http\n bind :80\n stick-table type string len 32 size 10 expire 10s\n", testOpts(map[string]*stick.Table{"fe": tbl}))
	for _, tt := range []struct {
		expr, want string
		ok         bool
	}{
		{"str(k),table_expire(fe)", "6500", true},
		{"str(k),table_idle(fe)", "3500", true},
		{"str(x),table_expire(fe)", "", false},
		{"str(x),table_idle(fe,-1)", "-1", true},
		{"str(x),table_expire(fe,7)", "7", true},
	} {
		x, err := s.Expr(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		tx := acltest.New()
		tx.Clock = 4500
		out, ok := x.AppendString(nil, NewEval(tx))
		if ok != tt.ok || string(out) != tt.want {
			t.Errorf("%s = %q %v, want %q %v", tt.expr, out, ok, tt.want, tt.ok)
		}
	}
	if _, err := s.Expr("str(k),table_idle"); err == nil {
		t.Errorf("table_idle without a table was accepted")
	}
}
