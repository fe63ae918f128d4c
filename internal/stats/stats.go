// Package stats renders the statistics page: HAProxy's CSV (the column
// order is an API: monitoring tools read columns by position) and an HTML
// view of the same rows.
package stats

import (
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"
	"time"
)

// Row is one line of the statistics: a frontend, a backend or a server.
type Row struct {
	Proxy  string // pxname
	Name   string // svname: FRONTEND, BACKEND or the server name
	Type   int    // 0 frontend, 1 backend, 2 server
	IID    int
	SID    int
	Qcur   int64
	Scur   int64
	Slim   int64
	Stot   int64
	Bin    int64
	Bout   int64
	Dreq   int64
	Ereq   int64
	Econ   int64
	Eresp  int64
	Status string
	Weight int64 // effective weight: 0 while draining
	Act    int64
	Bck    int64
	// UWeight is the user weight ("set weight"), of the server or summed
	// over the backend's servers.
	UWeight int64
	// Checked marks a server with "check": chkfail and chkdown apply.
	Checked bool
	ChkFail int64
	ChkDown int64
	LastChg int64  // seconds since the last UP/DOWN change; servers only
	Check   *Check // nil when no check runs (none, or paused by maintenance)
	Hrsp    [6]int64
	Mode    string
	Algo    string
	Addr    string
}

// Check is the last health check of a server.
type Check struct {
	Status   string // check_status: L4OK, L7STS, INI...
	Code     int    // check_code, with HasCode
	HasCode  bool
	Duration int64  // check_duration in ms; -1 before the first check
	Desc     string // check_desc: "Layer7 wrong status"
	Last     string // last_chk: the error or the response reason
	Rise     int
	Fall     int
	Health   int
}

// Columns are HAProxy 2.6's CSV fields 0..99, in order (MG 9.1).
var Columns = strings.Fields(`pxname svname qcur qmax scur smax slim stot bin bout dreq dresp ereq econ
eresp wretr wredis status weight act bck chkfail chkdown lastchg downtime qlimit pid iid sid
throttle lbtot tracked type rate rate_lim rate_max check_status check_code check_duration
hrsp_1xx hrsp_2xx hrsp_3xx hrsp_4xx hrsp_5xx hrsp_other hanafail req_rate req_rate_max
req_tot cli_abrt srv_abrt comp_in comp_out comp_byp comp_rsp lastsess last_chk last_agt
qtime ctime rtime ttime agent_status agent_code agent_duration check_desc agent_desc
check_rise check_fall check_health agent_rise agent_fall agent_health addr cookie mode algo
conn_rate conn_rate_max conn_tot intercepted dcon dses wrew connect reuse cache_lookups
cache_hits srv_icur src_ilim qtime_max ctime_max rtime_max ttime_max eint idle_conn_cur
safe_conn_cur used_conn_cur need_conn_est uweight`)

// WriteCSV writes the header line and one line per row.
func WriteCSV(w io.Writer, rows []Row, pid int) error {
	var b strings.Builder
	b.WriteString("# ")
	b.WriteString(strings.Join(Columns, ","))
	b.WriteString(",\n")
	for _, r := range rows {
		f := make([]string, len(Columns))
		set := func(col string, v string) {
			for i, c := range Columns {
				if c == col {
					f[i] = v
					return
				}
			}
		}
		n := func(v int64) string { return strconv.FormatInt(v, 10) }
		set("pxname", csvEscape(r.Proxy))
		set("svname", csvEscape(r.Name))
		set("scur", n(r.Scur))
		set("stot", n(r.Stot))
		set("bin", n(r.Bin))
		set("bout", n(r.Bout))
		set("status", r.Status)
		set("pid", strconv.Itoa(pid))
		set("iid", strconv.Itoa(r.IID))
		set("sid", strconv.Itoa(r.SID))
		set("type", strconv.Itoa(r.Type))
		set("mode", r.Mode)
		if r.Type != 2 {
			set("dreq", n(r.Dreq))
		}
		if r.Type == 0 {
			set("slim", n(r.Slim))
			set("ereq", n(r.Ereq))
			set("req_tot", n(r.Stot))
		} else {
			set("qcur", n(r.Qcur))
			set("econ", n(r.Econ))
			set("eresp", n(r.Eresp))
			set("weight", n(r.Weight))
			set("act", n(r.Act))
			set("bck", n(r.Bck))
			set("lbtot", n(r.Stot))
		}
		if r.Type == 1 {
			set("algo", r.Algo)
		}
		if r.Type != 0 {
			set("uweight", n(r.UWeight))
		}
		if r.Type == 2 {
			set("addr", r.Addr)
			set("lastchg", n(r.LastChg))
			if r.Checked {
				set("chkfail", n(r.ChkFail))
				set("chkdown", n(r.ChkDown))
			}
			if c := r.Check; c != nil {
				set("check_status", c.Status)
				if c.HasCode {
					set("check_code", strconv.Itoa(c.Code))
				}
				if c.Duration >= 0 {
					set("check_duration", n(c.Duration))
				}
				set("check_desc", csvEscape(c.Desc))
				set("last_chk", csvEscape(c.Last))
				set("check_rise", strconv.Itoa(c.Rise))
				set("check_fall", strconv.Itoa(c.Fall))
				set("check_health", strconv.Itoa(c.Health))
			}
		}
		for i, c := range []string{"hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other"} {
			set(c, n(r.Hrsp[i]))
		}
		b.WriteString(strings.Join(f, ","))
		b.WriteString(",\n")
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

// PageOptions tune the HTML page.
type PageOptions struct {
	HideVersion bool
	Version     string
	Refresh     time.Duration
	URI         string
}

// WriteHTML writes a self-contained page with one table per proxy.
func WriteHTML(w io.Writer, rows []Row, o PageOptions) error {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Statistics Report</title>\n")
	if o.Refresh > 0 {
		fmt.Fprintf(&b, "<meta http-equiv=\"refresh\" content=\"%d\">\n", int(o.Refresh.Seconds()))
	}
	b.WriteString(`<style>body{font-family:sans-serif;font-size:13px}table{border-collapse:collapse;margin-bottom:1.5em}
th,td{border:1px solid #999;padding:2px 6px;text-align:right}th{background:#20a}th,caption{color:#fff}
caption{background:#20a;text-align:left;padding:3px 6px;font-weight:bold}td.n{text-align:left}
tr.UP td{background:#cfc}tr.DOWN td{background:#fcc}tr.MAINT td{background:#c9f}tr.DRAIN td{background:#8cf}
tr.NOLB td{background:#fc8}tr.going td{background:#ff8}tr.fe td,tr.be td{background:#eef}</style></head><body>
`)
	b.WriteString("<h1>Statistics Report</h1>\n")
	if !o.HideVersion {
		fmt.Fprintf(&b, "<p>Bulwark version %s</p>\n", html.EscapeString(o.Version))
	}
	fmt.Fprintf(&b, "<p><a href=\"%s;csv\">CSV export</a></p>\n", html.EscapeString(o.URI))
	cur := ""
	for _, r := range rows {
		if r.Proxy != cur {
			if cur != "" {
				b.WriteString("</table>\n")
			}
			cur = r.Proxy
			fmt.Fprintf(&b, "<table><caption>%s</caption>\n<tr><th></th><th>Cur</th><th>Total</th><th>Bytes in</th><th>Bytes out</th><th>Denied</th><th>Errors</th><th>2xx</th><th>4xx</th><th>5xx</th><th>Status</th><th>Weight</th><th>Check</th></tr>\n", html.EscapeString(r.Proxy))
		}
		class := rowClass(r)
		fmt.Fprintf(&b, "<tr class=\"%s\"><td class=\"n\">%s</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
			html.EscapeString(class), html.EscapeString(r.Name), r.Scur, r.Stot, r.Bin, r.Bout, r.Dreq,
			r.Ereq+r.Econ+r.Eresp, r.Hrsp[1], r.Hrsp[3], r.Hrsp[4], html.EscapeString(r.Status),
			weightText(r), checkText(r.Check))
	}
	if cur != "" {
		b.WriteString("</table>\n")
	}
	b.WriteString("</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// rowClass colours a row by its state; "UP 2/3" and "DOWN 1/2" are
// changing state.
func rowClass(r Row) string {
	switch {
	case r.Type == 0:
		return "fe"
	case r.Type == 1:
		return "be"
	case strings.Contains(r.Status, "/"):
		return "going"
	}
	word, _, _ := strings.Cut(r.Status, " ")
	return word
}

// checkText is the Check cell as HAProxy's page shows it: "L7OK/200 in
// 1ms", the description on hover.
func checkText(c *Check) string {
	if c == nil {
		return ""
	}
	t := c.Status
	if c.HasCode {
		t += "/" + strconv.Itoa(c.Code)
	}
	if c.Duration >= 0 {
		t += " in " + strconv.FormatInt(c.Duration, 10) + "ms"
	}
	return `<span title="` + html.EscapeString(c.Desc) + `">` + html.EscapeString(t) + `</span>`
}

func weightText(r Row) string {
	if r.Type == 0 {
		return ""
	}
	return strconv.FormatInt(r.Weight, 10)
}
