package proxy

import (
	"crypto/sha1"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// "set ssl cert" then "commit ssl cert" changes the certificate new
// handshakes get, without a reload; a connection established before keeps
// working, and "abort ssl cert" leaves the served one in place.
func TestRuntimeAPISSLCertHotSwap(t *testing.T) {
	oldCrt, _ := writeCert(t, "old.example.test")
	newCrt, _ := writeCert(t, "new.example.test")
	sock := filepath.Join(t.TempDir(), "api.sock")
	_, addr := startProxy(t, sub("global\n    stats socket SOCK level admin\n"+baseDefaults+`
frontend fe
    bind 127.0.0.1:0 ssl crt CRT strict-sni
    http-request return status 200 content-type text/plain string ok
`, "SOCK", sock, "CRT", oldCrt))
	// With strict-sni a name is served only while a certificate has it.
	served := func(sni string) string {
		t.Helper()
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: sni})
		if err != nil {
			return "refused"
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if got := served("old.example.test"); got != "old.example.test" {
		t.Fatalf("before: %s", got)
	}
	if out := apiCall(t, sock, "show ssl cert"); out != "# filename\n"+oldCrt+"\n\n" {
		t.Fatalf("show ssl cert: %q", out)
	}
	newPEM, _ := os.ReadFile(newCrt)
	// A connection established with the old certificate.
	early, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "old.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	defer early.Close()

	for _, step := range []struct{ cmd, reply string }{
		{"commit ssl cert " + oldCrt, "No ongoing transaction! !\nCan't commit " + oldCrt + "!\n"},
		{"set ssl cert /nope <<\n" + string(newPEM) + "\n", "Can't replace a certificate which is not referenced by the configuration!\nCan't update /nope!\n"},
		{"set ssl cert " + oldCrt + " <<\ngarbage\n", "unable to load certificate from file '" + oldCrt + "'.\nCan't load the payload\nCan't update " + oldCrt + "!\n"},
		{"set ssl cert " + oldCrt + " <<\n" + string(newPEM) + "\n", "Transaction created for certificate " + oldCrt + "!\n"},
		{"show ssl cert", "# transaction\n*" + oldCrt + "\n# filename\n" + oldCrt + "\n"},
	} {
		if out := apiCall(t, sock, step.cmd); out != step.reply+"\n" {
			t.Fatalf("%.40q: %q, want %q", step.cmd, out, step.reply+"\n")
		}
	}
	if got := served("new.example.test"); got != "refused" {
		t.Fatalf("before the commit: %s", got)
	}
	details := apiCall(t, sock, "show ssl cert *"+oldCrt)
	blk, _ := tls.X509KeyPair(newPEM, newPEM)
	fp := fmt.Sprintf("SHA1 FingerPrint: %X\n", sha1.Sum(blk.Certificate[0]))
	if !strings.HasPrefix(details, "Filename: *"+oldCrt+"\nStatus: Unused\nSerial: 01\n") || !strings.Contains(details, fp) ||
		!strings.Contains(details, "Subject: /CN=new.example.test\n") || !strings.Contains(details, "Algorithm: EC256\n") {
		t.Fatalf("show ssl cert of the transaction:\n%s", details)
	}
	if out := apiCall(t, sock, "commit ssl cert "+oldCrt); out != "Committing "+oldCrt+".\nSuccess!\n\n" {
		t.Fatalf("commit: %q", out)
	}
	if got := served("new.example.test"); got != "new.example.test" {
		t.Fatalf("after the commit: %s", got)
	}
	if got := served("old.example.test"); got != "refused" {
		t.Fatalf("the old name after the commit: %s", got)
	}
	if !strings.Contains(apiCall(t, sock, "show ssl cert "+oldCrt), "Status: Used\n") {
		t.Fatal("the committed certificate is not the one in use")
	}
	// The connection from before still carries a request.
	early.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(early, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if b, _ := io.ReadAll(early); !strings.HasPrefix(string(b), "HTTP/1.1 200") || early.ConnectionState().PeerCertificates[0].Subject.CommonName != "old.example.test" {
		t.Fatalf("the connection established before the commit: %q", b)
	}
	apiCall(t, sock, "set ssl cert "+oldCrt+" <<\n"+string(newPEM)+"\n")
	if out := apiCall(t, sock, "abort ssl cert "+oldCrt); out != "Transaction aborted for certificate '"+oldCrt+"'!\n\n" {
		t.Fatalf("abort: %q", out)
	}
	if out := apiCall(t, sock, "abort ssl cert "+oldCrt); out != "No ongoing transaction!\n\n" {
		t.Fatalf("abort twice: %q", out)
	}
}
