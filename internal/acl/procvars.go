package acl

import (
	"strings"
	"sync"
)

// ProcVars holds the process-wide variables (scope "proc."): one store
// per running configuration, shared by every session, seeded by the
// global "set-var" and "set-var-fmt" directives (CM 3.1).
type ProcVars struct {
	mu sync.RWMutex
	m  map[string]Sample
}

// NewProcVars returns a store holding init (copied).
func NewProcVars(init map[string]Sample) *ProcVars {
	p := &ProcVars{m: make(map[string]Sample, len(init))}
	for k, v := range init {
		p.Set(k, v)
	}
	return p
}

// IsProcVar says whether a full variable name is of the proc scope.
func IsProcVar(name string) bool { return strings.HasPrefix(name, "proc.") }

// Get returns a variable. Its bytes are never written again (Set stores
// a fresh copy), so the caller may read them without the lock.
func (p *ProcVars) Get(name string) (Sample, bool) {
	p.mu.RLock()
	s, ok := p.m[name]
	p.mu.RUnlock()
	return s, ok
}

// Set stores a copy of s; a KindNone sample is unset-var.
func (p *ProcVars) Set(name string, s Sample) {
	s.B = append([]byte(nil), s.B...)
	p.mu.Lock()
	p.m[name] = s
	p.mu.Unlock()
}
