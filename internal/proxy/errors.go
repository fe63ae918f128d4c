package proxy

import (
	"strconv"

	"bulwark/internal/rules"
)

// HAProxy's built-in error pages (CM "errorfile"): same status lines and
// bodies, so monitoring that matches on them keeps working.
var errorReasons = map[int][2]string{
	200: {"OK", "Service ready."},
	400: {"Bad request", "Your browser sent an invalid request."},
	401: {"Unauthorized", "You need a valid user and password to access this content."},
	403: {"Forbidden", "Request forbidden by administrative rules."},
	404: {"Not Found", "The resource could not be found."},
	405: {"Method Not Allowed", "A request was made of a resource using a request method not supported by that resource"},
	407: {"Unauthorized", "You need a valid user and password to access this content."},
	408: {"Request Time-out", "Your browser didn't send a complete request in time."},
	410: {"Gone", "The resource is no longer available and will not be available again."},
	413: {"Payload Too Large", "The request entity exceeds the maximum allowed."},
	422: {"Unprocessable Content", "The server cannot process the contained instructions."},
	425: {"Too Early", "Your browser sent early data."},
	429: {"Too Many Requests", "You have sent too many requests in a given amount of time."},
	500: {"Internal Server Error", "An internal server error occurred."},
	501: {"Not Implemented", "The server does not support the functionality required to fulfill the request."},
	502: {"Bad Gateway", "The server returned an invalid or incomplete response."},
	503: {"Service Unavailable", "No server is available to handle this request."},
	504: {"Gateway Time-out", "The server didn't respond in time."},
	505: {"HTTP Version Not Supported", "The server does not support the HTTP protocol version used in the request."},
}

// errorPage renders the default page for status as a complete HTTP/1.1
// response that closes the connection.
func errorPage(status int) []byte {
	r, ok := errorReasons[status]
	if !ok {
		r = [2]string{"Error", "An error occurred."}
	}
	body := "<html><body><h1>" + strconv.Itoa(status) + " " + r[0] + "</h1>\n" + r[1] + "\n</body></html>\n"
	return []byte("HTTP/1.1 " + strconv.Itoa(status) + " " + r[0] + "\r\n" +
		"content-length: " + strconv.Itoa(len(body)) + "\r\n" +
		"cache-control: no-cache\r\n" +
		"content-type: text/html\r\n" +
		"connection: close\r\n\r\n" + body)
}

// errorPages holds a proxy's error messages per status (errorfile,
// errorfiles, errorloc, http-error); statuses without one use HAProxy's
// built-in page.
type errorPages map[int]*rules.Reply

// raw returns the page for status when it is a complete response (an
// errorfile or the built-in page), for answers that take only its body.
func (p errorPages) raw(status int) []byte {
	if r := p[status]; r != nil {
		if b, ok := r.Raw(); ok {
			return b
		}
	}
	return errorPage(status)
}

// sendPage answers the error message of pages for status.
func (s *httpSession) sendPage(pages errorPages, status int, e *LogEntry) {
	s.sendPageKeep(pages, status, e, false)
}

// sendPageKeep is sendPage that leaves the connection open when keep is
// set and the page is one Bulwark builds; a raw page is sent as written
// and closes. It reports whether the connection stays open.
func (s *httpSession) sendPageKeep(pages errorPages, status int, e *LogEntry, keep bool) bool {
	r := pages[status]
	if r == nil {
		b := errorPage(status)
		if i := indexBody(b); keep && i >= 0 {
			s.writeReplyKeep(rules.Result{Verdict: rules.Deny, Body: b[i:], ContentType: "text/html"}, status, e, true)
			return true
		}
		s.writeRaw(b, status, e)
		return false
	}
	if b, ok := r.Raw(); ok {
		// An empty errorfile sends nothing: the connection just closes.
		s.writeRaw(b, status, e)
		return false
	}
	res := r.Fill(&s.m.exec)
	res.Status = status
	s.writeReplyKeep(res, status, e, keep)
	return keep
}

// pagesFor returns the pages for an error of the current request: the
// backend's errorfile when it has one for status, else the frontend's
// (HAProxy looks in the backend first once one is selected).
func (s *httpSession) pagesFor(status int) errorPages {
	if be := s.curBE; be != nil {
		if _, ok := be.pages[status]; ok {
			return be.pages
		}
	}
	return s.fe.pages
}
