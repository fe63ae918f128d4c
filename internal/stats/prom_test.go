package stats

import (
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func manyRows(n int) []Row {
	rows := []Row{{Proxy: "fe", Name: "FRONTEND", Type: TypeFrontend, Status: "OPEN", Mode: "http", Throttle: -1}}
	for i := 0; i < n; i++ {
		rows = append(rows, Row{Proxy: "be", Name: "s" + strconv.Itoa(i), Type: TypeServer, SID: i + 1, Status: "UP",
			Mode: "http", Checked: true, Throttle: -1, Check: &Check{Status: "L4OK", Duration: 1, Rise: 2, Fall: 3, Health: 4}})
	}
	return append(rows, Row{Proxy: "be", Name: "BACKEND", Type: TypeBackend, Status: "UP", Mode: "http", Throttle: -1})
}

// The exposition parses, and a server's metrics carry its labels.
func TestWritePromParses(t *testing.T) {
	var b strings.Builder
	info := &Info{Name: "Bulwark", Version: "x", Start: time.Now(), Now: time.Now()}
	if err := WriteProm(&b, manyRows(3), info, nil, PromOptions{}); err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(mfs["haproxy_server_current_sessions"].GetMetric()); n != 3 {
		t.Fatalf("%d server series, want 3", n)
	}
	if !strings.Contains(b.String(), `haproxy_server_check_status{proxy="be",server="s1",state="L4OK"} 1`) {
		t.Fatal("check status of s1 missing")
	}
}

// Scraping 1,000 servers (the bound is 50 ms per scrape).
func BenchmarkWriteProm1000(b *testing.B) {
	rows := manyRows(1000)
	info := &Info{Name: "Bulwark", Version: "x", Start: time.Now(), Now: time.Now()}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := WriteProm(io.Discard, rows, info, nil, PromOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
