package stick

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// KeyType is the type of a stick table's key (CM 4.2 "stick-table type").
type KeyType uint8

// Key types. The names are HAProxy's.
const (
	KeyIP      KeyType = iota // IPv4 address, 4 bytes
	KeyIPv6                   // IPv6 address, 16 bytes
	KeyInteger                // 32-bit unsigned integer
	KeyString                 // string of at most Spec.KeyLen bytes
	KeyBinary                 // block of Spec.KeyLen bytes, zero padded
)

var keyTypeNames = [...]string{"ip", "ipv6", "integer", "string", "binary"}

func (k KeyType) String() string {
	if int(k) < len(keyTypeNames) {
		return keyTypeNames[k]
	}
	return "KeyType(" + strconv.Itoa(int(k)) + ")"
}

const (
	// DefaultKeyLen is the string/binary key length when "len" is absent.
	DefaultKeyLen = 32
	// MaxKeyLen bounds "len": HAProxy limits keys by its buffer size; we
	// pick a fixed bound so a typo cannot make every entry huge.
	MaxKeyLen = 4096
	// MaxTimeMs is the largest expire/period: ticks are 32-bit and compared
	// with signed differences, hence HAProxy's "~24.8 days".
	MaxTimeMs = math.MaxInt32
)

// StoredData is one "store" item: a data type, for rates its period and
// for arrays their element count.
type StoredData struct {
	Type   DataType
	Period uint32 // ms; only for rate types
	Elems  int    // 1..MaxArrayElems; only for array types
}

// Spec is the parsed "stick-table" directive.
type Spec struct {
	Type     KeyType
	KeyLen   int    // string/binary only
	Size     uint32 // max entries
	Expire   uint32 // ms; 0 means entries never expire
	NoPurge  bool
	Peers    string // accepted and recorded; replication is not implemented
	SrvKey   string // "name" (default) or "addr"
	Store    []StoredData
	Warnings []string // non-fatal diagnostics, e.g. a data type given twice
}

// Stores reports whether the spec stores data type dt.
func (s *Spec) Stores(dt DataType) bool {
	for _, d := range s.Store {
		if d.Type == dt {
			return true
		}
	}
	return false
}

// ParseTableSpec parses the arguments of a "stick-table" directive, the
// keyword itself excluded:
//
//	type {ip|ipv6|integer|string [len N]|binary [len N]} size N
//	[expire T] [nopurge] [peers P] [srvkey name|addr] [store dt[,dt]...]*
//
// Error texts follow HAProxy's ("missing argument after 'expire'") with
// added detail.
func ParseTableSpec(args []string) (Spec, error) {
	var s Spec
	typeSet, sizeSet := false, false
	for i := 0; i < len(args); i++ {
		kw := args[i]
		next := func() (string, error) {
			if i+1 >= len(args) || args[i+1] == "" {
				return "", fmt.Errorf("missing argument after '%s'", kw)
			}
			i++
			return args[i], nil
		}
		switch kw {
		case "type":
			v, err := next()
			if err != nil {
				return Spec{}, err
			}
			kt, ok := parseKeyType(v)
			if !ok {
				return Spec{}, fmt.Errorf("unknown type '%s' (expected ip, ipv6, integer, string or binary)", v)
			}
			s.Type, typeSet = kt, true
			s.KeyLen = 0
			if kt == KeyString || kt == KeyBinary {
				s.KeyLen = DefaultKeyLen
				if i+1 < len(args) && args[i+1] == "len" {
					i++
					kw = "len"
					v, err := next()
					if err != nil {
						return Spec{}, err
					}
					n, err := strconv.Atoi(v)
					if err != nil || n <= 0 || n > MaxKeyLen {
						return Spec{}, fmt.Errorf("invalid length '%s' for type '%s' (expected 1..%d)", v, kt, MaxKeyLen)
					}
					s.KeyLen = n
				}
			}
		case "size":
			v, err := next()
			if err != nil {
				return Spec{}, err
			}
			n, err := parseSize(v)
			if err != nil {
				return Spec{}, fmt.Errorf("invalid size '%s': %v", v, err)
			}
			if n == 0 {
				return Spec{}, fmt.Errorf("invalid size '%s': must be at least 1", v)
			}
			s.Size, sizeSet = n, true
		case "expire":
			v, err := next()
			if err != nil {
				return Spec{}, err
			}
			ms, err := parseTimeMs(v)
			if err != nil {
				return Spec{}, fmt.Errorf("invalid expire '%s': %v", v, err)
			}
			s.Expire = ms
		case "nopurge":
			s.NoPurge = true
		case "peers":
			v, err := next()
			if err != nil {
				return Spec{}, err
			}
			s.Peers = v
		case "srvkey":
			v, err := next()
			if err != nil {
				return Spec{}, err
			}
			if v != "name" && v != "addr" {
				return Spec{}, fmt.Errorf("unexpected value '%s' for 'srvkey' (expected 'name' or 'addr')", v)
			}
			s.SrvKey = v
		case "store":
			v, err := next()
			if err != nil {
				return Spec{}, err
			}
			if err := s.parseStore(v); err != nil {
				return Spec{}, err
			}
		default:
			return Spec{}, fmt.Errorf("unknown argument '%s'", kw)
		}
	}
	if !typeSet {
		return Spec{}, fmt.Errorf("missing 'type'")
	}
	if !sizeSet {
		return Spec{}, fmt.Errorf("missing 'size'")
	}
	if s.SrvKey == "" {
		s.SrvKey = "name"
	}
	if s.NoPurge && s.Expire == 0 {
		s.Warnings = append(s.Warnings, "'nopurge' without 'expire': once full, the table refuses new entries forever")
	}
	return s, nil
}

func parseKeyType(v string) (KeyType, bool) {
	for i, n := range keyTypeNames {
		if n == v {
			return KeyType(i), true
		}
	}
	return 0, false
}

// parseStore parses one comma-separated "store" list. Commas inside
// parentheses belong to the argument.
func (s *Spec) parseStore(list string) error {
	for {
		item, rest, err := cutStoreItem(list)
		if err != nil {
			return err
		}
		if err := s.addData(item); err != nil {
			return err
		}
		if rest == "" {
			// Checked once per "store" list, as HAProxy does, so the
			// same conflict is reported first.
			return s.checkArrays()
		}
		list = rest[1:] // skip the comma
		if list == "" {
			return fmt.Errorf("unknown data type '' (trailing comma in 'store')")
		}
	}
}

// cutStoreItem returns the first item of list and the remainder starting
// at its separating comma ("" if none).
func cutStoreItem(list string) (item, rest string, err error) {
	depth := 0
	for i := 0; i < len(list); i++ {
		switch list[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth < 0 {
				return "", "", fmt.Errorf("unexpected ')' in store option '%s'", list)
			}
		case ',':
			if depth == 0 {
				return list[:i], list[i:], nil
			}
		}
	}
	if depth > 0 {
		name, _, _ := strings.Cut(list, "(")
		return "", "", fmt.Errorf("missing closing parenthesis after store option '%s'", name)
	}
	return list, "", nil
}

func (s *Spec) addData(item string) error {
	name, arg, hasArg := strings.Cut(item, "(")
	if hasArg {
		if !strings.HasSuffix(arg, ")") {
			return fmt.Errorf("unexpected characters after the argument of data type '%s'", name)
		}
		arg = arg[:len(arg)-1]
	}
	dt, ok := DataTypeByName(name)
	if !ok {
		return fmt.Errorf("unknown data type '%s'", name)
	}
	sd := StoredData{Type: dt}
	if dt.IsArray() {
		// gpc(<nb>), gpt(<nb>), gpc_rate(<nb>,<period>)
		if !hasArg || arg == "" {
			return fmt.Errorf("missing argument to data type '%s'", name)
		}
		nb, rest, more := strings.Cut(arg, ",")
		n, err := strconv.Atoi(nb)
		if err != nil || n < 1 || n > MaxArrayElems {
			return fmt.Errorf("array size '%s' is out of allowed range (1-%d) for data type '%s'", nb, MaxArrayElems, name)
		}
		sd.Elems = n
		arg, hasArg = rest, more
	}
	if dt.IsRate() {
		if !hasArg || arg == "" {
			return fmt.Errorf("missing argument to data type '%s'", name)
		}
		ms, err := parseTimeMs(arg)
		if err != nil {
			return fmt.Errorf("invalid period '%s' for data type '%s': %v", arg, name, err)
		}
		if ms == 0 {
			return fmt.Errorf("invalid period '%s' for data type '%s': must be at least 1 ms", arg, name)
		}
		sd.Period = ms
	} else if hasArg {
		return fmt.Errorf("unexpected argument to data type '%s'", name)
	}
	if s.Stores(dt) {
		s.Warnings = append(s.Warnings, fmt.Sprintf("ignoring already defined data type '%s'", name))
		return nil
	}
	s.Store = append(s.Store, sd)
	return nil
}

// checkArrays refuses an array next to the legacy types it stands for
// (gpt first, then gpc, then gpc_rate, HAProxy's order):
// both would answer to the same gpc0/gpt0 fetches and actions, which is
// why HAProxy 2.6 refuses the combination too.
func (s *Spec) checkArrays() error {
	switch {
	case s.Stores(DTGPT) && s.Stores(DTGPT0):
		return fmt.Errorf("simultaneous usage of 'gpt' and 'gpt0' in a same table is not permitted as 'gpt' overrides 'gpt0'")
	case s.Stores(DTGPC) && (s.Stores(DTGPC0) || s.Stores(DTGPC1)):
		return fmt.Errorf("simultaneous usage of 'gpc' and 'gpc[0/1]' in a same table is not permitted as 'gpc' overrides 'gpc[0/1]'")
	case s.Stores(DTGPCRate) && (s.Stores(DTGPC0Rate) || s.Stores(DTGPC1Rate)):
		return fmt.Errorf("simultaneous usage of 'gpc_rate' and 'gpc[0/1]_rate' in a same table is not permitted as 'gpc_rate' overrides 'gpc[0/1]_rate'")
	}
	return nil
}

// parseSize parses an entry count with optional k/m/g suffix (2^10, 2^20,
// 2^30), as HAProxy's parse_size_err.
func parseSize(v string) (uint32, error) {
	digits := leadingDigits(v)
	if digits == 0 {
		return 0, fmt.Errorf("expected a number")
	}
	n, err := strconv.ParseUint(v[:digits], 10, 64)
	if err != nil || n > math.MaxUint32 {
		return 0, fmt.Errorf("value too large")
	}
	mult := uint64(1)
	switch suf := v[digits:]; suf {
	case "":
	case "k", "K":
		mult = 1 << 10
	case "m", "M":
		mult = 1 << 20
	case "g", "G":
		mult = 1 << 30
	default:
		bad := suf[0]
		if strings.IndexByte("kKmMgG", bad) >= 0 {
			bad = suf[1]
		}
		return 0, fmt.Errorf("unexpected character '%c'", bad)
	}
	if n > math.MaxUint32/mult {
		return 0, fmt.Errorf("value too large")
	}
	return uint32(n * mult), nil
}

// parseTimeMs parses HAProxy's time format (CM 2.5): an integer with an
// optional unit us, ms, s, m, h or d; no unit means milliseconds.
func parseTimeMs(v string) (uint32, error) {
	digits := leadingDigits(v)
	if digits == 0 {
		if v == "" {
			return 0, fmt.Errorf("missing value")
		}
		return 0, fmt.Errorf("unexpected character '%c'", v[0])
	}
	n, err := strconv.ParseUint(v[:digits], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("timer overflow, maximum value is %d ms (~24.8 days)", MaxTimeMs)
	}
	var mul, div uint64 = 1, 1
	switch unit := v[digits:]; unit {
	case "", "ms":
	case "us":
		div = 1000
	case "s":
		mul = 1000
	case "m":
		mul = 60 * 1000
	case "h":
		mul = 3600 * 1000
	case "d":
		mul = 86400 * 1000
	default:
		return 0, fmt.Errorf("unexpected character '%c'", unit[0])
	}
	if n > MaxTimeMs*div/mul {
		return 0, fmt.Errorf("timer overflow, maximum value is %d ms (~24.8 days)", MaxTimeMs)
	}
	ms := n * mul / div
	if ms == 0 && n != 0 {
		return 0, fmt.Errorf("timer underflow, minimum non-null value is 1 ms")
	}
	return uint32(ms), nil
}

func leadingDigits(v string) int {
	i := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	return i
}
