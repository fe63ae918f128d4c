package acl

import "bytes"

// PayloadTxn is implemented by a Txn that holds the first bytes a client
// sent ("tcp-request inspect-delay" in TCP mode).
type PayloadTxn interface {
	ReqPayload() []byte
}

// ResPayloadTxn is implemented by a Txn that holds the server's data
// being inspected by tcp-response content rules (TCP mode).
type ResPayloadTxn interface {
	ResPayload() []byte
}

// rdpFetches read the RDP cookie of an X.224 connection request
// (CM 7.3.5 req.rdp_cookie, req.rdp_cookie_cnt).
var rdpFetches = map[string]*fetchDef{
	"req.rdp_cookie":     {out: KindStr, fn: fetchRDPCookie, maxArgs: 1},
	"rdp_cookie":         {out: KindStr, fn: fetchRDPCookie, maxArgs: 1},
	"req.rdp_cookie_cnt": {out: KindInt, fn: fetchRDPCookieCnt, maxArgs: 1},
	"rdp_cookie_cnt":     {out: KindInt, fn: fetchRDPCookieCnt, maxArgs: 1},
}

func rdpArg(x *Expr) string {
	if len(x.args) > 0 {
		return x.args[0].s
	}
	return ""
}

func rdpPayload(e *Eval) []byte {
	if pt, ok := e.Txn.(PayloadTxn); ok {
		return pt.ReqPayload()
	}
	return nil
}

func fetchRDPCookie(e *Eval, x *Expr, it *iter) (Sample, bool) {
	if !once(it) {
		return Sample{}, false
	}
	v, ok := RDPCookie(rdpPayload(e), rdpArg(x))
	if !ok {
		return Sample{}, false
	}
	return strSample(v), true
}

func fetchRDPCookieCnt(e *Eval, x *Expr, it *iter) (Sample, bool) {
	if !once(it) {
		return Sample{}, false
	}
	n := int64(0)
	if _, ok := RDPCookie(rdpPayload(e), rdpArg(x)); ok {
		n = 1
	}
	return Sample{Kind: KindInt, I: n}, true
}

// RDPCookie returns the value of the cookie of an RDP connection request
// (a TPKT header, an X.224 Connection Request, then "Cookie: name=value"
// ended by CRLF). Only the first cookie counts, as in the protocol; name
// is case-insensitive, and "" accepts any name.
func RDPCookie(b []byte, name string) ([]byte, bool) {
	// TPKT version 3, reserved 0; X.224 CR code 0xE0 after the length
	// indicator; the cookie follows the 7-byte CR header.
	if len(b) < 11 || b[0] != 3 || b[1] != 0 || b[5]&0xf0 != 0xe0 {
		return nil, false
	}
	b = b[11:]
	const pfx = "Cookie:"
	if len(b) < len(pfx) || !bytes.EqualFold(b[:len(pfx)], []byte(pfx)) {
		return nil, false
	}
	b = bytes.TrimLeft(b[len(pfx):], " ")
	end := bytes.Index(b, []byte("\r\n"))
	if end < 0 {
		return nil, false
	}
	b = b[:end]
	k, v, ok := bytes.Cut(b, []byte("="))
	if !ok || (name != "" && !bytes.EqualFold(k, []byte(name))) {
		return nil, false
	}
	return v, true
}
