package proxy

import (
	"strings"
	"testing"
)

// HAProxy 2.6 and Bulwark on one configuration set the same persistence
// cookies (static values with their attributes, and the XXH64 values of
// "dynamic" cookies) and honour them the same way: a returning client
// goes to its server, which does not see the cookie ("indirect"); a
// cookie that names no server, or one of 8 KB, is balanced and replaced;
// both send the same Set-Cookie and Cache-Control.
func TestCookiesAgreeWithHAProxy(t *testing.T) {
	s1 := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\ns1"))
	s2 := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\ns2"))
	for _, tc := range []struct{ name, backend, second string }{
		{"static", `
    cookie SRV insert indirect nocache httponly secure domain .example.com maxidle 1h attr SameSite=Lax
    server s1 S1 cookie a
    server s2 S2 cookie b
`, "SRV=b"},
		{"dynamic", `
    cookie DYN insert dynamic
    dynamic-cookie-key s3cr3t
    server s1 S1
    server s2 S2
`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    balance roundrobin`+tc.backend, "S1", s1.addr, "S2", s2.addr)
			hap := startHAProxy(t, cfg)
			_, bw := startProxy(t, cfg)
			// Both balance the first request to s1 (HAProxy's readiness
			// probe took one turn: one more request evens it out).
			get(t, bw, "")
			first := map[string]string{}
			for name, addr := range map[string]string{"haproxy": hap, "bulwark": bw} {
				first[name] = get(t, addr, "")
			}
			want, got := first["haproxy"], first["bulwark"]
			for _, h := range []string{"set-cookie", "cache-control"} {
				w, _ := headerOf(want, h)
				g, _ := headerOf(got, h)
				if w != g {
					t.Errorf("first request: %s: haproxy %q, bulwark %q", h, w, g)
				}
			}
			sc, _ := headerOf(want, "set-cookie")
			cookie, _, _ := strings.Cut(sc, ";")
			if cookie == "" {
				t.Fatalf("haproxy set no cookie: %q", want)
			}
			// The cookie of the second server: the static one named, or
			// the dynamic one HAProxy gives the next new client.
			second := tc.second
			if second == "" {
				sc2, _ := headerOf(get(t, hap, ""), "set-cookie")
				second, _, _ = strings.Cut(sc2, ";")
			}
			name := cookie[:strings.IndexByte(cookie, '=')+1]
			// A balanced request may go to either server (the two
			// round-robin positions differ by the requests above): what
			// must agree is the cookie each server's responses carry.
			setBy := map[string]map[string]string{"haproxy": {}, "bulwark": {}}
			note := func(impl, resp string) {
				sc, ok := headerOf(resp, "set-cookie")
				if !ok {
					return
				}
				body := resp[strings.Index(resp, "\r\n\r\n")+4:]
				if prev, ok := setBy[impl][body]; ok && prev != sc {
					t.Errorf("%s: server %s got cookies %q and %q", impl, body, prev, sc)
				}
				setBy[impl][body] = sc
			}
			note("haproxy", want)
			note("bulwark", got)
			for _, c := range []string{cookie, second, name + "nosuch", name + strings.Repeat("z", 8<<10)} {
				w, g := get(t, hap, c), get(t, bw, c)
				note("haproxy", w)
				note("bulwark", g)
				ws, wok := headerOf(w, "set-cookie")
				gs, gok := headerOf(g, "set-cookie")
				wb, gb := w[strings.Index(w, "\r\n\r\n"):], g[strings.Index(g, "\r\n\r\n"):]
				known := c == cookie || c == second
				if statusOf(w) != statusOf(g) || wok != gok || known && (wb != gb || ws != gs) {
					t.Errorf("cookie %.40q: haproxy %d %q set-cookie %q, bulwark %d %q set-cookie %q",
						c, statusOf(w), wb, ws, statusOf(g), gb, gs)
				}
			}
			for body, w := range setBy["haproxy"] {
				if g, ok := setBy["bulwark"][body]; ok && g != w {
					t.Errorf("server %s: haproxy sets %q, bulwark %q", body, w, g)
				}
			}
		})
	}
	for _, b := range []*rawBackend{s1, s2} {
		if strings.Contains(b.received(), "SRV=") {
			t.Errorf("a server saw the indirect cookie: %q", b.received())
		}
	}
}
