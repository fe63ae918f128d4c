package acl

import (
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"bulwark/internal/tlsconf"
)

// TLSTxn is implemented by a Txn whose connections may be TLS: the
// ssl_fc_*, ssl_c_*, ssl_f_* (client side) and ssl_bc_*, ssl_s_* (server
// side) fetches read it (CM 7.3.4).
type TLSTxn interface {
	// ClientTLS is the client connection's state, nil without TLS.
	ClientTLS() *tls.ConnectionState
	// LocalCert is the certificate Bulwark presented to the client.
	LocalCert() *x509.Certificate
	// ServerTLS is the server connection's state, nil without TLS.
	ServerTLS() *tls.ConnectionState
}

// ClientVerifyTxn is a session whose client certificate verification
// met errors its bind ignores: OpenSSL's numbers of the last error
// (ssl_c_verify), the first at depth 0 (ssl_c_err), the first above it
// (ssl_c_ca_err) and that one's depth (ssl_c_ca_err_depth); all 0 when
// the certificate verified.
type ClientVerifyTxn interface {
	ClientVerify() (last, leaf, ca, caDepth int)
}

type tlsSide uint8

const (
	sideClientConn tlsSide = iota // ssl_fc_*: the client connection
	sidePeerCert                  // ssl_c_*: the client's certificate
	sideLocalCert                 // ssl_f_*: Bulwark's certificate
	sideServerConn                // ssl_bc_*
	sideServerCert                // ssl_s_*
)

func sslFetches() map[string]*fetchDef {
	out := map[string]*fetchDef{}
	conn := func(pfx string, side tlsSide) {
		out[pfx+"_protocol"] = &fetchDef{out: KindStr, fn: fetchTLSConn(side, "protocol")}
		out[pfx+"_cipher"] = &fetchDef{out: KindStr, fn: fetchTLSConn(side, "cipher")}
		out[pfx+"_alpn"] = &fetchDef{out: KindStr, fn: fetchTLSConn(side, "alpn")}
		out[pfx+"_is_resumed"] = &fetchDef{out: KindBool, fn: fetchTLSConn(side, "resumed")}
		out[pfx+"_alg_keysize"] = &fetchDef{out: KindInt, fn: fetchTLSConn(side, "keysize")}
		out[pfx+"_use_keysize"] = &fetchDef{out: KindInt, fn: fetchTLSConn(side, "keysize")}
		out[pfx+"_unique_id"] = &fetchDef{out: KindBin, fn: fetchTLSConn(side, "unique")}
	}
	conn("ssl_fc", sideClientConn)
	conn("ssl_bc", sideServerConn)
	out["ssl_bc"] = &fetchDef{out: KindBool, fn: fetchTLSConn(sideServerConn, "on")}
	out["ssl_fc_has_crt"] = &fetchDef{out: KindBool, fn: fetchTLSConn(sideClientConn, "hascrt")}
	out["ssl_fc_has_early"] = &fetchDef{out: KindBool, fn: fetchTLSConn(sideClientConn, "early")}
	out["ssl_c_used"] = &fetchDef{out: KindBool, fn: fetchTLSConn(sideClientConn, "hascrt")}
	// A failed verification ends the handshake, so a session that runs
	// rules has a verified certificate (X509_V_OK) or none, unless its
	// bind ignores some errors (crt-ignore-err, ca-ignore-err), which the
	// connection then reports (ClientVerifyTxn).
	out["ssl_c_verify"] = &fetchDef{out: KindInt, fn: fetchTLSConn(sideClientConn, "verify")}
	out["ssl_c_ca_err_depth"] = &fetchDef{out: KindInt, fn: fetchTLSConn(sideClientConn, "cadepth")}
	cert := func(pfx string, side tlsSide) {
		for _, f := range []struct {
			name string
			k    Kind
		}{{"der", KindBin}, {"sha1", KindBin}, {"serial", KindBin}, {"notafter", KindStr}, {"notbefore", KindStr},
			{"sig_alg", KindStr}, {"key_alg", KindStr}, {"version", KindInt}} {
			out[pfx+"_"+f.name] = &fetchDef{out: f.k, fn: fetchCert(side, f.name)}
		}
		for _, dn := range []string{"s_dn", "i_dn"} {
			out[pfx+"_"+dn] = &fetchDef{out: KindStr, fn: fetchCert(side, dn), maxArgs: 3, prep: prepDN}
		}
	}
	cert("ssl_c", sidePeerCert)
	cert("ssl_f", sideLocalCert)
	cert("ssl_s", sideServerCert)
	for _, l := range []string{"cipherlist_bin", "cipherlist_hex", "cipherlist_str", "cipherlist_xxh", "extlist_bin", "eclist_bin", "ecformats_bin"} {
		k := KindBin
		switch l {
		case "cipherlist_hex", "cipherlist_str":
			k = KindStr
		case "cipherlist_xxh":
			k = KindInt
		}
		max := 1
		if l == "ecformats_bin" || l == "cipherlist_xxh" {
			max = 0
		}
		out["ssl_fc_"+l] = &fetchDef{out: k, fn: fetchHelloList(l), maxArgs: max, prep: prepHelloList}
	}
	out["ssl_c_chain_der"] = &fetchDef{out: KindBin, fn: fetchCert(sidePeerCert, "chain")}
	out["ssl_s_chain_der"] = &fetchDef{out: KindBin, fn: fetchCert(sideServerCert, "chain")}
	secretFetches(out)
	return out
}

func tlsOf(e *Eval, side tlsSide) (*tls.ConnectionState, TLSTxn) {
	t, ok := e.Txn.(TLSTxn)
	if !ok {
		return nil, nil
	}
	if side == sideServerConn || side == sideServerCert {
		return t.ServerTLS(), t
	}
	return t.ClientTLS(), t
}

func appendStr(e *Eval, s string) Sample {
	n := len(e.buf)
	e.buf = append(e.buf, s...)
	return strSample(e.tail(n))
}

func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLSv1"
	case tls.VersionTLS11:
		return "TLSv1.1"
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return "unknown"
}

// cipherBits is the secret key size of a suite, from its OpenSSL name.
func cipherBits(name string) int {
	switch {
	case strings.Contains(name, "AES_128"), strings.Contains(name, "AES128"):
		return 128
	case strings.Contains(name, "3DES"), strings.Contains(name, "DES-CBC3"):
		return 112
	case strings.Contains(name, "RC4"):
		return 128
	}
	return 256 // AES-256, ChaCha20
}

func fetchTLSConn(side tlsSide, what string) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		if !once(it) {
			return Sample{}, false
		}
		st, _ := tlsOf(e, side)
		if what == "on" {
			return boolSample(st != nil), true
		}
		if st == nil {
			return Sample{}, false
		}
		switch what {
		case "protocol":
			return appendStr(e, tlsVersion(st.Version)), true
		case "cipher":
			return appendStr(e, tlsconf.OpenSSLName(st.CipherSuite)), true
		case "alpn":
			if st.NegotiatedProtocol == "" {
				return Sample{}, false
			}
			return appendStr(e, st.NegotiatedProtocol), true
		case "resumed":
			return boolSample(st.DidResume), true
		case "keysize":
			return intSample(int64(cipherBits(tlsconf.OpenSSLName(st.CipherSuite)))), true
		case "unique":
			if len(st.TLSUnique) == 0 {
				return Sample{}, false
			}
			return Sample{Kind: KindBin, B: st.TLSUnique}, true
		case "hascrt":
			return boolSample(len(st.PeerCertificates) > 0), true
		case "early":
			return boolSample(false), true // Bulwark refuses 0-RTT data
		case "verify", "cadepth":
			var last, depth int
			if vt, ok := e.Txn.(ClientVerifyTxn); ok {
				last, _, _, depth = vt.ClientVerify()
			}
			if what == "cadepth" {
				return intSample(int64(depth)), true
			}
			return intSample(int64(last)), true
		}
		return Sample{}, false
	}
}

func certOf(e *Eval, side tlsSide) (*x509.Certificate, []*x509.Certificate) {
	st, t := tlsOf(e, side)
	if side == sideLocalCert {
		if t == nil || st == nil {
			return nil, nil
		}
		c := t.LocalCert()
		return c, nil
	}
	if st == nil || len(st.PeerCertificates) == 0 {
		return nil, nil
	}
	return st.PeerCertificates[0], st.PeerCertificates
}

func fetchCert(side tlsSide, what string) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		if !once(it) {
			return Sample{}, false
		}
		c, chain := certOf(e, side)
		if c == nil {
			return Sample{}, false
		}
		switch what {
		case "der":
			return Sample{Kind: KindBin, B: c.Raw}, true
		case "chain":
			// OpenSSL's peer chain, which HAProxy returns: on the
			// server side of a connection (ssl_c_chain_der) it holds the
			// certificates the client sent after its own.
			if side == sidePeerCert {
				chain = chain[1:]
			}
			n := len(e.buf)
			for _, cc := range chain {
				e.buf = append(e.buf, cc.Raw...)
			}
			return Sample{Kind: KindBin, B: e.tail(n)}, true
		case "sha1":
			sum := sha1.Sum(c.Raw)
			n := len(e.buf)
			e.buf = append(e.buf, sum[:]...)
			return Sample{Kind: KindBin, B: e.tail(n)}, true
		case "serial":
			n := len(e.buf)
			e.buf = append(e.buf, c.SerialNumber.Bytes()...)
			return Sample{Kind: KindBin, B: e.tail(n)}, true
		case "notbefore", "notafter":
			nb, na, ok := rawValidity(c.RawTBSCertificate)
			if !ok {
				return Sample{}, false
			}
			if what == "notafter" {
				nb = na
			}
			return appendStr(e, nb), true
		case "sig_alg":
			return appendStr(e, sigAlgName(c.SignatureAlgorithm)), true
		case "key_alg":
			return appendStr(e, keyAlgName(c.PublicKeyAlgorithm)), true
		case "version":
			return intSample(int64(c.Version)), true
		case "s_dn", "i_dn":
			// The raw DN keeps every attribute (emailAddress too) in
			// its order, as OpenSSL prints it.
			raw := c.RawSubject
			if what == "i_dn" {
				raw = c.RawIssuer
			}
			var rdn pkix.RDNSequence
			if rest, err := asn1.Unmarshal(raw, &rdn); err != nil || len(rest) > 0 {
				return Sample{}, false
			}
			return dnSample(e, x, rdn)
		}
		return Sample{}, false
	}
}

// rawValidity returns the notBefore and notAfter of a TBSCertificate as
// written (UTCTime "YYMMDDhhmmssZ" or GeneralizedTime), which is what
// OpenSSL prints.
func rawValidity(tbs []byte) (string, string, bool) {
	in := cryptobyte.String(tbs)
	var s cryptobyte.String
	if !in.ReadASN1(&s, cbasn1.SEQUENCE) {
		return "", "", false
	}
	s.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) // version
	if !s.SkipASN1(cbasn1.INTEGER) || !s.SkipASN1(cbasn1.SEQUENCE) || !s.SkipASN1(cbasn1.SEQUENCE) {
		return "", "", false
	}
	var val cryptobyte.String
	if !s.ReadASN1(&val, cbasn1.SEQUENCE) {
		return "", "", false
	}
	var t [2]string
	for i := range t {
		var tag cbasn1.Tag
		var v cryptobyte.String
		if !val.ReadAnyASN1(&v, &tag) || tag != cbasn1.UTCTime && tag != cbasn1.GeneralizedTime {
			return "", "", false
		}
		t[i] = string(v)
		if tag == cbasn1.GeneralizedTime {
			// HAProxy prints a GeneralizedTime of this century in the
			// UTCTime form (two year digits) and gives no sample for
			// another.
			if len(v) < 12 || !strings.HasPrefix(t[i], "20") {
				return "", "", false
			}
			t[i] = t[i][2:]
		}
	}
	return t[0], t[1], true
}

// sigAlgName and keyAlgName are OpenSSL's short and long names.
func sigAlgName(a x509.SignatureAlgorithm) string {
	switch a {
	case x509.MD5WithRSA:
		return "RSA-MD5"
	case x509.SHA1WithRSA:
		return "RSA-SHA1"
	case x509.SHA256WithRSA:
		return "RSA-SHA256"
	case x509.SHA384WithRSA:
		return "RSA-SHA384"
	case x509.SHA512WithRSA:
		return "RSA-SHA512"
	case x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS:
		return "RSASSA-PSS"
	case x509.ECDSAWithSHA1:
		return "ecdsa-with-SHA1"
	case x509.ECDSAWithSHA256:
		return "ecdsa-with-SHA256"
	case x509.ECDSAWithSHA384:
		return "ecdsa-with-SHA384"
	case x509.ECDSAWithSHA512:
		return "ecdsa-with-SHA512"
	case x509.PureEd25519:
		return "ED25519"
	}
	return "UNDEF"
}

func keyAlgName(a x509.PublicKeyAlgorithm) string {
	switch a {
	case x509.RSA:
		return "rsaEncryption"
	case x509.ECDSA:
		return "id-ecPublicKey"
	case x509.Ed25519:
		return "ED25519"
	case x509.DSA:
		return "dsaEncryption"
	}
	return "UNDEF"
}

// dnNames are OpenSSL's short names of the usual attribute types.
var dnNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU",
	"2.5.4.5": "serialNumber", "2.5.4.9": "street", "2.5.4.17": "postalCode", "2.5.4.4": "SN",
	"2.5.4.42": "GN", "2.5.4.12": "title", "1.2.840.113549.1.9.1": "emailAddress",
	"0.9.2342.19200300.100.1.25": "DC", "0.9.2342.19200300.100.1.1": "UID",
}

func attrName(t asn1.ObjectIdentifier) string {
	if n, ok := dnNames[t.String()]; ok {
		return n
	}
	return t.String()
}

// prepDN reads [<entry>[,<occ>[,<format>]]]: an attribute name, its
// occurrence (negative from the last) and "rfc2253" for the whole DN.
func prepDN(c *compiler, x *Expr) error {
	if len(x.args) > 1 && x.args[1].s != "" {
		n, err := strconv.Atoi(x.args[1].s)
		if err != nil || n == 0 {
			return fmt.Errorf("invalid occurrence '%s'", x.args[1].s)
		}
		x.args[1].i = int64(n)
	}
	if len(x.args) > 2 && x.args[2].s != "" && x.args[2].s != "rfc2253" {
		return fmt.Errorf("only rfc2253 or a blank value are currently supported as the format argument")
	}
	return nil
}

func dnSample(e *Eval, x *Expr, rdn pkix.RDNSequence) (Sample, bool) {
	entry := ""
	if len(x.args) > 0 {
		entry = x.args[0].s
	}
	n := len(e.buf)
	if entry != "" {
		occ := int64(1)
		if len(x.args) > 1 && x.args[1].i != 0 {
			occ = x.args[1].i
		}
		var vals []string
		for _, set := range rdn {
			for _, a := range set {
				if attrName(a.Type) == entry || a.Type.String() == entry {
					vals = append(vals, fmt.Sprint(a.Value))
				}
			}
		}
		i := occ - 1
		if occ < 0 {
			i = int64(len(vals)) + occ
		}
		if i < 0 || i >= int64(len(vals)) {
			return Sample{}, false
		}
		return appendStr(e, vals[i]), true
	}
	if len(x.args) > 2 && x.args[2].s == "rfc2253" {
		return appendStr(e, rdn.String()), true
	}
	for _, set := range rdn {
		for _, a := range set {
			e.buf = append(e.buf, '/')
			e.buf = append(e.buf, attrName(a.Type)...)
			e.buf = append(e.buf, '=')
			e.buf = append(e.buf, fmt.Sprint(a.Value)...)
		}
	}
	return strSample(e.tail(n)), true
}

// HelloTxn is implemented by a Txn whose client connection's ClientHello
// was recorded: the cipher suites, extension types, supported groups and
// EC point formats, in the client's order.
type HelloTxn interface {
	ClientHello() (ciphers, exts, groups []uint16, points []uint8, ok bool)
}

// prepHelloList reads the filter option (1: leave GREASE values out,
// RFC 8701) and the capture size of the global section.
func prepHelloList(c *compiler, x *Expr) error {
	filter := int64(0)
	if len(x.args) > 0 && x.args[0].s != "" {
		switch x.args[0].s {
		case "0":
		case "1":
			filter = 1
		default:
			return fmt.Errorf("invalid filter option '%s' (expects 0 or 1)", x.args[0].s)
		}
	}
	size := 0
	if c.m != nil {
		size = c.m.Global.SSLCaptureSize
	}
	x.args = []argVal{{i: filter}, {i: int64(size)}}
	return nil
}

func isGREASE(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }

// fetchHelloList renders one list of the ClientHello, cut to
// tune.ssl.capture-buffer-size bytes as HAProxy's capture is.
func fetchHelloList(which string) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		if !once(it) {
			return Sample{}, false
		}
		ht, ok := e.Txn.(HelloTxn)
		size := int(x.args[1].i)
		if !ok || size == 0 {
			return Sample{}, false
		}
		ciphers, exts, groups, points, ok := ht.ClientHello()
		if !ok {
			return Sample{}, false
		}
		noGrease := x.args[0].i == 1
		n := len(e.buf)
		put := func(list []uint16) {
			for _, v := range list {
				if noGrease && isGREASE(v) {
					continue
				}
				e.buf = append(e.buf, byte(v>>8), byte(v))
			}
		}
		switch which {
		case "extlist_bin":
			put(exts)
		case "eclist_bin":
			put(groups)
		case "ecformats_bin":
			e.buf = append(e.buf, points...)
		default:
			put(ciphers)
		}
		raw := e.buf[n:]
		if len(raw) > size {
			raw = raw[:size]
		}
		e.buf = e.buf[:n+len(raw)]
		switch which {
		case "cipherlist_hex":
			const hexd = "0123456789ABCDEF"
			m := len(e.buf)
			for _, b := range raw {
				e.buf = append(e.buf, hexd[b>>4], hexd[b&15])
			}
			return strSample(e.buf[m:len(e.buf):len(e.buf)]), true
		case "cipherlist_str":
			m := len(e.buf)
			for i := 0; i+1 < len(raw); i += 2 {
				if i > 0 {
					e.buf = append(e.buf, ':')
				}
				e.buf = append(e.buf, tlsconf.OpenSSLName(uint16(raw[i])<<8|uint16(raw[i+1]))...)
			}
			return strSample(e.buf[m:len(e.buf):len(e.buf)]), true
		case "cipherlist_xxh":
			var d xxhash.Digest
			d.Reset()
			d.Write(raw)
			return intSample(int64(d.Sum64())), true
		}
		return Sample{Kind: KindBin, B: e.tail(n)}, true
	}
}
