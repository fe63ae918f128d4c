package tlsinfo

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"flag"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func testCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// handshake runs one TLS handshake over loopback with both ends wrapped,
// and returns the server's and the client's Info and the client's own key
// log (what crypto/tls wrote there, the reference).
func handshake(t *testing.T, ver uint16, curves []tls.CurveID) (srv, cli *Conn, ref string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	scfg := &tls.Config{Certificates: []tls.Certificate{testCert(t)}, MaxVersion: ver}
	if curves != nil {
		scfg.CurvePreferences = curves
	}
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		srv = NewConn(c)
		cfg := scfg.Clone()
		srv.Info.Keys = &KeyLog{}
		cfg.KeyLogWriter = srv.Info.Keys
		tc := tls.Server(srv, cfg)
		err = tc.Handshake()
		tc.Write([]byte("x"))
		done <- err
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cli = NewConn(c)
	var log bytes.Buffer
	cli.Info.Keys = &KeyLog{}
	// The client offers X25519 first, so a server that wants P-256 asks
	// again (HelloRetryRequest).
	ccfg := &tls.Config{InsecureSkipVerify: true, KeyLogWriter: &log, CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256}}
	tc := tls.Client(cli, ccfg)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := tc.Read(b); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return srv, cli, log.String()
}

func keyLogged(ref, label string) (random, secret string) {
	for _, l := range strings.Split(ref, "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == label {
			return f[1], f[2]
		}
	}
	return "", ""
}

func TestHandshakeInfo(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ver    uint16
		curves []tls.CurveID
		labels []Label
	}{
		{"tls13", tls.VersionTLS13, nil, []Label{ClientHandshakeTraffic, ServerHandshakeTraffic, ClientTraffic0, ServerTraffic0}},
		{"tls13-retry", tls.VersionTLS13, []tls.CurveID{tls.CurveP256}, []Label{ClientHandshakeTraffic, ServerTraffic0}},
		{"tls12", tls.VersionTLS12, nil, []Label{MasterSecret}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, cli, ref := handshake(t, tc.ver, tc.curves)
			random, _ := keyLogged(ref, labels[tc.labels[0]])
			for _, side := range []*Conn{srv, cli} {
				ch, sh := side.Info.ClientHello(), side.Info.ServerHello()
				if ch == nil || sh == nil {
					t.Fatalf("hellos not seen: %v %v", ch, sh)
				}
				if got := hex.EncodeToString(ch.Random[:]); got != random {
					t.Errorf("client random %s, the key log says %s", got, random)
				}
				if ch.Version != tls.VersionTLS12 {
					t.Errorf("ClientHello version %x", ch.Version)
				}
				if sh.Random == helloRetry || sh.Random == ch.Random || sh.Random == [32]byte{} {
					t.Errorf("server random %x", sh.Random)
				}
				if tc.ver == tls.VersionTLS13 && (len(sh.SessionID()) != 32 || !bytes.Equal(sh.SessionID(), ch.SessionID())) {
					// RFC 8446 4.1.3: legacy_session_id_echo.
					t.Errorf("session id %x, client's %x", sh.SessionID(), ch.SessionID())
				}
			}
			if srv.Info.ServerHello().Random != cli.Info.ServerHello().Random {
				t.Error("the two ends saw different server randoms")
			}
			for _, l := range tc.labels {
				_, want := keyLogged(ref, labels[l])
				if got := string(srv.Info.Keys.Hex(l)); got != want || want == "" {
					t.Errorf("%s: %q, the client logged %q", labels[l], got, want)
				}
				if got := hex.EncodeToString(srv.Info.Keys.Secret(l)); got != want {
					t.Errorf("%s bytes: %s", labels[l], got)
				}
			}
			if srv.Info.in.Done() != true || srv.Info.out.Done() != true {
				t.Error("scanners still running after the handshake")
			}
		})
	}
}

// TestScannerPieces feeds recorded handshake bytes one byte at a time and
// whole: the result does not depend on how reads cut the stream.
func TestScannerPieces(t *testing.T) {
	seeds, _ := filepath.Glob("testdata/fuzz/FuzzScanner/*")
	if len(seeds) == 0 {
		t.Fatal("no seeds")
	}
	for _, f := range seeds {
		b := seedBytes(t, f)
		var whole, bytewise Scanner
		whole.Feed(b)
		for i := range b {
			bytewise.Feed(b[i : i+1])
		}
		if whole.Type != bytewise.Type || whole.Hello != bytewise.Hello {
			t.Errorf("%s: whole %v/%x, byte by byte %v/%x", f, whole.Type, whole.Hello.Random, bytewise.Type, bytewise.Hello.Random)
		}
	}
}

func seedBytes(t *testing.T, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// go test fuzz v1 / []byte("...")
	lines := strings.Split(string(raw), "\n")
	if len(lines) < 2 {
		t.Fatalf("%s: not a seed", path)
	}
	s := strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")")
	v, err := unquote(s)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return []byte(v)
}

func FuzzScanner(f *testing.F) {
	f.Add([]byte{22, 3, 1, 0, 4, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		b0 := b
		var a, c Scanner
		a.Feed(b)
		for len(b) > 0 {
			k := min(len(b), 7)
			c.Feed(b[:k])
			b = b[k:]
		}
		if a.Type != c.Type || a.Hello != c.Hello {
			t.Fatalf("cut stream differs: %v %v", a, c)
		}
		if a.Type != 0 && len(a.Hello.SessionID()) > 32 {
			t.Fatal("session id too long")
		}
		checkWholeHello(t, b0, &a)
	})
}

// checkWholeHello reads a stream's first record whole, as the req.ssl_*
// fetches do: a ClientHello found there is the one the scanner saw, and
// no field lies outside the record.
func checkWholeHello(t *testing.T, b []byte, s *Scanner) {
	if len(b) < 9 {
		return
	}
	typ, ver, rl := RecordHeader(b)
	if typ != RecordHandshake || ver>>8 != 3 || len(b) < 5+rl || rl < 4 {
		return
	}
	mt, ml := HandshakeHeader(b[5:])
	if mt != 1 || ml > rl-4 {
		return
	}
	m, ok := ParseClientHello(b[9 : 9+ml])
	if !ok {
		return
	}
	if len(m.SessionID) <= 32 && (s.Type != 1 || s.Hello.Version != m.Version ||
		!bytes.Equal(s.Hello.Random[:], m.Random) || !bytes.Equal(s.Hello.SessionID(), m.SessionID)) {
		t.Fatalf("whole record: %x %x %x, scanner: %v %x %x", m.Version, m.Random, m.SessionID, s.Type, s.Hello.Random, s.Hello.SessionID())
	}
	if n := 2 + len(m.Random) + 1 + len(m.SessionID) + 2 + len(m.CipherSuites) + 1 + len(m.Compression) + len(m.Extensions); n > ml {
		t.Fatalf("fields of %d bytes out of a %d-byte hello", n, ml)
	}
	n := 0
	m.EachExtension(func(_ uint16, data []byte) { n += 4 + len(data) })
	if n > len(m.Extensions) {
		t.Fatalf("extensions of %d bytes out of a %d-byte block", n, len(m.Extensions))
	}
}

func unquote(s string) (string, error) { return strconv.Unquote(s) }

var update = flag.Bool("update", false, "rewrite the fuzz seeds from real handshakes")

// recConn keeps the first bytes each direction carried.
type recConn struct {
	net.Conn
	in, out []byte
}

func (c *recConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if len(c.in) < 4096 {
		c.in = append(c.in, p[:n]...)
	}
	return n, err
}

func (c *recConn) Write(p []byte) (int, error) {
	if len(c.out) < 4096 {
		c.out = append(c.out, p...)
	}
	return c.Conn.Write(p)
}

// TestWriteSeeds (with -update) records the bytes of real handshakes,
// both directions, as the seeds of FuzzScanner.
func TestWriteSeeds(t *testing.T) {
	if !*update {
		t.Skip("-update rewrites the seeds")
	}
	dir := "testdata/fuzz/FuzzScanner"
	os.MkdirAll(dir, 0o755)
	for _, tc := range []struct {
		name   string
		ver    uint16
		curves []tls.CurveID
	}{{"tls13", tls.VersionTLS13, nil}, {"tls13-retry", tls.VersionTLS13, []tls.CurveID{tls.CurveP256}}, {"tls12", tls.VersionTLS12, nil}} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		scfg := &tls.Config{Certificates: []tls.Certificate{testCert(t)}, MaxVersion: tc.ver, CurvePreferences: tc.curves}
		got := make(chan *recConn, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				got <- nil
				return
			}
			rc := &recConn{Conn: c}
			s := tls.Server(rc, scfg)
			s.Handshake()
			s.Write([]byte("x"))
			got <- rc
		}()
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true, CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256}})
		if err != nil {
			t.Fatal(err)
		}
		c.Read(make([]byte, 1))
		rc := <-got
		c.Close()
		ln.Close()
		for dir2, b := range map[string][]byte{"client": rc.in, "server": rc.out} {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
			if err := os.WriteFile(filepath.Join(dir, tc.name+"-"+dir2), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// BenchmarkInfo is the cost a TLS connection pays for the hello
// scanners: one handshake's bytes each way, read in 512-byte pieces.
func BenchmarkInfo(b *testing.B) {
	t := &testing.T{}
	in := seedBytes(t, "testdata/fuzz/FuzzScanner/tls13-client")
	out := seedBytes(t, "testdata/fuzz/FuzzScanner/tls13-server")
	b.ReportAllocs()
	for b.Loop() {
		var i Info
		for p := in; len(p) > 0; p = p[min(len(p), 512):] {
			i.Read(p[:min(len(p), 512)])
		}
		for p := out; len(p) > 0; p = p[min(len(p), 512):] {
			i.Wrote(p[:min(len(p), 512)])
		}
		if i.ClientHello() == nil || i.ServerHello() == nil {
			b.Fatal("no hellos")
		}
	}
}
