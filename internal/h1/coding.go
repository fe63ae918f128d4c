package h1

// ParseCoding splits one element of Accept-Encoding (or another list with
// q-values), "gzip;q=0.5", into its token and its q-value in thousandths
// (1000 when absent); ok is false for an element that does not parse.
func ParseCoding(elem []byte) (tok []byte, q int, ok bool) {
	i := 0
	for i < len(elem) && elem[i] != ';' && elem[i] != ' ' && elem[i] != '\t' {
		i++
	}
	tok, rest := elem[:i], elem[i:]
	if len(tok) == 0 {
		return nil, 0, false
	}
	q = 1000
	for len(rest) > 0 {
		rest = trimLeftOWS(rest)
		if len(rest) == 0 || rest[0] != ';' {
			return nil, 0, false
		}
		rest = trimLeftOWS(rest[1:])
		j := 0
		for j < len(rest) && rest[j] != ';' {
			j++
		}
		param := trimRightOWS(rest[:j])
		rest = rest[j:]
		if len(param) >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=' {
			v, good := parseQ(param[2:])
			if !good {
				return nil, 0, false
			}
			q = v
		}
	}
	return tok, q, true
}

// parseQ reads a qvalue (RFC 9110 §12.4.2: "0" [ "." 0*3DIGIT ] / "1" [
// "." 0*3("0") ]) in thousandths.
func parseQ(b []byte) (int, bool) {
	if len(b) == 0 || (b[0] != '0' && b[0] != '1') {
		return 0, false
	}
	whole := int(b[0] - '0')
	frac, scale := 0, 100
	if len(b) > 1 {
		if b[1] != '.' || len(b) > 5 {
			return 0, false
		}
		for _, c := range b[2:] {
			if c < '0' || c > '9' {
				return 0, false
			}
			frac += int(c-'0') * scale
			scale /= 10
		}
	}
	if whole == 1 && frac != 0 {
		return 0, false
	}
	return whole*1000 + frac, true
}

func trimLeftOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

func trimRightOWS(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}
