package cli

import (
	"context"
	"io"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"bulwark/internal/audit"
	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/proxy"
)

// corpus returns every configuration the tests know: the compat corpus
// (testdata/configs at the root) and the testdata of every package.
func corpus(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, root := range []string{"../../testdata", ".."} {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(p, ".cfg") && strings.Contains(p, "testdata") {
				out = append(out, p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(out) < 100 {
		t.Fatalf("only %d configurations found; the corpus moved?", len(out))
	}
	return out
}

// onLoopback points every listening socket of m at a free loopback port,
// so that a configuration can start in a test whatever it binds, while the
// rest of the start-up stays as written.
func onLoopback(m *model.Model) {
	lo := model.Addr{Raw: "127.0.0.1:0", Net: "tcp4", Host: "127.0.0.1"}
	for _, p := range m.Proxies {
		for _, b := range p.Binds {
			for i := range b.Addrs {
				b.Addrs[i] = lo
			}
			b.User, b.Group, b.Mode = "", "", 0
		}
	}
	for i := range m.Global.StatsSocks {
		m.Global.StatsSocks[i].Addr = lo
		m.Global.StatsSocks[i].User, m.Global.StatsSocks[i].Group = "", ""
	}
}

// startVerdict is what start-up concludes about files, up to serving:
// the refusals of run, then Build with every listener on loopback.
func startVerdict(t *testing.T, files []string) (bool, string) {
	_, pl, ds := Load(files, nil)
	if ds.HasAlerts() {
		return false, "alerts"
	}
	if pl.Model.Global.ZeroWarn && ds.Count(config.SevWarning) > 0 {
		return false, "zero-warning"
	}
	onLoopback(pl.Model)
	px := proxy.New(proxy.Options{})
	rt, err := px.Build(pl)
	if err != nil {
		return false, err.Error()
	}
	px.Start(rt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	px.Shutdown(ctx)
	return true, ""
}

// The -c verdict is the start-up verdict on every configuration of the
// repository: a file that checks clean starts, and one that does not
// check clean does not start (HAP-9.1's promise). The audit's HAP-9.1
// agrees with both.
func TestCheckVerdictIsStartVerdict(t *testing.T) {
	for _, f := range corpus(t) {
		t.Run(strings.TrimPrefix(f, "../"), func(t *testing.T) {
			code := Main([]string{"-c", "-q", "-f", f}, io.Discard, io.Discard)
			checked := code != 1
			started, why := startVerdict(t, []string{f})
			if checked != started {
				t.Errorf("bulwark -c exit %d, but start-up %v (%s)", code, started, why)
			}
			tg, err := audit.Load([]string{f}, audit.ProductBulwark, PlanOptions())
			if err != nil {
				t.Fatal(err)
			}
			rep := audit.Run(tg, audit.Selection{Only: []string{"HAP-9.1"}})
			if len(rep.Findings) != 1 {
				t.Fatalf("HAP-9.1 gave %d findings", len(rep.Findings))
			}
			// -c also refuses warnings under zero-warning; the audit
			// reports those as WARN, so compare on alerts only.
			if audited := rep.Findings[0].Verdict != audit.Fail; audited != (code != 1 || strictOnly(f)) {
				t.Errorf("bulwark -c exit %d, but HAP-9.1 %s: %s", code, rep.Findings[0].Verdict, rep.Findings[0].Summary)
			}
		})
	}
}

// strictOnly reports whether -c refused f only for its warnings
// ("zero-warning").
func strictOnly(f string) bool {
	_, _, ds := Load([]string{f}, nil)
	return !ds.HasAlerts()
}

// The three errors that once reached a running proxy unnoticed by the
// audit: a wrong-arity set-header, a bad regex and a server option the
// engine does not run (once send-proxy, now proxy-v2-options cert-sig). -c reports
// each at its line, and HAP-9.1 fails.
func TestAuditCompilesRules(t *testing.T) {
	dir := t.TempDir()
	f := writeFile(t, dir, "rules.cfg", validCfg+`    server s2 127.0.0.1:9001 send-proxy-v2 proxy-v2-options cert-sig
frontend fe2
    bind 127.0.0.1:8081
    http-request set-header X-A
    http-request replace-header X-B (unclosed x
    default_backend be
`)
	code, _, stderr := runMain("-c", "-f", f)
	if code != 1 {
		t.Fatalf("bulwark -c exit %d, want 1:\n%s", code, stderr)
	}
	got := strings.Join(alertLines(stderr), " ")
	for _, want := range []string{"rules.cfg:13", "rules.cfg:16", "rules.cfg:17"} {
		if !strings.Contains(got, want) {
			t.Errorf("no alert at %s; alerts at %s\n%s", want, got, stderr)
		}
	}
	tg, err := audit.Load([]string{f}, audit.ProductBulwark, PlanOptions())
	if err != nil {
		t.Fatal(err)
	}
	rep := audit.Run(tg, audit.Selection{Only: []string{"HAP-9.1"}})
	if v := rep.Findings[0].Verdict; v != audit.Fail {
		t.Fatalf("HAP-9.1 %s (%s), want FAIL", v, rep.Findings[0].Summary)
	}
	var lines []string
	for _, e := range rep.Findings[0].Evidence {
		lines = append(lines, filepath.Base(e.Pos.File)+":"+strconv.Itoa(e.Pos.Line))
	}
	for _, want := range []string{"rules.cfg:13", "rules.cfg:16", "rules.cfg:17"} {
		if !strings.Contains(strings.Join(lines, " "), want) {
			t.Errorf("HAP-9.1 evidence lacks %s: %v", want, lines)
		}
	}
}
