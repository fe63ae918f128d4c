package h2up

// HPACK encoding (RFC 7541) shared by both HTTP/2 sides. It is taken
// apart from x/net's hpack.Encoder, which takes strings (a conversion, and
// so an allocation, per field) and keeps a dynamic table in step with the
// peer. Like HAProxy's encoder, every field is a literal without indexing
// (RFC 7541 section 6.2.2), its name taken from the static table when it
// is there, its value sent as it is (no Huffman coding): nothing is
// remembered between blocks, so the peer's SETTINGS_HEADER_TABLE_SIZE does
// not matter either.

// AppendStatus appends ":status", indexed when the static table has the
// code.
func AppendStatus(dst []byte, status int) []byte {
	switch status {
	case 200:
		return append(dst, 0x80|8)
	case 204:
		return append(dst, 0x80|9)
	case 206:
		return append(dst, 0x80|10)
	case 304:
		return append(dst, 0x80|11)
	case 400:
		return append(dst, 0x80|12)
	case 404:
		return append(dst, 0x80|13)
	case 500:
		return append(dst, 0x80|14)
	}
	if status < 100 || status > 999 {
		status = 500
	}
	return append(dst, 0x08, 3, byte('0'+status/100), byte('0'+status/10%10), byte('0'+status%10))
}

// appendPseudo appends a request pseudo-header: fully indexed when the
// static table has the pair (":method GET", ":path /", ":scheme https"),
// else a literal with the static name.
func appendPseudo(dst []byte, name string, value []byte) []byte {
	switch name {
	case ":method":
		switch string(value) {
		case "GET":
			return append(dst, 0x80|2)
		case "POST":
			return append(dst, 0x80|3)
		}
		return appendLiteralIdx(dst, 2, value)
	case ":path":
		if string(value) == "/" {
			return append(dst, 0x80|4)
		}
		return appendLiteralIdx(dst, 4, value)
	case ":scheme":
		switch string(value) {
		case "http":
			return append(dst, 0x80|6)
		case "https":
			return append(dst, 0x80|7)
		}
		return appendLiteralIdx(dst, 6, value)
	}
	return appendLiteralIdx(dst, 1, value) // :authority
}

func appendLiteralIdx(dst []byte, idx int, value []byte) []byte {
	dst = AppendInt(dst, 0x00, 4, uint64(idx))
	dst = AppendInt(dst, 0x00, 7, uint64(len(value)))
	return append(dst, value...)
}

// AppendField appends one field (name in lower case) as a literal
// without indexing.
func AppendField(dst, name, value []byte) []byte {
	if i := StaticName(name); i > 0 {
		dst = AppendInt(dst, 0x00, 4, uint64(i))
	} else {
		dst = append(dst, 0x00)
		dst = AppendInt(dst, 0x00, 7, uint64(len(name)))
		dst = append(dst, name...)
	}
	dst = AppendInt(dst, 0x00, 7, uint64(len(value)))
	return append(dst, value...)
}

// AppendInt appends v with an n-bit prefix after the bits of first
// (RFC 7541 section 5.1).
func AppendInt(dst []byte, first byte, n uint, v uint64) []byte {
	max := uint64(1)<<n - 1
	if v < max {
		return append(dst, first|byte(v))
	}
	dst = append(dst, first|byte(max))
	v -= max
	for v >= 128 {
		dst = append(dst, byte(v&0x7f|0x80))
		v >>= 7
	}
	return append(dst, byte(v))
}

// StaticName is the first static table index (RFC 7541 appendix A) of a
// regular field name, 0 when the table does not have it.
func StaticName(name []byte) int {
	switch string(name) {
	case "accept-charset":
		return 15
	case "accept-encoding":
		return 16
	case "accept-language":
		return 17
	case "accept-ranges":
		return 18
	case "accept":
		return 19
	case "access-control-allow-origin":
		return 20
	case "age":
		return 21
	case "allow":
		return 22
	case "authorization":
		return 23
	case "cache-control":
		return 24
	case "content-disposition":
		return 25
	case "content-encoding":
		return 26
	case "content-language":
		return 27
	case "content-length":
		return 28
	case "content-location":
		return 29
	case "content-range":
		return 30
	case "content-type":
		return 31
	case "cookie":
		return 32
	case "date":
		return 33
	case "etag":
		return 34
	case "expect":
		return 35
	case "expires":
		return 36
	case "from":
		return 37
	case "host":
		return 38
	case "if-match":
		return 39
	case "if-modified-since":
		return 40
	case "if-none-match":
		return 41
	case "if-range":
		return 42
	case "if-unmodified-since":
		return 43
	case "last-modified":
		return 44
	case "link":
		return 45
	case "location":
		return 46
	case "max-forwards":
		return 47
	case "proxy-authenticate":
		return 48
	case "proxy-authorization":
		return 49
	case "range":
		return 50
	case "referer":
		return 51
	case "refresh":
		return 52
	case "retry-after":
		return 53
	case "server":
		return 54
	case "set-cookie":
		return 55
	case "strict-transport-security":
		return 56
	case "transfer-encoding":
		return 57
	case "user-agent":
		return 58
	case "vary":
		return 59
	case "via":
		return 60
	case "www-authenticate":
		return 61
	}
	return 0
}
