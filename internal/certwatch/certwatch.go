// Package certwatch reloads certificate stores when their files change on
// disk ("bulwark-crt-watch"), for operators whose certificates are
// renewed by certbot, Vault agents and the like: no reload of the whole
// configuration is needed.
//
// Directories are watched rather than files, because renewal tools replace
// a file by renaming a new one over it (or by switching a symlink), which
// a watch on the old file would not see. Events are debounced: a tool
// writes the certificate and the key in separate steps, and the store is
// reloaded once, after the last. A reload that fails (a half-written
// file, a key that does not match) keeps the current certificates and is
// logged with its reason; the next change tries again.
package certwatch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"

	"bulwark/internal/tlsconf"
)

// watched is one store and the paths it reads.
type watched struct {
	store *tlsconf.Store
	paths []string // absolute; files or directories
}

// Watcher watches the files of certificate stores.
type Watcher struct {
	w     *fsnotify.Watcher
	ws    []watched
	delay time.Duration
	event func(string)

	ok, failed atomic.Uint64 // reloads, for the stats
}

// Counts returns the reloads done and refused so far.
func (cw *Watcher) Counts() (ok, failed uint64) { return cw.ok.Load(), cw.failed.Load() }

// New starts watching the files of stores (every change from its return
// on is seen); Run handles the changes. delay is the debounce time after
// the last change; event receives one message per reload, success or
// failure.
func New(stores []*tlsconf.Store, delay time.Duration, event func(string)) (*Watcher, error) {
	if event == nil {
		event = func(string) {}
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("bulwark-crt-watch: %w", err)
	}
	cw := &Watcher{w: w, delay: delay, event: event}
	dirs := map[string]bool{}
	for _, s := range stores {
		x := watched{store: s}
		for _, p := range s.Paths() {
			abs, err := filepath.Abs(p)
			if err != nil {
				continue
			}
			x.paths = append(x.paths, abs)
			dir := filepath.Dir(abs)
			if fi, err := os.Stat(abs); err == nil && fi.IsDir() {
				dir = abs
			}
			if !dirs[dir] {
				if err := w.Add(dir); err != nil {
					event(fmt.Sprintf("bulwark-crt-watch: cannot watch %s: %v", dir, err))
					continue
				}
				dirs[dir] = true
			}
		}
		cw.ws = append(cw.ws, x)
	}
	return cw, nil
}

// Run reloads a store delay after the last change to one of its files,
// until ctx ends; it closes the watcher on return.
func (cw *Watcher) Run(ctx context.Context) {
	w, ws, delay, event := cw.w, cw.ws, cw.delay, cw.event
	defer w.Close()
	pending := map[int]bool{}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			event(fmt.Sprintf("bulwark-crt-watch: %v", err))
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if ev.Op == fsnotify.Chmod {
				continue // metadata only; the content is what matters
			}
			for i, x := range ws {
				if x.concerns(ev.Name) {
					pending[i] = true
				}
			}
			if len(pending) > 0 {
				timer.Reset(delay)
			}
		case <-timer.C:
			for i := range pending {
				x := ws[i]
				if err := x.store.Reload(); err != nil {
					cw.failed.Add(1)
					event(fmt.Sprintf("bulwark-crt-watch: the new certificates were refused, the current ones keep serving: %v", err))
				} else {
					cw.ok.Add(1)
					event(fmt.Sprintf("bulwark-crt-watch: certificates reloaded from %s", strings.Join(x.paths, ", ")))
				}
			}
			clear(pending)
		}
	}
}

// concerns reports whether a change to name may change the store: one of
// its files, or a file inside one of its directories. A ".key" file next
// to a certificate counts (loadCertFile reads "<file>.key").
func (x watched) concerns(name string) bool {
	for _, p := range x.paths {
		if name == p || name == p+".key" || strings.HasPrefix(name, p+string(filepath.Separator)) {
			return true
		}
	}
	return false
}
