// Package stats renders the statistics of a running configuration: HAProxy
// 2.6's CSV (the column order is an API: monitoring tools read columns by
// position), the typed and JSON forms of "show stat" and "show info", the
// HTML page of "stats uri", and the Prometheus exposition of HAProxy's
// exporter. It holds no state of its own: the proxy fills Rows and Info
// from the live counters and server states at each request.
package stats

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Row types, as the "type" column numbers them.
const (
	TypeFrontend = 0
	TypeBackend  = 1
	TypeServer   = 2
)

// Row is one line of the statistics: a frontend, a backend or a server.
type Row struct {
	Proxy  string // pxname
	Name   string // svname: FRONTEND, BACKEND or the server name
	Type   int    // TypeFrontend, TypeBackend or TypeServer
	IID    int
	SID    int
	Qcur   int64
	Qmax   int64
	Scur   int64
	Smax   int64
	Slim   int64 // frontend and server maxconn, backend fullconn; 0: none
	Stot   int64
	Bin    int64
	Bout   int64
	Dreq   int64
	Dresp  int64
	Ereq   int64
	Econ   int64
	Eresp  int64
	Wretr  int64
	Wredis int64
	Status string
	Weight int64 // effective weight: 0 while draining
	Act    int64
	Bck    int64
	// UWeight is the user weight ("set weight"), of the server or summed
	// over the backend's servers.
	UWeight int64
	// Checked marks a server with "check": chkfail and chkdown apply.
	Checked  bool
	ChkFail  int64
	ChkDown  int64
	LastChg  int64 // seconds since the last UP/DOWN change
	Downtime int64 // seconds spent DOWN
	Qlimit   int64 // server maxqueue; 0: none
	Throttle int64 // slowstart ratio in percent; -1 or 100: none
	Lbtot    int64
	Tracked  string
	// Rate, RateMax and RateLim are the sessions per second (requests for
	// backends and servers) over the last second.
	Rate, RateMax, RateLim int64
	Check                  *Check // nil when no check runs (none, or paused by maintenance)
	Hrsp                   [6]int64
	ReqRate, ReqRateMax    int64
	ReqTot                 int64
	CliAbrt, SrvAbrt       int64
	LastSess               int64 // seconds since the last session; -1 never
	// Average and maximum times in ms over the last 1024 requests.
	Qtime, Ctime, Rtime, Ttime             int64
	QtimeMax, CtimeMax, RtimeMax, TtimeMax int64
	Addr                                   string
	Cookie                                 string
	Mode                                   string
	Algo                                   string
	ConnRate, ConnRateMax, ConnTot         int64
	Intercepted                            int64
	Dcon                                   int64
	Wrew                                   int64
	Connect, Reuse                         int64
	IdleCur, IdleLim                       int64
	Eint                                   int64
	Backup                                 bool // a backup server (the page's colours)
	Admin                                  bool // a server the page may act on
	// AggServerStatus and AggCheckStatus are the backend's aggregated
	// server states of 2.6 (always 0 there: the gauges are placeholders).
	AggServerStatus, AggCheckStatus int64
	// H1 are the counters of the HTTP/1 module (frontends and backends).
	H1 H1Counters
	// H2 are the h2 module's, in the order of its columns (frontends and
	// backends).
	H2 [13]int64
	// SSL are the ssl module's: TLS sessions established (of them
	// resumed) and handshakes failed.
	SSL SSLCounters
}

// SSLCounters are HAProxy 2.6's "ssl" stats module.
type SSLCounters struct {
	Sess, Reused, Failed int64
}

// H1Counters are HAProxy 2.6's "h1" stats module: the HTTP/1
// connections and streams of a frontend (client side) or a backend
// (server side) and the bytes they carried, spliced ones apart.
type H1Counters struct {
	OpenConns, OpenStreams   int64
	TotalConns, TotalStreams int64
	BytesIn, BytesOut        int64
	SplicedIn, SplicedOut    int64
}

// Check is the last health check of a server.
type Check struct {
	Status   string // check_status: L4OK, L7STS, INI...
	Running  bool   // a check is in progress: "* " prefix
	Code     int    // check_code, with HasCode
	HasCode  bool
	Duration int64  // check_duration in ms; -1 before the first check
	Desc     string // check_desc: "Layer7 wrong status"
	Last     string // last_chk: the error or the response reason
	Rise     int
	Fall     int
	Health   int
}

// WriteCSV writes the header line and one line per row (MG 9.1).
func WriteCSV(w io.Writer, rows []Row, showAddr bool) error {
	var b strings.Builder
	b.WriteString("# ")
	b.WriteString(strings.Join(Columns, ","))
	b.WriteString(",-,")
	for _, f := range ModuleFields {
		b.WriteString(f.Name + ",")
	}
	b.WriteByte('\n')
	for i := range rows {
		for _, v := range rows[i].Values(showAddr) {
			if v.IsStr {
				b.WriteString(csvEscape(v.S))
			} else {
				b.WriteString(v.String())
			}
			b.WriteByte(',')
		}
		b.WriteString("-,")
		for _, v := range rows[i].ModuleValues() {
			b.WriteString(v.String())
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// csvEscape quotes a field only when it needs it, doubling quotes.
func csvEscape(s string) string {
	if !strings.ContainsAny(s, ",\"\n") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

func objLetter(t int) (string, string) {
	switch t {
	case TypeFrontend:
		return "F", "Frontend"
	case TypeBackend:
		return "B", "Backend"
	case TypeServer:
		return "S", "Server"
	}
	return "?", "Unknown"
}

// rowID is the object id of typed output: the server id, 0 otherwise.
func rowID(r *Row) int {
	if r.Type == TypeServer {
		return r.SID
	}
	return 0
}

// WriteTyped writes "show stat typed": one line per set field,
// "<obj>.<proxy id>.<id>.<pos>.<name>.<process>:<tags>:<type>:<value>".
func WriteTyped(w io.Writer, rows []Row, showAddr bool) error {
	var b strings.Builder
	for i := range rows {
		r := &rows[i]
		obj, _ := objLetter(r.Type)
		for p, v := range r.Values(showAddr) {
			if !v.Set {
				continue
			}
			f := Fields[p]
			fmt.Fprintf(&b, "%s.%d.%d.%d.%s.1:%s:%s:%s\n", obj, r.IID, rowID(r), p, f.Name, f.Tags, f.Type, oneLine(v.String()))
		}
		for i, v := range r.ModuleValues() {
			if !v.Set {
				continue
			}
			f := ModuleFields[i]
			fmt.Fprintf(&b, "%s.%d.%d.%d.%s.1:%s:%s:%s\n", obj, r.IID, rowID(r), moduleBase+i, f.Name, f.Tags, f.Type, v.String())
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// oneLine keeps a value on its line in line-oriented output.
func oneLine(s string) string {
	return strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
}

type jsonField struct {
	Pos  int    `json:"pos"`
	Name string `json:"name"`
}

type jsonTags struct {
	Origin string `json:"origin"`
	Nature string `json:"nature"`
	Scope  string `json:"scope"`
}

type jsonValue struct {
	Type  string `json:"type"`
	Value any    `json:"value"`
}

type jsonStat struct {
	ObjType    string    `json:"objType"`
	ProxyID    int       `json:"proxyId"`
	ID         int       `json:"id"`
	Field      jsonField `json:"field"`
	ProcessNum int       `json:"processNum"`
	Tags       jsonTags  `json:"tags"`
	Value      jsonValue `json:"value"`
}

func tagsOf(f Field) jsonTags {
	return jsonTags{Origin: originNames[f.Tags[0]], Nature: natureNames[f.Tags[1]], Scope: scopeNames[f.Tags[2]]}
}

func valueOf(f Field, v Value) jsonValue {
	if v.IsStr {
		return jsonValue{Type: f.Type, Value: v.S}
	}
	return jsonValue{Type: f.Type, Value: v.N}
}

// WriteJSON writes "show stat json" (and the page's ";json"): an array of
// rows, each an array of the fields that are set, in HAProxy's schema
// ("show schema json").
func WriteJSON(w io.Writer, rows []Row, showAddr bool) error {
	out := make([][]jsonStat, 0, len(rows))
	for i := range rows {
		r := &rows[i]
		_, obj := objLetter(r.Type)
		var line []jsonStat
		for p, v := range r.Values(showAddr) {
			if !v.Set {
				continue
			}
			f := Fields[p]
			line = append(line, jsonStat{ObjType: obj, ProxyID: r.IID, ID: rowID(r), Field: jsonField{p, f.Name},
				ProcessNum: 1, Tags: tagsOf(f), Value: valueOf(f, v)})
		}
		for i, v := range r.ModuleValues() {
			if !v.Set {
				continue
			}
			f := ModuleFields[i]
			line = append(line, jsonStat{ObjType: obj, ProxyID: r.IID, ID: rowID(r), Field: jsonField{moduleBase + i, f.Name},
				ProcessNum: 1, Tags: tagsOf(f), Value: valueOf(f, v)})
		}
		out = append(out, line)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
