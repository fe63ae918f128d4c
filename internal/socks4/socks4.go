// Package socks4 is the client side of a SOCKS4 CONNECT, as HAProxy
// speaks it for "server ... socks4 <addr>:<port>" (and the checks of
// "check-via-socks4"): an IPv4 destination and the user id "HAProxy".
package socks4

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
)

// Errors in HAProxy's words (its connection error texts), so that check
// results and logs read the same.
var (
	ErrSend  = errors.New("SOCKS4 Proxy write error during handshake")
	ErrRecv  = errors.New("SOCKS4 Proxy read error during handshake")
	ErrDeny  = errors.New("SOCKS4 Proxy deny the request")
	ErrAbort = errors.New("SOCKS4 Proxy handshake aborted by server")
)

// Request is the CONNECT request for dst: version 4, command 1, port,
// IPv4 address, user id "HAProxy" and its NUL.
func Request(dst netip.AddrPort) ([]byte, error) {
	a := dst.Addr().Unmap()
	if !a.Is4() {
		return nil, fmt.Errorf("socks4 only reaches IPv4 destinations (got %s)", dst.Addr())
	}
	ip := a.As4()
	b := []byte{4, 1, byte(dst.Port() >> 8), byte(dst.Port())}
	b = append(b, ip[:]...)
	return append(b, "HAProxy\x00"...), nil
}

// Connect asks the proxy at the other end of c to connect to dst and
// reads its 8-byte answer: 0x5A grants, anything else denies. The caller
// sets c's deadlines.
func Connect(c net.Conn, dst netip.AddrPort) error {
	req, err := Request(dst)
	if err != nil {
		return err
	}
	if _, err := c.Write(req); err != nil {
		return ErrSend
	}
	var resp [8]byte
	if _, err := io.ReadFull(c, resp[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return ErrAbort
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return err
		}
		return ErrRecv
	}
	if resp[1] != 0x5A {
		return ErrDeny
	}
	return nil
}
