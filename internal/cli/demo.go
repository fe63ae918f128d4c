package cli

import (
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"

	"bulwark/internal/config"
	"bulwark/internal/model"
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
	show := fs.Bool("print-config", false, "print the embedded configuration and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *port == 0 {
		// HAProxy syntax has no "any port": pick a free one now.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintf(stderr, "demo: %v\n", err)
			return 1
		}
		*port = l.Addr().(*net.TCPAddr).Port
		l.Close()
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
		"{{APP1}}", portOf(apps[0]), "{{APP2}}", portOf(apps[1])).Replace(demoConfig)
	if *show {
		fmt.Fprint(stdout, text)
		return 0
	}
	cfg, ds := config.Parse("demo.cfg", []byte(text), config.LexOptions{})
	m, cds := model.Compile(cfg, model.Options{})
	ds = append(ds, cds...)
	if ds.HasAlerts() {
		for _, d := range ds {
			fmt.Fprintln(stderr, d.HAProxy())
		}
		return 1
	}
	return serve(m, "", stderr, func(rt *proxy.Runtime) {
		addr := rt.Addrs()[0].String()
		fmt.Fprintf(stdout, "Bulwark demo is running.\n"+
			"  proxy:     http://%s/   (try: curl -i http://%s/hello)\n"+
			"  servers:   app1 on %s, app2 on %s (round robin between them)\n"+
			"  stats:     http://%s/stats  (user demo, password %s; CSV: /stats;csv)\n"+
			"  logs:      one HAProxy 'httplog' line per request, below\n"+
			"  config:    bulwark demo -print-config\n"+
			"Press Ctrl-C to stop.\n", addr, addr, apps[0].Addr(), apps[1].Addr(), addr, pass)
		if f, ok := stdout.(*os.File); ok {
			f.Sync()
		}
	}, nil)
}

func portOf(l net.Listener) string {
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}
