package stats

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// The CSV header is HAProxy's: 103 fixed columns (0..102 of 2.6), monitoring tools index them.
func TestCSVColumns(t *testing.T) {
	if len(Columns) != 103 {
		t.Fatalf("%d columns, want 103", len(Columns))
	}
	for i, want := range map[int]string{0: "pxname", 17: "status", 32: "type", 44: "hrsp_other", 73: "addr", 99: "uweight"} {
		if Columns[i] != want {
			t.Errorf("column %d is %q, want %q", i, Columns[i], want)
		}
	}
	var b bytes.Buffer
	rows := []Row{
		{Proxy: "fe", Name: "FRONTEND", Type: 0, Stot: 3, Status: "OPEN", Hrsp: [6]int64{0, 3}},
		{Proxy: "be", Name: "s1", Type: 2, Stot: 2, Status: "UP", Weight: 1, Act: 1, Addr: "127.0.0.1:80",
			UWeight: 1, Checked: true, Check: &Check{Status: "L7STS", Code: 503, HasCode: true, Duration: 2,
				Desc: "Layer7 wrong status", Last: "Service Unavailable", Rise: 2, Fall: 3, Health: 3}},
	}
	if err := WriteCSV(&b, rows, true); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "# pxname,svname,") {
		t.Fatalf("csv: %q", b.String())
	}
	f := strings.Split(lines[2], ",")
	if f[0] != "be" || f[1] != "s1" || f[17] != "UP" || f[32] != "2" || f[73] != "127.0.0.1:80" || f[36] != "L7STS" {
		t.Fatalf("server row fields wrong: %q", lines[2])
	}
	if f[37] != "503" || f[38] != "2" || f[65] != "Layer7 wrong status" || f[56] != "Service Unavailable" ||
		f[21] != "0" || f[99] != "1" {
		t.Fatalf("check fields wrong: %q", lines[2])
	}
	if got := strings.Split(lines[1], ","); got[40] != "3" {
		t.Fatalf("hrsp_2xx of frontend = %q", got[40])
	}
}

func TestHTMLEscapesAndHidesVersion(t *testing.T) {
	var b bytes.Buffer
	WriteHTML(&b, []Row{{Proxy: "<x>", Name: "FRONTEND"}}, PageOptions{HideVersion: true, Version: "9.9", URI: "/stats"})
	s := b.String()
	if strings.Contains(s, "<x>") || !strings.Contains(s, "&lt;x&gt;") {
		t.Fatal("proxy name not escaped")
	}
	if strings.Contains(s, "9.9") {
		t.Fatal("version shown despite hide-version")
	}
}

// HumanTime writes at most two non-zero components, as HAProxy's
// human_time does ("1d5m", not "1d0h").
func TestHumanTime(t *testing.T) {
	for sec, want := range map[int64]string{0: "0s", 9: "9s", 60: "1m", 61: "1m1s", 3600: "1h", 3661: "1h1m",
		86400: "1d", 86400 + 300: "1d5m", 86400 + 3600 + 1: "1d1h", 2*86400 + 7: "2d7s", -1: "?"} {
		if got := HumanTime(sec); got != want {
			t.Errorf("HumanTime(%d) = %q; want %q", sec, got, want)
		}
	}
}

// AddN adds n events; a second's count saturates instead of overflowing
// into the second it is stored with.
func TestRateAddN(t *testing.T) {
	var r Rate
	r.AddN(5000, 100)
	r.AddN(5100, 28)
	if got := r.Read(5200); got != 128 {
		t.Fatalf("Read = %d; want 128", got)
	}
	r.AddN(5300, ^uint32(0))
	if got := r.Read(5400); got != int64(^uint32(0)) {
		t.Fatalf("saturated Read = %d; want %d", got, ^uint32(0))
	}
	r.AddN(6100, 1) // the next second starts from the saturated one
	if got := r.Read(6100); got <= 1 {
		t.Fatalf("next second Read = %d", got)
	}
}

// With show-modules every row ends in one cell per module, under the
// "Extra modules" header: the module's counters for frontends and
// backends, the ssl module's alone for servers.
func TestHTMLShowModules(t *testing.T) {
	rows := []Row{{Proxy: "p", Name: "FRONTEND", Type: TypeFrontend, H2: [13]int64{7}},
		{Proxy: "p", Name: "s1", Type: TypeServer, Status: "UP", SSL: SSLCounters{Sess: 4}},
		{Proxy: "p", Name: "BACKEND", Type: TypeBackend, H1: H1Counters{TotalStreams: 9}}}
	var b bytes.Buffer
	WriteHTML(&b, rows, PageOptions{URI: "/stats", ShowModules: true})
	s := b.String()
	if !strings.Contains(s, `<th colspan="3">Extra modules</th></tr>`) || !strings.Contains(s, "<th>ssl</th><th>h2</th><th>h1</th></tr>") {
		t.Fatalf("module headers missing:\n%s", s)
	}
	// Every row has the header's 34 columns (the name, 30, 3 modules).
	tips := regexp.MustCompile(`<span class="tip"><table>.*?</table></span>`)
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, `<tr class="`) {
			if n := strings.Count(tips.ReplaceAllString(l, ""), "<td"); n != 34 {
				t.Errorf("%d cells in %s", n, l)
			}
		}
	}
	for _, want := range []string{"<tr><th>Total number of received HEADERS frames</th><td>7</td></tr>",
		"<tr><th>Total number of ssl sessions established</th><td>4</td></tr>",
		"<tr><th>Total number of streams</th><td>9</td></tr>"} {
		if !strings.Contains(s, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The server row: ssl, then two empty cells.
	if !strings.Contains(s, "</table></span></span></td><td></td><td></td></tr>") {
		t.Error("server row: h2 and h1 cells are not empty")
	}
	var plain bytes.Buffer
	WriteHTML(&plain, rows, PageOptions{URI: "/stats"})
	if strings.Contains(plain.String(), "Extra modules") || strings.Contains(plain.String(), `class="mod"`) {
		t.Error("module columns without show-modules")
	}
}
