package balance

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Algorithm names a "balance" algorithm (CM 4.2 "balance").
type Algorithm uint8

// The algorithms of HAProxy 2.6. The zero value is roundrobin, which is
// what HAProxy uses when a backend sets no "balance" at all.
const (
	RoundRobin Algorithm = iota
	StaticRR
	LeastConn
	First
	Source
	URI
	URLParam
	Header
	Random
	RDPCookie
	HashExpr
)

var algoNames = [...]string{
	RoundRobin: "roundrobin",
	StaticRR:   "static-rr",
	LeastConn:  "leastconn",
	First:      "first",
	Source:     "source",
	URI:        "uri",
	URLParam:   "url_param",
	Header:     "hdr",
	Random:     "random",
	RDPCookie:  "rdp-cookie",
	HashExpr:   "hash",
}

func (a Algorithm) String() string {
	if int(a) < len(algoNames) {
		return algoNames[a]
	}
	return "Algorithm(" + strconv.Itoa(int(a)) + ")"
}

// Input says which request data a balancer needs in its Key, so that the
// proxy computes only that.
type Input uint8

const (
	InputNone   Input = iota // no per-request data (roundrobin, leastconn, ...)
	InputSource              // Key.Src
	InputURI                 // Key.URI
	InputValue               // Key.Value/HasValue: url_param, hdr, rdp-cookie or hash sample
)

// Params is the parsed "balance" directive.
type Params struct {
	Algo Algorithm
	// Name is the url_param parameter, the hdr() header name, the
	// rdp-cookie name ("mstshash" by default) or the hash sample expression.
	Name string
	// Draws is the number of draws of random (default 2).
	Draws int
	// URI options: "whole", "path-only", "len N", "depth N" (0 = unset).
	Whole, PathOnly bool
	Len, Depth      int
	// CheckPost is url_param's check_post: the proxy may also look for the
	// parameter in a POST body before giving up on it.
	CheckPost bool
	// DomainOnly is hdr()'s use_domain_only.
	DomainOnly bool
}

// Input returns what the proxy must put in the Key for these Params.
func (p Params) Input() Input {
	switch p.Algo {
	case Source:
		return InputSource
	case URI:
		return InputURI
	case URLParam, Header, RDPCookie, HashExpr:
		return InputValue
	}
	return InputNone
}

// Hashed reports whether the algorithm maps a request key to a server, so
// "hash-type" applies to it.
func (p Params) Hashed() bool {
	switch p.Algo {
	case Source, URI, URLParam, Header, RDPCookie, HashExpr:
		return true
	}
	return false
}

// Dynamic reports whether runtime weight changes take effect (CM 4.2
// "balance": static-rr and map-based hashing are static; the runtime API
// should then only accept weights 0 and 100%).
func (p Params) Dynamic(ht HashType) bool {
	switch {
	case p.Algo == StaticRR:
		return false
	case p.Hashed():
		return ht.Method == Consistent
	}
	return true
}

// String renders the Params back as "balance" arguments.
func (p Params) String() string {
	var b strings.Builder
	switch p.Algo {
	case Header:
		b.WriteString("hdr(" + p.Name + ")")
		if p.DomainOnly {
			b.WriteString(" use_domain_only")
		}
	case Random:
		b.WriteString("random")
		if p.Draws != 2 && p.Draws != 0 {
			b.WriteString("(" + strconv.Itoa(p.Draws) + ")")
		}
	case RDPCookie:
		b.WriteString("rdp-cookie(" + p.Name + ")")
	case URLParam:
		b.WriteString("url_param " + p.Name)
		if p.CheckPost {
			b.WriteString(" check_post")
		}
	case HashExpr:
		b.WriteString("hash " + p.Name)
	case URI:
		b.WriteString("uri")
		if p.Whole {
			b.WriteString(" whole")
		}
		if p.PathOnly {
			b.WriteString(" path-only")
		}
		if p.Len > 0 {
			b.WriteString(" len " + strconv.Itoa(p.Len))
		}
		if p.Depth > 0 {
			b.WriteString(" depth " + strconv.Itoa(p.Depth))
		}
	default:
		b.WriteString(p.Algo.String())
	}
	return b.String()
}

// ErrUnknownAlgorithm is wrapped by ParseParams for an unknown algorithm.
var ErrUnknownAlgorithm = errors.New("only supports 'roundrobin', 'static-rr', 'leastconn', 'first', 'source', 'uri', 'url_param', 'hdr(name)', 'random', 'rdp-cookie(name)' and 'hash' options")

// ParseParams parses the words following "balance". Error texts follow
// HAProxy's backend_parse_balance() where it has one, so that a message can
// be prefixed with "balance " exactly as HAProxy prints it.
func ParseParams(args []string) (Params, error) {
	p := Params{Algo: RoundRobin}
	if len(args) == 0 || args[0] == "" {
		return p, nil
	}
	name, rest := args[0], args[1:]
	// Only uri, url_param and hdr() take trailing words; HAProxy silently
	// ignores extras elsewhere, which hides typos, so we reject them.
	noMore := func() error {
		if len(rest) > 0 {
			return fmt.Errorf("%s takes no other argument (got '%s').", name, rest[0])
		}
		return nil
	}
	switch {
	case name == "roundrobin", name == "static-rr", name == "leastconn", name == "first", name == "source":
		switch name {
		case "static-rr":
			p.Algo = StaticRR
		case "leastconn":
			p.Algo = LeastConn
		case "first":
			p.Algo = First
		case "source":
			p.Algo = Source
		}
		return p, noMore()
	case strings.HasPrefix(name, "random"):
		p.Algo, p.Draws = Random, 2
		arg := name[len("random"):]
		if arg == "" || arg == "()" {
			return p, noMore()
		}
		if arg[0] != '(' {
			return p, fmt.Errorf("%w (got '%s').", ErrUnknownAlgorithm, name)
		}
		inner, closed := strings.CutSuffix(arg[1:], ")")
		if !closed {
			return p, errors.New("random : missing closing parenthesis.")
		}
		n, err := strconv.Atoi(inner)
		if err != nil {
			return p, fmt.Errorf("random : invalid number of draws '%s'.", inner)
		}
		if n < 1 {
			return p, errors.New("random : number of draws must be at least 1.")
		}
		p.Draws = n
		return p, noMore()
	case name == "uri":
		p.Algo = URI
		for i := 0; i < len(rest); i++ {
			switch rest[i] {
			case "whole":
				p.Whole = true
			case "path-only":
				p.PathOnly = true
			case "len", "depth":
				n := 0
				if i+1 < len(rest) {
					n, _ = strconv.Atoi(rest[i+1])
				}
				if n <= 0 {
					got := ""
					if i+1 < len(rest) {
						got = rest[i+1]
					}
					return p, fmt.Errorf("uri : '%s' expects a positive integer (got '%s').", rest[i], got)
				}
				if rest[i] == "len" {
					p.Len = n
				} else {
					p.Depth = n
				}
				i++
			default:
				return p, fmt.Errorf("uri only accepts parameters 'len', 'depth', 'path-only', and 'whole' (got '%s').", rest[i])
			}
		}
		return p, nil
	case name == "url_param":
		if len(rest) == 0 || rest[0] == "" {
			return p, errors.New("url_param requires an URL parameter name.")
		}
		p.Algo, p.Name = URLParam, rest[0]
		if len(rest) > 1 {
			if rest[1] != "check_post" {
				return p, fmt.Errorf("url_param only accepts 'check_post' modifier (got '%s').", rest[1])
			}
			p.CheckPost = true
			// HAProxy still accepts the obsolete <max_wait> and ignores it.
			if len(rest) > 3 {
				return p, fmt.Errorf("url_param takes no other argument (got '%s').", rest[3])
			}
		}
		return p, nil
	case name == "hash":
		if len(rest) == 0 || rest[0] == "" {
			return p, errors.New("hash requires a sample expression.")
		}
		p.Algo, p.Name = HashExpr, rest[0]
		if len(rest) > 1 {
			return p, fmt.Errorf("hash takes no other argument (got '%s').", rest[1])
		}
		return p, nil
	case strings.HasPrefix(name, "hdr("):
		hdr, ok := strings.CutSuffix(name[len("hdr("):], ")")
		if !ok || hdr == "" || strings.ContainsAny(hdr, "()") {
			return p, errors.New("hdr requires an http header field name.")
		}
		p.Algo, p.Name = Header, hdr
		if len(rest) > 0 {
			if rest[0] != "use_domain_only" {
				return p, fmt.Errorf("%s only accepts 'use_domain_only' modifier (got '%s').", name, rest[0])
			}
			p.DomainOnly = true
			if len(rest) > 1 {
				return p, fmt.Errorf("%s takes no other argument (got '%s').", name, rest[1])
			}
		}
		return p, nil
	case strings.HasPrefix(name, "rdp-cookie"):
		p.Algo, p.Name = RDPCookie, "mstshash"
		arg := name[len("rdp-cookie"):]
		if arg != "" {
			cookie, ok := strings.CutSuffix(arg, ")")
			if !ok || len(cookie) < 2 || cookie[0] != '(' {
				return p, errors.New("rdp-cookie : missing cookie name.")
			}
			p.Name = cookie[1:]
		}
		return p, noMore()
	}
	return p, fmt.Errorf("%w (got '%s').", ErrUnknownAlgorithm, name)
}

// HashMethod is the first word of "hash-type".
type HashMethod uint8

const (
	MapBased HashMethod = iota
	Consistent
)

// HashFunc is the hash function of "hash-type".
type HashFunc uint8

const (
	SDBM HashFunc = iota
	DJB2
	WT6
	CRC32
)

var hashFuncNames = [...]string{SDBM: "sdbm", DJB2: "djb2", WT6: "wt6", CRC32: "crc32"}

func (f HashFunc) String() string {
	if int(f) < len(hashFuncNames) {
		return hashFuncNames[f]
	}
	return "HashFunc(" + strconv.Itoa(int(f)) + ")"
}

// HashType is the parsed "hash-type". The zero value is HAProxy's default
// when the directive is absent: map-based, sdbm, no avalanche.
type HashType struct {
	Method    HashMethod
	Func      HashFunc
	Avalanche bool
}

func (h HashType) String() string {
	s := "map-based"
	if h.Method == Consistent {
		s = "consistent"
	}
	s += " " + h.Func.String()
	if h.Avalanche {
		s += " avalanche"
	}
	return s
}

// ParseHashType parses the words following "hash-type":
// {map-based|consistent} [<function> [avalanche]].
func ParseHashType(args []string) (HashType, error) {
	var h HashType
	if len(args) == 0 {
		return h, errors.New("hash-type only supports 'consistent' and 'map-based'.")
	}
	switch args[0] {
	case "consistent":
		h.Method = Consistent
	case "map-based":
	case "avalanche":
		return h, errors.New("experimental feature 'hash-type avalanche' is not supported anymore, please use 'hash-type map-based sdbm avalanche' instead.")
	default:
		return h, errors.New("hash-type only supports 'consistent' and 'map-based'.")
	}
	if len(args) < 2 || args[1] == "" {
		// CM 4.2 "hash-type": consistent defaults to sdbm + avalanche.
		h.Avalanche = h.Method == Consistent
		return h, nil
	}
	switch args[1] {
	case "sdbm":
		h.Func = SDBM
	case "djb2":
		h.Func = DJB2
	case "wt6":
		h.Func = WT6
	case "crc32":
		h.Func = CRC32
	default:
		return h, errors.New("hash-type only supports 'sdbm', 'djb2', 'crc32', or 'wt6' hash functions.")
	}
	if len(args) > 2 && args[2] != "" {
		if args[2] != "avalanche" {
			return h, errors.New("hash-type only supports 'avalanche' as a modifier for hash functions.")
		}
		h.Avalanche = true
	}
	if len(args) > 3 {
		return h, fmt.Errorf("hash-type takes no other argument (got '%s').", args[3])
	}
	return h, nil
}
