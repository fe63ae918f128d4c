package audit

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"sort"
	"strings"
	"time"

	"bulwark/internal/model"
)

// ServedCert is the leaf certificate a TLS bind presented for one SNI name.
type ServedCert struct {
	SNI  string // "" when no SNI was sent
	Cert *x509.Certificate
	Err  string
}

// configuredCert is a leaf certificate a bind is configured to serve.
type configuredCert struct {
	path string
	cert *x509.Certificate
	err  string
}

// bindCerts loads the leaf of every certificate file a bind names (crt
// files, crt directories, crt-list entries).
func bindCerts(t *Target, b *model.Bind) []configuredCert {
	var out []configuredCert
	for _, p := range bindCertPaths(t, b) {
		cc := configuredCert{path: p}
		data, err := os.ReadFile(p)
		if err != nil {
			cc.err = shortErr(err)
			out = append(out, cc)
			continue
		}
		for rest := data; ; {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				break
			}
			if blk.Type == "CERTIFICATE" {
				if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
					cc.cert = c
				}
				break // the first certificate is the leaf
			}
		}
		if cc.cert == nil {
			cc.err = "no certificate in the file"
		}
		out = append(out, cc)
	}
	return out
}

// sniNames are the names to ask for: every DNS name of the configured
// certificates (a wildcard gets a made-up first label) and no SNI at all.
func sniNames(certs []configuredCert) []string {
	seen := map[string]bool{"": true}
	names := []string{""}
	for _, cc := range certs {
		if cc.cert == nil {
			continue
		}
		ns := append([]string{cc.cert.Subject.CommonName}, cc.cert.DNSNames...)
		for _, n := range ns {
			if n == "" || strings.ContainsAny(n, " /") || net.ParseIP(n) != nil {
				continue
			}
			if rest, ok := strings.CutPrefix(n, "*."); ok {
				n = "bulwark-audit-probe." + rest
			}
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	sort.Strings(names[1:])
	return names
}

// probeServed handshakes once per SNI name and records the leaf served.
// More than a handful of names would multiply handshakes on a bind with a
// large crt-list, so the list is capped.
func probeServed(addr string, names []string, timeout time.Duration) []ServedCert {
	const maxNames = 16
	if len(names) > maxNames {
		names = names[:maxNames]
	}
	var out []ServedCert
	for _, n := range names {
		sc := ServedCert{SNI: n}
		cfg := &tls.Config{InsecureSkipVerify: true, ServerName: n} // the chain is judged against the files, not a trust store
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		conn, err := (&tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout}, Config: cfg}).DialContext(ctx, "tcp", addr)
		cancel()
		if err != nil {
			sc.Err = shortNetErr(err)
		} else {
			if st := conn.(*tls.Conn).ConnectionState(); len(st.PeerCertificates) > 0 {
				sc.Cert = st.PeerCertificates[0]
			}
			conn.Close()
		}
		out = append(out, sc)
	}
	return out
}

// liveServedCerts judges the live half of HAP-4.3: the certificate each TLS
// bind presents must be one of the files it is configured with and must be
// valid for more than 30 days.
func liveServedCerts(t *Target, lf *LiveFacts) Result {
	if len(lf.TLS) == 0 && len(lf.CertFiles) == 0 {
		return skip("live: no local TLS bind to probe")
	}
	now := t.Now
	if now.IsZero() {
		now = time.Now()
	}
	evs := append([]Evidence(nil), lf.CertFiles...)
	for _, tp := range lf.TLS {
		if !tp.Answered {
			evs = append(evs, ev(tp.Pos, Warn, "live: %s TLS bind %s %s", tp.Proxy, tp.Addr, probeFailText(tp.Err)))
			continue
		}
		if tp.Stalled {
			evs = append(evs, ev(tp.Pos, Warn, "%s", stallText(tp)))
			continue
		}
		conf := bindCerts(t, tp.bind)
		for _, sc := range tp.Served {
			sni := "no SNI"
			if sc.SNI != "" {
				sni = "SNI " + sc.SNI
			}
			if sc.Cert == nil {
				evs = append(evs, ev(tp.Pos, Warn, "live: %s %s (%s): handshake failed (%s)", tp.Proxy, tp.Addr, sni, sc.Err))
				continue
			}
			subj := sc.Cert.Subject.CommonName
			if subj == "" && len(sc.Cert.DNSNames) > 0 {
				subj = sc.Cert.DNSNames[0]
			}
			match := ""
			for _, cc := range conf {
				if cc.cert != nil && (bytes.Equal(cc.cert.Raw, sc.Cert.Raw) ||
					bytes.Equal(cc.cert.RawSubjectPublicKeyInfo, sc.Cert.RawSubjectPublicKeyInfo)) {
					match = cc.path
					break
				}
			}
			left := sc.Cert.NotAfter.Sub(now)
			exp := sc.Cert.NotAfter.UTC().Format("2006-01-02")
			switch {
			case match == "":
				evs = append(evs, ev(tp.Pos, Fail, "live: %s %s (%s) serves '%s' (expires %s), which is none of the configured certificates", tp.Proxy, tp.Addr, sni, subj, exp))
			case left <= 0:
				evs = append(evs, ev(tp.Pos, Fail, "live: %s %s (%s) serves %s, expired on %s", tp.Proxy, tp.Addr, sni, match, exp))
			case left < certWarnBefore:
				evs = append(evs, ev(tp.Pos, Warn, "live: %s %s (%s) serves %s, expiring on %s (in %d days)", tp.Proxy, tp.Addr, sni, match, exp, int(left.Hours()/24)))
			default:
				evs = append(evs, ev(tp.Pos, Pass, "live: %s %s (%s) serves %s, valid until %s", tp.Proxy, tp.Addr, sni, match, exp))
			}
		}
	}
	return summarize(evs, "live: every TLS bind serves a configured, current certificate", "live: a TLS bind serves an unexpected or expiring certificate")
}
