package logging

import (
	"net"
	"strconv"
	"strings"
	"time"

	"bulwark/internal/logfmt"
	"bulwark/internal/proxy"
)

// lineCtx is what a line needs beyond its entry: values of the process
// and of the frontend's logger, computed once.
type lineCtx struct {
	pid      int
	hostname string
	counter  uint64 // %lc and %rt: this line's number
}

// Render appends the line of format f for entry e: the one renderer of
// log-format strings, httplog, httpslog, tcplog and clf alike (CM 8.2.6).
func Render(b []byte, f *logfmt.Format, e *proxy.LogEntry) []byte {
	return render(b, f, e, &lineCtx{})
}

func render(b []byte, f *logfmt.Format, e *proxy.LogEntry, lc *lineCtx) []byte {
	lastSpace := true // a leading separator prints nothing, as in HAProxy
	for i := range f.Nodes {
		n := &f.Nodes[i]
		switch n.Kind {
		case logfmt.Text:
			b = append(b, n.Text...)
			lastSpace = false
		case logfmt.Sep:
			if !lastSpace {
				b = append(b, ' ')
				lastSpace = true
			}
		case logfmt.Sample:
			if e.Eval == nil {
				b = appendText(b, nil, n.Flags)
			} else {
				mark := len(b)
				nb, ok := n.Expr.AppendString(b, e.Eval)
				if ok && len(nb) > mark {
					// Quote and escape the rendered text in place: copy it
					// out of the way first only when a flag asks for it.
					if n.Flags&(logfmt.Quote|logfmt.Escape) != 0 {
						var tmp [256]byte
						s := append(tmp[:0], nb[mark:]...)
						b = appendText(nb[:mark], s, n.Flags)
					} else {
						b = nb
					}
				} else {
					b = appendText(nb[:mark], nil, n.Flags)
				}
			}
			lastSpace = false
		case logfmt.Variable:
			// The capture blocks print nothing at all without captures
			// and leave the separator state, so no double space follows;
			// any other variable counts as output even when empty (an
			// empty %HQ leaves two spaces in HAProxy 2.6).
			before := len(b)
			b = appendVar(b, n, e, lc)
			switch n.Var {
			case logfmt.VarHdrReq, logfmt.VarHdrRes, logfmt.VarHdrReqList, logfmt.VarHdrResList:
				if len(b) > before {
					lastSpace = false
				}
			default:
				lastSpace = false
			}
		}
	}
	return b
}

// appendText is HAProxy's lf_text_len: quotes with Q, '\' escapes with E,
// "-" for an empty value unless quoted.
func appendText(b []byte, s []byte, fl logfmt.Flags) []byte {
	if fl&logfmt.Quote != 0 {
		b = append(b, '"')
	}
	if len(s) > 0 {
		if fl&logfmt.Escape != 0 {
			for _, c := range s {
				if c == '"' || c == '\\' || c == ']' {
					b = append(b, '\\')
				}
				b = append(b, c)
			}
		} else {
			b = append(b, s...)
		}
	} else if fl&(logfmt.Quote|logfmt.Mandatory) == logfmt.Mandatory {
		b = append(b, '-')
	}
	if fl&logfmt.Quote != 0 {
		b = append(b, '"')
	}
	return b
}

func appendStr(b []byte, s string, fl logfmt.Flags) []byte {
	if fl&(logfmt.Quote|logfmt.Escape) == 0 {
		if s == "" {
			if fl&logfmt.Mandatory != 0 {
				return append(b, '-')
			}
			return b
		}
		return append(b, s...)
	}
	// Strings of entries are short; the conversion does not escape.
	var tmp [128]byte
	return appendText(b, append(tmp[:0], s...), fl)
}

func appendInt(b []byte, v int64, fl logfmt.Flags) []byte {
	if fl&logfmt.Hex != 0 {
		return appendHex(b, uint64(v), 4)
	}
	return strconv.AppendInt(b, v, 10)
}

// appendHex prints v in upper-case hex, at least width digits (HAProxy's
// "%04X").
func appendHex(b []byte, v uint64, width int) []byte {
	var tmp [16]byte
	s := strconv.AppendUint(tmp[:0], v, 16)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	for _, c := range s {
		if c >= 'a' {
			c -= 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// appendTimerFl appends a timer in milliseconds, -1 when not reached.
func appendTimerFl(b []byte, d time.Duration) []byte {
	if d < 0 {
		return append(b, '-', '1')
	}
	return strconv.AppendInt(b, d.Milliseconds(), 10)
}

// sumTimers adds timers, -1 as soon as one was not reached (%Td, %Tq).
func sumTimers(ts ...time.Duration) time.Duration {
	var s time.Duration
	for _, t := range ts {
		if t < 0 {
			return -1
		}
		s += t
	}
	return s
}

// requestParts splits the request line "METHOD TARGET HTTP/x.y".
func requestParts(r string) (method, target, version string) {
	method, rest, _ := strings.Cut(r, " ")
	if i := strings.LastIndexByte(rest, ' '); i >= 0 {
		return method, rest[:i], rest[i+1:]
	}
	return method, rest, ""
}

// appendOptAddr renders the IP (ip) or port of an address the entry may
// not have (no server connection yet): empty then, as HAProxy prints "-".
func appendOptAddr(b []byte, a net.Addr, ip bool, fl logfmt.Flags) []byte {
	switch {
	case a == nil:
		return appendStr(b, "", fl)
	case ip:
		return appendAddrIP(b, a, fl)
	}
	return appendAddrPort(b, a, fl)
}

func appendAddrIP(b []byte, a net.Addr, fl logfmt.Flags) []byte {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return appendStr(b, "unix", fl)
	}
	ip := ta.AddrPort().Addr().Unmap()
	if fl&logfmt.Hex != 0 {
		for _, c := range ip.AsSlice() {
			b = appendHex(b, uint64(c), 2)
		}
		return b
	}
	if fl&(logfmt.Quote|logfmt.Escape) == 0 {
		return ip.AppendTo(b)
	}
	var tmp [64]byte
	return appendText(b, ip.AppendTo(tmp[:0]), fl)
}

func appendAddrPort(b []byte, a net.Addr, fl logfmt.Flags) []byte {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		if a == nil {
			return append(b, '0')
		}
		return append(b, a.String()...)
	}
	p := ta.AddrPort().Port()
	if fl&logfmt.Hex != 0 {
		return appendHex(b, uint64(p), 4)
	}
	return strconv.AppendUint(b, uint64(p), 10)
}

// gmtDate is CM 8.2.6 %T and %trg: 06/Feb/2009:12:14:14 +0000.
func gmtDate(b []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
}

func appendVar(b []byte, n *logfmt.Node, e *proxy.LogEntry, lc *lineCtx) []byte {
	fl := n.Flags
	switch n.Var {
	case logfmt.VarBytesOut:
		if e.ASAP {
			b = append(b, '+') // "option logasap": bytes so far
		}
		return appendInt(b, e.BytesOut, 0)
	case logfmt.VarBytesIn:
		return appendInt(b, e.BytesIn, 0)
	case logfmt.VarCapReqCookie, logfmt.VarCapResCookie:
		// Bulwark has no "capture cookie": HAProxy prints "-" then.
		return appendStr(b, "", fl)
	case logfmt.VarHostname:
		return appendStr(b, lc.hostname, fl)
	case logfmt.VarHTTPMethod:
		m, _, _ := requestParts(e.Request)
		return appendStr(b, m, fl)
	case logfmt.VarHTTPURI, logfmt.VarHTTPPath, logfmt.VarHTTPQuery, logfmt.VarHTTPPathO:
		_, t, _ := requestParts(e.Request)
		path := t
		if i := strings.IndexByte(t, '?'); i >= 0 {
			path = t[:i]
		}
		switch n.Var {
		case logfmt.VarHTTPPath:
			t = path
		case logfmt.VarHTTPQuery:
			// %HQ keeps the '?', as HAProxy prints it; without a query
			// it prints nothing, not "-" (checked against HAProxy 2.6).
			t = t[len(path):]
			if t == "" && e.Request != "" && fl&logfmt.Quote == 0 {
				return b
			}
		case logfmt.VarHTTPPathO:
			// Absolute-form: drop the scheme and authority.
			if i := strings.Index(path, "://"); i >= 0 {
				path = path[i+3:]
				if j := strings.IndexByte(path, '/'); j >= 0 {
					path = path[j:]
				} else {
					path = ""
				}
			}
			t = path
		}
		return appendStr(b, t, fl)
	case logfmt.VarHTTPVer:
		_, _, v := requestParts(e.Request)
		return appendStr(b, v, fl)
	case logfmt.VarUniqueID:
		return appendStr(b, e.UniqueID, fl)
	case logfmt.VarStatus:
		return strconv.AppendInt(b, int64(e.Status), 10)
	case logfmt.VarGMTDate, logfmt.VarReqDateGMT:
		return gmtDate(b, e.Start)
	case logfmt.VarLocalDate, logfmt.VarReqDateLoc:
		return e.Start.Local().AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
	case logfmt.VarDate, logfmt.VarReqDate:
		return AppendDate(b, e.Start)
	case logfmt.VarTs:
		if fl&logfmt.Hex != 0 {
			return appendHex(b, uint64(e.Start.Unix()), 4)
		}
		return strconv.AppendInt(b, e.Start.Unix(), 10)
	case logfmt.VarMs:
		ms := e.Start.Nanosecond() / 1e6
		b = append(b, byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
		return b
	case logfmt.VarTa, logfmt.VarTt, logfmt.VarTu:
		// Bulwark's timers start at the request's first byte: idle and
		// handshake times are zero, so Tt and Tu equal Ta.
		if e.ASAP {
			b = append(b, '+') // "option logasap": the time so far
		}
		return appendTimerFl(b, e.Ta)
	case logfmt.VarTc:
		return appendTimerFl(b, e.Tc)
	case logfmt.VarTw:
		return appendTimerFl(b, e.Tw)
	case logfmt.VarTR, logfmt.VarTq:
		return appendTimerFl(b, e.TR)
	case logfmt.VarTr:
		return appendTimerFl(b, e.Tr)
	case logfmt.VarTh, logfmt.VarTi:
		return append(b, '0')
	case logfmt.VarTd:
		s := sumTimers(e.TR, e.Tw, e.Tc, e.Tr)
		if s < 0 || e.Ta < 0 {
			return append(b, '-', '1')
		}
		return appendTimerFl(b, e.Ta-s)
	case logfmt.VarActConn:
		return strconv.AppendInt(b, e.ActConn, 10)
	case logfmt.VarFeConn:
		return strconv.AppendInt(b, e.FeConn, 10)
	case logfmt.VarBeConn:
		return strconv.AppendInt(b, e.BeConn, 10)
	case logfmt.VarSrvConn:
		return strconv.AppendInt(b, e.SrvConn, 10)
	case logfmt.VarRetries:
		return strconv.AppendInt(b, e.Retries, 10)
	case logfmt.VarBeQueue, logfmt.VarSrvQueue:
		return append(b, '0')
	case logfmt.VarBackend:
		return appendStr(b, backendName(e), fl)
	case logfmt.VarServer:
		return appendStr(b, e.Server, fl)
	case logfmt.VarFrontend:
		return appendStr(b, e.Frontend, fl)
	case logfmt.VarFrontendXprt:
		if e.TLS && fl&(logfmt.Quote|logfmt.Escape) == 0 {
			return append(append(b, e.Frontend...), '~')
		}
		return appendStr(b, e.Frontend, fl)
	case logfmt.VarClientIP:
		return appendAddrIP(b, e.Client, fl)
	case logfmt.VarClientPort:
		return appendAddrPort(b, e.Client, fl)
	case logfmt.VarFrontendIP, logfmt.VarFrontendPort:
		return appendOptAddr(b, e.Local, n.Var == logfmt.VarFrontendIP, fl)
	case logfmt.VarServerIP, logfmt.VarServerPort:
		return appendOptAddr(b, e.ServerAddr, n.Var == logfmt.VarServerIP, fl)
	case logfmt.VarBackendIP, logfmt.VarBackendPort:
		return appendOptAddr(b, e.SourceAddr, n.Var == logfmt.VarBackendIP, fl)
	case logfmt.VarLogCounter, logfmt.VarReqCounter:
		if fl&logfmt.Hex != 0 {
			return appendHex(b, lc.counter, 4)
		}
		return strconv.AppendUint(b, lc.counter, 10)
	case logfmt.VarPid:
		if fl&logfmt.Hex != 0 {
			return appendHex(b, uint64(lc.pid), 4)
		}
		return strconv.AppendInt(b, int64(lc.pid), 10)
	case logfmt.VarHdrReq:
		return appendCapture(b, e.CapReq, fl)
	case logfmt.VarHdrRes:
		return appendCapture(b, e.CapResp, fl)
	case logfmt.VarHdrReqList, logfmt.VarHdrResList:
		s := e.CapReq
		if n.Var == logfmt.VarHdrResList {
			s = e.CapResp
		}
		return appendCaptureList(b, s, fl)
	case logfmt.VarRequest:
		return appendStr(b, e.Request, fl)
	case logfmt.VarSSLCiphers:
		return appendStr(b, e.SSLCipher, fl)
	case logfmt.VarSSLVersion:
		return appendStr(b, e.SSLVersion, fl)
	case logfmt.VarTermState:
		return append(b, e.Term...)
	case logfmt.VarTermCookies:
		// The persistence cookie characters; "--" without "cookie".
		if e.Cookie != "" {
			return append(append(b, e.Term...), e.Cookie...)
		}
		return append(append(b, e.Term...), '-', '-')
	}
	return b
}

// appendCapture prints the "{a|b}" block of captured headers; nothing when
// the frontend captures nothing (then the separator after it collapses).
func appendCapture(b []byte, s string, fl logfmt.Flags) []byte {
	if s == "" {
		return b
	}
	return appendStr(b, s, fl&^logfmt.Mandatory)
}

// appendCaptureList is the CLF style: each captured value as its own field.
func appendCaptureList(b []byte, s string, fl logfmt.Flags) []byte {
	if s == "" {
		return b
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	for i := 0; ; i++ {
		v, rest, more := strings.Cut(s, "|")
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendStr(b, v, fl)
		if !more {
			return b
		}
		s = rest
	}
}
