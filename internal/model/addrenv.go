package model

import (
	"os"
	"strings"
)

// expandAddrEnv expands "$NAME" and "${NAME}" in a bind or server address
// (CM 4.2 "bind": "any part of the address string may reference any
// number of environment variables"), outside quotes too; the environment
// is the process's with global's setenv family applied. An unset name
// expands to nothing, as in HAProxy.
func (c *compiler) expandAddrEnv(s string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		j, name := i+1, ""
		if s[j] == '{' {
			k := strings.IndexByte(s[j:], '}')
			if k < 0 {
				b.WriteByte(s[i])
				continue
			}
			name, j = s[j+1:j+k], j+k+1
		} else {
			for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			name = s[i+1 : j]
		}
		if name == "" {
			b.WriteByte(s[i])
			continue
		}
		v, _ := c.lookupEnv(name)
		b.WriteString(v)
		i = j - 1
	}
	return b.String()
}

// lookupEnv is the environment as global's setenv, presetenv, unsetenv
// and resetenv left it.
func (c *compiler) lookupEnv(name string) (string, bool) {
	v, ok := os.LookupEnv(name)
	for _, op := range c.m.Global.EnvOps {
		switch op.Op {
		case "setenv":
			if len(op.Args) == 2 && op.Args[0] == name {
				v, ok = op.Args[1], true
			}
		case "presetenv":
			if len(op.Args) == 2 && op.Args[0] == name && !ok {
				v, ok = op.Args[1], true
			}
		case "unsetenv":
			for _, a := range op.Args {
				if a == name {
					v, ok = "", false
				}
			}
		case "resetenv":
			keep := false
			for _, a := range op.Args {
				keep = keep || a == name
			}
			if !keep {
				v, ok = "", false
			}
		}
	}
	return v, ok
}
