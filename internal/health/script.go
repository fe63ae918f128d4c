package health

import (
	"bytes"
	"regexp"
	"strconv"

	"bulwark/internal/srvstate"
)

// A Script is a check as HAProxy 2.6 runs every kind of check: a list of
// connect, send and expect steps (CM 4.2 "tcp-check", "http-check"). The
// protocol checks (redis, mysql, pgsql, smtp, ldap, ssl-hello) are scripts
// too, built by this package, so one engine runs them all. A Script is
// read-only once built and shared by every server of a backend.
type Script struct {
	Kind  Kind
	Rules []Rule
}

// Kind decides the wording of failures and how responses are read.
type Kind uint8

const (
	// KindTCP is "option tcp-check": failures say "at step N of
	// tcp-check".
	KindTCP Kind = iota
	// KindHTTP is "option httpchk": responses are HTTP messages.
	KindHTTP
	// KindProto is a protocol check: its matchers word the failures.
	KindProto
)

// Action is what a rule does.
type Action uint8

const (
	Connect Action = iota
	Send
	Expect
	// Vars runs Rule.Do: set-var, unset-var. It talks to no one.
	Vars
)

// Rule is one step.
type Rule struct {
	Action  Action
	Comment string // reported in place of the generic failure text
	// Step is the rule's number as HAProxy counts it (1 for the first
	// rule written); 0 for the implicit first connect.
	Step int

	Conn ConnectRule
	Data []byte // Send: the bytes of a tcp-check send
	// DataFmt, when set, renders the bytes of a send-lf (hex decoded for
	// send-binary-lf, which sets Hex).
	DataFmt Dyn
	Hex     bool
	HTTP    *Request // Send: the request of an http-check send
	Exp     *ExpectRule
	Do      Do // Vars
}

// ConnectRule is "tcp-check connect" / "http-check connect".
type ConnectRule struct {
	// Default uses the server's check settings (check-ssl, check-sni,
	// check-alpn, check-send-proxy), as the implicit connect does.
	Default   bool
	Port      int    // 0: the check port, else the server's port
	Addr      string // "": the check address
	SSL       bool
	SNI       string
	ALPN      []string
	SendProxy bool
	// ViaSocks4 goes through the server's SOCKS4 proxy ("via-socks4"; the
	// default connect does with "check-via-socks4").
	ViaSocks4 bool
	// Linger closes the connection cleanly instead of with a reset.
	Linger bool
	// Proto is "h2" for an HTTP check over HTTP/2 ("proto h2"); "" is
	// the default connect's (Target.Proto) or HTTP/1.
	Proto string
}

// Request is an HTTP check request.
type Request struct {
	Method, URI, Version string
	Headers              [][2]string
	Body                 string
	// URIFmt, BodyFmt and HeaderFmts (by index of Headers, nil for a
	// literal value) are the log-format forms: uri-lf, body-lf, and
	// header values with %[...] in them.
	URIFmt, BodyFmt Dyn
	HeaderFmts      []Dyn
	// static is the request rendered by Finish when nothing in it is
	// evaluated per check; it is shared and never written to.
	static []byte
}

// Match is the kind of an expect rule's matcher.
type Match uint8

const (
	MatchString   Match = iota // tcp: data contains; http: body contains
	MatchBinary                // tcp: data contains the bytes
	MatchRegex                 // tcp: data matches; http: body matches
	MatchBinRegex              // tcp: hex dump of the data matches
	MatchStatus                // http: status code in the ranges
	MatchRStatus               // http: status code matches
	MatchHeader                // http: header pattern (hdr, fhdr)
	MatchCustom                // protocol checks
)

// ExpectRule is "tcp-check expect" / "http-check expect".
type ExpectRule struct {
	Match   Match
	Negate  bool
	MinRecv int // -1 unset
	Data    []byte
	// LogFormat marks string-lf and binary-lf; DataFmt, when set, renders
	// their pattern per run (binary-lf's as hex digits).
	LogFormat bool
	DataFmt   Dyn
	Re        *regexp.Regexp
	Codes     []CodeRange
	Header    *HeaderMatch
	// Custom judges the data of a protocol check: done false asks for
	// more data (unless eof).
	Custom func(data []byte, eof bool) (v Verdict, done bool)

	OK, Err, Tout srvstate.CheckStatus // statuses, defaults L7OK/L7RSP/L7TOUT
	OnSuccess     string               // info on success when last
	OnError       string               // info on failure
	// OnSuccessFmt and OnErrorFmt, when set, are on-success and on-error
	// log-format strings with expressions, rendered in place of OnSuccess
	// and OnError.
	OnSuccessFmt, OnErrorFmt Dyn
	// StatusCode is "status-code <expr>": the check's code when the rule
	// ends the check (success as the last rule, or failure to match); ok
	// false (no sample, not an integer) keeps the default code.
	StatusCode func(c *Context) (code int, ok bool)
	// Text names the pattern in failure messages ("'valid'").
	Text string
}

// Verdict is a matcher's answer. A zero Status means "matched, go on".
type Verdict struct {
	Status srvstate.CheckStatus
	Code   int
	Info   string
}

// CodeRange is an inclusive range of HTTP status codes.
type CodeRange struct{ Lo, Hi int }

// HeaderMatch is "hdr"/"fhdr": name and optional value patterns.
type HeaderMatch struct {
	Full        bool // fhdr: the value is not split on commas
	Name, Value StrMatch
	HasValue    bool
	// NameFmt and ValueFmt are name-lf and value-lf: the pattern is
	// rendered when the rule runs.
	NameFmt, ValueFmt Dyn
}

// StrMatch is a "-m str|beg|end|sub|reg" pattern.
type StrMatch struct {
	Meth string // str (default), beg, end, sub, reg
	S    string
	Re   *regexp.Regexp
}

func (m StrMatch) match(s string, fold bool) bool {
	p := m.S
	if fold {
		s, p = lower(s), lower(p)
	}
	switch m.Meth {
	case "beg":
		return len(s) >= len(p) && s[:len(p)] == p
	case "end":
		return len(s) >= len(p) && s[len(s)-len(p):] == p
	case "sub":
		return bytes.Contains([]byte(s), []byte(p))
	case "reg":
		return m.Re != nil && m.Re.MatchString(s)
	}
	return s == p
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// ParseCodes reads "200,201,300-310".
func ParseCodes(s string) ([]CodeRange, bool) {
	var out []CodeRange
	for _, part := range bytes.Split([]byte(s), []byte(",")) {
		lo, hi, isRange := bytes.Cut(part, []byte("-"))
		a, err := strconv.Atoi(string(lo))
		if err != nil {
			return nil, false
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(string(hi)); err != nil || b < a {
				return nil, false
			}
		}
		out = append(out, CodeRange{a, b})
	}
	return out, len(out) > 0
}

// Finish numbers the rules and prepends the implicit connect when the
// script does not start with one, as HAProxy does after parsing. HTTP
// scripts get the implicit last expect (2xx or 3xx) when the last send
// has no expect after it.
func (s *Script) Finish() {
	for i := range s.Rules {
		if s.Rules[i].Step == 0 {
			s.Rules[i].Step = i + 1
		}
	}
	// Variable rules may come before the first connect.
	first := 0
	for first < len(s.Rules) && s.Rules[first].Action == Vars {
		first++
	}
	if first == len(s.Rules) || s.Rules[first].Action != Connect {
		s.Rules = append([]Rule{{Action: Connect, Conn: ConnectRule{Default: true}}}, s.Rules...)
	}
	if s.Kind == KindHTTP {
		hasSend := false
		for _, r := range s.Rules {
			if r.Action == Send {
				hasSend = true
			}
		}
		if !hasSend {
			// An http-check ruleset always sends a request: the default one.
			// It goes right after the first connect, before the
			// expects that judge its answer.
			at := 1
			for at < len(s.Rules) && s.Rules[at].Action == Vars {
				at++
			}
			s.Rules = append(s.Rules[:at], append([]Rule{{Action: Send, Step: at, HTTP: &Request{}}}, s.Rules[at:]...)...)
		}
		lastIO := len(s.Rules) - 1
		for lastIO > 0 && s.Rules[lastIO].Action == Vars {
			lastIO--
		}
		if last := s.Rules[len(s.Rules)-1]; s.Rules[lastIO].Action != Expect {
			s.Rules = append(s.Rules, Rule{Action: Expect, Step: last.Step + 1, Exp: &ExpectRule{
				Match: MatchStatus, Codes: []CodeRange{{200, 399}}, MinRecv: -1, Err: srvstate.CheckL7STS}})
		}
	}
	for i := range s.Rules {
		if e := s.Rules[i].Exp; e != nil {
			if e.OK == 0 {
				e.OK = srvstate.CheckL7OK
			}
			if e.Err == 0 {
				e.Err = srvstate.CheckL7RSP
				if e.Match == MatchStatus || e.Match == MatchRStatus {
					e.Err = srvstate.CheckL7STS
				}
			}
			if e.Tout == 0 {
				e.Tout = srvstate.CheckL7TOUT
			}
		}
		if r := s.Rules[i].HTTP; r != nil {
			if r.Method == "" {
				r.Method = "OPTIONS"
			}
			if r.URI == "" {
				r.URI = "/"
			}
			if r.Version == "" {
				r.Version = "HTTP/1.0"
			}
			r.static = nil
			if r.URIFmt == nil && r.BodyFmt == nil && !hasFmt(r.HeaderFmts) {
				r.static = r.render(nil, false, "")
			}
		}
	}
}

// TCPConnect is the plain connect check ("check" alone).
func TCPConnect() *Script {
	s := &Script{Kind: KindProto}
	s.Finish()
	return s
}

func hasFmt(fs []Dyn) bool {
	for _, f := range fs {
		if f != nil {
			return true
		}
	}
	return false
}

// HTTPScript is "option httpchk <method> <uri> <version>" alone.
func HTTPScript(method, uri, version string) *Script {
	s := &Script{Kind: KindHTTP, Rules: []Rule{{Action: Send, HTTP: &Request{Method: method, URI: uri, Version: version}}}}
	s.Finish()
	return s
}
