package h1

import (
	"errors"
	"strings"
	"testing"
)

// The same chunked body, written whole or a byte at a time, gives the
// same data, trailers and end; bad framing is an error.
func TestDechunker(t *testing.T) {
	const body = "5;ext=1\r\nhello\r\nA\r\n, world!!!\r\n0\r\nX-A: 1\r\nX-B: 2\r\n\r\nrest"
	for _, step := range []int{len(body), 1, 3} {
		var d Dechunker
		d.Reset(0)
		var data, trl strings.Builder
		ended, after := false, ""
		for i := 0; i < len(body); i += step {
			p := []byte(body[i:min(i+step, len(body))])
			for len(p) > 0 {
				if ended {
					after += string(p)
					break
				}
				ev, b, rest, err := d.Next(p)
				if err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				switch ev {
				case DechunkData:
					data.Write(b)
				case DechunkTrailer:
					trl.WriteString(string(b) + "|")
				case DechunkEnd:
					ended = true
				}
				p = rest
			}
		}
		if data.String() != "hello, world!!!" || trl.String() != "X-A: 1|X-B: 2|" || !ended || after != "rest" {
			t.Errorf("step %d: data %q, trailers %q, ended %v, after %q", step, data.String(), trl.String(), ended, after)
		}
	}
	for _, bad := range []string{"zz\r\n", "-1\r\n"} {
		var d Dechunker
		if _, _, _, err := d.Next([]byte(bad)); !errors.Is(err, ErrChunked) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	d := Dechunker{Max: 4}
	if _, _, _, err := d.Next([]byte("123456")); !errors.Is(err, ErrChunked) {
		t.Errorf("a size line past Max: %v", err)
	}
}
