package stick

import "sync"

// srvDict interns the server keys of a table (HAProxy's server_key_dict):
// an entry holds a key's 1-based number, so entries stay pointer-free
// words. Keys are server names or addresses, a set bounded by the
// servers a configuration ever had, so the dictionary never shrinks.
type srvDict struct {
	mu    sync.RWMutex
	names []string
	num   map[string]uint32
}

func (d *srvDict) intern(key string) uint32 {
	d.mu.RLock()
	n, ok := d.num[key]
	d.mu.RUnlock()
	if ok {
		return n
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if n, ok := d.num[key]; ok {
		return n
	}
	if d.num == nil {
		d.num = make(map[string]uint32)
	}
	d.names = append(d.names, key)
	n = uint32(len(d.names))
	d.num[key] = n
	return n
}

func (d *srvDict) name(n uint32) (string, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if n == 0 || int(n) > len(d.names) {
		return "", false
	}
	return d.names[n-1], true
}
