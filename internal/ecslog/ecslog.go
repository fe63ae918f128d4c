// Package ecslog renders an access log entry as one JSON object with
// Elastic Common Schema (ECS) field names ("bulwark-log-json", HAP-7.2),
// so that a SIEM ingests it without a grok pattern. Fields ECS has no
// name for (HAProxy's timers, termination state, connection counts) go
// under "haproxy.*", the names Elastic's own HAProxy integration uses.
//
// The object is written by hand, in a fixed order and without reflection,
// because it is rendered for every request.
package ecslog

import (
	"crypto/tls"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"bulwark/internal/proxy"
)

// ECSVersion is the schema version the field names follow.
const ECSVersion = "8.11.0"

// Append appends e as a JSON object (no newline) to b.
func Append(b []byte, e *proxy.LogEntry) []byte {
	b = append(b, `{"@timestamp":`...)
	b = str(b, e.Start.UTC().Format(time.RFC3339Nano))
	b = append(b, `,"ecs":{"version":"`+ECSVersion+`"}`...)
	b = append(b, `,"event":{"kind":"event","category":["`...)
	if e.HTTP {
		b = append(b, `web"]`...)
	} else {
		b = append(b, `network"]`...)
	}
	if e.Ta >= 0 {
		b = append(b, `,"duration":`...)
		b = strconv.AppendInt(b, int64(e.Ta), 10)
	}
	b = append(b, `,"outcome":`...)
	b = str(b, outcome(e))
	b = append(b, '}')

	b = endpoint(b, "client", e.Client, e.BytesIn)
	if e.Local != nil {
		b = endpoint(b, "destination", e.Local, -1)
	}
	if e.ServerAddr != nil {
		b = endpoint(b, "server", e.ServerAddr, -1)
	}
	if e.HTTP {
		method, target, version := splitRequest(e.Request)
		b = append(b, `,"http":{`...)
		sep := false
		if method != "" {
			b = append(b, `"request":{"method":`...)
			b = str(b, method)
			if e.UniqueID != "" {
				b = append(b, `,"id":`...)
				b = str(b, e.UniqueID)
			}
			b = append(b, '}')
			sep = true
		}
		if sep {
			b = append(b, ',')
		}
		b = append(b, `"response":{"bytes":`...)
		b = strconv.AppendInt(b, e.BytesOut, 10)
		if e.Status > 0 {
			b = append(b, `,"status_code":`...)
			b = strconv.AppendInt(b, int64(e.Status), 10)
		}
		b = append(b, '}')
		if version != "" {
			b = append(b, `,"version":`...)
			b = str(b, version)
		}
		b = append(b, '}')
		if target != "" {
			b = append(b, `,"url":{"original":`...)
			b = str(b, target)
			b = append(b, '}')
		}
	}
	if e.UserAgent != "" {
		b = append(b, `,"user_agent":{"original":`...)
		b = str(b, e.UserAgent)
		b = append(b, '}')
	}
	if e.TLS {
		b = append(b, `,"tls":{"established":true`...)
		if v := tlsVersion(e.SSLVersion); v != "" {
			b = append(b, `,"version_protocol":"tls","version":`...)
			b = str(b, v)
		}
		switch {
		case e.SSLCipherID != 0:
			// ECS names suites by their IANA name.
			b = append(b, `,"cipher":`...)
			b = str(b, tls.CipherSuiteName(e.SSLCipherID))
		case e.SSLCipher != "":
			b = append(b, `,"cipher":`...)
			b = str(b, e.SSLCipher)
		}
		if e.SNI != "" {
			b = append(b, `,"client":{"server_name":`...)
			b = str(b, e.SNI)
			b = append(b, '}')
		}
		b = append(b, '}')
	}
	b = append(b, `,"haproxy":{"frontend_name":`...)
	b = str(b, e.Frontend)
	b = append(b, `,"backend_name":`...)
	b = str(b, e.Backend)
	b = append(b, `,"server_name":`...)
	b = str(b, e.Server)
	b = append(b, `,"termination_state":`...)
	b = str(b, e.Term)
	b = append(b, `,"bytes_read":`...)
	b = strconv.AppendInt(b, e.BytesOut, 10)
	b = append(b, `,"connections":{"frontend":`...)
	b = strconv.AppendInt(b, e.FeConn, 10)
	b = append(b, `,"backend":`...)
	b = strconv.AppendInt(b, e.BeConn, 10)
	b = append(b, `,"server":`...)
	b = strconv.AppendInt(b, e.SrvConn, 10)
	b = append(b, `,"retries":`...)
	b = strconv.AppendInt(b, e.Retries, 10)
	b = append(b, `}`...)
	// HAProxy's timers in milliseconds, -1 when not reached (as in its
	// own log lines).
	b = append(b, `,"timers_ms":{"request":`...)
	b = ms(b, e.TR)
	b = append(b, `,"queue":`...)
	b = ms(b, e.Tw)
	b = append(b, `,"connect":`...)
	b = ms(b, e.Tc)
	b = append(b, `,"response":`...)
	b = ms(b, e.Tr)
	b = append(b, `,"total":`...)
	b = ms(b, e.Ta)
	b = append(b, '}')
	if e.CapReq != "" || e.CapResp != "" {
		// "capture request header User-Agent len N" is how the user agent
		// gets here: the entry holds no headers of its own.
		b = append(b, `,"captured_request_headers":`...)
		b = str(b, e.CapReq)
		b = append(b, `,"captured_response_headers":`...)
		b = str(b, e.CapResp)
	}
	b = append(b, `}}`...)
	return b
}

func outcome(e *proxy.LogEntry) string {
	switch {
	case e.Term != "" && e.Term[0] != '-':
		return "failure"
	case e.HTTP && e.Status >= 500:
		return "failure"
	case e.HTTP && e.Status <= 0:
		return "unknown"
	}
	return "success"
}

// endpoint writes ,"name":{"address","ip","port"[,"bytes"]}.
func endpoint(b []byte, name string, a net.Addr, bytes int64) []byte {
	if a == nil {
		return b
	}
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":{"address":`...)
	b = str(b, a.String())
	if host, port, err := net.SplitHostPort(a.String()); err == nil {
		b = append(b, `,"ip":`...)
		b = str(b, host)
		if n, err := strconv.Atoi(port); err == nil {
			b = append(b, `,"port":`...)
			b = strconv.AppendInt(b, int64(n), 10)
		}
	}
	if bytes >= 0 {
		b = append(b, `,"bytes":`...)
		b = strconv.AppendInt(b, bytes, 10)
	}
	return append(b, '}')
}

func ms(b []byte, d time.Duration) []byte {
	if d < 0 {
		return append(b, "-1"...)
	}
	return strconv.AppendInt(b, d.Milliseconds(), 10)
}

// splitRequest splits "GET /path HTTP/1.1" into its parts; ECS wants the
// version without "HTTP/".
func splitRequest(r string) (method, target, version string) {
	method, rest, ok := strings.Cut(r, " ")
	if !ok {
		return "", "", ""
	}
	i := strings.LastIndexByte(rest, ' ')
	if i < 0 {
		return method, rest, ""
	}
	return method, rest[:i], strings.TrimPrefix(rest[i+1:], "HTTP/")
}

// tlsVersion turns "TLSv1.3" into ECS's "1.3".
func tlsVersion(v string) string {
	return strings.TrimPrefix(v, "TLSv")
}

// str appends s as a JSON string. Invalid UTF-8 (request targets are
// raw bytes) becomes U+FFFD so that the line stays valid JSON.
func str(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20 || c == 0x7f:
				b = append(b, `\u00`...)
				b = append(b, hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}

const hex = "0123456789abcdef"
