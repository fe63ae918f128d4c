package acl

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/bits"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
	"github.com/zeebo/xxh3"
)

// hashConvs are the 64-bit and seeded hashes, the crypto converters and
// the protocol decoders of CM 7.3.1 added after the first two tables.
// Built by a function: the table is immutable.
func hashConvs() map[string]*convDef {
	return map[string]*convDef{
		"xxh32": {in: KindBin, out: KindInt, fn: convXXH32, maxArgs: 1, prep: prepOptInt},
		"xxh64": {in: KindBin, out: KindInt, fn: convXXH64, maxArgs: 1, prep: prepOptInt},
		"xxh3":  {in: KindBin, out: KindInt, fn: convXXH3, maxArgs: 1, prep: prepOptInt},
		"aes_gcm_dec": {in: KindBin, out: KindBin, fn: convAESGCMDec, minArgs: 4, maxArgs: 4,
			prep: prepAESGCM},
		"debug":             {in: KindNone, out: KindNone, fn: convDebug, maxArgs: 2, prep: prepDebug},
		"protobuf":          {in: KindBin, out: KindBin, fn: convProtobuf(false), minArgs: 1, maxArgs: 2, prep: prepProtobuf},
		"ungrpc":            {in: KindBin, out: KindBin, fn: convProtobuf(true), minArgs: 1, maxArgs: 2, prep: prepProtobuf},
		"jwt_header_query":  {in: KindStr, out: KindStr, fn: convJWTQuery(0), maxArgs: 2, prep: prepJWTQuery},
		"jwt_payload_query": {in: KindStr, out: KindStr, fn: convJWTQuery(1), maxArgs: 2, prep: prepJWTQuery},
		"jwt_verify":        {in: KindStr, out: KindInt, fn: convJWTVerify, minArgs: 2, maxArgs: 2, prep: prepJWTVerify},
		"mqtt_is_valid":     {in: KindBin, out: KindBool, fn: convMQTTValid},
		"mqtt_field_value":  {in: KindBin, out: KindStr, fn: convMQTTField, minArgs: 2, maxArgs: 2, prep: prepMQTTField},
		"fix_is_valid":      {in: KindBin, out: KindBool, fn: convFIXValid},
		"fix_tag_value":     {in: KindBin, out: KindStr, fn: convFIXTag, minArgs: 1, maxArgs: 1, prep: prepFIXTag},
		"in_table":          {in: KindStr, out: KindBool, fn: convInTable, minArgs: 1, maxArgs: 1, prep: prepTableArg},
		"language":          {in: KindStr, out: KindStr, fn: convLanguage, minArgs: 1, maxArgs: 2, prep: prepLanguage},
	}
}

func seedArg(c *convCall) uint64 {
	if len(c.args) > 0 {
		return uint64(c.args[0].i)
	}
	return 0
}

// convXXH32 is XXH32 as its specification defines it (Yann Collet's
// xxHash, "XXH32 algorithm description"); no Go module in the allowed
// set provides the 32-bit variant.
func convXXH32(e *Eval, c *convCall, s Sample) (Sample, bool) {
	return intSample(int64(xxh32(s.B, uint32(seedArg(c))))), true
}

func convXXH64(e *Eval, c *convCall, s Sample) (Sample, bool) {
	var d xxhash.Digest
	d.ResetWithSeed(seedArg(c))
	d.Write(s.B)
	return intSample(int64(d.Sum64())), true
}

func convXXH3(e *Eval, c *convCall, s Sample) (Sample, bool) {
	return intSample(int64(xxh3.HashSeed(s.B, seedArg(c)))), true
}

const (
	xxp1 uint32 = 0x9E3779B1
	xxp2 uint32 = 0x85EBCA77
	xxp3 uint32 = 0xC2B2AE3D
	xxp4 uint32 = 0x27D4EB2F
	xxp5 uint32 = 0x165667B1
)

func xxh32(b []byte, seed uint32) uint32 {
	n := uint32(len(b))
	var acc uint32
	if len(b) >= 16 {
		v := [4]uint32{seed + xxp1 + xxp2, seed + xxp2, seed, seed - xxp1}
		for len(b) >= 16 {
			for i := range v {
				v[i] = bits.RotateLeft32(v[i]+binary.LittleEndian.Uint32(b[4*i:])*xxp2, 13) * xxp1
			}
			b = b[16:]
		}
		acc = bits.RotateLeft32(v[0], 1) + bits.RotateLeft32(v[1], 7) + bits.RotateLeft32(v[2], 12) + bits.RotateLeft32(v[3], 18)
	} else {
		acc = seed + xxp5
	}
	acc += n
	for len(b) >= 4 {
		acc = bits.RotateLeft32(acc+binary.LittleEndian.Uint32(b)*xxp3, 17) * xxp4
		b = b[4:]
	}
	for _, ch := range b {
		acc = bits.RotateLeft32(acc+uint32(ch)*xxp5, 11) * xxp1
	}
	acc ^= acc >> 15
	acc *= xxp2
	acc ^= acc >> 13
	acc *= xxp3
	acc ^= acc >> 16
	return acc
}

// prepStrOrVar makes argument i a variable reference when it is spelled
// like one (scope.name), else a literal; with b64, a literal is decoded
// now and a bad one leaves b nil (the converter then yields nothing, as
// HAProxy decodes at run time).
func prepStrOrVar(cc *convCall, i int, b64 bool) {
	a := &cc.args[i]
	if checkVarName(a.s) == nil {
		a.isVar = true
		return
	}
	if !b64 {
		a.b = []byte(a.s)
		return
	}
	if d, err := base64.StdEncoding.DecodeString(a.s); err == nil {
		a.b = d
	}
}

// argValue returns a string-or-variable argument's bytes; b64 decodes a
// variable's value (a literal was decoded by prepStrOrVar).
func argValue(e *Eval, a *argVal, b64 bool) ([]byte, bool) {
	if !a.isVar {
		return a.b, a.b != nil
	}
	v, ok := argBytes(e, a)
	if !ok {
		return nil, false
	}
	if !b64 {
		return v, true
	}
	d, err := base64.StdEncoding.DecodeString(string(v))
	return d, err == nil
}

func prepAESGCM(c *compiler, cc *convCall) error {
	n, err := strconv.Atoi(cc.args[0].s)
	if err != nil || n != 128 && n != 192 && n != 256 {
		return fmt.Errorf("key size must be 128, 192 or 256 (bits).")
	}
	cc.args[0].i = int64(n)
	for i := 1; i < 4; i++ {
		prepStrOrVar(cc, i, true)
	}
	return nil
}

// convAESGCMDec decrypts the input with AES-GCM; a wrong tag, key size
// or nonce gives no sample.
func convAESGCMDec(e *Eval, c *convCall, s Sample) (Sample, bool) {
	nonce, ok1 := argValue(e, &c.args[1], true)
	key, ok2 := argValue(e, &c.args[2], true)
	tag, ok3 := argValue(e, &c.args[3], true)
	if !ok1 || !ok2 || !ok3 || len(key)*8 != int(c.args[0].i) || len(nonce) == 0 {
		return Sample{}, false
	}
	blk, err := aes.NewCipher(key)
	if err != nil {
		return Sample{}, false
	}
	var g cipher.AEAD
	switch {
	case len(tag) == 16:
		g, err = cipher.NewGCMWithNonceSize(blk, len(nonce))
	case len(nonce) == 12:
		g, err = cipher.NewGCMWithTagSize(blk, len(tag))
	default:
		return Sample{}, false
	}
	if err != nil {
		return Sample{}, false
	}
	ct := make([]byte, 0, len(s.B)+len(tag))
	ct = append(append(ct, s.B...), tag...)
	n := len(e.buf)
	out, err := g.Open(e.buf, nonce, ct, nil)
	if err != nil {
		return Sample{}, false
	}
	e.buf = out
	return Sample{Kind: KindBin, B: e.tail(n)}, true
}

// prepHMACKey accepts the key as a base64 literal or a variable (CM
// 7.3.1 "hmac": "can either be a string or a variable").
func prepHMACKey(c *compiler, cc *convCall) error {
	if digestNew(cc.args[0].s) == nil {
		return fmt.Errorf("unknown digest '%s'", cc.args[0].s)
	}
	prepStrOrVar(cc, 1, true)
	return nil
}

func convHMACKey(e *Eval, c *convCall, s Sample) (Sample, bool) {
	key, ok := argValue(e, &c.args[1], true)
	if !ok {
		return Sample{}, false
	}
	m := hmac.New(digestNew(c.args[0].s), key)
	m.Write(s.B)
	n := len(e.buf)
	e.buf = m.Sum(e.buf)
	return Sample{Kind: KindBin, B: e.tail(n)}, true
}

// prepDebug checks the sink. Bulwark has no event rings ("show events"),
// so the default sink buf0 writes to the standard error like "stderr";
// docs/compatibility.md says so.
func prepDebug(c *compiler, cc *convCall) error {
	if len(cc.args) > 1 {
		switch cc.args[1].s {
		case "", "buf0", "stderr":
		case "stdout":
			cc.args[1].i = 1
		default:
			return fmt.Errorf("No such sink '%s'", cc.args[1].s)
		}
	}
	return nil
}

// convDebug prints the sample, typed, and passes it on unchanged.
func convDebug(e *Eval, c *convCall, s Sample) (Sample, bool) {
	prefix := ""
	if len(c.args) > 0 {
		prefix = c.args[0].s
	}
	out := os.Stderr
	if len(c.args) > 1 && c.args[1].i == 1 {
		out = os.Stdout
	}
	var v string
	switch s.Kind {
	case KindBool, KindInt:
		v = strconv.FormatInt(s.I, 10)
	case KindIP:
		v = s.IP.String()
	case KindStr:
		v = strconv.Quote(string(s.B))
	case KindBin:
		v = fmt.Sprintf("%x", s.B)
	}
	fmt.Fprintf(out, "[debug] %s: type=%s %s\n", prefix, debugType(s.Kind), v)
	return s, true
}

func debugType(k Kind) string {
	switch k {
	case KindBool:
		return "bool"
	case KindInt:
		return "sint"
	case KindIP:
		return "ip"
	case KindStr:
		return "str"
	case KindBin:
		return "bin"
	}
	return "any"
}

func prepTableArg(c *compiler, cc *convCall) error {
	t, err := c.table(cc.args[0].s)
	if err != nil {
		return err
	}
	cc.args[0].tbl = t
	return nil
}

// convInTable tells whether the input's string form is a key of the table.
func convInTable(e *Eval, c *convCall, s Sample) (Sample, bool) {
	k, ok := sampleKey(s)
	if !ok {
		return Sample{}, false
	}
	_, found := c.args[0].tbl.Lookup(k, e.Txn.Now())
	return boolSample(found), true
}

// prepLanguage splits the ';'-separated list of accepted languages.
func prepLanguage(c *compiler, cc *convCall) error {
	var langs []string
	for _, l := range strings.Split(cc.args[0].s, ";") {
		if l = strings.TrimSpace(l); l != "" {
			langs = append(langs, l)
		}
	}
	if len(langs) == 0 {
		return fmt.Errorf("expects a list of languages ('en;fr;de')")
	}
	cc.args[0].obj = langs
	return nil
}

// convLanguage picks, from an Accept-Language value, the language of the
// list with the highest q-factor (the first on a tie; q=0 refuses it); a
// "fr-CH" not in the list counts as its base "fr" (CM 7.3.1 "language").
func convLanguage(e *Eval, c *convCall, s Sample) (Sample, bool) {
	langs := c.args[0].obj.([]string)
	best, bestQ := "", -1
	for _, item := range strings.Split(string(s.B), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(item), ";")
		tag = strings.TrimSpace(tag)
		q := 1000
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			q = qValue(v)
		}
		if q <= bestQ || q == 0 {
			continue
		}
		for _, cand := range []string{tag, strings.SplitN(tag, "-", 2)[0]} {
			if slices.Contains(langs, cand) {
				best, bestQ = cand, q
				break
			}
		}
	}
	if bestQ < 0 {
		if len(c.args) > 1 {
			return appendStr(e, c.args[1].s), true
		}
		return Sample{}, false
	}
	return appendStr(e, best), true
}

// qValue reads a q-factor as thousandths ("0.8" is 800); a bad one is 0.
func qValue(v string) int {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || f < 0 || f > 1 {
		return 0
	}
	return int(f*1000 + 0.5)
}
