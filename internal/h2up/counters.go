package h2up

import (
	"sync/atomic"

	"golang.org/x/net/http2"
)

// Counters are HAProxy 2.6's "h2" stats module for one proxy: the frames
// its HTTP/2 connections received, the errors they detected, the resets
// and GOAWAYs they sent, and their connections and streams. A frontend's
// count its client connections, a backend's its server connections (this
// package); the proxy's client side uses the same type. A nil *Counters
// counts nothing.
type Counters struct {
	HeadersRcvd, DataRcvd, SettingsRcvd, RSTRcvd, GoAwayRcvd atomic.Int64
	ConnProtoErr, StrmProtoErr, RSTResp, GoAwayResp          atomic.Int64
	OpenConns, OpenStreams, TotalConns, TotalStreams         atomic.Int64
}

// Received counts a frame by its type, as HAProxy counts the frames it
// processed (HEADERS, DATA, SETTINGS with their ACKs, RST_STREAM, GOAWAY).
func (c *Counters) Received(t http2.FrameType) {
	if c == nil {
		return
	}
	switch t {
	case http2.FrameHeaders:
		c.HeadersRcvd.Add(1)
	case http2.FrameData:
		c.DataRcvd.Add(1)
	case http2.FrameSettings:
		c.SettingsRcvd.Add(1)
	case http2.FrameRSTStream:
		c.RSTRcvd.Add(1)
	case http2.FrameGoAway:
		c.GoAwayRcvd.Add(1)
	}
}

// Preface counts the first frame of a connection. HAProxy 2.6 counts the
// SETTINGS frame of the peer's preface twice (once as the preface, once
// as a frame), and tools comparing numbers with it expect as much.
func (c *Counters) Preface(t http2.FrameType) {
	c.Received(t)
	if t == http2.FrameSettings {
		c.Received(t)
	}
}

// Conn counts a connection opening (n=1) or ending (n=-1).
func (c *Counters) Conn(n int64) {
	if c == nil {
		return
	}
	c.OpenConns.Add(n)
	if n > 0 {
		c.TotalConns.Add(n)
	}
}

// Stream counts a stream opening (n=1) or ending (n=-1).
func (c *Counters) Stream(n int64) {
	if c == nil {
		return
	}
	c.OpenStreams.Add(n)
	if n > 0 {
		c.TotalStreams.Add(n)
	}
}

// Sent counts a RST_STREAM or GOAWAY frame sent.
func (c *Counters) Sent(t http2.FrameType) {
	switch {
	case c == nil:
	case t == http2.FrameRSTStream:
		c.RSTResp.Add(1)
	case t == http2.FrameGoAway:
		c.GoAwayResp.Add(1)
	}
}

// ProtoErr counts a protocol error detected on the connection (conn) or
// on one stream.
func (c *Counters) ProtoErr(conn bool) {
	switch {
	case c == nil:
	case conn:
		c.ConnProtoErr.Add(1)
	default:
		c.StrmProtoErr.Add(1)
	}
}

// Values are the counters in the order of HAProxy's h2 columns.
func (c *Counters) Values() [13]int64 {
	if c == nil {
		return [13]int64{}
	}
	return [13]int64{c.HeadersRcvd.Load(), c.DataRcvd.Load(), c.SettingsRcvd.Load(), c.RSTRcvd.Load(), c.GoAwayRcvd.Load(),
		c.ConnProtoErr.Load(), c.StrmProtoErr.Load(), c.RSTResp.Load(), c.GoAwayResp.Load(),
		c.OpenConns.Load(), c.OpenStreams.Load(), c.TotalConns.Load(), c.TotalStreams.Load()}
}
