package proxy

import (
	"net"
	"strconv"
	"strings"
	"sync"
)

// Adopted are listening sockets received from another process (-x,
// sockxfer.Fetch). A bind or stats socket takes the one listening on its
// address instead of binding again, so the kernel's queue of pending
// connections passes from the old process to the new one and nothing is
// refused meanwhile. Those no bind takes are closed by Close.
type Adopted struct {
	mu   sync.Mutex
	ls   []net.Listener
	used []bool
}

// NewAdopted wraps received listeners.
func NewAdopted(ls []net.Listener) *Adopted {
	return &Adopted{ls: ls, used: make([]bool, len(ls))}
}

// Take returns the received listener for a listen key (listenKey), once.
func (a *Adopted) Take(key string) net.Listener {
	if a == nil {
		return nil
	}
	netw, addr, ok := strings.Cut(key, "|")
	if !ok || netw == "fd" {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, l := range a.ls {
		if !a.used[i] && sameAddr(netw, addr, l.Addr()) {
			a.used[i] = true
			return l
		}
	}
	return nil
}

// Close closes the listeners no bind took and returns how many were used.
func (a *Adopted) Close() int {
	if a == nil {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for i, l := range a.ls {
		if a.used[i] {
			n++
			continue
		}
		l.Close()
		a.used[i] = true
	}
	return n
}

// sameAddr reports whether a listener bound to got is what a bind of addr
// on netw would open; a wildcard matches the wildcard of its own family.
func sameAddr(netw, addr string, got net.Addr) bool {
	switch g := got.(type) {
	case *net.UnixAddr:
		if netw != "unix" {
			return false
		}
		return g.Name == addr || g.Name == "@"+addr
	case *net.TCPAddr:
		if !strings.HasPrefix(netw, "tcp") {
			return false
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return false
		}
		if p, err := strconv.Atoi(port); err != nil || p != g.Port {
			return false
		}
		if host == "" || host == "*" || net.ParseIP(host).IsUnspecified() {
			if g.IP != nil && !g.IP.IsUnspecified() {
				return false
			}
			// "*" is IPv4 only (CM 5.1): a dual-stack [::] socket is not
			// it, nor is 0.0.0.0 an IPv6 bind.
			switch netw {
			case "tcp4":
				return g.IP == nil || g.IP.To4() != nil
			case "tcp6":
				return g.IP == nil || g.IP.To4() == nil
			}
			return true
		}
		if want := net.ParseIP(host); want != nil {
			return want.Equal(g.IP)
		}
		// A name: the socket is the one bound to any of its addresses.
		ips, err := net.LookupIP(host)
		if err != nil {
			return false
		}
		for _, ip := range ips {
			if ip.Equal(g.IP) {
				return true
			}
		}
		return false
	}
	return false
}

// sameSocket finds in have the listener a bind of key would open: the one
// under that key, or else one listening on the same address under another
// key (a bind line respelled, "ipv4@127.0.0.1:80" for "127.0.0.1:80"). Taking
// it instead of binding again matters since SO_REUSEPORT: a second socket
// on the port would bind, split the connections with the first, and those
// queued on the first would be lost when it closes. skip excludes
// listeners already taken.
func sameSocket(have map[string]net.Listener, key string, skip func(net.Listener) bool) (string, net.Listener) {
	if l, ok := have[key]; ok {
		return key, l
	}
	return respelled(have, key, skip)
}

// respelled is sameSocket's search under the other keys.
func respelled(have map[string]net.Listener, key string, skip func(net.Listener) bool) (string, net.Listener) {
	netw, addr, ok := strings.Cut(key, "|")
	if !ok || netw == "fd" {
		return "", nil
	}
	for k, l := range have {
		if !strings.HasPrefix(k, "fd|") && !skip(l) && sameAddr(netw, addr, l.Addr()) {
			return k, l
		}
	}
	return "", nil
}
