package rules

import (
	"sort"

	"bulwark/internal/h1"
	"bulwark/internal/model"
)

// normalizers are CM 4.2 "http-request normalize-uri" normalizers, with
// the option each accepts ("" for none).
var normalizers = map[string]string{
	"fragment-encode": "", "fragment-strip": "", "path-merge-slashes": "",
	"path-strip-dot": "", "path-strip-dotdot": "full",
	"percent-decode-unreserved": "strict", "percent-to-uppercase": "strict",
	"query-sort-by-name": "",
}

func compileNormalizeURI(c *compiler, r *model.Rule) action {
	if !c.opt.Experimental {
		c.errf(r.Pos, r, "'normalize-uri' action is experimental, must be allowed via a global 'expose-experimental-directives'")
		return nil
	}
	a := r.Args
	if len(a) == 0 {
		c.errf(r.Pos, r, "expects a normalizer (fragment-encode, fragment-strip, path-merge-slashes, path-strip-dot, path-strip-dotdot, percent-decode-unreserved, percent-to-uppercase or query-sort-by-name)")
		return nil
	}
	opt, ok := normalizers[a[0].Text]
	if !ok {
		c.errf(a[0].Pos, r, "unknown normalizer '%s'", a[0].Text)
		return nil
	}
	n := &normalizeURI{kind: a[0].Text}
	if len(a) > 1 {
		if opt == "" || a[1].Text != opt || len(a) > 2 {
			c.errf(a[1].Pos, r, "unexpected argument '%s' for normalizer '%s'", a[1].Text, a[0].Text)
			return nil
		}
		n.opt = true
	}
	return n
}

type normalizeURI struct {
	kind string
	opt  bool // "full" or "strict"
}

func (a *normalizeURI) run(x *Exec, r *rule, res *Result) bool {
	t := x.T.Target()
	// "*" (OPTIONS) has nothing to normalize; an absolute URI is
	// normalized after its authority.
	if len(t) == 0 || t[0] == '*' {
		return false
	}
	prefix := absolutePrefix(t)
	if len(prefix) == len(t) {
		return false
	}
	path, query, hasQ := t[len(prefix):], []byte(nil), false
	if q := indexByte(path, '?'); q >= 0 {
		path, query, hasQ = path[:q], path[q+1:], true
	}
	n := len(x.Arena)
	x.Arena = append(x.Arena, prefix...)
	ok := true
	switch a.kind {
	case "fragment-strip":
		for i, c := range t[len(prefix):] {
			if c == '#' {
				x.Arena = append(x.Arena, t[len(prefix):len(prefix)+i]...)
				goto done
			}
		}
		x.Arena = append(x.Arena, t[len(prefix):]...)
	case "fragment-encode":
		for _, c := range t[len(prefix):] {
			if c == '#' {
				x.Arena = append(x.Arena, "%23"...)
			} else {
				x.Arena = append(x.Arena, c)
			}
		}
	case "path-merge-slashes":
		for i, c := range path {
			if c == '/' && i > 0 && path[i-1] == '/' {
				continue
			}
			x.Arena = append(x.Arena, c)
		}
		x.Arena = appendQuery(x.Arena, query, hasQ)
	case "path-strip-dot", "path-strip-dotdot":
		x.Arena = appendSegments(x.Arena, path, a.kind == "path-strip-dotdot", a.opt)
		x.Arena = appendQuery(x.Arena, query, hasQ)
	case "percent-decode-unreserved", "percent-to-uppercase":
		x.Arena, ok = appendPercent(x.Arena, t[len(prefix):], a.kind == "percent-decode-unreserved", a.opt)
	case "query-sort-by-name":
		x.Arena = append(x.Arena, path...)
		if hasQ {
			x.Arena = append(x.Arena, '?')
			x.Arena = appendSortedQuery(x.Arena, query)
		}
	}
done:
	if !ok {
		x.Arena = x.Arena[:n]
		res.Verdict, res.Status, res.Errorfile = Deny, 400, true
		return true
	}
	nt := x.Arena[n:len(x.Arena):len(x.Arena)]
	if len(nt) == 0 {
		nt = append(nt, '/')
	}
	if !validTarget(nt) {
		return x.fail(res, false)
	}
	x.T.SetTarget(nt)
	return false
}

// absolutePrefix is the scheme and authority of an absolute-form target,
// which the normalizers leave alone. As in HAProxy, the authority ends at
// the first '/' only: "http://h?a" has no path, so nothing to normalize.
func absolutePrefix(t []byte) []byte {
	if len(t) == 0 || t[0] == '/' {
		return nil
	}
	for i := 0; i+2 < len(t); i++ {
		if t[i] == ':' && t[i+1] == '/' && t[i+2] == '/' {
			if j := indexByte(t[i+3:], '/'); j >= 0 {
				return t[:i+3+j]
			}
			return t
		}
	}
	return nil
}

func appendQuery(dst, q []byte, hasQ bool) []byte {
	if !hasQ {
		return dst
	}
	return append(append(dst, '?'), q...)
}

// appendSegments removes "." segments and, with dotdot, resolves ".."
// against the preceding segment (RFC 3986 §6.2.2.3). A ".." with no
// segment before it stays unless full is set. Empty segments count as
// segments, as in HAProxy.
func appendSegments(dst, path []byte, dotdot, full bool) []byte {
	if len(path) == 0 || path[0] != '/' {
		return append(dst, path...)
	}
	var segs [][]byte
	rest := path[1:]
	for {
		i := indexByte(rest, '/')
		seg := rest
		if i >= 0 {
			seg = rest[:i]
		}
		last := i < 0
		switch {
		case string(seg) == "." && !dotdot:
			if last {
				segs = append(segs, nil) // "/a/." -> "/a/"
			}
		case string(seg) == ".." && dotdot:
			if len(segs) > 0 && string(segs[len(segs)-1]) != ".." {
				segs = segs[:len(segs)-1]
			} else if !full {
				segs = append(segs, seg)
			}
			if last {
				segs = append(segs, nil)
			}
		default:
			segs = append(segs, seg)
		}
		if last {
			break
		}
		rest = rest[i+1:]
	}
	for _, s := range segs {
		dst = append(dst, '/')
		dst = append(dst, s...)
	}
	if len(segs) == 0 {
		dst = append(dst, '/')
	}
	return dst
}

func unreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// appendPercent decodes percent-encoded unreserved characters (decode) or
// uppercases the hex digits of every escape; an invalid escape is kept,
// or fails the normalization when strict.
func appendPercent(dst, s []byte, decode, strict bool) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			dst = append(dst, c)
			continue
		}
		var hi, lo byte
		ok := i+2 < len(s)
		if ok {
			var ok1, ok2 bool
			hi, ok1 = h1.Unhex(s[i+1])
			lo, ok2 = h1.Unhex(s[i+2])
			ok = ok1 && ok2
		}
		if !ok {
			if strict {
				return dst, false
			}
			dst = append(dst, c)
			continue
		}
		v := hi<<4 | lo
		if decode && unreserved(v) {
			dst = append(dst, v)
		} else if decode {
			dst = append(dst, s[i:i+3]...)
		} else {
			dst = append(dst, '%', upperHex(s[i+1]), upperHex(s[i+2]))
		}
		i += 2
	}
	return dst, true
}

func upperHex(c byte) byte {
	if c >= 'a' && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

// appendSortedQuery sorts the '&'-separated parameters by name, keeping
// the order of equal names (CM 4.2 "query-sort-by-name"). As in HAProxy,
// each parameter owns the '&' that ends it, so a trailing '&' ends the
// last parameter and starts none ("?b&a&" becomes "?a&b").
func appendSortedQuery(dst, q []byte) []byte {
	var params [][]byte
	for len(q) > 0 {
		i := indexByte(q, '&')
		if i < 0 {
			params = append(params, q)
			break
		}
		params = append(params, q[:i])
		q = q[i+1:]
	}
	name := func(p []byte) []byte {
		if i := indexByte(p, '='); i >= 0 {
			return p[:i]
		}
		return p
	}
	sort.SliceStable(params, func(i, j int) bool { return string(name(params[i])) < string(name(params[j])) })
	for i, p := range params {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, p...)
	}
	return dst
}
