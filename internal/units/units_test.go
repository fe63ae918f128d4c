package units

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"5000", 5 * time.Second, false},
		{"5s", 5 * time.Second, false},
		{"250ms", 250 * time.Millisecond, false},
		{"100us", 100 * time.Microsecond, false},
		{"2m", 2 * time.Minute, false},
		{"1h", time.Hour, false},
		{"1d", 24 * time.Hour, false},
		{"24d", 24 * 24 * time.Hour, false},
		{"25d", 0, true},
		{"", 0, true},
		{"s", 0, true},
		{"5x", 0, true},
		{"-1", 0, true},
		{"5 s", 0, true},
		{"99999999999999999999", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseTime(%q) = %v, %v; want %v, err=%v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		err  bool
	}{
		{"100", 100, false},
		{"1k", 1024, false},
		{"1m", 1 << 20, false},
		{"2g", 2 << 30, false},
		{"1t", 0, true},
		{"", 0, true},
		{"k", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v, err=%v", tt.in, got, err, tt.want, tt.err)
		}
	}
}
