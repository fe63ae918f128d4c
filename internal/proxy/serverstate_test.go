package proxy

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/plan"
	"bulwark/internal/testtool"
)

// The backends of the differential test: s1..s3 without checks (their
// state is what the operator set), s4 checked against a port that
// answers, s5 checked against a port that refuses (DOWN after one check).
const stateBackends = `
backend app
    balance roundrobin
    server s1 127.0.0.1:9001 weight 10
    server s2 127.0.0.1:9002 weight 10
    server s3 127.0.0.1:9003 weight 20
backend other
    server s4 127.0.0.1:PORT_UP check inter 100ms rise 1 fall 1
    server s5 DEAD check inter 100ms rise 1 fall 1
`

// The operator's changes both processes get before saving.
var stateCommands = []string{
	"set server app/s1 state maint",
	"set server app/s2 state drain",
	"set server app/s3 weight 7",
}

// startStateHAProxy runs the real HAProxy 2.6 on cfg in the foreground and
// stops it (by its PID) when the test ends.
func startStateHAProxy(t *testing.T, bin, dir, cfg, sock string) {
	t.Helper()
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-db", "-f", path)
	cmd.Dir = dir
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("haproxy did not open its stats socket: %s", out)
}

// waitState polls "show servers state" until cond holds for the rows.
func waitState(t *testing.T, sock string, cond func(map[string]map[string]string) bool) map[string]map[string]string {
	t.Helper()
	var rows map[string]map[string]string
	for i := 0; i < 100; i++ {
		rows = serversState(t, sock)
		if cond(rows) {
			return rows
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("state never settled: %v", rows)
	return nil
}

// checked reports s4 UP and s5 DOWN after their first checks.
func checked(rows map[string]map[string]string) bool {
	return rows["other/s4"]["srv_op_state"] == "2" && rows["other/s4"]["srv_check_status"] == "6" &&
		rows["other/s5"]["srv_op_state"] == "0"
}

// A server-state file written by HAProxy 2.6 ("show servers state" over
// its stats socket, saved as is) is loaded by Bulwark with the same
// result, and a file written by Bulwark is loaded by HAProxy: admin
// states, weights and operational states come back on both sides.
func TestServerStateFileWithHAProxy(t *testing.T) {
	bin := testtool.Path(t, "haproxy", "/usr/sbin/haproxy")
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	go func() {
		for {
			c, err := up.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	_, upPort, _ := net.SplitHostPort(up.Addr().String())
	backends := sub(stateBackends, "PORT_UP", upPort, "DEAD", deadAddr(t))
	dir := t.TempDir()

	// 1. HAProxy writes the file.
	hsock := filepath.Join(dir, "h.sock")
	startStateHAProxy(t, bin, dir, "global\n    stats socket "+hsock+" level admin\n"+baseDefaults+backends, hsock)
	waitState(t, hsock, checked)
	for _, c := range stateCommands {
		apiCall(t, hsock, c)
	}
	hState := apiCall(t, hsock, "show servers state")
	hFile := filepath.Join(dir, "from-haproxy.state")
	if err := os.WriteFile(hFile, []byte(hState), 0o600); err != nil {
		t.Fatal(err)
	}

	// 2. Bulwark loads it.
	bsock := filepath.Join(dir, "b.sock")
	startProxy(t, "global\n    stats socket "+bsock+" level admin\n    server-state-file "+hFile+
		"\n"+baseDefaults+"    load-server-state-from-file global\n"+backends)
	got := serversState(t, bsock)
	want := parseState(t, hState)
	for _, key := range []string{"app/s1", "app/s2", "app/s3", "other/s5"} {
		for _, col := range []string{"be_id", "srv_id", "srv_op_state", "srv_admin_state", "srv_uweight", "srv_iweight"} {
			if got[key][col] != want[key][col] {
				t.Errorf("bulwark loading haproxy's file: %s %s = %s, haproxy had %s", key, col, got[key][col], want[key][col])
			}
		}
	}

	// 3. Bulwark writes a file after changes of its own; HAProxy loads it.
	apiCall(t, bsock, "set server app/s1 state ready")
	apiCall(t, bsock, "set server app/s3 weight 3")
	apiCall(t, bsock, "set server app/s2 state maint")
	bState := apiCall(t, bsock, "show servers state")
	bFile := filepath.Join(dir, "from-bulwark.state")
	if err := os.WriteFile(bFile, []byte(bState), 0o600); err != nil {
		t.Fatal(err)
	}
	h2sock := filepath.Join(dir, "h2.sock")
	startStateHAProxy(t, bin, dir, "global\n    stats socket "+h2sock+" level admin\n    server-state-file "+bFile+"\n"+
		baseDefaults+"    load-server-state-from-file global\n"+backends, h2sock)
	hGot := serversState(t, h2sock)
	bWant := parseState(t, bState)
	for _, key := range []string{"app/s1", "app/s2", "app/s3"} {
		for _, col := range []string{"srv_op_state", "srv_admin_state", "srv_uweight", "srv_iweight"} {
			if hGot[key][col] != bWant[key][col] {
				t.Errorf("haproxy loading bulwark's file: %s %s = %s, bulwark had %s", key, col, hGot[key][col], bWant[key][col])
			}
		}
	}
	if bWant["app/s2"]["srv_admin_state"] != "1" || bWant["app/s3"]["srv_uweight"] != "3" || bWant["app/s1"]["srv_admin_state"] != "0" {
		t.Errorf("bulwark's own changes are not in its file: %v", bWant)
	}
}

// parseState reads "show servers state" text as serversState does.
func parseState(t *testing.T, text string) map[string]map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) < 2 {
		t.Fatalf("state: %q", text)
	}
	cols := strings.Fields(strings.TrimPrefix(lines[1], "# "))
	out := map[string]map[string]string{}
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		row := map[string]string{}
		for i, c := range cols {
			if i < len(f) {
				row[c] = f[i]
			}
		}
		out[row["be_name"]+"/"+row["srv_name"]] = row
	}
	return out
}

// "init-addr last" takes a server's address from its backend's
// server-state file, as HAProxy 2.6 does, even when the name in the file
// is not the configured one: a server whose name does not resolve starts
// on the saved address. Without the file the same configuration fails to
// start ("no method found to resolve address"). Both checked against the real
// HAProxy on the same file and configuration.
func TestInitAddrLastFromStateFile(t *testing.T) {
	srv := rawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nsaved")
	_, port, _ := net.SplitHostPort(srv)
	dir := t.TempDir()
	state := filepath.Join(dir, "servers.state")
	file := "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight " +
		"srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state " +
		"bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n" +
		"3 app 1 s1 127.0.0.1 2 0 1 1 1 1 0 2 0 0 0 0 moved.invalid " + port + " - 0 0 - - 0\n"
	if err := os.WriteFile(state, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	backend := "backend app\n    server s1 bulwark-nowhere.invalid:" + port + " init-addr last\n"
	withFile := func(sock, bind string) string {
		return "global\n    stats socket " + sock + " level admin\n    server-state-file " + state + "\n" + baseDefaults +
			"    load-server-state-from-file global\nfrontend fe\n    bind " + bind + "\n    default_backend app\n" + backend
	}

	_, addr := startProxy(t, withFile(filepath.Join(dir, "b.sock"), "127.0.0.1:0"))
	if got := get(t, addr, ""); !strings.HasSuffix(got, "saved") {
		t.Fatalf("bulwark with the state file: %q", got)
	}

	// Without the file, nothing gives the name an address.
	free := deadAddr(t)
	noFile := baseDefaults + "frontend fe\n    bind " + free + "\n    default_backend app\n" + backend
	ast, ds := config.Parse("test.cfg", []byte(noFile), config.LexOptions{})
	m, cds := model.Compile(ast, model.Options{})
	if ds = append(ds, cds...); ds.HasAlerts() {
		t.Fatal(ds)
	}
	if _, err := New(Options{}).Build(mustPlan(t, m, plan.Options{})); err == nil || !strings.Contains(err.Error(), "no method found to resolve address 'bulwark-nowhere.invalid'") {
		t.Fatalf("bulwark without the state file: %v", err)
	}

	bin := testtool.Path(t, "haproxy", "/usr/sbin/haproxy")
	hsock := filepath.Join(dir, "h.sock")
	startStateHAProxy(t, bin, dir, withFile(hsock, free), hsock)
	if got := get(t, free, ""); !strings.HasSuffix(got, "saved") {
		t.Fatalf("haproxy with the state file: %q", got)
	}
	out, err := exec.Command(bin, "-c", "-f", writeFile(t, "nofile.cfg", noFile)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no method found to resolve address 'bulwark-nowhere.invalid'") {
		t.Fatalf("haproxy without the state file: %v %s", err, out)
	}
}
