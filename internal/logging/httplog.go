// Package logging renders access-log lines in HAProxy's formats and sends
// them to syslog targets (UDP, unix datagram sockets) or standard streams.
package logging

import (
	"time"

	"bulwark/internal/logfmt"
	"bulwark/internal/proxy"
)

// AppendDate appends HAProxy's %tr date: 06/Feb/2009:12:14:14.655.
func AppendDate(b []byte, t time.Time) []byte {
	return t.AppendFormat(b, "02/Jan/2006:15:04:05.000")
}

// AppendHTTPLog renders the "option httplog" line (CM 8.2.3) through the
// log-format engine. It parses the format on each call: it serves debug
// output and tests; the Logger renders the plan's compiled formats.
func AppendHTTPLog(b []byte, e *proxy.LogEntry) []byte {
	return Render(b, logfmt.MustParse(logfmt.HTTPLog, logfmt.Options{HTTP: true, MergeSpaces: true}), e)
}

// AppendTCPLog renders the "option tcplog" line (CM 8.2.2).
func AppendTCPLog(b []byte, e *proxy.LogEntry) []byte {
	return Render(b, logfmt.MustParse(logfmt.TCPLog, logfmt.Options{MergeSpaces: true}), e)
}

func backendName(e *proxy.LogEntry) string {
	if e.Backend == "" {
		return e.Frontend
	}
	return e.Backend
}
