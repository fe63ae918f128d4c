package audit

import (
	"bytes"
	"context"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// lockedBuffer collects a child's output while another goroutine polls it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// renegotiationProbe asks for a client-initiated renegotiation, which Go's
// client cannot do: 'openssl s_client' renegotiates when it reads a line
// "R" on stdin. TLS 1.3 has no renegotiation, so TLS 1.2 is forced; a bind
// that refuses TLS 1.2 cannot be renegotiated at all. Accepted means the
// server answered the new ClientHello with a ServerHello (seen with
// -state); a "no renegotiation" alert, a handshake failure or a closed
// connection are refusals.
func renegotiationProbe(addr string, timeout time.Duration) ProbeResult {
	const name = "client-initiated renegotiation"
	r := ProbeResult{Name: name}
	if _, err := exec.LookPath("openssl"); err != nil {
		r.Err = "openssl is not installed"
		return r
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	host, port, _ := net.SplitHostPort(addr)
	cmd := exec.CommandContext(ctx, "openssl", "s_client", "-connect", net.JoinHostPort(host, port),
		"-servername", host, "-tls1_2", "-state")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		r.Err = err.Error()
		return r
	}
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		r.Err = err.Error()
		return r
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	sent := false
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
loop:
	for {
		select {
		case <-done:
			break loop
		case <-tick.C:
		}
		s := out.String()
		if !sent && strings.Contains(s, "Verify return code") && !strings.Contains(s, "Cipher is (NONE)") {
			io.WriteString(stdin, "R\n")
			sent = true
		}
		if _, after, ok := strings.Cut(s, "RENEGOTIATING"); ok && renegDecided(after) {
			break
		}
	}
	stdin.Close()
	select {
	case <-done:
	case <-time.After(timeout):
		cancel()
		<-done
	}
	s := out.String()
	before, after, reneg := strings.Cut(s, "RENEGOTIATING")
	r.Tool = "openssl"
	switch {
	case strings.Contains(strings.ToLower(s), "unknown option"):
		r.Tool, r.Err = "", "this openssl cannot force TLS 1.2: "+firstLine(s)
	case !reneg && strings.Contains(before, "Cipher is (NONE)"):
		r.Err = "TLS 1.2 handshake refused"
		r.Name = name + " (TLS 1.2 refused)"
	case !reneg && ctx.Err() != nil:
		r.Tool, r.Err = "", "timed out"
	case !reneg:
		r.Tool, r.Err = "", "openssl ended before renegotiating: "+firstLine(s)
	case renegAccepted(after):
		r.Accepted = true
	default:
		r.Err = "refused: " + renegError(after)
	}
	return r
}

// renegDecided reports whether the output after "RENEGOTIATING" already
// settles the outcome, so that stdin can be closed early.
func renegDecided(after string) bool {
	return renegAccepted(after) || strings.Contains(after, ":error:") || strings.Contains(after, "alert")
}

func renegAccepted(after string) bool {
	return strings.Contains(after, "read server hello") && !strings.Contains(after, ":error:")
}

func renegError(after string) string {
	for _, line := range strings.Split(after, "\n") {
		if strings.Contains(line, "alert read") || strings.Contains(line, ":error:") {
			if i := strings.LastIndex(line, ":error:"); i >= 0 {
				// "…:error:0A000153:SSL routines:ssl3_read_bytes:no renegotiation:file:line:"
				parts := strings.Split(line[i:], ":")
				if len(parts) > 5 {
					return parts[5]
				}
			}
			return strings.TrimSpace(line)
		}
	}
	if strings.TrimSpace(after) == "" {
		return "connection closed"
	}
	return "no ServerHello for the new handshake"
}
