package acl_test

import (
	"testing"

	. "bulwark/internal/acl"
	"bulwark/internal/acl/acltest"
	"bulwark/internal/config"
	"bulwark/internal/model"
)

// FuzzCompileACL feeds arbitrary ACL lines and conditions through the
// whole compile path and evaluates whatever compiles. Nothing may panic,
// every diagnostic points inside the input, and the two paths a condition
// can take agree: "if C" and "unless C" give opposite answers on the same
// request.
func FuzzCompileACL(f *testing.F) {
	for _, s := range []string{
		"path_beg /api", "hdr(host) -i example.com", "src 10.0.0.0/8 ::1", "dst_port gt 80",
		"path_reg ^/[a-z]+$", "hdr_cnt(x) 1:3", "url_param(a,;) -m sub x", "src,ipmask(24) 1.2.3.0",
		"hdr(x,-1),lower,upper,hex,base64 -m len 4", "method GET HEAD", "sc_http_req_rate(0) gt 1",
		"var(txn.a) -m int lt 3", "path -m dom a.b", "req.cook(a) -m found", "always_true",
		"hdr(a -m str x", "src 10.12/33", "path -f", "path -m",
	} {
		f.Add(s, "x || !x { "+s+" }")
		f.Add(s, "x { "+s+" } !x")
	}
	f.Fuzz(func(t *testing.T, aclLine, cond string) {
		text := "frontend fe\n mode http\n bind :80\n acl x " + aclLine + "\n http-request deny if " + cond +
			"\n http-request deny unless " + cond + "\n"
		cfg, ds := config.Parse("f.cfg", []byte(text), config.LexOptions{})
		if ds.HasAlerts() {
			return
		}
		m, mds := model.Compile(cfg, model.Options{})
		for _, d := range mds {
			if d.Pos.IsValid() && !d.Pos.Within("f.cfg", []byte(text)) {
				t.Fatalf("diagnostic %q at %v, outside the input", d.Msg, d.Pos)
			}
		}
		var p *model.Proxy
		for _, x := range m.Proxies {
			p = x
		}
		if p == nil {
			return
		}
		s, _ := Compile(p, m, Options{ReadFile: func(string) ([]byte, error) { return []byte("a\n#c\n10.0.0.1\n"), nil }})
		tx := acltest.New().Header("Host", "example.com").Header("X", "1, 2")
		e := NewEval(tx)
		var got []bool
		for _, r := range p.HTTPRequest {
			c, cds := s.Cond(r.Cond)
			if cds.HasAlerts() || r.Cond == nil {
				continue
			}
			e.Reset()
			got = append(got, c.Match(e))
		}
		if len(got) == 2 && got[0] == got[1] {
			t.Fatalf("if and unless %q both gave %v", cond, got[0])
		}
		if a := s.ACL("x"); a != nil {
			a.Match(e)
		}
		if x, err := s.Expr(aclLine); err == nil {
			x.Sample(e)
		}
		if fm, err := s.Format(aclLine); err == nil {
			fm.Append(nil, e)
		}
	})
}
