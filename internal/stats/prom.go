package stats

import (
	"bufio"
	"io"
	"math"
	"strconv"
	"strings"
)

// The Prometheus exporter ("http-request use-service prometheus-exporter")
// with HAProxy 2.6's metric names, labels and types, so that dashboards
// and alerts written for HAProxy's exporter work unchanged. Each scrape
// writes the Rows and Info of that moment: nothing is kept between
// scrapes. The output is checked with prometheus/common/expfmt's parser.

type promDef struct {
	name, help string
	counter    bool
	field      string  // the stats field it reads
	scale      float64 // 0.001 for milliseconds to seconds; 0 means 1
}

func defs(spec string) []promDef {
	var out []promDef
	for _, line := range strings.Split(strings.TrimSpace(spec), "\n") {
		name, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		kind, rest, _ := strings.Cut(rest, " ")
		field, help, _ := strings.Cut(rest, " ")
		d := promDef{name: name, counter: kind == "c", field: field, help: help}
		if strings.HasSuffix(field, "@ms") {
			d.field, d.scale = strings.TrimSuffix(field, "@ms"), 0.001
		}
		out = append(out, d)
	}
	return out
}

// Process metrics: name, c(ounter) or g(auge), the "show info" field.
var processDefs = defs(`
nbthread g Nbthread Number of started threads (global.nbthread)
nbproc g Nbproc Number of started worker processes (historical, always 1)
relative_process_id g Process_num Relative worker process number (1)
uptime_seconds g Uptime_sec How long ago this worker process was started (seconds)
pool_failures_total c PoolFailed Number of failed pool allocations since this worker was started
max_fds g Ulimit-n Hard limit on the number of per-process file descriptors
max_sockets g Maxsock Hard limit on the number of per-process sockets
max_connections g Maxconn Hard limit on the number of per-process connections (configured or imposed by Ulimit-n)
hard_max_connections g Hard_maxconn Hard limit on the number of per-process connections (imposed by Memmax_MB or Ulimit-n)
current_connections g CurrConns Current number of connections on this worker process
connections_total c CumConns Total number of connections on this worker process since started
requests_total c CumReq Total number of requests on this worker process since started
max_ssl_connections g MaxSslConns Hard limit on the number of per-process SSL endpoints (front+back), 0=unlimited
current_ssl_connections g CurrSslConns Current number of SSL endpoints on this worker process (front+back)
ssl_connections_total c CumSslConns Total number of SSL endpoints on this worker process since started (front+back)
max_pipes g Maxpipes Hard limit on the number of pipes for splicing, 0=unlimited
pipes_used_total c PipesUsed Current number of pipes in use in this worker process
pipes_free_total c PipesFree Current number of allocated and available pipes in this worker process
current_connection_rate g ConnRate Number of front connections created on this worker process over the last second
limit_connection_rate g ConnRateLimit Hard limit for ConnRate (global.maxconnrate)
max_connection_rate g MaxConnRate Highest ConnRate reached on this worker process since started (in connections per second)
current_session_rate g SessRate Number of sessions created on this worker process over the last second
limit_session_rate g SessRateLimit Hard limit for SessRate (global.maxsessrate)
max_session_rate g MaxSessRate Highest SessRate reached on this worker process since started (in sessions per second)
current_ssl_rate g SslRate Number of SSL connections created on this worker process over the last second
limit_ssl_rate g SslRateLimit Hard limit for SslRate (global.maxsslrate)
max_ssl_rate g MaxSslRate Highest SslRate reached on this worker process since started (in connections per second)
current_frontend_ssl_key_rate g SslFrontendKeyRate Number of SSL keys created on frontends in this worker process over the last second
max_frontend_ssl_key_rate g SslFrontendMaxKeyRate Highest SslFrontendKeyRate reached on this worker process since started (in SSL keys per second)
frontend_ssl_reuse g SslFrontendSessionReuse_pct Percent of frontend SSL connections which did not require a new key
current_backend_ssl_key_rate g SslBackendKeyRate Number of SSL keys created on backends in this worker process over the last second
max_backend_ssl_key_rate g SslBackendMaxKeyRate Highest SslBackendKeyRate reached on this worker process since started (in SSL keys per second)
ssl_cache_lookups_total c SslCacheLookups Total number of SSL session ID lookups in the SSL session cache on this worker since started
ssl_cache_misses_total c SslCacheMisses Total number of SSL session ID lookups that didn't find a session in the SSL session cache on this worker since started
http_comp_bytes_in_total c CompressBpsIn Number of bytes submitted to the HTTP compressor in this worker process over the last second
http_comp_bytes_out_total c CompressBpsOut Number of bytes emitted by the HTTP compressor in this worker process over the last second
limit_http_comp g CompressBpsRateLim Limit of CompressBpsOut beyond which HTTP compression is automatically disabled
current_zlib_memory g ZlibMemUsage Amount of memory currently used by HTTP compression on the current worker process (in bytes)
max_zlib_memory g MaxZlibMemUsage Limit on the amount of memory used by HTTP compression above which it is automatically disabled (in bytes, see global.maxzlibmem)
current_tasks g Tasks Total number of tasks in the current worker process (active + sleeping)
current_run_queue g Run_queue Total number of active tasks+tasklets in the current worker process
idle_time_percent g Idle_pct Percentage of last second spent waiting in the current worker thread
stopping g Stopping 1 if the worker process is currently stopping, otherwise zero
jobs g Jobs Current number of active jobs on the current worker process (frontend connections, master connections, listeners)
unstoppable_jobs g Unstoppable_Jobs Current number of unstoppable jobs on the current worker process (master connections)
listeners g Listeners Current number of active listeners on the current worker process
active_peers g ActivePeers Current number of verified active peers connections on the current worker process
connected_peers g ConnectedPeers Current number of peers having passed the connection step on the current worker process
dropped_logs_total c DroppedLogs Total number of dropped logs for current worker process since started
busy_polling_enabled g BusyPolling 1 if busy-polling is currently in use on the worker process, otherwise zero (config.busy-polling)
failed_resolutions c FailedResolutions Total number of failed DNS resolutions in current worker process since started
bytes_out_total c TotalBytesOut Total number of bytes emitted by current worker process since started
spliced_bytes_out_total c TotalSplicdedBytesOut Total number of bytes emitted by current worker process through a kernel pipe since started
bytes_out_rate g BytesOutRate Number of bytes emitted by current worker process over the last second
recv_logs_total c CumRecvLogs Total number of log messages received by log-forwarding listeners on this worker process since started
max_memory_bytes g Memmax_bytes Worker process's hard limit on memory usage in byes (-m on command line)
pool_allocated_bytes g PoolAlloc_bytes Amount of memory allocated in pools (in bytes)
pool_used_bytes g PoolUsed_bytes Amount of pool memory currently used (in bytes)
start_time_seconds g Start_time_sec Start time in seconds
`)

// Proxy metrics shared by name between frontends (f), backends (b) and
// servers (s): "fbs name kind field help".
// Built once from the constant table below; never written afterwards.
var proxyDefs = buildProxyDefs()

func buildProxyDefs() map[string][]promDef {
	m := map[string][]promDef{}
	for _, line := range strings.Split(strings.TrimSpace(proxySpec), "\n") {
		objs, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
		d := defs(rest)[0]
		for _, o := range objs {
			m[string(o)] = append(m[string(o)], d)
		}
	}
	return m
}

const proxySpec = `
fbs current_sessions g scur Number of current sessions on the frontend, backend or server
bs current_queue g qcur Number of current queued connections
bs max_queue g qmax Highest value of queued connections encountered since process started
fbs max_sessions g smax Highest value of current sessions encountered since process started
fbs limit_sessions g slim Frontend/listener/server's maxconn, backend's fullconn
fbs sessions_total c stot Total number of sessions since process started
fbs bytes_in_total c bin Total number of request bytes since process started
fbs bytes_out_total c bout Total number of response bytes since process started
fb requests_denied_total c dreq Total number of denied requests since process started
fbs responses_denied_total c dresp Total number of denied responses since process started
f request_errors_total c ereq Total number of invalid requests since process started
bs connection_errors_total c econ Total number of failed connections to server since the worker process started
bs response_errors_total c eresp Total number of invalid responses since the worker process started
bs retry_warnings_total c wretr Total number of server connection retries since the worker process started
bs redispatch_warnings_total c wredis Total number of server redispatches due to connection failures since the worker process started
bs weight g weight Server's effective weight, or sum of active servers' effective weights for a backend
b active_servers g act Total number of active UP servers with a non-zero weight
b backup_servers g bck Total number of backup UP servers with a non-zero weight
s check_failures_total c chkfail Total number of failed individual health checks per server/backend, since the worker process started
bs check_up_down_total c chkdown Total number of failed checks causing UP to DOWN server transitions, per server/backend, since the worker process started
bs check_last_change_seconds g lastchg How long ago the last server state changed, in seconds
bs downtime_seconds_total c downtime Total time spent in DOWN state, for server or backend
s queue_limit g qlimit Limit on the number of connections in queue, for servers only (maxqueue argument)
s current_throttle g throttle Throttling ratio applied to a server's maxconn and weight during the slowstart period (0 to 100%)
bs loadbalanced_total c lbtot Total number of requests routed by load balancing since the worker process started (ignores queue pop and stickiness)
f limit_session_rate g rate_lim Limit on the number of sessions accepted in a second (frontend only, 'rate-limit sessions' setting)
fbs max_session_rate g rate_max Highest value of sessions per second observed since the worker process started
s check_code g check_code HTTP/SMTP/LDAP status code reported by the latest server health check
s check_duration_seconds g check_duration@ms Total duration of the latest server health check, in seconds.
f http_requests_rate_max g req_rate_max Highest value of http requests observed since the worker process started
fb http_requests_total c req_tot Total number of HTTP requests processed by this object since the worker process started
bs client_aborts_total c cli_abrt Total number of requests or connections aborted by the client since the worker process started
bs server_aborts_total c srv_abrt Total number of requests or connections aborted by the server since the worker process started
fb http_comp_bytes_in_total c comp_in Total number of bytes submitted to the HTTP compressor for this object since the worker process started
fb http_comp_bytes_out_total c comp_out Total number of bytes emitted by the HTTP compressor for this object since the worker process started
fb http_comp_bytes_bypassed_total c comp_byp Total number of bytes that bypassed HTTP compression for this object since the worker process started (CPU/memory/bandwidth limitation)
fb http_comp_responses_total c comp_rsp Total number of HTTP responses that were compressed for this object since the worker process started
bs last_session_seconds g lastsess How long ago some traffic was seen on this object on this worker process, in seconds
bs queue_time_average_seconds g qtime@ms Avg. queue time for last 1024 successful connections.
bs connect_time_average_seconds g ctime@ms Avg. connect time for last 1024 successful connections.
bs response_time_average_seconds g rtime@ms Avg. response time for last 1024 successful connections.
bs total_time_average_seconds g ttime@ms Avg. total time for last 1024 successful connections.
f connections_rate_max g conn_rate_max Highest value of connections per second observed since the worker process started
f connections_total c conn_tot Total number of new connections accepted on this frontend since the worker process started
f intercepted_requests_total c intercepted Total number of HTTP requests intercepted on the frontend (redirects/stats/services) since the worker process started
f denied_connections_total c dcon Total number of incoming connections blocked on a listener/frontend by a tcp-request connection rule since the worker process started
f denied_sessions_total c dses Total number of incoming sessions blocked on a listener/frontend by a tcp-request connection rule since the worker process started
fbs failed_header_rewriting_total c wrew Total number of failed HTTP header rewrites since the worker process started
bs connection_attempts_total c connect Total number of outgoing connection attempts on this backend/server since the worker process started
bs connection_reuses_total c reuse Total number of reused connection on this backend/server since the worker process started
fb http_cache_lookups_total c cache_lookups Total number of HTTP requests looked up in the cache on this frontend/backend since the worker process started
fb http_cache_hits_total c cache_hits Total number of HTTP requests not found in the cache on this frontend/backend since the worker process started
s idle_connections_current g srv_icur Current number of idle connections available for reuse on this server
s idle_connections_limit g src_ilim Limit on the number of available idle connections on this server (server 'pool_max_conn' directive)
bs max_queue_time_seconds g qtime_max@ms Maximum observed time spent in the queue
bs max_connect_time_seconds g ctime_max@ms Maximum observed time spent waiting for a connection to complete
bs max_response_time_seconds g rtime_max@ms Maximum observed time spent waiting for a server response
bs max_total_time_seconds g ttime_max@ms Maximum observed total request+response time (request+queue+connect+response+processing)
fbs internal_errors_total c eint Total number of internal errors since process started
s unsafe_idle_connections_current g idle_conn_cur Current number of unsafe idle connections
s safe_idle_connections_current g safe_conn_cur Current number of safe idle connections
s used_connections_current g used_conn_cur Current number of connections in use
s need_connections_current g need_conn_est Estimated needed number of connections
bs uweight g uweight Server's user weight, or sum of active servers' user weights for a backend
`

var (
	serverStates = []string{"DOWN", "UP", "MAINT", "DRAIN", "NOLB"}
	checkStates  = []string{"HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK", "L6TOUT", "L6RSP", "L7TOUT",
		"L7RSP", "L7OK", "L7OKC", "L7STS", "PROCERR", "PROCTOUT", "PROCOK"}
	codeLabels = []string{"1xx", "2xx", "3xx", "4xx", "5xx", "other"}
)

// PromOptions are the exporter's query parameters: "scope" (repeatable:
// "global", "frontend", "backend", "server", "*"; all when absent) and
// "no-maint" (leave servers in maintenance out).
type PromOptions struct {
	Scopes  map[string]bool
	NoMaint bool
	// Bulwark, when set, adds the "bulwark_" families (scope "bulwark",
	// a Bulwark extension; written when no scope is given, or "*").
	Bulwark *Bulwark
}

// TableStat is a stick table as the exporter's "sticktable" scope shows
// it.
type TableStat struct {
	Name, Type string
	Size, Used int64
}

func (o PromOptions) want(s string) bool {
	return len(o.Scopes) == 0 || o.Scopes["*"] || o.Scopes[s]
}

// stateWord is the server state of the status metric: the word of the
// status column without its "n/m" counter.
func stateWord(st string) string {
	w, _, _ := strings.Cut(st, " ")
	switch w {
	case "no", "OPEN":
		return "UP"
	case "STOP":
		return "DOWN"
	}
	return w
}

// promWriter writes the text exposition format (version 0.0.4) straight
// to a buffer: a scrape of 1,000 servers is some 100,000 series, and going
// through client_golang's registry (a protobuf message per series, then a
// sort) costs about a second there; this costs a few milliseconds and
// allocates per series only the label text.
type promWriter struct {
	b   *bufio.Writer
	num []byte
}

func (w *promWriter) family(name, help string, counter bool) {
	w.b.WriteString("# HELP ")
	w.b.WriteString(name)
	w.b.WriteByte(' ')
	w.b.WriteString(strings.NewReplacer("\\", "\\\\", "\n", "\\n").Replace(help))
	w.b.WriteString("\n# TYPE ")
	w.b.WriteString(name)
	if counter {
		w.b.WriteString(" counter\n")
	} else {
		w.b.WriteString(" gauge\n")
	}
}

// sample writes one series; labels are name, value pairs.
func (w *promWriter) sample(name string, v float64, labels ...string) {
	w.b.WriteString(name)
	if len(labels) > 0 {
		w.b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				w.b.WriteByte(',')
			}
			w.b.WriteString(labels[i])
			w.b.WriteString(`="`)
			writeLabelValue(w.b, labels[i+1])
			w.b.WriteByte('"')
		}
		w.b.WriteByte('}')
	}
	w.b.WriteByte(' ')
	switch {
	case math.IsNaN(v):
		w.b.WriteString("NaN")
	default:
		w.num = strconv.AppendFloat(w.num[:0], v, 'g', -1, 64)
		w.b.Write(w.num)
	}
	w.b.WriteByte('\n')
}

// rowSample writes one series of a row: its proxy (and server) labels,
// then one more label when key is not empty. It does not allocate.
func (w *promWriter) rowSample(name string, v float64, r *Row, key, val string) {
	w.b.WriteString(name)
	w.b.WriteString(`{proxy="`)
	writeLabelValue(w.b, r.Proxy)
	if r.Type == TypeServer {
		w.b.WriteString(`",server="`)
		writeLabelValue(w.b, r.Name)
	}
	if key != "" {
		w.b.WriteString(`",`)
		w.b.WriteString(key)
		w.b.WriteString(`="`)
		writeLabelValue(w.b, val)
	}
	w.b.WriteString(`"} `)
	if math.IsNaN(v) {
		w.b.WriteString("NaN")
	} else {
		w.num = strconv.AppendFloat(w.num[:0], v, 'g', -1, 64)
		w.b.Write(w.num)
	}
	w.b.WriteByte('\n')
}

// writeLabelValue escapes a label value as the format requires: names of
// proxies and servers come from the configuration.
func writeLabelValue(b *bufio.Writer, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteByte(c)
		}
	}
}

// PromContentType is the text exposition format's content type.
const PromContentType = "text/plain; version=0.0.4; charset=utf-8"

// WriteProm writes the exposition of rows and info in Prometheus' text
// format, metric by metric as HAProxy's exporter does.
func WriteProm(out io.Writer, rows []Row, info *Info, tables []TableStat, opt PromOptions) error {
	w := &promWriter{b: bufio.NewWriterSize(out, 64<<10)}
	if opt.want("global") && info != nil {
		known := map[string]Value{}
		for _, it := range info.Items() {
			known[it.Field.Name] = it.Value
		}
		for _, d := range processDefs {
			// Fields of features Bulwark does not have (SSL key rates,
			// pipes, pools, compression, peers) are 0: dashboards expect
			// the series, and none of those counters can have moved.
			name := "haproxy_process_" + d.name
			w.family(name, d.help, d.counter)
			w.sample(name, float64(known[d.field].N))
		}
		w.family("haproxy_process_build_info", "Build info", false)
		w.sample("haproxy_process_build_info", 1, "version", info.Version)
	}
	objs := []struct {
		key, name string
		typ       int
	}{{"f", "frontend", TypeFrontend}, {"b", "backend", TypeBackend}, {"s", "server", TypeServer}}
	for _, obj := range objs {
		if !opt.want(obj.name) {
			continue
		}
		var sel []*Row
		var vals [][]Value
		for i := range rows {
			r := &rows[i]
			if r.Type != obj.typ || r.Type == TypeServer && opt.NoMaint && strings.HasPrefix(r.Status, "MAINT") {
				continue
			}
			sel = append(sel, r)
			vals = append(vals, r.Values(true))
		}
		if len(sel) == 0 {
			continue
		}
		prefix := "haproxy_" + obj.name + "_"
		for _, d := range proxyDefs[obj.key] {
			p := pos(d.field)
			name := prefix + d.name
			w.family(name, d.help, d.counter)
			for i, r := range sel {
				v := vals[i][p]
				// An empty field (no limit, no check) is NaN, as in
				// HAProxy's exporter: "0" would read as a limit of 0.
				f := math.NaN()
				if v.Set && !v.IsStr {
					f = float64(v.N)
					if d.scale != 0 {
						f *= d.scale
					}
				}
				w.rowSample(name, f, r, "", "")
			}
		}
		states := serverStates
		if obj.typ != TypeServer {
			states = []string{"DOWN", "UP"}
		}
		w.family(prefix+"status", "Current status of the service, per state label value.", false)
		for _, r := range sel {
			word := stateWord(r.Status)
			for _, st := range states {
				w.rowSample(prefix+"status", b2f(st == word), r, "state", st)
			}
		}
		if obj.typ == TypeServer {
			w.family(prefix+"check_status", "Status of last health check, per state label value.", false)
			for _, r := range sel {
				cur := ""
				if r.Check != nil {
					cur = r.Check.Status
				}
				for _, st := range checkStates {
					w.rowSample(prefix+"check_status", b2f(st == cur), r, "state", st)
				}
			}
		}
		if obj.typ == TypeBackend {
			writeAgg(w, rows, sel)
		}
		hname := prefix + "http_responses_total"
		first := true
		for _, r := range sel {
			if r.Mode != "http" {
				continue
			}
			if first {
				w.family(hname, "Total number of HTTP responses, per status class ('code' label).", true)
				first = false
			}
			for k, code := range codeLabels {
				w.rowSample(hname, float64(r.Hrsp[k]), r, "code", code)
			}
		}
	}
	if opt.want("sticktable") && len(tables) > 0 {
		w.family("haproxy_sticktable_size", "Stick table size.", false)
		for _, t := range tables {
			w.sample("haproxy_sticktable_size", float64(t.Size), "name", t.Name, "type", t.Type)
		}
		w.family("haproxy_sticktable_used", "Number of entries used in this stick table.", false)
		for _, t := range tables {
			w.sample("haproxy_sticktable_used", float64(t.Used), "name", t.Name, "type", t.Type)
		}
	}
	if opt.Bulwark != nil && opt.want("bulwark") {
		writeBulwarkProm(w, opt.Bulwark)
	}
	return w.b.Flush()
}

// writeAgg writes the backends' aggregated server states: how many of
// their servers are in each state, and in each check state.
func writeAgg(w *promWriter, rows []Row, backends []*Row) {
	states := map[string]map[string]int{}
	checks := map[string]map[string]int{}
	for i := range rows {
		r := &rows[i]
		if r.Type != TypeServer {
			continue
		}
		if states[r.Proxy] == nil {
			states[r.Proxy], checks[r.Proxy] = map[string]int{}, map[string]int{}
		}
		states[r.Proxy][stateWord(r.Status)]++
		if r.Check != nil {
			checks[r.Proxy][r.Check.Status]++
		}
	}
	for _, name := range []string{"agg_server_status", "agg_server_check_status"} {
		n := "haproxy_backend_" + name
		w.family(n, "Backend's aggregated gauge of servers' status", false)
		for _, be := range backends {
			for _, st := range serverStates {
				w.rowSample(n, float64(states[be.Proxy][st]), be, "state", st)
			}
		}
	}
	n := "haproxy_backend_agg_check_status"
	w.family(n, "Backend's aggregated gauge of servers' state check status", false)
	for _, be := range backends {
		for _, st := range checkStates {
			w.rowSample(n, float64(checks[be.Proxy][st]), be, "state", st)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
