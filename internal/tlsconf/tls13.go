package tlsconf

import (
	"crypto/tls"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/sys/cpu"
)

// crypto/tls offers no way to choose the TLS 1.3 cipher suites: it always
// enables its three and picks one itself. A bind whose "ciphersuites"
// leaves one of them out is enforced here as far as that can be done
// honestly: for each ClientHello, the suite Go would choose is predicted
// with Go's documented rule (handshake_server_tls13.go: AES-GCM first
// when the CPU has AES-GCM instructions and the client's first known
// suite is AES-GCM, ChaCha20 first otherwise; then the first of that
// order the client offers). When that suite is not allowed, or the
// client offers no allowed TLS 1.3 suite, the handshake is capped at
// TLS 1.2 (whose suites "ciphers" does control) or, when the bind does
// not allow TLS 1.2, refused. What remains: a client offering an allowed
// suite that Go would not pick is capped instead of being served that
// suite, and Go's FIPS 140 mode (which has its own order) is not modelled.

// tls13IDs maps the TLS 1.3 suite names Go implements to their IDs.
var tls13IDs = map[string]uint16{
	"TLS_AES_128_GCM_SHA256":       tls.TLS_AES_128_GCM_SHA256,
	"TLS_AES_256_GCM_SHA384":       tls.TLS_AES_256_GCM_SHA384,
	"TLS_CHACHA20_POLY1305_SHA256": tls.TLS_CHACHA20_POLY1305_SHA256,
}

// allowedTLS13 returns the allowed TLS 1.3 suites of a "ciphersuites"
// list, or nil when the list allows all of Go's (nothing to enforce).
func allowedTLS13(list string) map[uint16]bool {
	if strings.TrimSpace(list) == "" {
		return nil
	}
	allowed := map[uint16]bool{}
	for _, n := range strings.Split(list, ":") {
		if id, ok := tls13IDs[strings.TrimSpace(n)]; ok {
			allowed[id] = true
		}
	}
	if len(allowed) == len(tls13IDs) {
		return nil
	}
	return allowed
}

// hasAESGCMHardware mirrors crypto/tls's hasAESGCMHardwareSupport.
var hasAESGCMHardware = (cpu.X86.HasAES && cpu.X86.HasPCLMULQDQ && cpu.X86.HasSSE41 && cpu.X86.HasSSSE3) ||
	(cpu.ARM64.HasAES && cpu.ARM64.HasPMULL) ||
	(cpu.S390X.HasAES && cpu.S390X.HasAESCTR && cpu.S390X.HasGHASH) ||
	runtime.GOARCH == "ppc64" || runtime.GOARCH == "ppc64le"

// predictTLS13 returns the TLS 1.3 suite crypto/tls would choose for a
// client offering suites, 0 when none.
func predictTLS13(suites []uint16, aesHW bool) uint16 {
	order := []uint16{tls.TLS_CHACHA20_POLY1305_SHA256, tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384}
	if aesHW && aesGCMPreferred(suites) {
		order = []uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_AES_256_GCM_SHA384, tls.TLS_CHACHA20_POLY1305_SHA256}
	}
	for _, want := range order {
		for _, s := range suites {
			if s == want {
				return want
			}
		}
	}
	return 0
}

// aesGCMPreferred: is the client's first suite known to crypto/tls an
// AES-GCM one (Go's isAESGCMPreferred)?
func aesGCMPreferred(suites []uint16) bool {
	known := map[uint16]string{}
	for _, c := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		known[c.ID] = c.Name
	}
	for _, s := range suites {
		if n, ok := known[s]; ok {
			return strings.Contains(n, "AES_128_GCM") || strings.Contains(n, "AES_256_GCM")
		}
	}
	return false
}

// enforceTLS13 wraps a GetConfigForClient (nil: base as it is) so that
// a handshake is never completed with a TLS 1.3 suite outside allowed.
func enforceTLS13(allowed map[uint16]bool, base *tls.Config, inner func(*tls.ClientHelloInfo) (*tls.Config, error), what string) func(*tls.ClientHelloInfo) (*tls.Config, error) {
	return func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		cfg, err := base, error(nil)
		if inner != nil {
			var c *tls.Config
			if c, err = inner(h); err != nil {
				return nil, err
			}
			if c != nil {
				cfg = c
			}
		}
		if !offers13(h) || (cfg.MaxVersion != 0 && cfg.MaxVersion < tls.VersionTLS13) {
			return cfgOrNil(cfg, base), nil
		}
		if s := predictTLS13(h.CipherSuites, hasAESGCMHardware); s != 0 && allowed[s] {
			return cfgOrNil(cfg, base), nil
		}
		if cfg.MinVersion != 0 && cfg.MinVersion > tls.VersionTLS12 {
			return nil, fmt.Errorf("%s ciphersuites: the TLS 1.3 suite this client would get is not allowed and TLS 1.2 is disabled", what)
		}
		capped := cfg.Clone()
		capped.MaxVersion = tls.VersionTLS12
		return capped, nil
	}
}

// cfgOrNil returns nil for base, so that crypto/tls keeps using it.
func cfgOrNil(cfg, base *tls.Config) *tls.Config {
	if cfg == base {
		return nil
	}
	return cfg
}

func offers13(h *tls.ClientHelloInfo) bool {
	for _, v := range h.SupportedVersions {
		if v == tls.VersionTLS13 {
			return true
		}
	}
	return false
}
