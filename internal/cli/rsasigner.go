package cli

import (
	"fmt"

	"bulwark/internal/plan"
	"bulwark/internal/tlsconf"
)

// rsaSignerLine is the start-up line that says what signs the TLS
// handshakes of RSA certificates: libcrypto (and which OpenSSL), or Go's
// crypto/rsa and why, which costs about 2.5 times the CPU per full
// handshake. It is "" when no bind serves an RSA certificate. A key
// libcrypto refused alone has its warning from the load.
func rsaSignerLine(pl *plan.Plan) string {
	var native, goKeys int
	for _, st := range pl.Stores {
		for _, c := range st.Certificates() {
			switch tlsconf.RSASigner(c) {
			case "libcrypto":
				native++
			case "crypto/rsa":
				goKeys++
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
