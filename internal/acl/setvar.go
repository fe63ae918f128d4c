package acl

import (
	"fmt"
	"strings"
)

// SetVarConds are the conditions of set-var (CM 7.3.1 "set-var", also
// the set-var actions): each set bit must hold for the variable to be
// written.
type SetVarConds uint16

const (
	condIfExists SetVarConds = 1 << iota
	condIfNotExists
	condIfEmpty
	condIfNotEmpty
	condIfSet
	condIfNotSet
	condIfGt
	condIfLt
)

var setVarCondNames = []string{"ifexists", "ifnotexists", "ifempty", "ifnotempty", "ifset", "ifnotset", "ifgt", "iflt"}

// ParseSetVarConds compiles up to four condition names.
func ParseSetVarConds(words []string) (SetVarConds, error) {
	if len(words) > 4 {
		return 0, fmt.Errorf("at most four conditions are allowed, %d given", len(words))
	}
	var c SetVarConds
	for _, w := range words {
		found := false
		for i, n := range setVarCondNames {
			if strings.EqualFold(w, n) {
				c |= 1 << i
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown condition '%s' (expects %s)", w, strings.Join(setVarCondNames, ", "))
		}
	}
	return c, nil
}

// Allow says whether name may be set to s: a variable exists once set or
// unset (proc variables from the start), is set until unset-var, and
// ifgt/iflt compare integers only (true otherwise).
func (c SetVarConds) Allow(t Txn, name string, s Sample) bool {
	if c == 0 {
		return true
	}
	cur, exists := t.Var(name)
	if strings.HasPrefix(name, "proc.") {
		exists = true
	}
	set := exists && cur.Kind != KindNone
	empty := (s.Kind == KindStr || s.Kind == KindBin) && len(s.B) == 0
	intCmp := cur.Kind == KindInt && s.Kind == KindInt
	checks := []struct {
		bit SetVarConds
		ok  bool
	}{
		{condIfExists, exists}, {condIfNotExists, !exists},
		{condIfEmpty, empty}, {condIfNotEmpty, !empty},
		{condIfSet, set}, {condIfNotSet, !set},
		{condIfGt, !intCmp || cur.I > s.I}, {condIfLt, !intCmp || cur.I < s.I},
	}
	for _, ch := range checks {
		if c&ch.bit != 0 && !ch.ok {
			return false
		}
	}
	return true
}
