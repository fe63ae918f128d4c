package proxy

import (
	"bufio"
	"io"
	"net/http"
	"testing"
	"time"
)

// BenchmarkProxyH2Server: keep-alive HTTP/1.1 requests from 50 clients
// through "server ... proto h2" to Go's h2c server (whose CPU is in the
// figure too); it reports the server connections opened.
func BenchmarkProxyH2Server(b *testing.B) {
	baddr, cl := h2cServer(b, nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "6")
		io.WriteString(w, "hello\n")
	})
	_, addr := startProxy(b, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0
    default_backend be
backend be
    server s B proto h2
`, "B", baddr))
	req := []byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	b.ReportAllocs()
	b.SetParallelism(25)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := dial(b, addr)
		defer c.Close()
		br := bufio.NewReader(c)
		for pb.Next() {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.Write(req)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	b.ReportMetric(float64(cl.n.Load()), "srvconns")
}
