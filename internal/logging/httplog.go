// Package logging renders access-log lines in HAProxy's formats and sends
// them to syslog targets (UDP, unix datagram sockets) or standard streams.
package logging

import (
	"net"
	"strconv"
	"time"

	"bulwark/internal/proxy"
)

// appendTimer appends a duration in milliseconds, -1 when not reached.
func appendTimer(b []byte, d time.Duration) []byte {
	if d < 0 {
		return append(b, '-', '1')
	}
	return strconv.AppendInt(b, d.Milliseconds(), 10)
}

// appendClient appends "ip:port" of a client address.
func appendClient(b []byte, a net.Addr) []byte {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		b = append(b, ap.Addr().Unmap().String()...)
		b = append(b, ':')
		return strconv.AppendUint(b, uint64(ap.Port()), 10)
	}
	if a == nil {
		return append(b, "unix:0"...)
	}
	return append(b, "unix:"+a.String()...)
}

// AppendDate appends HAProxy's %tr date: 06/Feb/2009:12:14:14.655.
func AppendDate(b []byte, t time.Time) []byte {
	return t.AppendFormat(b, "02/Jan/2006:15:04:05.000")
}

// AppendHTTPLog renders the "option httplog" line (CM 8.2.3):
// %ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc
// %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r
func AppendHTTPLog(b []byte, e *proxy.LogEntry) []byte {
	b = appendHead(b, e)
	if e.TLS {
		b = append(b, '~')
	}
	b = appendRoute(b, e)
	b = appendTimers(b, e.TR, e.Tw, e.Tc, e.Tr, e.Ta)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(e.Status), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.BytesOut, 10)
	b = append(b, " - - "...)
	b = append(b, e.Term...)
	b = append(b, "-- "...)
	b = appendConns(b, e)
	b = append(b, " 0/0 "...)
	if e.CapReq != "" {
		b = append(b, e.CapReq...)
		b = append(b, ' ')
	}
	if e.CapResp != "" {
		b = append(b, e.CapResp...)
		b = append(b, ' ')
	}
	b = append(b, '"')
	b = append(b, e.Request...)
	return append(b, '"')
}

// AppendTCPLog renders the "option tcplog" line (CM 8.2.2):
// %ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq
func AppendTCPLog(b []byte, e *proxy.LogEntry) []byte {
	b = appendHead(b, e)
	b = appendRoute(b, e)
	b = appendTimers(b, e.Tw, e.Tc, e.Ta)
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.BytesOut, 10)
	b = append(b, ' ')
	b = append(b, e.Term...)
	b = append(b, ' ')
	b = appendConns(b, e)
	return append(b, " 0/0"...)
}

func backendName(e *proxy.LogEntry) string {
	if e.Backend == "" {
		return e.Frontend
	}
	return e.Backend
}

// appendConns appends "%ac/%fc/%bc/%sc/%rc": connection counts and retries.
func appendConns(b []byte, e *proxy.LogEntry) []byte {
	b = strconv.AppendInt(b, e.FeConn, 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, e.FeConn, 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, e.BeConn, 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, e.SrvConn, 10)
	b = append(b, '/')
	return strconv.AppendInt(b, e.Retries, 10)
}

// appendHead appends "%ci:%cp [%tr] %ft" without the TLS mark.
func appendHead(b []byte, e *proxy.LogEntry) []byte {
	b = appendClient(b, e.Client)
	b = append(b, " ["...)
	b = AppendDate(b, e.Start)
	b = append(b, "] "...)
	return append(b, e.Frontend...)
}

// appendRoute appends " %b/%s ".
func appendRoute(b []byte, e *proxy.LogEntry) []byte {
	b = append(b, ' ')
	b = append(b, backendName(e)...)
	b = append(b, '/')
	b = append(b, e.Server...)
	return append(b, ' ')
}

// appendTimers appends timers separated by '/'.
func appendTimers(b []byte, ts ...time.Duration) []byte {
	for i, t := range ts {
		if i > 0 {
			b = append(b, '/')
		}
		b = appendTimer(b, t)
	}
	return b
}
