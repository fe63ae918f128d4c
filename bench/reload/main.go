// Command reload measures a master-worker reload of a large configuration
// (bench/config's 2,000 backends x 10 servers) under a light keep-alive
// load, for Bulwark and HAProxy 2.6 in the same run: the time from the
// signal (SIGUSR2 to the master) to the first response of the new
// configuration on a fresh connection, the CPU the master spends on the
// reload, the CPU the new worker has spent by then, and the requests the
// load clients (which never retry) saw fail.
//
//	go run ./bench/reload -reloads 5 -rounds 2
//
// Health checks are left out of the generated file ("check" removed): the
// 20,000 servers are unreachable literal IPs, and their checks would
// measure the machine's SYN timeouts, not the reload; the global maxconn
// is 5,000 instead of 50,000 so that HAProxy fits the descriptor limit.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	configbench "bulwark/bench/config"
)

const probePort = 19990

type sample struct {
	latency            time.Duration
	masterCPU, workCPU time.Duration
}

func main() {
	bulwark := flag.String("bulwark", "", "bulwark binary (default: built from this tree)")
	haproxy := flag.String("haproxy", "/usr/sbin/haproxy", "haproxy binary")
	reloads := flag.Int("reloads", 5, "reloads per round")
	rounds := flag.Int("rounds", 2, "rounds, alternating Bulwark and HAProxy")
	backends := flag.Int("backends", 2000, "backends in the generated configuration")
	clients := flag.Int("clients", 4, "keep-alive load clients (2 ms think time)")
	flag.Parse()
	dir, err := os.MkdirTemp("", "reloadbench")
	check(err)
	defer os.RemoveAll(dir)
	if *bulwark == "" {
		*bulwark = filepath.Join(dir, "bulwark")
		out, err := exec.Command("go", "build", "-o", *bulwark, "bulwark/cmd/bulwark").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
			os.Exit(1)
		}
	}
	var base bytes.Buffer
	check(configbench.Generate(&base, configbench.Params{Backends: *backends, Servers: 10, Frontends: 4}))
	text := strings.ReplaceAll(base.String(), " check weight", " weight")
	// HAProxy sizes its descriptor needs from the global maxconn; 50,000
	// is more than this machine's hard limit allows.
	text = strings.Replace(text, "maxconn 50000", "maxconn 5000", 1)
	lines := strings.Count(text, "\n")
	results := map[string][]sample{}
	fails := map[string]int64{}
	oks := map[string]int64{}
	for r := 0; r < *rounds; r++ {
		for _, who := range []string{"bulwark", "haproxy"} {
			bin := *bulwark
			if who == "haproxy" {
				bin = *haproxy
			}
			ss, ok, failed := runRound(bin, who, dir, text, *reloads, *clients)
			results[who] = append(results[who], ss...)
			fails[who] += failed
			oks[who] += ok
		}
	}
	fmt.Printf("Configuration: %d backends x 10 servers, %d lines; %d reloads x %d rounds each; %d load clients\n\n",
		*backends, lines, *reloads, *rounds, *clients)
	fmt.Println("| | signal → new config serving (median, min–max) | master CPU per reload (median) | new worker CPU until serving (median) | load: requests ok / failed |")
	fmt.Println("|---|---|---|---|---|")
	for _, who := range []string{"bulwark", "haproxy"} {
		ss := results[who]
		lat := pick(ss, func(s sample) time.Duration { return s.latency })
		mc := pick(ss, func(s sample) time.Duration { return s.masterCPU })
		wc := pick(ss, func(s sample) time.Duration { return s.workCPU })
		fmt.Printf("| %s | %v (%v–%v) | %v | %v | %d / %d |\n", who, med(lat), lat[0], lat[len(lat)-1], med(mc), med(wc), oks[who], fails[who])
	}
	b, h := results["bulwark"], results["haproxy"]
	if len(b) > 0 && len(h) > 0 {
		ratio := func(f func(sample) time.Duration) float64 {
			return float64(med(pick(b, f))) / float64(max(med(pick(h, f)), 1))
		}
		fmt.Printf("\nBulwark/HAProxy: latency %.2f, master CPU %.2f, master+worker CPU %.2f\n",
			ratio(func(s sample) time.Duration { return s.latency }),
			ratio(func(s sample) time.Duration { return s.masterCPU }),
			ratio(func(s sample) time.Duration { return s.masterCPU + s.workCPU }))
	}
}

func runRound(bin, who, dir, text string, reloads, clients int) ([]sample, int64, int64) {
	cfg := filepath.Join(dir, who+".cfg")
	sock := filepath.Join(dir, who+".sock")
	write := func(gen int) {
		probe := fmt.Sprintf("frontend probe\n    bind 127.0.0.1:%d\n    http-request return status 200 content-type text/plain string gen%d\n", probePort, gen)
		tmp := cfg + ".tmp"
		check(os.WriteFile(tmp, []byte(text+probe), 0o644))
		check(os.Rename(tmp, cfg))
	}
	write(0)
	os.Remove(sock)
	cmd := exec.Command(bin, "-W", "-S", sock, "-f", cfg)
	cmd.Env = append(os.Environ(), "BULWARK_ALLOW_ROOT=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	check(cmd.Start())
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, format, args...)
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		os.Exit(1)
	}
	// The worker serving is not enough: HAProxy's master drops a signal
	// that comes before its own loop runs, which its CLI answering shows.
	if !waitGen(0, 60*time.Second) {
		fail("%s does not serve:\n%s\n", who, out.String())
	}
	for i := 0; i < 3000 && currentWorker(sock) == 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(time.Second)
	var ok, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			load(stop, &ok, &failed)
		}()
	}
	var ss []sample
	for i := 1; i <= reloads; i++ {
		write(i)
		m0 := cpu(cmd.Process.Pid)
		t0 := time.Now()
		syscall.Kill(cmd.Process.Pid, syscall.SIGUSR2)
		if !waitGen(i, 120*time.Second) {
			close(stop)
			wg.Wait()
			fail("%s: generation %d never served:\n%s\n", who, i, out.String())
		}
		lat := time.Since(t0)
		wc := time.Duration(0)
		if w := currentWorker(sock); w > 0 {
			wc = cpu(w)
		}
		// What the master still does right after (HAProxy's master
		// re-executes itself) counts too.
		time.Sleep(300 * time.Millisecond)
		ss = append(ss, sample{latency: lat, masterCPU: cpu(cmd.Process.Pid) - m0, workCPU: wc})
		time.Sleep(700 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	return ss, ok.Load(), failed.Load()
}

// waitGen polls the probe frontend on fresh connections until it answers
// "gen<n>".
func waitGen(n int, limit time.Duration) bool {
	want := "gen" + strconv.Itoa(n)
	end := time.Now().Add(limit)
	for time.Now().Before(end) {
		if body, err := get(nil); err == nil && body == want {
			return true
		}
		time.Sleep(2 * time.Millisecond)
	}
	return false
}

// get sends one GET on c (a new connection when nil) and returns the body.
func get(kc *keepConn) (string, error) {
	var c net.Conn
	var br *bufio.Reader
	if kc != nil && kc.c != nil {
		c, br = kc.c, kc.br
	} else {
		nc, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(probePort), 2*time.Second)
		if err != nil {
			return "", err
		}
		c, br = nc, bufio.NewReader(nc)
		if kc != nil {
			kc.c, kc.br = c, br
		} else {
			defer c.Close()
		}
	}
	req := "GET / HTTP/1.1\r\nHost: probe\r\n\r\n"
	if kc == nil {
		req = "GET / HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n"
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		return "", err
	}
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 200") {
		return "", fmt.Errorf("status %q %v", line, err)
	}
	n, closing := -1, false
	for {
		h, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		if h == "\r\n" {
			break
		}
		k, v, _ := strings.Cut(h, ":")
		switch strings.ToLower(k) {
		case "content-length":
			n, _ = strconv.Atoi(strings.TrimSpace(v))
		case "connection":
			closing = strings.EqualFold(strings.TrimSpace(v), "close")
		}
	}
	body := make([]byte, max(n, 0))
	if _, err := io.ReadFull(br, body); err != nil {
		return "", err
	}
	if closing && kc != nil {
		kc.c.Close()
		kc.c = nil
	}
	return string(body), nil
}

type keepConn struct {
	c  net.Conn
	br *bufio.Reader
}

// load runs keep-alive requests with a 2 ms think time, never retrying.
func load(stop <-chan struct{}, ok, failed *atomic.Int64) {
	kc := &keepConn{}
	defer func() {
		if kc.c != nil {
			kc.c.Close()
		}
	}()
	for {
		select {
		case <-stop:
			return
		default:
		}
		if _, err := get(kc); err != nil {
			failed.Add(1)
			if kc.c != nil {
				kc.c.Close()
				kc.c = nil
			}
		} else {
			ok.Add(1)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// currentWorker asks the master CLI for the current worker's PID.
func currentWorker(sock string) int {
	c, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err != nil {
		return 0
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "show proc\n")
	b, _ := io.ReadAll(c)
	section := ""
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "#") {
			section = l
			continue
		}
		f := strings.Fields(l)
		if section == "# workers" && len(f) > 1 && f[1] == "worker" {
			n, _ := strconv.Atoi(f[0])
			return n
		}
	}
	return 0
}

// cpu is a process's user+system time (/proc/PID/stat, clock ticks of
// 10 ms).
func cpu(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond
}

func pick(ss []sample, f func(sample) time.Duration) []time.Duration {
	out := make([]time.Duration, len(ss))
	for i, s := range ss {
		out[i] = f(s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func med(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[len(ds)/2]
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "reload bench:", err)
		os.Exit(1)
	}
}
