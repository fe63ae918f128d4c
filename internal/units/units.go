// Package units parses HAProxy's time and size notations (CM 2.5), shared by
// the config compiler, stick tables and the auditor so they agree on every
// value.
package units

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// MaxTimeout is the largest timer HAProxy accepts: 2^31-1 ms (about 24.8
// days); beyond it HAProxy reports an overflow.
const MaxTimeout = time.Duration(1<<31-1) * time.Millisecond

// ParseTime reads "<integer>[us|ms|s|m|h|d]"; the default unit is the
// millisecond (defUnit lets a few keywords default to seconds).
func ParseTime(s string) (time.Duration, error) {
	return ParseTimeUnit(s, time.Millisecond)
}

// ParseTimeUnit is ParseTime with another default unit.
func ParseTimeUnit(s string, defUnit time.Duration) (time.Duration, error) {
	if s == "" {
		return 0, errors.New("empty time value")
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("invalid time value '%s': expects an unsigned integer with an optional unit (us, ms, s, m, h, d)", s)
	}
	if i > 18 {
		return 0, fmt.Errorf("time value '%s' is too large", s)
	}
	n, _ := strconv.ParseUint(s[:i], 10, 64)
	unit := defUnit
	switch s[i:] {
	case "":
	case "us":
		unit = time.Microsecond
	case "ms":
		unit = time.Millisecond
	case "s":
		unit = time.Second
	case "m":
		unit = time.Minute
	case "h":
		unit = time.Hour
	case "d":
		unit = 24 * time.Hour
	default:
		if _, w := trailingUnit(s[i:]); w > 0 {
			return 0, &TrailingError{Value: s, At: i + w}
		}
		return 0, fmt.Errorf("unexpected character '%c' in time value '%s' (units are us, ms, s, m, h, d)", s[i], s)
	}
	if n > uint64(MaxTimeout/unit) {
		return 0, fmt.Errorf("timer overflow in time value '%s' (maximum is 2147483647 ms, about 24.8 days)", s)
	}
	return time.Duration(n) * unit, nil
}

// TrailingError is a time value with characters after a valid unit
// ("1s["): HAProxy 2.6 warns and uses the value before them, ParseTimeLax
// does the same.
type TrailingError struct {
	Value string
	At    int // index of the first unexpected character
}

func (e *TrailingError) Error() string {
	return fmt.Sprintf("unexpected character '%c' after the timer value '%s', only (us=microseconds,ms=milliseconds,s=seconds,m=minutes,h=hours,d=days) are supported. This will be reported as an error in next versions.", e.Value[e.At], e.Value)
}

// trailingUnit reports the unit at the start of s and its length, when
// more characters follow it.
func trailingUnit(s string) (string, int) {
	for _, u := range []string{"us", "ms", "s", "m", "h", "d"} {
		if len(s) > len(u) && s[:len(u)] == u {
			return u, len(u)
		}
	}
	return "", 0
}

// ParseTimeLax is ParseTimeUnit that, like HAProxy 2.6, accepts garbage
// after a valid unit: warn is then the warning to report.
func ParseTimeLax(s string, defUnit time.Duration) (d time.Duration, warn string, err error) {
	d, err = ParseTimeUnit(s, defUnit)
	var te *TrailingError
	if errors.As(err, &te) {
		d, err = ParseTimeUnit(s[:te.At], defUnit)
		if err == nil {
			warn = te.Error()
		}
	}
	return d, warn, err
}

// ParseSize reads "<integer>[k|m|g]" with binary multipliers, as
// stick-table size and tune.* values do.
func ParseSize(s string) (uint64, error) {
	if s == "" {
		return 0, errors.New("empty size value")
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i > 18 {
		return 0, fmt.Errorf("invalid size value '%s'", s)
	}
	n, _ := strconv.ParseUint(s[:i], 10, 64)
	var mul uint64 = 1
	switch s[i:] {
	case "":
	case "k", "K":
		mul = 1 << 10
	case "m", "M":
		mul = 1 << 20
	case "g", "G":
		mul = 1 << 30
	default:
		return 0, fmt.Errorf("unexpected character '%c' in size value '%s' (suffixes are k, m, g)", s[i], s)
	}
	if n > (1<<62)/mul {
		return 0, fmt.Errorf("size value '%s' is too large", s)
	}
	return n * mul, nil
}

// ParseUint reads a non-negative decimal integer bounded by max.
func ParseUint(s string, max uint64) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("'%s' is not a valid unsigned integer", s)
	}
	if n > max {
		return 0, fmt.Errorf("'%s' is out of range (maximum %d)", s, max)
	}
	return n, nil
}
