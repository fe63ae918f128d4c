package acl

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// FIX (Financial Information eXchange) tag=value messages, fields ended
// by SOH (0x01), for fix_is_valid and fix_tag_value (CM 7.3.1).

const fixSOH = 0x01

var fixTagNames = map[string]int64{
	"beginstring": 8, "bodylength": 9, "msgtype": 35, "sendercompid": 49,
	"targetcompid": 56, "checksum": 10,
}

// fixField reads "tag=value<SOH>" at the start of b.
func fixField(b []byte) (tag, val, rest []byte, ok bool) {
	end := bytes.IndexByte(b, fixSOH)
	if end < 0 {
		return nil, nil, nil, false
	}
	tag, val, ok = bytes.Cut(b[:end], []byte("="))
	return tag, val, b[end+1:], ok
}

func fixNumeric(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// fixValid checks the framing the manual lists: BeginString, BodyLength
// (the byte count between it and CheckSum) and MsgType first, in this
// order, numeric non-empty tags and non-empty values, and a last
// CheckSum tag equal to the byte sum modulo 256 of all that precedes it.
func fixValid(b []byte) bool {
	msg := b
	var bodyStart, bodyLen int
	for i := 0; ; i++ {
		tag, val, rest, ok := fixField(b)
		if !ok || !fixNumeric(tag) || len(val) == 0 {
			return false
		}
		t := string(tag)
		switch {
		case i == 0:
			if t != "8" || !fixVersion(string(val)) {
				return false
			}
		case i == 1:
			n, err := strconv.Atoi(string(val))
			if t != "9" || err != nil || n < 0 {
				return false
			}
			bodyStart, bodyLen = len(msg)-len(rest), n
		case i == 2:
			if t != "35" {
				return false
			}
		case t == "10":
			off := len(msg) - len(b) // where "10=" starts
			if off-bodyStart != bodyLen || len(val) != 3 || !fixNumeric(val) {
				return false
			}
			sum := 0
			for _, c := range msg[:off] {
				sum += int(c)
			}
			want, _ := strconv.Atoi(string(val))
			return sum%256 == want
		}
		b = rest
	}
}

func fixVersion(v string) bool {
	switch v {
	case "FIX.4.0", "FIX.4.1", "FIX.4.2", "FIX.4.3", "FIX.4.4", "FIXT.1.1":
		return true
	}
	return false
}

func convFIXValid(e *Eval, c *convCall, s Sample) (Sample, bool) {
	return boolSample(fixValid(s.B)), true
}

func prepFIXTag(c *compiler, cc *convCall) error {
	a := &cc.args[0]
	if n, ok := fixTagNames[strings.ToLower(a.s)]; ok {
		a.i = n
		return nil
	}
	n, err := strconv.ParseInt(a.s, 10, 64)
	if err != nil || n <= 0 {
		return fmt.Errorf("invalid FIX tag '%s' (expects a tag number or BeginString, BodyLength, MsgType, SenderCompID, TargetCompID, CheckSum)", a.s)
	}
	a.i = n
	return nil
}

// convFIXTag returns the value of the first field with the tag; the
// message is not validated (use fix_is_valid first, as the manual says).
func convFIXTag(e *Eval, c *convCall, s Sample) (Sample, bool) {
	want := c.args[0].i
	b := s.B
	for len(b) > 0 {
		tag, val, rest, ok := fixField(b)
		if !ok {
			return Sample{}, false
		}
		if n, err := strconv.ParseInt(string(tag), 10, 64); err == nil && n == want {
			if len(val) == 0 {
				return Sample{}, false
			}
			return strSample(val), true
		}
		b = rest
	}
	return Sample{}, false
}
