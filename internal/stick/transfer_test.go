package stick

import (
	"bytes"
	"encoding/gob"
	"testing"
	"time"
)

// A table exported, sent through gob (as between two processes) and
// imported into the next generation's table keeps its entries, counters,
// rates and expiry, as Adopt does within one process.
func TestExportImport(t *testing.T) {
	old := mustTable(t, "t", "type ip size 10 expire 10s store http_req_cnt,http_req_rate(10s),gpc0")
	for i := 0; i < 3; i++ {
		r, _ := old.GetOrCreate(IPv4Key([4]byte{10, 0, 0, byte(i)}), 1000)
		for j := 0; j <= i; j++ {
			r.IncHTTPReq(1000)
		}
		r.Release(1000)
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(old.Export(2000)); err != nil {
		t.Fatal(err)
	}
	var e Exported
	if err := gob.NewDecoder(&buf).Decode(&e); err != nil {
		t.Fatal(err)
	}
	if old.Used() != 3 {
		t.Errorf("Export changed the table: %d entries", old.Used())
	}
	nw := mustTable(t, "t", "type ip size 10 expire 10s store http_req_cnt,http_req_rate(10s)")
	if n, err := nw.Import(&e, 2000); err != nil || n != 3 {
		t.Fatalf("Import = %d, %v", n, err)
	}
	var a, b bytes.Buffer
	old.Dump(&a, 2000)
	nw.Dump(&b, 2000)
	want := bytes.ReplaceAll(a.Bytes(), []byte(" gpc0=0"), nil)
	if !bytes.Equal(want, b.Bytes()) {
		t.Errorf("imported table:\n%s\nwant:\n%s", b.String(), want)
	}
	// The entries keep the 9000 ticks they had left (exp 11000).
	if n := nw.Expire(10999); n != 0 {
		t.Errorf("Expire(10999) removed %d", n)
	}
	if n := nw.Expire(11000); n != 3 {
		t.Errorf("Expire(11000) removed %d, want 3", n)
	}
	if _, err := mustTable(t, "t", "type string len 8 size 10").Import(&e, 0); err == nil {
		t.Error("Import across key types succeeded")
	}
}

// MsAt reads the clock at a given instant, as NowMs does at the present one.
func TestClockMsAt(t *testing.T) {
	start := time.Now()
	c := ClockFrom(start)
	if got := c.MsAt(start.Add(1500 * time.Millisecond)); got != 1500 {
		t.Errorf("MsAt(start+1.5s) = %d, want 1500", got)
	}
	now := time.Now()
	if a, b := c.MsAt(now), c.NowMs(); a > b || b-a > 1000 {
		t.Errorf("MsAt(now) = %d, NowMs() = %d", a, b)
	}
}
