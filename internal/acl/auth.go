package acl

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"bulwark/internal/model"
)

func prepUserlist(c *compiler, x *Expr) error {
	name := x.args[0].s
	if c.m == nil || c.m.Userlists[name] == nil {
		return fmt.Errorf("unable to find userlist '%s'", name)
	}
	x.args[0].ul = c.m.Userlists[name]
	return nil
}

// basicAuth returns the authenticated user of the request's
// "Authorization: Basic" credentials against ul, or nil.
func basicAuth(e *Eval, ul *model.Userlist) *model.User {
	v, ok := firstHeader(e.Txn.ReqHeaders(), "authorization")
	if !ok || len(v) < 6 || !eqFold(v[:6], "basic ") {
		return nil
	}
	enc := trimSpace(v[6:])
	n := len(e.buf)
	need := base64.StdEncoding.DecodedLen(len(enc))
	e.buf = slices.Grow(e.buf, need)
	e.buf = e.buf[:n+need]
	dec := e.buf[n : n+need]
	m, err := base64.StdEncoding.Decode(dec, enc)
	if err != nil {
		return nil
	}
	dec = dec[:m]
	user, pass := cutByte(dec, ':')
	if len(user) == m {
		return nil // no colon
	}
	for _, u := range ul.Users {
		if u.Name == string(user) {
			if checkPassword(u, pass) {
				return u
			}
			return nil
		}
	}
	return nil
}

// checkPassword verifies pass against a userlist user: plain text for
// insecure-password, crypt(3) SHA-256/512 or bcrypt otherwise. Other
// crypt schemes (DES, MD5) are refused: they never match.
func checkPassword(u *model.User, pass []byte) bool {
	if u.Insecure {
		return subtle.ConstantTimeCompare([]byte(u.Password), pass) == 1
	}
	h := u.Password
	switch {
	case strings.HasPrefix(h, "$5$"), strings.HasPrefix(h, "$6$"):
		got, ok := shaCrypt(pass, h)
		return ok && subtle.ConstantTimeCompare([]byte(got), []byte(h)) == 1
	case strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"):
		return bcrypt.CompareHashAndPassword([]byte(h), pass) == nil
	}
	return false
}

func fetchAuth(e *Eval, x *Expr, it *iter) (Sample, bool) {
	if !once(it) {
		return Sample{}, false
	}
	return boolSample(basicAuth(e, x.args[0].ul) != nil), true
}

func fetchAuthGroup(e *Eval, x *Expr, it *iter) (Sample, bool) {
	if !once(it) {
		return Sample{}, false
	}
	u := basicAuth(e, x.args[0].ul)
	if u == nil {
		return Sample{}, false
	}
	n := len(e.buf)
	e.buf = append(e.buf, u.Name...)
	return strSample(e.buf[n:len(e.buf):len(e.buf)]), true
}

// matchGroups is http_auth_group's ACL: authenticated, and member of one
// of the listed groups (via "group ... users" or "user ... groups").
func matchGroups(e *Eval, ln *line) bool {
	ul := ln.expr.args[0].ul
	u := basicAuth(e, ul)
	if u == nil {
		return false
	}
	for _, g := range ln.m.groups {
		for _, ug := range u.Groups {
			if ug == g {
				return true
			}
		}
		for _, member := range ul.Groups[g] {
			if member == u.Name {
				return true
			}
		}
	}
	return false
}
