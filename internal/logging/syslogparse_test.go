package logging

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Strict parsers of the syslog formats, written from the RFCs' grammar
// rather than from the writer, so that a line the writer gets wrong fails
// here.

// msg5424 is one RFC 5424 message.
type msg5424 struct {
	Pri                      int
	Time                     time.Time
	Host, App, ProcID, MsgID string
	SD                       []sdElement
	Msg                      string
}

type sdElement struct {
	ID     string
	Params [][2]string
}

// parse5424 checks line against RFC 5424 §6 (SYSLOG-MSG): PRI, VERSION 1,
// TIMESTAMP (RFC 3339, at most six fraction digits), HOSTNAME, APP-NAME,
// PROCID, MSGID as 1*N PRINTUSASCII or "-", STRUCTURED-DATA as "-" or
// SD-ELEMENTs with escaped PARAM-VALUEs, then an optional MSG.
func parse5424(line string) (m msg5424, err error) {
	rest := line
	if !strings.HasPrefix(rest, "<") {
		return m, fmt.Errorf("no PRI")
	}
	end := strings.IndexByte(rest, '>')
	if end < 2 || end > 4 {
		return m, fmt.Errorf("bad PRI")
	}
	if m.Pri, err = strconv.Atoi(rest[1:end]); err != nil || m.Pri > 191 || (len(rest[1:end]) > 1 && rest[1] == '0') {
		return m, fmt.Errorf("bad PRI %q", rest[1:end])
	}
	rest = rest[end+1:]
	if !strings.HasPrefix(rest, "1 ") {
		return m, fmt.Errorf("VERSION is not 1")
	}
	rest = rest[2:]
	field := func(name string, max int) (string, error) {
		sp := strings.IndexByte(rest, ' ')
		if sp < 0 {
			return "", fmt.Errorf("%s: no space after it", name)
		}
		v := rest[:sp]
		rest = rest[sp+1:]
		if len(v) == 0 || len(v) > max {
			return "", fmt.Errorf("%s: length %d", name, len(v))
		}
		for i := 0; i < len(v); i++ {
			if v[i] < 33 || v[i] > 126 {
				return "", fmt.Errorf("%s: byte %#x", name, v[i])
			}
		}
		return v, nil
	}
	ts, err := field("TIMESTAMP", 32)
	if err != nil {
		return m, err
	}
	if ts != "-" {
		if !tsRe.MatchString(ts) {
			return m, fmt.Errorf("TIMESTAMP %q is not RFC 5424's", ts)
		}
		if m.Time, err = time.Parse(time.RFC3339Nano, ts); err != nil {
			return m, fmt.Errorf("TIMESTAMP %q: %v", ts, err)
		}
	}
	if m.Host, err = field("HOSTNAME", 255); err != nil {
		return m, err
	}
	if m.App, err = field("APP-NAME", 48); err != nil {
		return m, err
	}
	if m.ProcID, err = field("PROCID", 128); err != nil {
		return m, err
	}
	if m.MsgID, err = field("MSGID", 32); err != nil {
		return m, err
	}
	if strings.HasPrefix(rest, "-") {
		rest = rest[1:]
	} else {
		for strings.HasPrefix(rest, "[") {
			var el sdElement
			if el, rest, err = parseSDElement(rest); err != nil {
				return m, err
			}
			m.SD = append(m.SD, el)
		}
		if m.SD == nil {
			return m, fmt.Errorf("STRUCTURED-DATA is neither - nor an element: %q", rest)
		}
	}
	switch {
	case rest == "":
	case rest[0] == ' ':
		m.Msg = rest[1:]
	default:
		return m, fmt.Errorf("no space after STRUCTURED-DATA: %q", rest)
	}
	return m, nil
}

var tsRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$`)

func sdName(s string) (string, string, error) {
	i := 0
	for i < len(s) && i < 33 {
		c := s[i]
		if c < 33 || c > 126 || c == '=' || c == ']' || c == '"' || c == ' ' {
			break
		}
		i++
	}
	if i == 0 || i > 32 {
		return "", s, fmt.Errorf("bad SD-NAME at %q", s)
	}
	return s[:i], s[i:], nil
}

func parseSDElement(s string) (el sdElement, rest string, err error) {
	rest = s[1:]
	if el.ID, rest, err = sdName(rest); err != nil {
		return
	}
	for {
		switch {
		case strings.HasPrefix(rest, "]"):
			return el, rest[1:], nil
		case strings.HasPrefix(rest, " "):
			var name string
			if name, rest, err = sdName(rest[1:]); err != nil {
				return
			}
			if !strings.HasPrefix(rest, `="`) {
				return el, rest, fmt.Errorf("SD-PARAM %s: no =\"", name)
			}
			rest = rest[2:]
			var v strings.Builder
			for {
				if rest == "" {
					return el, rest, fmt.Errorf("SD-PARAM %s: unterminated", name)
				}
				c := rest[0]
				if c == '\\' && len(rest) > 1 && strings.IndexByte(`"\]`, rest[1]) >= 0 {
					v.WriteByte(rest[1])
					rest = rest[2:]
					continue
				}
				if c == '"' {
					rest = rest[1:]
					break
				}
				if c == ']' {
					return el, rest, fmt.Errorf("SD-PARAM %s: unescaped ]", name)
				}
				v.WriteByte(c)
				rest = rest[1:]
			}
			if !utf8.ValidString(v.String()) {
				return el, rest, fmt.Errorf("SD-PARAM %s: not UTF-8", name)
			}
			el.Params = append(el.Params, [2]string{name, v.String()})
		default:
			return el, rest, fmt.Errorf("SD-ELEMENT %s: unexpected %q", el.ID, rest)
		}
	}
}

// msg3164 is one BSD syslog message.
type msg3164 struct {
	Pri       int
	Time      string
	Host, Tag string
	PID       int
	Msg       string
}

var re3164 = regexp.MustCompile(`^<(\d{1,3})>((?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ 1-3]\d \d{2}:\d{2}:\d{2}) (?:([!-~]+) )?([A-Za-z0-9_.-]{1,32})\[(\d+)\]: (.*)$`)

// parse3164 checks line against RFC 3164 §4.1: PRI, TIMESTAMP
// ("Mmm dd hh:mm:ss", the day padded with a space), HOSTNAME (absent in
// HAProxy's "local" format, so withHost says which), TAG[PID]: MSG.
func parse3164(line string, withHost bool) (m msg3164, err error) {
	sm := re3164.FindStringSubmatch(line)
	if sm == nil {
		return m, fmt.Errorf("not RFC 3164: %q", line)
	}
	if (sm[3] != "") != withHost {
		return m, fmt.Errorf("HOSTNAME present=%v, want %v: %q", sm[3] != "", withHost, line)
	}
	m.Pri, _ = strconv.Atoi(sm[1])
	if m.Pri > 191 {
		return m, fmt.Errorf("PRI %d", m.Pri)
	}
	if _, err := time.Parse(time.Stamp, sm[2]); err != nil {
		return m, err
	}
	m.Time, m.Host, m.Tag, m.Msg = sm[2], sm[3], sm[4], sm[6]
	m.PID, _ = strconv.Atoi(sm[5])
	return m, nil
}

// readFrame reads one RFC 6587 §3.4.1 octet-counted frame: MSG-LEN (no
// leading zero) SP then exactly MSG-LEN octets.
func readFrame(r *bufio.Reader) (string, error) {
	n := 0
	for i := 0; ; i++ {
		c, err := r.ReadByte()
		if err != nil {
			return "", err
		}
		if c == ' ' && i > 0 {
			break
		}
		if c < '0' || c > '9' || (i == 0 && c == '0') || i > 6 {
			return "", fmt.Errorf("bad MSG-LEN byte %q", c)
		}
		n = n*10 + int(c-'0')
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return string(b), nil
}
