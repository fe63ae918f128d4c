// Command idle opens many keep-alive HTTP connections to a proxy, sends one
// request on each and then holds them open, so that the caller can measure
// the proxy's memory per idle client connection.
//
// It prints "ready N" on stdout once N connections have had their response,
// then waits for SIGTERM, SIGINT or -hold to elapse, whichever comes first.
//
// With -backend ADDR it is instead the server behind the proxy: it listens
// on ADDR, prints "listening HOST:PORT" and answers every request head with
// a small 200 response, so that a measurement of the proxy's memory does
// not include the server's.
package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "proxy address")
	n := flag.Int("n", 10000, "connections to open")
	par := flag.Int("par", 100, "connections opened in parallel")
	hold := flag.Duration("hold", 60*time.Second, "longest time to keep the connections open")
	backend := flag.String("backend", "", "serve as the backend on this address instead")
	useTLS := flag.Bool("tls", false, "connect with TLS (the certificate is not verified)")
	flag.Parse()
	if *backend != "" {
		serveBackend(*backend, *hold)
		return
	}

	conns := make([]net.Conn, *n)
	errs := make(chan error, *n)
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < *par; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				c, err := open(*addr, *useTLS)
				if err != nil {
					errs <- err
					continue
				}
				conns[i] = c
			}
		}()
	}
	for i := 0; i < *n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if failed == 0 {
			fmt.Fprintln(os.Stderr, "idle:", err)
		}
		failed++
	}
	fmt.Printf("ready %d\n", *n-failed)
	os.Stdout.Sync()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-sig:
	case <-time.After(*hold):
	}
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
	if failed > 0 {
		os.Exit(1)
	}
}

// open connects, sends one request and reads its whole response, so that
// the proxy has finished the exchange and is holding an idle connection.
func open(addr string, useTLS bool) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	if useTLS {
		// A measurement against a throw-away certificate on loopback.
		c = tls.Client(c, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: bench\r\n\r\n"); err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(c, 1024)
	length := -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("reading response head: %v", err)
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(bytes.TrimSpace(k), []byte("content-length")) {
			length, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	if length < 0 {
		c.Close()
		return nil, fmt.Errorf("response without Content-Length")
	}
	if _, err := io.CopyN(io.Discard, br, int64(length)); err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

const response = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n"

// serveBackend answers every request head on every connection with
// response, until a signal or hold.
func serveBackend(addr string, hold time.Duration) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "idle:", err)
		os.Exit(1)
	}
	fmt.Printf("listening %s\n", l.Addr())
	os.Stdout.Sync()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go answer(c)
		}
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-sig:
	case <-time.After(hold):
	}
	l.Close()
}

func answer(c net.Conn) {
	defer c.Close()
	br := bufio.NewReaderSize(c, 1024)
	for {
		// A request without a body: its head ends with an empty line.
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(bytes.TrimRight(line, "\r\n")) == 0 {
				break
			}
		}
		if _, err := io.WriteString(c, response); err != nil {
			return
		}
	}
}
