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
)

// h2specKnownFailures are the h2spec cases the HTTP/2 front does not pass;
// the native front (h2conn.go) passes all of them. The test fails if a
// case joins this list.
var h2specKnownFailures = []string{}

// h2specBin finds h2spec (scripts/install-deps.sh installs it with go
// install); a missing tool fails the test under BULWARK_REQUIRE_TOOLS=1.
func h2specBin(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("h2spec"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "h2spec")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("BULWARK_REQUIRE_TOOLS") == "1" {
		t.Fatal("h2spec not installed and BULWARK_REQUIRE_TOOLS=1 (scripts/install-deps.sh installs it)")
	}
	t.Skip("h2spec not installed")
	return ""
}

// TestH2spec runs the HTTP/2 conformance suite against a TLS bind with the
// default tune.h2.* settings.
func TestH2spec(t *testing.T) {
	bin := h2specBin(t)
	b := newRawBackend(t, answerEachHead("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	crt, _ := writeCert(t, "h2spec.example.test")
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 ssl crt CRT alpn h2
    default_backend be
backend be
    server s B
`, "B", b.addr, "CRT", crt))
	host, port, _ := strings.Cut(addr, ":")
	report := filepath.Join(t.TempDir(), "h2spec.xml")
	out, _ := exec.Command(bin, "-h", host, "-p", port, "-t", "-k", "-o", "3", "-j", report).CombinedOutput()
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
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	total := 0
	var failed []string
	for _, s := range rep.Suites {
		for i, c := range s.Cases {
			total++
			if c.Failure != nil || c.Error != nil {
				// The case's number in its section, as h2spec prints it.
				failed = append(failed, fmt.Sprintf("%s/%d", s.Package, i+1))
			}
		}
	}
	sort.Strings(failed)
	t.Logf("h2spec: %d cases, %d failed: %v", total, len(failed), failed)
	if total < 140 {
		t.Fatalf("h2spec ran only %d cases:\n%s", total, out)
	}
	if strings.Join(failed, " ") != strings.Join(h2specKnownFailures, " ") {
		t.Fatalf("h2spec failures %v, want exactly the known %v\n%s", failed, h2specKnownFailures, out)
	}
}
