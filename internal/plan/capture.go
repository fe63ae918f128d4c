package plan

import (
	"strings"

	"bulwark/internal/model"
)

// HeaderCapture is a "capture request|response header <name> len <n>" line.
type HeaderCapture struct {
	Name string // lower-case, for h1.Get
	Max  int
	Slot int // its index among the slots of its direction
}

// Captures are a frontend's capture slots (CM 4.2 "capture request
// header", "declare capture", "http-request capture"), shown in the
// httplog line as {a|b} blocks and read by capture.req.hdr(<slot>).
type Captures struct {
	Req, Resp []HeaderCapture
	// ReqLen and RespLen are the length of every slot, in slot order:
	// header captures, declared slots and the slots of "http-request
	// capture ... len N" rules, as the configuration orders them.
	ReqLen, RespLen []int
	// Slots is len(ReqLen).
	Slots int
}

func compileCaptures(p *model.Proxy) Captures {
	var c Captures
	for _, mc := range p.Captures {
		lens := &c.ReqLen
		if mc.Response {
			lens = &c.RespLen
		}
		if mc.Name != "" {
			hc := HeaderCapture{Name: strings.ToLower(mc.Name), Max: mc.Len, Slot: len(*lens)}
			if mc.Response {
				c.Resp = append(c.Resp, hc)
			} else {
				c.Req = append(c.Req, hc)
			}
		}
		*lens = append(*lens, mc.Len)
	}
	c.Slots = len(c.ReqLen)
	return c
}
