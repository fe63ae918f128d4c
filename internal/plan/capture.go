package plan

import (
	"strings"

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

func compileCaptures(p *model.Proxy) Captures {
	var c Captures
	for _, mc := range p.Captures {
		hc := HeaderCapture{Name: strings.ToLower(mc.Name), Max: mc.Len}
		if mc.Response {
			c.Resp = append(c.Resp, hc)
		} else {
			c.Req = append(c.Req, hc)
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
