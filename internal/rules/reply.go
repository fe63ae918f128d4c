package rules

import (
	"strconv"

	"bulwark/internal/acl"
	"bulwark/internal/config"
	"bulwark/internal/model"
)

// Reply is one of a proxy's error messages (CM 4.2 "errorfile",
// "errorloc", "http-error"): what Bulwark answers instead of its built-in
// page for a status it generates.
type Reply struct{ a *replyAction }

// RawReply is an errorfile: raw is sent as is; empty raw sends nothing
// and closes the connection.
func RawReply(status int, raw []byte) *Reply {
	return &Reply{&replyAction{verdict: Deny, status: status, raw: raw, hasRaw: true}}
}

// LocationReply is "errorloc302"/"errorloc303": a redirection to url.
func LocationReply(status, code int, url string) *Reply {
	reason := "Found"
	if code == 303 {
		reason = "See Other"
	}
	raw := "HTTP/1.1 " + strconv.Itoa(code) + " " + reason + "\r\ncontent-length: 0\r\nlocation: " + url +
		"\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n"
	return RawReply(status, []byte(raw))
}

// CompileHTTPError compiles an "http-error" line (model.ErrorMsg.Rule).
// keep reports "errorfiles <name>" naming a section with nothing for the
// status (the proxy's message stays); reset reports "default-errorfiles"
// (back to the built-in page). Both give a nil Reply.
func CompileHTTPError(p *model.Proxy, r *model.Rule, set *acl.Set, opt Options) (rep *Reply, keep, reset bool, ds config.Diagnostics) {
	c := &compiler{p: p, kind: HTTPRequest, set: set, opt: opt}
	rp := c.reply(r)
	switch {
	case rp == nil:
		return nil, false, false, c.ds
	case rp.sectionMiss:
		return nil, true, false, c.ds
	case rp.defaultErr:
		return nil, false, true, c.ds
	}
	rp.verdict, rp.errorfile = Return, false
	return &Reply{rp}, false, false, c.ds
}

// Fill renders the reply for the transaction in x.
func (r *Reply) Fill(x *Exec) Result {
	var res Result
	r.a.fill(x, &res)
	return res
}

// Raw returns the errorfile bytes when the reply is one.
func (r *Reply) Raw() ([]byte, bool) { return r.a.raw, r.a.hasRaw }
