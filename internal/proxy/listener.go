package proxy

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"bulwark/internal/model"
)

// listenKey identifies a listening socket across configurations, so a
// reload can take over the previous generation's socket instead of
// rebinding (no connection is refused during a reload).
func listenKey(netw, addr string) string { return netw + "|" + addr }

// listen opens every socket of a bind line. A port range opens one socket
// per port, as HAProxy does. take returns a socket of the previous
// generation with the same key, or nil.
func listen(ctx context.Context, b *model.Bind, reusePort bool, inherited map[int]net.Listener, take func(key string) net.Listener) ([]net.Listener, []string, error) {
	var out []net.Listener
	var keys []string
	var opened []net.Listener // ours to close on failure; taken ones go back
	fail := func(err error) ([]net.Listener, []string, error) {
		for _, l := range opened {
			l.Close()
		}
		return nil, nil, err
	}
	add := func(l net.Listener, key string) {
		out = append(out, l)
		keys = append(keys, key)
	}
	addNew := func(l net.Listener, key string) {
		add(l, key)
		opened = append(opened, l)
	}
	// TCP keep-alive probes are off unless "option clitcpka"/"tcpka" asks
	// for them (HAProxy's default), which also spares four setsockopt calls
	// per accepted connection.
	lc := net.ListenConfig{Control: reuseAddr, KeepAlive: -1}
	if reusePort {
		lc.Control = reuseAddrPort
	}
	if _, ok := b.Opts["transparent"]; ok {
		// "bind … transparent": the socket may bind an address that is
		// not local and accept connections to any destination that
		// TPROXY steers to it (IP_TRANSPARENT, CAP_NET_ADMIN).
		base := lc.Control
		lc.Control = func(network, address string, c syscall.RawConn) error {
			if err := base(network, address, c); err != nil {
				return err
			}
			return ipTransparent(network, address, c)
		}
	}
	for _, a := range b.Addrs {
		switch a.Net {
		case "fd":
			key := listenKey("fd", strconv.Itoa(a.FD))
			if l := take(key); l != nil {
				add(l, key)
				continue
			}
			if l, ok := inherited[a.FD]; ok {
				add(l, key)
				continue
			}
			f := os.NewFile(uintptr(a.FD), "fd@"+strconv.Itoa(a.FD))
			if f == nil {
				return fail(fmt.Errorf("fd@%d: not an open file descriptor", a.FD))
			}
			l, err := net.FileListener(f)
			f.Close()
			if err != nil {
				return fail(fmt.Errorf("fd@%d: %v", a.FD, err))
			}
			addNew(l, key)
		case "unix", "abns":
			path := a.Path
			key := listenKey("unix", path)
			if l := take(key); l != nil {
				add(l, key)
				continue
			}
			if a.Net == "abns" {
				path = "@" + path
			} else {
				os.Remove(path) // a stale socket from a previous run
			}
			l, err := lc.Listen(ctx, "unix", path)
			if err != nil {
				return fail(err)
			}
			if a.Net == "unix" {
				if err := chownSocket(path, b); err != nil {
					l.Close()
					return fail(err)
				}
			}
			addNew(l, key)
		default:
			netw := a.Net
			host := a.Host
			if host == "*" {
				host = ""
			}
			// CM 5.1: an empty address, '*' and 0.0.0.0 mean all IPv4
			// addresses. Go would listen dual-stack on [::] for them,
			// exposing the bind on IPv6 too; '::' keeps Go's (and the
			// kernel's default v4-mapped) behaviour.
			if netw == "tcp" && (host == "" || host == "0.0.0.0") {
				netw = "tcp4"
			}
			for port := a.PortLow; port <= a.PortHigh; port++ {
				hp := net.JoinHostPort(host, strconv.Itoa(port))
				key := listenKey(netw, hp)
				if l := take(key); l != nil {
					add(l, key)
					continue
				}
				l, err := lc.Listen(ctx, netw, hp)
				if err != nil {
					return fail(fmt.Errorf("cannot bind socket (%v) for [%s]", err, hp))
				}
				addNew(l, key)
			}
		}
	}
	return out, keys, nil
}

func chownSocket(path string, b *model.Bind) error {
	if b.Mode != 0 {
		if err := os.Chmod(path, os.FileMode(b.Mode)); err != nil {
			return err
		}
	}
	uid, gid := -1, -1
	if b.User != "" {
		u, err := user.Lookup(b.User)
		if err != nil {
			return fmt.Errorf("unix socket %s: %v", path, err)
		}
		uid, _ = strconv.Atoi(u.Uid)
	}
	if b.Group != "" {
		g, err := user.LookupGroup(b.Group)
		if err != nil {
			return fmt.Errorf("unix socket %s: %v", path, err)
		}
		gid, _ = strconv.Atoi(g.Gid)
	}
	if uid >= 0 || gid >= 0 {
		return os.Chown(path, uid, gid)
	}
	return nil
}

// reuseAddrPort is reuseAddr plus SO_REUSEPORT on TCP sockets, as HAProxy
// sets it unless "noreuseport": a process started with -sf but without -x
// binds beside the old one instead of failing. The kernel lets only
// sockets of the same effective user share a port, and a master binds as
// root.
func reuseAddrPort(network, address string, c syscall.RawConn) error {
	if err := reuseAddr(network, address, c); err != nil || !strings.HasPrefix(network, "tcp") {
		return err
	}
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// reuseAddr sets SO_REUSEADDR so a restarted proxy binds at once.
func reuseAddr(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	})
	if err != nil {
		return err
	}
	return serr
}
