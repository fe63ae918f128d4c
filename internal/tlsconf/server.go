package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"bulwark/internal/model"
)

// ServerConfig returns the client-side configuration for a "server ... ssl"
// line, with the default Options and without the warnings.
func ServerConfig(s *model.Server, g *model.SSLDefaults) (*tls.Config, error) {
	cfg, _, err := ServerConfigWith(s, g, Options{})
	return cfg, err
}

// ServerConfigWith is ServerConfig with explicit Options (key permission
// opt-out, ca-base/crt-base, the libcrypto RSA keys sign through) and the
// warnings about the "crt" it loaded, as LoadBind's about a bind's (an RSA
// key left to crypto/rsa and why, a certificate out of its validity).
//
// Verification follows HAProxy: "verify" on the line, else
// ssl-server-verify (default required). With verification on, the chain
// must lead to ca-file, and the certificate's names are checked against
// verifyhost, else against the SNI sent, unless no-verifyhost. When the
// SNI is not a constant (see SNI), the caller clones the configuration
// and sets ServerName for each connection; the name check then uses it.
func ServerConfigWith(s *model.Server, g *model.SSLDefaults, o Options) (*tls.Config, []string, error) {
	if g == nil {
		g = &model.SSLDefaults{}
	}
	what := fmt.Sprintf("server '%s'", s.Name)
	if s.Pos.IsValid() {
		what = fmt.Sprintf("%s: %s", s.Pos, what)
	}
	opts := s.Opts
	if opts == nil {
		opts = map[string]string{}
	}
	gv, gflags := parseGlobalOptions(g.ServerOptions)
	minV, maxV, _, err := versionRange(parseLineOptions(opts), gv, what)
	if err != nil {
		return nil, nil, err
	}
	ciphers := g.ServerCiphers
	if v, ok := opts["ciphers"]; ok {
		ciphers = v
	}
	ids, _, err := cipherSuites(ciphers, what+" ciphers")
	if err != nil {
		return nil, nil, err
	}
	suites13 := g.ServerSuites
	if v, ok := opts["ciphersuites"]; ok {
		suites13 = v
	}
	if _, err := checkCipherSuites13(suites13, what+" ciphersuites", false); err != nil {
		return nil, nil, err
	}
	curves, _, err := curvePreferences(opts["curves"], what+" curves")
	if err != nil {
		return nil, nil, err
	}
	cfg := &tls.Config{
		MinVersion:       minV,
		MaxVersion:       maxV,
		CipherSuites:     ids,
		CurvePreferences: curves,
	}
	if v, ok := opts["alpn"]; ok {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				cfg.NextProtos = append(cfg.NextProtos, p)
			}
		}
	}
	_, noTickets := opts["no-tls-tickets"]
	cfg.SessionTicketsDisabled = noTickets || gflags["no-tls-tickets"]
	if _, noReuse := opts["no-ssl-reuse"]; !noReuse && !cfg.SessionTicketsDisabled {
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(0)
	}
	if sni, constant := SNI(s); constant {
		cfg.ServerName = sni
	}
	var warns []string
	if crt, ok := opts["crt"]; ok {
		c, w, err := loadCertFile(o.crtPath(crt), o)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", what, err)
		}
		cfg.Certificates = []tls.Certificate{*c}
		warns = w
	}

	verify := s.Verify
	if verify == "" {
		verify = opts["verify"]
	}
	if verify == "" {
		verify = g.ServerVerify
	}
	if verify == "" {
		verify = "required"
	}
	// Verification is always done by VerifyConnection: crypto/tls's own
	// check insists on a host name, while HAProxy verifies the chain alone
	// when neither sni nor verifyhost is set.
	cfg.InsecureSkipVerify = true
	if verify == "none" {
		if cfg.ClientSessionCache != nil {
			cfg.Time = resumeClock()
		}
		return cfg, warns, nil
	}
	caFile, ok := opts["ca-file"]
	if !ok {
		return nil, nil, fmt.Errorf("%s: verify is enabled by default but no CA file specified. "+
			"Set 'ca-file' (or 'ca-file @system-ca'), or an explicit 'verify none' on the server line, "+
			"or 'ssl-server-verify none' in the global section", what)
	}
	roots, err := loadCAPool(caFile, o)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	var crls []*x509.RevocationList
	if f, ok := opts["crl-file"]; ok {
		if crls, err = loadCRLs(f, o); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", what, err)
		}
	}
	verifyHost, hasVerifyHost := opts["verifyhost"]
	_, noVerifyHost := opts["no-verifyhost"]
	_, hasSNI := opts["sni"]
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return fmt.Errorf("server sent no certificate")
		}
		vo := x509.VerifyOptions{
			Roots:         roots,
			Intermediates: x509.NewCertPool(),
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			CurrentTime:   o.now(),
		}
		for _, c := range cs.PeerCertificates[1:] {
			vo.Intermediates.AddCert(c)
		}
		// The chain first, then the name, as OpenSSL's verification
		// reports them (an untrusted chain is "SSL handshake failure",
		// bc_err 34, before any name mismatch, 33).
		chains, err := cs.PeerCertificates[0].Verify(vo)
		if err != nil {
			return err
		}
		name := ""
		switch {
		case noVerifyHost:
		case hasVerifyHost:
			name = verifyHost
		case hasSNI:
			name = cs.ServerName
		}
		if name != "" {
			if err := cs.PeerCertificates[0].VerifyHostname(name); err != nil {
				return err
			}
		}
		if crls != nil {
			return checkRevocation(chains[0], crls, o.now())
		}
		return nil
	}
	return cfg, warns, nil
}

// SNI returns the server name a server line sends: the constant when the
// "sni" expression is one (str(...) or a bare literal), with constant set;
// otherwise the expression itself, for the caller to evaluate per
// connection.
func SNI(s *model.Server) (value string, constant bool) {
	expr := s.SNI
	if expr == "" && s.Opts != nil {
		expr = s.Opts["sni"]
	}
	if expr == "" {
		return "", true
	}
	if strings.HasPrefix(expr, "str(") && strings.HasSuffix(expr, ")") {
		return expr[4 : len(expr)-1], true
	}
	if strings.ContainsAny(expr, "(),") || !strings.Contains(expr, ".") || strings.Contains(expr, "_") {
		return expr, false
	}
	// A bare word with dots and no fetch syntax is a host name, not a
	// sample fetch (fetch names use '_' or have no dot: ssl_fc_sni,
	// req.hdr(host)).
	if strings.HasPrefix(expr, "req.") || strings.HasPrefix(expr, "res.") || strings.HasPrefix(expr, "ssl_") {
		return expr, false
	}
	return expr, true
}

// resumeClock is the clock of a "verify none" server that reuses its
// sessions. crypto/tls's client drops a cached session whose server
// certificate has expired, InsecureSkipVerify or not, while HAProxy with
// verify none resumes it (reg-test ssl/ssl_reuse.vtc uses such a
// certificate). Besides that check the client reads its clock only to age
// its tickets, from differences of two readings (Bulwark verifies
// certificates itself, and not at all with verify none): a clock that starts
// at the Unix epoch and runs at the real pace keeps those differences and
// lets an expired certificate's sessions resume.
func resumeClock() func() time.Time {
	start := time.Now()
	return func() time.Time { return time.Unix(0, 0).Add(time.Since(start)) }
}
