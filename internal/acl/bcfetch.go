package acl

import "strconv"

// Connection error codes as HAProxy 2.6 numbers them (CM 7.3.3
// fc_err_str: "ID" and "message"), for bc_err and bc_err_str.
const (
	ConnErrNone        = 0
	ConnErrSSLAbort    = 24 // closed during the handshake
	ConnErrSSLError    = 25 // connection error during the handshake
	ConnErrSSLTimeout  = 26
	ConnErrSSLCAFail   = 30 // the client's CA chain did not verify
	ConnErrSSLCrtFail  = 31 // the client's certificate did not verify
	ConnErrSSLMismatch = 33 // "verifyhost" did not match the certificate
	ConnErrSSLHandshk  = 34
	ConnErrSOCKS4Send  = 39
	ConnErrSOCKS4Recv  = 40
	ConnErrSOCKS4Deny  = 41
	ConnErrSOCKS4Abort = 42
)

// connErrText returns the message of a connection error code, or "" for
// a code HAProxy 2.6 does not have.
func connErrText(code int) string {
	texts := [...]string{
		"Success",
		"Reached configured maxconn value",
		"Too many sockets on the process",
		"Too many sockets on the system",
		"Out of system buffers",
		"Protocol or address family not supported",
		"General socket error",
		"Source port range exhausted",
		"Can't bind to source address",
		"Out of local source ports on the system",
		"Local source address already in use",
		"Connection closed while waiting for PROXY protocol header",
		"Connection error while waiting for PROXY protocol header",
		"Timeout while waiting for PROXY protocol header",
		"Truncated PROXY protocol header received",
		"Received something which does not look like a PROXY protocol header",
		"Received an invalid PROXY protocol header",
		"Received an unhandled protocol in the PROXY protocol header",
		"Connection closed while waiting for NetScaler Client IP header",
		"Connection error while waiting for NetScaler Client IP header",
		"Timeout while waiting for a NetScaler Client IP header",
		"Truncated NetScaler Client IP header received",
		"Received an invalid NetScaler Client IP magic number",
		"Received an unhandled protocol in the NetScaler Client IP header",
		"Connection closed during SSL handshake",
		"Connection error during SSL handshake",
		"Timeout during SSL handshake",
		"Too many SSL connections",
		"Out of memory when initializing an SSL connection",
		"Rejected a client-initiated SSL renegotiation attempt",
		"SSL client CA chain cannot be verified",
		"SSL client certificate not trusted",
		"Server presented an SSL certificate different from the configured one",
		"Server presented an SSL certificate different from the expected one",
		"SSL handshake failure",
		"SSL handshake failure after heartbeat",
		"Stopped a TLSv1 heartbeat attack (CVE-2014-0160)",
		"Attempt to use SSL on an unknown target (internal error)",
		"Server refused early data",
		"SOCKS4 Proxy write error during handshake",
		"SOCKS4 Proxy read error during handshake",
		"SOCKS4 Proxy deny the request",
		"SOCKS4 Proxy handshake aborted by server",
		"SSL fatal error",
	}
	if code < 0 || code >= len(texts) {
		return ""
	}
	return texts[code]
}

// ConnErrText is connErrText for other packages (logs, tests).
func ConnErrText(code int) string { return connErrText(code) }

// BackendConn describes the stream's last connection to a server, as
// bc_err and ssl_bc_err read it (CM 7.3.3).
type BackendConn struct {
	// Known: a connection got as far as being established or failing in
	// its TLS or SOCKS4 handshake. A plain TCP connect failure leaves no
	// connection behind in HAProxy: the fetches then find nothing.
	Known bool
	Code  int // HAProxy's error code, ConnErrNone when it worked
	// TLS: the connection is "ssl"; SSLCode and SSLText are then its
	// OpenSSL error (0, "" without one), for ssl_bc_err and
	// ssl_bc_err_str.
	TLS     bool
	SSLCode int
	SSLText string
}

// BackendConnTxn is implemented by a Txn that knows its server
// connection's outcome.
type BackendConnTxn interface {
	BackendConn() BackendConn
}

// fetchBcErr is bc_err (what 0), bc_err_str (1), ssl_bc_err (2) and
// ssl_bc_err_str (3).
func fetchBcErr(what int) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		bt, ok := e.Txn.(BackendConnTxn)
		if !once(it) || !ok {
			return Sample{}, false
		}
		bc := bt.BackendConn()
		if !bc.Known || what >= 2 && !bc.TLS {
			return Sample{}, false
		}
		n := len(e.buf)
		switch what {
		case 0:
			return intSample(int64(bc.Code)), true
		case 1:
			t := connErrText(bc.Code)
			if t == "" {
				t = "Unknown error (" + strconv.Itoa(bc.Code) + ")"
			}
			e.buf = append(e.buf, t...)
		case 2:
			return intSample(int64(bc.SSLCode)), true
		default:
			if bc.SSLText == "" {
				return Sample{}, false
			}
			e.buf = append(e.buf, bc.SSLText...)
		}
		return strSample(e.tail(n)), true
	}
}

// ListenerConnTxn is implemented by a Txn that can count the
// connections of the listening socket its client came in on.
type ListenerConnTxn interface {
	ListenerConns() (int64, bool)
}

// fetchDstConn is dst_conn: the established connections of the same
// listening socket, this one included (CM 7.3.3).
func fetchDstConn(e *Eval, x *Expr, it *iter) (Sample, bool) {
	lt, ok := e.Txn.(ListenerConnTxn)
	if !once(it) || !ok {
		return Sample{}, false
	}
	n, ok := lt.ListenerConns()
	if !ok {
		return Sample{}, false
	}
	return intSample(n), true
}

// RespBodyTxn is implemented by a Txn that may hold the response body
// "http-response wait-for-body" read.
type RespBodyTxn interface {
	// RespBody returns the body bytes available and the advertised size
	// (Content-Length, else the bytes available); ok is false before a
	// response.
	RespBody() (body []byte, size int64, ok bool)
}

// fetchResBody is res.body (what 0), res.body_len (1), res.body_size (2):
// CM 7.3.6, "the HTTP response's available body".
func fetchResBody(what int) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		rt, ok := e.Txn.(RespBodyTxn)
		if !once(it) || !ok {
			return Sample{}, false
		}
		body, size, ok := rt.RespBody()
		if !ok {
			return Sample{}, false
		}
		switch what {
		case 1:
			return intSample(int64(len(body))), true
		case 2:
			return intSample(size), true
		}
		return Sample{Kind: KindBin, B: body}, true
	}
}

// bcFetches are the server connection's outcome, dst_conn and the
// response body. Built by a function: the table is immutable.
func bcFetches() map[string]*fetchDef {
	return map[string]*fetchDef{
		"bc_err":         {out: KindInt, fn: fetchBcErr(0)},
		"bc_err_str":     {out: KindStr, fn: fetchBcErr(1)},
		"ssl_bc_err":     {out: KindInt, fn: fetchBcErr(2)},
		"ssl_bc_err_str": {out: KindStr, fn: fetchBcErr(3)},
		"dst_conn":       {out: KindInt, fn: fetchDstConn},
		"res.body":       {out: KindBin, fn: fetchResBody(0)},
		"res.body_len":   {out: KindInt, fn: fetchResBody(1)},
		"res.body_size":  {out: KindInt, fn: fetchResBody(2)},
	}
}
