package proxy

import (
	"crypto/sha1"
	"crypto/tls"
	"encoding/pem"
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

// "commit ssl ca-file" changes the CA client certificates are verified
// with from the next handshake on: a client of the new CA, refused
// before, gets in; a client of the old CA is refused; a connection
// established before the commit keeps working.
func TestRuntimeAPISSLCAFileHotSwap(t *testing.T) {
	srvCrt, _ := writeCert(t, "www.bulwark.test")
	oldCA, newCA := newIgnoreCA(t, "Old CA"), newIgnoreCA(t, "New CA")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: oldCA.cert.Raw}), 0o644)
	now := time.Now()
	oldClient := oldCA.client(t, 2, now.Add(-time.Hour), now.Add(time.Hour))
	newClient := newCA.client(t, 3, now.Add(-time.Hour), now.Add(time.Hour))
	sock := filepath.Join(t.TempDir(), "api.sock")
	_, addr := startProxy(t, sub("global\n    stats socket SOCK level admin\n"+baseDefaults+`
frontend fe
    bind 127.0.0.1:0 ssl crt CRT ca-file CA verify required
    http-request return status 200 content-type text/plain string ok
`, "SOCK", sock, "CRT", srvCrt, "CA", caFile))
	get := func(c tls.Certificate) string {
		t.Helper()
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{c}})
		if err != nil {
			return "refused"
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(3 * time.Second))
		io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		b, _ := io.ReadAll(conn)
		if !strings.HasPrefix(string(b), "HTTP/1.1 200") {
			return "refused"
		}
		return "ok"
	}
	if a, b := get(oldClient), get(newClient); a != "ok" || b != "refused" {
		t.Fatalf("before: old CA's client %s, new CA's %s", a, b)
	}
	early, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{oldClient}})
	if err != nil {
		t.Fatal(err)
	}
	defer early.Close()
	payload := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: newCA.cert.Raw}))
	for _, step := range []struct{ cmd, reply string }{
		{"set ssl ca-file " + caFile + " <<\n" + payload + "\n", "transaction created for CA " + caFile + "!\n\n"},
		{"show ssl ca-file", "# transaction\n*" + caFile + " - 1 certificate(s)\n# filename\n" + caFile + " - 1 certificate(s)\n\n"},
		{"commit ssl ca-file " + caFile, "Committing " + caFile + ".\nSuccess!\n\n"},
	} {
		if out := apiCall(t, sock, step.cmd); out != step.reply {
			t.Fatalf("%.40q: %q, want %q", step.cmd, out, step.reply)
		}
	}
	if a, b := get(oldClient), get(newClient); a != "refused" || b != "ok" {
		t.Fatalf("after commit: old CA's client %s, new CA's %s", a, b)
	}
	early.SetDeadline(time.Now().Add(3 * time.Second))
	io.WriteString(early, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if b, _ := io.ReadAll(early); !strings.HasPrefix(string(b), "HTTP/1.1 200") {
		t.Fatalf("the connection established before the commit: %q", b)
	}
	if out := apiCall(t, sock, "show ssl ca-file "+caFile); !strings.Contains(out, "Subject: /CN=New CA\n") {
		t.Fatalf("show ssl ca-file after commit: %q", out)
	}
}

// "new ssl cert", "commit ssl cert" then "add ssl crt-list" serve a new
// certificate for its SNI filter from the next handshake; "del ssl
// crt-list" stops serving it.
func TestRuntimeAPIAddDelCrtList(t *testing.T) {
	defCrt, _ := writeCert(t, "default.example.test")
	newCrt, _ := writeCert(t, "new.example.test")
	list := filepath.Join(t.TempDir(), "list.txt")
	os.WriteFile(list, []byte(defCrt+"\n"), 0o644)
	sock := filepath.Join(t.TempDir(), "api.sock")
	_, addr := startProxy(t, sub("global\n    stats socket SOCK level admin\n"+baseDefaults+`
frontend fe
    bind 127.0.0.1:0 ssl crt-list LIST
    http-request return status 200
`, "SOCK", sock, "LIST", list))
	served := func(sni string) string {
		t.Helper()
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: sni})
		if err != nil {
			return "refused"
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if got := served("new.example.test"); got != "default.example.test" {
		t.Fatalf("before: %s", got)
	}
	newPEM, _ := os.ReadFile(newCrt)
	const n = "/run/new.pem"
	for _, step := range []struct{ cmd, reply string }{
		{"new ssl cert " + n, "New empty certificate store '" + n + "'!\n\n"},
		{"add ssl crt-list " + list + " " + n, "Can't edit the crt-list: certificate '" + n + "' is empty!\n\n"},
		{"set ssl cert " + n + " <<\n" + string(newPEM) + "\n", "Transaction created for certificate " + n + "!\n\n"},
		{"commit ssl cert " + n, "Committing " + n + "\nSuccess!\n\n"},
		{"add ssl crt-list " + list + " <<\n" + n + " [alpn h2] new.example.test\n\n", "Inserting certificate '" + n + "' in crt-list '" + list + "'.\nSuccess!\n\n"},
		{"show ssl crt-list -n " + list, "# " + list + "\n" + defCrt + ":1\n" + n + ":2 [alpn h2 ] new.example.test\n\n"},
	} {
		if out := apiCall(t, sock, step.cmd); out != step.reply {
			t.Fatalf("%.50q: %q, want %q", step.cmd, out, step.reply)
		}
	}
	if got := served("new.example.test"); got != "new.example.test" {
		t.Fatalf("after add ssl crt-list: %s", got)
	}
	if out := apiCall(t, sock, "del ssl crt-list "+list+" "+n); out != "Entry '"+n+"' deleted in crtlist '"+list+"'!\n\n" {
		t.Fatalf("del ssl crt-list: %q", out)
	}
	if got := served("new.example.test"); got != "default.example.test" {
		t.Fatalf("after del ssl crt-list: %s", got)
	}
	if out := apiCall(t, sock, "del ssl cert "+n); out != "Certificate '"+n+"' deleted!\n\n" {
		t.Fatalf("del ssl cert once unused: %q", out)
	}
}
