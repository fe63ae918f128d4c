// Package rules compiles http-request, http-response and tcp-request rule
// lists (CM 4.2) into actions and runs them against a transaction. It does
// not own the HTTP message: header, target and status edits go through
// the small Txn interface, so the proxy keeps its own types.
package rules

import (
	"context"
	"net/netip"
	"sort"
	"time"

	"bulwark/internal/acl"
	"bulwark/internal/config"
	"bulwark/internal/h1"
	"bulwark/internal/model"
	"bulwark/internal/stick"
)

// Txn is acl.Txn plus the edits rules make.
type Txn interface {
	acl.Txn
	// HeaderList returns the live header list of the request (resp false)
	// or response for editing in place.
	HeaderList(resp bool) *[]h1.Header
	SetTarget(target []byte)
	SetMethod(method []byte)
	// SetAddr replaces the source (dst false) or destination address the
	// rules, logs and forwarding see (set-src, set-dst, ...).
	SetAddr(dst bool, ap netip.AddrPort)
	// SetTimeout overrides the stream's server (tunnel false) or tunnel
	// timeout.
	SetTimeout(tunnel bool, d time.Duration)
	// WaitBody waits up to d for the request body, or its first atLeast
	// bytes (wait-for-body).
	WaitBody(d time.Duration, atLeast int64) bool
	// SetSockOpt sets the mark (SO_MARK) or the TOS of the client
	// connection's packets.
	SetSockOpt(mark bool, v int)
	SetStatus(code int, reason []byte)
	SetLogLevel(level string)
	// Capture stores a captured value in slot id (http-request capture).
	Capture(id int, v []byte)
	// CacheUse looks the request up in the named cache ("http-request
	// cache-use"): a hit is delivered instead of a server's response.
	CacheUse(name string)
	// CacheStore stores the response in the named cache with its header
	// fields as they are now ("http-response cache-store"); later rules
	// edit only what this client gets.
	CacheStore(name string)
}

// RewriteTxn is implemented by a Txn whose messages live in buffers of
// bounded size (tune.bufsize): a rewrite that would make the message
// larger than its buffer fails, as in HAProxy (strict-mode).
type RewriteTxn interface {
	// Room returns how many bytes the request (resp false) or the
	// response may still grow by.
	Room(resp bool) int
	// RewriteFailed counts a rewrite that failed, applied or not
	// ("wrew" in the statistics).
	RewriteFailed()
}

// Verdict is how a rule list ended.
type Verdict uint8

const (
	// Continue: no terminal action ran; processing goes on.
	Continue Verdict = iota
	// Allow stops this list and lets the message through.
	Allow
	// Deny answers Status (Body/Headers when given, else the proxy's
	// errorfile for Status) and closes; in http-response it replaces the
	// response.
	Deny
	// Tarpit holds the connection for "timeout tarpit", then answers Status.
	Tarpit
	// Auth answers 401 with WWW-Authenticate: Basic realm="Realm".
	Auth
	// Redirect answers Status with Location.
	Redirect
	// Return answers Status with Body, ContentType and Headers; Errorfile
	// means the proxy's errorfile for Status instead.
	Return
	// Reject closes the connection without a response (tcp-request).
	Reject
	// Accept stops a tcp-request list and accepts.
	Accept
	// Error: an edit would have produced an invalid message (CR, LF, NUL
	// or another control character in a header value, URI or Location).
	// Nothing was injected; the proxy answers Status (500 for requests,
	// 502 for responses) as HAProxy's default strict-mode does for a
	// failed rewrite.
	Error
	// Service hands the request to a built-in service ("use-service",
	// Result.Service names it).
	Service
	// Close ends the server connection once what was received is
	// forwarded (tcp-response content close).
	Close
	// Wait: the rule at Pos cannot decide on the data received so far
	// (acl.Eval.Partial); run the list again when more has arrived.
	Wait
	// SwitchMode upgrades a TCP session to HTTP ("tcp-request content
	// switch-mode http"), with the multiplexer in Result.Proto when the
	// rule names one; no later content rule runs.
	SwitchMode
)

var verdictNames = [...]string{"continue", "allow", "deny", "tarpit", "auth", "redirect", "return", "reject", "accept", "error", "service", "close", "wait", "switch-mode"}

func (v Verdict) String() string { return verdictNames[v] }

// Result is the outcome of running a list. Slices alias the Exec's arena
// or the compiled rules and are valid until the arena is reset.
type Result struct {
	Verdict Verdict
	Status  int
	// Errorfile: answer the proxy's error message for Status.
	Errorfile bool
	// Raw is a complete response to send as is (an errorfile); HasRaw
	// with an empty Raw means send nothing and close.
	Raw         []byte
	HasRaw      bool
	ContentType string
	Body        []byte
	Headers     []h1.Header
	Location    []byte
	Realm       string
	Service     string // "use-service": the service's name
	Proto       string // "switch-mode http proto <name>": h1 or h2, "" to detect
	// Pos is the rule that decided (for logs and debugging).
	Pos config.Pos
}

// Kind selects the rule list and so which actions are valid.
type Kind uint8

const (
	HTTPRequest Kind = iota
	HTTPResponse
	TCPConnection
	TCPContent
	// HTTPAfter is http-after-response: every response, generated ones
	// included, after the http-response rules.
	HTTPAfter
	// TCPSession is tcp-request session: after the handshakes, before
	// the first request is read.
	TCPSession
	// TCPResponse is tcp-response content.
	TCPResponse
	// Redirects are the proxy's legacy "redirect" lines: after its
	// http-request rules, before use_backend.
	Redirects
)

// tracksLast reports whether a rule ending this list becomes the stream's
// last rule (last_rule_file, CM 7.3.2): tcp-request connection and session
// rules run before the stream exists, and legacy redirects keep no record.
func (k Kind) tracksLast() bool {
	return k != TCPConnection && k != TCPSession && k != Redirects
}

// LastRuleTxn is implemented by a Txn that remembers the last rule that
// ended one of its rule lists, for last_rule_file and last_rule_line.
type LastRuleTxn interface {
	SetLastRule(pos config.Pos)
}

func (k Kind) http() bool {
	return k == HTTPRequest || k == HTTPResponse || k == HTTPAfter || k == Redirects
}

// kindNames are the rule sets as the configuration spells them.
var kindNames = [...]string{"http-request", "http-response", "tcp-request connection", "tcp-request content",
	"http-after-response", "tcp-request session", "tcp-response content", "redirect"}

func (k Kind) String() string { return kindNames[k] }

// List is a compiled rule list.
type List struct {
	kind  Kind
	rules []*rule
}

// Exec carries the per-session state of running rules; the proxy keeps
// one per session and clears Arena once the message head is written.
type Exec struct {
	E     *acl.Eval
	T     Txn
	Arena []byte
	// Own is the proxy's stick table, for track-sc without "table".
	Own *stick.Table
	res Result
	// DNS answers "do-resolve"; nil leaves its variables unset. Ctx
	// bounds the wait (the session's), nil for none beyond the
	// resolvers' own timeouts.
	DNS Resolver
	Ctx context.Context
	// Lax is "strict-mode off": a failed rewrite is skipped instead of
	// answering an error.
	Lax bool
}

// Options for Compile.
type Options struct {
	// ReadFile reads "file"/"lf-file" payloads; nil means os.ReadFile.
	ReadFile func(string) ([]byte, error)
	// Tables resolves "table <name>" of track-sc; the default table is the
	// proxy's own, resolved under its name.
	Tables func(name string) *stick.Table
	// Resolvers reports whether a resolvers section exists, for
	// "do-resolve"; nil accepts any name.
	Resolvers func(name string) bool
	// Errors returns the errorfiles of an "http-errors" section by status,
	// and whether the section exists.
	Errors func(name string) (map[int][]byte, bool)
	// Experimental is "expose-experimental-directives".
	Experimental bool
}

type rule struct {
	pos  config.Pos
	cond *acl.Cond
	act  action
}

type action interface {
	run(x *Exec, r *rule, res *Result) bool // true: stop the list
}

// Compile compiles one rule list of p (HTTPRequest: p.HTTPRequest, ...).
// Rules inherited from a named defaults section run first.
func Compile(p *model.Proxy, kind Kind, set *acl.Set, opt Options) (*List, config.Diagnostics) {
	var src []*model.Rule
	switch kind {
	case HTTPRequest:
		src = p.HTTPRequest
	case HTTPResponse:
		src = p.HTTPResponse
	case HTTPAfter:
		src = p.HTTPAfter
	case TCPResponse:
		src = p.TCPResponse
	case Redirects:
		// "redirect location <loc> ..." is the action "redirect" with the
		// type as its first argument.
		for _, r := range p.Redirects {
			cp := *r
			cp.Action = "redirect"
			cp.Args = append([]config.Word{{Pos: r.Pos, Text: r.Action}}, r.Args...)
			src = append(src, &cp)
		}
	default:
		for _, r := range p.TCPRequest {
			if r.Keyword == kind.String() {
				src = append(src, r)
			}
		}
	}
	src = append([]*model.Rule(nil), src...)
	sort.SliceStable(src, func(i, j int) bool { return src[i].FromDefaults && !src[j].FromDefaults })
	c := &compiler{p: p, kind: kind, set: set, opt: opt}
	l := &List{kind: kind}
	for _, mr := range src {
		set.At(mr.Pos)
		cond, ds := set.Cond(mr.Cond)
		c.ds = append(c.ds, ds...)
		if ds.HasAlerts() {
			continue
		}
		act := c.action(mr)
		if act == nil {
			continue
		}
		l.rules = append(l.rules, &rule{pos: mr.Pos, cond: cond, act: act})
	}
	return l, c.ds
}

// Len returns the number of compiled rules.
func (l *List) Len() int { return len(l.rules) }

// Run evaluates the list in order until a terminal action. With
// x.E.Partial set, a rule whose condition cannot be decided yet ends the
// run with Wait: the rules before it have run, and run again with the
// list, as HAProxy's inspection restarts from the first rule.
func (l *List) Run(x *Exec) Result {
	x.E.Response = l.kind == HTTPResponse || l.kind == HTTPAfter || l.kind == TCPResponse
	x.E.Invalidate()
	// CM 4.2 "strict-mode": back on whenever a rule set starts.
	x.Lax = false
	for _, r := range l.rules {
		if !r.cond.Match(x.E) {
			if x.E.Partial && x.E.Missed() {
				return Result{Verdict: Wait, Pos: r.pos}
			}
			continue
		}
		// The result lives in x: a local would escape through the
		// action interface and cost an allocation per matched rule.
		x.res = Result{}
		if r.act.run(x, r, &x.res) {
			x.res.Pos = r.pos
			if l.kind.tracksLast() {
				if lr, ok := x.T.(LastRuleTxn); ok {
					lr.SetLastRule(r.pos)
				}
			}
			return x.res
		}
		// The action may have changed what later conditions read.
		x.E.Invalidate()
	}
	return Result{}
}

// validValue accepts header field values: no CTL but HTAB, no DEL
// (RFC 9110 §5.5). CR, LF and NUL are what response splitting needs.
func validValue(v []byte) bool {
	for _, c := range v {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// validTarget accepts a request-target: visible ASCII only, so an edit
// cannot split the request line.
func validTarget(v []byte) bool {
	for _, c := range v {
		if c <= 0x20 || c >= 0x7f {
			return false
		}
	}
	return len(v) > 0
}

// validHeaderName accepts what HAProxy accepts as a header name to set
// (any visible character) except the colon, which would end the name
// early and let the value forge another field.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || stringsContains("!#$%&'*+-.^_`|~", c)) {
			return false
		}
	}
	return true
}

func stringsContains(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

// expandRefs turns HAProxy's "\1" back-references into Go's "${1}".
func expandRefs(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
			out = append(out, '$', '{', s[i+1], '}')
			i++
			continue
		}
		if s[i] == '$' {
			out = append(out, '$', '$')
			continue
		}
		out = append(out, s[i])
	}
	return string(out)
}
