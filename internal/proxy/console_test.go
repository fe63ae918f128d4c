package proxy

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"bulwark/internal/testtool"
)

// consoleProxy runs a frontend with the stats page (admin on), the
// exporter, and a backend with an UP, a DOWN and a backup server.
func consoleProxy(t *testing.T, extra string) (sock, addr string, up *testBackend) {
	t.Helper()
	up = newTestServer(t, "up", nil)
	dead := deadAddr(t)
	sock = filepath.Join(t.TempDir(), "admin.sock")
	_, addr = startProxy(t, sub(`
global
    stats socket SOCK level admin
    node edge-1
    description main edge
`+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    stats uri /stats
    stats refresh 10s
    stats admin if TRUE
    stats show-node
    stats show-desc
    stats show-legends
    http-request use-service prometheus-exporter if { path /metrics }
    default_backend be
EXTRA
backend be
    server s1 UP check inter 200ms rise 10
    server s2 DEAD check inter 200ms fall 1
    server s3 UP backup
backend other
    stick-table type ip size 100 store gpc0
    server o1 UP
`, "SOCK", sock, "UP", up.addr, "DEAD", dead, "EXTRA", extra))
	// The first checks decide s1 UP (checked) and s2 DOWN; the tests read
	// those states.
	waitFor(t, func() bool {
		r := csvRows(t, apiCall(t, sock, "show stat"))
		return r["be/s2"]["status"] == "DOWN" && r["be/s1"]["check_status"] == "L4OK"
	}, "first checks of s1 and s2")
	return sock, addr, up
}

func csvRows(t *testing.T, csv string) map[string]map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	hdr := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
	out := map[string]map[string]string{}
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		row := map[string]string{}
		for i, h := range hdr {
			if i < len(f) {
				row[h] = f[i]
			}
		}
		out[f[0]+"/"+f[1]] = row
	}
	return out
}

// The page carries what HAProxy's does: process information, the legend
// with every state colour, the grouped columns, the admin form.
func TestStatsPageContent(t *testing.T) {
	_, addr, _ := consoleProxy(t, "")
	for i := 0; i < 3; i++ {
		body(t, "http://"+addr+"/")
	}
	page := body(t, "http://"+addr+"/stats")
	for _, want := range []string{
		"General process information", "uptime", "system limits", "current conns", "edge-1", "main edge",
		`<meta http-equiv="refresh" content="10">`,
		// The legend: one cell per state colour.
		`"c active_up"`, `"c active_going_down"`, `"c active_going_up"`, `"c active_down"`, `"c maintain"`,
		`"c active_draining"`, `"c active_nolb"`, `"c backup_up"`, `"c backup_going_down"`, `"c backup_going_up"`,
		`"c active_no_check"`, `"c backup_nolb"`,
		">Queue<", ">Session rate<", ">Sessions<", ">LbTot<", ">Bytes<", ">Denied<", ">Errors<", ">Warnings<",
		">LastChk<", ">Wght<", ">Chk<", ">Dwn<", ">Dwntme<", ">Thrtle<",
		`<tr class="active_down"><td class="n"><input type="checkbox" name="s" value="s2"`,
		`<tr class="backup_no_check">`, `name="action"`, `value="maint"`, `name="token"`,
		"L4CON", ";csv", ";json",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if p := body(t, "http://"+addr+"/stats;norefresh"); strings.Contains(p, `http-equiv="refresh"`) {
		t.Error(";norefresh still refreshes")
	}
	if p := body(t, "http://"+addr+"/stats;up"); strings.Contains(p, `value="s2"`) || !strings.Contains(p, `value="s1"`) {
		t.Error(";up shows the DOWN server or hides an UP one")
	}
	if p := body(t, "http://"+addr+"/stats?scope=other"); strings.Contains(p, `id="be"`) || !strings.Contains(p, `id="other"`) {
		t.Error("scope=other shows be or hides other")
	}
	if p := body(t, "http://"+addr+"/stats;st=DONE"); !strings.Contains(p, "Action processed successfully.") {
		t.Error(";st=DONE says nothing")
	}
}

// ;csv and ;json read the same rows; JSON in HAProxy's schema; "bytes
// in" counts the requests of HTTP mode.
func TestStatsExportsAndBytesIn(t *testing.T) {
	_, addr, _ := consoleProxy(t, "")
	body(t, "http://"+addr+"/")
	rows := csvRows(t, body(t, "http://"+addr+"/stats;csv"))
	fe := rows["fe/FRONTEND"]
	if fe["bin"] == "0" || fe["bin"] == "" || fe["req_tot"] == "0" || fe["conn_tot"] == "0" {
		t.Fatalf("frontend counters after a request: bin=%q req_tot=%q conn_tot=%q", fe["bin"], fe["req_tot"], fe["conn_tot"])
	}
	if s1 := rows["be/s1"]; s1["bin"] == "0" || s1["lbtot"] != "1" || s1["status"] != "UP" || s1["smax"] != "1" {
		t.Fatalf("server s1: bin=%q lbtot=%q status=%q smax=%q", s1["bin"], s1["lbtot"], s1["status"], s1["smax"])
	}
	if s3 := rows["be/s3"]; s3["status"] != "no check" || s3["bck"] != "1" {
		t.Fatalf("backup: %v", s3)
	}
	var js [][]struct {
		ObjType string `json:"objType"`
		ProxyID int    `json:"proxyId"`
		Field   struct {
			Pos  int    `json:"pos"`
			Name string `json:"name"`
		} `json:"field"`
		Tags  map[string]string `json:"tags"`
		Value struct {
			Type  string `json:"type"`
			Value any    `json:"value"`
		} `json:"value"`
	}
	raw := body(t, "http://"+addr+"/stats;json")
	if err := json.Unmarshal([]byte(raw), &js); err != nil {
		t.Fatalf("json: %v: %.200s", err, raw)
	}
	found := false
	for _, line := range js {
		for _, f := range line {
			if f.ObjType == "Server" && f.Field.Name == "status" && f.Field.Pos == 17 && f.Value.Type == "str" &&
				f.Tags["origin"] == "Status" && f.Value.Value == "DOWN" {
				found = true
			}
		}
	}
	if !found {
		t.Fatalf("no DOWN server status at pos 17 in %.300s", raw)
	}
}

func postForm(t *testing.T, u string, form url.Values, hdr map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// The admin form changes the one server state; a cross-site post, or a
// browser's post without the page's token, changes nothing.
func TestStatsAdminActionsAndCSRF(t *testing.T) {
	sock, addr, _ := consoleProxy(t, "")
	page := body(t, "http://"+addr+"/stats")
	i := strings.Index(page, `name="token" value="`)
	if i < 0 {
		t.Fatal("no token in the form")
	}
	token := page[i+len(`name="token" value="`):]
	token = token[:strings.IndexByte(token, '"')]
	status := func(srv string) string { return csvRows(t, apiCall(t, sock, "show stat"))["be/"+srv]["status"] }

	form := url.Values{"s": {"s1"}, "action": {"maint"}, "b": {"be"}}
	resp := postForm(t, "http://"+addr+"/stats", form, map[string]string{"Origin": "http://evil.example"})
	if loc := resp.Header.Get("Location"); resp.StatusCode != 303 || !strings.HasSuffix(loc, ";st=DENY") || status("s1") != "UP" {
		t.Fatalf("cross-site post: %d %q, s1 %s", resp.StatusCode, loc, status("s1"))
	}
	resp = postForm(t, "http://"+addr+"/stats", form, map[string]string{"Sec-Fetch-Site": "same-origin"})
	if !strings.HasSuffix(resp.Header.Get("Location"), ";st=DENY") || status("s1") != "UP" {
		t.Fatalf("browser post without token: %q, s1 %s", resp.Header.Get("Location"), status("s1"))
	}
	form.Set("token", token)
	resp = postForm(t, "http://"+addr+"/stats", form, map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://" + addr})
	if !strings.HasSuffix(resp.Header.Get("Location"), ";st=DONE") || status("s1") != "MAINT" {
		t.Fatalf("post with token: %q, s1 %s", resp.Header.Get("Location"), status("s1"))
	}
	// HAProxy's form, as its reg-test sends it: backend by id, no browser.
	resp = postForm(t, "http://"+addr+"/stats", url.Values{"s": {"s1", "nope"}, "action": {"drain"}, "b": {"#3"}}, nil)
	// Leaving maintenance, a checked server is UP with a health of rise:
	// "DRAIN 1/3" until its next check.
	if !strings.HasSuffix(resp.Header.Get("Location"), ";st=PART") || !strings.HasPrefix(status("s1"), "DRAIN") {
		t.Fatalf("post by backend id: %q, s1 %s", resp.Header.Get("Location"), status("s1"))
	}
	// Forced DOWN, s1 needs "rise 10" good checks to come back: it reads
	// DOWN for seconds.
	resp = postForm(t, "http://"+addr+"/stats", url.Values{"s": {"s1"}, "action": {"hdown"}, "b": {"be"}}, nil)
	if !strings.HasSuffix(resp.Header.Get("Location"), ";st=DONE") || !strings.HasPrefix(status("s1"), "DOWN") {
		t.Fatalf("health force down: %q, s1 %s", resp.Header.Get("Location"), status("s1"))
	}
}

// Without "stats admin" the page is read-only: no form, posts denied.
func TestStatsReadOnlyWithoutAdmin(t *testing.T) {
	up := newTestServer(t, "up", nil)
	sock := filepath.Join(t.TempDir(), "a.sock")
	_, addr := startProxy(t, sub("global\n    stats socket SOCK level admin\n"+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    stats uri /stats
    default_backend be
backend be
    server s1 UP
`, "SOCK", sock, "UP", up.addr))
	if p := body(t, "http://"+addr+"/stats"); strings.Contains(p, `name="action"`) {
		t.Fatal("action form without stats admin")
	}
	resp := postForm(t, "http://"+addr+"/stats", url.Values{"s": {"s1"}, "action": {"maint"}, "b": {"be"}}, nil)
	if !strings.HasSuffix(resp.Header.Get("Location"), ";st=DENY") {
		t.Fatalf("post without admin: %q", resp.Header.Get("Location"))
	}
	if st := csvRows(t, apiCall(t, sock, "show stat"))["be/s1"]["status"]; st != "no check" {
		t.Fatalf("s1 is %s after a denied post", st)
	}
}

// Every metric HAProxy 2.6's exporter gives for a configuration of the
// same shape exists in Bulwark's output with the same label names, and
// the output parses as Prometheus' text format.
func TestPrometheusExporter(t *testing.T) {
	_, addr, _ := consoleProxy(t, "")
	body(t, "http://"+addr+"/")
	resp, text := httpGet(t, &http.Client{}, "http://"+addr+"/metrics")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("metrics: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	got, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	ref, err := os.ReadFile("../stats/testdata/haproxy-2.6-metrics.txt")
	if err != nil {
		t.Fatal(err)
	}
	refParser := expfmt.NewTextParser(model.UTF8Validation)
	want, err := refParser.TextToMetricFamilies(strings.NewReader(string(ref)))
	if err != nil {
		t.Fatal(err)
	}
	labelNames := func(mf map[string]bool) string {
		var ks []string
		for k := range mf {
			ks = append(ks, k)
		}
		return strings.Join(sortStrings(ks), ",")
	}
	for name, wf := range want {
		gf, ok := got[name]
		if !ok {
			t.Errorf("missing metric %s", name)
			continue
		}
		if gf.GetType() != wf.GetType() {
			t.Errorf("%s: type %v, HAProxy's is %v", name, gf.GetType(), wf.GetType())
		}
		wl, gl := map[string]bool{}, map[string]bool{}
		for _, l := range wf.Metric[0].Label {
			wl[l.GetName()] = true
		}
		for _, l := range gf.Metric[0].Label {
			gl[l.GetName()] = true
		}
		if labelNames(wl) != labelNames(gl) {
			t.Errorf("%s: labels %s, HAProxy's are %s", name, labelNames(gl), labelNames(wl))
		}
	}
	if !strings.Contains(text, `haproxy_server_status{proxy="be",server="s2",state="DOWN"} 1`) ||
		!strings.Contains(text, `haproxy_server_check_status{proxy="be",server="s2",state="L4CON"} 1`) {
		t.Error("server state metrics do not say s2 is DOWN by L4CON")
	}
	// scope and no-maint.
	_, only := httpGet(t, &http.Client{}, "http://"+addr+"/metrics?scope=backend")
	if strings.Contains(only, "haproxy_server_") || strings.Contains(only, "haproxy_process_") || !strings.Contains(only, "haproxy_backend_status") {
		t.Error("scope=backend exports more or less than backends")
	}
}

func sortStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

// The page renders in a real browser: headless Chromium loads it and
// the DOM it builds has the tables and the legend.
func TestStatsPageInChromium(t *testing.T) {
	bin := testtool.Path(t, "chromium")
	_, addr, _ := consoleProxy(t, "")
	dir := t.TempDir()
	out, err := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir="+dir,
		"--dump-dom", "http://"+addr+"/stats;norefresh").Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	dom := string(out)
	for _, want := range []string{"General process information", `class="px"`, `"c active_going_up"`, `value="s2"`} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}
}

// With "stats show-modules" the page has the modules' columns and
// Chromium reports no console error (nor any console message: the page
// has no script) while loading it.
func TestStatsPageModulesInChromium(t *testing.T) {
	bin := testtool.Path(t, "chromium")
	_, addr, _ := consoleProxy(t, "    stats show-modules")
	dir := t.TempDir()
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir="+dir,
		"--enable-logging=stderr", "--v=1", "--dump-dom", "http://"+addr+"/stats;norefresh")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	dom := string(out)
	for _, want := range []string{"Extra modules", "<th>ssl</th><th>h2</th><th>h1</th>", `<span class="mod" tabindex="0">h2<span class="tip">`} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, "CONSOLE") || strings.Contains(l, "Uncaught") {
			t.Errorf("console: %s", l)
		}
	}
}
