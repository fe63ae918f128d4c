package model

import (
	"strconv"

	"bulwark/internal/config"
)

// RetryOn is the set of events of "retry-on" on which a request is sent
// again (HAProxy 2.6 manual, section 4.2). The zero value is "none".
type RetryOn uint32

// The events of "retry-on". The status bits follow in statusRetry.
const (
	// RetryConnFailure: the connection failed, or the request could not
	// be sent. The default.
	RetryConnFailure RetryOn = 1 << iota
	// RetryEmptyResponse: the server closed after (part of) the request
	// was sent, without a byte of response.
	RetryEmptyResponse
	// RetryJunkResponse: the response head was incomplete or not HTTP.
	RetryJunkResponse
	// RetryResponseTimeout: "timeout server" struck before a byte of
	// response.
	RetryResponseTimeout
	// Retry0RTTRejected: early data rejected. Bulwark never sends
	// requests in TLS early data, so the event cannot happen; the keyword
	// is accepted because it is harmless.
	Retry0RTTRejected
	retryStatusBase
)

// retryStatuses are the statuses "retry-on" accepts, in bit order after
// retryStatusBase.
var retryStatuses = [...]int{401, 403, 404, 408, 425, 500, 501, 502, 503, 504}

// allRetryable is "all-retryable-errors".
var allRetryable = RetryConnFailure | RetryEmptyResponse | RetryJunkResponse | RetryResponseTimeout |
	Retry0RTTRejected | retryStatusBit(500) | retryStatusBit(502) | retryStatusBit(503) | retryStatusBit(504)

func retryStatusBit(code int) RetryOn {
	for i, c := range retryStatuses {
		if c == code {
			return retryStatusBase << i
		}
	}
	return 0
}

// RetryStatus returns the event of a final response with this status, 0
// for a status retry-on cannot name.
func RetryStatus(code int) RetryOn { return retryStatusBit(code) }

// Status reports whether a final response with this status is retried.
func (r RetryOn) Status(code int) bool {
	b := retryStatusBit(code)
	return b != 0 && r&b != 0
}

// Statuses reports whether any status is in the set.
func (r RetryOn) Statuses() bool { return r >= retryStatusBase }

// String renders the set as "retry-on" arguments.
func (r RetryOn) String() string {
	if r == 0 {
		return "none"
	}
	var out []byte
	add := func(s string) {
		if len(out) > 0 {
			out = append(out, ' ')
		}
		out = append(out, s...)
	}
	for _, k := range retryKeywords {
		if r&k.bit != 0 {
			add(k.name)
		}
	}
	for _, c := range retryStatuses {
		if r.Status(c) {
			add(strconv.Itoa(c))
		}
	}
	return string(out)
}

var retryKeywords = [...]struct {
	name string
	bit  RetryOn
}{
	{"conn-failure", RetryConnFailure},
	{"empty-response", RetryEmptyResponse},
	{"junk-response", RetryJunkResponse},
	{"response-timeout", RetryResponseTimeout},
	{"0rtt-rejected", Retry0RTTRejected},
}

// retryOn compiles "retry-on": the list replaces any earlier one (it is
// not cumulative), and "none" stands alone. HAProxy ignores it outside
// HTTP mode; so does the proxy.
func (c *compiler) retryOn(p *Proxy, d *config.Directive) {
	if len(d.Args) == 0 {
		c.ds.Alertf(d.Pos, "'retry-on' needs at least one keyword to specify when to retry")
		return
	}
	var r RetryOn
	for i, w := range d.Args {
		switch w.Text {
		case "none":
			if len(d.Args) != 1 {
				c.ds.Alertf(w.Pos, "'retry-on' 'none' keyword only usable alone")
				return
			}
			continue
		case "all-retryable-errors":
			r |= allRetryable
			continue
		}
		if b := retryKeywordBit(w.Text); b != 0 {
			r |= b
			continue
		}
		if code, err := strconv.Atoi(w.Text); err == nil && retryStatusBit(code) != 0 {
			r |= retryStatusBit(code)
			continue
		}
		c.ds.Alertf(d.ArgPos(i), "'retry-on': unknown keyword '%s' (expects none, conn-failure, empty-response, junk-response, response-timeout, 0rtt-rejected, all-retryable-errors or one of the statuses 401 403 404 408 425 500 501 502 503 504)", w.Text)
		return
	}
	p.RetryOn = r
}

func retryKeywordBit(name string) RetryOn {
	for _, k := range retryKeywords {
		if k.name == name {
			return k.bit
		}
	}
	return 0
}
