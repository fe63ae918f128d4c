package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/netip"
	"time"

	"bulwark/internal/acl"
	"bulwark/internal/h1"
	"bulwark/internal/stick"
	"bulwark/internal/tlsfail"
	"bulwark/internal/tlsinfo"
)

// handshakeFailed counts and logs a failed client handshake with its
// reason (docs/extensions.md "TLS handshake failure reasons").
func (fe *frontend) handshakeFailed(tc *tls.Conn, bl boundListener, err error) {
	var h tlsfail.Hello
	var cfg *tls.Config
	bind := tc.LocalAddr().String()
	if c, ok := tc.NetConn().(*tlsfail.Conn); ok {
		h = c.Hello
		cfg = c.Config
	}
	var hello *tlsinfo.Hello
	if info := handshakeInfo(tc); info != nil {
		hello = info.ClientHello()
	}
	f := tlsfail.Classify(err, h, cfg)
	bl.tlsFail.Add(f.Reason)
	fe.stats.ssl.failed.Add(1)
	if fe.rt.abuse != nil {
		fe.rt.abuse.TLSFailure(fe.name, bl.label(), addrPort(tc.RemoteAddr()).Addr())
	}
	if fe.errorLog && fe.logging {
		// error-log-format: the frontend's log targets get the line in
		// that format instead of the built-in message.
		ct := &connErrTxn{src: addrPort(tc.RemoteAddr()), dst: addrPort(tc.LocalAddr()), sni: []byte(h.SNI)}
		ct.leafErr, ct.caErr = f.CertErrors()
		ct.code, ct.sslCode, ct.sslText = clientConnErr(f, ct.leafErr)
		if hello != nil {
			ct.helloVer, ct.helloSeen = hello.Version, true
		} else {
			ct.helloVer, ct.helloSeen = h.LegacyVersion()
		}
		fe.opts.Log(&LogEntry{Start: time.Now(), Client: tc.RemoteAddr(), Frontend: fe.name, Backend: fe.name,
			Server: "<NOSRV>", Term: "CR", TR: -1, Tw: -1, Tc: -1, Tr: -1, Ta: -1, Status: -1, TLS: true,
			ConnError: true, Local: tc.LocalAddr(), Eval: acl.NewEval(ct), Level: "info"})
		return
	}
	fe.rt.proxyLog(fe.name, "notice", f.Line(fe.name, bind, tc.RemoteAddr()))
}

// clientConnErr numbers a failed client handshake as HAProxy 2.6 with
// OpenSSL 3 does (checked against Debian's 2.6.12 with error-log-format):
// fc_err 24 when the client closed, 26 on a timeout, 31 / 30 for a client
// certificate (or its chain) that did not verify (the manual's codes:
// HAProxy 2.6.12 logs no such line), 34 for every other failure; and
// OpenSSL's reason, none for a close or a timeout. leafErr is the
// certificate's own verification error (ssl_c_err).
func clientConnErr(f tlsfail.Failure, leafErr int) (code, sslCode int, sslText string) {
	code = acl.ConnErrSSLHandshk
	reason := 0
	switch f.Reason {
	case tlsfail.Timeout:
		return acl.ConnErrSSLTimeout, 0, ""
	case tlsfail.Aborted:
		return acl.ConnErrSSLAbort, 0, ""
	case tlsfail.NotTLS:
		reason = 267
	case tlsfail.VersionTooOld, tlsfail.VersionTooNew:
		reason = 258
	case tlsfail.NoSharedCipher:
		reason = 193
	case tlsfail.NoSharedGroup:
		reason = 101
	case tlsfail.NoSharedALPN:
		// OpenSSL lets a handshake without a common protocol go on;
		// crypto/tls ends it (RFC 7301 3.2).
		reason = 235
	case tlsfail.UnknownSNI:
		// strict-sni refuses the name from OpenSSL's servername callback.
		reason = 234
	case tlsfail.NoClientCert:
		reason = 199
	case tlsfail.BadClientCert:
		code = acl.ConnErrSSLCAFail
		if leafErr != 0 {
			code = acl.ConnErrSSLCrtFail
		}
		reason = 134
	}
	if a, ok := receivedAlert(f.Err); ok && reason == 0 {
		reason = 1000 + a
	}
	sslCode = sslLib | reason
	text := openSSLReason(reason)
	if text == "" && f.Err != nil {
		text = f.Err.Error()
	}
	return code, sslCode, fmt.Sprintf("error:%08X:SSL routines::%s", sslCode, text)
}

// connErrTxn is the rule view of a connection that failed before its
// first request: its addresses and the failure.
type connErrTxn struct {
	src, dst netip.AddrPort
	// The failure as fc_err and ssl_fc_err give it.
	code, sslCode int
	sslText       string
	// What the ClientHello said (ssl_fc_sni, ssl_fc_protocol_hello_id)
	// and the certificate errors (ssl_c_err, ssl_c_ca_err).
	sni            []byte
	helloVer       uint16
	helloSeen      bool
	leafErr, caErr int
}

func (t *connErrTxn) Src() netip.AddrPort           { return t.src }
func (t *connErrTxn) Dst() netip.AddrPort           { return t.dst }
func (t *connErrTxn) Method() []byte                { return nil }
func (t *connErrTxn) Target() []byte                { return nil }
func (t *connErrTxn) Version() (int, int)           { return 0, 0 }
func (t *connErrTxn) ReqHeaders() []h1.Header       { return nil }
func (t *connErrTxn) RespHeaders() []h1.Header      { return nil }
func (t *connErrTxn) Status() int                   { return 0 }
func (t *connErrTxn) TLS() (bool, []byte)           { return true, t.sni }
func (t *connErrTxn) Now() int64                    { return 0 }
func (t *connErrTxn) Tracked(int) stick.Ref         { return stick.Ref{} }
func (t *connErrTxn) SetTracked(int, stick.Ref)     {}
func (t *connErrTxn) Var(string) (acl.Sample, bool) { return acl.Sample{}, false }
func (t *connErrTxn) SetVar(string, acl.Sample)     {}
func (t *connErrTxn) Env() acl.Env                  { return nil }
func (t *connErrTxn) ConnError() (int, int, string) { return t.code, t.sslCode, t.sslText }
func (t *connErrTxn) CacheHit() (bool, string)      { return false, "" }
func (t *connErrTxn) CertErrors() (int, int)        { return t.leafErr, t.caErr }
func (t *connErrTxn) HelloVersion() (uint16, bool)  { return t.helloVer, t.helloSeen }

// handshake completes the handshake of a client connection within to (0:
// no limit) and counts it. It returns the connection's state, read once
// for everything the connection serves; after a failure, counted and
// logged, the connection is closed. The caller that got a state ends the
// connection's count (sslc.cur).
func (fe *frontend) handshake(tc *tls.Conn, bl boundListener, to time.Duration) (*tls.ConnectionState, bool) {
	if to > 0 {
		tc.SetDeadline(time.Now().Add(to))
	}
	var err error
	if len(bl.bind.ACME) > 0 {
		// The context bounds the handshake callbacks too (a bulwark-acme
		// certificate not obtained yet is waited for within it), which
		// the connection deadline alone does not.
		ctx := fe.rt.ctx
		if to > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, to)
			defer cancel()
		}
		err = tc.HandshakeContext(ctx)
	} else {
		// No callback of a bind with certificate files waits, so the
		// deadline bounds the whole handshake, and a hard stop closes the
		// connection (closeAll): a context would only add a timer and
		// crypto/tls's AfterFunc to every new connection.
		err = tc.Handshake()
	}
	if err != nil {
		fe.handshakeFailed(tc, bl, err)
		tc.Close()
		return nil, false
	}
	if to > 0 {
		tc.SetDeadline(time.Time{})
	}
	st := tc.ConnectionState()
	fe.frontendHandshake(st.DidResume)
	return &st, true
}

// TLSFailures returns the failed handshakes of frontend name by reason,
// only the reasons seen.
func (rt *Runtime) TLSFailures(name string) map[string]uint64 {
	out := map[string]uint64{}
	for _, fe := range rt.frontends {
		if fe.name != name {
			continue
		}
		for _, bl := range fe.listeners {
			for _, r := range tlsfail.Reasons() {
				if n := bl.tlsFail.Get(r); n > 0 {
					out[r.String()] += n
				}
			}
		}
	}
	return out
}
