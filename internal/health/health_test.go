package health

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

func TestProbeTCPAndHTTP(t *testing.T) {
	var status atomic.Int64
	status.Store(200)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
		io.WriteString(w, "x")
	})}
	go srv.Serve(l)
	defer srv.Close()
	addr := l.Addr().String()
	ctx := context.Background()
	if r := Probe(ctx, Spec{Addr: addr, Inter: time.Second}); !r.OK || r.Status != "L4OK" {
		t.Fatalf("tcp check: %+v", r)
	}
	hc := &HTTPCheck{Method: "OPTIONS", URI: "/", Version: "HTTP/1.0"}
	if r := Probe(ctx, Spec{Addr: addr, Inter: time.Second, HTTP: hc}); !r.OK || r.Code != 200 {
		t.Fatalf("http check: %+v", r)
	}
	status.Store(503)
	if r := Probe(ctx, Spec{Addr: addr, Inter: time.Second, HTTP: hc}); r.OK || r.Status != "L7STS" {
		t.Fatalf("http check on 503: %+v", r)
	}
	l2, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l2.Addr().String()
	l2.Close()
	if r := Probe(ctx, Spec{Addr: dead, Inter: time.Second}); r.OK || r.Status != "L4CON" {
		t.Fatalf("dead server: %+v", r)
	}
}

// A server goes DOWN after fall failures and UP again after rise successes.
func TestRiseFall(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	go func(l net.Listener) {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}(l)
	c := New()
	defer c.Stop()
	changes := make(chan bool, 4)
	c.Watch(Spec{Addr: addr, Inter: 20 * time.Millisecond, Rise: 2, Fall: 2}, 0, func(up bool, r Result) { changes <- up })
	l.Close() // now every check fails
	select {
	case up := <-changes:
		if up {
			t.Fatal("first transition should be DOWN")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("server never went DOWN")
	}
	l, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot rebind %s: %v", addr, err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	select {
	case up := <-changes:
		if !up {
			t.Fatal("second transition should be UP")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("server never came back UP")
	}
}
