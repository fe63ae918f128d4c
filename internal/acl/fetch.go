package acl

import (
	"net/netip"
	"strconv"

	"bulwark/internal/h1"
)

// fetches is the read-only table of sample fetches (CM 7.3.2–7.3.6).
// Stick-counter fetches (sc_*, scN_*, src_*) are built by lookupFetch.
var fetches = map[string]*fetchDef{
	"always_true":    {out: KindBool, fn: fetchConstBool(true)},
	"always_false":   {out: KindBool, fn: fetchConstBool(false)},
	"src":            {out: KindIP, fn: fetchAddr(false)},
	"dst":            {out: KindIP, fn: fetchAddr(true)},
	"src_port":       {out: KindInt, fn: fetchPort(false)},
	"dst_port":       {out: KindInt, fn: fetchPort(true)},
	"method":         {out: KindStr, fn: fetchMethod},
	"path":           {out: KindStr, fn: fetchURIPart(partPath)},
	"pathq":          {out: KindStr, fn: fetchURIPart(partPathQ)},
	"url":            {out: KindStr, fn: fetchURIPart(partURL)},
	"query":          {out: KindStr, fn: fetchURIPart(partQuery)},
	"base":           {out: KindStr, fn: fetchBase},
	"url_param":      {out: KindStr, fn: fetchURLParam, minArgs: 1, maxArgs: 2},
	"urlp":           {out: KindStr, fn: fetchURLParam, minArgs: 1, maxArgs: 2},
	"req.ver":        {out: KindStr, fn: fetchVer},
	"req_ver":        {out: KindStr, fn: fetchVer},
	"req.proto_http": {out: KindBool, fn: fetchProtoHTTP},
	"status":         {out: KindInt, fn: fetchStatus},
	"res.cache_hit":  {out: KindBool, fn: fetchCacheHit},
	"res.cache_name": {out: KindStr, fn: fetchCacheName},
	"ssl_fc":         {out: KindBool, fn: fetchSSL},
	"ssl_fc_sni":     {out: KindStr, fn: fetchSNI},
	"req.ssl_sni":    {out: KindStr, fn: fetchReqSNI},
	"req_ssl_sni":    {out: KindStr, fn: fetchReqSNI},
	"nbsrv":          {out: KindInt, fn: fetchEnv(envNbSrv), maxArgs: 1, prep: prepProxyArg("backend")},
	"be_conn":        {out: KindInt, fn: fetchEnv(envBeConn), maxArgs: 1, prep: prepProxyArg("backend")},
	"fe_conn":        {out: KindInt, fn: fetchEnv(envFeConn), maxArgs: 1, prep: prepProxyArg("frontend")},
	"var":            {out: KindStr, fn: fetchVar, minArgs: 1, maxArgs: 2, prep: prepVar},

	"hdr":          {out: KindStr, fn: fetchHdr(sideAuto, true), maxArgs: 2, multi: true, prep: prepOcc},
	"req.hdr":      {out: KindStr, fn: fetchHdr(sideReq, true), maxArgs: 2, multi: true, prep: prepOcc},
	"res.hdr":      {out: KindStr, fn: fetchHdr(sideRes, true), maxArgs: 2, multi: true, prep: prepOcc},
	"shdr":         {out: KindStr, fn: fetchHdr(sideRes, true), maxArgs: 2, multi: true, prep: prepOcc},
	"req.fhdr":     {out: KindStr, fn: fetchHdr(sideReq, false), maxArgs: 2, multi: true, prep: prepOcc},
	"res.fhdr":     {out: KindStr, fn: fetchHdr(sideRes, false), maxArgs: 2, multi: true, prep: prepOcc},
	"hdr_cnt":      {out: KindInt, fn: fetchHdrCnt(sideAuto), maxArgs: 1},
	"req.hdr_cnt":  {out: KindInt, fn: fetchHdrCnt(sideReq), maxArgs: 1},
	"res.hdr_cnt":  {out: KindInt, fn: fetchHdrCnt(sideRes), maxArgs: 1},
	"hdr_val":      {out: KindInt, fn: fetchHdrVal(sideAuto), maxArgs: 2, multi: true, prep: prepOcc},
	"req.hdr_val":  {out: KindInt, fn: fetchHdrVal(sideReq), maxArgs: 2, multi: true, prep: prepOcc},
	"res.hdr_val":  {out: KindInt, fn: fetchHdrVal(sideRes), maxArgs: 2, multi: true, prep: prepOcc},
	"hdr_ip":       {out: KindIP, fn: fetchHdrIP(sideAuto), maxArgs: 2, multi: true, prep: prepOcc},
	"req.hdr_ip":   {out: KindIP, fn: fetchHdrIP(sideReq), maxArgs: 2, multi: true, prep: prepOcc},
	"res.hdr_ip":   {out: KindIP, fn: fetchHdrIP(sideRes), maxArgs: 2, multi: true, prep: prepOcc},
	"req.cook":     {out: KindStr, fn: fetchCook, maxArgs: 1, multi: true, firstUnnamed: true},
	"cook":         {out: KindStr, fn: fetchCook, maxArgs: 1, multi: true, firstUnnamed: true},
	"req.cook_cnt": {out: KindInt, fn: fetchCookCnt, maxArgs: 1},
	"cook_cnt":     {out: KindInt, fn: fetchCookCnt, maxArgs: 1},

	"http_auth":       {out: KindBool, fn: fetchAuth, minArgs: 1, maxArgs: 1, prep: prepUserlist},
	"http_auth_group": {out: KindStr, fn: fetchAuthGroup, minArgs: 1, maxArgs: 1, prep: prepUserlist, method: methodGroup},
}

func lookupFetch(name string) *fetchDef {
	if d := fetches[name]; d != nil {
		return d
	}
	if d := moreFetches()[name]; d != nil {
		return d
	}
	if d := ppFetches[name]; d != nil {
		return d
	}
	if d := rdpFetches[name]; d != nil {
		return d
	}
	if d := distccFetches[name]; d != nil {
		return d
	}
	if d := compFetches[name]; d != nil {
		return d
	}
	if d := modeFetches[name]; d != nil {
		return d
	}
	if d := streamFetches()[name]; d != nil {
		return d
	}
	if d := l7Fetches()[name]; d != nil {
		return d
	}
	if d := sslFetches()[name]; d != nil {
		return d
	}
	if d := tcpInfoFetches()[name]; d != nil {
		return d
	}
	if d := bcFetches()[name]; d != nil {
		return d
	}
	return stickFetch(name)
}

func once(it *iter) bool {
	if it.done {
		return false
	}
	it.done = true
	return true
}

func boolSample(b bool) Sample {
	if b {
		return Sample{Kind: KindBool, I: 1}
	}
	return Sample{Kind: KindBool}
}

func intSample(n int64) Sample  { return Sample{Kind: KindInt, I: n} }
func strSample(b []byte) Sample { return Sample{Kind: KindStr, B: b} }

func fetchConstBool(v bool) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		if !once(it) {
			return Sample{}, false
		}
		return boolSample(v), true
	}
}

// endpoint is the client (src) or local (dst) address of the connection.
// ConnAddrTxn is implemented by transactions that keep the client
// connection's own addresses apart from the session's and the stream's:
// HAProxy 2.6 has three levels, and fc_src/fc_dst read the first, which
// only "tcp-request connection" rules change; a PROXY header and
// "tcp-request session" or stream rules change src/dst only.
type ConnAddrTxn interface {
	ConnSrc() netip.AddrPort
	ConnDst() netip.AddrPort
}

// endpointAt is endpoint for fc true: the connection's address, or the
// transaction's when it keeps no separate one.
func endpointAt(e *Eval, dst, fc bool) netip.AddrPort {
	if fc {
		if ct, ok := e.Txn.(ConnAddrTxn); ok {
			if dst {
				return ct.ConnDst()
			}
			return ct.ConnSrc()
		}
	}
	return endpoint(e, dst)
}

func endpoint(e *Eval, dst bool) netip.AddrPort {
	if dst {
		return e.Txn.Dst()
	}
	return e.Txn.Src()
}

func fetchAddr(dst bool) fetchFn { return fetchAddrAt(dst, false) }

func fetchAddrAt(dst, fc bool) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		if !once(it) {
			return Sample{}, false
		}
		ap := endpointAt(e, dst, fc)
		if !ap.Addr().IsValid() {
			return Sample{}, false
		}
		return Sample{Kind: KindIP, IP: ap.Addr()}, true
	}
}

func fetchPort(dst bool) fetchFn { return fetchPortAt(dst, false) }

func fetchPortAt(dst, fc bool) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		if !once(it) {
			return Sample{}, false
		}
		ap := endpointAt(e, dst, fc)
		if !ap.IsValid() {
			return Sample{}, false
		}
		return intSample(int64(ap.Port())), true
	}
}

func fetchMethod(e *Eval, x *Expr, it *iter) (Sample, bool) {
	m := e.Txn.Method()
	if !once(it) || len(m) == 0 {
		return Sample{}, false
	}
	return strSample(m), true
}

type uriPart uint8

const (
	partPath uriPart = iota
	partPathQ
	partURL
	partQuery
)

// splitTarget returns the path (with its query) of a request-target:
// origin-form as is, absolute-form without scheme and authority.
func pathQuery(t []byte) []byte {
	if len(t) == 0 || t[0] == '/' || t[0] == '*' {
		return t
	}
	for i := 0; i+2 < len(t); i++ {
		if t[i] == ':' && t[i+1] == '/' && t[i+2] == '/' {
			rest := t[i+3:]
			for j, c := range rest {
				if c == '/' || c == '?' {
					return rest[j:]
				}
			}
			return rest[len(rest):]
		}
	}
	return t // authority-form (CONNECT)
}

func cutQuery(pq []byte) (path, query []byte, hasQuery bool) {
	for i, c := range pq {
		if c == '?' {
			return pq[:i], pq[i+1:], true
		}
	}
	return pq, nil, false
}

func fetchURIPart(p uriPart) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		t := e.Txn.Target()
		if !once(it) || t == nil {
			return Sample{}, false
		}
		pq := pathQuery(t)
		switch p {
		case partURL:
			return strSample(t), true
		case partPathQ:
			return strSample(pq), true
		case partPath:
			path, _, _ := cutQuery(pq)
			return strSample(path), true
		}
		_, q, ok := cutQuery(pq)
		if !ok {
			return Sample{}, false
		}
		return strSample(q), true
	}
}

func fetchBase(e *Eval, x *Expr, it *iter) (Sample, bool) {
	if !once(it) {
		return Sample{}, false
	}
	host, ok := firstHeader(e.Txn.ReqHeaders(), "host")
	path, _, _ := cutQuery(pathQuery(e.Txn.Target()))
	if !ok || len(host) == 0 {
		return strSample(path), true
	}
	n := len(e.buf)
	e.buf = append(e.buf, host...)
	e.buf = append(e.buf, path...)
	return strSample(e.buf[n:len(e.buf):len(e.buf)]), true
}

func fetchURLParam(e *Eval, x *Expr, it *iter) (Sample, bool) {
	if !once(it) {
		return Sample{}, false
	}
	_, q, ok := cutQuery(pathQuery(e.Txn.Target()))
	if !ok {
		return Sample{}, false
	}
	delim := byte('&')
	if len(x.args) > 1 && x.args[1].s != "" {
		delim = x.args[1].s[0]
	}
	name := x.args[0].s
	for len(q) > 0 {
		var p []byte
		p, q = cutByte(q, delim)
		if len(p) > len(name) && p[len(name)] == '=' && string(p[:len(name)]) == name {
			return strSample(p[len(name)+1:]), true
		}
		if string(p) == name {
			return strSample(p[len(p):]), true
		}
	}
	return Sample{}, false
}

func cutByte(b []byte, c byte) (before, after []byte) {
	for i := range b {
		if b[i] == c {
			return b[:i], b[i+1:]
		}
	}
	return b, nil
}

func fetchVer(e *Eval, x *Expr, it *iter) (Sample, bool) {
	if !once(it) || len(e.Txn.Method()) == 0 {
		return Sample{}, false
	}
	maj, mnr := e.Txn.Version()
	n := len(e.buf)
	e.buf = strconv.AppendInt(e.buf, int64(maj), 10)
	e.buf = append(e.buf, '.')
	e.buf = strconv.AppendInt(e.buf, int64(mnr), 10)
	return strSample(e.buf[n:len(e.buf):len(e.buf)]), true
}

func fetchProtoHTTP(e *Eval, x *Expr, it *iter) (Sample, bool) {
	if !once(it) {
		return Sample{}, false
	}
	return boolSample(len(e.Txn.Method()) > 0), true
}

func fetchStatus(e *Eval, x *Expr, it *iter) (Sample, bool) {
	st := e.Txn.Status()
	if !once(it) || st == 0 {
		return Sample{}, false
	}
	return intSample(int64(st)), true
}

// fetchCacheHit is res.cache_hit: whether the response came out of a
// cache; it exists only once there is a response.
func fetchCacheHit(e *Eval, x *Expr, it *iter) (Sample, bool) {
	if !once(it) || e.Txn.Status() == 0 {
		return Sample{}, false
	}
	hit, _ := e.Txn.CacheHit()
	return boolSample(hit), true
}

// fetchCacheName is res.cache_name: the cache a hit came from, empty
// otherwise.
func fetchCacheName(e *Eval, x *Expr, it *iter) (Sample, bool) {
	if !once(it) || e.Txn.Status() == 0 {
		return Sample{}, false
	}
	_, name := e.Txn.CacheHit()
	return Sample{Kind: KindStr, B: []byte(name)}, true
}

func fetchSSL(e *Eval, x *Expr, it *iter) (Sample, bool) {
	if !once(it) {
		return Sample{}, false
	}
	on, _ := e.Txn.TLS()
	return boolSample(on), true
}

func fetchSNI(e *Eval, x *Expr, it *iter) (Sample, bool) {
	on, sni := e.Txn.TLS()
	if !once(it) || !on || len(sni) == 0 {
		return Sample{}, false
	}
	return strSample(sni), true
}

// fetchReqSNI is req.ssl_sni: the name of a ClientHello, whether the
// connection is TLS (ssl_fc) or carries TLS Bulwark only inspects.
func fetchReqSNI(e *Eval, x *Expr, it *iter) (Sample, bool) {
	_, sni := e.Txn.TLS()
	if !once(it) || len(sni) == 0 {
		return Sample{}, false
	}
	return strSample(sni), true
}

type envQuery uint8

const (
	envNbSrv envQuery = iota
	envBeConn
	envFeConn
)

func fetchEnv(q envQuery) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		env := e.Txn.Env()
		if !once(it) || env == nil {
			return Sample{}, false
		}
		name := ""
		if len(x.args) > 0 {
			name = x.args[0].s
		}
		var n int
		switch q {
		case envNbSrv:
			n = env.NbSrv(name)
		case envBeConn:
			n = env.BeConn(name)
		default:
			n = env.FeConn(name)
		}
		if n < 0 {
			return Sample{}, false
		}
		return intSample(int64(n)), true
	}
}

func prepVar(c *compiler, x *Expr) error {
	if len(x.args) > 1 {
		x.args[1].b = []byte(x.args[1].s)
	}
	return checkVarName(x.args[0].s)
}

func fetchVar(e *Eval, x *Expr, it *iter) (Sample, bool) {
	if !once(it) {
		return Sample{}, false
	}
	s, ok := e.Txn.Var(x.args[0].s)
	if !ok || s.Kind == KindNone {
		// CM 7.3.2: var(<name>,<default>) returns the default, as a
		// string, when the variable is not set.
		if len(x.args) > 1 {
			return Sample{Kind: KindStr, B: x.args[1].b}, true
		}
		return Sample{}, false
	}
	return s, true
}

// eqFold compares b with s ignoring ASCII case, without allocating.
func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if lowerASCII(b[i]) != lowerASCII(s[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func firstHeader(hs []h1.Header, name string) ([]byte, bool) {
	for i := range hs {
		if eqFold(hs[i].Name, name) {
			return hs[i].Value, true
		}
	}
	return nil, false
}
