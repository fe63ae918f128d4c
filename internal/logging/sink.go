package logging

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Facilities in syslog order (RFC 5424 §6.2.1).
var facilities = []string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "auth2", "ftp", "ntp", "audit", "alert", "cron2", "local0", "local1",
	"local2", "local3", "local4", "local5", "local6", "local7"}

var levels = []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// Target is one "log" destination.
type Target struct {
	// Addr is "127.0.0.1:514", "udp@...", "/dev/log", "unix@...",
	// "stdout", "stderr", or a stream target: "tcp@host:port",
	// "tcp4@...", "tcp6@...", "uxst@/path" (RFC 6587 octet counting).
	Addr     string
	Facility string
	Level    string // maximum level sent; "" = all
	MinLevel string // more severe levels are sent as this one; "" = none
	// Format is local (default), rfc3164, rfc5424, priority, short,
	// timed, iso or raw (CM 4.2 "log").
	Format   string
	Len      int
	Tag      string
	Hostname string
	// OctetCount frames stream lines with RFC 6587's octet count
	// ("bulwark-log-framing octet-count") instead of a line feed after
	// each (HAProxy 2.6's "legacy" framing, the default); with line
	// feeds, those inside a line are written "#0A" so that a line cannot
	// be split into two.
	OctetCount bool
	// SendHostname is "log-send-hostname": rfc5424 lines carry the host
	// name only then ("-" otherwise, as HAProxy's do); rfc3164 always.
	SendHostname bool
	// Event receives the target's operational messages (connection
	// lost, lines dropped); nil writes them to the standard error.
	Event func(string)
}

// Queue bounds. Lines wait in a queue for the sink's writer, so that the
// goroutine that logs never waits for a receiver: a receiver that is gone
// or stops reading fills the queue, and further lines are dropped and
// counted. The queue holds maxQueueBytes of lines of the target's length,
// within these counts.
const (
	maxQueueBytes = 4 << 20
	minQueueLines = 64
	maxQueueLines = 4096
)

// Stream targets: how long one write may take before the connection is
// deemed stuck (its framing is then lost: it is closed and opened again),
// and the reconnection back-off.
const (
	streamWriteTimeout = 5 * time.Second
	dialTimeout        = 3 * time.Second
	minBackoff         = 100 * time.Millisecond
	maxBackoff         = 5 * time.Second
	// closeDrain bounds how long Close spends writing what is queued.
	closeDrain = time.Second
)

type sinkKind int

const (
	kindFile   sinkKind = iota // stdout, stderr: one line per write
	kindDgram                  // UDP, unix datagram: one message per datagram
	kindStream                 // TCP, unix stream: octet-counted frames
)

// Counters are what a sink's writer counted. The totals of a target
// outlive a reload: Switch.Swap makes the old logger's counters for the
// same target the base of the new one's. Each writer only ever adds to
// its own sink's counters, so no line is lost from the totals however
// the swap and the writers interleave; the old writer may still count
// the lines it had queued.
type Counters struct {
	Sent, Dropped atomic.Uint64
	base          atomic.Pointer[Counters]
	final         atomic.Bool // the writer stopped: nothing counts here any more
}

// Totals returns the counts with those of the earlier loggers. A base
// whose writer stopped is folded in, so that reloads do not make a chain.
func (c *Counters) Totals() (sent, dropped uint64) {
	if b := c.base.Load(); b != nil && b.final.Load() && c.base.CompareAndSwap(b, b.base.Load()) {
		bs, bd := b.Totals()
		c.Sent.Add(bs)
		c.Dropped.Add(bd)
	}
	sent, dropped = c.Sent.Load(), c.Dropped.Load()
	if b := c.base.Load(); b != nil {
		bs, bd := b.Totals()
		sent, dropped = sent+bs, dropped+bd
	}
	return sent, dropped
}

// Sink writes formatted lines to one target. It is safe for concurrent
// use, and Send never blocks on the receiver.
type Sink struct {
	t       Target
	kind    sinkKind
	network string // for kindDgram and kindStream
	addr    string
	w       io.Writer // kindFile
	pri     int
	minLv   int

	q    chan []byte // lines for the writer
	free chan []byte // buffers back from the writer
	stop chan struct{}
	done chan struct{}
	once sync.Once

	ctr atomic.Pointer[Counters]

	// connMu guards conn, the stream writer's connection, which Close
	// reaches to cut a write that a stalled receiver holds.
	connMu sync.Mutex
	conn   net.Conn
	// closeBy is when Close gives up writing; set before stop closes.
	closeBy time.Time
}

// deadline is the deadline of one write: streamWriteTimeout, or what is
// left of Close's second once the sink is closing.
func (s *Sink) deadline() time.Time {
	select {
	case <-s.stop:
		return s.closeBy
	default:
		return time.Now().Add(streamWriteTimeout)
	}
}

// streamPrefixes are the address prefixes of stream targets.
var streamPrefixes = []struct{ prefix, network string }{
	{"tcp@", "tcp"}, {"tcp4@", "tcp4"}, {"tcp6@", "tcp6"}, {"uxst@", "unix"},
}

// Open prepares the destination and starts its writer. Datagram sockets
// are connected once; stream targets are connected by the writer, which
// reconnects with back-off and keeps the queued lines meanwhile.
func Open(t Target) (*Sink, error) {
	s := &Sink{t: t, minLv: -1}
	fac := indexOf(facilities, t.Facility)
	if fac < 0 {
		fac = 16 // local0
	}
	s.pri = fac * 8
	if t.MinLevel != "" {
		s.minLv = indexOf(levels, t.MinLevel)
	}
	if t.Len <= 0 {
		s.t.Len = 1024
	}
	if s.t.Tag == "" {
		s.t.Tag = "bulwark"
	}
	if s.t.Hostname == "" {
		s.t.Hostname = hostOr("")
	}
	if s.t.Event == nil {
		s.t.Event = func(msg string) { fmt.Fprintf(os.Stderr, "[WARNING]  (bulwark) : %s\n", msg) }
	}
	addr := t.Addr
	var w io.Writer
	switch {
	case addr == "stdout":
		s.kind, w = kindFile, os.Stdout
	case addr == "stderr":
		s.kind, w = kindFile, os.Stderr
	case strings.HasPrefix(addr, "/") || strings.HasPrefix(addr, "unix@"):
		s.kind, s.network, s.addr = kindDgram, "unixgram", strings.TrimPrefix(addr, "unix@")
	default:
		for _, p := range streamPrefixes {
			if rest, ok := strings.CutPrefix(addr, p.prefix); ok {
				if _, _, err := net.SplitHostPort(rest); err != nil && p.network != "unix" {
					// HAProxy's default port for syslog, TCP included.
					rest = net.JoinHostPort(strings.Trim(rest, "[]"), "514")
				}
				s.kind, s.network, s.addr = kindStream, p.network, rest
			}
		}
		if s.kind != kindStream {
			for _, pfx := range []string{"udp@", "udp4@", "udp6@", "ipv4@", "ipv6@"} {
				addr = strings.TrimPrefix(addr, pfx)
			}
			// No port (or port 0) is syslog's, as in HAProxy.
			if h, p, err := net.SplitHostPort(addr); err != nil {
				addr = net.JoinHostPort(addr, "514")
			} else if p == "" || p == "0" {
				addr = net.JoinHostPort(h, "514")
			}
			s.kind, s.network, s.addr = kindDgram, "udp", addr
		}
	}
	s.w = w
	if s.kind == kindDgram {
		// Dialled now, before any chroot, so that a jail needs no
		// /dev/log. A unix socket that is not there yet (no syslog daemon
		// running) does not stop the proxy: the writer dials it again for
		// each line until it appears, as HAProxy addresses every datagram
		// anew. A path that exists but takes no datagram (a regular file,
		// a stream socket, no permission) is a configuration error.
		if err := s.dialDgram(); err != nil && (s.network != "unixgram" || !errors.Is(err, fs.ErrNotExist)) {
			return nil, err
		}
	}
	n := min(max(maxQueueBytes/s.t.Len, minQueueLines), maxQueueLines)
	s.q, s.free = make(chan []byte, n), make(chan []byte, n)
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	s.ctr.Store(&Counters{})
	go s.run()
	return s, nil
}

// Key identifies the target for carrying counters over a reload.
func (s *Sink) Key() string { return s.t.Addr }

// Counters returns the sink's totals.
func (s *Sink) Counters() *Counters { return s.ctr.Load() }

// adopt continues the totals of old, the same target in the previous
// logger.
func (s *Sink) adopt(old *Sink) { s.ctr.Load().base.Store(old.ctr.Load()) }

// Send emits msg at the given level name ("info" for traffic logs).
func (s *Sink) Send(level string, msg []byte, now time.Time) { s.SendSD(level, nil, msg, now) }

// SendSD is Send with the structured data of an RFC 5424 line (the
// rendered log-format-sd; nil or empty is "-"). Other formats ignore it.
func (s *Sink) SendSD(level string, sd, msg []byte, now time.Time) {
	lv := indexOf(levels, level)
	if lv < 0 {
		lv = 6
	}
	if max := indexOf(levels, s.t.Level); max >= 0 && lv > max {
		return
	}
	if s.minLv >= 0 && lv < s.minLv {
		lv = s.minLv
	}
	var b []byte
	select {
	case b = <-s.free:
	default:
		b = make([]byte, 0, 256)
	}
	b = s.appendLine(b[:0], lv, sd, msg, now)
	select {
	case s.q <- b:
	default:
		s.ctr.Load().Dropped.Add(1)
		select {
		case s.free <- b:
		default:
		}
	}
}

// appendLine formats one message as the target's format says, truncated
// to its length. The header is one of CM 4.2's formats; a stream target
// gets RFC 6587's octet count in front of it.
func (s *Sink) appendLine(b []byte, lv int, sd, msg []byte, now time.Time) []byte {
	start := 0
	counted := s.kind == kindStream && s.t.OctetCount
	if counted {
		// Room for "LEN " written once the length is known.
		b = append(b, "          "...)
		start = len(b)
	}
	pri := func(v int) {
		b = append(b, '<')
		b = strconv.AppendInt(b, int64(v), 10)
		b = append(b, '>')
	}
	switch s.t.Format {
	case "raw":
	case "priority":
		pri(s.pri + lv)
	case "short":
		pri(lv)
	case "timed":
		pri(lv)
		b = appendISOTime(b, now)
		b = append(b, ' ')
	case "iso":
		b = appendISOTime(b, now)
		b = append(b, ' ')
	case "rfc5424":
		// RFC 5424 §6: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG,
		// with at most six digits of fraction in the timestamp (§6.2.3).
		pri(s.pri + lv)
		b = append(b, "1 "...)
		b = appendISOTime(b, now)
		b = append(b, ' ')
		if s.t.SendHostname {
			b = append(b, header5424(s.t.Hostname, 255)...)
		} else {
			b = append(b, '-')
		}
		b = append(b, ' ')
		b = append(b, header5424(s.t.Tag, 48)...)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(os.Getpid()), 10)
		b = append(b, " - "...)
		if len(sd) == 0 {
			b = append(b, '-')
		} else {
			b = append(b, sd...)
		}
		b = append(b, ' ')
	default: // local and rfc3164
		pri(s.pri + lv)
		b = now.AppendFormat(b, time.Stamp)
		b = append(b, ' ')
		if s.t.Format == "rfc3164" {
			b = append(b, s.t.Hostname...)
			b = append(b, ' ')
		}
		b = append(b, s.t.Tag...)
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(os.Getpid()), 10)
		b = append(b, "]: "...)
	}
	b = append(b, msg...)
	if len(b)-start > s.t.Len && s.kind != kindFile {
		// Like HAProxy's fd@ targets, stdout and stderr are not truncated.
		b = b[:start+s.t.Len]
	}
	switch {
	case s.kind == kindFile:
		b = append(b, '\n')
	case s.kind == kindStream && !s.t.OctetCount:
		b = escapeLF(b)
		b = append(b, '\n')
	case counted:
		// RFC 6587 §3.4.1: MSG-LEN SP SYSLOG-MSG, the count right-aligned
		// in the room left for it, whose head is skipped when written.
		n := strconv.Itoa(len(b) - start)
		off := start - 1 - len(n)
		copy(b[off:], n)
		b[start-1] = ' '
		for i := 0; i < off; i++ {
			b[i] = 0
		}
	}
	return b
}

// escapeLF writes the line feeds of b as "#0A", HAProxy's escape for
// control characters in logs.
func escapeLF(b []byte) []byte {
	n := bytes.Count(b, []byte{'\n'})
	if n == 0 {
		return b
	}
	out := make([]byte, 0, len(b)+2*n)
	for _, c := range b {
		if c == '\n' {
			out = append(out, "#0A"...)
		} else {
			out = append(out, c)
		}
	}
	return out
}

// frame is the bytes of a queued stream line to write: without the
// unused head of the room for its octet count.
func (s *Sink) frame(b []byte) []byte {
	if !s.t.OctetCount {
		return b
	}
	return frame(b)
}

// frame strips the unused head of an octet-counted line.
func frame(b []byte) []byte {
	i := 0
	for i < len(b) && b[i] == 0 {
		i++
	}
	return b[i:]
}

// appendISOTime is the RFC 3339 time with microseconds that rfc5424,
// timed and iso use, with a numeric offset even for UTC ("+00:00"), as
// HAProxy writes it.
func appendISOTime(b []byte, t time.Time) []byte {
	return t.AppendFormat(b, "2006-01-02T15:04:05.000000-07:00")
}

// header5424 makes a HOSTNAME or APP-NAME field valid: printable US-ASCII
// without spaces, at most max characters, "-" when empty.
func header5424(s string, max int) string {
	if s == "" {
		return "-"
	}
	ok := len(s) <= max
	for i := 0; ok && i < len(s); i++ {
		ok = s[i] > ' ' && s[i] < 127
	}
	if ok {
		return s
	}
	b := make([]byte, 0, min(len(s), max))
	for i := 0; i < len(s) && len(b) < max; i++ {
		if c := s[i]; c > ' ' && c < 127 {
			b = append(b, c)
		}
	}
	if len(b) == 0 {
		return "-"
	}
	return string(b)
}

// run writes the queued lines until Close.
func (s *Sink) run() {
	defer close(s.done)
	st := &streamState{s: s, backoff: minBackoff}
	for {
		select {
		case b := <-s.q:
			s.write(st, b)
		case <-s.stop:
			s.drain(st)
			return
		}
	}
}

// streamState is the writer's connection to a stream target.
type streamState struct {
	s       *Sink
	conn    net.Conn
	backoff time.Duration
	// lost: a loss of the receiver was logged and "connected again" is
	// due once a frame is written; lostAt is when, for noteEvery.
	lost   bool
	lostAt time.Time
	// dropping: an episode of drops was announced; reported counts the
	// drops logged so far, droppingAt when the episode was announced.
	dropping   bool
	reported   uint64
	droppingAt time.Time
}

// noteEvery bounds how often an outage or a drop episode is announced: a
// receiver that keeps stalling and recovering gets one line a minute, not
// one per cycle.
const noteEvery = time.Minute

// lose announces that the receiver is unreachable, with the reason, once
// per outage and at most once per noteEvery.
func (st *streamState) lose(what string, err error) {
	if st.lost || !st.lostAt.IsZero() && time.Since(st.lostAt) < noteEvery {
		return
	}
	st.lost, st.lostAt = true, time.Now()
	s := st.s
	s.t.Event(fmt.Sprintf("log %s: %s (%v); reconnecting with back-off, lines wait in a queue of %d and are dropped once it is full",
		s.t.Addr, what, err, cap(s.q)))
}

func (s *Sink) write(st *streamState, b []byte) {
	ctr := s.ctr.Load()
	switch s.kind {
	case kindFile:
		if _, err := s.w.Write(b); err != nil {
			ctr.Dropped.Add(1)
		} else {
			ctr.Sent.Add(1)
		}
	case kindDgram:
		if s.sendDgram(b) {
			ctr.Sent.Add(1)
		} else {
			ctr.Dropped.Add(1)
		}
	case kindStream:
		if !st.send(s.frame(b)) {
			ctr.Dropped.Add(1)
		}
	}
	s.reportDrops(st)
	select {
	case s.free <- b:
	default:
	}
}

// dialDgram connects the datagram socket.
func (s *Sink) dialDgram() error {
	c, err := net.Dial(s.network, s.addr)
	if err != nil {
		return err
	}
	s.connMu.Lock()
	s.w, s.conn = c, c
	s.connMu.Unlock()
	return nil
}

// sendDgram sends one datagram. A datagram that cannot be sent is lost,
// as syslog over UDP is. A connected socket reports an earlier ICMP port
// unreachable (UDP), or a receiver that went away (unix), on the next
// send, which that send then does not make: it is sent again (through a
// new connection for a unix socket the daemon may have recreated), so one
// quiet period does not cost a line. A unix socket whose reader stopped
// makes the write wait, so it is bounded: meanwhile the queue fills and
// drops.
func (s *Sink) sendDgram(b []byte) bool {
	unix := s.network == "unixgram"
	if s.w == nil && (!unix || s.dialDgram() != nil) {
		return false
	}
	c := s.w.(net.Conn)
	if unix {
		c.SetWriteDeadline(s.deadline())
	}
	if _, err := c.Write(b); err == nil {
		return true
	} else if unix && errors.Is(err, os.ErrDeadlineExceeded) {
		return false // stalled, not gone
	}
	if unix {
		c.Close()
		s.connMu.Lock()
		s.w, s.conn = nil, nil
		s.connMu.Unlock()
		if s.dialDgram() != nil {
			return false
		}
		c = s.w.(net.Conn)
		c.SetWriteDeadline(s.deadline())
	}
	_, err := c.Write(b)
	return err == nil
}

// send writes one frame, connecting first when needed, and retries on a
// new connection until it is written or the sink closes. It returns false
// only when the sink closed before the frame was written.
func (st *streamState) send(f []byte) bool {
	s := st.s
	for {
		if st.conn != nil && peerClosed(st.conn) {
			// The receiver closed (a restart): writing would put this
			// frame into a connection that is going away.
			st.lose("the receiver closed the connection", io.EOF)
			st.setConn(nil)
		}
		if st.conn == nil {
			select {
			case <-s.stop:
				return false // closing: no new connection
			default:
			}
			c, err := net.DialTimeout(s.network, s.addr, dialTimeout)
			if err != nil {
				st.lose("cannot connect", err)
				if !st.sleep() {
					return false
				}
				continue
			}
			st.setConn(c)
			st.backoff = minBackoff
		}
		st.conn.SetWriteDeadline(s.deadline())
		_, err := st.conn.Write(f)
		if err == nil {
			s.ctr.Load().Sent.Add(1)
			if st.lost {
				st.lost = false
				s.t.Event(fmt.Sprintf("log %s: connected again", s.t.Addr))
			}
			return true
		}
		st.lose("connection lost", err)
		// The frame may have been cut: the stream's framing is lost, so
		// the frame is sent again whole on a new connection.
		st.setConn(nil)
	}
}

// setConn replaces the writer's connection, closing the previous one.
func (st *streamState) setConn(c net.Conn) {
	s := st.s
	s.connMu.Lock()
	if st.conn != nil {
		st.conn.Close()
	}
	st.conn, s.conn = c, c
	s.connMu.Unlock()
}

// peerClosed reports whether the receiver of a stream closed its side: a
// syslog receiver sends nothing, so readable means end of stream (or an
// error). It peeks without blocking.
func peerClosed(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	closed := false
	var b [1]byte
	rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		closed = err == nil && n == 0 || err != nil && err != syscall.EAGAIN && err != syscall.EINTR
		return true
	})
	return closed
}

// sleep waits for the back-off to pass (doubling it) and reports false
// when the sink closes meanwhile.
func (st *streamState) sleep() bool {
	t := time.NewTimer(st.backoff)
	defer t.Stop()
	st.backoff = min(st.backoff*2, maxBackoff)
	st.s.reportDrops(st)
	select {
	case <-t.C:
		return true
	case <-st.s.stop:
		return false
	}
}

// reportDrops logs drops by episode, never one line per dropped line: the
// first drop announces the episode (at most once per noteEvery), and once
// the queue has drained the count is logged.
func (s *Sink) reportDrops(st *streamState) {
	d := s.ctr.Load().Dropped.Load()
	if d == st.reported {
		return
	}
	if !st.dropping && (st.droppingAt.IsZero() || time.Since(st.droppingAt) >= noteEvery) {
		st.dropping, st.droppingAt = true, time.Now()
		s.t.Event(fmt.Sprintf("log %s: the queue of %d lines is full, log lines are dropped (the receiver is unreachable or does not keep up)", s.t.Addr, cap(s.q)))
	}
	if st.dropping && len(s.q) == 0 {
		s.finishDrops(st)
	}
}

// finishDrops logs the count of the drops not logged yet: at the end of
// an announced episode, and when the sink closes.
func (s *Sink) finishDrops(st *streamState) {
	d := s.ctr.Load().Dropped.Load()
	if d == st.reported {
		return
	}
	s.t.Event(fmt.Sprintf("log %s: %d log lines dropped (%d in total)", s.t.Addr, d-st.reported, d))
	st.reported, st.dropping = d, false
}

// drain writes what is queued, within closeDrain, then closes.
func (s *Sink) drain(st *streamState) {
	deadline := s.closeBy
	for time.Now().Before(deadline) {
		var b []byte
		select {
		case b = <-s.q:
		default:
			deadline = time.Time{}
			continue
		}
		if s.kind == kindStream {
			if st.conn == nil {
				break // not connected: what is left is lost
			}
			st.conn.SetWriteDeadline(deadline)
			if _, err := st.conn.Write(s.frame(b)); err != nil {
				break
			}
			s.ctr.Load().Sent.Add(1)
			continue
		}
		s.write(st, b)
	}
	st.setConn(nil)
	s.finishDrops(st)
	if c, ok := s.w.(net.Conn); ok {
		c.Close()
	}
}

// Close writes what is queued (for at most a second) and releases the
// socket. Lines sent after Close are dropped.
func (s *Sink) Close() error {
	s.once.Do(func() {
		s.closeBy = time.Now().Add(closeDrain)
		close(s.stop)
		s.connMu.Lock()
		if s.conn != nil {
			// A write held by a receiver that stopped reading ends by then.
			s.conn.SetWriteDeadline(s.closeBy)
		}
		s.connMu.Unlock()
	})
	<-s.done
	s.ctr.Load().final.Store(true)
	return nil
}

func hostOr(h string) string {
	if h != "" {
		return h
	}
	n, err := os.Hostname()
	if err != nil {
		return "-"
	}
	return n
}
