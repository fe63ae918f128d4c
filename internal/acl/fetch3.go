package acl

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"strconv"

	"bulwark/internal/config"
	"bulwark/internal/h1"
)

// BodyTxn is implemented by a Txn that buffered the request body
// ("option http-buffer-request"): the req.body* fetches read it.
type BodyTxn interface {
	// ReqBody returns the body read so far and the advertised length
	// (Content-Length; the available size when chunked).
	ReqBody() (body []byte, size int64)
}

// CaptureTxn is implemented by a Txn with "capture request|response
// header" slots (capture.req.hdr, capture.res.hdr).
type CaptureTxn interface {
	Captured(resp bool, idx int) ([]byte, bool)
}

// ConnTxn is implemented by a Txn that counts the requests of its client
// connection (http_first_req) and knows its unique id (unique-id).
type ConnTxn interface {
	// RequestIndex is 1 for the first request of the connection.
	RequestIndex() int
	// UniqueID is the unique-id-format value; ok false without one.
	UniqueID() ([]byte, bool)
}

// LastRuleTxn is implemented by a Txn that knows the last rule that ended
// a rule list of its stream (last_rule_file, last_rule_line); ok is false
// while none has.
type LastRuleTxn interface {
	LastRule() (pos config.Pos, ok bool)
}

// l7Fetches are the fetches of CM 7.3.3 to 7.3.6 added to the first
// tables: cookies of both sides, header lists, URL parts and hashes,
// Authorization, payload and ClientHello, body and captures. Built by a
// function: the table is immutable.
func l7Fetches() map[string]*fetchDef {
	cook := func(sd side, kind Kind, cnt bool) *fetchDef {
		d := &fetchDef{out: kind, fn: fetchCookie(sd, kind), maxArgs: 1, multi: true, firstUnnamed: true}
		if cnt {
			d = &fetchDef{out: KindInt, fn: fetchCookieCnt(sd), maxArgs: 1}
		}
		return d
	}
	hello := func(q helloQuery, k Kind) *fetchDef { return &fetchDef{out: k, fn: fetchHello(sideReq, q)} }
	return map[string]*fetchDef{
		"cook_val":     cook(sideReq, KindInt, false),
		"req.cook_val": cook(sideReq, KindInt, false),
		"res.cook":     cook(sideRes, KindStr, false),
		"scook":        cook(sideRes, KindStr, false),
		"set-cookie":   cook(sideRes, KindStr, false),
		"res.cook_val": cook(sideRes, KindInt, false),
		"scook_val":    cook(sideRes, KindInt, false),
		"res.cook_cnt": cook(sideRes, 0, true),
		"scook_cnt":    cook(sideRes, 0, true),

		"req.fhdr_cnt":  {out: KindInt, fn: fetchFullHdrCnt(sideReq), maxArgs: 1},
		"res.fhdr_cnt":  {out: KindInt, fn: fetchFullHdrCnt(sideRes), maxArgs: 1},
		"shdr_cnt":      {out: KindInt, fn: fetchHdrCnt(sideRes), maxArgs: 1},
		"shdr_val":      {out: KindInt, fn: fetchHdrVal(sideRes), maxArgs: 2, multi: true, prep: prepOcc},
		"shdr_ip":       {out: KindIP, fn: fetchHdrIP(sideRes), maxArgs: 2, multi: true, prep: prepOcc},
		"req.hdr_names": {out: KindStr, fn: fetchHdrNames(sideReq), maxArgs: 1},
		"res.hdr_names": {out: KindStr, fn: fetchHdrNames(sideRes), maxArgs: 1},
		"req.hdrs":      {out: KindStr, fn: fetchHdrs(sideReq, false)},
		"res.hdrs":      {out: KindStr, fn: fetchHdrs(sideRes, false)},
		"req.hdrs_bin":  {out: KindBin, fn: fetchHdrs(sideReq, true)},
		"res.hdrs_bin":  {out: KindBin, fn: fetchHdrs(sideRes, true)},

		"meth":           {out: KindStr, fn: fetchMethod},
		"req_proto_http": {out: KindBool, fn: fetchProtoHTTP},
		"res.ver":        {out: KindStr, fn: fetchResVer},
		"resp_ver":       {out: KindStr, fn: fetchResVer},
		"fc_http_major":  {out: KindInt, fn: fetchHTTPMajor},
		"baseq":          {out: KindStr, fn: fetchBaseQ},
		"base32":         {out: KindInt, fn: fetchHost32(true)},
		"url32":          {out: KindInt, fn: fetchHost32(false)},
		"url_ip":         {out: KindIP, fn: fetchURLHost(false)},
		"url_port":       {out: KindInt, fn: fetchURLHost(true)},
		"urlp_val":       {out: KindInt, fn: fetchURLParamVal, maxArgs: 2},
		"http_first_req": {out: KindBool, fn: fetchFirstReq},
		"unique-id":      {out: KindStr, fn: fetchUniqueID},
		"last_rule_file": {out: KindStr, fn: fetchLastRule(false)},
		"last_rule_line": {out: KindInt, fn: fetchLastRule(true)},

		"http_auth_type":   {out: KindStr, fn: fetchAuthPart(0)},
		"http_auth_user":   {out: KindStr, fn: fetchAuthPart(1)},
		"http_auth_pass":   {out: KindStr, fn: fetchAuthPart(2)},
		"http_auth_bearer": {out: KindStr, fn: fetchBearer, maxArgs: 1},

		"fc_src":          {out: KindIP, fn: fetchAddrAt(false, true)},
		"fc_dst":          {out: KindIP, fn: fetchAddrAt(true, true)},
		"fc_src_port":     {out: KindInt, fn: fetchPortAt(false, true)},
		"fc_dst_port":     {out: KindInt, fn: fetchPortAt(true, true)},
		"src_is_local":    {out: KindBool, fn: fetchIsLocal(false)},
		"dst_is_local":    {out: KindBool, fn: fetchIsLocal(true)},
		"fc_src_is_local": {out: KindBool, fn: fetchIsLocalAt(false, true)},
		"fc_dst_is_local": {out: KindBool, fn: fetchIsLocalAt(true, true)},
		"ipv4":            {out: KindIP, fn: fetchConstIP, minArgs: 1, maxArgs: 1, prep: prepConstIP(false)},
		"ipv6":            {out: KindIP, fn: fetchConstIP, minArgs: 1, maxArgs: 1, prep: prepConstIP(true)},
		"proc":            {out: KindInt, fn: fetchConstInt(1)},
		"wait_end":        {out: KindBool, fn: fetchConstBool(true)},
		// What set-priority-class and set-priority-offset set; 0 and 0
		// by default, as in HAProxy.
		"prio_class":  {out: KindInt, fn: fetchPriority(false)},
		"prio_offset": {out: KindInt, fn: fetchPriority(true)},

		"req.len":        {out: KindInt, fn: fetchPayloadLen(sideReq)},
		"req_len":        {out: KindInt, fn: fetchPayloadLen(sideReq)},
		"req.payload":    {out: KindBin, fn: fetchPayload(sideReq), minArgs: 2, maxArgs: 2, prep: prepNonNegInts},
		"payload":        {out: KindBin, fn: fetchPayload(sideReq), minArgs: 2, maxArgs: 2, prep: prepNonNegInts},
		"req.payload_lv": {out: KindBin, fn: fetchPayloadLV(sideReq), minArgs: 2, maxArgs: 3, prep: prepPayloadLV},
		"payload_lv":     {out: KindBin, fn: fetchPayloadLV(sideReq), minArgs: 2, maxArgs: 3, prep: prepPayloadLV},
		// The server's data, as tcp-response content inspects it.
		"res.len":            {out: KindInt, fn: fetchPayloadLen(sideRes)},
		"res.payload":        {out: KindBin, fn: fetchPayload(sideRes), minArgs: 2, maxArgs: 2, prep: prepNonNegInts},
		"res.payload_lv":     {out: KindBin, fn: fetchPayloadLV(sideRes), minArgs: 2, maxArgs: 3, prep: prepPayloadLV},
		"res.ssl_hello_type": {out: KindInt, fn: fetchHello(sideRes, helloType)},
		"rep_ssl_hello_type": {out: KindInt, fn: fetchHello(sideRes, helloType)},
		"req.ssl_hello_type": hello(helloType, KindInt),
		"req_ssl_hello_type": hello(helloType, KindInt),
		"req.ssl_ver":        hello(helloVer, KindInt),
		"req_ssl_ver":        hello(helloVer, KindInt),
		"req.ssl_alpn":       {out: KindStr, fn: fetchALPN, multi: true},
		"req.ssl_ec_ext":     hello(helloEC, KindBool),
		"req.ssl_st_ext":     hello(helloST, KindInt),

		"req.body":       {out: KindBin, fn: fetchBody(0)},
		"req.body_len":   {out: KindInt, fn: fetchBody(1)},
		"req.body_size":  {out: KindInt, fn: fetchBody(2)},
		"req.body_param": {out: KindStr, fn: fetchBodyParam, maxArgs: 1, multi: true},

		// Deprecated ACL alias of req.cook (CM 7.3.6 "cookie").
		"cookie": {out: KindStr, fn: fetchCook, maxArgs: 1, multi: true, firstUnnamed: true},
		// Go's crypto/tls has no NPN (only ALPN): never negotiated.
		"ssl_fc_npn": {out: KindStr, fn: fetchNone},
		"ssl_bc_npn": {out: KindStr, fn: fetchNone},
		// Task profiling ("profiling.tasks") is off, as it is by default
		// in HAProxy, which then reports 0.
		"cpu_calls":  {out: KindInt, fn: fetchConstInt(0)},
		"cpu_ns_avg": {out: KindInt, fn: fetchConstInt(0)},
		"cpu_ns_tot": {out: KindInt, fn: fetchConstInt(0)},
		"lat_ns_avg": {out: KindInt, fn: fetchConstInt(0)},
		"lat_ns_tot": {out: KindInt, fn: fetchConstInt(0)},

		"capture.req.hdr":    {out: KindStr, fn: fetchCapture(false), minArgs: 1, maxArgs: 1, prep: prepNonNegInts},
		"capture.res.hdr":    {out: KindStr, fn: fetchCapture(true), minArgs: 1, maxArgs: 1, prep: prepNonNegInts},
		"capture.req.method": {out: KindStr, fn: fetchMethod},
		"capture.req.uri":    {out: KindStr, fn: fetchCaptureURI},
		"capture.req.ver":    {out: KindStr, fn: fetchCaptureVer(false)},
		"capture.res.ver":    {out: KindStr, fn: fetchCaptureVer(true)},
	}
}

// fetchNone is a fetch that never has a sample.
func fetchNone(e *Eval, x *Expr, it *iter) (Sample, bool) {
	it.done = true
	return Sample{}, false
}

func fetchConstInt(v int64) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		if !once(it) {
			return Sample{}, false
		}
		return intSample(v), true
	}
}

func prepNonNegInts(c *compiler, x *Expr) error {
	for i := range x.args {
		n, err := strconv.ParseInt(x.args[i].s, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("invalid integer '%s' in argument %d (expects a positive integer)", x.args[i].s, i+1)
		}
		x.args[i].i = n
	}
	return nil
}

// nextSetCookie yields the name and value of each Set-Cookie header: one
// cookie per header, attributes after the first ';' ignored.
func nextSetCookie(hs []h1.Header, it *iter) (name, value []byte, ok bool) {
	for it.hi < len(hs) {
		h := &hs[it.hi]
		it.hi++
		if !eqFold(h.Name, "set-cookie") {
			continue
		}
		v, _ := cutByte(h.Value, ';')
		n, val := cutByte(v, '=')
		return trimSpace(n), trimSpace(val), true
	}
	return nil, nil, false
}

func cookieIter(e *Eval, sd side, it *iter) (name, value []byte, ok bool) {
	if sd == sideRes {
		return nextSetCookie(e.Txn.RespHeaders(), it)
	}
	return nextCookie(e.Txn.ReqHeaders(), it)
}

// fetchCookie yields the values of the cookie named by the argument (any
// cookie without one) of the request or the response, as strings or as
// integers (the *_val fetches).
func fetchCookie(sd side, kind Kind) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		name := hdrName(x)
		for {
			n, v, ok := cookieIter(e, sd, it)
			if !ok {
				return Sample{}, false
			}
			if name != "" && string(n) != name {
				continue
			}
			if kind == KindInt {
				i, ok := parseIntPrefix(v)
				if !ok {
					continue
				}
				return intSample(i), true
			}
			return strSample(v), true
		}
	}
}

func fetchCookieCnt(sd side) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		if !once(it) {
			return Sample{}, false
		}
		name := hdrName(x)
		var w iter
		cnt := 0
		for {
			n, _, ok := cookieIter(e, sd, &w)
			if !ok {
				break
			}
			if name == "" || string(n) == name {
				cnt++
			}
		}
		return intSample(int64(cnt)), true
	}
}

// fetchFullHdrCnt counts header lines, not comma-separated values.
func fetchFullHdrCnt(sd side) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		if !once(it) {
			return Sample{}, false
		}
		var w iter
		n := 0
		for {
			if _, ok := nextValue(headersFor(e, sd), hdrName(x), false, &w); !ok {
				break
			}
			n++
		}
		return intSample(int64(n)), true
	}
}

func fetchHdrNames(sd side) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		hs := headersFor(e, sd)
		if !once(it) || hs == nil {
			return Sample{}, false
		}
		delim := byte(',')
		if len(x.args) > 0 && x.args[0].s != "" {
			delim = x.args[0].s[0]
		}
		n := len(e.buf)
		for i := range hs {
			if i > 0 {
				e.buf = append(e.buf, delim)
			}
			e.buf = append(e.buf, hs[i].Name...)
		}
		return strSample(e.tail(n)), true
	}
}

// fetchHdrs renders the header block: as text with its final empty line,
// or in the SPOE binary form (varint-prefixed name and value, ended by
// two empty strings).
func fetchHdrs(sd side, bin bool) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		hs := headersFor(e, sd)
		if !once(it) || hs == nil && (sd == sideRes || len(e.Txn.Method()) == 0) {
			return Sample{}, false
		}
		n := len(e.buf)
		for i := range hs {
			if bin {
				e.buf = appendSPOEVarint(e.buf, uint64(len(hs[i].Name)))
				e.buf = append(e.buf, hs[i].Name...)
				e.buf = appendSPOEVarint(e.buf, uint64(len(hs[i].Value)))
				e.buf = append(e.buf, hs[i].Value...)
				continue
			}
			e.buf = append(e.buf, hs[i].Name...)
			e.buf = append(e.buf, ':', ' ')
			e.buf = append(e.buf, hs[i].Value...)
			e.buf = append(e.buf, '\r', '\n')
		}
		if bin {
			e.buf = append(e.buf, 0, 0)
			return Sample{Kind: KindBin, B: e.tail(n)}, true
		}
		e.buf = append(e.buf, '\r', '\n')
		return strSample(e.tail(n)), true
	}
}

// appendSPOEVarint is the SPOP variable-length integer: below 240 one
// byte; else the low 4 bits are set above 240 and 7-bit groups follow,
// each but the last with the high bit set.
func appendSPOEVarint(b []byte, v uint64) []byte {
	if v < 240 {
		return append(b, byte(v))
	}
	b = append(b, byte(v)|240)
	v = (v - 240) >> 4
	for v >= 128 {
		b = append(b, byte(v)|128)
		v = (v - 128) >> 7
	}
	return append(b, byte(v))
}

func fetchResVer(e *Eval, x *Expr, it *iter) (Sample, bool) {
	if !once(it) || e.Txn.Status() == 0 {
		return Sample{}, false
	}
	rv, ok := e.Txn.(interface{ RespVersion() (int, int) })
	if !ok {
		return Sample{}, false
	}
	maj, mnr := rv.RespVersion()
	n := len(e.buf)
	e.buf = strconv.AppendInt(e.buf, int64(maj), 10)
	e.buf = append(e.buf, '.')
	e.buf = strconv.AppendInt(e.buf, int64(mnr), 10)
	return strSample(e.tail(n)), true
}

func fetchHTTPMajor(e *Eval, x *Expr, it *iter) (Sample, bool) {
	if !once(it) || len(e.Txn.Method()) == 0 {
		return Sample{}, false
	}
	maj, _ := e.Txn.Version()
	return intSample(int64(maj)), true
}

func fetchBaseQ(e *Eval, x *Expr, it *iter) (Sample, bool) {
	if !once(it) || e.Txn.Target() == nil {
		return Sample{}, false
	}
	host, _ := firstHeader(e.Txn.ReqHeaders(), "host")
	n := len(e.buf)
	e.buf = append(e.buf, host...)
	e.buf = append(e.buf, pathQuery(e.Txn.Target())...)
	return strSample(e.tail(n)), true
}

// fetchHost32 hashes Host plus the path (base32) or the whole URL
// (url32) with SDBM and full avalanche (CM 7.3.6: base32 is exactly
// "base,sdbm(1)").
func fetchHost32(base bool) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		t := e.Txn.Target()
		if !once(it) || t == nil {
			return Sample{}, false
		}
		host, _ := firstHeader(e.Txn.ReqHeaders(), "host")
		if base {
			t, _, _ = cutQuery(pathQuery(t))
		}
		n := len(e.buf)
		e.buf = append(e.buf, host...)
		e.buf = append(e.buf, t...)
		h := avalanche(sdbm(e.buf[n:]))
		e.buf = e.buf[:n]
		return intSample(int64(h)), true
	}
}

// urlHost returns the host and port of an absolute-form request target.
func urlHost(t []byte) (host, port []byte, ok bool) {
	i := bytes.Index(t, []byte("://"))
	if i < 0 || t[0] == '/' {
		return nil, nil, false
	}
	auth := t[i+3:]
	if j := bytes.IndexAny(auth, "/?"); j >= 0 {
		auth = auth[:j]
	}
	if j := bytes.LastIndexByte(auth, '@'); j >= 0 {
		auth = auth[j+1:]
	}
	if len(auth) > 0 && auth[0] == '[' {
		end := bytes.IndexByte(auth, ']')
		if end < 0 {
			return nil, nil, false
		}
		host, auth = auth[1:end], auth[end+1:]
		if len(auth) > 0 && auth[0] == ':' {
			port = auth[1:]
		}
		return host, port, true
	}
	host, port = cutByte(auth, ':')
	return host, port, true
}

func fetchURLHost(wantPort bool) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		if !once(it) {
			return Sample{}, false
		}
		host, port, ok := urlHost(e.Txn.Target())
		if !wantPort {
			if !ok {
				return Sample{}, false
			}
			a, err := netip.ParseAddr(string(host))
			if err != nil {
				return Sample{}, false
			}
			return Sample{Kind: KindIP, IP: a.Unmap()}, true
		}
		if !ok || len(port) == 0 {
			return intSample(80), true // "if the port is not specified in the request, port 80 is assumed"
		}
		p, ok := parseIntPrefix(port)
		if !ok {
			return Sample{}, false
		}
		return intSample(p), true
	}
}

func fetchURLParamVal(e *Eval, x *Expr, it *iter) (Sample, bool) {
	var s Sample
	var ok bool
	if len(x.args) == 0 {
		if !once(it) {
			return Sample{}, false
		}
		_, q, hasQ := cutQuery(pathQuery(e.Txn.Target()))
		if !hasQ {
			return Sample{}, false
		}
		p, _ := cutByte(q, '&')
		_, v := cutByte(p, '=')
		s, ok = strSample(v), true
	} else {
		s, ok = fetchURLParam(e, x, it)
	}
	if !ok {
		return Sample{}, false
	}
	n, ok := parseIntPrefix(s.B)
	return intSample(n), ok
}

func fetchFirstReq(e *Eval, x *Expr, it *iter) (Sample, bool) {
	ct, ok := e.Txn.(ConnTxn)
	if !once(it) || !ok || len(e.Txn.Method()) == 0 {
		return Sample{}, false
	}
	return boolSample(ct.RequestIndex() == 1), true
}

func fetchLastRule(line bool) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		lt, ok := e.Txn.(LastRuleTxn)
		if !once(it) || !ok {
			return Sample{}, false
		}
		pos, ok := lt.LastRule()
		if !ok {
			return Sample{}, false
		}
		if line {
			return intSample(int64(pos.Line)), true
		}
		e.buf = append(e.buf, pos.File...)
		return strSample(e.buf[len(e.buf)-len(pos.File):]), true
	}
}

func fetchUniqueID(e *Eval, x *Expr, it *iter) (Sample, bool) {
	ct, ok := e.Txn.(ConnTxn)
	if !once(it) || !ok {
		return Sample{}, false
	}
	id, ok := ct.UniqueID()
	if !ok {
		return Sample{}, false
	}
	return strSample(id), true
}

// authParts splits the Authorization header: the scheme, and for Basic
// the decoded user and password (into e.buf).
func authParts(e *Eval) (scheme, user, pass []byte, ok bool) {
	v, found := firstHeader(e.Txn.ReqHeaders(), "authorization")
	if !found {
		return nil, nil, nil, false
	}
	v = trimSpace(v)
	scheme, cred := cutByte(v, ' ')
	if !eqFold(scheme, "basic") {
		return scheme, nil, nil, true
	}
	n := len(e.buf)
	out, err := base64.StdEncoding.AppendDecode(e.buf, trimSpace(cred))
	if err != nil {
		return scheme, nil, nil, true
	}
	e.buf = out
	user, pass = cutByte(e.tail(n), ':')
	return scheme, user, pass, true
}

func fetchAuthPart(part int) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		if !once(it) {
			return Sample{}, false
		}
		scheme, user, pass, ok := authParts(e)
		if !ok {
			return Sample{}, false
		}
		switch part {
		case 0:
			return strSample(scheme), true
		case 1:
			return strSample(user), user != nil
		}
		return strSample(pass), user != nil
	}
}

func fetchBearer(e *Eval, x *Expr, it *iter) (Sample, bool) {
	if !once(it) {
		return Sample{}, false
	}
	name := "authorization"
	if len(x.args) > 0 && x.args[0].s != "" {
		name = x.args[0].s
	}
	v, ok := firstHeader(e.Txn.ReqHeaders(), name)
	if !ok {
		return Sample{}, false
	}
	scheme, tok := cutByte(trimSpace(v), ' ')
	if !eqFold(scheme, "bearer") {
		return Sample{}, false
	}
	return strSample(trimSpace(tok)), true
}

// fetchIsLocal tells whether the address is one of this host's (CM
// 7.3.3 src_is_local: "a local address ... assigned to an interface").
func fetchIsLocal(dst bool) fetchFn { return fetchIsLocalAt(dst, false) }

func fetchIsLocalAt(dst, fc bool) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		if !once(it) {
			return Sample{}, false
		}
		ap := endpointAt(e, dst, fc)
		if !ap.IsValid() {
			return Sample{}, false
		}
		a := ap.Addr().Unmap()
		if a.IsLoopback() {
			return boolSample(true), true
		}
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			return Sample{}, false
		}
		for _, ia := range addrs {
			if n, ok := ia.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap() == a {
					return boolSample(true), true
				}
			}
		}
		return boolSample(false), true
	}
}

func prepConstIP(v6 bool) func(c *compiler, x *Expr) error {
	return func(c *compiler, x *Expr) error {
		a, err := netip.ParseAddr(x.args[0].s)
		if err != nil || a.Is4() == v6 {
			what := "IPv4"
			if v6 {
				what = "IPv6"
			}
			return fmt.Errorf("invalid %s address '%s'", what, x.args[0].s)
		}
		x.args[0].obj = a
		return nil
	}
}

func fetchConstIP(e *Eval, x *Expr, it *iter) (Sample, bool) {
	if !once(it) {
		return Sample{}, false
	}
	return Sample{Kind: KindIP, IP: x.args[0].obj.(netip.Addr)}, true
}

// payloadOf returns the client's (sideReq) or the server's (sideRes)
// data buffered so far, and whether the transaction has any such buffer.
func payloadOf(e *Eval, sd side) ([]byte, bool) {
	if sd == sideRes {
		pt, ok := e.Txn.(ResPayloadTxn)
		if !ok {
			return nil, false
		}
		return pt.ResPayload(), true
	}
	pt, ok := e.Txn.(PayloadTxn)
	if !ok {
		return nil, false
	}
	return pt.ReqPayload(), true
}

// fetchPayloadLen is req.len and res.len: the bytes buffered, which
// may grow as long as data can still arrive.
func fetchPayloadLen(sd side) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		p, ok := payloadOf(e, sd)
		if !once(it) {
			return Sample{}, false
		}
		if sd == sideReq && p == nil && e.Txn.Method() != nil {
			return intSample(htxReqSize(e.Txn)), true
		}
		if sd == sideRes && !ok {
			if ht, hok := e.Txn.(HTTPResLenTxn); hok {
				n, known := ht.HTTPResLen()
				if !known {
					return Sample{}, false
				}
				e.mayChange = true
				return intSample(n), true
			}
		}
		if !ok {
			return Sample{}, false
		}
		e.mayChange = true
		return intSample(int64(len(p))), true
	}
}

// htxReqSize is what HAProxy 2.6 answers for req.len in an HTTP proxy:
// the size of the parsed request in its internal HTX form, not the bytes
// received. That is a 20-byte start-line header plus method, URI and
// version, each header's name and value without separators, one byte
// for the end of headers, and the body buffered so far (checked against
// 2.6.12: 103 for a curl GET of /converter with an X-Cust header).
func htxReqSize(t Txn) int64 {
	n := 20 + len(t.Method()) + len(t.Target()) + len("HTTP/1.1") + 1
	for _, h := range t.ReqHeaders() {
		n += htxHeaderSize(h)
	}
	if bt, ok := t.(BodyTxn); ok {
		b, _ := bt.ReqBody()
		n += len(b)
	}
	return int64(n)
}

// HTTPResLenTxn is implemented by an HTTP transaction: res.len there is
// what HAProxy 2.6 counts in its HTX buffer (HTXResponseSize); known is
// false when no response byte can be counted.
type HTTPResLenTxn interface {
	HTTPResLen() (n int64, known bool)
}

// HTXResponseSize is res.len in an HTTP proxy, the response's HTX size as
// HAProxy 2.6 counts it: a 20-byte start-line header plus the version,
// the three status digits and the reason, each header's name and value,
// one byte for the end of headers, and the body bytes buffered (checked
// against 2.6.12: 54 for "HTTP/1.1 200 OK" with Content-Length: 5 and
// its body, 251 with a 200-byte body).
func HTXResponseSize(reason []byte, headers []h1.Header, body int) int64 {
	n := 20 + len("HTTP/1.1") + 3 + len(reason) + 1 + body
	for _, h := range headers {
		n += htxHeaderSize(h)
	}
	return int64(n)
}

// htxHeaderSize is a header field's name and value as HAProxy's HTX holds
// them: its HTTP/1 parser drops the "close" and "keep-alive" tokens of
// Connection, and the field when none is left (checked against 2.6.12:
// "Connection: keep-alive" counts nothing).
func htxHeaderSize(h h1.Header) int {
	if !eqFold(h.Name, "connection") {
		return len(h.Name) + len(h.Value)
	}
	n, toks := 0, 0
	for v := h.Value; len(v) > 0; {
		tok, rest := cutByte(v, ',')
		v = rest
		if tok = trimSpace(tok); len(tok) == 0 || eqFold(tok, "close") || eqFold(tok, "keep-alive") {
			continue
		}
		n += len(tok)
		toks++
	}
	if toks == 0 {
		return 0
	}
	return len(h.Name) + n + 2*(toks-1)
}

// fetchPayload is req.payload(<offset>,<length>); a length of 0 means
// everything from the offset (CM 7.3.5).
// The whole-buffer form, and a block not received yet, may change with
// more data.
func fetchPayload(sd side) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		p, ok := payloadOf(e, sd)
		if !once(it) || !ok {
			return Sample{}, false
		}
		off, n := x.args[0].i, x.args[1].i
		if off > int64(len(p)) || n > 0 && off+n > int64(len(p)) {
			e.mayChange = true
			return Sample{}, false
		}
		if n == 0 {
			e.mayChange = true
			return Sample{Kind: KindBin, B: p[off:]}, true
		}
		return Sample{Kind: KindBin, B: p[off : off+n]}, true
	}
}

// prepPayloadLV reads <offset1>,<length>[,<offset2>]: the length field
// is 1 to 8 bytes; <offset2> is absolute, or relative to the end of the
// length field when signed ("+n", "-n"); by default the data follows the
// length field.
func prepPayloadLV(c *compiler, x *Expr) error {
	for i := range x.args {
		s := x.args[i].s
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || i < 2 && n < 0 || i == 1 && (n == 0 || n > 8) {
			return fmt.Errorf("invalid argument %d '%s'", i+1, s)
		}
		x.args[i].i = n
		x.args[i].isVar = i == 2 && (s[0] == '+' || s[0] == '-') // relative
	}
	if len(x.args) < 3 {
		x.args = append(x.args, argVal{isVar: true})
	}
	return nil
}

// fetchPayloadLV reads a big-endian length of <length> bytes at
// <offset1>, then that many bytes at <offset2>; either not received yet
// may still come.
func fetchPayloadLV(sd side) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		p, ok := payloadOf(e, sd)
		if !once(it) || !ok {
			return Sample{}, false
		}
		o1, l1, o2 := x.args[0].i, x.args[1].i, x.args[2].i
		if o1+l1 > int64(len(p)) {
			e.mayChange = true
			return Sample{}, false
		}
		var n int64
		for _, c := range p[o1 : o1+l1] {
			n = n<<8 | int64(c)
		}
		if x.args[2].isVar {
			o2 += o1 + l1
		}
		if o2 < 0 || n < 0 {
			return Sample{}, false
		}
		if o2+n > int64(len(p)) {
			e.mayChange = true
			return Sample{}, false
		}
		return Sample{Kind: KindBin, B: p[o2 : o2+n]}, true
	}
}

type helloQuery uint8

const (
	helloType helloQuery = iota
	helloVer
	helloEC
	helloST
)

func fetchHello(sd side, q helloQuery) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		p, ok := payloadOf(e, sd)
		if !once(it) || !ok {
			return Sample{}, false
		}
		h, ok := parseHello(p)
		if !ok {
			// A handshake record cut short may still complete.
			if len(p) == 0 || p[0] == 0x16 {
				e.mayChange = true
			}
			return Sample{}, false
		}
		switch q {
		case helloType:
			return intSample(int64(h.msgType)), true
		case helloVer:
			return intSample(int64(h.version)), true
		case helloEC:
			return boolSample(h.hasEC), h.msgType == 1
		case helloST:
			return intSample(int64(h.ticket)), h.msgType == 1
		}
		return Sample{}, false
	}
}

// fetchALPN yields each protocol the ClientHello offers.
func fetchALPN(e *Eval, x *Expr, it *iter) (Sample, bool) {
	p, ok := payloadOf(e, sideReq)
	if !ok {
		return Sample{}, false
	}
	h, ok := parseHello(p)
	if !ok || h.alpn == nil {
		return Sample{}, false
	}
	v, ok := nextALPN(h.alpn, it)
	if !ok {
		it.done = true
		return Sample{}, false
	}
	return strSample(v), true
}

func fetchBody(what int) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		bt, ok := e.Txn.(BodyTxn)
		if !once(it) || !ok || len(e.Txn.Method()) == 0 {
			return Sample{}, false
		}
		body, size := bt.ReqBody()
		switch what {
		case 1:
			return intSample(int64(len(body))), true
		case 2:
			return intSample(size), true
		}
		return Sample{Kind: KindBin, B: body}, true
	}
}

// fetchBodyParam yields the values of the url-encoded body parameter
// named by the argument, or of every parameter without one.
func fetchBodyParam(e *Eval, x *Expr, it *iter) (Sample, bool) {
	bt, ok := e.Txn.(BodyTxn)
	if !ok {
		return Sample{}, false
	}
	body, _ := bt.ReqBody()
	name := hdrName(x)
	for it.off <= len(body) && !it.done {
		rest := body[it.off:]
		p, _ := cutByte(rest, '&')
		it.off += len(p) + 1
		if it.off > len(body) {
			it.done = true
		}
		k, v := cutByte(p, '=')
		if len(p) > 0 && (name == "" || string(k) == name) {
			return strSample(v), true
		}
	}
	return Sample{}, false
}

func fetchCapture(resp bool) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		ct, ok := e.Txn.(CaptureTxn)
		if !once(it) || !ok {
			return Sample{}, false
		}
		v, ok := ct.Captured(resp, int(x.args[0].i))
		if !ok {
			return Sample{}, false
		}
		return strSample(v), true
	}
}

func fetchCaptureURI(e *Eval, x *Expr, it *iter) (Sample, bool) {
	t := e.Txn.Target()
	if !once(it) || len(t) == 0 {
		return Sample{}, false
	}
	return strSample(pathQuery(t)), true
}

func fetchCaptureVer(resp bool) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		if !once(it) || len(e.Txn.Method()) == 0 {
			return Sample{}, false
		}
		maj, mnr := e.Txn.Version()
		if resp {
			rv, ok := e.Txn.(interface{ RespVersion() (int, int) })
			if !ok || e.Txn.Status() == 0 {
				return Sample{}, false
			}
			maj, mnr = rv.RespVersion()
		}
		if maj != 1 {
			return Sample{}, false // "either HTTP/1.0 or HTTP/1.1"
		}
		n := len(e.buf)
		e.buf = append(e.buf, "HTTP/1."...)
		e.buf = strconv.AppendInt(e.buf, int64(mnr), 10)
		return strSample(e.tail(n)), true
	}
}
