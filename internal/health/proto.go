package health

import (
	"encoding/binary"
	"regexp"
	"time"

	"bulwark/internal/srvstate"
)

// The protocol checks of CM 4.2 ("option redis-check", "mysql-check",
// "pgsql-check", "smtpchk", "ldap-check", "ssl-hello-chk") as scripts.
// Their steps and wording follow HAProxy 2.6, whose rulesets number the
// first written rule 1 after an implicit connect.

func protoScript(rules ...Rule) *Script {
	s := &Script{Kind: KindProto, Rules: rules}
	for i := range s.Rules {
		s.Rules[i].Step = i + 1
		if s.Rules[i].Action == Connect {
			s.Rules[i].Conn.Default = true
		}
	}
	s.Finish()
	return s
}

func sendRule(b []byte) Rule { return Rule{Action: Send, Data: b} }

func expectRule(e ExpectRule) Rule {
	if e.MinRecv == 0 {
		e.MinRecv = -1
	}
	return Rule{Action: Expect, Exp: &e}
}

// Redis sends PING and wants +PONG.
func Redis() *Script {
	return protoScript(
		sendRule([]byte("*1\r\n$4\r\nPING\r\n")),
		expectRule(ExpectRule{Match: MatchString, Data: []byte("+PONG\r\n"), Text: "+PONG\r\n",
			Err: srvstate.CheckL7STS, OnError: infoFirstLine, OnSuccess: "Redis server is ok"}),
	)
}

// SMTP reads the banner, says hello (HELO localhost unless "option
// smtpchk EHLO|HELO <domain>") and QUIT, and wants 2xx to each. The info
// is the server's text after the code.
func SMTP(hello string) *Script {
	if hello == "" {
		hello = "HELO localhost"
	}
	return protoScript(
		Rule{Action: Connect},
		expectRule(ExpectRule{Match: MatchRegex, Re: regexp.MustCompile(`^[0-9]{3}[ \r]`), MinRecv: 4,
			Err: srvstate.CheckL7RSP, OnError: infoFirstLine}),
		expectRule(ExpectRule{Match: MatchRegex, Re: regexp.MustCompile(`^2[0-9]{2}[ \r]`), MinRecv: 4,
			Err: srvstate.CheckL7STS, OnError: infoSMTPText, Text: statusFromData}),
		sendRule([]byte(hello+"\r\n")),
		expectRule(ExpectRule{Match: MatchRegex, Re: regexp.MustCompile(`^(2[0-9]{2}-[^\r]*\r\n)*2[0-9]{2}[ \r]`),
			Err: srvstate.CheckL7STS, OnError: infoSMTPText, OnSuccess: infoSMTPText, Text: statusFromData}),
		sendRule([]byte("QUIT\r\n")),
		expectRule(ExpectRule{Match: MatchRegex, Re: regexp.MustCompile(`^2[0-9]{2}[- \r]`), MinRecv: 4,
			Err: srvstate.CheckL7STS, OnError: infoSMTPText, OnSuccess: infoSMTPText, Text: statusFromData}),
	)
}

// PgSQL sends a startup message for user and wants an authentication
// request (R) of a kind that does not need the check to say more.
func PgSQL(user string) *Script {
	var b []byte
	b = binary.BigEndian.AppendUint32(b, uint32(15+len(user)))
	b = append(b, 0, 3, 0, 0)
	b = append(b, "user\x00"...)
	b = append(b, user...)
	b = append(b, 0, 0)
	return protoScript(
		Rule{Action: Connect},
		sendRule(b),
		expectRule(ExpectRule{Match: MatchRegex, Negate: true, Re: regexp.MustCompile(`^E`), MinRecv: 5,
			Err: srvstate.CheckL7RSP, OnError: infoPgSQLError}),
		expectRule(ExpectRule{Match: MatchBinRegex, Re: regexp.MustCompile(`^52000000[A-Z0-9]{2}000000(00|02|03|04|05|06|07|09|0A)`),
			MinRecv: 9, Err: srvstate.CheckL7STS, OnSuccess: "PostgreSQL server is ok", OnError: "PostgreSQL unknown error"}),
	)
}

// MySQL reads the server's handshake; with a user it logs in with no
// password (post-4.1 protocol unless pre41) and quits, and wants an OK
// packet. The info is the server's version or its error message.
func MySQL(user string, pre41 bool) *Script {
	if user == "" {
		return protoScript(Rule{Action: Connect},
			expectRule(ExpectRule{Custom: mysqlPacket(false)}))
	}
	var body []byte
	if pre41 {
		body = append(body, 0x00, 0x80, 0x00, 0x00, 0x01)
	} else {
		body = append(body, 0x00, 0x82, 0x00, 0x00, 0x00, 0x80, 0x00, 0x01, 0x21)
		body = append(body, make([]byte, 23)...)
	}
	body = append(body, user...)
	body = append(body, 0, 0)
	pkt := []byte{byte(len(body)), byte(len(body) >> 8), byte(len(body) >> 16), 1}
	pkt = append(pkt, body...)
	pkt = append(pkt, 1, 0, 0, 0, 1) // COM_QUIT
	// The login goes first; both answers are then judged on the data as
	// it accumulates, the OK packet after the handshake.
	return protoScript(Rule{Action: Connect},
		sendRule(pkt),
		expectRule(ExpectRule{Custom: mysqlPacket(false)}),
		expectRule(ExpectRule{Custom: mysqlPacket(true)}))
}

// mysqlPacket judges the handshake (after false) or the packet after it
// (after true): an error packet is L7STS with MySQL's code and message;
// the last OK reports the server version from the handshake.
func mysqlPacket(after bool) func([]byte, bool) (Verdict, bool) {
	return func(data []byte, eof bool) (Verdict, bool) {
		off := 0
		if after {
			if len(data) < 4 {
				return short(eof)
			}
			off = 4 + (int(data[0]) | int(data[1])<<8 | int(data[2])<<16)
		}
		if len(data) < off+4 {
			return short(eof)
		}
		plen := int(data[off]) | int(data[off+1])<<8 | int(data[off+2])<<16
		if len(data) < off+plen+4 || plen < 1 {
			return short(eof)
		}
		if data[off+4] == 0xff {
			v := Verdict{Status: srvstate.CheckL7STS}
			if plen >= 3 {
				v.Code = int(data[off+5]) | int(data[off+6])<<8
				v.Info = printable(data[off+7 : off+4+plen])
			}
			return v, true
		}
		if len(data) > 5 {
			return Verdict{Info: cutNUL(data[5:])}, true
		}
		return Verdict{}, true
	}
}

func short(eof bool) (Verdict, bool) {
	if !eof {
		return Verdict{}, false
	}
	return Verdict{Status: srvstate.CheckL7RSP}, true
}

// LDAP sends an anonymous simple bind and wants a bindResponse whose
// resultCode is success.
func LDAP() *Script {
	req := []byte{0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00}
	return protoScript(
		sendRule(req),
		expectRule(ExpectRule{Match: MatchBinRegex, Re: regexp.MustCompile(`^30`), MinRecv: 14, OnError: "Not LDAPv3 protocol"}),
		expectRule(ExpectRule{Custom: ldapBindResponse}),
	)
}

func ldapBindResponse(data []byte, eof bool) (Verdict, bool) {
	notLDAP := Verdict{Status: srvstate.CheckL7RSP, Info: "Not LDAPv3 protocol"}
	if len(data) < 2 {
		return short(eof)
	}
	p := 1
	n := 0
	msgLen := int(data[p])
	if data[p]&0x80 != 0 {
		n = int(data[p] & 0x7f)
		if len(data) < 2+n {
			return short(eof)
		}
		switch n {
		case 2:
			msgLen = int(binary.BigEndian.Uint16(data[p+1:]))
		case 4:
			msgLen = int(binary.BigEndian.Uint32(data[p+1:]))
		default:
			return notLDAP, true
		}
	}
	p += 1 + n
	if len(data) < 2+n+msgLen || msgLen < 0 {
		return short(eof)
	}
	if len(data) < p+4 || string(data[p:p+4]) != "\x02\x01\x01\x61" {
		return notLDAP, true
	}
	p += 4
	if p >= len(data) {
		return notLDAP, true
	}
	n = 0
	if data[p]&0x80 != 0 {
		n = int(data[p] & 0x7f)
	}
	p += 1 + n
	if len(data) < p+3 || data[p] != 0x0a || data[p+1] != 0x01 {
		return notLDAP, true
	}
	if code := int(data[p+2]); code != 0 {
		return Verdict{Status: srvstate.CheckL7STS, Code: code, Info: "See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9"}, true
	}
	return Verdict{Info: "Success"}, true
}

// SSLHello sends an SSLv3 ClientHello and wants a handshake or alert
// record back (layer 6).
func SSLHello() *Script {
	s := protoScript(
		Rule{Action: Send, Data: nil},
		expectRule(ExpectRule{Match: MatchBinRegex, Re: regexp.MustCompile(`^1[56]`), MinRecv: 5,
			OK: srvstate.CheckL6OK, Err: srvstate.CheckL6RSP, Tout: srvstate.CheckL6TOUT}),
	)
	s.Rules[1].Data = sslv3Hello(time.Now())
	return s
}

// sslv3Hello builds a ClientHello offering the classic RSA/DH suites
// (0x0001-0x001B, 0x002F-0x003A) with null compression.
func sslv3Hello(now time.Time) []byte {
	var suites []byte
	for c := 0x01; c <= 0x1b; c++ {
		suites = append(suites, 0, byte(c))
	}
	for c := 0x2f; c <= 0x3a; c++ {
		suites = append(suites, 0, byte(c))
	}
	var hello []byte
	hello = append(hello, 3, 0)
	hello = binary.BigEndian.AppendUint32(hello, uint32(now.Unix()))
	hello = append(hello, "BULWARKSSLCHK\nBULWARKSSLCHK\n"...) // 28 bytes of "random"
	hello = append(hello, 0)
	hello = binary.BigEndian.AppendUint16(hello, uint16(len(suites)))
	hello = append(hello, suites...)
	hello = append(hello, 1, 0)
	hs := append([]byte{1, 0, byte(len(hello) >> 8), byte(len(hello))}, hello...)
	rec := []byte{0x16, 3, 0, byte(len(hs) >> 8), byte(len(hs))}
	return append(rec, hs...)
}
