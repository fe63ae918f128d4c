package stick

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
	DTHTTPFailCnt
	DTHTTPFailRate
	numDataTypes
)

// valueKind is how a data type is stored, after HAProxy's std_t_*:
// 32-bit signed/unsigned integers wrap at 32 bits, byte counters are
// 64-bit, rates are a FreqCtr.
type valueKind uint8

const (
	kindSInt valueKind = iota
	kindUInt
	kindULL
	kindFreq
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
	name string
	kind valueKind
}{
	DTServerID:     {"server_id", kindSInt},
	DTGPT0:         {"gpt0", kindUInt},
	DTGPC0:         {"gpc0", kindUInt},
	DTGPC0Rate:     {"gpc0_rate", kindFreq},
	DTConnCnt:      {"conn_cnt", kindUInt},
	DTConnRate:     {"conn_rate", kindFreq},
	DTConnCur:      {"conn_cur", kindUInt},
	DTSessCnt:      {"sess_cnt", kindUInt},
	DTSessRate:     {"sess_rate", kindFreq},
	DTHTTPReqCnt:   {"http_req_cnt", kindUInt},
	DTHTTPReqRate:  {"http_req_rate", kindFreq},
	DTHTTPErrCnt:   {"http_err_cnt", kindUInt},
	DTHTTPErrRate:  {"http_err_rate", kindFreq},
	DTBytesInCnt:   {"bytes_in_cnt", kindULL},
	DTBytesInRate:  {"bytes_in_rate", kindFreq},
	DTBytesOutCnt:  {"bytes_out_cnt", kindULL},
	DTBytesOutRate: {"bytes_out_rate", kindFreq},
	DTGPC1:         {"gpc1", kindUInt},
	DTGPC1Rate:     {"gpc1_rate", kindFreq},
	DTHTTPFailCnt:  {"http_fail_cnt", kindUInt},
	DTHTTPFailRate: {"http_fail_rate", kindFreq},
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

// DataTypeByName returns the data type called name ("http_req_rate").
func DataTypeByName(name string) (DataType, bool) {
	for i := range dataTypes {
		if dataTypes[i].name == name {
			return DataType(i), true
		}
	}
	return 0, false
}

// layout maps data types to word offsets inside an entry's data block.
// A table's entries all share one layout, so an entry carries only the
// words it needs rather than a struct with every possible field.
type layout struct {
	off    [numDataTypes]int16 // -1: not stored
	period [numDataTypes]uint32
	stride int // words per entry
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
				l.off[dt] = int16(l.stride)
				l.period[dt] = sd.Period
				l.stride += dataTypes[dt].kind.words()
			}
		}
	}
	return l
}
