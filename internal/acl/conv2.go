package acl

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
	"hash/crc32"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"bulwark/internal/balance"
	"bulwark/internal/h1"
)

// moreConvs are the converters of CM 7.3.1 beyond the historical few of
// conv.go. The table is built by a function: it is immutable.
func moreConvs() map[string]*convDef {
	arith := func(op func(a, b int64) int64) *convDef {
		return &convDef{in: KindInt, out: KindInt, fn: convArith(op), minArgs: 1, maxArgs: 1, prep: prepIntOrVar}
	}
	unary := func(f func(int64) int64, out Kind) *convDef {
		return &convDef{in: KindInt, out: out, fn: func(e *Eval, c *convCall, s Sample) (Sample, bool) {
			return Sample{Kind: out, I: f(s.I)}, true
		}}
	}
	b2i := func(b bool) int64 {
		if b {
			return 1
		}
		return 0
	}
	hashConv := func(h func([]byte) uint32) *convDef {
		return &convDef{in: KindBin, out: KindInt, fn: convHash32(h), maxArgs: 1, prep: prepOptInt}
	}
	return map[string]*convDef{
		"add": arith(func(a, b int64) int64 { return a + b }),
		"sub": arith(func(a, b int64) int64 { return a - b }),
		"mul": arith(func(a, b int64) int64 { return a * b }),
		"div": arith(func(a, b int64) int64 {
			if b == 0 {
				return math.MaxInt64 // CM: "the largest unsigned integer" capped to a signed one
			}
			return a / b
		}),
		"mod": arith(func(a, b int64) int64 {
			if b == 0 {
				return 0
			}
			return a % b
		}),
		"and":  arith(func(a, b int64) int64 { return a & b }),
		"or":   arith(func(a, b int64) int64 { return a | b }),
		"xor":  arith(func(a, b int64) int64 { return a ^ b }),
		"neg":  unary(func(a int64) int64 { return -a }, KindInt),
		"cpl":  unary(func(a int64) int64 { return ^a }, KindInt),
		"bool": unary(func(a int64) int64 { return b2i(a != 0) }, KindBool),
		"not":  unary(func(a int64) int64 { return b2i(a == 0) }, KindBool),
		"odd":  unary(func(a int64) int64 { return a & 1 }, KindBool),
		"even": unary(func(a int64) int64 { return b2i(a&1 == 0) }, KindBool),

		"b64dec":   {in: KindStr, out: KindBin, fn: convB64Dec(base64.StdEncoding)},
		"ub64dec":  {in: KindStr, out: KindBin, fn: convB64Dec(base64.RawURLEncoding)},
		"ub64enc":  {in: KindBin, out: KindStr, fn: convB64Enc(base64.RawURLEncoding)},
		"hex2i":    {in: KindStr, out: KindInt, fn: convHex2i},
		"bytes":    {in: KindBin, out: KindBin, fn: convBytes, minArgs: 1, maxArgs: 2, prep: prepInts},
		"ltrim":    {in: KindStr, out: KindStr, fn: convTrim(true), minArgs: 1, maxArgs: 1},
		"rtrim":    {in: KindStr, out: KindStr, fn: convTrim(false), minArgs: 1, maxArgs: 1},
		"cut_crlf": {in: KindStr, out: KindStr, fn: convCutCRLF},
		"concat":   {in: KindStr, out: KindStr, fn: convConcat, maxArgs: 3, prep: prepConcat},
		"add_item": {in: KindStr, out: KindStr, fn: convAddItem, minArgs: 2, maxArgs: 3, prep: prepAddItem},
		"strcmp":   {in: KindStr, out: KindInt, fn: convStrcmp, minArgs: 1, maxArgs: 1, prep: prepVarArg},
		"secure_memcmp": {in: KindBin, out: KindBool, fn: convSecureMemcmp, minArgs: 1, maxArgs: 1,
			prep: prepVarArg},
		"field":      {in: KindStr, out: KindStr, fn: convField(false), minArgs: 2, maxArgs: 3, prep: prepField},
		"word":       {in: KindStr, out: KindStr, fn: convField(true), minArgs: 2, maxArgs: 3, prep: prepField},
		"regsub":     {in: KindStr, out: KindStr, fn: convRegsub, minArgs: 2, maxArgs: 3, prep: prepRegsub},
		"json":       {in: KindStr, out: KindStr, fn: convJSON, maxArgs: 1, prep: prepJSON},
		"url_dec":    {in: KindStr, out: KindStr, fn: convURLDec, maxArgs: 1, prep: prepOptInt},
		"url_enc":    {in: KindStr, out: KindStr, fn: convURLEnc, maxArgs: 1, prep: prepURLEnc},
		"sha1":       {in: KindBin, out: KindBin, fn: convDigest, prep: prepDigestFixed("sha1")},
		"sha2":       {in: KindBin, out: KindBin, fn: convDigest, maxArgs: 1, prep: prepSHA2},
		"digest":     {in: KindBin, out: KindBin, fn: convDigest, minArgs: 1, maxArgs: 1, prep: prepDigest},
		"hmac":       {in: KindBin, out: KindBin, fn: convHMACKey, minArgs: 2, maxArgs: 2, prep: prepHMACKey},
		"crc32":      hashConv(crc32.ChecksumIEEE),
		"crc32c":     hashConv(func(b []byte) uint32 { return crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)) }),
		"djb2":       hashConv(djb2),
		"sdbm":       hashConv(sdbm),
		"wt6":        hashConv(balance.SumWT6[[]byte]),
		"be2dec":     {in: KindBin, out: KindStr, fn: convBe2dec, minArgs: 2, maxArgs: 3, prep: prepBe2},
		"be2hex":     {in: KindBin, out: KindStr, fn: convBe2hex, maxArgs: 3, prep: prepBe2},
		"iif":        {in: KindBool, out: KindStr, fn: convIIf, minArgs: 2, maxArgs: 2, prep: prepIIf},
		"htonl":      {in: KindInt, out: KindBin, fn: convHtonl},
		"host_only":  {in: KindStr, out: KindStr, fn: convHostPort(true)},
		"port_only":  {in: KindStr, out: KindInt, fn: convHostPort(false)},
		"http_date":  {in: KindInt, out: KindStr, fn: convHTTPDate, maxArgs: 2, prep: prepDateUnit},
		"ltime":      {in: KindInt, out: KindStr, fn: convTime(false), minArgs: 1, maxArgs: 2, prep: prepTimeFmt},
		"utime":      {in: KindInt, out: KindStr, fn: convTime(true), minArgs: 1, maxArgs: 2, prep: prepTimeFmt},
		"set-var":    {in: KindNone, out: KindNone, fn: convSetVar, minArgs: 1, maxArgs: 5, prep: prepSetVarConv},
		"unset-var":  {in: KindNone, out: KindNone, fn: convUnsetVar, minArgs: 1, maxArgs: 1, prep: prepSetVarConv},
		"json_query": {in: KindStr, out: KindStr, fn: convJSONQuery, minArgs: 1, maxArgs: 2, prep: prepJSONQuery},
	}
}

func (e *Eval) tail(n int) []byte { return e.buf[n:len(e.buf):len(e.buf)] }

// argInt returns an integer argument, or the value of the variable it
// names (CM 7.3.1: arithmetic operators accept "a variable name").
func argInt(e *Eval, a *argVal) (int64, bool) {
	if !a.isVar {
		return a.i, true
	}
	s, ok := e.Txn.Var(a.s)
	if !ok {
		return 0, false
	}
	switch s.Kind {
	case KindInt, KindBool:
		return s.I, true
	case KindStr, KindBin:
		return strToInt(s.B)
	}
	return 0, false
}

// argBytes returns a variable's value as bytes.
func argBytes(e *Eval, a *argVal) ([]byte, bool) {
	s, ok := e.Txn.Var(a.s)
	if !ok {
		return nil, false
	}
	// Cast to binary, not string: the string cast stops at a NUL, and
	// secure_memcmp compares digests that contain them.
	s, ok = cast(e, s, KindBin)
	return s.B, ok
}

func prepIntOrVar(c *compiler, cc *convCall) error {
	a := &cc.args[0]
	if n, err := strconv.ParseInt(strings.TrimSpace(a.s), 10, 64); err == nil {
		a.i = n
		return nil
	}
	if err := checkVarName(a.s); err != nil {
		return fmt.Errorf("expects an integer or a variable name, got '%s'", a.s)
	}
	a.isVar = true
	return nil
}

func prepVarArg(c *compiler, cc *convCall) error {
	if err := checkVarName(cc.args[0].s); err != nil {
		return err
	}
	cc.args[0].isVar = true
	return nil
}

func prepOptInt(c *compiler, cc *convCall) error { return prepInts(c, cc) }

func prepInts(c *compiler, cc *convCall) error {
	for i := range cc.args {
		if cc.args[i].s == "" {
			continue
		}
		n, err := strconv.ParseInt(cc.args[i].s, 10, 64)
		if err != nil {
			return fmt.Errorf("invalid integer '%s' in argument %d", cc.args[i].s, i+1)
		}
		cc.args[i].i = n
	}
	return nil
}

func convArith(op func(a, b int64) int64) convFn {
	return func(e *Eval, c *convCall, s Sample) (Sample, bool) {
		v, ok := argInt(e, &c.args[0])
		if !ok {
			return Sample{}, false
		}
		return intSample(op(s.I, v)), true
	}
}

func convB64Dec(enc *base64.Encoding) convFn {
	return func(e *Eval, c *convCall, s Sample) (Sample, bool) {
		in := s.B
		if enc == base64.RawURLEncoding {
			in = bytes.TrimRight(in, "=")
		}
		n := len(e.buf)
		out, err := enc.AppendDecode(e.buf, in)
		if err != nil {
			return Sample{}, false
		}
		e.buf = out
		return Sample{Kind: KindBin, B: e.tail(n)}, true
	}
}

func convB64Enc(enc *base64.Encoding) convFn {
	return func(e *Eval, c *convCall, s Sample) (Sample, bool) {
		n := len(e.buf)
		e.buf = enc.AppendEncode(e.buf, s.B)
		return strSample(e.tail(n)), true
	}
}

func convHex2i(e *Eval, c *convCall, s Sample) (Sample, bool) {
	var v int64
	for _, ch := range trimSpace(s.B) {
		d, ok := h1.Unhex(ch)
		if !ok {
			return Sample{}, false
		}
		v = v<<4 | int64(d)
	}
	return intSample(v), true
}

func convBytes(e *Eval, c *convCall, s Sample) (Sample, bool) {
	off := c.args[0].i
	if off < 0 || off >= int64(len(s.B)) {
		return Sample{}, false
	}
	b := s.B[off:]
	if len(c.args) > 1 && c.args[1].s != "" {
		if l := c.args[1].i; l < int64(len(b)) {
			if l < 0 {
				return Sample{}, false
			}
			b = b[:l]
		}
	}
	return Sample{Kind: KindBin, B: b}, true
}

func convTrim(left bool) convFn {
	return func(e *Eval, c *convCall, s Sample) (Sample, bool) {
		set := c.args[0].s
		b := s.B
		if left {
			for len(b) > 0 && strings.IndexByte(set, b[0]) >= 0 {
				b = b[1:]
			}
		} else {
			for len(b) > 0 && strings.IndexByte(set, b[len(b)-1]) >= 0 {
				b = b[:len(b)-1]
			}
		}
		return strSample(b), true
	}
}

func convCutCRLF(e *Eval, c *convCall, s Sample) (Sample, bool) {
	if i := bytes.IndexAny(s.B, "\r\n"); i >= 0 {
		return strSample(s.B[:i]), true
	}
	return s, true
}

func prepConcat(c *compiler, cc *convCall) error {
	if len(cc.args) > 1 && cc.args[1].s != "" {
		if err := checkVarName(cc.args[1].s); err != nil {
			return err
		}
		cc.args[1].isVar = true
	}
	return nil
}

func convConcat(e *Eval, c *convCall, s Sample) (Sample, bool) {
	n := len(e.buf)
	// CM 7.3.1: <start> is "appended immediately after the existing sample".
	e.buf = append(e.buf, s.B...)
	if len(c.args) > 0 {
		e.buf = append(e.buf, c.args[0].s...)
	}
	if len(c.args) > 1 && c.args[1].isVar {
		if v, ok := e.Txn.Var(c.args[1].s); ok {
			e.buf = AppendSample(e.buf, v)
		}
	}
	if len(c.args) > 2 {
		e.buf = append(e.buf, c.args[2].s...)
	}
	return strSample(e.tail(n)), true
}

func prepAddItem(c *compiler, cc *convCall) error {
	if cc.args[1].s != "" {
		if err := checkVarName(cc.args[1].s); err != nil {
			return err
		}
		cc.args[1].isVar = true
	}
	return nil
}

// convAddItem appends the delimiter (only when the input is not empty),
// then the variable and the suffix (CM 7.3.1 add_item).
func convAddItem(e *Eval, c *convCall, s Sample) (Sample, bool) {
	n := len(e.buf)
	e.buf = append(e.buf, s.B...)
	var item []byte
	if c.args[1].isVar {
		if v, ok := e.Txn.Var(c.args[1].s); ok {
			m := len(e.buf)
			e.buf = AppendSample(e.buf, v)
			item = append([]byte(nil), e.buf[m:]...)
			e.buf = e.buf[:m]
		}
	}
	suffix := ""
	if len(c.args) > 2 {
		suffix = c.args[2].s
	}
	if len(item) == 0 && suffix == "" {
		return strSample(e.tail(n)), true
	}
	if len(s.B) > 0 {
		e.buf = append(e.buf, c.args[0].s...)
	}
	e.buf = append(e.buf, item...)
	e.buf = append(e.buf, suffix...)
	return strSample(e.tail(n)), true
}

func convStrcmp(e *Eval, c *convCall, s Sample) (Sample, bool) {
	v, ok := argBytes(e, &c.args[0])
	if !ok {
		return Sample{}, false
	}
	return intSample(int64(bytes.Compare(s.B, v))), true
}

func convSecureMemcmp(e *Eval, c *convCall, s Sample) (Sample, bool) {
	v, ok := argBytes(e, &c.args[0])
	if !ok {
		return Sample{}, false
	}
	return boolSample(len(v) == len(s.B) && subtle.ConstantTimeCompare(v, s.B) == 1), true
}

func prepField(c *compiler, cc *convCall) error {
	n, err := strconv.ParseInt(cc.args[0].s, 10, 64)
	if err != nil || n == 0 {
		return fmt.Errorf("invalid field index '%s' (expects a non-zero integer)", cc.args[0].s)
	}
	cc.args[0].i = n
	if cc.args[1].s == "" {
		return fmt.Errorf("empty delimiter list")
	}
	if len(cc.args) > 2 {
		m, err := strconv.ParseInt(cc.args[2].s, 10, 64)
		if err != nil || m < 0 {
			return fmt.Errorf("invalid field count '%s'", cc.args[2].s)
		}
		cc.args[2].i = m
	}
	return nil
}

// convField extracts fields (field) or words (word: empty fields are
// skipped) numbered from 1, or from the end when negative; a count of 0
// takes every field to the end.
func convField(words bool) convFn {
	return func(e *Eval, c *convCall, s Sample) (Sample, bool) {
		delims := c.args[1].s
		idx := c.args[0].i
		count := int64(1)
		if len(c.args) > 2 {
			count = c.args[2].i
		}
		isDelim := func(ch byte) bool { return strings.IndexByte(delims, ch) >= 0 }
		// Spans of the fields, in order.
		type span struct{ a, b int }
		var spansBuf [32]span
		spans := spansBuf[:0]
		start := 0
		for i := 0; i <= len(s.B); i++ {
			if i == len(s.B) || isDelim(s.B[i]) {
				if !words || i > start {
					spans = append(spans, span{start, i})
				}
				start = i + 1
			}
		}
		n := int64(len(spans))
		var first, last int64
		if idx > 0 {
			first = idx - 1
			last = n - 1
			if count > 0 {
				last = first + count - 1
			}
		} else {
			last = n + idx
			first = 0
			if count > 0 {
				first = last - count + 1
			}
		}
		if first < 0 {
			first = 0
		}
		if last >= n {
			last = n - 1
		}
		// A field past the ends is no sample at all (the reg-test
		// field.vtc: "-m found" is false), unlike an empty field.
		if first >= n || last < 0 || first > last {
			return Sample{}, false
		}
		return strSample(s.B[spans[first].a:spans[last].b]), true
	}
}

func prepRegsub(c *compiler, cc *convCall) error {
	pat := cc.args[0].s
	if len(cc.args) > 2 {
		for _, f := range cc.args[2].s {
			switch f {
			case 'i':
				pat = "(?i)" + pat
			case 'g':
				cc.args[2].i = 1
			default:
				return fmt.Errorf("invalid regex flag '%c' (expects 'i' or 'g')", f)
			}
		}
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return fmt.Errorf("invalid regex '%s': %v", cc.args[0].s, err)
	}
	cc.args[0].re = re
	cc.args[1].b = []byte(expandBackrefs(cc.args[1].s))
	return nil
}

// expandBackrefs turns HAProxy's \1 references into Go's ${1}.
func expandBackrefs(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
			b.WriteString("${" + string(s[i+1]) + "}")
			i++
			continue
		}
		if s[i] == '$' {
			b.WriteString("$$")
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func convRegsub(e *Eval, c *convCall, s Sample) (Sample, bool) {
	re := c.args[0].re
	global := len(c.args) > 2 && c.args[2].i == 1
	n := len(e.buf)
	in := s.B
	matches := 0
	for len(in) >= 0 {
		loc := re.FindSubmatchIndex(in)
		if loc == nil || (!global && matches > 0) {
			break
		}
		matches++
		e.buf = append(e.buf, in[:loc[0]]...)
		e.buf = re.Expand(e.buf, c.args[1].b, in, loc)
		if loc[1] == loc[0] {
			if loc[1] >= len(in) {
				in = in[len(in):]
				break
			}
			e.buf = append(e.buf, in[loc[1]])
			in = in[loc[1]+1:]
		} else {
			in = in[loc[1]:]
		}
		if len(in) == 0 {
			break
		}
	}
	e.buf = append(e.buf, in...)
	return strSample(e.tail(n)), true
}

// JSON input decoders (CM 7.3.1 "json"): bit 1 is UTF-8, 2 permissive
// (overlong forms accepted), 4 silent (bad characters dropped).
const (
	jsonUTF8   = 1
	jsonPermit = 2
	jsonSilent = 4
)

func prepJSON(c *compiler, cc *convCall) error {
	if len(cc.args) > 0 {
		switch cc.args[0].s {
		case "", "ascii":
		case "utf8":
			cc.args[0].i = jsonUTF8
		case "utf8s":
			cc.args[0].i = jsonUTF8 | jsonSilent
		case "utf8p":
			cc.args[0].i = jsonUTF8 | jsonPermit
		case "utf8ps":
			cc.args[0].i = jsonUTF8 | jsonPermit | jsonSilent
		default:
			return fmt.Errorf("Unexpected input code type. Allowed value are 'ascii', 'utf8', 'utf8s', 'utf8p' and 'utf8ps'")
		}
	}
	return nil
}

// utf8 decode errors, in the three classes the manual names.
const (
	utf8OK = iota
	utf8Bad
	utf8Range
	utf8Overlong
)

// decodeUTF8 decodes the character at the start of b (len(b) > 0): its
// code point, its length and what is wrong with it. A bad sequence has
// the length of its lead byte and the continuation bytes that follow.
func decodeUTF8(b []byte) (cp rune, size int, status int) {
	c := b[0]
	var n int
	var min rune
	switch {
	case c < 0x80:
		return rune(c), 1, utf8OK
	case c&0xe0 == 0xc0:
		n, min, cp = 2, 0x80, rune(c&0x1f)
	case c&0xf0 == 0xe0:
		n, min, cp = 3, 0x800, rune(c&0x0f)
	case c&0xf8 == 0xf0:
		n, min, cp = 4, 0x10000, rune(c&0x07)
	default:
		return 0, 1, utf8Bad
	}
	for i := 1; i < n; i++ {
		if i >= len(b) || b[i]&0xc0 != 0x80 {
			return 0, i, utf8Bad
		}
		cp = cp<<6 | rune(b[i]&0x3f)
	}
	switch {
	case cp > 0x10ffff || cp >= 0xd800 && cp <= 0xdfff:
		return cp, n, utf8Range
	case cp < min:
		return cp, n, utf8Overlong
	}
	return cp, n, utf8OK
}

// convJSON escapes a string for a JSON value as HAProxy does: '"', '\'
// and '/' are escaped, control characters become \uXXXX or their short
// forms; in the UTF-8 modes a multi-byte character becomes \uXXXX, and a
// character beyond U+FFFF is an error (JSON escapes hold 4 digits).
func convJSON(e *Eval, c *convCall, s Sample) (Sample, bool) {
	const hexd = "0123456789abcdef"
	mode := int64(0)
	if len(c.args) > 0 {
		mode = c.args[0].i
	}
	n := len(e.buf)
	for i := 0; i < len(s.B); {
		ch := s.B[i]
		if ch >= 0x80 && mode&jsonUTF8 != 0 {
			cp, size, st := decodeUTF8(s.B[i:])
			i += size
			if st == utf8Overlong && mode&jsonPermit != 0 {
				st = utf8OK
			}
			if st == utf8OK && cp > 0xffff {
				st = utf8Range
			}
			if st != utf8OK {
				if mode&jsonSilent != 0 {
					continue
				}
				e.buf = e.buf[:n]
				return Sample{}, false
			}
			e.buf = append(e.buf, '\\', 'u', hexd[cp>>12&15], hexd[cp>>8&15], hexd[cp>>4&15], hexd[cp&15])
			continue
		}
		i++
		switch ch {
		case '"', '\\', '/':
			e.buf = append(e.buf, '\\', ch)
		case '\b':
			e.buf = append(e.buf, '\\', 'b')
		case '\f':
			e.buf = append(e.buf, '\\', 'f')
		case '\n':
			e.buf = append(e.buf, '\\', 'n')
		case '\r':
			e.buf = append(e.buf, '\\', 'r')
		case '\t':
			e.buf = append(e.buf, '\\', 't')
		default:
			if ch < 0x20 || ch >= 0x7f {
				e.buf = append(e.buf, '\\', 'u', '0', '0', hexd[ch>>4], hexd[ch&15])
			} else {
				e.buf = append(e.buf, ch)
			}
		}
	}
	return strSample(e.tail(n)), true
}

// convURLDec decodes %XX escapes, and '+' as a space in form mode (the
// default when the input has a '?', as HAProxy's in_form=-1 heuristic).
func convURLDec(e *Eval, c *convCall, s Sample) (Sample, bool) {
	form := bytes.IndexByte(s.B, '?') >= 0
	if len(c.args) > 0 && c.args[0].s != "" {
		form = c.args[0].i != 0
	}
	n := len(e.buf)
	seenQ := false
	for i := 0; i < len(s.B); i++ {
		ch := s.B[i]
		switch {
		case ch == '?':
			seenQ = true
			e.buf = append(e.buf, ch)
		case ch == '+' && form && (seenQ || len(c.args) > 0):
			e.buf = append(e.buf, ' ')
		case ch == '%':
			if i+2 >= len(s.B) {
				e.buf = e.buf[:n]
				return Sample{}, false
			}
			hi, ok1 := h1.Unhex(s.B[i+1])
			lo, ok2 := h1.Unhex(s.B[i+2])
			if !ok1 || !ok2 {
				e.buf = e.buf[:n]
				return Sample{}, false
			}
			e.buf = append(e.buf, hi<<4|lo)
			i += 2
		default:
			e.buf = append(e.buf, ch)
		}
	}
	return strSample(e.tail(n)), true
}

func prepURLEnc(c *compiler, cc *convCall) error {
	if len(cc.args) > 0 && cc.args[0].s != "" && cc.args[0].s != "query" {
		return fmt.Errorf("unexpected encode type '%s' (expects 'query')", cc.args[0].s)
	}
	return nil
}

// convURLEnc percent-encodes every byte that is not unreserved (RFC 3986).
func convURLEnc(e *Eval, c *convCall, s Sample) (Sample, bool) {
	const hexd = "0123456789ABCDEF"
	n := len(e.buf)
	for _, ch := range s.B {
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '.' || ch == '_' || ch == '~' {
			e.buf = append(e.buf, ch)
		} else {
			e.buf = append(e.buf, '%', hexd[ch>>4], hexd[ch&15])
		}
	}
	return strSample(e.tail(n)), true
}

// digestNew maps HAProxy's (OpenSSL's) digest names to hash constructors.
func digestNew(name string) func() hash.Hash {
	switch strings.ToLower(name) {
	case "md5":
		return md5.New
	case "sha1":
		return sha1.New
	case "sha224":
		return sha256.New224
	case "sha256":
		return sha256.New
	case "sha384":
		return sha512.New384
	case "sha512":
		return sha512.New
	}
	return nil
}

// digestNames index the digests: prep keeps the index in the argument's
// integer, so the per-request call needs no lookup or allocation.
func digestNames() []string { return []string{"md5", "sha1", "sha224", "sha256", "sha384", "sha512"} }

func digestIndex(name string) int64 {
	for i, n := range digestNames() {
		if strings.EqualFold(n, name) {
			return int64(i)
		}
	}
	return -1
}

func prepDigestFixed(name string) func(*compiler, *convCall) error {
	return func(c *compiler, cc *convCall) error {
		cc.args = append(cc.args, argVal{s: name, i: digestIndex(name)})
		return nil
	}
}

func prepSHA2(c *compiler, cc *convCall) error {
	bits := "256"
	if len(cc.args) > 0 && cc.args[0].s != "" {
		bits = cc.args[0].s
	}
	switch bits {
	case "224", "256", "384", "512":
	default:
		return fmt.Errorf("invalid bits '%s' (expects 224, 256, 384 or 512)", bits)
	}
	cc.args = []argVal{{s: "sha" + bits, i: digestIndex("sha" + bits)}}
	return nil
}

func prepDigest(c *compiler, cc *convCall) error {
	if cc.args[0].i = digestIndex(cc.args[0].s); cc.args[0].i < 0 {
		return fmt.Errorf("unknown digest '%s' (expects md5, sha1, sha224, sha256, sha384 or sha512)", cc.args[0].s)
	}
	return nil
}

func convDigest(e *Eval, c *convCall, s Sample) (Sample, bool) {
	n := len(e.buf)
	switch c.args[0].i {
	case 0:
		sum := md5.Sum(s.B)
		e.buf = append(e.buf, sum[:]...)
	case 1:
		sum := sha1.Sum(s.B)
		e.buf = append(e.buf, sum[:]...)
	case 2:
		sum := sha256.Sum224(s.B)
		e.buf = append(e.buf, sum[:]...)
	case 3:
		sum := sha256.Sum256(s.B)
		e.buf = append(e.buf, sum[:]...)
	case 4:
		sum := sha512.Sum384(s.B)
		e.buf = append(e.buf, sum[:]...)
	default:
		sum := sha512.Sum512(s.B)
		e.buf = append(e.buf, sum[:]...)
	}
	return Sample{Kind: KindBin, B: e.tail(n)}, true
}

// avalanche is Bob Jenkins' 32-bit integer mix
// (burtleburtle.net/bob/hash/integer.html), which HAProxy applies to
// hashes when asked ("avalanche" argument), followed by a multiplication
// by 3221225473 that HAProxy adds to spread values over its hash tree;
// checked against Debian's haproxy and reg-tests/sample_fetches/hashes.vtc.
func avalanche(a uint32) uint32 {
	a = (a + 0x7ed55d16) + (a << 12)
	a = (a ^ 0xc761c23c) ^ (a >> 19)
	a = (a + 0x165667b1) + (a << 5)
	a = (a + 0xd3a2646c) ^ (a << 9)
	a = (a + 0xfd7046c5) + (a << 3)
	a = (a ^ 0xb55a4f09) ^ (a >> 16)
	return a * 3221225473
}

func convHash32(h func([]byte) uint32) convFn {
	return func(e *Eval, c *convCall, s Sample) (Sample, bool) {
		v := h(s.B)
		if len(c.args) > 0 && c.args[0].i != 0 {
			v = avalanche(v)
		}
		return intSample(int64(v)), true
	}
}

func djb2(b []byte) uint32 {
	h := uint32(5381)
	for _, c := range b {
		h = h*33 + uint32(c)
	}
	return h
}

func sdbm(b []byte) uint32 {
	var h uint32
	for _, c := range b {
		h = uint32(c) + (h << 6) + (h << 16) - h
	}
	return h
}

func prepBe2(c *compiler, cc *convCall) error {
	for i := 1; i < len(cc.args); i++ {
		if cc.args[i].s == "" {
			continue
		}
		n, err := strconv.ParseInt(cc.args[i].s, 10, 64)
		if err != nil || n < 0 || (i == 1 && n == 0) {
			return fmt.Errorf("invalid argument '%s'", cc.args[i].s)
		}
		cc.args[i].i = n
	}
	if len(cc.args) > 1 && cc.args[1].s == "" {
		cc.args[1].i = 1
	}
	if len(cc.args) < 2 {
		cc.args = append(cc.args, make([]argVal, 2-len(cc.args))...)
		cc.args[1].i = 1
	}
	return nil
}

func be2Chunks(s []byte, size int64, truncate bool) ([]byte, int) {
	if truncate {
		full := int64(len(s)) / size * size
		s = s[:full]
	}
	return s, int((int64(len(s)) + size - 1) / size)
}

// convBe2dec prints each chunk of the input as a big-endian unsigned
// decimal, separated by the first argument.
func convBe2dec(e *Eval, c *convCall, s Sample) (Sample, bool) {
	size := c.args[1].i
	if size > 8 {
		return Sample{}, false // a chunk is one unsigned 64-bit integer
	}
	trunc := len(c.args) > 2 && c.args[2].i != 0
	in, nc := be2Chunks(s.B, size, trunc)
	n := len(e.buf)
	for i := 0; i < nc; i++ {
		lo := int64(i) * size
		hi := min(lo+size, int64(len(in)))
		var v uint64
		for _, ch := range in[lo:hi] {
			v = v<<8 | uint64(ch)
		}
		if i > 0 {
			e.buf = append(e.buf, c.args[0].s...)
		}
		e.buf = strconv.AppendUint(e.buf, v, 10)
	}
	return strSample(e.tail(n)), true
}

func convBe2hex(e *Eval, c *convCall, s Sample) (Sample, bool) {
	const hexd = "0123456789ABCDEF"
	size := c.args[1].i
	trunc := len(c.args) > 2 && c.args[2].i != 0
	in, nc := be2Chunks(s.B, size, trunc)
	n := len(e.buf)
	for i := 0; i < nc; i++ {
		lo := int64(i) * size
		hi := min(lo+size, int64(len(in)))
		if i > 0 {
			e.buf = append(e.buf, c.args[0].s...)
		}
		for _, ch := range in[lo:hi] {
			e.buf = append(e.buf, hexd[ch>>4], hexd[ch&15])
		}
	}
	return strSample(e.tail(n)), true
}

func convIIf(e *Eval, c *convCall, s Sample) (Sample, bool) {
	if s.I != 0 {
		return strSample(unsafeBytes(c, 0)), true
	}
	return strSample(unsafeBytes(c, 1)), true
}

func prepIIf(c *compiler, cc *convCall) error {
	cc.args[0].b, cc.args[1].b = []byte(cc.args[0].s), []byte(cc.args[1].s)
	return nil
}

// unsafeBytes returns a converter argument as bytes prepared at load
// time, so that iif does not allocate.
func unsafeBytes(c *convCall, i int) []byte {
	if c.args[i].b == nil {
		return []byte(c.args[i].s)
	}
	return c.args[i].b
}

func convHtonl(e *Eval, c *convCall, s Sample) (Sample, bool) {
	n := len(e.buf)
	e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(s.I))
	return Sample{Kind: KindBin, B: e.tail(n)}, true
}

func convHostPort(host bool) convFn {
	return func(e *Eval, c *convCall, s Sample) (Sample, bool) {
		b := s.B
		h, p := b, []byte(nil)
		if len(b) > 0 && b[0] == '[' {
			if i := bytes.IndexByte(b, ']'); i >= 0 {
				h = b[:i+1]
				if i+1 < len(b) && b[i+1] == ':' {
					p = b[i+2:]
				}
			}
		} else if i := bytes.LastIndexByte(b, ':'); i >= 0 && bytes.Count(b, []byte{':'}) == 1 {
			h, p = b[:i], b[i+1:]
		}
		if host {
			return strSample(h), true
		}
		if p == nil {
			return Sample{}, false
		}
		v, ok := parseIntPrefix(p)
		return intSample(v), ok
	}
}

func prepDateUnit(c *compiler, cc *convCall) error { return parseDateArgs(cc.args) }

// parseDateArgs reads the [<offset>[,<unit>]] of the date fetch and the
// time converters: the offset in seconds into args[0].i, the unit (s, ms,
// us) as 0, 1 or 2 into args[1].i.
func parseDateArgs(args []argVal) error {
	if len(args) > 0 && args[0].s != "" {
		n, err := strconv.ParseInt(args[0].s, 10, 64)
		if err != nil {
			return fmt.Errorf("invalid offset '%s'", args[0].s)
		}
		args[0].i = n
	}
	if len(args) > 1 {
		switch args[1].s {
		case "s", "":
		case "ms":
			args[1].i = 1
		case "us":
			args[1].i = 2
		default:
			return fmt.Errorf("invalid unit '%s' (expects s, ms or us)", args[1].s)
		}
	}
	return nil
}

func unitTime(v int64, unit int64) time.Time {
	switch unit {
	case 1:
		return time.UnixMilli(v)
	case 2:
		return time.UnixMicro(v)
	}
	return time.Unix(v, 0)
}

func convHTTPDate(e *Eval, c *convCall, s Sample) (Sample, bool) {
	var off, unit int64
	if len(c.args) > 0 {
		off = c.args[0].i
	}
	if len(c.args) > 1 {
		unit = c.args[1].i
	}
	t := unitTime(s.I, unit).Add(time.Duration(off) * time.Second).UTC()
	n := len(e.buf)
	e.buf = t.AppendFormat(e.buf, "Mon, 02 Jan 2006 15:04:05 GMT")
	return strSample(e.tail(n)), true
}

// prepTimeFmt turns the strftime format into Go's layout once.
func prepTimeFmt(c *compiler, cc *convCall) error {
	layout, err := strftimeLayout(cc.args[0].s)
	if err != nil {
		return err
	}
	cc.args[0].b = []byte(layout)
	if len(cc.args) > 1 {
		n, err := strconv.ParseInt(cc.args[1].s, 10, 64)
		if err != nil {
			return fmt.Errorf("invalid offset '%s'", cc.args[1].s)
		}
		cc.args[1].i = n
	}
	return nil
}

// strftimeLayout maps the strftime conversions HAProxy users write to Go
// layouts; an unknown one is an error rather than a wrong date.
func strftimeLayout(f string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch f[i] {
		case 'Y':
			b.WriteString("2006")
		case 'y':
			b.WriteString("06")
		case 'm':
			b.WriteString("01")
		case 'd':
			b.WriteString("02")
		case 'e':
			b.WriteString("_2")
		case 'H':
			b.WriteString("15")
		case 'I':
			b.WriteString("03")
		case 'M':
			b.WriteString("04")
		case 'S':
			b.WriteString("05")
		case 'p':
			b.WriteString("PM")
		case 'b', 'h':
			b.WriteString("Jan")
		case 'B':
			b.WriteString("January")
		case 'a':
			b.WriteString("Mon")
		case 'A':
			b.WriteString("Monday")
		case 'j':
			b.WriteString("002")
		case 'z':
			b.WriteString("-0700")
		case 'Z':
			b.WriteString("MST")
		case 'T':
			b.WriteString("15:04:05")
		case 'D':
			b.WriteString("01/02/06")
		case 'F':
			b.WriteString("2006-01-02")
		case '%':
			b.WriteByte('%')
		default:
			return "", fmt.Errorf("unsupported time format '%%%c' in '%s'", f[i], f)
		}
	}
	return b.String(), nil
}

func convTime(utc bool) convFn {
	return func(e *Eval, c *convCall, s Sample) (Sample, bool) {
		var off int64
		if len(c.args) > 1 {
			off = c.args[1].i
		}
		t := time.Unix(s.I+off, 0)
		if utc {
			t = t.UTC()
		}
		n := len(e.buf)
		e.buf = t.AppendFormat(e.buf, string(c.args[0].b))
		return strSample(e.tail(n)), true
	}
}

func prepSetVarConv(c *compiler, cc *convCall) error {
	if err := checkVarName(cc.args[0].s); err != nil {
		return err
	}
	var words []string
	for _, a := range cc.args[1:] {
		words = append(words, a.s)
	}
	conds, err := ParseSetVarConds(words)
	if err != nil {
		return err
	}
	cc.args[0].i = int64(conds)
	return nil
}

func convSetVar(e *Eval, c *convCall, s Sample) (Sample, bool) {
	if SetVarConds(c.args[0].i).Allow(e.Txn, c.args[0].s, s) {
		e.Txn.SetVar(c.args[0].s, s)
	}
	return s, true
}

func convUnsetVar(e *Eval, c *convCall, s Sample) (Sample, bool) {
	e.Txn.SetVar(c.args[0].s, Sample{})
	return s, true
}

func prepJSONQuery(c *compiler, cc *convCall) error {
	p := cc.args[0].s
	if !strings.HasPrefix(p, "$") {
		return fmt.Errorf("invalid JSON path '%s' (expects '$...')", p)
	}
	if len(cc.args) > 1 && cc.args[1].s != "" && cc.args[1].s != "int" {
		return fmt.Errorf("unexpected output type '%s' (expects 'int')", cc.args[1].s)
	}
	return nil
}

// maxJSONQuery bounds the input json_query parses: a bigger body gives
// an empty sample rather than unbounded work.
const maxJSONQuery = 1 << 20

// convJSONQuery walks "$.a.b[0]" through the JSON input. Strings come
// out unquoted, other values as their JSON text; with "int" the value
// must be an integer.
func convJSONQuery(e *Eval, c *convCall, s Sample) (Sample, bool) {
	if len(s.B) > maxJSONQuery {
		return Sample{}, false
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(s.B))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return Sample{}, false
	}
	path := c.args[0].s[1:]
	for path != "" {
		switch path[0] {
		case '.':
			// A key ends at an unescaped '.' or '['; "\." is a dot
			// inside the key ('$.my\.key' in HAProxy's json_query.vtc).
			path = path[1:]
			var key []byte
			end := 0
			for ; end < len(path) && path[end] != '.' && path[end] != '['; end++ {
				if path[end] == '\\' && end+1 < len(path) {
					end++
				}
				key = append(key, path[end])
			}
			m, ok := v.(map[string]any)
			if !ok {
				return Sample{}, false
			}
			if v, ok = m[string(key)]; !ok {
				return Sample{}, false
			}
			path = path[end:]
		case '[':
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return Sample{}, false
			}
			idx, err := strconv.Atoi(path[1:end])
			a, ok := v.([]any)
			if err != nil || !ok || idx < 0 || idx >= len(a) {
				return Sample{}, false
			}
			v = a[idx]
			path = path[end+1:]
		default:
			return Sample{}, false
		}
	}
	wantInt := len(c.args) > 1 && c.args[1].s == "int"
	n := len(e.buf)
	switch t := v.(type) {
	case string:
		if wantInt {
			return Sample{}, false
		}
		e.buf = append(e.buf, t...)
	case json.Number:
		if wantInt {
			i, err := t.Int64()
			return intSample(i), err == nil
		}
		e.buf = append(e.buf, t...)
	case bool:
		if wantInt {
			return Sample{}, false
		}
		return boolSample(t), true
	case nil:
		return Sample{}, false
	default:
		out, err := json.Marshal(t)
		if err != nil || wantInt {
			return Sample{}, false
		}
		e.buf = append(e.buf, out...)
	}
	return strSample(e.tail(n)), true
}
