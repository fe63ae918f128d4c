package model

import (
	"fmt"
	"strings"
)

// ProxyV2Opts are the TLVs a "send-proxy-v2" server adds to its PROXY
// header ("proxy-v2-options", "send-proxy-v2-ssl", "send-proxy-v2-ssl-cn").
type ProxyV2Opts uint16

const (
	PPv2SSL ProxyV2Opts = 1 << iota
	PPv2CertCN
	PPv2SSLCipher
	PPv2CertSig
	PPv2CertKey
	PPv2Authority
	PPv2CRC32C
	PPv2UniqueID
)

var proxyV2OptNames = map[string]ProxyV2Opts{
	"ssl": PPv2SSL, "cert-cn": PPv2CertCN, "ssl-cipher": PPv2SSLCipher, "cert-sig": PPv2CertSig,
	"cert-key": PPv2CertKey, "authority": PPv2Authority, "crc32c": PPv2CRC32C, "unique-id": PPv2UniqueID,
}

// ParseProxyV2Options reads a "proxy-v2-options" list. As in HAProxy,
// cert-* and ssl-cipher imply ssl.
func ParseProxyV2Options(s string) (ProxyV2Opts, error) {
	var o ProxyV2Opts
	for _, w := range strings.Split(s, ",") {
		v, ok := proxyV2OptNames[w]
		if !ok {
			return 0, fmt.Errorf("'proxy-v2-options' : unknown option '%s'", w)
		}
		o |= v
	}
	if o&(PPv2CertCN|PPv2SSLCipher|PPv2CertSig|PPv2CertKey) != 0 {
		o |= PPv2SSL
	}
	return o, nil
}

// ProxyV2 returns the PROXY v2 options of a server: its
// "proxy-v2-options" and the send-proxy-v2-ssl[-cn] shorthands.
func (o *ServerOptions) ProxyV2() ProxyV2Opts {
	var v ProxyV2Opts
	if s, ok := o.Opts["proxy-v2-options"]; ok {
		v, _ = ParseProxyV2Options(s)
	}
	if _, ok := o.Opts["send-proxy-v2-ssl"]; ok {
		v |= PPv2SSL
	}
	if _, ok := o.Opts["send-proxy-v2-ssl-cn"]; ok {
		v |= PPv2SSL | PPv2CertCN
	}
	return v
}
