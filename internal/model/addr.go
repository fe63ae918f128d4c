package model

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// ExpandAddrEnv replaces $NAME and ${NAME} in an address with the
// process environment, unset names with nothing: HAProxy expands every
// address this way (str2sa_range), quoted or not, so "log
// ${SYSLOG_HOST}:514" works unquoted.
func ExpandAddrEnv(s string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i+1:]
		braced := strings.HasPrefix(s, "{")
		if braced {
			s = s[1:]
		}
		n := 0
		for n < len(s) && (s[n] == '_' || s[n] >= '0' && s[n] <= '9' || s[n] >= 'a' && s[n] <= 'z' || s[n] >= 'A' && s[n] <= 'Z') {
			n++
		}
		b.WriteString(os.Getenv(s[:n]))
		s = s[n:]
		if braced && strings.HasPrefix(s, "}") {
			s = s[1:]
		}
	}
}

// ParseBindAddr parses one element of a bind address list: "[prefix@]host:port[-port]",
// "unix@/path", "/path", "fd@N", "abns@name", "*:80", ":80", "[::1]:80",
// "ipv6@::1:80" (HAProxy splits the port at the last colon).
func ParseBindAddr(s string) (Addr, error) {
	s = ExpandAddrEnv(s)
	a := Addr{Raw: s, Net: "tcp"}
	rest := s
	if i := strings.Index(s, "@"); i >= 0 {
		prefix := s[:i]
		rest = s[i+1:]
		switch prefix {
		case "ipv4":
			a.Net = "tcp4"
		case "ipv6":
			a.Net = "tcp6"
		case "tcp", "tcp4", "tcp6", "udp", "udp4", "udp6", "quic4", "quic6":
			a.Net = prefix
			if prefix == "tcp" {
				a.Net = "tcp"
			}
		case "unix", "uxst":
			a.Net, a.Path = "unix", rest
			if rest == "" {
				return a, fmt.Errorf("missing path after 'unix@'")
			}
			return a, nil
		case "abns":
			a.Net, a.Path = "abns", rest
			return a, nil
		case "fd":
			a.Net = "fd"
			if strings.HasPrefix(rest, "${") || rest == "" {
				return a, fmt.Errorf("invalid fd@ reference '%s'", s)
			}
			n, err := strconv.Atoi(rest)
			if err != nil || n < 0 {
				return a, fmt.Errorf("'fd@' expects a file descriptor number, got '%s'", rest)
			}
			a.FD = n
			return a, nil
		case "sockpair":
			a.Net = "sockpair"
			n, err := strconv.Atoi(rest)
			if err != nil || n < 0 {
				return a, fmt.Errorf("'sockpair@' expects a file descriptor number, got '%s'", rest)
			}
			a.FD = n
			return a, nil
		default:
			return a, fmt.Errorf("unsupported address family prefix '%s@' in '%s'", prefix, s)
		}
	} else if strings.HasPrefix(s, "/") {
		a.Net, a.Path = "unix", s
		return a, nil
	}
	if strings.HasPrefix(a.Net, "udp") || strings.HasPrefix(a.Net, "quic") {
		return a, fmt.Errorf("datagram and QUIC addresses are not supported by bulwark ('%s')", s)
	}
	host, port, err := splitHostPort(rest)
	if err != nil {
		return a, fmt.Errorf("invalid address '%s': %v", s, err)
	}
	if port == "" {
		return a, fmt.Errorf("missing port number: '%s'", s)
	}
	lo, hi, err := parsePortRange(port)
	if err != nil {
		return a, fmt.Errorf("invalid port '%s' in '%s': %v", port, s, err)
	}
	a.Host, a.PortLow, a.PortHigh = host, lo, hi
	if err := checkHost(&a); err != nil {
		return a, err
	}
	return a, nil
}

// ParseServerAddr parses a server address: like a bind address, but the
// port may be absent (the client's destination port is reused) or relative
// (+N / -N).
func ParseServerAddr(s string) (Addr, error) {
	s = ExpandAddrEnv(s)
	a := Addr{Raw: s, Net: "tcp"}
	rest := s
	if i := strings.Index(s, "@"); i >= 0 {
		prefix := s[:i]
		rest = s[i+1:]
		switch prefix {
		case "ipv4":
			a.Net = "tcp4"
		case "ipv6":
			a.Net = "tcp6"
		case "unix":
			a.Net, a.Path = "unix", rest
			return a, nil
		case "abns":
			a.Net, a.Path = "abns", rest
			return a, nil
		case "tcp", "tcp4", "tcp6":
			a.Net = prefix
		default:
			return a, fmt.Errorf("unsupported address family prefix '%s@' in '%s'", prefix, s)
		}
	} else if strings.HasPrefix(s, "/") {
		a.Net, a.Path = "unix", s
		return a, nil
	}
	host, port, err := splitHostPort(rest)
	if err != nil {
		return a, fmt.Errorf("invalid address '%s': %v", s, err)
	}
	a.Host = host
	if host == "" {
		return a, fmt.Errorf("missing address in '%s'", s)
	}
	if port != "" {
		if port[0] == '+' || port[0] == '-' {
			a.PortDelta = true
			port = port[1:]
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 0 || n > 65535 || (!a.PortDelta && n == 0 && port != "0") {
			return a, fmt.Errorf("invalid port '%s' in '%s'", port, s)
		}
		a.PortLow, a.PortHigh = n, n
	}
	if err := checkHost(&a); err != nil {
		return a, err
	}
	return a, nil
}

// splitHostPort splits at the last colon as HAProxy does, so "::1:80" is
// host "::1" port 80; "[::1]:80" is accepted too.
func splitHostPort(s string) (string, string, error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", fmt.Errorf("missing ']'")
		}
		host := s[1:end]
		rest := s[end+1:]
		if rest == "" {
			return host, "", nil
		}
		if rest[0] != ':' {
			return "", "", fmt.Errorf("unexpected '%s' after ']'", rest)
		}
		return host, rest[1:], nil
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return s, "", nil
	}
	return s[:i], s[i+1:], nil
}

func parsePortRange(p string) (int, int, error) {
	lo, hi := p, p
	if i := strings.IndexByte(p, '-'); i >= 0 {
		lo, hi = p[:i], p[i+1:]
	}
	l, err := strconv.Atoi(lo)
	if err != nil || l < 1 || l > 65535 {
		return 0, 0, fmt.Errorf("port must be between 1 and 65535")
	}
	h, err := strconv.Atoi(hi)
	if err != nil || h < 1 || h > 65535 {
		return 0, 0, fmt.Errorf("port must be between 1 and 65535")
	}
	if h < l {
		return 0, 0, fmt.Errorf("port range is reversed")
	}
	return l, h, nil
}

func checkHost(a *Addr) error {
	h := a.Host
	if h == "" || h == "*" {
		return nil
	}
	ip := net.ParseIP(h)
	if ip == nil {
		if strings.ContainsAny(h, " /\\") {
			return fmt.Errorf("invalid host name '%s'", h)
		}
		// A host name: resolved when the proxy starts, as HAProxy does
		// at load time.
		return nil
	}
	if a.Net == "tcp4" && ip.To4() == nil {
		return fmt.Errorf("'%s' is not an IPv4 address", h)
	}
	if a.Net == "tcp6" && ip.To4() != nil && !strings.Contains(h, ":") {
		return fmt.Errorf("'%s' is not an IPv6 address", h)
	}
	if a.Net == "tcp" {
		if ip.To4() != nil && !strings.Contains(h, ":") {
			a.Net = "tcp4"
		} else {
			a.Net = "tcp6"
		}
	}
	return nil
}
