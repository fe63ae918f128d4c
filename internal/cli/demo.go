package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/plan"
	"bulwark/internal/proxy"
)

// demoConfig is the embedded configuration of "bulwark demo". Its ports are
// filled in at start so the demo never collides with something running.
const demoConfig = `# bulwark demo: the proxy in front of two built-in servers
global
    log stdout format raw local0 info
    maxconn 1000

defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-request 10s

frontend demo
    bind 127.0.0.1:{{PORT}}
    bind 127.0.0.1:{{TLSPORT}} ssl crt {{CRT}} alpn h2,http/1.1
    option forwardfor
    http-request deny if { method TRACE }
    http-response set-header X-Frame-Options DENY
    http-response set-header X-Content-Type-Options nosniff
    stats enable
    stats uri /stats
    stats auth demo:{{PASS}}
    stats hide-version
    default_backend app

backend app
    balance roundrobin
    server app1 127.0.0.1:{{APP1}} check
    server app2 127.0.0.1:{{APP2}} check
`

// demoCmd runs the proxy in front of two embedded demo servers.
func demoCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("port", 8080, "port of the proxy on 127.0.0.1 (0 = any free port)")
	tlsPort := fs.Int("tls-port", 8443, "HTTPS (HTTP/2 and HTTP/1.1) port on 127.0.0.1 (0 = any free port)")
	show := fs.Bool("print-config", false, "print the embedded configuration and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	for _, p := range []*int{port, tlsPort} {
		if *p != 0 {
			continue
		}
		// HAProxy syntax has no "any port": pick a free one now.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintf(stderr, "demo: %v\n", err)
			return 1
		}
		*p = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	dir, err := os.MkdirTemp("", "bulwark-demo-")
	if err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	crt, err := demoCert(dir)
	if err != nil {
		fmt.Fprintf(stderr, "demo: certificate: %v\n", err)
		return 1
	}
	var apps []net.Listener
	for i := 0; i < 2; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintf(stderr, "demo: %v\n", err)
			return 1
		}
		defer l.Close()
		apps = append(apps, l)
		name := fmt.Sprintf("app%d", i+1)
		go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintf(w, "Hello from %s\nYou asked for %s %s\nX-Forwarded-For: %s\n", name, r.Method, r.URL.RequestURI(), r.Header.Get("X-Forwarded-For"))
		}))
	}
	var pw [9]byte
	if _, err := rand.Read(pw[:]); err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 1
	}
	pass := base64.RawURLEncoding.EncodeToString(pw[:])
	text := strings.NewReplacer("{{PORT}}", fmt.Sprint(*port), "{{PASS}}", pass,
		"{{TLSPORT}}", fmt.Sprint(*tlsPort), "{{CRT}}", crt,
		"{{APP1}}", portOf(apps[0]), "{{APP2}}", portOf(apps[1])).Replace(demoConfig)
	if *show {
		fmt.Fprint(stdout, text)
		return 0
	}
	cfg, ds := config.Parse("demo.cfg", []byte(text), config.LexOptions{})
	m, cds := model.Compile(cfg, model.Options{})
	ds = append(ds, cds...)
	pl, pds := plan.Compile(m, plan.Options{})
	ds = append(ds, pds...)
	if ds.HasAlerts() {
		for _, d := range ds {
			fmt.Fprintln(stderr, d.HAProxy())
		}
		return 1
	}
	return serve(pl, "", stderr, func(rt *proxy.Runtime) {
		addr := rt.Addrs()[0].String()
		tlsAddr := rt.Addrs()[1].String()
		fmt.Fprintf(stdout, "Bulwark demo is running.\n"+
			"  proxy:     http://%s/   (try: curl -i http://%s/hello)\n"+
			"  https:     https://%s/  (HTTP/2; self-signed: curl -k --http2 https://%s/hello)\n"+
			"  servers:   app1 on %s, app2 on %s (round robin between them)\n"+
			"  stats:     http://%s/stats  (user demo, password %s; CSV: /stats;csv)\n"+
			"  logs:      one HAProxy 'httplog' line per request, below\n"+
			"  config:    bulwark demo -print-config\n"+
			"Press Ctrl-C to stop.\n", addr, addr, tlsAddr, tlsAddr, apps[0].Addr(), apps[1].Addr(), addr, pass)
		if f, ok := stdout.(*os.File); ok {
			f.Sync()
		}
	}, nil)
}

func portOf(l net.Listener) string {
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// demoCert writes a fresh self-signed certificate for 127.0.0.1 and
// localhost, with its key, in one PEM file of mode 0600 (HAProxy's "crt"
// format; Bulwark refuses keys readable by others).
func demoCert(dir string) (string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return "", err
	}
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(7 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", err
	}
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})...)
	path := filepath.Join(dir, "demo.pem")
	return path, os.WriteFile(path, data, 0o600)
}
