package health

// plainKind tells the checks the scheduler's poller runs itself: a plain
// connect, or an HTTP request on the default connection judged by expect
// rules alone. Anything else (tcp-check steps, variables, another port
// or address, TLS...) runs in a worker.
type plainKind uint8

const (
	plainNone plainKind = iota
	plainConnect
	plainHTTP
)

func kindOf(s *Script) plainKind {
	rs := s.Rules
	if len(rs) == 0 || rs[0].Action != Connect || !plainConnectRule(&rs[0].Conn) {
		return plainNone
	}
	if len(rs) == 1 {
		return plainConnect
	}
	if s.Kind != KindHTTP || len(rs) < 3 || rs[1].Action != Send || rs[1].HTTP == nil {
		return plainNone
	}
	for i := range rs[2:] {
		if rs[2+i].Action != Expect {
			return plainNone
		}
	}
	return plainHTTP
}

// plainConnectRule is the default connect, clean close or not.
func plainConnectRule(c *ConnectRule) bool {
	return c.Default && c.Port == 0 && c.Addr == "" && !c.SSL && c.SNI == "" && len(c.ALPN) == 0 &&
		!c.SendProxy && !c.ViaSocks4 && c.Proto == ""
}
