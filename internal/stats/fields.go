package stats

import (
	"strconv"
	"strings"
)

// Field describes one statistics column: its name and the tags and type
// that "show stat typed|json" and "show schema json" publish (MG 9.3
// "show stat"): origin, nature and scope letters, then the value type.
type Field struct {
	Name string
	Tags string // three letters: origin (M K C S P), nature (G M L C R A D O a N), scope (P S)
	Type string // u32, u64, s32 or str
}

// Fields are HAProxy 2.6's static statistics fields 0..102, in CSV order.
// The order is an API: tools read the CSV by position. HAProxy then prints
// a "-" column and the fields of its modules (ssl, h1, h2), which Bulwark
// does not have; the "-" says where the static fields end.
var Fields = parseFields(`pxname KNS str|svname KNS str|qcur MGP u32|qmax MMP u32|scur MGP u32|smax MMP u32|
slim CLP u32|stot MCP u64|bin MCP u64|bout MCP u64|dreq MCP u64|dresp MCP u64|ereq MCP u64|econ MCP u64|
eresp MCP u64|wretr MCP u64|wredis MCP u64|status SGP str|weight MaP u32|act SGP u32|bck SGP u32|
chkfail MCP u64|chkdown MCP u64|lastchg MAP u32|downtime MCP u32|qlimit CGS u32|pid KGP u32|iid KGS u32|
sid KGS u32|throttle MaP u32|lbtot MCP u64|tracked CNS str|type CGS u32|rate MRP u32|rate_lim CLP u32|
rate_max MMP u32|check_status MOP str|check_code MOP u32|check_duration MDP u64|hrsp_1xx MCP u64|
hrsp_2xx MCP u64|hrsp_3xx MCP u64|hrsp_4xx MCP u64|hrsp_5xx MCP u64|hrsp_other MCP u64|hanafail MCP u64|
req_rate MRP u32|req_rate_max MMP u32|req_tot MCP u64|cli_abrt MCP u64|srv_abrt MCP u64|comp_in MCP u64|
comp_out MCP u64|comp_byp MCP u64|comp_rsp MCP u64|lastsess MAP s32|last_chk MOP str|last_agt MOP str|
qtime MaP u32|ctime MaP u32|rtime MaP u32|ttime MaP u32|agent_status MOP str|agent_code MOP u32|
agent_duration MDP u64|check_desc MOP str|agent_desc MOP str|check_rise CGS u32|check_fall CGS u32|
check_health CGS u32|agent_rise CGS u32|agent_fall CGS u32|agent_health CGS u32|addr CGS str|
cookie CNS str|mode CGS str|algo CGS str|conn_rate MRP u32|conn_rate_max MMP u32|conn_tot MCP u64|
intercepted MCP u64|dcon MCP u64|dses MCP u64|wrew MCP u64|connect MCP u64|reuse MCP u64|
cache_lookups MCP u64|cache_hits MCP u64|srv_icur MGP u32|src_ilim CLP u32|qtime_max MMP u32|
ctime_max MMP u32|rtime_max MMP u32|ttime_max MMP u32|eint MCP u64|idle_conn_cur MGP u32|
safe_conn_cur MGP u32|used_conn_cur MGP u32|need_conn_est MGP u32|uweight MaP u32|
agg_server_status MGP u32|agg_server_check_status MGP u32|agg_check_status MGP u32`)

// Columns are the field names, in order.
var Columns = fieldNames(Fields)

func parseFields(spec string) []Field {
	var fs []Field
	for _, item := range strings.Split(spec, "|") {
		w := strings.Fields(item)
		fs = append(fs, Field{Name: w[0], Tags: w[1], Type: w[2]})
	}
	return fs
}

func fieldNames(fs []Field) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

// fieldPos indexes Fields by name; built once, read-only.
var fieldPos = func() map[string]int {
	m := make(map[string]int, len(Fields))
	for i, f := range Fields {
		m[f.Name] = i
	}
	return m
}()

// pos is the position of a field; a typo panics in the tests rather than
// leaving a column silently empty.
func pos(name string) int {
	i, ok := fieldPos[name]
	if !ok {
		panic("stats: no field " + name)
	}
	return i
}

// Value is one cell: empty (the field does not apply to the row), a number
// or a string.
type Value struct {
	Set   bool
	IsStr bool
	N     int64
	S     string
}

// String is the CSV text of the value (unescaped).
func (v Value) String() string {
	switch {
	case !v.Set:
		return ""
	case v.IsStr:
		return v.S
	}
	return strconv.FormatInt(v.N, 10)
}

// Typed names of the nature, origin and scope letters, as "show stat json"
// spells them.
var (
	originNames = map[byte]string{'M': "Metric", 'S': "Status", 'K': "Key", 'C': "Config", 'P': "Product"}
	natureNames = map[byte]string{'G': "Gauge", 'L': "Limit", 'M': "Max", 'R': "Rate", 'C': "Counter",
		'D': "Duration", 'A': "Age", 'T': "Time", 'N': "Name", 'O': "Output", 'a': "Avg"}
	scopeNames = map[byte]string{'P': "Process", 'S': "Service", 'C': "Cluster", 's': "System"}
)

// Values returns the cells of a row, Fields order, with the cells that do
// not apply to its type left empty as HAProxy does (a frontend has no
// queue, a server no request rate...). showAddr adds addr, cookie and
// algo: the CLI at operator level and the page with "stats show-legends".
func (r *Row) Values(showAddr bool) []Value {
	v := make([]Value, len(Fields))
	n := func(name string, x int64) { v[pos(name)] = Value{Set: true, N: x} }
	s := func(name, x string) { v[pos(name)] = Value{Set: true, IsStr: true, S: x} }
	s("pxname", r.Proxy)
	s("svname", r.Name)
	n("scur", r.Scur)
	n("smax", r.Smax)
	n("stot", r.Stot)
	n("bin", r.Bin)
	n("bout", r.Bout)
	n("dresp", r.Dresp)
	s("status", r.Status)
	n("pid", 1) // the relative process number: one worker process
	n("iid", int64(r.IID))
	n("sid", int64(r.SID))
	n("type", int64(r.Type))
	n("rate", r.Rate)
	n("rate_max", r.RateMax)
	for i, c := range []string{"hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other"} {
		n(c, r.Hrsp[i])
	}
	n("req_tot", r.ReqTot)
	s("mode", r.Mode)
	n("wrew", r.Wrew)
	n("eint", r.Eint)
	switch r.Type {
	case TypeFrontend:
		n("slim", r.Slim)
		n("dreq", r.Dreq)
		n("ereq", r.Ereq)
		n("rate_lim", r.RateLim)
		n("req_rate", r.ReqRate)
		n("req_rate_max", r.ReqRateMax)
		for _, c := range []string{"comp_in", "comp_out", "comp_byp", "comp_rsp", "dses", "cache_lookups", "cache_hits"} {
			n(c, 0)
		}
		n("conn_rate", r.ConnRate)
		n("conn_rate_max", r.ConnRateMax)
		n("conn_tot", r.ConnTot)
		n("intercepted", r.Intercepted)
		n("dcon", r.Dcon)
		return v
	}
	// Backends and servers.
	n("qcur", r.Qcur)
	n("qmax", r.Qmax)
	n("econ", r.Econ)
	n("eresp", r.Eresp)
	n("wretr", r.Wretr)
	n("wredis", r.Wredis)
	n("weight", r.Weight)
	n("act", r.Act)
	n("bck", r.Bck)
	n("lastchg", r.LastChg)
	n("lbtot", r.Lbtot)
	n("cli_abrt", r.CliAbrt)
	n("srv_abrt", r.SrvAbrt)
	n("lastsess", r.LastSess)
	n("qtime", r.Qtime)
	n("ctime", r.Ctime)
	n("rtime", r.Rtime)
	n("ttime", r.Ttime)
	n("connect", r.Connect)
	n("reuse", r.Reuse)
	n("qtime_max", r.QtimeMax)
	n("ctime_max", r.CtimeMax)
	n("rtime_max", r.RtimeMax)
	n("ttime_max", r.TtimeMax)
	n("uweight", r.UWeight)
	if r.Type == TypeBackend {
		n("slim", r.Slim)
		n("dreq", r.Dreq)
		n("chkdown", r.ChkDown)
		n("downtime", r.Downtime)
		for _, c := range []string{"comp_in", "comp_out", "comp_byp", "comp_rsp", "cache_lookups", "cache_hits"} {
			n(c, 0)
		}
		if showAddr {
			s("algo", r.Algo)
			if r.Cookie != "" {
				s("cookie", r.Cookie) // the cookie's name, as HAProxy shows it
			}
		}
		n("agg_server_status", r.AggServerStatus)
		n("agg_server_check_status", r.AggCheckStatus)
		n("agg_check_status", r.AggCheckStatus)
		return v
	}
	// Servers.
	if r.Slim > 0 {
		n("slim", r.Slim)
	}
	if r.Qlimit > 0 {
		n("qlimit", r.Qlimit)
	}
	if r.Throttle >= 0 && r.Throttle < 100 {
		n("throttle", r.Throttle)
	}
	if r.Tracked != "" {
		s("tracked", r.Tracked)
	}
	if r.Checked {
		n("chkfail", r.ChkFail)
		n("chkdown", r.ChkDown)
		n("downtime", r.Downtime)
	}
	if c := r.Check; c != nil {
		st := c.Status
		if c.Running {
			st = "* " + st
		}
		s("check_status", st)
		if c.HasCode {
			n("check_code", int64(c.Code))
		}
		if c.Duration >= 0 {
			n("check_duration", c.Duration)
		}
		s("check_desc", c.Desc)
		if c.Last != "" {
			s("last_chk", c.Last)
		}
		n("check_rise", int64(c.Rise))
		n("check_fall", int64(c.Fall))
		n("check_health", int64(c.Health))
	}
	if showAddr {
		s("addr", r.Addr)
		if r.Cookie != "" {
			s("cookie", r.Cookie)
		}
	}
	n("srv_icur", r.IdleCur)
	if r.IdleLim > 0 {
		n("src_ilim", r.IdleLim)
	}
	n("idle_conn_cur", 0)
	n("safe_conn_cur", r.IdleCur)
	n("used_conn_cur", r.Scur)
	n("need_conn_est", r.Scur)
	return v
}
