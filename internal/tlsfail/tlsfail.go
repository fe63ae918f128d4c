// Package tlsfail tells why a TLS handshake with a client failed. crypto/tls
// returns an error whose text is meant for people; operators need a short,
// stable reason they can count and alert on (HAP-7.3), plus the facts of
// the ClientHello that explain it (versions offered, SNI, whether a cipher
// was shared), which the error alone does not carry.
package tlsfail

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"bulwark/internal/tlsinfo"
)

// Reason is the class of a handshake failure.
type Reason int

// The reasons, in the order Counters reports them.
const (
	Other          Reason = iota
	NotTLS                // the first bytes are not a TLS record (plain HTTP on a TLS port, scanners)
	Timeout               // no complete handshake within the client's time
	Aborted               // the client closed the connection during the handshake
	VersionTooOld         // every version the client offers is below the bind's minimum
	VersionTooNew         // every version offered is above the bind's maximum
	NoSharedCipher        // no cipher suite in common
	NoSharedGroup         // no key exchange group (curve) in common
	NoSharedALPN          // the client requires an application protocol the bind does not offer
	UnknownSNI            // strict-sni and no certificate for the name asked
	NoClientCert          // "verify required" and the client sent none
	BadClientCert         // the client certificate did not verify
	PeerRejected          // the client rejected the bind's certificate (alert from the client)
	numReasons
)

var names = [numReasons]string{"other", "not-tls", "timeout", "aborted", "version-too-old",
	"version-too-new", "no-shared-cipher", "no-shared-group", "no-shared-alpn", "unknown-sni",
	"no-client-cert", "bad-client-cert", "peer-rejected-certificate"}

func (r Reason) String() string {
	if r < 0 || r >= numReasons {
		return "other"
	}
	return names[r]
}

// Reasons lists every reason, for counters and docs.
func Reasons() []Reason {
	out := make([]Reason, numReasons)
	for i := range out {
		out[i] = Reason(i)
	}
	return out
}

// Hello is what the client's ClientHello said, when one arrived.
type Hello struct {
	Seen     bool
	SNI      string
	Versions []uint16
	Ciphers  []uint16
	ALPN     []string
	// Extensions, Curves and Points are the ClientHello's extension
	// types, supported groups (tls.CurveID values) and EC point formats,
	// in the client's order (ssl_fc_extlist_bin, ssl_fc_eclist_bin,
	// ssl_fc_ecformats_bin).
	Extensions []uint16
	Curves     []uint16
	Points     []uint8
}

// helloOf copies what h says (crypto/tls owns its slices). It runs for
// every handshake: the four lists of numbers share one allocation.
func helloOf(h *tls.ClientHelloInfo) Hello {
	out := Hello{Seen: true, SNI: h.ServerName, ALPN: slices.Clone(h.SupportedProtos), Points: slices.Clone(h.SupportedPoints)}
	n := len(h.SupportedVersions) + len(h.CipherSuites) + len(h.Extensions) + len(h.SupportedCurves)
	if n == 0 {
		return out
	}
	buf := make([]uint16, 0, n)
	from := 0
	// part is what buf got since from, nil when nothing (as a clone of
	// an empty list is).
	part := func() []uint16 {
		p := buf[from:len(buf):len(buf)]
		from = len(buf)
		if len(p) == 0 {
			return nil
		}
		return p
	}
	buf = append(buf, h.SupportedVersions...)
	out.Versions = part()
	buf = append(buf, h.CipherSuites...)
	out.Ciphers = part()
	buf = append(buf, h.Extensions...)
	out.Extensions = part()
	for _, c := range h.SupportedCurves {
		buf = append(buf, uint16(c))
	}
	out.Curves = part()
	return out
}

// Conn wraps an accepted connection so that the ClientHello can be
// recorded for it; Wrap's configuration fills Hello in.
type Conn struct {
	net.Conn
	Hello Hello
	// Config is the configuration the hello was answered with.
	Config *tls.Config
	// Cert is the certificate the handshake presented, when the
	// certificate store chose it (ssl_f_* fetches); nil otherwise.
	Cert *tls.Certificate
	// Verify is the client certificate verification result when the
	// bind ignores some errors (crt-ignore-err, ca-ignore-err) and some
	// were met: ssl_c_verify, ssl_c_err, ssl_c_ca_err, ssl_c_ca_err_depth.
	Verify ClientVerify
	// Info is what the handshake carried that crypto/tls does not
	// export (ssl_fc_client_random, ssl_fc_session_id, the key log).
	Info tlsinfo.Info
}

func (c *Conn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.Info.Read(p[:n])
	return n, err
}

func (c *Conn) Write(p []byte) (int, error) {
	c.Info.Wrote(p)
	return c.Conn.Write(p)
}

// ClientVerify holds OpenSSL error numbers: the last error, the first at
// depth 0, the first above it and its depth.
type ClientVerify struct {
	Last, Leaf, CA, CADepth int
}

// SetClientVerify records the verification result of the connection.
func (c *Conn) SetClientVerify(last, leaf, ca, caDepth int) {
	c.Verify = ClientVerify{Last: last, Leaf: leaf, CA: ca, CADepth: caDepth}
}

// SetLocalCert records the certificate chosen for this connection.
func (c *Conn) SetLocalCert(cert *tls.Certificate) { c.Cert = cert }

// LocalCert is the certificate recorded, nil while none was.
func (c *Conn) LocalCert() *tls.Certificate { return c.Cert }

// NewConn wraps c.
func NewConn(c net.Conn) *Conn { return &Conn{Conn: c} }

// Wrap returns a copy of cfg that records each ClientHello into its
// connection when that connection is a *Conn, then proceeds as cfg does.
// With keyLog ("tune.ssl.keylog on"), each such connection handshakes
// with its own copy of the configuration, whose KeyLogWriter is the
// connection's key log.
func Wrap(cfg *tls.Config, keyLog bool) *tls.Config {
	out := cfg.Clone()
	inner := cfg.GetConfigForClient
	out.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		if c, ok := h.Conn.(*Conn); ok {
			c.Config = out
			c.Hello = helloOf(h)
		}
		var chosen *tls.Config
		if inner != nil {
			var err error
			if chosen, err = inner(h); err != nil {
				return nil, err
			}
		}
		c, ok := h.Conn.(*Conn)
		if u, wraps := h.Conn.(interface{ NetConn() net.Conn }); !ok && wraps {
			// A PROXY header reader (accept-proxy) sits above the Conn.
			c, ok = u.NetConn().(*Conn)
		}
		if !keyLog || !ok {
			return chosen, nil
		}
		if chosen == nil {
			chosen = out
		}
		// The copy's own GetConfigForClient is not called again.
		chosen = chosen.Clone()
		c.Info.Keys = &tlsinfo.KeyLog{}
		chosen.KeyLogWriter = c.Info.Keys
		return chosen, nil
	}
	return out
}

// Failure is one classified handshake failure.
type Failure struct {
	Reason Reason
	Err    error
	Hello  Hello
	// SharedCipher tells whether client and bind had a cipher suite in
	// common (TLS 1.3 suites always are: crypto/tls enables all three).
	SharedCipher bool
}

// Classify explains err, the error of a failed server handshake on a
// connection configured by cfg, with h the recorded ClientHello.
func Classify(err error, h Hello, cfg *tls.Config) Failure {
	f := Failure{Err: err, Hello: h, SharedCipher: sharedCipher(h, cfg)}
	f.Reason = classify(err, h, cfg, f.SharedCipher)
	return f
}

func classify(err error, h Hello, cfg *tls.Config, shared bool) Reason {
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		return NotTLS
	}
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return Timeout
	}
	msg := err.Error()
	// The client's own alerts arrive as "remote error: tls: ...".
	if strings.Contains(msg, "remote error: tls: ") {
		for _, a := range []string{"bad certificate", "unknown certificate authority", "certificate expired",
			"certificate unknown", "unsupported certificate", "certificate revoked", "access denied"} {
			if strings.Contains(msg, a) {
				return PeerRejected
			}
		}
		return Other
	}
	if h.Seen && cfg != nil {
		if lo, hi := offered(h); lo != 0 {
			if cfg.MinVersion != 0 && hi < cfg.MinVersion {
				return VersionTooOld
			}
			if cfg.MaxVersion != 0 && lo > cfg.MaxVersion {
				return VersionTooNew
			}
		}
	}
	switch {
	case strings.Contains(msg, "unsupported versions"), strings.Contains(msg, "protocol version not supported"):
		return VersionTooOld
	case strings.Contains(msg, "no cipher suite supported by both"), strings.Contains(msg, "ciphersuites: the TLS 1.3 suite"):
		return NoSharedCipher
	case strings.Contains(msg, "no ECDHE curve supported by both"), strings.Contains(msg, "no supported key exchange"),
		strings.Contains(msg, "CurvePreferences includes no supported curves"):
		return NoSharedGroup
	case strings.Contains(msg, "unsupported application protocols"):
		return NoSharedALPN
	case strings.Contains(msg, "strict-sni"), strings.Contains(msg, "no certificates configured"):
		return UnknownSNI
	case strings.Contains(msg, "didn't provide a certificate"):
		return NoClientCert
	case strings.Contains(msg, "failed to verify certificate"), strings.Contains(msg, "x509:"):
		return BadClientCert
	}
	if !h.Seen && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(msg, "connection reset")) {
		return Aborted
	}
	if !shared && h.Seen {
		return NoSharedCipher
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return Aborted
	}
	return Other
}

// offered returns the lowest and highest version the client offered.
func offered(h Hello) (lo, hi uint16) {
	for _, v := range h.Versions {
		// GREASE values (RFC 8701) are not versions.
		if v&0x0f0f == 0x0a0a {
			continue
		}
		if lo == 0 || v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return lo, hi
}

// sharedCipher reports whether the hello offered a suite cfg would use.
func sharedCipher(h Hello, cfg *tls.Config) bool {
	if !h.Seen {
		return false
	}
	_, hi := offered(h)
	if hi >= tls.VersionTLS13 && (cfg == nil || cfg.MaxVersion == 0 || cfg.MaxVersion >= tls.VersionTLS13) {
		for _, c := range h.Ciphers {
			if c >= tls.TLS_AES_128_GCM_SHA256 && c <= tls.TLS_CHACHA20_POLY1305_SHA256 {
				return true
			}
		}
	}
	allowed := map[uint16]bool{}
	if cfg != nil && cfg.CipherSuites != nil {
		for _, c := range cfg.CipherSuites {
			allowed[c] = true
		}
	} else {
		for _, c := range tls.CipherSuites() {
			allowed[c.ID] = true
		}
	}
	for _, c := range h.Ciphers {
		if allowed[c] {
			return true
		}
	}
	return false
}

// Line renders f as one structured log line (key=value, values quoted
// when they hold spaces), the same fields every time so that a SIEM can
// parse it.
func (f Failure) Line(frontend, bind string, client net.Addr) string {
	var b strings.Builder
	b.WriteString("TLS handshake failed: frontend=")
	b.WriteString(frontend)
	b.WriteString(" bind=")
	b.WriteString(bind)
	b.WriteString(" client=")
	if client != nil {
		b.WriteString(client.String())
	} else {
		b.WriteString("-")
	}
	b.WriteString(" reason=")
	b.WriteString(f.Reason.String())
	_, hi := offered(f.Hello)
	b.WriteString(" version_offered=")
	b.WriteString(versionName(hi))
	b.WriteString(" sni=")
	if f.Hello.SNI == "" {
		b.WriteString("-")
	} else {
		b.WriteString(f.Hello.SNI)
	}
	b.WriteString(" shared_cipher=")
	b.WriteString(strconv.FormatBool(f.SharedCipher))
	b.WriteString(" error=")
	if f.Err != nil {
		b.WriteString(strconv.Quote(f.Err.Error()))
	} else {
		b.WriteString(`""`)
	}
	return b.String()
}

func versionName(v uint16) string {
	switch v {
	case 0:
		return "-"
	case 0x0300: // SSLv3: crypto/tls deprecates the constant, clients still send it
		return "SSLv3"
	case tls.VersionTLS10:
		return "TLSv1.0"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}

// Counters counts failures per reason; safe for concurrent use.
type Counters struct {
	n [numReasons]atomic.Uint64
}

// Add counts one failure.
func (c *Counters) Add(r Reason) {
	if r >= 0 && r < numReasons {
		c.n[r].Add(1)
	}
}

// Get returns the count of r.
func (c *Counters) Get(r Reason) uint64 {
	if r < 0 || r >= numReasons {
		return 0
	}
	return c.n[r].Load()
}

// Total returns the count of every reason together.
func (c *Counters) Total() uint64 {
	var t uint64
	for i := range c.n {
		t += c.n[i].Load()
	}
	return t
}

// OpenSSL's X509_V_ERR codes for the verification errors crypto/tls
// reports, so that ssl_c_err and ssl_c_ca_err carry the numbers HAProxy's
// operators know.
const (
	x509ErrUnspecified        = 1
	x509ErrCertNotYetValid    = 9
	x509ErrCertHasExpired     = 10
	x509ErrDepthZeroSelfSign  = 18
	x509ErrUnableToGetIssuerL = 20
	x509ErrInvalidPurpose     = 26
)

// CertErrors returns the verification error of the client certificate
// (ssl_c_err, depth 0) and of the chain above it (ssl_c_ca_err), as
// OpenSSL numbers them; 0 when that part verified or was not the cause.
func (f Failure) CertErrors() (leaf, ca int) {
	if f.Reason != BadClientCert || f.Err == nil {
		return 0, 0
	}
	// A bind that verifies certificates itself (tlsconf's ignore-err
	// verifier) numbered the errors already.
	var coded interface{ CertErrorCodes() (int, int) }
	if errors.As(f.Err, &coded) {
		return coded.CertErrorCodes()
	}
	var chain []*x509.Certificate
	var cve *tls.CertificateVerificationError
	if errors.As(f.Err, &cve) {
		chain = cve.UnverifiedCertificates
	}
	var inv x509.CertificateInvalidError
	if errors.As(f.Err, &inv) {
		code := x509ErrUnspecified
		switch inv.Reason {
		case x509.Expired:
			code = x509ErrCertHasExpired
			if inv.Cert != nil && time.Now().Before(inv.Cert.NotBefore) {
				code = x509ErrCertNotYetValid
			}
		case x509.IncompatibleUsage:
			code = x509ErrInvalidPurpose
		}
		if len(chain) > 0 && inv.Cert != nil && !inv.Cert.Equal(chain[0]) {
			return 0, code
		}
		return code, 0
	}
	var ua x509.UnknownAuthorityError
	if errors.As(f.Err, &ua) {
		// Self-issued and signed by its own key (CheckSignatureFrom would
		// also ask for a CA certificate, which a self-signed leaf is not).
		if len(chain) == 1 && bytes.Equal(chain[0].RawIssuer, chain[0].RawSubject) &&
			chain[0].CheckSignature(chain[0].SignatureAlgorithm, chain[0].RawTBSCertificate, chain[0].Signature) == nil {
			return x509ErrDepthZeroSelfSign, 0
		}
		return x509ErrUnableToGetIssuerL, 0
	}
	return x509ErrUnspecified, 0
}

// LegacyVersion is the protocol version field of the ClientHello
// (ssl_fc_protocol_hello_id): a client that offers TLS 1.3 writes 1.2
// there (RFC 8446 §4.1.2), and crypto/tls derives the offered versions
// from that field when the client sends no supported_versions.
func (h Hello) LegacyVersion() (uint16, bool) {
	hi := uint16(0)
	for _, v := range h.Versions {
		if v&0x0f0f != 0x0a0a && v > hi {
			hi = v
		}
	}
	if hi == 0 {
		return 0, false
	}
	return min(hi, tls.VersionTLS12), true
}
