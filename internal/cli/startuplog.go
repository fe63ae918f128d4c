package cli

import (
	"io"
	"sync"
)

// startupLog passes what the process prints to its standard error and
// keeps a copy until the proxy serves, for the runtime API's "show
// startup-logs" (HAProxy keeps its startup messages the same way). The
// copy is bounded; a nil *startupLog keeps nothing.
type startupLog struct {
	w      io.Writer
	mu     sync.Mutex
	buf    []byte
	frozen bool
}

const startupLogMax = 64 << 10

func (l *startupLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	if !l.frozen && len(l.buf) < startupLogMax {
		l.buf = append(l.buf, p[:min(len(p), startupLogMax-len(l.buf))]...)
	}
	l.mu.Unlock()
	return l.w.Write(p)
}

// freeze ends the startup: later messages are not kept.
func (l *startupLog) freeze() {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.frozen = true
	l.mu.Unlock()
}

func (l *startupLog) String() string {
	if l == nil {
		return ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.buf)
}
