package stats

import (
	"io"
	"math"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// The Prometheus exporter ("http-request use-service prometheus-exporter")
// with HAProxy 2.6's metric names, labels and types, so that dashboards
// and alerts written for HAProxy's exporter work unchanged. Each scrape
// builds const metrics from the Rows and Info of that moment in a registry
// of its own: nothing is kept between scrapes.

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
}

func (o PromOptions) want(s string) bool {
	return len(o.Scopes) == 0 || o.Scopes["*"] || o.Scopes[s]
}

// stateWord is the server state of the status metric: the word of the
// status column without its "n/m" counter.
func stateWord(st string) string {
	w, _, _ := strings.Cut(st, " ")
	switch w {
	case "no":
		return "UP"
	case "OPEN":
		return "UP"
	case "STOP":
		return "DOWN"
	}
	return w
}

// collector turns one set of rows and info into const metrics.
type collector struct {
	rows []Row
	info *Info
	opt  PromOptions
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	if c.opt.want("global") && c.info != nil {
		c.collectProcess(ch)
	}
	descs := map[string]*prometheus.Desc{}
	desc := func(obj string, d promDef, labels ...string) *prometheus.Desc {
		k := obj + d.name
		if x := descs[k]; x != nil {
			return x
		}
		x := prometheus.NewDesc("haproxy_"+obj+"_"+d.name, d.help, labels, nil)
		descs[k] = x
		return x
	}
	for _, obj := range []struct {
		key, name, scope string
		typ              int
	}{{"f", "frontend", "frontend", TypeFrontend}, {"b", "backend", "backend", TypeBackend}, {"s", "server", "server", TypeServer}} {
		if !c.opt.want(obj.scope) {
			continue
		}
		for i := range c.rows {
			r := &c.rows[i]
			if r.Type != obj.typ {
				continue
			}
			if r.Type == TypeServer && c.opt.NoMaint && r.Status == "MAINT" {
				continue
			}
			lv := []string{r.Proxy}
			ln := []string{"proxy"}
			if r.Type == TypeServer {
				lv, ln = append(lv, r.Name), append(ln, "server")
			}
			vals := r.Values(true)
			for _, d := range proxyDefs[obj.key] {
				v := vals[pos(d.field)]
				if v.IsStr {
					continue
				}
				// An empty field (no limit, no check) is NaN, as in
				// HAProxy's exporter: "0" would read as a limit of 0.
				f := math.NaN()
				if v.Set {
					f = float64(v.N)
					if d.scale != 0 {
						f *= d.scale
					}
				}
				t := prometheus.GaugeValue
				if d.counter {
					t = prometheus.CounterValue
				}
				ch <- prometheus.MustNewConstMetric(desc(obj.name, d, ln...), t, f, lv...)
			}
			sl := append(append([]string(nil), ln...), "state")
			word := stateWord(r.Status)
			states := serverStates
			if r.Type != TypeServer {
				states = []string{"DOWN", "UP"}
			}
			sd := desc(obj.name, promDef{name: "status", help: "Current status of the service, per state label value."}, sl...)
			for _, s := range states {
				ch <- prometheus.MustNewConstMetric(sd, prometheus.GaugeValue, b2f(s == word), append(lv, s)...)
			}
			if r.Type == TypeServer {
				cd := desc(obj.name, promDef{name: "check_status", help: "Status of last health check, per state label value."}, sl...)
				cur := ""
				if r.Check != nil {
					cur = r.Check.Status
				}
				for _, s := range checkStates {
					ch <- prometheus.MustNewConstMetric(cd, prometheus.GaugeValue, b2f(s == cur), append(lv, s)...)
				}
			}
			if r.Type == TypeBackend {
				c.collectAgg(ch, desc, r, sl, lv)
			}
			if r.Mode == "http" && r.Type != TypeServer || r.Type == TypeServer && r.Mode == "http" {
				cl := append(append([]string(nil), ln...), "code")
				hd := desc(obj.name, promDef{name: "http_responses_total", help: "Total number of HTTP responses with status 100-199 returned by this object since the worker process started", counter: true}, cl...)
				for k, code := range codeLabels {
					ch <- prometheus.MustNewConstMetric(hd, prometheus.CounterValue, float64(r.Hrsp[k]), append(lv, code)...)
				}
			}
		}
	}
}

// collectAgg writes the backend's aggregated server states: how many of
// its servers are in each state, and in each check state.
func (c *collector) collectAgg(ch chan<- prometheus.Metric, desc func(string, promDef, ...string) *prometheus.Desc, be *Row, sl, lv []string) {
	counts := map[string]int{}
	for i := range c.rows {
		r := &c.rows[i]
		if r.Type == TypeServer && r.Proxy == be.Proxy {
			counts[stateWord(r.Status)]++
		}
	}
	for _, name := range []string{"agg_server_status", "agg_server_check_status"} {
		d := desc("backend", promDef{name: name, help: "Backend's aggregated gauge of servers' status"}, sl...)
		for _, s := range serverStates {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(counts[s]), append(lv, s)...)
		}
	}
	d := desc("backend", promDef{name: "agg_check_status", help: "Backend's aggregated gauge of servers' state check status"}, sl...)
	checks := map[string]int{}
	for i := range c.rows {
		r := &c.rows[i]
		if r.Type == TypeServer && r.Proxy == be.Proxy && r.Check != nil {
			checks[r.Check.Status]++
		}
	}
	for _, s := range checkStates {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(checks[s]), append(lv, s)...)
	}
}

func (c *collector) collectProcess(ch chan<- prometheus.Metric) {
	known := map[string]Value{}
	for _, it := range c.info.Items() {
		known[it.Field.Name] = it.Value
	}
	for _, d := range processDefs {
		t := prometheus.GaugeValue
		if d.counter {
			t = prometheus.CounterValue
		}
		// Fields of features Bulwark does not have (SSL key rates,
		// pipes, pools, compression, peers) are 0: dashboards expect
		// the series, and none of those counters can have moved.
		ch <- prometheus.MustNewConstMetric(prometheus.NewDesc("haproxy_process_"+d.name, d.help, nil, nil), t, float64(known[d.field].N))
	}
	bd := prometheus.NewDesc("haproxy_process_build_info", "Build info", []string{"version"}, nil)
	ch <- prometheus.MustNewConstMetric(bd, prometheus.GaugeValue, 1, c.info.Version)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// PromContentType is the text exposition format's content type.
const PromContentType = "text/plain; version=0.0.4; charset=utf-8"

// WriteProm writes the exposition of rows and info in Prometheus' text
// format.
func WriteProm(w io.Writer, rows []Row, info *Info, opt PromOptions) error {
	reg := prometheus.NewRegistry()
	if err := reg.Register(&collector{rows: rows, info: info, opt: opt}); err != nil {
		return err
	}
	mfs, err := reg.Gather()
	if err != nil {
		return err
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	return nil
}
