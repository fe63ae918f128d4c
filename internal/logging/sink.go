package logging

import (
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
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
	Addr     string // "127.0.0.1:514", "/dev/log", "stdout", "stderr", "udp@...", "unix@..."
	Facility string
	Level    string // maximum level sent; "" = all
	Format   string // local (default), rfc3164, rfc5424, raw, short
	Len      int
	Tag      string
	Hostname string
}

// Sink writes formatted lines to one target. It is safe for concurrent use.
type Sink struct {
	t    Target
	mu   sync.Mutex
	w    io.Writer
	conn net.Conn
	// unixPath is the socket of a unix datagram target. It may not exist
	// yet when the proxy starts (no syslog daemon running), or be
	// recreated by a restarted daemon: it is then dialled again for the
	// next line, as HAProxy addresses every datagram anew.
	unixPath string
	datagram bool
	// stream forwards to a TCP syslog server (tcp@ targets).
	stream *streamSink
	pri    int
	buf    []byte
}

// Open prepares the destination. UDP and unix datagram sockets are
// connected once; a send failure drops the line, as syslog over UDP does.
func Open(t Target) (*Sink, error) {
	s := &Sink{t: t}
	fac := indexOf(facilities, t.Facility)
	if fac < 0 {
		fac = 16 // local0
	}
	s.pri = fac * 8
	if t.Len <= 0 {
		s.t.Len = 1024
	}
	if s.t.Tag == "" {
		s.t.Tag = "bulwark"
	}
	addr := t.Addr
	switch {
	case addr == "stdout":
		s.w = os.Stdout
	case addr == "stderr":
		s.w = os.Stderr
	case strings.HasPrefix(addr, "/") || strings.HasPrefix(addr, "unix@"):
		// Dialled now, before any chroot, so that a jail needs no
		// /dev/log; a socket that is not there yet does not stop the
		// proxy (HAProxy starts too, and drops the lines meanwhile). A
		// path that exists but takes no datagram (a regular file, a
		// stream socket, no permission) is a configuration error.
		s.unixPath, s.datagram = strings.TrimPrefix(addr, "unix@"), true
		if err := s.dial(); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	case strings.HasPrefix(addr, "tcp@") || strings.HasPrefix(addr, "tcp4@") || strings.HasPrefix(addr, "tcp6@"):
		network, rest, _ := strings.Cut(addr, "@")
		if _, _, err := net.SplitHostPort(rest); err != nil {
			rest = net.JoinHostPort(strings.Trim(rest, "[]"), "514")
		}
		s.stream = newStreamSink(network, rest)
		s.w = s.stream
	default:
		for _, pfx := range []string{"udp@", "udp4@", "udp6@", "ipv4@", "ipv6@"} {
			addr = strings.TrimPrefix(addr, pfx)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			addr = net.JoinHostPort(addr, "514")
		}
		c, err := net.Dial("udp", addr)
		if err != nil {
			return nil, err
		}
		s.conn, s.w, s.datagram = c, c, true
	}
	return s, nil
}

// redial connects the unix datagram socket; false when it is not there
// (a failed connect costs what HAProxy's failed sendto does).
func (s *Sink) redial() bool { return s.dial() == nil }

func (s *Sink) dial() error {
	c, err := net.Dial("unixgram", s.unixPath)
	if err != nil {
		return err
	}
	s.conn, s.w = c, c
	return nil
}

// Send emits msg at the given level name ("info" for traffic logs).
func (s *Sink) Send(level string, msg []byte, now time.Time) {
	lv := indexOf(levels, level)
	if lv < 0 {
		lv = 6
	}
	if max := indexOf(levels, s.t.Level); max >= 0 && lv > max {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buf[:0]
	switch s.t.Format {
	case "raw":
	case "rfc5424":
		b = append(b, '<')
		b = strconv.AppendInt(b, int64(s.pri+lv), 10)
		b = append(b, ">1 "...)
		b = now.AppendFormat(b, time.RFC3339Nano)
		b = append(b, ' ')
		b = append(b, hostOr(s.t.Hostname)...)
		b = append(b, ' ')
		b = append(b, s.t.Tag...)
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(os.Getpid()), 10)
		b = append(b, " - - "...)
	case "short":
		b = append(b, '<')
		b = strconv.AppendInt(b, int64(lv), 10)
		b = append(b, '>')
	default: // local and rfc3164
		b = append(b, '<')
		b = strconv.AppendInt(b, int64(s.pri+lv), 10)
		b = append(b, '>')
		b = now.AppendFormat(b, time.Stamp)
		b = append(b, ' ')
		if s.t.Format == "rfc3164" {
			b = append(b, hostOr(s.t.Hostname)...)
			b = append(b, ' ')
		}
		b = append(b, s.t.Tag...)
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(os.Getpid()), 10)
		b = append(b, "]: "...)
	}
	b = append(b, msg...)
	if len(b) > s.t.Len {
		b = b[:s.t.Len]
	}
	if !s.datagram {
		b = append(b, '\n')
	}
	s.buf = b
	if s.unixPath != "" && s.conn == nil && !s.redial() {
		return // dropped, as a datagram to a missing socket is
	}
	if _, err := s.w.Write(b); err != nil && s.conn != nil {
		// A connected datagram socket reports an earlier ICMP port
		// unreachable (UDP), or a receiver that went away (unix), on the
		// next send, which that send then does not make: send again
		// (through a new connection for a unix socket the daemon may
		// have recreated), so one quiet period does not cost a line.
		if s.unixPath != "" {
			s.conn.Close()
			s.conn, s.w = nil, nil
			if !s.redial() {
				return
			}
		}
		s.w.Write(b)
	}
}

// Close releases the socket.
func (s *Sink) Close() error {
	if s.stream != nil {
		s.stream.Close()
	}
	if s.conn != nil {
		return s.conn.Close()
	}
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
