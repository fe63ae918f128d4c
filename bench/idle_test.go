package bench

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/plan"
	"bulwark/internal/proxy"
)

// TestIdleMemory measures what one parked keep-alive client connection
// costs the proxy, in-process so that the Go heap, goroutine stacks and a
// heap profile can be read with the GC settled (RSS alone mixes in memory
// the runtime has not returned yet). The clients are bench/idle in a child
// process, so that their descriptors do not count against this process's
// limit. It runs only when asked:
//
//	BENCH_IDLE_CONNS=10000 BENCH_IDLE_PROFILE=/tmp/idle.pprof go test -run TestIdleMemory -v ./bench
//	go tool pprof -top -sample_index=inuse_space /tmp/idle.pprof
func TestIdleMemory(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("BENCH_IDLE_CONNS"))
	if n <= 0 {
		t.Skip("set BENCH_IDLE_CONNS=N to measure N idle connections")
	}
	dir := t.TempDir()
	if out, err := exec.Command("go", "build", "-o", filepath.Join(dir, "idle"), "./idle").CombinedOutput(); err != nil {
		t.Fatalf("building bench/idle: %v\n%s", err, out)
	}
	// The backend runs in a child process too: its memory (a goroutine and
	// buffers for each server connection the proxy keeps) is not the
	// proxy's.
	beCmd := exec.Command(filepath.Join(dir, "idle"), "-backend", "127.0.0.1:0", "-hold", "600s")
	beOut, _ := beCmd.StdoutPipe()
	beCmd.Stderr = os.Stderr
	if err := beCmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		beCmd.Process.Signal(os.Interrupt)
		beCmd.Wait()
	}()
	beSc := bufio.NewScanner(beOut)
	var beAddr string
	if beSc.Scan() {
		if f := strings.Fields(beSc.Text()); len(f) == 2 && f[0] == "listening" {
			beAddr = f[1]
		}
	}
	if beAddr == "" {
		t.Fatal("the backend did not start")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// BENCH_IDLE_TLS=1: the clients use TLS (HTTP/1.1 keep-alive).
	bind, clientArgs := fmt.Sprintf("fd@%d", frontendFD), []string{}
	if os.Getenv("BENCH_IDLE_TLS") == "1" {
		bind += " ssl crt " + writeBenchCert(t)
		clientArgs = append(clientArgs, "-tls")
	}
	src := fmt.Sprintf(`
global
    maxconn %d
defaults
    mode http
    option http-keep-alive
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    timeout http-keep-alive 300s
frontend fe
    bind %s
    default_backend be
backend be
    server s1 %s
`, n+1000, bind, beAddr)
	cfg, ds := config.Parse("idle.cfg", []byte(src), config.LexOptions{})
	m, cds := model.Compile(cfg, model.Options{})
	if ds = append(ds, cds...); ds.HasAlerts() {
		t.Fatalf("config: %v", ds)
	}
	pl, pds := plan.Compile(m, plan.Options{})
	if pds.HasAlerts() {
		t.Fatalf("plan: %v", pds)
	}
	px := proxy.New(proxy.Options{Inherited: map[int]net.Listener{frontendFD: l}})
	rt, err := px.Build(pl)
	if err != nil {
		t.Fatal(err)
	}
	px.Start(rt)
	defer px.Shutdown(t.Context())

	// Warm up: one connection's worth of pools and buffers, then settle.
	warm := exec.Command(filepath.Join(dir, "idle"), append([]string{"-addr", l.Addr().String(), "-n", "1", "-hold", "1ms"}, clientArgs...)...)
	if out, err := warm.CombinedOutput(); err != nil {
		t.Fatalf("warm-up: %v\n%s", err, out)
	}
	before := settle()

	cmd := exec.Command(filepath.Join(dir, "idle"), append([]string{"-addr", l.Addr().String(), "-n", strconv.Itoa(n), "-hold", "300s"}, clientArgs...)...)
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	ready := make(chan int, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "ready" {
				k, _ := strconv.Atoi(f[1])
				ready <- k
				return
			}
		}
		ready <- 0
	}()
	var got int
	select {
	case got = <-ready:
	case <-time.After(5 * time.Minute):
		t.Fatal("bench/idle not ready after 5 minutes")
	}
	if got < n {
		t.Fatalf("only %d of %d connections ready", got, n)
	}
	// Let the last sessions park, then settle the GC.
	time.Sleep(2 * time.Second)
	after := settle()
	if p := os.Getenv("BENCH_IDLE_PROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		pprof.Lookup("heap").WriteTo(f, 0)
		f.Close()
		t.Logf("heap profile in %s", p)
	}
	per := func(a, b uint64) float64 { return (float64(a) - float64(b)) / float64(got) }
	t.Logf("%d idle connections, GC settled, per connection:", got)
	t.Logf("  RSS          %8.0f bytes", per(after.rss, before.rss))
	t.Logf("  heap in use  %8.0f bytes (live objects %8.0f)", per(after.ms.HeapInuse, before.ms.HeapInuse), per(after.ms.HeapAlloc, before.ms.HeapAlloc))
	t.Logf("  stacks       %8.0f bytes, goroutines %.2f", per(after.ms.StackInuse, before.ms.StackInuse), per(uint64(after.goroutines), uint64(before.goroutines)))
	t.Logf("  runtime other %7.0f bytes (Sys %d MB total)", per(after.ms.Sys-after.ms.HeapSys-after.ms.StackSys, before.ms.Sys-before.ms.HeapSys-before.ms.StackSys), after.ms.Sys>>20)
	// The figures include the proxy's idle server connections.
	t.Logf("  server connections open: %d", serverConns(beAddr))
}

type memPoint struct {
	ms         runtime.MemStats
	rss        uint64
	goroutines int
}

// settle runs the GC until the live heap stops shrinking, returns freed
// pages to the OS and reads the figures.
func settle() memPoint {
	var p memPoint
	last := ^uint64(0)
	for i := 0; i < 5; i++ {
		runtime.GC()
		runtime.ReadMemStats(&p.ms)
		if p.ms.HeapAlloc >= last {
			break
		}
		last = p.ms.HeapAlloc
	}
	debug.FreeOSMemory()
	runtime.ReadMemStats(&p.ms)
	p.goroutines = runtime.NumGoroutine()
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseUint(f[1], 10, 64)
				p.rss = kb << 10
			}
		}
	}
	return p
}

// serverConns counts this process's established TCP connections to addr
// (/proc/self/net/tcp: hex local and remote address, then the state, 01
// for established).
func serverConns(addr string) int {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().Is4() {
		return -1
	}
	a := ap.Addr().As4()
	want := fmt.Sprintf("%02X%02X%02X%02X:%04X", a[3], a[2], a[1], a[0], ap.Port())
	b, err := os.ReadFile("/proc/self/net/tcp")
	if err != nil {
		return -1
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 3 && f[2] == want && f[3] == "01" {
			n++
		}
	}
	return n
}
