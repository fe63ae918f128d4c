// Package compress decides, as HAProxy 2.6's compression filter does,
// whether a response is compressed ("compression algo|type|offload"), and
// streams the body through the chosen encoder as HTTP/1.1 chunks.
//
// The encoders are github.com/klauspost/compress rather than the standard
// library's compress/flate: at the level HAProxy uses by default
// (tune.comp.maxlevel 1) its stateless-free level-1 encoder takes about
// half the CPU of compress/flate's, and CPU per compressed response is
// where a proxy that compresses spends most of its time. The output is
// plain RFC 1950/1951/1952 data that any client decodes.
//
// Divergences from HAProxy, each on purpose:
//   - An Accept-Encoding element whose q-value does not parse is ignored
//     rather than read as q=1: a client that sends garbage gets an
//     uncompressed response, which it can always read.
package compress
