package socks4

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"
)

// A SOCKS4 peer on loopback records the request and answers with the
// given bytes; Connect reports HAProxy's error for each answer.
func TestConnect(t *testing.T) {
	dst := netip.MustParseAddrPort("127.0.0.1:39579")
	for _, tc := range []struct {
		name   string
		answer []byte
		want   error
	}{
		{"granted", []byte{0, 0x5A, 0, 0, 0, 0, 0, 0}, nil},
		{"denied", []byte{0, 0x5B, 0, 0, 0, 0, 0, 0}, ErrDeny},
		{"closed early", []byte{0, 0x5A}, ErrAbort},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			got := make(chan []byte, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					got <- nil
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				buf := make([]byte, 16)
				n, _ := c.Read(buf)
				got <- buf[:n]
				c.Write(tc.answer)
			}()
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if err := Connect(c, dst); err != tc.want {
				t.Fatalf("Connect = %v, want %v", err, tc.want)
			}
			want := []byte("\x04\x01\x9a\x9b\x7f\x00\x00\x01HAProxy\x00")
			if r := <-got; !bytes.Equal(r, want) {
				t.Fatalf("request %x, want %x", r, want)
			}
		})
	}
}

func TestRequestRefusesIPv6(t *testing.T) {
	if _, err := Request(netip.MustParseAddrPort("[::1]:80")); err == nil {
		t.Fatal("an IPv6 destination was accepted")
	}
}
