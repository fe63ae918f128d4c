package proxy

import (
	"encoding/json"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// tableProxy runs a proxy with a stick table and an admin socket.
func tableProxy(t *testing.T) (string, string) {
	t.Helper()
	up := newTestServer(t, "up", nil)
	sock := filepath.Join(t.TempDir(), "a.sock")
	_, addr := startProxy(t, sub("global\n    stats socket SOCK level admin\n"+baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    stick-table type ip size 100 expire 1h store gpc0,conn_cnt
    default_backend be
backend be
    server s1 UP check inter 200ms
    server s2 UP
`, "SOCK", sock, "UP", up.addr))
	return sock, addr
}

func TestRuntimeAPIShowInfoAndStatForms(t *testing.T) {
	sock, addr := tableProxy(t)
	body(t, "http://"+addr+"/")
	// The counters are updated when the transaction ends, which can be
	// just after the client has read the response.
	waitFor(t, func() bool {
		return csvRows(t, apiCall(t, sock, "show stat"))["fe/FRONTEND"]["req_tot"] == "1"
	}, "the request counted")
	// The response's bytes count in the last second's BytesOutRate
	// (HAProxy's, in units of 32 bytes).
	if m := regexp.MustCompile(`(?m)^BytesOutRate: (\d+)$`).FindStringSubmatch(apiCall(t, sock, "show info")); m == nil || m[1] == "0" {
		t.Errorf("show info BytesOutRate after a request: %v", m)
	}
	typed := apiCall(t, sock, "show info typed")
	if !regexp.MustCompile(`(?m)^0\.Name\.1:POS:str:Bulwark$`).MatchString(typed) ||
		!regexp.MustCompile(`(?m)^8\.Uptime_sec\.1:MDP:u32:\d+$`).MatchString(typed) {
		t.Fatalf("show info typed: %q", typed)
	}
	var info []map[string]any
	if err := json.Unmarshal([]byte(apiCall(t, sock, "show info json")), &info); err != nil || len(info) < 10 {
		t.Fatalf("show info json: %v (%d items)", err, len(info))
	}
	st := apiCall(t, sock, "show stat typed")
	if !regexp.MustCompile(`(?m)^S\.3\.1\.17\.status\.1:SGP:str:(UP|no check)$`).MatchString(st) ||
		!regexp.MustCompile(`(?m)^F\.2\.0\.48\.req_tot\.1:MCP:u64:1$`).MatchString(st) {
		t.Fatalf("show stat typed: %.600q", st)
	}
	var js [][]map[string]any
	if err := json.Unmarshal([]byte(apiCall(t, sock, "show stat json")), &js); err != nil || len(js) != 4 {
		t.Fatalf("show stat json: %v, %d rows", err, len(js))
	}
	// A proxy, a type mask and a server id: the servers of be only.
	csv := apiCall(t, sock, "show stat be 4 -1")
	if n := strings.Count(csv, "\nbe,s"); n != 2 || strings.Contains(csv, "BACKEND") || strings.Contains(csv, "FRONTEND") {
		t.Fatalf("show stat be 4 -1: %q", csv)
	}
	var schema map[string]any
	if err := json.Unmarshal([]byte(apiCall(t, sock, "show schema json")), &schema); err != nil || schema["oneOf"] == nil {
		t.Fatalf("show schema json: %v", err)
	}
}

func TestRuntimeAPIListsAndLevels(t *testing.T) {
	sock, addr := tableProxy(t)
	if out := apiCall(t, sock, "show backend"); out != "# name\nbe\n\n" {
		t.Fatalf("show backend: %q", out)
	}
	if out := apiCall(t, sock, "show env PATH"); !strings.HasPrefix(out, "PATH=") {
		t.Fatalf("show env PATH: %q", out)
	}
	if out := apiCall(t, sock, "show cli level;operator;show cli level;user;show cli level;operator;show cli level"); out != "admin\n\n\noperator\n\n\nuser\n\n\nuser\n\n" {
		t.Fatalf("levels: %q", out)
	}
	if out := apiCall(t, sock, "user;clear counters"); !strings.Contains(out, "Permission denied") {
		t.Fatalf("clear counters at user level: %q", out)
	}
	help := apiCall(t, sock, "help")
	for _, c := range apiCommands() {
		if !strings.Contains(help, "  "+c.name) {
			t.Errorf("help lacks %q", c.name)
		}
	}
	if out := apiCall(t, sock, "show fd"); !strings.HasPrefix(out, "Unknown command") {
		t.Fatalf("a command bulwark lacks: %q", out)
	}
	// A session shows in "show sess" and "shutdown session" ends it.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var id string
	waitFor(t, func() bool {
		m := regexp.MustCompile(`(?m)^(0x[0-9a-f]+): proto=tcpv4 src=` + regexp.QuoteMeta(c.LocalAddr().String()) + ` fe=fe `).FindStringSubmatch(apiCall(t, sock, "show sess"))
		if m != nil {
			id = m[1]
		}
		return m != nil
	}, "the session in show sess")
	if out := apiCall(t, sock, "shutdown session "+id); strings.TrimSpace(out) != "" {
		t.Fatalf("shutdown session: %q", out)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("session still open after shutdown session")
	}
}

func TestRuntimeAPIClearCounters(t *testing.T) {
	sock, addr := tableProxy(t)
	body(t, "http://"+addr+"/")
	fe := func() map[string]string { return csvRows(t, apiCall(t, sock, "show stat"))["fe/FRONTEND"] }
	waitFor(t, func() bool { return fe()["req_tot"] == "1" }, "the request counted")
	if r := fe(); r["req_tot"] != "1" || r["smax"] != "1" {
		t.Fatalf("before: req_tot=%s smax=%s", r["req_tot"], r["smax"])
	}
	apiCall(t, sock, "clear counters")
	if r := fe(); r["req_tot"] != "1" {
		t.Fatalf("clear counters reset the totals: req_tot=%s", r["req_tot"])
	}
	apiCall(t, sock, "clear counters all")
	if r := fe(); r["req_tot"] != "0" || r["stot"] != "0" || r["bin"] != "0" {
		t.Fatalf("clear counters all: req_tot=%s stot=%s bin=%s", r["req_tot"], r["stot"], r["bin"])
	}
}

func TestRuntimeAPITables(t *testing.T) {
	sock, _ := tableProxy(t)
	for _, cmd := range []string{"set table fe key 10.0.0.1 data.gpc0 5", "set table fe key 10.0.0.2 data.gpc0 1", "set table fe key 10.0.0.3 data.gpc0 2"} {
		if out := apiCall(t, sock, cmd); strings.TrimSpace(out) != "" {
			t.Fatalf("%s: %q", cmd, out)
		}
	}
	all := apiCall(t, sock, "show table fe")
	if !strings.Contains(all, "key=10.0.0.1") || !strings.Contains(all, "key=10.0.0.2") {
		t.Fatalf("show table: %q", all)
	}
	gt := apiCall(t, sock, "show table fe data.gpc0 gt 2")
	if !strings.Contains(gt, "key=10.0.0.1") || strings.Contains(gt, "key=10.0.0.2") || strings.Contains(gt, "key=10.0.0.3") {
		t.Fatalf("show table data.gpc0 gt 2: %q", gt)
	}
	if out := apiCall(t, sock, "set table fe key 10.0.0.4 data.http_req_cnt 1"); !strings.Contains(out, "not stored") {
		t.Fatalf("set of a type not stored: %q", out)
	}
	apiCall(t, sock, "clear table fe")
	if out := apiCall(t, sock, "show table fe"); strings.Contains(out, "key=") {
		t.Fatalf("after clear table: %q", out)
	}
}

func TestRuntimeAPISetServerHealth(t *testing.T) {
	sock, _ := tableProxy(t)
	waitFor(t, func() bool { return csvRows(t, apiCall(t, sock, "show stat"))["be/s1"]["check_status"] == "L4OK" }, "first check")
	if out := apiCall(t, sock, "set server be/s1 health down"); strings.TrimSpace(out) != "" {
		t.Fatalf("set server health: %q", out)
	}
	if st := csvRows(t, apiCall(t, sock, "show stat"))["be/s1"]["status"]; !strings.HasPrefix(st, "DOWN") {
		t.Fatalf("after health down: %s", st)
	}
	if out := apiCall(t, sock, "set server be/s2 health down"); !strings.Contains(out, "not enabled") {
		t.Fatalf("health of an unchecked server: %q", out)
	}
}
