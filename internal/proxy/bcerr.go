package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"bulwark/internal/acl"
)

// The outcome of the server connection for bc_err, bc_err_str,
// ssl_bc_err and ssl_bc_err_str (CM 7.3.3), in HAProxy's numbering and,
// for TLS, in OpenSSL 3's packed error codes (library SSL = 20, so
// 0x0A000000 | reason), which is what Debian's HAProxy 2.6.12 reports
// (reg-tests/ssl/ssl_errors.vtc masks it with 0x7FFFFF and expects the
// reason: 134 "certificate verify failed", 1048 "tlsv1 alert unknown ca",
// 1040 "sslv3 alert handshake failure").

// tlsHandshakeError is a server connection whose TCP connect worked and
// whose TLS handshake failed: the error says which stage failed, for
// bc_err. It is a net.Error exactly when the handshake error is, so
// termination states ("sC" on a timeout) are unchanged.
type tlsHandshakeError struct{ err error }

func (e *tlsHandshakeError) Error() string { return e.err.Error() }
func (e *tlsHandshakeError) Unwrap() error { return e.err }
func (e *tlsHandshakeError) Timeout() bool {
	ne, ok := e.err.(net.Error)
	return ok && ne.Timeout()
}
func (e *tlsHandshakeError) Temporary() bool { return false }

const sslLib = 20 << 23 // ERR_LIB_SSL in OpenSSL 3's packing

// openSSLReason names the OpenSSL reason codes Bulwark maps Go's
// handshake errors to; reasons above 1000 are alerts received (1000 +
// the alert number, SSL_AD_REASON_OFFSET).
func openSSLReason(r int) string {
	switch r {
	case 101:
		return "no suitable key share"
	case 134:
		return "certificate verify failed"
	case 193:
		return "no shared cipher"
	case 199:
		return "peer did not return a certificate"
	case 234:
		return "callback failed"
	case 235:
		return "no application protocol"
	case 258:
		return "unsupported protocol"
	case 267:
		return "wrong version number"
	case 294:
		return "unexpected eof while reading"
	case 1040:
		return "sslv3 alert handshake failure"
	case 1042:
		return "sslv3 alert bad certificate"
	case 1043:
		return "sslv3 alert unsupported certificate"
	case 1044:
		return "sslv3 alert certificate revoked"
	case 1045:
		return "sslv3 alert certificate expired"
	case 1046:
		return "sslv3 alert certificate unknown"
	case 1047:
		return "sslv3 alert illegal parameter"
	case 1048:
		return "tlsv1 alert unknown ca"
	case 1049:
		return "tlsv1 alert access denied"
	case 1050:
		return "tlsv1 alert decode error"
	case 1051:
		return "tlsv1 alert decrypt error"
	case 1070:
		return "tlsv1 alert protocol version"
	case 1071:
		return "tlsv1 alert insufficient security"
	case 1080:
		return "tlsv1 alert internal error"
	case 1112:
		return "tlsv1 unrecognized name"
	case 1116:
		return "tlsv13 alert certificate required"
	case 1120:
		return "tlsv1 alert no application protocol"
	}
	return ""
}

// receivedAlert returns the number of the TLS alert the peer sent, when
// err is one: crypto/tls reports it as a "remote error" whose text is
// the alert's (AlertError gives the same text for the same number).
func receivedAlert(err error) (int, bool) {
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "remote error" || oe.Err == nil {
		return 0, false
	}
	text := oe.Err.Error()
	for a := 0; a < 256; a++ {
		if tls.AlertError(a).Error() == text {
			return a, true
		}
	}
	return 0, false
}

// backendConnOf classifies the error of one connection attempt to a
// server ("ssl" when isTLS), nil meaning it is established.
func backendConnOf(err error, isTLS bool) acl.BackendConn {
	if err == nil {
		return acl.BackendConn{Known: true, TLS: isTLS}
	}
	var he *tlsHandshakeError
	if !errors.As(err, &he) {
		// A TCP connect failure (refused, unreachable, timeout): HAProxy
		// has no connection left to report on.
		return acl.BackendConn{}
	}
	bc := acl.BackendConn{Known: true, TLS: true, Code: acl.ConnErrSSLHandshk}
	reason := 0
	var hostErr x509.HostnameError
	var verr *tls.CertificateVerificationError
	var uaErr x509.UnknownAuthorityError
	var ciErr x509.CertificateInvalidError
	var rh tls.RecordHeaderError
	var ne net.Error
	if a, ok := receivedAlert(err); ok {
		reason = 1000 + a
	} else if errors.As(err, &hostErr) {
		// "verifyhost" (or the SNI) does not match the certificate.
		bc.Code, reason = acl.ConnErrSSLMismatch, 134
	} else if errors.As(err, &verr) || errors.As(err, &uaErr) || errors.As(err, &ciErr) {
		reason = 134
	} else if errors.As(err, &rh) {
		reason = 267
	} else if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		bc.Code = acl.ConnErrSSLTimeout
		return bc
	} else if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		bc.Code, reason = acl.ConnErrSSLAbort, 294
	} else if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		bc.Code = acl.ConnErrSSLError
		return bc
	}
	bc.SSLCode = sslLib | reason
	text := openSSLReason(reason)
	if text == "" {
		// A failure crypto/tls reports in words of its own: no OpenSSL
		// reason stands for it (docs/compatibility.md).
		text = err.Error()
	}
	bc.SSLText = fmt.Sprintf("error:%08X:SSL routines::%s", bc.SSLCode, text)
	return bc
}
