package proxy

import (
	"bytes"
	"testing"

	"golang.org/x/net/http2"
)

// guardVerdict feeds b to a fresh guard in chunks of size step (0: all at
// once) and returns the absolute offset of the frame it refuses, or -1.
func guardVerdict(b []byte, step, maxBlock int) int {
	g := &h2Guard{preface: len(http2.ClientPreface), maxBlock: maxBlock}
	if step <= 0 {
		step = len(b) + 1
	}
	for off := 0; off < len(b); off += step {
		end := min(off+step, len(b))
		if bad := g.scan(b[off:end]); bad >= 0 {
			return off + bad
		}
	}
	return -1
}

// passedBefore is where the guard must stop a stream refused at frame
// offset at, read in chunks of step: the read that completes the frame's
// header is cut before the frame, or before itself when the header began
// in an earlier read (those few bytes are no frame yet).
func passedBefore(at, step int) int {
	if at < 0 || step <= 0 {
		return at
	}
	return max(at, (at+8)/step*step)
}

// guardReference is the same rule written the plain way, over the whole
// stream at once: the offset of the CONTINUATION frame that takes an open
// header block, frame headers counted, past maxBlock.
func guardReference(b []byte, maxBlock int) int {
	i := len(http2.ClientPreface)
	open, block := false, 0
	for i+9 <= len(b) {
		length := int(b[i])<<16 | int(b[i+1])<<8 | int(b[i+2])
		typ, flags := b[i+3], b[i+4]
		switch {
		case typ == 0x1 && flags&0x4 == 0:
			open, block = true, 9+length
		case typ == 0x9 && open:
			block += 9 + length
			if block > maxBlock {
				return i
			}
			if flags&0x4 != 0 {
				open, block = false, 0
			}
		}
		i += 9 + length
	}
	return -1
}

type frameSeq struct {
	bytes.Buffer
	fr *http2.Framer
}

func newFrameSeq() *frameSeq {
	s := &frameSeq{}
	s.WriteString(http2.ClientPreface)
	s.fr = http2.NewFramer(&s.Buffer, nil)
	s.fr.WriteSettings()
	return s
}

// offset is where the next frame will start.
func (s *frameSeq) offset() int { return s.Len() }

func TestH2GuardHeaderBlockBound(t *testing.T) {
	const limit = 100
	frag := func(n int) []byte { return bytes.Repeat([]byte{0x40}, n) }
	cases := []struct {
		name  string
		build func(s *frameSeq) int // writes frames, returns the offset expected refused or -1
	}{
		{"one large HEADERS frame is not the guard's to judge", func(s *frameSeq) int {
			s.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: frag(500), EndHeaders: true})
			return -1
		}},
		{"block at the limit", func(s *frameSeq) int {
			s.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: frag(40)})
			s.fr.WriteContinuation(1, true, frag(100-9-40-9))
			return -1
		}},
		{"block one byte over", func(s *frameSeq) int {
			s.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: frag(40)})
			at := s.offset()
			s.fr.WriteContinuation(1, true, frag(100-9-40-9+1))
			return at
		}},
		{"empty CONTINUATION frames count their headers", func(s *frameSeq) int {
			s.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: nil})
			at := -1
			for i := 0; i < 20; i++ {
				if 9*(i+2) > limit && at < 0 {
					at = s.offset()
				}
				s.fr.WriteContinuation(1, false, nil)
			}
			return at
		}},
		{"each block has its own budget", func(s *frameSeq) int {
			for id := uint32(1); id < 20; id += 2 {
				s.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: frag(30)})
				s.fr.WriteContinuation(id, true, frag(30))
				s.fr.WriteData(id, true, frag(300))
			}
			return -1
		}},
		{"DATA payload that looks like frames is skipped", func(s *frameSeq) int {
			inner := newFrameSeq()
			inner.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1})
			for i := 0; i < 50; i++ {
				inner.fr.WriteContinuation(1, false, nil)
			}
			s.fr.WriteData(1, false, inner.Bytes()[len(http2.ClientPreface):])
			return -1
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newFrameSeq()
			want := tc.build(s)
			b := s.Bytes()
			if ref := guardReference(b, limit); ref != want {
				t.Fatalf("reference says %d, case expects %d", ref, want)
			}
			// Every way of splitting the stream into reads gives the same
			// verdict.
			for step := 0; step <= 32; step++ {
				if got := guardVerdict(b, step, limit); got != passedBefore(want, step) {
					t.Fatalf("reads of %d bytes: refused at %d, want %d", step, got, want)
				}
			}
		})
	}
}

// FuzzH2Guard: on any byte stream, split into reads anyhow, the guard
// agrees with the plain reference and never panics.
func FuzzH2Guard(f *testing.F) {
	s := newFrameSeq()
	s.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte("abc")})
	for i := 0; i < 15; i++ {
		s.fr.WriteContinuation(1, i == 14, []byte{byte(i)})
	}
	f.Add(s.Bytes(), uint8(1), uint16(64))
	f.Add(s.Bytes(), uint8(7), uint16(1000))
	f.Add([]byte(http2.ClientPreface+"\x00\x00\x00\x01\x00\x00\x00\x00\x01\x00\x00\x00\x09\x00\x00\x00\x00\x01"), uint8(3), uint16(5))
	f.Fuzz(func(t *testing.T, b []byte, step uint8, maxBlock uint16) {
		if len(b) < len(http2.ClientPreface) {
			b = append([]byte(http2.ClientPreface), b...)
		}
		want := guardReference(b, int(maxBlock))
		if got := guardVerdict(b, int(step), int(maxBlock)); got != passedBefore(want, int(step)) {
			t.Fatalf("reads of %d: refused at %d, reference %d", step, got, want)
		}
	})
}
