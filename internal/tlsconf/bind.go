// Package tlsconf turns HAProxy's TLS settings (bind and server options,
// ssl-default-* globals, OpenSSL cipher and curve names) into crypto/tls
// configurations, and holds reloadable certificate stores with HAProxy's
// SNI selection rules.
package tlsconf

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"os"
	"strings"

	"bulwark/internal/model"
)

// BindTLS is the TLS side of one "bind ... ssl" line.
type BindTLS struct {
	Config   *tls.Config
	Store    *Store
	Warnings []string
}

// bindRefused are bind options that change TLS behaviour in a way Bulwark
// cannot reproduce; refusing them beats silently doing something else.
var bindRefused = map[string]string{
	"ca-verify-file": "not supported: put the intermediate CAs in ca-file",
	"no-ca-names":    "crypto/tls always sends the ca-file names",
}

// ignoreErrKeywords let client certificates with verification errors in;
// they are refused unless the operator opted out (AllowIgnoreCertErr).
var ignoreErrKeywords = []string{"ca-ignore-err", "crt-ignore-err"}

// checkRefused refuses the options of b that Bulwark does not apply, and
// says whether b ignores some certificate verification errors.
func checkRefused(b *model.Bind, o Options, what string) (ignores bool, err error) {
	for k, why := range bindRefused {
		if _, ok := b.Opts[k]; ok {
			return false, fmt.Errorf("%s: '%s': %s", what, k, why)
		}
	}
	for _, k := range ignoreErrKeywords {
		if _, ok := b.Opts[k]; !ok {
			continue
		}
		if !o.AllowIgnoreCertErr {
			return false, fmt.Errorf("%s: '%s': Bulwark does not ignore client certificate verification errors by default (HAP-4.3); fix the chain, or set %s=1", what, k, AllowIgnoreCertErrEnv)
		}
		ignores = true
	}
	return ignores, nil
}

// LoadBind loads the certificates of b and builds its configuration.
func LoadBind(b *model.Bind, g *model.SSLDefaults, o Options) (*BindTLS, error) {
	if g == nil {
		g = &model.SSLDefaults{}
	}
	what := "bind"
	if b.Pos.IsValid() {
		what = fmt.Sprintf("%s: bind", b.Pos)
	}
	ignores, err := checkRefused(b, o, what)
	if err != nil {
		return nil, err
	}
	base, warns, err := serverSide(b.Opts, b.ALPN, g, o, what)
	if err != nil {
		return nil, err
	}
	scope := &sessionScope{}
	if base.SessionTicketsDisabled && o.Sessions != nil {
		o.Sessions.attach(base, scope)
	} else if !base.SessionTicketsDisabled && o.TicketLifetime > 0 {
		limitTicketLifetime(base, base, o.TicketLifetime, o.now)
	}
	_, strict := b.Opts["strict-sni"]
	st := &Store{crts: b.Certs, crtLists: b.CrtList, strictSNI: strict, opts: o}
	if b.Pos.IsValid() {
		st.where = fmt.Sprintf("%s:%d", b.Pos.File, b.Pos.Line)
	}
	st.lineConfig = func(e *certEntry) (*tls.Config, []string, error) {
		merged := make(map[string]string, len(b.Opts)+len(e.opts))
		for k, v := range b.Opts {
			merged[k] = v
		}
		// A line's own version bounds replace the bind's flags entirely,
		// as HAProxy's per-line ssl_methods do.
		if _, ok := e.opts["ssl-min-ver"]; ok {
			dropVersionFlags(merged)
		} else if _, ok := e.opts["ssl-max-ver"]; ok {
			dropVersionFlags(merged)
		}
		for k, v := range e.opts {
			merged[k] = v
		}
		alpn := b.ALPN
		if v, ok := e.opts["alpn"]; ok {
			alpn = strings.Split(v, ",")
		}
		conf, w, err := serverSide(merged, alpn, g, o, what+" crt-list line "+e.source)
		if err != nil {
			return nil, nil, err
		}
		conf.Certificates = []tls.Certificate{*e.cert}
		if conf.SessionTicketsDisabled && o.Sessions != nil {
			o.Sessions.attach(conf, scope)
		} else if !conf.SessionTicketsDisabled && o.TicketLifetime > 0 {
			limitTicketLifetime(conf, base, o.TicketLifetime, o.now)
		}
		return conf, w, nil
	}
	if err := st.Reload(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	base.GetCertificate = st.GetCertificate
	base.GetConfigForClient = st.GetConfigForClient
	if allowed := allowedTLS13(suites13Of(b.Opts, g)); allowed != nil {
		base.GetConfigForClient = enforceTLS13(allowed, base, st.GetConfigForClient, what)
	}
	if ignores {
		base.GetConfigForClient = recordVerify(base, base.GetConfigForClient)
	}
	if st.ca = bindCAFile(b.Opts, o); st.ca != nil {
		base.GetConfigForClient = withCA(base, st.ca, base.GetConfigForClient)
	}
	return &BindTLS{Config: base, Store: st, Warnings: append(warns, st.Warnings()...)}, nil
}

// suites13Of is the "ciphersuites" list that applies to a bind.
func suites13Of(opts map[string]string, g *model.SSLDefaults) string {
	if v, ok := opts["ciphersuites"]; ok {
		return v
	}
	return g.BindCipherSuites
}

func dropVersionFlags(m map[string]string) {
	for k := range m {
		if strings.HasPrefix(k, "no-sslv") || strings.HasPrefix(k, "no-tlsv") || strings.HasPrefix(k, "force-") {
			delete(m, k)
		}
	}
}

// serverSide builds everything of a listener configuration except the
// certificates, from bind (or merged crt-list line) options.
func serverSide(opts map[string]string, alpn []string, g *model.SSLDefaults, o Options, what string) (*tls.Config, []string, error) {
	var warns []string
	gv, gflags := parseGlobalOptions(g.BindOptions)
	minV, maxV, w, err := versionRange(parseLineOptions(opts), gv, what)
	if err != nil {
		return nil, nil, err
	}
	warns = append(warns, w...)

	ciphers, src := g.BindCiphers, "ssl-default-bind-ciphers"
	if v, ok := opts["ciphers"]; ok {
		ciphers, src = v, what+" ciphers"
	}
	ids, w, err := cipherSuites(ciphers, src)
	if err != nil {
		return nil, nil, err
	}
	warns = append(warns, w...)

	suites13, src := g.BindCipherSuites, "ssl-default-bind-ciphersuites"
	if v, ok := opts["ciphersuites"]; ok {
		suites13, src = v, what+" ciphersuites"
	}
	w, err = checkCipherSuites13(suites13, src, true)
	if err != nil {
		return nil, nil, err
	}
	warns = append(warns, w...)

	curves, src := g.BindCurves, "ssl-default-bind-curves"
	if v, ok := opts["curves"]; ok {
		curves, src = v, what+" curves"
	} else if v, ok := opts["ecdhe"]; ok && curves == "" {
		// "ecdhe <curve>" is the one named curve of the ephemeral keys,
		// used when no "curves" list (the bind's or the global one) is
		// set, as in HAProxy.
		if strings.Contains(v, ":") {
			return nil, nil, fmt.Errorf("%s ecdhe '%s': one named curve is expected (a list is 'curves')", what, v)
		}
		curves, src = v, what+" ecdhe"
	}
	curveIDs, w, err := curvePreferences(curves, src)
	if err != nil {
		return nil, nil, err
	}
	warns = append(warns, w...)

	cfg := &tls.Config{
		MinVersion:       minV,
		MaxVersion:       maxV,
		CipherSuites:     ids,
		CurvePreferences: curveIDs,
	}
	for _, p := range alpn {
		if p = strings.TrimSpace(p); p != "" {
			cfg.NextProtos = append(cfg.NextProtos, p)
		}
	}
	if _, ok := opts["no-tls-tickets"]; ok || gflags["no-tls-tickets"] {
		cfg.SessionTicketsDisabled = true
	}
	if err := clientAuth(cfg, opts, o, what); err != nil {
		return nil, nil, err
	}
	if f, ok := opts["tls-ticket-keys"]; ok && !cfg.SessionTicketsDisabled {
		keys, err := ticketKeys(o.crtPath(f))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", what, err)
		}
		cfg.SetSessionTicketKeys(keys)
	}
	if _, ok := opts["allow-0rtt"]; ok {
		warns = append(warns, what+": allow-0rtt ignored: crypto/tls does not accept early data")
	}
	return cfg, warns, nil
}

// clientAuth applies verify, ca-file and crl-file (bind default: verify none).
func clientAuth(cfg *tls.Config, opts map[string]string, o Options, what string) error {
	verify := opts["verify"]
	caFile, hasCA := opts["ca-file"]
	switch verify {
	case "", "none":
		cfg.ClientAuth = tls.NoClientCert
		return nil
	case "optional":
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	case "required":
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	default:
		return fmt.Errorf("%s: 'verify' expects none, optional or required, not '%s'", what, verify)
	}
	if !hasCA {
		return fmt.Errorf("%s: verify is enabled but no CA file specified ('ca-file')", what)
	}
	pool, err := loadCAPool(caFile, o)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	cfg.ClientCAs = pool
	var crls []*x509.RevocationList
	crlFile, hasCRL := opts["crl-file"]
	if hasCRL {
		crls, err = loadCRLs(crlFile, o)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	_, crtIgn := opts["crt-ignore-err"]
	_, caIgn := opts["ca-ignore-err"]
	if crtIgn || caIgn {
		// Only allowed binds get here (checkRefused). The certificate is
		// requested without crypto/tls verifying it: the verifier finds
		// each error and lets through only those the bind ignores.
		v := &ignoringVerifier{roots: pool, crls: crls, hasCRL: hasCRL, now: o.now}
		if crtIgn {
			if v.crt, err = parseIgnoreErr("crt-ignore-err", opts["crt-ignore-err"], what); err != nil {
				return err
			}
		}
		if caIgn {
			if v.ca, err = parseIgnoreErr("ca-ignore-err", opts["ca-ignore-err"], what); err != nil {
				return err
			}
		}
		cfg.ClientAuth = tls.RequestClientCert
		if verify == "required" {
			cfg.ClientAuth = tls.RequireAnyClientCert
		}
		cfg.VerifyConnection = v.verifyConnection
		return nil
	}
	if hasCRL {
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.VerifiedChains) == 0 {
				return nil // optional and no certificate given
			}
			return checkRevocation(cs.VerifiedChains[0], crls, o.now())
		}
	}
	return nil
}

// ticketKeys reads an HAProxy tls-ticket-keys file (base64 keys of 48 or 80
// bytes, one a line). HAProxy encrypts with the penultimate of the last
// three keys and decrypts with all three; crypto/tls encrypts with the
// first, so the order is rearranged. crypto/tls keys are 32 bytes and its
// ticket format differs, so the key material is hashed: tickets are shared
// between Bulwark processes using the same file, not with HAProxy.
func ticketKeys(path string) ([][32]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tls-ticket-keys: %w", err)
	}
	var raw [][]byte
	for i, l := range strings.Split(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			continue
		}
		k, err := base64.StdEncoding.DecodeString(l)
		if err != nil || (len(k) != 48 && len(k) != 80) {
			return nil, fmt.Errorf("tls-ticket-keys %s:%d: expects a base64 key of 48 or 80 bytes", path, i+1)
		}
		raw = append(raw, k)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("tls-ticket-keys %s: no key", path)
	}
	if len(raw) > 3 {
		raw = raw[len(raw)-3:]
	}
	order := []int{0}
	switch len(raw) {
	case 2:
		order = []int{0, 1}
	case 3:
		order = []int{1, 2, 0}
	}
	keys := make([][32]byte, 0, len(raw))
	for _, i := range order {
		keys = append(keys, sha256.Sum256(raw[i]))
	}
	return keys, nil
}

// CertSource provides the certificates of a bind whose certificates are
// not files (bulwark-acme): the certificate per handshake, and a whole
// configuration for hellos it must answer itself (ACME TLS-ALPN-01
// validation), nil for the others.
type CertSource interface {
	GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error)
	ChallengeConfig(*tls.ClientHelloInfo) *tls.Config
}

// LoadBindSource builds the configuration of b with every TLS option of
// the line applied as for LoadBind, and the certificates from src.
func LoadBindSource(b *model.Bind, g *model.SSLDefaults, o Options, src CertSource) (*BindTLS, error) {
	if g == nil {
		g = &model.SSLDefaults{}
	}
	what := "bind"
	if b.Pos.IsValid() {
		what = fmt.Sprintf("%s: bind", b.Pos)
	}
	ignores, err := checkRefused(b, o, what)
	if err != nil {
		return nil, err
	}
	base, warns, err := serverSide(b.Opts, b.ALPN, g, o, what)
	if err != nil {
		return nil, err
	}
	base.GetCertificate = src.GetCertificate
	base.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		// nil keeps base for every ordinary hello.
		return src.ChallengeConfig(h), nil
	}
	if allowed := allowedTLS13(suites13Of(b.Opts, g)); allowed != nil {
		challenge := base.GetConfigForClient
		enforced := enforceTLS13(allowed, base, nil, what)
		base.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			// A validation handshake is the CA's, not a client's.
			if c, _ := challenge(h); c != nil {
				return c, nil
			}
			return enforced(h)
		}
	}
	if ignores {
		base.GetConfigForClient = recordVerify(base, base.GetConfigForClient)
	}
	return &BindTLS{Config: base, Warnings: warns}, nil
}
