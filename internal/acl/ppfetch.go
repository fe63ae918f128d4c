package acl

import (
	"fmt"
	"strconv"
	"strings"
)

// ProxyHeaderTxn is implemented by a Txn whose client connection may have
// begun with a PROXY protocol header; the fc_pp_* fetches read it.
type ProxyHeaderTxn interface {
	ProxyTLV(t byte) ([]byte, bool)
	ProxyReceived() bool
}

// ppFetches are the PROXY protocol fetches (CM 7.3.3). fc_pp_tlv comes
// from later HAProxy versions; it is here because fc_pp_authority and
// fc_pp_unique_id are two of its cases.
var ppFetches = map[string]*fetchDef{
	"fc_pp_authority": {out: KindStr, fn: fetchPPTLV(0x02)},
	"fc_pp_unique_id": {out: KindStr, fn: fetchPPTLV(0x05)},
	"fc_pp_tlv":       {out: KindStr, fn: fetchPPTLVArg, minArgs: 1, maxArgs: 1, prep: prepTLVType},
	"fc_rcvd_proxy":   {out: KindBool, fn: fetchRcvdProxy},
}

// ppTLVNames are the symbolic TLV names fc_pp_tlv accepts.
var ppTLVNames = map[string]int64{
	"ALPN": 0x01, "AUTHORITY": 0x02, "CRC32C": 0x03, "NOOP": 0x04, "UNIQUE_ID": 0x05,
	"SSL": 0x20, "SSL_VERSION": 0x21, "SSL_CN": 0x22, "SSL_CIPHER": 0x23,
	"SSL_SIG_ALG": 0x24, "SSL_KEY_ALG": 0x25, "NETNS": 0x30,
}

func prepTLVType(c *compiler, x *Expr) error {
	a := &x.args[0]
	if n, ok := ppTLVNames[strings.ToUpper(a.s)]; ok {
		a.i = n
		return nil
	}
	n, err := strconv.ParseInt(a.s, 0, 64)
	if err != nil || n < 0 || n > 255 {
		return fmt.Errorf("invalid TLV type '%s' (expects 0..255 or a PP2_TYPE name)", a.s)
	}
	a.i = n
	return nil
}

func fetchPPTLV(t byte) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		return ppTLV(e, t, it)
	}
}

func fetchPPTLVArg(e *Eval, x *Expr, it *iter) (Sample, bool) {
	return ppTLV(e, byte(x.args[0].i), it)
}

func ppTLV(e *Eval, t byte, it *iter) (Sample, bool) {
	pt, ok := e.Txn.(ProxyHeaderTxn)
	if !once(it) || !ok {
		return Sample{}, false
	}
	v, ok := pt.ProxyTLV(t)
	if !ok {
		return Sample{}, false
	}
	return strSample(v), true
}

func fetchRcvdProxy(e *Eval, x *Expr, it *iter) (Sample, bool) {
	if !once(it) {
		return Sample{}, false
	}
	pt, ok := e.Txn.(ProxyHeaderTxn)
	return boolSample(ok && pt.ProxyReceived()), true
}
