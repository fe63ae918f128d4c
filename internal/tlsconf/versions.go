package tlsconf

import (
	"crypto/tls"
	"fmt"
	"strings"
)

// versionNames are HAProxy's version words, lowest first.
var versionNames = []struct {
	name string
	flag string // suffix of no-*/force-*
	id   uint16
}{
	{"SSLv3", "sslv3", 0x0300},
	{"TLSv1.0", "tlsv10", tls.VersionTLS10},
	{"TLSv1.1", "tlsv11", tls.VersionTLS11},
	{"TLSv1.2", "tlsv12", tls.VersionTLS12},
	{"TLSv1.3", "tlsv13", tls.VersionTLS13},
}

func versionByName(n string) (uint16, bool) {
	for _, v := range versionNames {
		if v.name == n {
			return v.id, true
		}
	}
	return 0, false
}

func versionName(id uint16) string {
	for _, v := range versionNames {
		if v.id == id {
			return v.name
		}
	}
	return fmt.Sprintf("0x%04x", id)
}

// versionOpts are the protocol-version settings of one level (global
// defaults or a bind/server line).
type versionOpts struct {
	min, max string
	no       map[uint16]bool
	force    uint16
}

// parseGlobalOptions reads ssl-default-*-options words ("no-tlsv11",
// "ssl-min-ver TLSv1.2", ...) as the model stores them.
func parseGlobalOptions(words []string) (versionOpts, map[string]bool) {
	v := versionOpts{no: map[uint16]bool{}}
	flags := map[string]bool{}
	for _, w := range words {
		k, val, _ := strings.Cut(w, " ")
		v.set(k, val)
		flags[k] = true
	}
	return v, flags
}

// parseLineOptions reads the same settings from a bind/server option map.
func parseLineOptions(opts map[string]string) versionOpts {
	v := versionOpts{no: map[uint16]bool{}}
	for k, val := range opts {
		v.set(k, val)
	}
	return v
}

func (v *versionOpts) set(k, val string) {
	switch {
	case k == "ssl-min-ver":
		v.min = val
	case k == "ssl-max-ver":
		v.max = val
	case strings.HasPrefix(k, "no-"), strings.HasPrefix(k, "force-"):
		no := strings.HasPrefix(k, "no-")
		suffix := strings.TrimPrefix(strings.TrimPrefix(k, "no-"), "force-")
		for _, n := range versionNames {
			if n.flag != suffix {
				continue
			}
			if no {
				v.no[n.id] = true
			} else {
				v.force = n.id
			}
		}
	}
}

// versionRange computes MinVersion/MaxVersion the way HAProxy 2.6 does:
// the line's ssl-min-ver/ssl-max-ver/force-* win over the global ones;
// when any min or max is set, the no-* flags are ignored (HAProxy warns
// too); with neither, the default minimum is TLS 1.2. OpenSSL cannot
// express a hole in the range, so a hole ends it.
func versionRange(line, global versionOpts, what string) (minV, maxV uint16, warns []string, err error) {
	lo, hi := "", ""
	for _, lv := range []versionOpts{global, line} {
		if lv.force != 0 {
			lo, hi = versionName(lv.force), versionName(lv.force)
		}
		if lv.min != "" {
			lo = lv.min
		}
		if lv.max != "" {
			hi = lv.max
		}
	}
	no := map[uint16]bool{}
	if lo != "" || hi != "" {
		if len(line.no)+len(global.no) > 0 {
			warns = append(warns, fmt.Sprintf("%s: no-sslv3/no-tlsv1x are ignored when ssl-min-ver, ssl-max-ver or force-* is set; use only ssl-min-ver and ssl-max-ver", what))
		}
	} else {
		for k := range global.no {
			no[k] = true
		}
		for k := range line.no {
			no[k] = true
		}
	}
	minV, maxV = tls.VersionTLS12, tls.VersionTLS13
	if lo != "" {
		var ok bool
		if minV, ok = versionByName(lo); !ok {
			return 0, 0, nil, fmt.Errorf("%s: unknown ssl-min-ver '%s'", what, lo)
		}
	}
	if hi != "" {
		var ok bool
		if maxV, ok = versionByName(hi); !ok {
			return 0, 0, nil, fmt.Errorf("%s: unknown ssl-max-ver '%s'", what, hi)
		}
	}
	if maxV == 0x0300 {
		return 0, 0, nil, fmt.Errorf("%s: SSLv3 is not implemented by Go; use TLSv1.2 or later", what)
	}
	if minV == 0x0300 {
		warns = append(warns, fmt.Sprintf("%s: SSLv3 is not implemented by Go; the minimum is TLSv1.0", what))
		minV = tls.VersionTLS10
	}
	for minV <= maxV && no[minV] {
		minV++
	}
	if minV > maxV {
		return 0, 0, nil, fmt.Errorf("%s: every TLS version is disabled", what)
	}
	for v := minV; v <= maxV; v++ {
		if !no[v] {
			continue
		}
		top := maxV
		for top > v && no[top] {
			top--
		}
		if top > v {
			warns = append(warns, fmt.Sprintf("%s: protocol versions with a hole are not supported; using %s to %s", what, versionName(minV), versionName(v-1)))
		}
		maxV = v - 1
		break
	}
	if minV < tls.VersionTLS12 {
		warns = append(warns, fmt.Sprintf("%s allows %s, which is deprecated (RFC 8996); TLSv1.2 is the secure minimum", what, versionName(minV)))
	}
	return minV, maxV, warns, nil
}
