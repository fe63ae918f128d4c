//go:build linux

package proxy

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// spinPeer drives a socket with non-blocking system calls and
// runtime.Gosched between them, never waiting in the poller: the goroutine
// is always runnable, so under GOMAXPROCS=1 a yield of the proxy lets it
// run at once, and a proxy goroutine parked in the poller stays parked
// while it spins (until sysmon polls the network).
type spinPeer struct {
	t   *testing.T
	fd  int
	acc []byte
}

func newSpinPeer(t *testing.T, c net.Conn) *spinPeer {
	if c == nil {
		return &spinPeer{t: t}
	}
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	p := &spinPeer{t: t}
	rc.Control(func(fd uintptr) { p.fd = int(fd) })
	return p
}

// The peer's system calls are raw (no entersyscall): the scheduler cannot
// hand its P to another thread during one, which would poll the network
// and wake the proxy behind the peer's back.

func rawRead(fd int, b []byte) (int, syscall.Errno) {
	n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), 0
}

// ready reports whether something waits to be read, without reading it.
func (p *spinPeer) ready() bool {
	var b [1]byte
	n, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(p.fd), uintptr(unsafe.Pointer(&b[0])), 1, syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	return e == 0 && n > 0
}

func (p *spinPeer) send(s string) {
	b := []byte(s)
	n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(p.fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if e != 0 || int(n) != len(b) {
		p.t.Fatalf("write: %d of %d, %v", n, len(b), e)
	}
}

// await spins until a message ending in suffix (after its head) is in.
func (p *spinPeer) await(suffix string) {
	buf := make([]byte, 4096)
	limit := time.Now().Add(5 * time.Second)
	for {
		n, err := rawRead(p.fd, buf)
		if n > 0 {
			p.acc = append(p.acc, buf[:n]...)
			if bytes.Contains(p.acc, []byte("\r\n\r\n")) && bytes.HasSuffix(p.acc, []byte(suffix)) {
				p.acc = p.acc[:0]
				return
			}
			continue
		}
		if err != syscall.EAGAIN || time.Now().After(limit) {
			p.t.Fatalf("read: %d, %v, got %q", n, err, p.acc)
		}
		runtime.Gosched()
	}
}

const yieldCfg = baseDefaults + `
frontend fe
    bind 127.0.0.1:0
    http-request return status 200 if { path /idle }
    default_backend be
backend be
    server s1 S1
`

// yieldMisses sends n keep-alive POSTs through the proxy with spinning
// peers on both sides and counts the times the proxy had not done its
// part when the peer looked again after one Gosched: ka, the proxy had
// not read the next request and sent it on (it was parked in the poller
// since a read that failed, instead of yielding before it); srv, it had
// not read the server's answer and relayed it. others is how many other
// client connections the frontend holds meanwhile.
func yieldMisses(t *testing.T, others, n int) (ka, srv int) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, addr := startProxy(t, sub(yieldCfg, "S1", ln.Addr().String()))
	for range others {
		// Answered by the proxy itself, then idle: a connection of the
		// frontend that needs no server.
		c := dial(t, addr)
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "GET /idle HTTP/1.1\r\nHost: h\r\n\r\n")
		if head := readHead(t, c); !strings.HasPrefix(head, "HTTP/1.1 200") {
			t.Fatalf("idle connection: %q", head)
		}
	}
	cc := dial(t, addr)
	defer cc.Close()
	client := newSpinPeer(t, cc)
	const req = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nab"
	const resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	client.send(req)
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
	bc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer bc.Close()
	server := newSpinPeer(t, bc)
	// The first exchange opens the server connection: not counted.
	server.await("ab")
	server.send(resp)
	client.await("ok")
	for range n {
		client.send(req)
		runtime.Gosched()
		if !server.ready() {
			ka++
		}
		server.await("ab")
		server.send(resp)
		runtime.Gosched()
		if !client.ready() {
			srv++
		}
		client.await("ok")
	}
	return ka, srv
}

// readHead reads a response head (the /idle answer has no body).
func readHead(t *testing.T, c net.Conn) string {
	var b []byte
	buf := make([]byte, 512)
	for !bytes.Contains(b, []byte("\r\n\r\n")) {
		n, err := c.Read(buf)
		b = append(b, buf[:n]...)
		if err != nil {
			t.Fatalf("%v after %q", err, b)
		}
	}
	return string(b)
}

// The session yields (httpSession.yieldBeforeRead) before reading the next
// keep-alive request and before reading the server's answer to a request
// with a body, when its frontend has other connections: a peer that is
// ready to run then runs first, and the read finds the bytes (no read
// failing with EAGAIN, no park in the poller). A lone connection does not
// yield, and its reads come first. Nothing here is timed: the counts are
// of the proxy's progress after each Gosched of the peer, which the
// scheduler's order decides under GOMAXPROCS=1 (each miss is a park; a
// rare preemption may add one).
func TestYieldBeforeRead(t *testing.T) {
	const n = 20
	ka, srv := yieldMisses(t, 1, n)
	t.Logf("with another connection: behind %d and %d of %d", ka, srv, n)
	if ka > n/4 || srv > n/4 {
		t.Errorf("with another connection: the proxy was behind %d (next request) and %d (answer) times of %d; it yields before both reads", ka, srv, n)
	}
	ka, srv = yieldMisses(t, 0, n)
	t.Logf("a lone connection: behind %d and %d of %d", ka, srv, n)
	if ka < n*3/4 || srv < n*3/4 {
		t.Errorf("a lone connection: the proxy was behind %d (next request) and %d (answer) times of %d; it reads at once, without yielding", ka, srv, n)
	}
}

// hasFrame reports whether b holds a complete frame of type typ on stream
// id with all of flags set.
func hasFrame(b []byte, typ http2.FrameType, id uint32, flags http2.Flags) bool {
	for len(b) >= 9 {
		n := int(b[0])<<16 | int(b[1])<<8 | int(b[2])
		if len(b) < 9+n {
			return false
		}
		sid := binary.BigEndian.Uint32(b[5:9]) & (1<<31 - 1)
		if http2.FrameType(b[3]) == typ && sid == id && http2.Flags(b[4])&flags == flags {
			return true
		}
		b = b[9+n:]
	}
	return false
}

// accept spins until a connection comes on the listening socket p.
func (p *spinPeer) accept() *spinPeer {
	limit := time.Now().Add(5 * time.Second)
	for {
		fd, _, e := syscall.RawSyscall6(syscall.SYS_ACCEPT4, uintptr(p.fd), 0, 0, syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0, 0)
		if e == 0 {
			return &spinPeer{t: p.t, fd: int(fd)}
		}
		if e != syscall.EAGAIN || time.Now().After(limit) {
			p.t.Fatalf("accept: %v", e)
		}
		runtime.Gosched()
	}
}

// drain reads what is there without waiting.
func (p *spinPeer) drain() {
	buf := make([]byte, 4096)
	for {
		n, err := rawRead(p.fd, buf)
		if err != 0 || n == 0 {
			return
		}
		p.acc = append(p.acc, buf[:n]...)
	}
}

// awaitFrame spins until a frame of typ on stream id with flags is in.
func (p *spinPeer) awaitFrame(typ http2.FrameType, id uint32, flags http2.Flags) {
	limit := time.Now().Add(5 * time.Second)
	for p.drain(); !hasFrame(p.acc, typ, id, flags); p.drain() {
		if time.Now().After(limit) {
			p.t.Fatalf("no %v frame on stream %d: %d bytes", typ, id, len(p.acc))
		}
		runtime.Gosched()
	}
}

// An HTTP/2 stream's session yields before reading the server's answer
// even on the frontend's only connection (its connection's other streams
// are sessions of their own): counted as in TestYieldBeforeRead, the
// proxy has relayed the answer when the server's peer looks after a few
// Goscheds.
func TestYieldBeforeReadH2(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, addr := startProxy(t, sub(baseDefaults+`
frontend fe
    bind 127.0.0.1:0 proto h2
    default_backend be
backend be
    server s1 S1
`, "S1", ln.Addr().String()))
	cc := dial(t, addr)
	defer cc.Close()
	client := newSpinPeer(t, cc)
	var out, blk bytes.Buffer
	fr := http2.NewFramer(&out, nil)
	enc := hpack.NewEncoder(&blk)
	out.WriteString(http2.ClientPreface)
	fr.WriteSettings()
	client.send(out.String())
	out.Reset()
	client.awaitFrame(http2.FrameSettings, 0, 0)
	fr.WriteSettingsAck()
	client.send(out.String())
	out.Reset()
	request := func(id uint32) {
		blk.Reset()
		for _, f := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":authority", "h"}, {":path", "/"}, {"content-length", "2"}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: blk.Bytes(), EndHeaders: true})
		fr.WriteData(id, true, []byte("ab"))
		client.send(out.String())
		out.Reset()
	}
	// Each answer closes its server connection: the next stream's request
	// is a new connection's first, which is sent without sendWaiter and
	// read after the yield (sendWaiter waits in the poller by design).
	const resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
	lfd := newSpinPeer(t, nil)
	rc, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rc.Control(func(fd uintptr) { lfd.fd = int(fd) })
	exchange := func(id uint32) (relayed bool) {
		request(id)
		server := lfd.accept()
		defer syscall.Close(server.fd)
		server.await("ab")
		server.send(resp)
		// The answer reaches the client through the connection's writer
		// goroutine, a round after the stream's session: three rounds
		// leave a margin, and a session parked in the poller gets none
		// of them.
		for range 3 {
			runtime.Gosched()
		}
		client.drain()
		relayed = hasFrame(client.acc, http2.FrameHeaders, id, 0)
		client.awaitFrame(http2.FrameData, id, http2.FlagDataEndStream)
		return relayed
	}
	exchange(1) // the first opens the session's pools: not counted
	const n = 20
	misses := 0
	for i := range n {
		if !exchange(uint32(3 + 2*i)) {
			misses++
		}
	}
	t.Logf("behind %d of %d", misses, n)
	if misses > n/4 {
		t.Errorf("the proxy had not relayed the answer %d times of %d: an h2 stream yields before reading it", misses, n)
	}
}
