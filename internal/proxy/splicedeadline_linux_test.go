package proxy

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T, ln net.Listener) (dialed, accepted *net.TCPConn) {
	t.Helper()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); a.Close() })
	return c.(*net.TCPConn), a.(*net.TCPConn)
}

// The write timeout of a splice is one of inactivity: a peer that keeps
// reading, slower than one pipe-full per timeout, is not cut off while
// the pipe drains (the deadline once moved only between pipe-fulls).
func TestSpliceWriteDeadlineFollowsProgress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	in, src := tcpPair(t, ln)
	dst, out := tcpPair(t, ln)
	// The source holds the whole body before the splice starts, so one
	// splice takes a large pipe-full; the destination's buffers are small,
	// so the pipe drains at the reader's pace.
	in.SetWriteBuffer(4 << 20)
	src.SetReadBuffer(4 << 20)
	dst.SetWriteBuffer(32 << 10)
	out.SetReadBuffer(32 << 10)
	const size = 1 << 20
	body := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	if _, err := in.Write(body); err != nil {
		t.Fatal(err)
	}
	const wto = 400 * time.Millisecond
	got := make(chan []byte, 1)
	go func() {
		// 8 KiB every 10 ms: about 0.8 MB/s, a pipe-full of 1 MB in more
		// than the timeout, never 10 ms without progress.
		var b []byte
		buf := make([]byte, 8<<10)
		out.SetReadDeadline(time.Now().Add(20 * time.Second))
		for len(b) < size {
			n, err := out.Read(buf)
			b = append(b, buf[:n]...)
			if err != nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		got <- b
	}()
	moved, eof, err := spliceConns(dst, src, size, 0, wto)
	if err != nil || eof || moved != size {
		t.Fatalf("moved %d of %d, eof %v, err %v", moved, size, eof, err)
	}
	if b := <-got; !bytes.Equal(b, body) {
		t.Fatalf("the reader got %d bytes, not the body", len(b))
	}
}
