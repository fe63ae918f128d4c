package compress

import (
	"bytes"

	"bulwark/internal/h1"
)

// Algo is one of the algorithms of "compression algo".
type Algo uint8

const (
	None Algo = iota
	Identity
	Gzip
	Deflate
	RawDeflate
)

// ParseAlgo reads an algorithm name as written in the configuration.
func ParseAlgo(name string) (Algo, bool) {
	switch name {
	case "identity":
		return Identity, true
	case "gzip":
		return Gzip, true
	case "deflate":
		return Deflate, true
	case "raw-deflate":
		return RawDeflate, true
	}
	return None, false
}

func (a Algo) String() string {
	switch a {
	case Identity:
		return "identity"
	case Gzip:
		return "gzip"
	case Deflate:
		return "deflate"
	case RawDeflate:
		return "raw-deflate"
	}
	return ""
}

// token is the Accept-Encoding token the algorithm answers to: raw-deflate
// answers "deflate", because browsers that ask for deflate decode a raw
// stream better than the zlib-wrapped one the standard names.
func (a Algo) token() string {
	if a == RawDeflate {
		return "deflate"
	}
	return a.String()
}

// ContentEncoding is the value of the Content-Encoding field a response
// compressed with a carries; empty for identity, which changes nothing but
// the framing.
func (a Algo) ContentEncoding() string {
	switch a {
	case Gzip:
		return "gzip"
	case Deflate, RawDeflate:
		return "deflate"
	}
	return ""
}

// Config is one proxy's "compression" lines.
type Config struct {
	Algos   []Algo
	Types   []string // MIME type prefixes, as written
	Offload bool
}

// Enabled says whether the proxy compresses at all.
func (c *Config) Enabled() bool { return c != nil && len(c.Algos) > 0 }

// Select picks the configuration that applies to a request: the backend's
// algorithms when it has any, else the frontend's; types likewise.
// Offload of either side applies.
func Select(fe, be *Config) (algos []Algo, types []string, offload bool) {
	if be.Enabled() {
		algos = be.Algos
	} else if fe.Enabled() {
		algos = fe.Algos
	}
	if be != nil && len(be.Types) > 0 {
		types = be.Types
	} else if fe != nil {
		types = fe.Types
	}
	offload = (be != nil && be.Offload) || (fe != nil && fe.Offload)
	return algos, types, offload
}

// Negotiate chooses the algorithm for a request from its Accept-Encoding
// fields, or None. The element with the highest q-value that names a
// configured algorithm wins, the first one on a tie; "*" stands for the
// first configured algorithm. identity, when configured, is the fallback
// and needs no Accept-Encoding at all. Browsers known to mishandle
// compressed bodies (Mozilla/4 that is not MSIE 6 SP2 or MSIE 7 and later)
// get nothing.
func Negotiate(algos []Algo, req *h1.Request) Algo {
	if len(algos) == 0 || req.Major < 1 || (req.Major == 1 && req.Minor < 1) {
		return None
	}
	if ua, ok := h1.Get(req.Headers, "user-agent"); ok && buggyAgent(ua) {
		return None
	}
	best, bestQ := None, 0
	for i := range req.Headers {
		if !h1.EqualFold(req.Headers[i].Name, "accept-encoding") {
			continue
		}
		v := req.Headers[i].Value
		for len(v) > 0 {
			var elem []byte
			elem, v = h1.NextListElem(v)
			tok, q, ok := h1.ParseCoding(elem)
			if !ok || q <= bestQ {
				continue
			}
			if a := match(algos, tok); a != None {
				best, bestQ = a, q
			}
		}
	}
	if best != None {
		return best
	}
	for _, a := range algos {
		if a == Identity {
			return Identity
		}
	}
	return None
}

func match(algos []Algo, tok []byte) Algo {
	if len(tok) == 1 && tok[0] == '*' {
		return algos[0]
	}
	for _, a := range algos {
		if h1.EqualFold(tok, a.token()) {
			return a
		}
	}
	return None
}

// buggyAgent matches the old browsers HAProxy refuses to compress for:
// "Mozilla/4" agents, except MSIE 6 with XP SP2 and MSIE 7 and later,
// which decode compressed bodies correctly.
func buggyAgent(ua []byte) bool {
	if len(ua) < 9 || string(ua[:9]) != "Mozilla/4" {
		return false
	}
	if i := bytes.Index(ua, []byte("; MSIE ")); i >= 0 {
		rest := ua[i+7:]
		if len(rest) > 0 && rest[0] >= '7' && rest[0] <= '9' {
			return false
		}
		if len(rest) > 0 && rest[0] == '6' && bytes.Contains(ua, []byte("SV1")) {
			return false
		}
	}
	return true
}
