package cli

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The README's first command: the demo starts, proxies to both built-in
// servers, serves the stats page with the printed password, logs each
// request, and stops cleanly on SIGTERM.
func TestDemoEndToEnd(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "bulwark")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/bulwark").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "demo", "-port", "0")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var proxyURL, statsURL, pass string
	deadline := time.After(20 * time.Second)
	for pass == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("demo exited early")
			}
			if m := regexp.MustCompile(`proxy:\s+(http://\S+/)`).FindStringSubmatch(l); m != nil {
				proxyURL = m[1]
			}
			if m := regexp.MustCompile(`stats:\s+(http://\S+)\s+\(user demo, password (\S+);`).FindStringSubmatch(l); m != nil {
				statsURL, pass = m[1], m[2]
			}
		case <-deadline:
			t.Fatal("demo did not print its addresses")
		}
	}
	seen := map[string]bool{}
	for i := 0; i < 4; i++ {
		resp, err := http.Get(proxyURL + "hello")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		seen[strings.SplitN(string(b), "\n", 2)[0]] = true
	}
	if !seen["Hello from app1"] || !seen["Hello from app2"] {
		t.Fatalf("round robin did not reach both servers: %v", seen)
	}
	req, _ := http.NewRequest("GET", statsURL, nil)
	req.SetBasicAuth("demo", pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stats page: %v %v", resp, err)
	}
	resp.Body.Close()
	logged := 0
	timeout := time.After(5 * time.Second)
	for logged < 4 {
		select {
		case l := <-lines:
			if strings.Contains(l, `"GET /hello HTTP/1.1"`) {
				logged++
			}
		case <-timeout:
			t.Fatalf("only %d access log lines", logged)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("demo exit: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("demo did not stop on SIGTERM")
	}
}
