// Package h1 is Bulwark's HTTP/1.x wire layer: it parses request and
// response heads in place, streams bodies with bounded buffers, and writes
// heads by appending to caller-supplied slices. The proxy uses it instead of
// net/http because it must see raw bytes to refuse ambiguous messages, keep
// header order and case, and allocate nothing per request in steady state.
//
// # Strictness
//
// Anything two parsers in a chain could read differently is refused with a
// *ParseError rather than repaired, and the proxy never forwards it. A
// request error carries Status 400 (422 for a transfer coding before the
// final chunked, as HAProxy answers; 505 for a well-formed version other
// than 1.0/1.1); an error in a
// server's response carries Status 502 and Response=true. After any
// ParseError the connection must be closed. docs/http-normalization.md
// lists every case.
//
// The choices that differ from HAProxy 2.6 (observed with 2.6.12). Those
// marked (Relax) can be turned off with a Config.Relax field, which the
// CLI sets from BULWARK_ALLOW_* variables (docs/secure-defaults.md); the
// message is then handled as HAProxy handles it, checked by
// internal/compat's TestHTTPMessagingAgainstHAProxy with the same bytes.
//
//   - Content-Length together with Transfer-Encoding: HAProxy drops
//     Content-Length, forwards chunked and closes after the response.
//     Bulwark answers 400 (502 for a response): a sender doing this is
//     either broken or probing for desync. (Relax.Framing, which also
//     closes the server connection after the exchange.)
//   - Transfer-Encoding in an HTTP/1.0 message: HAProxy reads the body
//     as chunked and closes the connection after it. Bulwark answers 400
//     (502 for a response), as RFC 9112 §6.1 calls the framing faulty.
//     (Relax.Framing.)
//   - obs-fold: HAProxy joins folded lines with spaces. Bulwark answers 400,
//     as RFC 9112 §5.2 permits; no modern client folds.
//   - NUL and other control bytes in field values: HAProxy forwards them
//     (haproxy#2914). Bulwark answers 400; only HTAB is allowed.
//   - Bare LF line endings and HTTP/1.1 without Host: HAProxy accepts both.
//     Bulwark answers 400 (RFC 9112 §2.2 lets a recipient accept bare LF;
//     Bulwark does not, because upstream servers disagree on it). (Relax.
//     MissingHost for Host; bare LF has no opt-out.)
//   - Header names reach the server in their original case; HAProxy
//     lower-cases them unless h1-case-adjust is configured.
//   - The request-target must be visible ASCII without "#": bytes >= 0x80
//     must be percent-encoded by the client.
//   - Userinfo in an absolute-form target ("http://user@host/"): HAProxy
//     forwards it. Bulwark answers 400, because it is where parsers
//     disagree on which host is meant ("http://public@admin/").
//     (Relax.Userinfo: it ends at the last '@', as in HAProxy, and Host
//     must match the host after it.)
//   - An HTTP/1.0 absolute-form request without Host: HAProxy forwards it
//     without Host. Bulwark adds Host from the authority, so that Host
//     rules judge the host the server will use.
//
// As in HAProxy: transfer codings other than a single final chunked are
// refused (422 when another coding precedes chunked, 400 otherwise, 502
// in a response; Bulwark re-chunks bodies and would otherwise have to
// carry the other codings along); runs of SP/HTAB between the parts of
// the request line are accepted (the line is forwarded with single SPs);
// a default port ("http://h:80/", "https://h:443/", or an empty one) is
// removed from an absolute-form target and from a Host that spells it,
// and Host matches the authority when both name the same port, a missing
// port standing for the default; a CONNECT target needs a port, and a
// Host without one matches a target on port 80 or 443.
//
// An oversized head (over Config.MaxHeaderBytes, default 16384 like
// tune.bufsize) is CodeHeaderTooLarge with Status 400, not 431: HAProxy
// answers 400 here and has no errorfile slot for 431, so existing
// errorfile 400 pages keep working. The distinct Code lets logs tell it
// apart from a syntax error.
//
// # Buffers and lifetimes
//
// A Reader owns one buffer of MaxHeaderBytes plus 8 KiB. A parsed head's
// byte slices point into it and stay valid until the next ReadRequest or
// ReadResponse; body reads never move them. Body bytes beyond what is
// already buffered are read straight into the caller's slice, and CopyBody
// uses only the buffer it is given, so a body of any size streams in
// constant memory.
package h1
