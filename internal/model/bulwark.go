package model

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"bulwark/internal/config"
	"bulwark/internal/units"
)

// Bulwark holds the Bulwark-only global settings (docs/extensions.md),
// written inside ".if feature(BULWARK)" blocks.
type Bulwark struct {
	ACME  ACME
	Abuse Abuse
	// CrtWatch is "bulwark-crt-watch [<delay>]": reload certificate
	// files when they change, delay after the last change; 0 is off.
	CrtWatch time.Duration
	// LogFraming is "bulwark-log-framing": how lines are framed on TCP
	// and unix stream log targets, "lf" (a line feed after each, HAProxy
	// 2.6's "legacy", the default) or "octet-count" (RFC 6587 §3.4.1).
	LogFraming string
	// RSASigner is "bulwark-ssl-rsa-signer": what signs with the RSA keys
	// of certificates, "libcrypto" (the system's OpenSSL, as HAProxy;
	// required), "go" (Go's crypto/rsa) or "" (libcrypto when it loads,
	// else crypto/rsa: the default). RSASignerPos is the directive's.
	RSASigner    string
	RSASignerPos config.Pos
}

// ACME is how certificates of "bind ... bulwark-acme" lines are obtained.
type ACME struct {
	Pos       config.Pos // of the first bulwark-acme-* directive
	Directory string     // ACME directory URL; Let's Encrypt's when empty
	Email     string
	Storage   string // directory for account and certificates
	// Challenge is "http-01" (answered on Bulwark's own clear-text HTTP
	// binds) or "tls-alpn-01" (on its TLS binds).
	Challenge string
	// CAFile holds the roots that sign the ACME server's own HTTPS
	// certificate, for private ACME servers; system roots when empty.
	CAFile string
	// RenewRatio is the fraction of a certificate's lifetime left when it
	// is renewed; 0 means the library's default (1/3).
	RenewRatio float64
	// RenewCheck is how often certificates are checked for renewal; 0
	// means the library's default (10 minutes).
	RenewCheck time.Duration
}

// Threshold is "count events within window"; Count 0 disables it.
type Threshold struct {
	Count  int
	Window time.Duration
}

// Abuse sets when an alert is raised (HAP-7.3).
type Abuse struct {
	Pos config.Pos
	// HTTPErrors counts 4xx and 5xx responses per client address.
	HTTPErrors Threshold
	// ProxyErrors counts 4xx and 5xx responses per frontend and per
	// backend, all clients together (the alert names the top clients).
	ProxyErrors Threshold
	// Denied counts requests and connections denied by rules per client
	// address.
	Denied Threshold
	// TLSFailures counts failed TLS handshakes per client address.
	TLSFailures Threshold
	// BindTLSFailures counts failed TLS handshakes per bind, all clients
	// together (the alert names the top clients).
	BindTLSFailures Threshold
	// Flaps counts state changes per server.
	Flaps Threshold
	// Webhook, when set, receives each alert as a JSON POST.
	Webhook string
}

// bulwarkGlobal compiles one global "bulwark-*" directive.
func (c *compiler) bulwarkGlobal(g *Global, d *config.Directive) {
	a := &g.Bulwark.ACME
	one := func() (string, bool) {
		if len(d.Args) != 1 {
			c.ds.Alertf(d.Pos, "'%s' expects exactly one argument", d.Name)
			return "", false
		}
		if strings.HasPrefix(d.Name, "bulwark-acme-") && !a.Pos.IsValid() {
			a.Pos = d.Pos
		}
		return d.Arg(0), true
	}
	switch d.Name {
	case "bulwark-acme-directory":
		if v, ok := one(); ok {
			if u, err := url.Parse(v); err != nil || u.Scheme != "https" || u.Host == "" {
				c.ds.Alertf(d.ArgPos(0), "'%s' expects an https:// URL", d.Name)
				return
			}
			a.Directory = v
		}
	case "bulwark-acme-email":
		if v, ok := one(); ok {
			a.Email = v
		}
	case "bulwark-acme-storage":
		if v, ok := one(); ok {
			a.Storage = v
		}
	case "bulwark-acme-ca-file":
		if v, ok := one(); ok {
			a.CAFile = v
		}
	case "bulwark-acme-challenge":
		if v, ok := one(); ok {
			if v != "http-01" && v != "tls-alpn-01" {
				c.ds.Alertf(d.ArgPos(0), "'%s' expects 'http-01' or 'tls-alpn-01'", d.Name)
				return
			}
			a.Challenge = v
		}
	case "bulwark-acme-renew-ratio":
		if v, ok := one(); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f <= 0 || f >= 1 {
				c.ds.Alertf(d.ArgPos(0), "'%s' expects a fraction between 0 and 1 (exclusive)", d.Name)
				return
			}
			a.RenewRatio = f
		}
	case "bulwark-acme-renew-check":
		if v, ok := one(); ok {
			t, err := units.ParseTime(v)
			if err != nil || t <= 0 {
				c.ds.Alertf(d.ArgPos(0), "'%s' expects a positive time", d.Name)
				return
			}
			a.RenewCheck = t
		}
	case "bulwark-abuse":
		// Every kind at its default, except those set on their own line
		// (before or after this one).
		if len(d.Args) != 0 {
			c.ds.Alertf(d.Pos, "'%s' takes no argument (it enables every kind at its default threshold)", d.Name)
			return
		}
		a, def := &g.Bulwark.Abuse, DefaultAbuse()
		for _, x := range []struct {
			t   *Threshold
			def Threshold
		}{{&a.HTTPErrors, def.HTTPErrors}, {&a.ProxyErrors, def.ProxyErrors}, {&a.Denied, def.Denied},
			{&a.TLSFailures, def.TLSFailures}, {&a.BindTLSFailures, def.BindTLSFailures}, {&a.Flaps, def.Flaps}} {
			if x.t.Count == 0 {
				*x.t = x.def
			}
		}
		if !a.Pos.IsValid() {
			a.Pos = d.Pos
		}
	case "bulwark-abuse-http-errors", "bulwark-abuse-proxy-errors", "bulwark-abuse-denied", "bulwark-abuse-tls-failures",
		"bulwark-abuse-bind-tls-failures", "bulwark-abuse-flaps":
		if len(d.Args) != 2 {
			c.ds.Alertf(d.Pos, "'%s' expects <count> <window>", d.Name)
			return
		}
		n, err := strconv.Atoi(d.Arg(0))
		if err != nil || n < 1 {
			c.ds.Alertf(d.ArgPos(0), "'%s' expects a positive count", d.Name)
			return
		}
		w, err := units.ParseTime(d.Arg(1))
		if err != nil || w <= 0 {
			c.ds.Alertf(d.ArgPos(1), "'%s' expects a positive time window", d.Name)
			return
		}
		t := Threshold{Count: n, Window: w}
		switch d.Name {
		case "bulwark-abuse-http-errors":
			g.Bulwark.Abuse.HTTPErrors = t
		case "bulwark-abuse-proxy-errors":
			g.Bulwark.Abuse.ProxyErrors = t
		case "bulwark-abuse-denied":
			g.Bulwark.Abuse.Denied = t
		case "bulwark-abuse-tls-failures":
			g.Bulwark.Abuse.TLSFailures = t
		case "bulwark-abuse-bind-tls-failures":
			g.Bulwark.Abuse.BindTLSFailures = t
		default:
			g.Bulwark.Abuse.Flaps = t
		}
		if !g.Bulwark.Abuse.Pos.IsValid() {
			g.Bulwark.Abuse.Pos = d.Pos
		}
	case "bulwark-log-framing":
		if len(d.Args) != 1 || d.Arg(0) != "octet-count" && d.Arg(0) != "lf" {
			c.ds.Alertf(d.Pos, "'%s' expects 'octet-count' or 'lf'", d.Name)
			return
		}
		g.Bulwark.LogFraming = d.Arg(0)
	case "bulwark-ssl-rsa-signer":
		if len(d.Args) != 1 || d.Arg(0) != "libcrypto" && d.Arg(0) != "go" {
			c.ds.Alertf(d.Pos, "'%s' expects 'libcrypto' or 'go'", d.Name)
			return
		}
		g.Bulwark.RSASigner, g.Bulwark.RSASignerPos = d.Arg(0), d.Pos
	case "bulwark-crt-watch":
		g.Bulwark.CrtWatch = time.Second
		if len(d.Args) > 1 {
			c.ds.Alertf(d.Pos, "'%s' expects at most one argument (the delay after the last change)", d.Name)
			return
		}
		if len(d.Args) == 1 {
			t, err := units.ParseTime(d.Arg(0))
			if err != nil || t <= 0 {
				c.ds.Alertf(d.ArgPos(0), "'%s' expects a positive delay", d.Name)
				return
			}
			g.Bulwark.CrtWatch = t
		}
	case "bulwark-abuse-webhook":
		if len(d.Args) != 1 {
			c.ds.Alertf(d.Pos, "'%s' expects exactly one argument", d.Name)
			return
		}
		if u, err := url.Parse(d.Arg(0)); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			c.ds.Alertf(d.ArgPos(0), "'%s' expects an http:// or https:// URL", d.Name)
			return
		}
		g.Bulwark.Abuse.Webhook = d.Arg(0)
	default:
		c.ds.Alertf(d.Pos, "unknown Bulwark directive '%s'", d.Name)
	}
}

// Enabled reports whether any abuse threshold is set.
func (a *Abuse) Enabled() bool {
	return a.HTTPErrors.Count > 0 || a.ProxyErrors.Count > 0 || a.Denied.Count > 0 || a.TLSFailures.Count > 0 ||
		a.BindTLSFailures.Count > 0 || a.Flaps.Count > 0
}

// DefaultAbuse are the thresholds "bulwark-abuse" sets: well above what
// one well-behaved client or a healthy service produces, well below what
// a scan, a brute force or a broken deployment does.
func DefaultAbuse() Abuse {
	return Abuse{
		HTTPErrors:  Threshold{Count: 100, Window: 10 * time.Second}, // one client: 10 errors a second
		ProxyErrors: Threshold{Count: 1000, Window: 10 * time.Second},
		Denied:      Threshold{Count: 50, Window: 10 * time.Second},
		TLSFailures: Threshold{Count: 20, Window: time.Minute},
		// A bind: 200 failures a minute from all clients.
		BindTLSFailures: Threshold{Count: 200, Window: time.Minute},
		Flaps:           Threshold{Count: 3, Window: 5 * time.Minute},
	}
}

// bulwarkBindACME reads "bind ... bulwark-acme <domain>[,<domain>...]".
func (c *compiler) bulwarkBindACME(b *Bind, v config.Word, what string) {
	for _, dn := range strings.Split(v.Text, ",") {
		dn = strings.ToLower(strings.TrimSpace(dn))
		if dn == "" || strings.ContainsAny(dn, " /:*") {
			c.ds.Alertf(v.Pos, "'bind %s' : 'bulwark-acme' expects a comma-separated list of domain names (no wildcards: they need DNS-01)", what)
			return
		}
		b.ACME = append(b.ACME, dn)
	}
}
