package acl

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"
)

// moreFetches are the internal-state fetches of CM 7.3.2 and the TLS
// status fetches the httpslog format uses. Built by a function: the
// table is immutable.
func moreFetches() map[string]*fetchDef {
	return map[string]*fetchDef{
		"str":      {out: KindStr, fn: fetchConstArg(KindStr), maxArgs: 1, prep: prepStr}, // str() is the empty string
		"bin":      {out: KindBin, fn: fetchConstArg(KindBin), minArgs: 1, maxArgs: 1, prep: prepBin},
		"int":      {out: KindInt, fn: fetchConstArg(KindInt), minArgs: 1, maxArgs: 1, prep: prepConstInt},
		"bool":     {out: KindBool, fn: fetchConstArg(KindBool), minArgs: 1, maxArgs: 1, prep: prepConstBool},
		"env":      {out: KindStr, fn: fetchConstArg(KindStr), minArgs: 1, maxArgs: 1, prep: prepEnv},
		"hostname": {out: KindStr, fn: fetchConstArg(KindStr), prep: prepHostname},
		"thread":   {out: KindInt, fn: fetchConstArg(KindInt)},
		"stopping": {out: KindBool, fn: fetchConstBool(false)},
		"date":     {out: KindInt, fn: fetchDate(false), maxArgs: 2, prep: prepDateArgs},
		"date_us":  {out: KindInt, fn: fetchDate(true)},
		"rand":     {out: KindInt, fn: fetchRand, maxArgs: 1, prep: prepRand},
		"uuid":     {out: KindStr, fn: fetchUUID, maxArgs: 1, prep: prepUUID},

		"fc_err":                   {out: KindInt, fn: fetchConnErr(0)},
		"fc_err_str":               {out: KindStr, fn: fetchConnErr(1)},
		"ssl_fc_err":               {out: KindInt, fn: fetchConnErr(2)},
		"ssl_fc_err_str":           {out: KindStr, fn: fetchConnErr(3)},
		"ssl_c_err":                {out: KindInt, fn: fetchCertErr(false)},
		"ssl_c_ca_err":             {out: KindInt, fn: fetchCertErr(true)},
		"ssl_fc_protocol_hello_id": {out: KindInt, fn: fetchHelloVersion, prep: prepHelloList},
		"ssl_fc_has_sni":           {out: KindBool, fn: fetchHasSNI},
	}
}

// fetchConstArg returns the value prepared in the first argument (or the
// expression's own slot when there is none).
func fetchConstArg(k Kind) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		if !once(it) {
			return Sample{}, false
		}
		if len(x.args) == 0 {
			return Sample{Kind: k}, true
		}
		a := &x.args[0]
		switch k {
		case KindInt, KindBool:
			return Sample{Kind: k, I: a.i}, true
		}
		return Sample{Kind: k, B: a.b}, true
	}
}

func prepStr(c *compiler, x *Expr) error {
	if len(x.args) == 0 {
		x.args = []argVal{{b: []byte{}}}
	}
	x.args[0].b = []byte(x.args[0].s)
	return nil
}

func prepBin(c *compiler, x *Expr) error {
	b, err := hex.DecodeString(x.args[0].s)
	if err != nil {
		return fmt.Errorf("invalid hexadecimal string '%s'", x.args[0].s)
	}
	x.args[0].b = b
	return nil
}

func prepConstInt(c *compiler, x *Expr) error {
	n, err := strconv.ParseInt(x.args[0].s, 10, 64)
	if err != nil {
		return fmt.Errorf("invalid integer '%s'", x.args[0].s)
	}
	x.args[0].i = n
	return nil
}

func prepConstBool(c *compiler, x *Expr) error {
	switch strings.ToLower(x.args[0].s) {
	case "1", "true":
		x.args[0].i = 1
	case "0", "false":
	default:
		return fmt.Errorf("invalid boolean '%s' (expects 0, 1, true or false)", x.args[0].s)
	}
	return nil
}

// prepEnv reads the variable at load time: Bulwark's environment does not
// change while it runs, and reading it per request would allocate.
func prepEnv(c *compiler, x *Expr) error {
	x.args[0].b = []byte(os.Getenv(x.args[0].s))
	return nil
}

func prepHostname(c *compiler, x *Expr) error {
	h, _ := os.Hostname()
	x.args = []argVal{{s: h, b: []byte(h)}}
	return nil
}

func prepDateArgs(c *compiler, x *Expr) error { return parseDateArgs(x.args) }

// fetchDate is the current date in seconds (or ms/us) plus an offset in
// seconds, as CM 7.3.2 "date".
func fetchDate(us bool) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		if !once(it) {
			return Sample{}, false
		}
		now := time.Now()
		if us {
			return intSample(int64(now.Nanosecond() / 1000)), true
		}
		var off, unit int64
		if len(x.args) > 0 {
			off = x.args[0].i
		}
		if len(x.args) > 1 {
			unit = x.args[1].i
		}
		switch unit {
		case 1:
			return intSample(now.UnixMilli() + off*1000), true
		case 2:
			return intSample(now.UnixMicro() + off*1000000), true
		}
		return intSample(now.Unix() + off), true
	}
}

func prepRand(c *compiler, x *Expr) error {
	if len(x.args) > 0 {
		n, err := strconv.ParseInt(x.args[0].s, 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("invalid range '%s'", x.args[0].s)
		}
		x.args[0].i = n
	}
	return nil
}

func fetchRand(e *Eval, x *Expr, it *iter) (Sample, bool) {
	if !once(it) {
		return Sample{}, false
	}
	limit := int64(1) << 32
	if len(x.args) > 0 {
		limit = x.args[0].i
	}
	n, err := rand.Int(rand.Reader, big.NewInt(limit))
	if err != nil {
		return Sample{}, false
	}
	return intSample(n.Int64()), true
}

func prepUUID(c *compiler, x *Expr) error {
	if len(x.args) > 0 && x.args[0].s != "" && x.args[0].s != "4" {
		return fmt.Errorf("unsupported UUID version '%s' (expects 4)", x.args[0].s)
	}
	return nil
}

// fetchUUID returns a random version 4 UUID (RFC 4122).
func fetchUUID(e *Eval, x *Expr, it *iter) (Sample, bool) {
	if !once(it) {
		return Sample{}, false
	}
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return Sample{}, false
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	n := len(e.buf)
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			e.buf = append(e.buf, '-')
		}
		const hexd = "0123456789abcdef"
		e.buf = append(e.buf, hexd[b>>4], hexd[b&15])
	}
	return strSample(e.tail(n)), true
}

func fetchHasSNI(e *Eval, x *Expr, it *iter) (Sample, bool) {
	if !once(it) {
		return Sample{}, false
	}
	on, sni := e.Txn.TLS()
	return boolSample(on && len(sni) > 0), true
}

// ConnErrTxn is implemented by the view of a client connection that
// failed (the error-log-format line): its error in HAProxy's numbering
// (fc_err, CM 7.3.3) and its OpenSSL error code and text (ssl_fc_err),
// as bc_err and ssl_bc_err have them for server connections.
type ConnErrTxn interface {
	ConnError() (code, sslCode int, sslText string)
}

// fetchConnErr is fc_err (what 0), fc_err_str (1), ssl_fc_err (2) and
// ssl_fc_err_str (3). A connection without error is 0 "Success" (and no
// ssl_fc_err_str): Bulwark runs rules and logs only after a successful
// handshake.
func fetchConnErr(what int) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		if !once(it) {
			return Sample{}, false
		}
		code, sslCode, sslText := 0, 0, ""
		if ct, ok := e.Txn.(ConnErrTxn); ok {
			code, sslCode, sslText = ct.ConnError()
		} else if on, _ := e.Txn.TLS(); !on && what >= 2 {
			return Sample{}, false
		}
		switch what {
		case 0:
			return intSample(int64(code)), true
		case 1:
			return appendStr(e, connErrText(code)), true
		case 2:
			return intSample(int64(sslCode)), true
		}
		if sslText == "" {
			return Sample{}, false
		}
		return appendStr(e, sslText), true
	}
}

// CertErrTxn is a connection whose handshake failed on the client's
// certificate: the verification errors at depth 0 and above, as OpenSSL
// numbers them (ssl_c_err, ssl_c_ca_err).
type CertErrTxn interface {
	CertErrors() (leaf, ca int)
}

// fetchCertErr is ssl_c_err / ssl_c_ca_err: 0 when the certificate
// verified, which is every session that got as far as a request unless
// its bind ignores errors (a failed verification ends the handshake;
// error-log-format sees those).
func fetchCertErr(ca bool) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		if !once(it) {
			return Sample{}, false
		}
		leaf, up := 0, 0
		if ct, ok := e.Txn.(CertErrTxn); ok {
			leaf, up = ct.CertErrors()
		} else if vt, ok := e.Txn.(ClientVerifyTxn); ok {
			_, leaf, up, _ = vt.ClientVerify()
		}
		if ca {
			return intSample(int64(up)), true
		}
		return intSample(int64(leaf)), true
	}
}

// HelloVersionTxn gives the protocol version field of the client's
// ClientHello (ssl_fc_protocol_hello_id), which HAProxy captures only
// with tune.ssl.capture-buffer-size set (prepHelloList reads it).
type HelloVersionTxn interface {
	HelloVersion() (uint16, bool)
}

func fetchHelloVersion(e *Eval, x *Expr, it *iter) (Sample, bool) {
	if !once(it) {
		return Sample{}, false
	}
	ht, ok := e.Txn.(HelloVersionTxn)
	if !ok || x.args[1].i == 0 {
		return Sample{}, false
	}
	v, ok := ht.HelloVersion()
	if !ok {
		return Sample{}, false
	}
	return intSample(int64(v)), true
}
