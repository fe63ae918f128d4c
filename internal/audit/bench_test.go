package audit

import (
	"fmt"
	"strings"
	"testing"

	"bulwark/internal/config"
	"bulwark/internal/plan"
)

// bigConfig builds a configuration of about n lines: many HTTP frontends
// and backends with ACLs, rules and servers.
func bigConfig(n int) []byte {
	var b strings.Builder
	b.WriteString("global\n    log /dev/log local0\n    user haproxy\n    group haproxy\n    maxconn 100000\n")
	b.WriteString("defaults\n    mode http\n    log global\n    option httplog\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n")
	lines := 12
	for i := 0; lines < n; i++ {
		fmt.Fprintf(&b, "frontend fe%d\n    bind 10.0.%d.%d:80\n    acl is_api path_beg /api\n", i, i/250%250, i%250+1)
		b.WriteString("    http-request deny if { method TRACE }\n    http-response set-header X-Frame-Options DENY\n")
		fmt.Fprintf(&b, "    use_backend be%d if is_api\n    default_backend be%d\n", i, i)
		fmt.Fprintf(&b, "backend be%d\n    option httpchk GET /health\n", i)
		for s := 0; s < 8; s++ {
			fmt.Fprintf(&b, "    server s%d 10.1.%d.%d:8080 check\n", s, i%250, s+1)
		}
		lines += 18
	}
	return []byte(b.String())
}

func BenchmarkStaticAudit30k(b *testing.B) {
	src := bigConfig(30000)
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		cfg, ds := config.Parse("big.cfg", src, config.LexOptions{})
		t := NewTarget(cfg, ds, ProductHAProxy, plan.Options{})
		Run(t, Selection{})
	}
}

func TestBigConfigAudits(t *testing.T) {
	src := bigConfig(3000)
	cfg, ds := config.Parse("big.cfg", src, config.LexOptions{})
	rep := Run(NewTarget(cfg, ds, ProductHAProxy, plan.Options{}), Selection{})
	for _, f := range rep.Findings {
		if f.Control.ID == "HAP-8.1" && f.Verdict != Pass {
			t.Errorf("HAP-8.1 = %s on a config where every server is checked", f.Verdict)
		}
	}
}
