package stick

import (
	"bytes"
	"encoding/gob"
	"strings"
	"testing"
)

func entryLine(t *testing.T, tab *Table, k Key, now int64) string {
	t.Helper()
	var out bytes.Buffer
	if err := tab.DumpKey(&out, k, now); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("dump:\n%s", out.String())
	}
	_, rest, _ := strings.Cut(lines[1], ": ")
	return rest
}

// Each element of gpc, gpc_rate and gpt counts on its own; an index past
// the array's size is "not stored"; show table prints every element with
// its index before the first '_' of the name, in HAProxy's type order.
func TestArrays(t *testing.T) {
	tab := mustTable(t, "t", "type ip size 10 store gpt(2),gpc_rate(3,10s),gpc(3),http_req_cnt")
	k := ip4("10.0.0.1")
	r, err := tab.Track(k, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if v, ok := r.IncGPC(2, 1000); !ok || v != uint64(i+1) {
			t.Fatalf("IncGPC(2) #%d = %d,%v", i, v, ok)
		}
	}
	if v, ok := r.IncGPC(0, 1000); !ok || v != 1 {
		t.Fatalf("IncGPC(0) = %d,%v", v, ok)
	}
	if v, ok := r.IncGPC(3, 1000); !ok || v != 0 {
		t.Errorf("IncGPC(3) past the array = %d,%v; want HAProxy's 0", v, ok)
	}
	if !r.SetGPT(1, 42) || r.SetGPT(2, 1) {
		t.Error("SetGPT(1) failed or SetGPT(2) past the array succeeded")
	}
	for _, c := range []struct {
		dt   DataType
		idx  int
		want uint64
		ok   bool
	}{
		{DTGPC, 0, 1, true}, {DTGPC, 1, 0, true}, {DTGPC, 2, 3, true}, {DTGPC, 3, 0, false},
		{DTGPCRate, 2, 3, true}, {DTGPCRate, 1, 0, true}, {DTGPT, 1, 42, true}, {DTGPT, 0, 0, true},
		{DTGPT, -1, 0, false},
		// The legacy names read the arrays' first elements.
		{DTGPC0, 0, 1, true}, {DTGPC1, 0, 0, true}, {DTGPC0Rate, 0, 1, true}, {DTGPT0, 0, 0, true},
	} {
		if v, ok := r.GetElem(c.dt, c.idx, 1000); v != c.want || ok != c.ok {
			t.Errorf("GetElem(%s, %d) = %d,%v; want %d,%v", c.dt, c.idx, v, ok, c.want, c.ok)
		}
	}
	if prev, ok := r.ClrGPC(2); !ok || prev != 3 {
		t.Errorf("ClrGPC(2) = %d,%v", prev, ok)
	}
	if v, _ := r.IncGPC1(1000); v != 1 {
		t.Errorf("IncGPC1 on gpc(3) = %d; want gpc's element 1 = 1", v)
	}
	if !tab.Provides(DTGPC1) || tab.Stores(DTGPC1) || tab.Provides(DTGPC1Rate) == false || tab.Elems(DTGPC) != 3 {
		t.Error("Provides/Stores/Elems disagree with the layout")
	}
	want := "key=10.0.0.1 use=1 exp=0 http_req_cnt=0 gpt0=0 gpt1=42 gpc0=1 gpc1=1 gpc2=0" +
		" gpc0_rate(10000)=1 gpc1_rate(10000)=1 gpc2_rate(10000)=3"
	if got := entryLine(t, tab, k, 1000); got != want {
		t.Errorf("show table line\n got %s\nwant %s", got, want)
	}
	// set table data.gpc sets element 0, as HAProxy's does.
	if !r.Set(DTGPC, 7, 1000) {
		t.Fatal("Set(gpc) failed")
	}
	if v, _ := r.GetElem(DTGPC, 0, 1000); v != 7 {
		t.Errorf("after Set(gpc, 7) gpc0 = %d", v)
	}
	r.Release(1000)

	// A rate-only array: the increment answers the current period's count.
	ro := mustTable(t, "ro", "type ip size 10 store gpc_rate(1,1s)")
	rr, _ := ro.GetOrCreate(k, 0)
	rr.IncGPC(0, 10)
	if v, ok := rr.IncGPC0(20); !ok || v != 2 {
		t.Errorf("IncGPC0 on gpc_rate(1) = %d,%v; want 2", v, ok)
	}
	rr.Release(20)
}

// server_key holds the string of the server an entry sticks to; it
// prints "-" until set, and survives Adopt and Export/Import (whose
// dictionary numbers are per table).
func TestServerKey(t *testing.T) {
	old := mustTable(t, "t", "type string size 10 expire 10s store server_id,server_key,gpc(2)")
	r, _ := old.GetOrCreate(StringKey("a"), 0)
	if got := entryLine(t, old, StringKey("a"), 0); got != "key=a use=1 exp=10000 server_id=0 server_key=- gpc0=0 gpc1=0" {
		t.Errorf("unset server_key line %q", got)
	}
	r.SetServerID(3)
	r.SetServerKey("srv3")
	r.IncGPC(1, 0)
	if s, ok := r.ServerKey(); !ok || s != "srv3" {
		t.Errorf("ServerKey = %q,%v", s, ok)
	}
	r.Release(0)
	r2, _ := old.GetOrCreate(StringKey("b"), 0)
	r2.SetServerKey("10.0.0.1:80")
	r2.Release(0)
	if got := entryLine(t, old, StringKey("a"), 0); got != "key=a use=0 exp=10000 server_id=3 server_key=srv3 gpc0=0 gpc1=1" {
		t.Errorf("server_key line %q", got)
	}

	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(old.Export(0)); err != nil {
		t.Fatal(err)
	}
	var e Exported
	if err := gob.NewDecoder(&buf).Decode(&e); err != nil {
		t.Fatal(err)
	}
	// The new table interns in another order and has a smaller array.
	imp := mustTable(t, "t", "type string size 10 expire 10s store server_key,gpc(1)")
	nr, _ := imp.GetOrCreate(StringKey("z"), 0)
	nr.SetServerKey("other")
	nr.Release(0)
	if n, err := imp.Import(&e, 0); err != nil || n != 2 {
		t.Fatalf("Import = %d,%v", n, err)
	}
	if got := entryLine(t, imp, StringKey("a"), 0); got != "key=a use=0 exp=10000 server_key=srv3 gpc0=0" {
		t.Errorf("imported line %q", got)
	}
	if got := entryLine(t, imp, StringKey("b"), 0); got != "key=b use=0 exp=10000 server_key=10.0.0.1:80 gpc0=0" {
		t.Errorf("imported line %q", got)
	}

	nw := mustTable(t, "t", "type string size 10 expire 10s store server_key,gpc(3)")
	if n, err := nw.Adopt(old, 0); err != nil || n != 2 {
		t.Fatalf("Adopt = %d,%v", n, err)
	}
	if got := entryLine(t, nw, StringKey("a"), 0); got != "key=a use=0 exp=10000 server_key=srv3 gpc0=0 gpc1=1 gpc2=0" {
		t.Errorf("adopted line %q", got)
	}
	ar, _ := nw.Lookup(StringKey("b"), 0)
	if s, ok := ar.ServerKey(); !ok || s != "10.0.0.1:80" {
		t.Errorf("adopted ServerKey = %q,%v", s, ok)
	}
}
