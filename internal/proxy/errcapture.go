package proxy

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// errCapture keeps a frontend's last invalid request for "show errors"
// (MG 9.3), as HAProxy keeps one per proxy and direction.
type errCapture struct {
	mu    sync.Mutex
	last  *capturedErr
	count uint64
}

type capturedErr struct {
	when   time.Time
	src    netip.AddrPort
	event  uint64
	reason string
	data   []byte
	pos    int // where parsing stopped
}

// capture copies the bytes of a request that failed to parse; the copy
// is bounded by the buffer the request was read into.
func (ec *errCapture) capture(src netip.AddrPort, reason string, data []byte) {
	ec.mu.Lock()
	defer ec.mu.Unlock()
	ec.last = &capturedErr{when: time.Now(), src: src, event: ec.count, reason: reason,
		data: append([]byte(nil), data...), pos: len(data)}
	ec.count++
}

func (ec *errCapture) load() (*capturedErr, uint64) {
	ec.mu.Lock()
	defer ec.mu.Unlock()
	return ec.last, ec.count
}

// apiShowErrors is "show errors [<px>] [request|response]": the last
// invalid request of each frontend with its bytes. Responses are not
// captured, so "response" lists none.
func (rt *Runtime) apiShowErrors(args []string) string {
	var px string
	wantReq := true
	for _, a := range args {
		switch a {
		case "request":
		case "response":
			wantReq = false
		default:
			px = a
		}
	}
	if px != "" && rt.frontendNamed(px) == nil && rt.backends[px] == nil {
		if id, err := strconv.Atoi(strings.TrimPrefix(px, "#")); err != nil || !rt.proxyIDExists(id) {
			return "No such proxy.\n"
		}
	}
	var total uint64
	var body strings.Builder
	for _, f := range rt.frontends {
		ce, n := f.errs.load()
		total += n
		if ce == nil || !wantReq || px != "" && px != f.name && px != "#"+strconv.Itoa(f.cfg.ID) {
			continue
		}
		fmt.Fprintf(&body, "\n[%s] frontend %s (#%d): invalid request\n", ce.when.Format("02/Jan/2006:15:04:05.000"), f.name, f.cfg.ID)
		fmt.Fprintf(&body, "  backend <NONE> (#-1), server <NONE> (#-1), event #%d, src %s:%d\n", ce.event, ce.src.Addr().Unmap(), ce.src.Port())
		fmt.Fprintf(&body, "  buffer starts at 0 (including 0 out), %d free,\n", max(f.bufSize-len(ce.data), 0))
		fmt.Fprintf(&body, "  len %d, wraps at %d, error at position %d\n", len(ce.data), f.bufSize, ce.pos)
		fmt.Fprintf(&body, "  reason: %s :\n\n", ce.reason)
		dumpText(&body, ce.data)
	}
	return fmt.Sprintf("Total events captured on [%s] : %d\n", time.Now().Format("02/Jan/2006:15:04:05.000"), total) + body.String()
}

func (rt *Runtime) proxyIDExists(id int) bool {
	for _, p := range rt.model.Proxies {
		if p.ID == id {
			return true
		}
	}
	return false
}

// dumpText writes data as HAProxy's error dumps do: one line per line of
// the message, its offset first, control bytes escaped, long lines cut
// and continued on a line marked '+'.
func dumpText(b *strings.Builder, data []byte) {
	const width = 72
	off, cont := 0, false
	for off < len(data) {
		mark := ' '
		if cont {
			mark = '+'
		}
		fmt.Fprintf(b, "  %05d%c ", off, mark)
		n := 0
		cont = false
		for off < len(data) {
			if n >= width {
				cont = true
				break
			}
			c := data[off]
			off++
			if c == '\n' {
				b.WriteString(`\n`)
				break
			}
			switch {
			case c == '\r':
				b.WriteString(`\r`)
				n += 2
			case c == '\t':
				b.WriteString(`\t`)
				n += 2
			case c < 0x20 || c >= 0x7f || c == '\\':
				fmt.Fprintf(b, `\x%02x`, c)
				n += 4
			default:
				b.WriteByte(c)
				n++
			}
		}
		b.WriteByte('\n')
	}
}
