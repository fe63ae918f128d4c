package tlsconf

import (
	"crypto/tls"
	"fmt"
	"sort"
	"strings"
)

// suite describes one TLS <= 1.2 cipher suite by the attributes OpenSSL's
// cipher-list keywords select on.
type suite struct {
	name string // OpenSSL name
	id   uint16 // 0 when Go does not implement it
	kx   string // ECDHE, RSA, DHE
	auth string // ECDSA, RSA, DSS
	enc  string // AESGCM128, AESGCM256, CHACHA20, AES128, AES256, 3DES, RC4, CAMELLIA...
	mac  string // AEAD, SHA1, SHA256, SHA384
}

func (s suite) aead() bool { return s.mac == "AEAD" }

// suites is every suite Go implements for TLS <= 1.2, plus the common
// OpenSSL ones it does not, so that a cipher list naming them gets a precise
// message instead of "unknown". Order is OpenSSL's usual preference order,
// which only matters for the order we report; Go picks the suite itself.
var suites = []suite{
	{"ECDHE-ECDSA-AES256-GCM-SHA384", tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "ECDHE", "ECDSA", "AESGCM256", "AEAD"},
	{"ECDHE-RSA-AES256-GCM-SHA384", tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "ECDHE", "RSA", "AESGCM256", "AEAD"},
	{"ECDHE-ECDSA-CHACHA20-POLY1305", tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE", "ECDSA", "CHACHA20", "AEAD"},
	{"ECDHE-RSA-CHACHA20-POLY1305", tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, "ECDHE", "RSA", "CHACHA20", "AEAD"},
	{"ECDHE-ECDSA-AES128-GCM-SHA256", tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "ECDHE", "ECDSA", "AESGCM128", "AEAD"},
	{"ECDHE-RSA-AES128-GCM-SHA256", tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "ECDHE", "RSA", "AESGCM128", "AEAD"},
	{"DHE-RSA-AES256-GCM-SHA384", 0, "DHE", "RSA", "AESGCM256", "AEAD"},
	{"DHE-RSA-CHACHA20-POLY1305", 0, "DHE", "RSA", "CHACHA20", "AEAD"},
	{"DHE-RSA-AES128-GCM-SHA256", 0, "DHE", "RSA", "AESGCM128", "AEAD"},
	{"ECDHE-ECDSA-AES256-SHA384", 0, "ECDHE", "ECDSA", "AES256", "SHA384"},
	{"ECDHE-RSA-AES256-SHA384", 0, "ECDHE", "RSA", "AES256", "SHA384"},
	{"ECDHE-ECDSA-AES128-SHA256", tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, "ECDHE", "ECDSA", "AES128", "SHA256"},
	{"ECDHE-RSA-AES128-SHA256", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, "ECDHE", "RSA", "AES128", "SHA256"},
	{"DHE-RSA-AES256-SHA256", 0, "DHE", "RSA", "AES256", "SHA256"},
	{"DHE-RSA-AES128-SHA256", 0, "DHE", "RSA", "AES128", "SHA256"},
	{"ECDHE-ECDSA-AES256-SHA", tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, "ECDHE", "ECDSA", "AES256", "SHA1"},
	{"ECDHE-RSA-AES256-SHA", tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, "ECDHE", "RSA", "AES256", "SHA1"},
	{"ECDHE-ECDSA-AES128-SHA", tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, "ECDHE", "ECDSA", "AES128", "SHA1"},
	{"ECDHE-RSA-AES128-SHA", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, "ECDHE", "RSA", "AES128", "SHA1"},
	{"DHE-RSA-AES256-SHA", 0, "DHE", "RSA", "AES256", "SHA1"},
	{"DHE-RSA-AES128-SHA", 0, "DHE", "RSA", "AES128", "SHA1"},
	{"AES256-GCM-SHA384", tls.TLS_RSA_WITH_AES_256_GCM_SHA384, "RSA", "RSA", "AESGCM256", "AEAD"},
	{"AES128-GCM-SHA256", tls.TLS_RSA_WITH_AES_128_GCM_SHA256, "RSA", "RSA", "AESGCM128", "AEAD"},
	{"AES256-SHA256", 0, "RSA", "RSA", "AES256", "SHA256"},
	{"AES128-SHA256", tls.TLS_RSA_WITH_AES_128_CBC_SHA256, "RSA", "RSA", "AES128", "SHA256"},
	{"AES256-SHA", tls.TLS_RSA_WITH_AES_256_CBC_SHA, "RSA", "RSA", "AES256", "SHA1"},
	{"AES128-SHA", tls.TLS_RSA_WITH_AES_128_CBC_SHA, "RSA", "RSA", "AES128", "SHA1"},
	{"CAMELLIA256-SHA", 0, "RSA", "RSA", "CAMELLIA", "SHA1"},
	{"CAMELLIA128-SHA", 0, "RSA", "RSA", "CAMELLIA", "SHA1"},
	{"ECDHE-RSA-DES-CBC3-SHA", tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, "ECDHE", "RSA", "3DES", "SHA1"},
	{"DES-CBC3-SHA", tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, "RSA", "RSA", "3DES", "SHA1"},
	{"ECDHE-ECDSA-RC4-SHA", tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA, "ECDHE", "ECDSA", "RC4", "SHA1"},
	{"ECDHE-RSA-RC4-SHA", tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA, "ECDHE", "RSA", "RC4", "SHA1"},
	{"RC4-SHA", tls.TLS_RSA_WITH_RC4_128_SHA, "RSA", "RSA", "RC4", "SHA1"},
	{"RC4-MD5", 0, "RSA", "RSA", "RC4", "MD5"},
}

// keywords maps OpenSSL cipher-list aliases to a predicate over suites.
// Aliases that select only suites Go lacks (DHE, CAMELLIA, eNULL, ...) are
// known so that they are not reported as typos.
var keywords = map[string]func(suite) bool{
	"ALL":     func(suite) bool { return true },
	"DEFAULT": func(s suite) bool { return s.enc != "RC4" && s.enc != "3DES" },
	"HIGH":    func(s suite) bool { return s.enc != "RC4" && s.enc != "3DES" },
	"MEDIUM":  func(s suite) bool { return s.enc == "RC4" || s.enc == "3DES" },
	"FIPS": func(s suite) bool {
		return s.enc != "RC4" && s.enc != "CHACHA20" && s.enc != "CAMELLIA"
	},
	"AESGCM":   func(s suite) bool { return s.enc == "AESGCM128" || s.enc == "AESGCM256" },
	"AES":      func(s suite) bool { return strings.HasPrefix(s.enc, "AES") },
	"AES128":   func(s suite) bool { return s.enc == "AES128" || s.enc == "AESGCM128" },
	"AES256":   func(s suite) bool { return s.enc == "AES256" || s.enc == "AESGCM256" },
	"CHACHA20": func(s suite) bool { return s.enc == "CHACHA20" },
	"CAMELLIA": func(s suite) bool { return s.enc == "CAMELLIA" },
	"3DES":     func(s suite) bool { return s.enc == "3DES" },
	"RC4":      func(s suite) bool { return s.enc == "RC4" },
	"SHA1":     func(s suite) bool { return s.mac == "SHA1" },
	"SHA":      func(s suite) bool { return s.mac == "SHA1" },
	"SHA256":   func(s suite) bool { return s.mac == "SHA256" },
	"SHA384":   func(s suite) bool { return s.mac == "SHA384" },
	"MD5":      func(s suite) bool { return s.mac == "MD5" },
	"ECDHE":    func(s suite) bool { return s.kx == "ECDHE" },
	"EECDH":    func(s suite) bool { return s.kx == "ECDHE" },
	"kEECDH":   func(s suite) bool { return s.kx == "ECDHE" },
	"kECDHE":   func(s suite) bool { return s.kx == "ECDHE" },
	"ECDH":     func(s suite) bool { return s.kx == "ECDHE" },
	"DHE":      func(s suite) bool { return s.kx == "DHE" },
	"EDH":      func(s suite) bool { return s.kx == "DHE" },
	"kEDH":     func(s suite) bool { return s.kx == "DHE" },
	"kDHE":     func(s suite) bool { return s.kx == "DHE" },
	"kRSA":     func(s suite) bool { return s.kx == "RSA" },
	"RSA":      func(s suite) bool { return s.kx == "RSA" },
	"aRSA":     func(s suite) bool { return s.auth == "RSA" },
	"aECDSA":   func(s suite) bool { return s.auth == "ECDSA" },
	"ECDSA":    func(s suite) bool { return s.auth == "ECDSA" },
	"TLSv1.2":  func(s suite) bool { return s.mac != "SHA1" && s.mac != "MD5" },
	"TLSv1":    func(s suite) bool { return s.mac == "SHA1" },
	"SSLv3":    func(s suite) bool { return s.mac == "SHA1" || s.mac == "MD5" },
}

// nothing lists aliases that exist in OpenSSL but select no suite Go or the
// table above knows: anonymous, null, export, low-grade and exotic suites.
var nothing = map[string]bool{
	"aNULL": true, "eNULL": true, "NULL": true, "COMPLEMENTOFALL": true,
	"COMPLEMENTOFDEFAULT": true, "EXPORT": true, "EXP": true, "LOW": true,
	"DES": true, "IDEA": true, "SEED": true, "ARIA": true, "PSK": true, "kPSK": true,
	"aPSK": true, "SRP": true, "kSRP": true, "DSS": true, "aDSS": true, "ADH": true,
	"AECDH": true, "DH": true, "kDH": true, "GOST": true, "aGOST": true, "CCM": true,
	"CCM8": true, "AESCCM": true, "AESCCM8": true, "SUITEB128": true, "SUITEB192": true,
	"SUITEB128ONLY": true, "RC2": true, "MD5-SHA1": true, "aECDH": true, "kECDH": true,
}

// CipherList is the result of parsing an OpenSSL cipher list.
type CipherList struct {
	IDs []uint16 // suites for crypto/tls, in the list's order
	// Missing are explicitly named suites that Go does not implement.
	Missing []string
	// Unknown are words OpenSSL would not know either (probably typos).
	Unknown []string
	// Ignored are directives without effect in Go (@STRENGTH, @SECLEVEL,
	// TLS 1.3 suite names).
	Ignored []string
}

// ParseCipherList interprets an OpenSSL cipher list ("ciphers",
// "ssl-default-bind-ciphers") against the suites Go implements. It follows
// OpenSSL's operators: a word appends the suites it selects, "-" removes
// them, "!" removes them for good, "+" moves them to the end, and "A+B"
// selects the suites matching both A and B. Like OpenSSL it does not fail
// on names it cannot use; CipherSuites decides what is fatal.
func ParseCipherList(s string) CipherList {
	var out CipherList
	var list []int // indexes into suites
	banned := map[int]bool{}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ',' || r == ' ' || r == ';' })
	for _, f := range fields {
		op := byte(0)
		if f[0] == '!' || f[0] == '-' || f[0] == '+' {
			op, f = f[0], f[1:]
		}
		if f == "" {
			continue
		}
		if f[0] == '@' {
			out.Ignored = append(out.Ignored, f)
			continue
		}
		if strings.HasPrefix(f, "TLS_") {
			// TLS 1.3 names belong in "ciphersuites"; OpenSSL skips them here.
			out.Ignored = append(out.Ignored, f)
			continue
		}
		sel, named, ok := selectSuites(f)
		if !ok {
			out.Unknown = append(out.Unknown, f)
			continue
		}
		switch op {
		case '!':
			for _, i := range sel {
				banned[i] = true
			}
			list = without(list, sel)
		case '-':
			list = without(list, sel)
		case '+':
			var moved []int
			for _, i := range list {
				if contains(sel, i) {
					moved = append(moved, i)
				}
			}
			list = append(without(list, sel), moved...)
		default:
			for _, i := range sel {
				if !banned[i] && !contains(list, i) {
					list = append(list, i)
				}
			}
			if named && suites[sel[0]].id == 0 {
				out.Missing = append(out.Missing, f)
			}
		}
	}
	for _, i := range list {
		if suites[i].id != 0 {
			out.IDs = append(out.IDs, suites[i].id)
		}
	}
	return out
}

// selectSuites returns the table indexes a word selects, whether the word is
// a single suite name, and whether the word is known at all.
func selectSuites(word string) (sel []int, named, ok bool) {
	for i, s := range suites {
		if s.name == word {
			return []int{i}, true, true
		}
	}
	parts := strings.Split(word, "+")
	preds := make([]func(suite) bool, 0, len(parts))
	for _, p := range parts {
		if pred, found := keywords[p]; found {
			preds = append(preds, pred)
			continue
		}
		if nothing[p] {
			return nil, false, true
		}
		return nil, false, false
	}
	for i, s := range suites {
		all := true
		for _, pred := range preds {
			all = all && pred(s)
		}
		if all {
			sel = append(sel, i)
		}
	}
	return sel, false, true
}

func contains(list []int, x int) bool {
	for _, v := range list {
		if v == x {
			return true
		}
	}
	return false
}

func without(list, drop []int) []int {
	out := list[:0:0]
	for _, v := range list {
		if !contains(drop, v) {
			out = append(out, v)
		}
	}
	return out
}

// defaultSuites is Bulwark's secure default: forward-secret AEAD suites only
// (Go's defaults minus CBC and RSA key exchange).
func defaultSuites() []uint16 {
	var ids []uint16
	for _, s := range suites {
		if s.id != 0 && s.kx == "ECDHE" && s.aead() {
			ids = append(ids, s.id)
		}
	}
	return ids
}

// cipherSuites turns a cipher list into crypto/tls suite IDs. It fails when
// nothing usable remains, naming what Go lacks; otherwise problems become
// warnings. An empty list means Bulwark's secure default.
func cipherSuites(list, what string) ([]uint16, []string, error) {
	if strings.TrimSpace(list) == "" {
		return defaultSuites(), nil, nil
	}
	cl := ParseCipherList(list)
	var warns []string
	if len(cl.IDs) == 0 {
		msg := fmt.Sprintf("%s '%s' selects no cipher suite that Go implements", what, list)
		if len(cl.Missing) > 0 {
			msg += fmt.Sprintf(" (not implemented by Go: %s)", strings.Join(cl.Missing, ", "))
		}
		if len(cl.Unknown) > 0 {
			msg += fmt.Sprintf(" (unknown: %s)", strings.Join(cl.Unknown, ", "))
		}
		return nil, nil, fmt.Errorf("%s", msg)
	}
	if len(cl.Missing) > 0 {
		warns = append(warns, fmt.Sprintf("%s: ignoring suites Go does not implement: %s", what, strings.Join(cl.Missing, ", ")))
	}
	if len(cl.Unknown) > 0 {
		warns = append(warns, fmt.Sprintf("%s: ignoring unknown cipher names: %s", what, strings.Join(cl.Unknown, ", ")))
	}
	if len(cl.Ignored) > 0 {
		warns = append(warns, fmt.Sprintf("%s: no effect in Bulwark: %s", what, strings.Join(cl.Ignored, ", ")))
	}
	if weak := weakNames(cl.IDs); len(weak) > 0 {
		warns = append(warns, fmt.Sprintf("%s enables weak suites (no forward secrecy or not AEAD): %s", what, strings.Join(weak, ", ")))
	}
	return cl.IDs, warns, nil
}

func weakNames(ids []uint16) []string {
	var out []string
	for _, s := range suites {
		if s.id != 0 && (s.kx != "ECDHE" || !s.aead()) && containsID(ids, s.id) {
			out = append(out, s.name)
		}
	}
	return out
}

func containsID(ids []uint16, id uint16) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

// tls13Suites are the TLS 1.3 suites OpenSSL knows; Go implements the first
// three and always enables them.
var tls13Suites = map[string]bool{
	"TLS_AES_128_GCM_SHA256": true, "TLS_AES_256_GCM_SHA384": true,
	"TLS_CHACHA20_POLY1305_SHA256": true, "TLS_AES_128_CCM_SHA256": false,
	"TLS_AES_128_CCM_8_SHA256": false,
}

// checkCipherSuites13 validates a "ciphersuites" list. crypto/tls does not
// let a program choose TLS 1.3 suites: on binds the list is enforced by
// enforceTLS13 (tls13.go), on servers it cannot be; the result is a
// warning saying which (and an error for names nobody knows).
func checkCipherSuites13(list, what string, bind bool) ([]string, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	named := map[string]bool{}
	var unknown []string
	for _, n := range strings.Split(list, ":") {
		n = strings.TrimSpace(n)
		if _, ok := tls13Suites[n]; !ok {
			unknown = append(unknown, n)
			continue
		}
		named[n] = true
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("%s '%s': unknown TLS 1.3 cipher suite(s): %s", what, list, strings.Join(unknown, ", "))
	}
	var excluded []string
	for n, goHas := range tls13Suites {
		if goHas && !named[n] {
			excluded = append(excluded, n)
		}
	}
	sort.Strings(excluded)
	if len(excluded) > 0 && bind {
		// Enforced by enforceTLS13, which differs from OpenSSL in one way.
		return []string{fmt.Sprintf("%s excludes %s, which Go cannot disable for TLS 1.3: a client whose TLS 1.3 handshake would use it is capped at TLS 1.2 (refused when TLS 1.2 is off) instead of being given another suite", what, strings.Join(excluded, ", "))}, nil
	}
	if len(excluded) > 0 {
		return []string{fmt.Sprintf("%s excludes %s, but Go always enables it for TLS 1.3", what, strings.Join(excluded, ", "))}, nil
	}
	return nil, nil
}

// curveNames maps OpenSSL group names (and their aliases) to crypto/tls.
var curveNames = map[string]tls.CurveID{
	"X25519": tls.X25519, "x25519": tls.X25519,
	"P-256": tls.CurveP256, "prime256v1": tls.CurveP256, "secp256r1": tls.CurveP256,
	"P-384": tls.CurveP384, "secp384r1": tls.CurveP384,
	"P-521": tls.CurveP521, "secp521r1": tls.CurveP521,
	"X25519MLKEM768":     tls.X25519MLKEM768,
	"SecP256r1MLKEM768":  tls.SecP256r1MLKEM768,
	"SecP384r1MLKEM1024": tls.SecP384r1MLKEM1024,
}

// curvePreferences parses a "curves" list (colon separated, OpenSSL names).
func curvePreferences(list, what string) ([]tls.CurveID, []string, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil, nil
	}
	var ids []tls.CurveID
	var bad []string
	for _, n := range strings.Split(list, ":") {
		n = strings.TrimSpace(n)
		id, ok := curveNames[n]
		if !ok {
			bad = append(bad, n)
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, nil, fmt.Errorf("%s '%s': no curve Go implements (supported: X25519, P-256, P-384, P-521, X25519MLKEM768)", what, list)
	}
	var warns []string
	if len(bad) > 0 {
		warns = append(warns, fmt.Sprintf("%s: ignoring curves Go does not implement: %s", what, strings.Join(bad, ", ")))
	}
	return ids, warns, nil
}

// OpenSSLName is OpenSSL's name of a cipher suite, which HAProxy logs
// (%sslc) and the ssl_fc_cipher fetch returns; TLS 1.3 suites have the
// same name in both. Suites without one get Go's (IANA) name.
func OpenSSLName(id uint16) string {
	// Read for every TLS connection's log line: crypto/tls's own lookup
	// builds its table of suites anew on each call.
	switch id {
	case tls.TLS_AES_128_GCM_SHA256:
		return "TLS_AES_128_GCM_SHA256"
	case tls.TLS_AES_256_GCM_SHA384:
		return "TLS_AES_256_GCM_SHA384"
	case tls.TLS_CHACHA20_POLY1305_SHA256:
		return "TLS_CHACHA20_POLY1305_SHA256"
	}
	for _, s := range suites {
		if s.id == id {
			return s.name
		}
	}
	return tls.CipherSuiteName(id)
}
