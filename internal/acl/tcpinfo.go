package acl

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// TCPInfoTxn is implemented by a Txn whose client connection is a TCP
// socket: the kernel's TCP_INFO for the fc_rtt family (CM 7.3.3).
type TCPInfoTxn interface {
	ClientTCPInfo() (*unix.TCPInfo, bool)
}

func tcpInfoFetches() map[string]*fetchDef {
	f := func(get func(*unix.TCPInfo) uint32, unit bool) *fetchDef {
		d := &fetchDef{out: KindInt, fn: fetchTCPInfo(get)}
		if unit {
			d.maxArgs, d.prep = 1, prepRTTUnit
		}
		return d
	}
	return map[string]*fetchDef{
		"fc_rtt":        f(func(i *unix.TCPInfo) uint32 { return i.Rtt }, true),
		"fc_rttvar":     f(func(i *unix.TCPInfo) uint32 { return i.Rttvar }, true),
		"fc_unacked":    f(func(i *unix.TCPInfo) uint32 { return i.Unacked }, false),
		"fc_sacked":     f(func(i *unix.TCPInfo) uint32 { return i.Sacked }, false),
		"fc_retrans":    f(func(i *unix.TCPInfo) uint32 { return i.Retrans }, false),
		"fc_fackets":    f(func(i *unix.TCPInfo) uint32 { return i.Fackets }, false),
		"fc_lost":       f(func(i *unix.TCPInfo) uint32 { return i.Lost }, false),
		"fc_reordering": f(func(i *unix.TCPInfo) uint32 { return i.Reordering }, false),
	}
}

// prepRTTUnit reads "ms" (the default) or "us"; the kernel counts in
// microseconds.
func prepRTTUnit(c *compiler, x *Expr) error {
	if len(x.args) == 0 || x.args[0].s == "" || x.args[0].s == "ms" {
		x.args = []argVal{{i: 1000}}
		return nil
	}
	if x.args[0].s != "us" {
		return fmt.Errorf("invalid unit '%s' (expects 'ms' or 'us')", x.args[0].s)
	}
	x.args[0].i = 1
	return nil
}

func fetchTCPInfo(get func(*unix.TCPInfo) uint32) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		t, ok := e.Txn.(TCPInfoTxn)
		if !once(it) || !ok {
			return Sample{}, false
		}
		info, ok := t.ClientTCPInfo()
		if !ok {
			return Sample{}, false
		}
		v := int64(get(info))
		if len(x.args) > 0 {
			v /= x.args[0].i
		}
		return intSample(v), true
	}
}
