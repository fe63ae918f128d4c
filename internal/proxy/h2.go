package proxy

//lint:file-ignore SA1019 golang.org/x/net/http2 is the HTTP/2 server this project uses on purpose: net/http cannot serve one connection that the proxy has already accepted and handshaken.

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2"

	"bulwark/internal/acl"
	"bulwark/internal/acme"
	"bulwark/internal/h1"
	"bulwark/internal/rules"
)

// HTTP/2 on the client side ("bind ... ssl alpn h2,http/1.1"). Each h2
// stream is turned into one HTTP/1.1 request on an in-memory pipe and
// served by the ordinary session code, so the same normalization, rules,
// routing, balancing and logging apply to both protocols; the response is
// read back from the pipe and written to the stream.

// serveTLS completes the handshake under the request timeout and serves
// h2 or HTTP/1.1 according to ALPN; done runs once the connection ends,
// which for a parked HTTP/1.1 session is after this returns.
func (fe *frontend) serveTLS(c net.Conn, bl boundListener, done *sessInfo) {
	tc := c.(*tls.Conn)
	to := fe.httpRequestTimeout
	if to == 0 {
		to = fe.clientTimeout
	}
	st, ok := fe.handshake(tc, bl, to)
	if !ok {
		done.end()
		return
	}
	// A completed handshake is counted in the current TLS connections
	// until the connection ends (end takes it out).
	done.tls = true
	switch proto := st.NegotiatedProtocol; {
	case proto == acme.ALPNProto:
		// A TLS-ALPN-01 validation is complete with the handshake.
		tc.Close()
	case proto == "h2" || bl.bind.Proto == "h2":
		// "proto h2" forces the multiplexer whatever ALPN chose, as in
		// HAProxy.
		fe.serveH2(tc)
	default:
		// The session may park (without this goroutine): it ends the
		// connection, counted out of the HTTP/1 ones too, when it ends.
		done.h1 = true
		ci := connInfoOf(tc, done)
		ci.state = st
		fe.serveHTTPOn(tc, ci)
		return
	}
	done.end()
}

// serveH2 serves one HTTP/2 connection: a TLS one that chose h2, or any
// connection of a "proto h2" bind (in clear text, prior knowledge: the
// client preface comes first).
func (fe *frontend) serveH2(c net.Conn) {
	defer c.Close()
	expect, expectCIP := false, false
	// Connection rules judge the real peer, not a PROXY header's claim.
	fcSrc, fcDst := realAddrs(c)
	if r := fe.rules; r != nil && r.tcpConn.Len() > 0 {
		txn := &tcpTxn{fe: fe, src: fcSrc, dst: fcDst, conn: c}
		defer txn.release()
		x := rules.Exec{E: acl.NewEval(txn), T: txn}
		if res := r.tcpConn.Run(&x); res.Verdict == rules.Reject {
			return
		}
		expect, expectCIP = txn.expectPP, txn.expectCIP
		fcSrc, fcDst = txn.src, txn.dst
	}
	// In clear text the PROXY header comes after the connection rules (a
	// TLS bind read it before the handshake); the addresses are taken
	// once it is in.
	if !fe.afterConnRules(c, expect, expectCIP) {
		return
	}
	src, dst := sessionAddrs(c, fcSrc, fcDst)
	ci := connInfo{client: c.RemoteAddr(), src: src, dst: dst, fcSrc: fcSrc, fcDst: fcDst, h2: true, conn: c}
	tc, isTLS := c.(*tls.Conn)
	if isTLS {
		ci.tlsOn = true
		if sni := tc.ConnectionState().ServerName; sni != "" {
			ci.sni = []byte(sni)
		}
		ci.facts = newConnFacts(tc, ci.src)
	}
	if !fe.h2legacy {
		fe.serveH2Conn(c, ci)
		return
	}
	// The guard sees the frames before x/net's server does, to end a
	// header block that never ends (see h2guard.go).
	g := &h2Guard{Conn: c, tc: tc, preface: len(http2.ClientPreface), maxBlock: max(fe.bufSize, fe.rt.model.Global.H2.MaxFrameSize)}
	var gc net.Conn = g
	if !isTLS {
		// Without ConnectionState x/net's server takes the connection for
		// clear text and does not ask for TLS 1.2.
		gc = struct{ net.Conn }{g}
	}
	fe.h2.ServeConn(gc, &http2.ServeConnOpts{BaseConfig: fe.h2base, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fe.serveStream(w, r, ci)
	})})
}

// initH2 prepares the frontend's HTTP/2 server. The http.Server is only
// there so that a soft stop can send GOAWAY to every h2 connection
// (http2.ConfigureServer hooks its Shutdown).
func (fe *frontend) initH2() {
	// The settings HAProxy advertises (tune.h2.*, with its defaults): a
	// frame over max-frame-size is a FRAME_SIZE_ERROR, as clients expect.
	t := fe.rt.model.Global.H2
	fe.h2 = &http2.Server{IdleTimeout: fe.keepAliveTimeout, MaxReadFrameSize: uint32(t.MaxFrameSize),
		MaxConcurrentStreams: uint32(t.MaxConcurrentStreams), MaxDecoderHeaderTableSize: uint32(t.HeaderTableSize),
		MaxEncoderHeaderTableSize: uint32(t.HeaderTableSize), MaxUploadBufferPerStream: int32(t.InitialWindowSize)}
	if fe.h2.IdleTimeout == 0 {
		fe.h2.IdleTimeout = fe.clientTimeout
	}
	// A request's header list must fit a buffer (tune.bufsize), as in
	// HAProxy; x/net's own default is 1 MB, which an HPACK bomb of a few
	// hundred bytes reaches, per stream.
	fe.h2base = &http.Server{MaxHeaderBytes: fe.bufSize}
	http2.ConfigureServer(fe.h2base, fe.h2)
}

// stopH2 asks every HTTP/2 client to finish (GOAWAY); streams in flight
// complete.
func (fe *frontend) stopH2() {
	if fe.h2base == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	fe.h2base.Shutdown(ctx)
}

// serveStream runs one h2 stream through a session on a pipe.
func (fe *frontend) serveStream(w http.ResponseWriter, r *http.Request, ci connInfo) {
	client, proxySide := net.Pipe()
	defer client.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fe.rt.active.Add(1)
		defer fe.rt.active.Done()
		// A stream the client resets (or whose connection goes) ends its
		// exchange with the server at once instead of at timeout server,
		// while the client opens the next one (rapid reset,
		// CVE-2023-44487); the request body side already ends, as x/net
		// fails r.Body.
		ci.stream = r.Context()
		fe.serveHTTPOn(proxySide, ci)
	}()
	// Write the request in its own goroutine: the session reads the body
	// while this goroutine is free to read the response.
	go func() {
		bw := bufio.NewWriterSize(client, 4096)
		if err := writeH1Request(bw, r, fe.rt); err != nil {
			client.Close()
		}
	}()
	rd := h1.NewReader(client, h1.Config{MaxHeaderBytes: fe.bufSize, MaxHeaders: fe.rt.model.Global.MaxHdr})
	var resp h1.Response
	for {
		if err := rd.ReadResponse(&resp, []byte(r.Method)); err != nil {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			<-done
			return
		}
		if !resp.Informational() {
			break
		}
	}
	hdr := w.Header()
	hop := h1.HopByHopOf(resp.Headers, false)
	for _, h := range resp.Headers {
		if hop.Is(h) {
			continue
		}
		hdr.Add(string(h.Name), string(h.Value))
	}
	// The http2 ResponseWriter fills in a Content-Type sniffed from the
	// body (defeating the server's "X-Content-Type-Options: nosniff"), a
	// Date, and a Content-Length for a body that fits its buffer, each
	// only when the key is absent. A present key with no value suppresses
	// that and sends nothing, so the client gets the server's fields only,
	// as from HAProxy and the HTTP/1.1 side.
	for _, name := range [...]string{"Content-Type", "Date", "Content-Length"} {
		if _, ok := hdr[name]; !ok {
			hdr[name] = nil
		}
	}
	w.WriteHeader(resp.Status)
	if resp.Body != h1.FramingNone {
		buf := fe.rt.getCopyBuf()
		defer fe.rt.putCopyBuf(buf)
		// Streamed bodies (chunked, close-delimited) are flushed as they
		// come, so that server-sent events and the like are not held back;
		// a body of known length goes out when the handler returns, in as
		// few frames and TLS records as the window allows.
		var fl http.Flusher
		if resp.Body != h1.FramingLength {
			fl, _ = w.(http.Flusher)
		}
		// A client that never opens its flow-control window (a zero-window
		// stall) would block the write for ever, holding the session and
		// its server connection: as in HAProxy, timeout client bounds the
		// time without progress, after which the stream is reset.
		rc := http.NewResponseController(w)
		body := rd.Body()
		for {
			n, err := body.Read(buf)
			if n > 0 {
				if fe.clientTimeout > 0 {
					rc.SetWriteDeadline(time.Now().Add(fe.clientTimeout))
				}
				if _, werr := w.Write(buf[:n]); werr != nil {
					break
				}
				if fl != nil {
					fl.Flush()
				}
			}
			if err != nil {
				break
			}
		}
	}
	client.Close()
	<-done
}

// writeH1Request serialises an h2 request as HTTP/1.1 for the session:
// :authority becomes Host, a body of unknown length is sent chunked.
func writeH1Request(bw *bufio.Writer, r *http.Request, rt *Runtime) error {
	target := r.RequestURI
	if target == "" {
		target = r.URL.RequestURI()
	}
	bw.WriteString(r.Method + " " + target + " HTTP/1.1\r\nHost: " + r.Host + "\r\n")
	for name, vals := range r.Header {
		ln := strings.ToLower(name)
		if ln == "host" || ln == "connection" || ln == "transfer-encoding" || ln == "content-length" {
			continue
		}
		for _, v := range vals {
			bw.WriteString(name + ": " + v + "\r\n")
		}
	}
	chunked := false
	switch {
	case r.ContentLength > 0:
		bw.WriteString("Content-Length: " + strconv.FormatInt(r.ContentLength, 10) + "\r\n")
	case r.ContentLength < 0:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
		chunked = true
	}
	bw.WriteString("\r\n")
	if r.Body != nil && r.ContentLength != 0 {
		// The head goes out now and each piece of body as it comes: a body
		// that arrives slowly or never ends (a stream without END_STREAM,
		// gRPC client streaming) must not hold the request back in this
		// buffer, where no timeout sees it.
		if err := bw.Flush(); err != nil {
			return err
		}
		var dst io.Writer = bw
		var cw *h1.ChunkedWriter
		if chunked {
			cw = &h1.ChunkedWriter{W: bw}
			dst = cw
		}
		buf := rt.getCopyBuf()
		defer rt.putCopyBuf(buf)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return werr
				}
				if werr := bw.Flush(); werr != nil {
					return werr
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
		if cw != nil {
			if err := cw.Close(nil); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}
