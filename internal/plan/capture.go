package plan

import (
	"strconv"
	"strings"

	"bulwark/internal/config"
	"bulwark/internal/model"
)

// HeaderCapture is a "capture request|response header <name> len <n>" line.
type HeaderCapture struct {
	Name string // lower-case, for h1.Get
	Max  int
}

// Captures are a frontend's header captures (CM 4.2 "capture request
// header"), shown in the httplog line as {a|b} blocks.
type Captures struct {
	Req, Resp []HeaderCapture
	// Slots is the number of request slots: header captures first, then
	// "http-request capture ... len N" rules.
	Slots int
}

func compileCaptures(p *model.Proxy, ds *config.Diagnostics) Captures {
	var c Captures
	for _, d := range p.Captures {
		if d.Arg(0) == "cookie" {
			*ds = append(*ds, config.Diagnostic{Pos: d.Pos, Severity: config.SevAlert,
				Msg: "'capture cookie' is not supported by bulwark yet", Code: model.CodeUnsupported})
			continue
		}
		// capture request|response header <name> len <length>
		if len(d.Args) != 5 || (d.Arg(0) != "request" && d.Arg(0) != "response") || d.Arg(1) != "header" || d.Arg(3) != "len" {
			ds.Alertf(d.Pos, "'capture' expects 'request header <name> len <length>' or 'response header <name> len <length>'")
			continue
		}
		n, err := strconv.Atoi(d.Arg(4))
		if err != nil || n <= 0 || n > 65536 {
			ds.Alertf(d.ArgPos(4), "'capture %s header' : invalid length '%s'", d.Arg(0), d.Arg(4))
			continue
		}
		hc := HeaderCapture{Name: strings.ToLower(d.Arg(2)), Max: n}
		if d.Arg(0) == "request" {
			c.Req = append(c.Req, hc)
		} else {
			c.Resp = append(c.Resp, hc)
		}
	}
	c.Slots = len(c.Req)
	for _, r := range p.HTTPRequest {
		if r.Action == "capture" && len(r.Args) == 3 && r.Args[1].Text == "len" {
			c.Slots++
		}
	}
	return c
}
