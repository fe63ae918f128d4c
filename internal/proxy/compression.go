package proxy

import (
	"io"

	"bulwark/internal/compress"
	"bulwark/internal/h1"
)

// negotiateCompression picks the algorithm for the request from its
// Accept-Encoding, once the request rules have run (so that a rule that
// deletes the field turns compression off, as in HAProxy). With
// "compression offload" the field is then removed, so that the server
// sends the body plain and Bulwark does the compressing.
func (s *httpSession) negotiateCompression(be *backend) {
	s.m.comp, s.m.compTypes = compress.None, nil
	if !s.fe.comp.Enabled() && !be.comp.Enabled() {
		return
	}
	algos, types, offload := compress.Select(s.fe.comp, be.comp)
	req := &s.m.req
	s.m.comp = compress.Negotiate(algos, req)
	s.m.compTypes = types
	if s.m.comp != compress.None && offload {
		out := req.Headers[:0]
		for _, h := range req.Headers {
			if !h1.EqualFold(h.Name, "accept-encoding") {
				out = append(out, h)
			}
		}
		clear(req.Headers[len(out):])
		req.Headers = out
	}
}

// Compression is res.comp_algo: the name of the algorithm the response is
// compressed with, "" when it is not (acl.CompressionTxn).
func (s *httpSession) Compression() string {
	if s.m == nil || s.m.compOut == compress.None {
		return ""
	}
	return s.m.compOut.String()
}

// compressBody sends the head (without Content-Length, with chunked
// framing), then streams the server's body through the encoder. The
// encoder flushes whenever no more body is buffered, so that a response
// the server streams slowly reaches the client as it comes instead of
// waiting in the compressor.
func (s *httpSession) compressBody(sc *srvConn, a compress.Algo, e *LogEntry) error {
	n, err := s.tc.Write(s.head)
	e.BytesOut += int64(n)
	if err != nil {
		return clientWriteError(err)
	}
	out := s.fe.rt.getCopyBuf()
	defer s.fe.rt.putCopyBuf(out)
	enc := s.fe.rt.comp.NewEncoder(a, &s.tc, out)
	defer func() { e.BytesOut += enc.Sent }()
	if s.respWaited {
		// What "wait-for-body" read comes first, compressed like the rest.
		s.m.cache.keepBody(s.respBody)
		if _, err := enc.Write(s.respBody); err != nil {
			enc.Abort()
			return errClientAborted
		}
	}
	b := sc.rd.Body()
	for {
		n, err := b.Read(s.copyBuf)
		if n > 0 {
			s.m.cache.keepBody(s.copyBuf[:n])
			if _, werr := enc.Write(s.copyBuf[:n]); werr != nil {
				enc.Abort()
				return clientWriteError(werr)
			}
		}
		if err == io.EOF {
			s.m.cache.commit()
			if enc.Close(b.Trailers()) != nil {
				return errClientAborted
			}
			return nil
		}
		if err != nil {
			enc.Abort()
			return responseBodyError(err, e)
		}
		if !b.Ready() {
			if enc.Flush() != nil {
				enc.Abort()
				return errClientAborted
			}
		}
	}
}
