// Package plan is the stage between the Model and the running proxy: it
// compiles everything of a configuration that can fail without a socket
// (ACLs, rules, captures, stick tables, balance parameters, error pages, TLS
// settings) and reports every problem with its position.
//
// "bulwark -c", start-up, reload and "bulwark audit" all call Compile, so a
// file that checks clean cannot then fail to start for a reason that needs
// no socket; proxy.Build only binds sockets and instantiates the Plan.
package plan

import (
	"crypto/tls"
	"time"

	"bulwark/internal/acl"
	"bulwark/internal/acme"
	"bulwark/internal/config"
	"bulwark/internal/health"
	"bulwark/internal/libcrypto"
	"bulwark/internal/model"
	"bulwark/internal/rules"
	"bulwark/internal/stick"
	"bulwark/internal/tlsconf"
)

// Options tune a compilation.
type Options struct {
	// AllowPublicStats lets a stats page without credentials listen beyond
	// loopback (HAP-6.1).
	AllowPublicStats bool
	// AllowInsecureKeyPerms loads private keys readable by others (HAP-4.3
	// opt-out).
	AllowInsecureKeyPerms bool
	// AllowIgnoreCertErr applies crt-ignore-err and ca-ignore-err on
	// binds (HAP-4.3 opt-out); they are refused without it.
	AllowIgnoreCertErr bool
	// Table, when set, is asked for an existing stick table before a new
	// one is made: on reload, the running generation's table of the same
	// name and spec, so that sessions of both generations count into one
	// table. nil makes every table new.
	Table func(name string, spec stick.Spec) *stick.Table
	// LibCrypto is the libcrypto the RSA keys of certificates sign
	// through ("" is libcrypto.DefaultPath); "bulwark-ssl-rsa-signer go"
	// leaves it unopened.
	LibCrypto string
}

// Plan is a configuration ready to run: the Model and what was compiled
// from it. It is read-only once Compile returns.
type Plan struct {
	Model *model.Model
	// Tables are the stick tables by proxy name.
	Tables map[string]*stick.Table
	// Proxies holds what was compiled per proxy; every proxy of the Model
	// has an entry.
	Proxies map[*model.Proxy]*Proxy
	// ACME manages the certificates of "bulwark-acme" binds; nil when
	// there are none. The proxy starts and stops it.
	ACME *acme.Manager
	// Stores are the certificate stores of every "bind ... ssl crt" line,
	// for "bulwark-crt-watch".
	Stores []*tlsconf.Store
	// Refs are the pattern references of every ACL and map ("show map",
	// "add map"…): they live and die with this plan.
	Refs *acl.PatRefs
	// ProcVars are the proc variables set by the global section's
	// set-var lines, the initial content of the running proc store.
	ProcVars map[string]acl.Sample
	// FCGIApps are the compiled fcgi-app sections by name.
	FCGIApps map[string]*FCGIApp
	// RSA is the libcrypto the RSA keys of certificates sign through, nil
	// when they sign with Go's crypto/rsa; NoRSA then says why.
	RSA   *libcrypto.Lib
	NoRSA string
}

// Proxy is what a proxy needs at run time beyond its Model.
type Proxy struct {
	// Rules is nil when the proxy's ACLs did not compile.
	Rules    *Rules
	Captures Captures
	// Pages are the proxy's error messages by status (errorfile,
	// errorfiles, errorloc, http-error).
	Pages map[int]*rules.Reply
	// InspectDelay is "tcp-request inspect-delay".
	InspectDelay time.Duration
	// ServerTLS holds the client TLS settings of servers with "ssl".
	ServerTLS map[*model.Server]*tls.Config
	// BindTLS holds the TLS settings of binds with "ssl".
	BindTLS map[*model.Bind]*tls.Config
	// Log holds the compiled log-format strings.
	Log *LogFormats
	// Check is the script of the backend's active checks; CheckTLS the
	// TLS settings of servers with "check-ssl".
	Check    *health.Script
	CheckTLS map[*model.Server]*tls.Config
	// ServerSNI holds the "sni" expressions of servers with "ssl" whose
	// SNI is not a constant, evaluated for each new connection.
	ServerSNI map[*model.Server]*acl.Expr
}

// Compile compiles m. It always returns a Plan; the Plan may only be run
// when the diagnostics hold no alert.
func Compile(m *model.Model, opt Options) (*Plan, config.Diagnostics) {
	pl := &Plan{Model: m, Refs: acl.NewPatRefs(), Proxies: make(map[*model.Proxy]*Proxy, len(m.Proxies))}
	var ds config.Diagnostics
	pl.Tables = compileTables(m, opt.Table, &ds)
	pl.RSA, pl.NoRSA = openLibcrypto(m, opt.LibCrypto, &ds)
	tlsOpt := tlsconf.Options{RSA: pl.RSA, AllowInsecureKeyPerms: opt.AllowInsecureKeyPerms, AllowIgnoreCertErr: opt.AllowIgnoreCertErr,
		CrtBase: m.Global.CrtBase, CABase: m.Global.CABase,
		Sessions:       tlsconf.NewSessionCache(m.Global.SSLCacheSize, m.Global.SSLLifetime),
		TicketLifetime: m.Global.SSLLifetime}
	pl.ACME = compileACME(m, &ds)
	sf := &sectionFiles{m: m, ds: &ds}
	pl.ProcVars = compileProcVars(m, pl.Refs, &ds)
	pl.FCGIApps = compileFCGIApps(m, pl.Refs, &ds)
	for _, p := range m.Proxies {
		pp := &Proxy{}
		pl.Proxies[p] = pp
		pp.Rules = compileRules(m, p, pl.Tables, pl.Refs, sf, &ds)
		var set *acl.Set
		if pp.Rules != nil {
			set = pp.Rules.Set
		}
		pp.Log = compileLogFormats(p, set, &ds)
		pp.Captures = compileCaptures(p)
		pp.InspectDelay = p.InspectDelay
		pp.Pages = compileErrors(p, set, sf, &ds)
		if p.Cap&model.CapBackend != 0 {
			checkBalance(p, &ds)
		}
		pp.ServerTLS, pp.BindTLS = compileTLS(m, p, tlsOpt, pl.ACME, &pl.Stores, &ds)
		if p.Cap&model.CapBackend != 0 {
			pp.Check = compileCheck(p, set, &ds)
			checkMuxProto(p, &ds)
			pp.CheckTLS = compileCheckTLS(m, p, pp, tlsOpt, &ds)
			pp.ServerSNI = compileServerSNI(p, set, &ds)
		}
	}
	engineLimits(m, opt, &ds)
	return pl, dedupe(ds)
}

// dedupe drops repeated diagnostics: a rule inherited from a defaults
// section is compiled for every proxy that uses it, and its error belongs
// to its one line.
func dedupe(ds config.Diagnostics) config.Diagnostics {
	type key struct {
		pos config.Pos
		sev config.Severity
		msg string
	}
	seen := make(map[key]bool, len(ds))
	out := ds[:0]
	for _, d := range ds {
		k := key{d.Pos, d.Severity, d.Msg}
		if !seen[k] {
			seen[k] = true
			out = append(out, d)
		}
	}
	return out
}

// RSAOptOut is Plan.NoRSA when the configuration chose crypto/rsa.
const RSAOptOut = "bulwark-ssl-rsa-signer go"

// openLibcrypto opens the libcrypto RSA keys sign through, unless
// "bulwark-ssl-rsa-signer go" says not to. Without the directive a
// library that does not load leaves crypto/rsa, which only costs CPU, and
// the start-up log says so (not a warning: zero-warning configurations
// keep starting on hosts without OpenSSL 3); "bulwark-ssl-rsa-signer
// libcrypto" makes it an error.
func openLibcrypto(m *model.Model, path string, ds *config.Diagnostics) (*libcrypto.Lib, string) {
	b := &m.Global.Bulwark
	if b.RSASigner == "go" {
		return nil, RSAOptOut
	}
	lib, err := libcrypto.Open(path)
	if err != nil {
		if b.RSASigner == "libcrypto" {
			ds.Alertf(b.RSASignerPos, "bulwark-ssl-rsa-signer libcrypto: %v", err)
		}
		return nil, err.Error()
	}
	return lib, ""
}
