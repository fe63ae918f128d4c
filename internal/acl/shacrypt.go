package acl

import (
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"strconv"
	"strings"
)

// This file implements crypt(3)'s SHA-256 ("$5$") and SHA-512 ("$6$")
// schemes from Ulrich Drepper's public specification "Unix crypt using
// SHA-256 and SHA-512", which userlists use for hashed passwords.

const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

const (
	shaCryptDefaultRounds = 5000
	shaCryptMinRounds     = 1000
	shaCryptMaxRounds     = 999999999
	shaCryptMaxSalt       = 16
)

// sha512Order and sha256Order are the byte triples of the final encoding.
var sha512Order = [...][3]int{
	{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4}, {47, 5, 26}, {6, 27, 48},
	{28, 49, 7}, {50, 8, 29}, {9, 30, 51}, {31, 52, 10}, {53, 11, 32}, {12, 33, 54}, {34, 55, 13},
	{56, 14, 35}, {15, 36, 57}, {37, 58, 16}, {59, 17, 38}, {18, 39, 60}, {40, 61, 19}, {62, 20, 41},
}

var sha256Order = [...][3]int{
	{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14}, {15, 25, 5}, {6, 16, 26},
	{27, 7, 17}, {18, 28, 8}, {9, 19, 29},
}

// shaCrypt computes the crypt(3) string of password for setting, which
// starts with "$5$" or "$6$", optionally "rounds=N$", then the salt. ok is
// false for a setting it cannot read.
func shaCrypt(password []byte, setting string) (string, bool) {
	var newHash func() hash.Hash
	var prefix string
	switch {
	case strings.HasPrefix(setting, "$5$"):
		newHash, prefix = sha256.New, "$5$"
	case strings.HasPrefix(setting, "$6$"):
		newHash, prefix = sha512.New, "$6$"
	default:
		return "", false
	}
	rest := setting[3:]
	rounds := shaCryptDefaultRounds
	customRounds := false
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		i := strings.IndexByte(r, '$')
		if i < 0 {
			return "", false
		}
		n, err := strconv.ParseUint(r[:i], 10, 64)
		if err != nil {
			return "", false
		}
		rounds = int(min(max(n, shaCryptMinRounds), shaCryptMaxRounds))
		customRounds = true
		rest = r[i+1:]
	}
	salt := rest
	if i := strings.IndexByte(salt, '$'); i >= 0 {
		salt = salt[:i]
	}
	if len(salt) > shaCryptMaxSalt {
		salt = salt[:shaCryptMaxSalt]
	}
	p, s := password, []byte(salt)

	h := newHash()
	h.Write(p)
	h.Write(s)
	h.Write(p)
	b := h.Sum(nil)
	n := len(b)

	h.Reset()
	h.Write(p)
	h.Write(s)
	for l := len(p); l > 0; l -= n {
		h.Write(b[:min(l, n)])
	}
	for l := len(p); l > 0; l >>= 1 {
		if l&1 != 0 {
			h.Write(b)
		} else {
			h.Write(p)
		}
	}
	a := h.Sum(nil)

	h.Reset()
	for range len(p) {
		h.Write(p)
	}
	dp := h.Sum(nil)
	pseq := make([]byte, 0, len(p))
	for l := len(p); l > 0; l -= n {
		pseq = append(pseq, dp[:min(l, n)]...)
	}

	h.Reset()
	for range 16 + int(a[0]) {
		h.Write(s)
	}
	ds := h.Sum(nil)
	sseq := make([]byte, 0, len(s))
	for l := len(s); l > 0; l -= n {
		sseq = append(sseq, ds[:min(l, n)]...)
	}

	c := a
	for i := range rounds {
		h.Reset()
		if i&1 != 0 {
			h.Write(pseq)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(sseq)
		}
		if i%7 != 0 {
			h.Write(pseq)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(pseq)
		}
		c = h.Sum(c[:0])
	}

	var out strings.Builder
	out.WriteString(prefix)
	if customRounds {
		out.WriteString("rounds=")
		out.WriteString(strconv.Itoa(rounds))
		out.WriteByte('$')
	}
	out.WriteString(salt)
	out.WriteByte('$')
	enc := func(b2, b1, b0 byte, k int) {
		w := uint32(b2)<<16 | uint32(b1)<<8 | uint32(b0)
		for range k {
			out.WriteByte(cryptAlphabet[w&0x3f])
			w >>= 6
		}
	}
	if n == 64 {
		for _, t := range sha512Order {
			enc(c[t[0]], c[t[1]], c[t[2]], 4)
		}
		enc(0, 0, c[63], 2)
	} else {
		for _, t := range sha256Order {
			enc(c[t[0]], c[t[1]], c[t[2]], 4)
		}
		enc(0, c[31], c[30], 3)
	}
	return out.String(), true
}
