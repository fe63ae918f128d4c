package proxy

import (
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"bulwark/internal/testtool"
)

// h2specKnownFailures are the h2spec cases the HTTP/2 front does not pass;
// the native front (h2conn.go) passes all of them. The test fails if a
// case joins this list.
var h2specKnownFailures = []string{}

// h2specBin finds h2spec (scripts/install-deps.sh installs it with go
// install); a missing tool fails the test under BULWARK_REQUIRE_TOOLS=1.
func h2specBin(t *testing.T) string {
	t.Helper()
	var gobin []string
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		gobin = append(gobin, filepath.Join(strings.TrimSpace(string(out)), "bin", "h2spec"))
	}
	return testtool.Path(t, "h2spec", gobin...)
}

// TestH2spec runs the HTTP/2 conformance suite against a TLS bind (ALPN
// h2) and a clear-text "proto h2" bind (prior knowledge), with the default
// tune.h2.* settings.
func TestH2spec(t *testing.T) {
	bin := h2specBin(t)
	b := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	crt, _ := writeCert(t, "h2spec.example.test")
	for _, tc := range []struct{ name, bind string }{
		{"tls", "ssl crt CRT alpn h2"},
		{"clear", "proto h2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 `+tc.bind+`
    default_backend be
backend be
    server s B
`, "B", b.addr, "CRT", crt))
			runH2spec(t, bin, addr, tc.name == "tls")
		})
	}
}

func runH2spec(t *testing.T, bin, addr string, tls bool) {
	host, port, _ := strings.Cut(addr, ":")
	report := filepath.Join(t.TempDir(), "h2spec.xml")
	args := []string{"-h", host, "-p", port, "-o", "3", "-j", report}
	if tls {
		args = append(args, "-t", "-k")
	}
	out, _ := exec.Command(bin, args...).CombinedOutput()
	raw, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("no h2spec report: %v\n%s", err, out)
	}
	var rep struct {
		Suites []struct {
			Package string `xml:"package,attr"`
			Cases   []struct {
				Failure *struct{} `xml:"failure"`
				Error   *struct{} `xml:"error"`
				Skipped *struct{} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	total, skipped := 0, 0
	var failed []string
	for _, s := range rep.Suites {
		for i, c := range s.Cases {
			total++
			if c.Skipped != nil {
				skipped++
			}
			if c.Failure != nil || c.Error != nil {
				// The case's number in its section, as h2spec prints it.
				failed = append(failed, fmt.Sprintf("%s/%d", s.Package, i+1))
			}
		}
	}
	sort.Strings(failed)
	t.Logf("h2spec: %d cases, %d skipped, %d failed: %v", total, skipped, len(failed), failed)
	if total < 140 || skipped > 1 {
		t.Fatalf("h2spec ran only %d cases:\n%s", total, out)
	}
	if strings.Join(failed, " ") != strings.Join(h2specKnownFailures, " ") {
		t.Fatalf("h2spec failures %v, want exactly the known %v\n%s", failed, h2specKnownFailures, out)
	}
}
