package stick

import (
	"strconv"
	"strings"
)

// DataType is a value that can be stored with a stick-table entry
// (CM 4.2 "stick-table", "store"). The order is HAProxy's
// STKTABLE_DT_* order, which is also the order "show table" prints them in.
type DataType uint8

// Data types.
const (
	DTServerID DataType = iota
	DTGPT0
	DTGPC0
	DTGPC0Rate
	DTConnCnt
	DTConnRate
	DTConnCur
	DTSessCnt
	DTSessRate
	DTHTTPReqCnt
	DTHTTPReqRate
	DTHTTPErrCnt
	DTHTTPErrRate
	DTBytesInCnt
	DTBytesInRate
	DTBytesOutCnt
	DTBytesOutRate
	DTGPC1
	DTGPC1Rate
	DTServerKey // the server's name or address, see Spec.SrvKey
	DTHTTPFailCnt
	DTHTTPFailRate
	DTGPT     // array gpt(<nb>)
	DTGPC     // array gpc(<nb>)
	DTGPCRate // array gpc_rate(<nb>,<period>)
	numDataTypes
)

// MaxArrayElems is the largest element count of an array data type
// (HAProxy's STKTABLE_MAX_DT_ARRAY_SIZE).
const MaxArrayElems = 100

// valueKind is how a data type is stored, after HAProxy's std_t_*:
// 32-bit signed/unsigned integers wrap at 32 bits, byte counters are
// 64-bit, rates are a FreqCtr, and a dict is a string interned in the
// table (HAProxy's std_t_dict), held as its 1-based number, 0 for none.
type valueKind uint8

const (
	kindSInt valueKind = iota
	kindUInt
	kindULL
	kindFreq
	kindDict
)

// words is the number of uint32 words a kind occupies in an entry.
func (k valueKind) words() int {
	switch k {
	case kindULL:
		return 2
	case kindFreq:
		return 3
	}
	return 1
}

var dataTypes = [numDataTypes]struct {
	name  string
	kind  valueKind
	array bool
}{
	DTServerID:     {"server_id", kindSInt, false},
	DTGPT0:         {"gpt0", kindUInt, false},
	DTGPC0:         {"gpc0", kindUInt, false},
	DTGPC0Rate:     {"gpc0_rate", kindFreq, false},
	DTConnCnt:      {"conn_cnt", kindUInt, false},
	DTConnRate:     {"conn_rate", kindFreq, false},
	DTConnCur:      {"conn_cur", kindUInt, false},
	DTSessCnt:      {"sess_cnt", kindUInt, false},
	DTSessRate:     {"sess_rate", kindFreq, false},
	DTHTTPReqCnt:   {"http_req_cnt", kindUInt, false},
	DTHTTPReqRate:  {"http_req_rate", kindFreq, false},
	DTHTTPErrCnt:   {"http_err_cnt", kindUInt, false},
	DTHTTPErrRate:  {"http_err_rate", kindFreq, false},
	DTBytesInCnt:   {"bytes_in_cnt", kindULL, false},
	DTBytesInRate:  {"bytes_in_rate", kindFreq, false},
	DTBytesOutCnt:  {"bytes_out_cnt", kindULL, false},
	DTBytesOutRate: {"bytes_out_rate", kindFreq, false},
	DTGPC1:         {"gpc1", kindUInt, false},
	DTGPC1Rate:     {"gpc1_rate", kindFreq, false},
	DTServerKey:    {"server_key", kindDict, false},
	DTHTTPFailCnt:  {"http_fail_cnt", kindUInt, false},
	DTHTTPFailRate: {"http_fail_rate", kindFreq, false},
	DTGPT:          {"gpt", kindUInt, true},
	DTGPC:          {"gpc", kindUInt, true},
	DTGPCRate:      {"gpc_rate", kindFreq, true},
}

// String returns the HAProxy name of the data type.
func (d DataType) String() string {
	if d < numDataTypes {
		return dataTypes[d].name
	}
	return "unknown"
}

// IsRate reports whether d is a frequency counter taking a period.
func (d DataType) IsRate() bool { return d < numDataTypes && dataTypes[d].kind == kindFreq }

// IsArray reports whether d is an array type taking an element count
// (gpt, gpc, gpc_rate).
func (d DataType) IsArray() bool { return d < numDataTypes && dataTypes[d].array }

// IsDict reports whether d holds a string (server_key) rather than a number.
func (d DataType) IsDict() bool { return d < numDataTypes && dataTypes[d].kind == kindDict }

// ElemName is the name "show table" gives element idx of an array type:
// the index goes before the first '_' ("gpc2", "gpc2_rate"), as in
// HAProxy. Scalars keep their name.
func (d DataType) ElemName(idx int) string {
	if !d.IsArray() {
		return d.String()
	}
	pfx, sfx := dataTypes[d].name, ""
	if i := strings.IndexByte(pfx, '_'); i >= 0 {
		pfx, sfx = pfx[:i], pfx[i:]
	}
	return pfx + strconv.Itoa(idx) + sfx
}

// DataTypeByName returns the data type called name ("http_req_rate").
// "server_name" is the older name of server_key, which HAProxy 2.6 still
// accepts.
func DataTypeByName(name string) (DataType, bool) {
	for i := range dataTypes {
		if dataTypes[i].name == name {
			return DataType(i), true
		}
	}
	if name == "server_name" {
		return DTServerKey, true
	}
	return 0, false
}

// legacyElem maps the single-value general purpose types onto the array
// element that stands for them when the table stores the array instead:
// CM 4.2 says the gpc0/gpc1/gpt0 fetches and actions then apply to the
// first elements of the array.
func legacyElem(dt DataType) (DataType, int, bool) {
	switch dt {
	case DTGPT0:
		return DTGPT, 0, true
	case DTGPC0:
		return DTGPC, 0, true
	case DTGPC1:
		return DTGPC, 1, true
	case DTGPC0Rate:
		return DTGPCRate, 0, true
	case DTGPC1Rate:
		return DTGPCRate, 1, true
	}
	return 0, 0, false
}

// layout maps data types to word offsets inside an entry's data block.
// A table's entries all share one layout, so an entry carries only the
// words it needs rather than a struct with every possible field.
type layout struct {
	off    [numDataTypes]int16 // -1: not stored
	period [numDataTypes]uint32
	nelem  [numDataTypes]uint8 // elements: 1 for scalars, the count for arrays
	stride int                 // words per entry
}

func newLayout(store []StoredData) layout {
	var l layout
	for i := range l.off {
		l.off[i] = -1
	}
	// Allocate in enum order so identical stores give identical layouts.
	for dt := DataType(0); dt < numDataTypes; dt++ {
		for _, sd := range store {
			if sd.Type == dt {
				n := 1
				if dt.IsArray() {
					n = max(1, min(sd.Elems, MaxArrayElems))
				}
				l.off[dt] = int16(l.stride)
				l.period[dt] = sd.Period
				l.nelem[dt] = uint8(n)
				l.stride += n * dataTypes[dt].kind.words()
			}
		}
	}
	return l
}

// at returns the word offset of element idx of dt, or -1 if dt is not
// stored or has fewer elements.
func (l *layout) at(dt DataType, idx int) int {
	if dt >= numDataTypes || l.off[dt] < 0 || idx < 0 || idx >= int(l.nelem[dt]) {
		return -1
	}
	return int(l.off[dt]) + idx*dataTypes[dt].kind.words()
}
