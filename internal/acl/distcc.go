package acl

import (
	"fmt"
	"strconv"
)

// distccFetches read the elements of a distcc request in the client's
// buffered data (CM 7.3.5 distcc_body, distcc_param).
var distccFetches = map[string]*fetchDef{
	"distcc_param": {out: KindInt, fn: fetchDistcc(false), minArgs: 1, maxArgs: 2, prep: prepDistcc},
	"distcc_body":  {out: KindBin, fn: fetchDistcc(true), minArgs: 1, maxArgs: 2, prep: prepDistcc},
}

// prepDistcc reads <token>[,<occ>]: a 4-character token and its
// occurrence, counted from 1 (0 or none: the first).
func prepDistcc(c *compiler, x *Expr) error {
	if len(x.args[0].s) != 4 {
		return fmt.Errorf("token name must be exactly 4 characters")
	}
	if len(x.args) > 1 && x.args[1].s != "" {
		n, err := strconv.ParseInt(x.args[1].s, 10, 64)
		if err != nil {
			return fmt.Errorf("failed to parse '%s' as type 'integer' at position 2", x.args[1].s)
		}
		x.args[1].i = n
	}
	return nil
}

// DistccElem finds occurrence occ (from 1; 0 or less: the first) of
// token in a distcc request (distcc's protocol: elements of a 4-character
// token and 8 hexadecimal digits, the tokens other than DIST, ARGC, DONE
// and STAT followed by as many bytes as their parameter says). The body
// of DOTI, the preprocessed source, may still be arriving: what arrived
// of it is its body so far, as with HAProxy 2.6.12. ok is false when the
// token is not (yet) in data or an element before it is malformed or
// incomplete.
func DistccElem(data []byte, token string, occ int64) (param uint32, body []byte, ok bool) {
	seen := int64(0)
	for len(data) >= 12 {
		tok := string(data[:4])
		p, err := strconv.ParseUint(string(data[4:12]), 16, 32)
		if err != nil {
			return 0, nil, false
		}
		data = data[12:]
		var b []byte
		switch tok {
		case "DIST", "ARGC", "DONE", "STAT":
		case "DOTI":
			b = data[:min(uint64(len(data)), p)]
			data = data[len(b):]
			if uint64(len(b)) < p && tok != token {
				return 0, nil, false
			}
		default:
			if uint64(len(data)) < p {
				return 0, nil, false
			}
			b = data[:p]
			data = data[p:]
		}
		if tok == token {
			seen++
			if occ <= 0 || seen == occ {
				return uint32(p), b, true
			}
		}
	}
	return 0, nil, false
}

func fetchDistcc(body bool) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		if !once(it) {
			return Sample{}, false
		}
		occ := int64(0)
		if len(x.args) > 1 {
			occ = x.args[1].i
		}
		p, b, ok := DistccElem(rdpPayload(e), x.args[0].s, occ)
		switch {
		case !ok:
			return Sample{}, false
		case !body:
			return intSample(int64(p)), true
		case len(b) == 0:
			return Sample{}, false // a token without body
		}
		return Sample{Kind: KindBin, B: b}, true
	}
}
