package cli

import (
	"crypto/tls"
	"fmt"

	"bulwark/internal/plan"
	"bulwark/internal/tlsconf"
)

// rsaSignerLine is the start-up line that says what signs the TLS
// handshakes of RSA certificates: libcrypto (and which OpenSSL), or Go's
// crypto/rsa and why, which costs about 2.5 times the CPU per full
// handshake. It is "" when no bind serves an RSA certificate and no
// server line presents one (its "crt"). A key libcrypto refused alone has
// its warning from the load.
func rsaSignerLine(pl *plan.Plan) string {
	var native, goKeys int
	count := func(c *tls.Certificate) {
		switch tlsconf.RSASigner(c) {
		case "libcrypto":
			native++
		case "crypto/rsa":
			goKeys++
		}
	}
	for _, st := range pl.Stores {
		for _, c := range st.Certificates() {
			count(c)
		}
	}
	for _, pp := range pl.Proxies {
		for _, cfg := range pp.ServerTLS {
			for i := range cfg.Certificates {
				count(&cfg.Certificates[i])
			}
		}
		for s, cfg := range pp.CheckTLS {
			if pp.ServerTLS[s] == cfg {
				continue // counted above: checks use the server's settings
			}
			for i := range cfg.Certificates {
				count(&cfg.Certificates[i])
			}
		}
	}
	switch {
	case native+goKeys == 0:
		return ""
	case pl.RSA == nil && pl.NoRSA == plan.RSAOptOut:
		return fmt.Sprintf("[NOTICE]   (bulwark) : RSA certificate signatures: Go's crypto/rsa for %d key(s) (%s)", goKeys, pl.NoRSA)
	case pl.RSA == nil:
		return fmt.Sprintf("[WARNING]  (bulwark) : RSA certificate signatures: Go's crypto/rsa for %d key(s) (%s)", goKeys, pl.NoRSA)
	case goKeys > 0:
		return fmt.Sprintf("[NOTICE]   (bulwark) : RSA certificate signatures: %s (%s) for %d key(s), Go's crypto/rsa for %d", pl.RSA.Version(), pl.RSA.Path(), native, goKeys)
	}
	return fmt.Sprintf("[NOTICE]   (bulwark) : RSA certificate signatures: %s (%s) for %d key(s)", pl.RSA.Version(), pl.RSA.Path(), native)
}
