package stats

import (
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"
	"time"
)

// PageOptions tune the HTML page; they come from the proxy's "stats"
// directives and the URI's options.
type PageOptions struct {
	HideVersion bool
	Version     string
	Refresh     time.Duration // 0: no refresh; ";norefresh" clears it
	URI         string        // the "stats uri" prefix, links are built on it
	Node        string        // "stats show-node": the node name to show
	Desc        string        // "stats show-desc"
	ShowLegends bool          // addresses, algorithms, cookies on hover
	ShowModules bool          // "stats show-modules": the stats modules' columns
	Admin       bool          // "stats admin" matched: the action forms
	Token       string        // CSRF token the action forms carry
	Scope       string        // ";scope=" / "scope=" proxy name filter
	HideDown    bool          // ";up": no DOWN or MAINT servers
	Status      string        // ";st=": the result of the last action
	Info        *Info
	Bulwark     *Bulwark // the Bulwark-only counters, nil to leave them out
}

// actionStatus are HAProxy's ";st=" codes after an admin POST and what
// the page says about them.
var actionStatus = map[string][2]string{
	"DONE": {"ok", "Action processed successfully."},
	"NONE": {"warn", "Nothing has changed."},
	"PART": {"warn", "Action partially processed. Some server names are probably unknown or ambiguous (duplicated names in the backend)."},
	"ERRP": {"err", "Action not processed because of invalid parameters. The action, the backend or the server names are probably unknown or invalid."},
	"EXCD": {"err", "Action not processed: the buffer couldn't store all the data. You should retry with less servers at a time."},
	"DENY": {"err", "Action denied."},
	"IVAL": {"err", "Invalid requests (unsupported method or chunked encoded request)."},
}

// pageCSS is the page's only style: state colours follow HAProxy's
// (operators read them at a glance), dark mode included; no external
// asset, no script.
const pageCSS = `body{font:13px/1.35 system-ui,-apple-system,"Segoe UI",Arial,sans-serif;margin:0;color:#111;background:#fafafa}
header{background:#0e3a5a;color:#fff;padding:8px 14px;display:flex;flex-wrap:wrap;gap:6px 24px;align-items:baseline}
header h1{font-size:17px;margin:0}header span{opacity:.85}main{padding:10px 14px}
a{color:#0645ad}a.px{color:#ffff40;text-decoration:none}
.top{display:flex;flex-wrap:wrap;gap:16px;margin-bottom:12px;align-items:flex-start}
.box{background:#fff;border:1px solid #bbb;border-radius:4px;padding:6px 10px}
.box h2{font-size:13px;margin:0 0 4px}.info td{padding:1px 8px 1px 0;text-align:left;border:0}
.legend td{border:0;padding:1px 6px;text-align:left}.legend td.c{width:14px;border:1px solid #999}
ul.opts{margin:0;padding-left:16px}
table.px{border-collapse:collapse;margin:0 0 16px;background:#fff}
.scroll{overflow-x:auto}
table.px th,table.px td{border:1px solid #999;padding:1px 4px;text-align:right;white-space:nowrap}
table.px th{background:#20d0d0;font-weight:600}
table.px caption{text-align:left;white-space:nowrap}
.pxname{background:#b00040;color:#ffff40;font-weight:bold;padding:2px 6px;display:inline-block}
.desc{padding:2px 6px;display:inline-block}
td.n{text-align:left;font-weight:600}
tr.frontend td,tr.backend td{background:#e8e8d0;font-weight:600}
tr.active_up td{background:#c0ffc0}tr.active_going_down td{background:#ffffa0}
tr.active_down td,tr.backup_down td{background:#ff9090}tr.active_going_up td{background:#ffd020}
tr.active_nolb td,tr.active_draining td{background:#20a0ff}tr.active_no_check td,tr.backup_no_check td{background:#e0e0e0}
tr.backup_up td{background:#b0d0ff}tr.backup_going_down td{background:#c060ff}tr.backup_going_up td{background:#ff80ff}
tr.backup_nolb td{background:#90b0e0}tr.backup_draining td{background:#cc9900}tr.maintain td{background:#c07820}
.c.active_up{background:#c0ffc0}.c.active_going_down{background:#ffffa0}.c.active_down{background:#ff9090}
.c.active_going_up{background:#ffd020}.c.active_nolb{background:#20a0ff}.c.active_no_check{background:#e0e0e0}
.c.backup_up{background:#b0d0ff}.c.backup_going_down{background:#c060ff}.c.backup_going_up{background:#ff80ff}
.c.active_draining{background:#20a0ff}.c.backup_nolb{background:#90b0e0}.c.backup_draining{background:#cc9900}.c.maintain{background:#c07820}
.msg{padding:6px 10px;margin-bottom:10px;border-radius:4px;border:1px solid}
.msg.ok{background:#e0ffe0;border-color:#4a4}.msg.warn{background:#fff6d0;border-color:#ca0}.msg.err{background:#ffe0e0;border-color:#c44}
.mod{border-bottom:1px dotted;cursor:help}.mod .tip{display:none;position:fixed;transform:translate(-100%,1.3em);z-index:2;background:#fff;border:1px solid #999;padding:2px;box-shadow:2px 2px 6px #0004}
.mod:hover .tip,.mod:focus .tip{display:inline-block}.mod .tip th,.mod .tip td{background:none;border:0;font-weight:normal;text-align:left}.mod .tip td{text-align:right}
form.act{margin:0 0 4px}abbr{text-decoration:none;border-bottom:1px dotted}
@media (prefers-color-scheme:dark){body{background:#181a1b;color:#e8e6e3}.box,table.px,.mod .tip{background:#202324}
a{color:#8ab4f8}table.px th{background:#1aa6a6}table.px td{border-color:#555;color:#e8e6e3}
tr.frontend td,tr.backend td{background:#2f3437}tr.active_up td{background:#165900}tr.active_going_down td{background:#6c6c00}
tr.active_down td,tr.backup_down td{background:#760000}tr.active_going_up td{background:#b99200}
tr.active_nolb td,tr.active_draining td{background:#006ab9}tr.active_no_check td,tr.backup_no_check td{background:#2a2d2f}
tr.backup_up td{background:#2e3234}tr.backup_going_down td{background:#580092}tr.backup_going_up td{background:#7f007f}
tr.backup_nolb td{background:#1e3c6a}tr.backup_draining td{background:#a37a00}tr.maintain td{background:#7e4a10}}
`

// legend lists every state colour with what it means.
var legend = [][2]string{
	{"active_up", "active UP"}, {"backup_up", "backup UP"},
	{"active_going_down", "active UP, going down"}, {"backup_going_down", "backup UP, going down"},
	{"active_going_up", "active DOWN, going up"}, {"backup_going_up", "backup DOWN, going up"},
	{"active_down", "active or backup DOWN"}, {"active_no_check", "not checked"},
	{"maintain", "active or backup DOWN for maintenance (MAINT)"},
	{"active_draining", "active or backup SOFT STOPPED for maintenance (DRAIN)"},
	{"active_nolb", "active UP, not balanced (NOLB)"}, {"backup_nolb", "backup UP, not balanced (NOLB)"},
}

// WriteHTML writes the page: process information, legend and options,
// then one table per proxy within the scope.
func WriteHTML(w io.Writer, rows []Row, o PageOptions) error {
	var b strings.Builder
	e := html.EscapeString
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n")
	title := "Statistics Report"
	if o.Info != nil {
		title += " for pid " + strconv.Itoa(o.Info.Pid)
		if o.Node != "" {
			title += " on " + o.Node
		}
	}
	fmt.Fprintf(&b, "<title>%s</title>\n", e(title))
	if o.Refresh > 0 {
		fmt.Fprintf(&b, "<meta http-equiv=\"refresh\" content=\"%d\">\n", int(o.Refresh.Seconds()))
	}
	b.WriteString("<style>" + pageCSS + "</style></head><body>\n<header><h1>Bulwark</h1>")
	if !o.HideVersion {
		fmt.Fprintf(&b, "<span>version %s</span>", e(o.Version))
	}
	fmt.Fprintf(&b, "<span>%s</span>", e(title))
	if o.Desc != "" {
		fmt.Fprintf(&b, "<span>%s</span>", e(o.Desc))
	}
	b.WriteString("</header>\n<main>\n")
	if st, ok := actionStatus[o.Status]; ok {
		fmt.Fprintf(&b, "<div class=\"msg %s\" role=\"status\">%s <a href=\"%s\">[X]</a></div>\n", st[0], e(st[1]), e(o.URI+o.linkOpts(false, false)))
	}
	b.WriteString("<div class=\"top\">\n")
	if in := o.Info; in != nil {
		writeInfoBox(&b, in, o.Node)
	}
	b.WriteString("<div class=\"box\"><h2>Legend</h2><table class=\"legend\">")
	for i := 0; i < len(legend); i += 2 {
		b.WriteString("<tr>")
		for _, l := range legend[i:min(i+2, len(legend))] {
			fmt.Fprintf(&b, "<td class=\"c %s\"></td><td>%s</td>", l[0], e(l[1]))
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</table><p style=\"margin:4px 0 0\">Note: \"NOLB\"/\"DRAIN\" = UP with load-balancing disabled.</p></div>\n")
	if o.Bulwark != nil {
		writeBulwarkHTML(&b, o.Bulwark)
	}
	b.WriteString("<div class=\"box\"><h2>Display options</h2><ul class=\"opts\">")
	fmt.Fprintf(&b, "<li><form method=\"get\" action=\"%s\" style=\"display:inline\">Scope: <input name=\"scope\" size=\"10\" maxlength=\"32\" value=\"%s\"></form></li>",
		e(o.URI), e(o.Scope))
	if o.HideDown {
		fmt.Fprintf(&b, "<li><a href=\"%s\">Show 'DOWN' servers</a></li>", e(o.URI+o.linkOpts(false, false)))
	} else {
		fmt.Fprintf(&b, "<li><a href=\"%s\">Hide 'DOWN' servers</a></li>", e(o.URI+o.linkOpts(true, false)))
	}
	if o.Refresh > 0 {
		fmt.Fprintf(&b, "<li><a href=\"%s\">Disable refresh</a></li>", e(o.URI+o.linkOpts(o.HideDown, true)))
	}
	fmt.Fprintf(&b, "<li><a href=\"%s\">Refresh now</a></li>", e(o.URI+o.linkOpts(o.HideDown, o.Refresh == 0)))
	fmt.Fprintf(&b, "<li><a href=\"%s;csv\">CSV export</a></li>", e(o.URI))
	fmt.Fprintf(&b, "<li><a href=\"%s;json\">JSON export</a> (<a href=\"%s;json-schema\">schema</a>)</li>", e(o.URI), e(o.URI))
	if o.Bulwark != nil {
		fmt.Fprintf(&b, "<li><a href=\"%s;bulwark\">Bulwark counters (JSON)</a></li>", e(o.URI))
	}
	b.WriteString("</ul></div>\n</div>\n")

	for start := 0; start < len(rows); {
		end := start
		for end < len(rows) && rows[end].Proxy == rows[start].Proxy {
			end++
		}
		if o.Scope == "" || strings.Contains(rows[start].Proxy, o.Scope) {
			writeProxy(&b, rows[start:end], &o)
		}
		start = end
	}
	b.WriteString("</main></body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// linkOpts builds the ";up;norefresh;scope=" tail of the page's links, so
// that following one keeps the other options.
func (o *PageOptions) linkOpts(up, norefresh bool) string {
	var s string
	if up {
		s += ";up"
	}
	if norefresh {
		s += ";norefresh"
	}
	if o.Scope != "" {
		s += ";scope=" + o.Scope
	}
	return s
}

func writeInfoBox(b *strings.Builder, in *Info, node string) {
	e := html.EscapeString
	b.WriteString("<div class=\"box\"><h2>General process information</h2><table class=\"info\">")
	row := func(k, v string) { fmt.Fprintf(b, "<tr><td>%s</td><td><b>%s</b></td></tr>", e(k), e(v)) }
	row("pid", fmt.Sprintf("%d (process #1, nbproc = 1, nbthread = %d)", in.Pid, in.Nbthread))
	row("uptime", Uptime(in.Now.Sub(in.Start)))
	if node != "" {
		row("node", node)
	}
	row("system limits", fmt.Sprintf("ulimit-n = %d; maxsock = %d; maxconn = %d", in.UlimitN, in.Maxsock, in.Maxconn))
	row("current conns", fmt.Sprintf("%d; rate = %d/sec (max %d); limit = %s", in.CurrConns, in.ConnRate, in.MaxConnRate, limitText(in.ConnRateLimit)))
	row("session rate", fmt.Sprintf("%d/sec (max %d); limit = %s", in.SessRate, in.MaxSessRate, limitText(in.SessRateLimit)))
	row("totals", fmt.Sprintf("%d connections, %d requests, %s out", in.CumConns, in.CumReq, bytesText(in.TotalBytesOut)))
	row("running tasks", fmt.Sprintf("%d (goroutines)", in.Tasks))
	b.WriteString("</table></div>\n")
}

func limitText(n int64) string {
	if n <= 0 {
		return "none"
	}
	return strconv.FormatInt(n, 10)
}

func bytesText(n int64) string {
	const u = 1024
	switch {
	case n < u:
		return strconv.FormatInt(n, 10) + " B"
	case n < u*u:
		return fmt.Sprintf("%.1f KiB", float64(n)/u)
	case n < u*u*u:
		return fmt.Sprintf("%.1f MiB", float64(n)/u/u)
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/u/u/u)
}

// human is HAProxy's duration style ("3d4h", "5m12s", "9s"), "" for a
// negative duration (no value).
func human(sec int64) string {
	if sec < 0 {
		return ""
	}
	return HumanTime(sec)
}

// HumanTime is HAProxy's human_time: at most two components, the zero ones
// left out ("1d", "1d5m", "2h", "0s"), "?" for a negative duration.
func HumanTime(sec int64) string {
	if sec < 0 {
		return "?"
	}
	parts := [...]struct {
		n    int64
		unit string
	}{{sec / 86400, "d"}, {sec % 86400 / 3600, "h"}, {sec % 3600 / 60, "m"}}
	var b strings.Builder
	left := 2
	for _, p := range parts {
		if left > 0 && p.n > 0 {
			fmt.Fprintf(&b, "%d%s", p.n, p.unit)
			left--
		}
	}
	if left > 0 && sec%60 > 0 || sec == 0 {
		fmt.Fprintf(&b, "%ds", sec%60)
	}
	return b.String()
}

// pxHead is a proxy table's two header rows; the %s are the first cell,
// the "Extra modules" group and the modules' names (show-modules).
const pxHead = `<tr><th rowspan="2" scope="col">%s</th><th colspan="3">Queue</th><th colspan="3">Session rate</th><th colspan="6">Sessions</th><th colspan="2">Bytes</th><th colspan="2">Denied</th><th colspan="3">Errors</th><th colspan="2">Warnings</th><th colspan="9">Server</th>%s</tr>
<tr><th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th><th>Limit</th><th>Total</th><th>LbTot</th><th>Last</th><th>In</th><th>Out</th><th>Req</th><th>Resp</th><th>Req</th><th>Conn</th><th>Resp</th><th>Retr</th><th>Redis</th><th>Status</th><th>LastChk</th><th>Wght</th><th>Act</th><th>Bck</th><th>Chk</th><th>Dwn</th><th>Dwntme</th><th>Thrtle</th>%s</tr>
`

// moduleHeads are pxHead's module cells, "" without show-modules.
func moduleHeads(show bool) (group, names string) {
	if !show {
		return "", ""
	}
	var b strings.Builder
	for _, m := range Modules {
		b.WriteString("<th>" + m.Name + "</th>")
	}
	return fmt.Sprintf(`<th colspan="%d">Extra modules</th>`, len(Modules)), b.String()
}

// writeModules writes a row's module cells as HAProxy's page does: the
// module's name, its counters in a table shown on hover or focus (no
// script); an empty cell where the row has no such counters.
func writeModules(b *strings.Builder, r *Row) {
	vals := r.ModuleValues()
	for _, m := range Modules {
		if r.Type == TypeServer && !m.Servers {
			b.WriteString("<td></td>")
			continue
		}
		fmt.Fprintf(b, `<td><span class="mod" tabindex="0">%s<span class="tip"><table>`, m.Name)
		for i, d := range m.Desc {
			fmt.Fprintf(b, "<tr><th>%s</th><td>%s</td></tr>", d, vals[m.First+i].String())
		}
		b.WriteString("</table></span></span></td>")
	}
}

// writeProxy writes one proxy's table, inside the action form when the
// page is in admin mode and the proxy has servers.
func writeProxy(b *strings.Builder, rows []Row, o *PageOptions) {
	e := html.EscapeString
	px := rows[0].Proxy
	var servers, iid int
	for _, r := range rows {
		if r.Type == TypeServer {
			servers++
		}
		iid = r.IID
	}
	admin := o.Admin && servers > 0
	if admin {
		fmt.Fprintf(b, "<form class=\"act\" method=\"post\" action=\"%s\">\n", e(o.URI+o.linkOpts(o.HideDown, o.Refresh == 0)))
	}
	b.WriteString("<div class=\"scroll\"><table class=\"px\">\n")
	fmt.Fprintf(b, "<caption><a class=\"px pxname\" id=\"%s\" href=\"#%s\">%s</a></caption>\n", e(px), e(px), e(px))
	first := ""
	if admin {
		first = "<input type=\"checkbox\" disabled aria-label=\"select\"> "
	}
	group, names := moduleHeads(o.ShowModules)
	fmt.Fprintf(b, pxHead, first, group, names)
	for _, r := range rows {
		if o.HideDown && r.Type == TypeServer && (strings.HasPrefix(r.Status, "DOWN") || strings.HasPrefix(r.Status, "MAINT")) {
			continue
		}
		writeRow(b, &r, o, admin)
	}
	b.WriteString("</table></div>\n")
	if admin {
		fmt.Fprintf(b, "<label>Choose the action to perform on the checked servers: <select name=\"action\">"+
			"<option value=\"\"></option><option value=\"ready\">Set state to READY</option>"+
			"<option value=\"drain\">Set state to DRAIN</option><option value=\"maint\">Set state to MAINT</option>"+
			"<option value=\"dhlth\">Health: disable checks</option><option value=\"ehlth\">Health: enable checks</option>"+
			"<option value=\"hrunn\">Health: force UP</option><option value=\"hnolb\">Health: force NOLB</option>"+
			"<option value=\"hdown\">Health: force DOWN</option>"+
			"<option value=\"shutdown\">Kill Sessions</option></select></label>"+
			"<input type=\"hidden\" name=\"b\" value=\"#%d\"><input type=\"hidden\" name=\"token\" value=\"%s\">"+
			"<input type=\"submit\" value=\"Apply\"></form>\n", iid, e(o.Token))
	}
}

func cells(b *strings.Builder, vs ...string) {
	for _, v := range vs {
		b.WriteString("<td>")
		b.WriteString(v)
		b.WriteString("</td>")
	}
}

func num(n int64) string { return strconv.FormatInt(n, 10) }

func lim(n int64) string {
	if n <= 0 {
		return ""
	}
	return num(n)
}

func writeRow(b *strings.Builder, r *Row, o *PageOptions, admin bool) {
	e := html.EscapeString
	fmt.Fprintf(b, "<tr class=\"%s\"><td class=\"n\">", rowClass(r))
	if admin {
		if r.Type == TypeServer {
			fmt.Fprintf(b, "<input type=\"checkbox\" name=\"s\" value=\"%s\" aria-label=\"select %s\"> ", e(r.Name), e(r.Name))
		}
	}
	name := e(r.Name)
	if o.ShowLegends && r.Addr != "" {
		name = "<abbr title=\"" + e(r.Addr) + "\">" + name + "</abbr>"
	} else if o.ShowLegends && r.Algo != "" {
		name = "<abbr title=\"balancing: " + e(r.Algo) + "\">" + name + "</abbr>"
	}
	b.WriteString(name + "</td>")
	last := ""
	if r.LastSess >= 0 {
		last = human(r.LastSess)
	}
	switch r.Type {
	case TypeFrontend:
		cells(b, "", "", "", num(r.Rate), num(r.RateMax), lim(r.RateLim), num(r.Scur), num(r.Smax), lim(r.Slim),
			"<span title=\""+hrspTitle(r)+"\">"+num(r.Stot)+"</span>", "", "",
			num(r.Bin), num(r.Bout), num(r.Dreq), num(r.Dresp), num(r.Ereq), "", "", "", "",
			e(r.Status), "", "", "", "", "", "", "", "")
	case TypeBackend:
		cells(b, num(r.Qcur), num(r.Qmax), "", num(r.Rate), num(r.RateMax), "", num(r.Scur), num(r.Smax), lim(r.Slim),
			"<span title=\""+hrspTitle(r)+"\">"+num(r.Stot)+"</span>", num(r.Lbtot), last,
			num(r.Bin), num(r.Bout), num(r.Dreq), num(r.Dresp), "", num(r.Econ), num(r.Eresp), num(r.Wretr), num(r.Wredis),
			human(r.LastChg)+" "+e(r.Status), "", num(r.Weight)+"/"+num(r.UWeight), num(r.Act), num(r.Bck), "", num(r.ChkDown), human(r.Downtime), "")
	default:
		act, bck := "Y", "-"
		if r.Backup {
			act, bck = "-", "Y"
		}
		chk, dwn, dwnt := "", "", ""
		if r.Checked {
			chk, dwn, dwnt = num(r.ChkFail), num(r.ChkDown), human(r.Downtime)
		}
		thr := "-"
		if r.Throttle >= 0 && r.Throttle < 100 {
			thr = num(r.Throttle) + " %"
		}
		status := e(r.Status)
		if r.Checked || strings.HasPrefix(r.Status, "MAINT") {
			status = human(r.LastChg) + " " + status
		}
		cells(b, num(r.Qcur), num(r.Qmax), lim(r.Qlimit), num(r.Rate), num(r.RateMax), "", num(r.Scur), num(r.Smax), lim(r.Slim),
			"<span title=\""+hrspTitle(r)+"\">"+num(r.Stot)+"</span>", num(r.Lbtot), last,
			num(r.Bin), num(r.Bout), "", num(r.Dresp), "", num(r.Econ), num(r.Eresp), num(r.Wretr), num(r.Wredis),
			status, checkText(r.Check), num(r.Weight)+"/"+num(r.UWeight), act, bck)
		if r.Status == "MAINT (resolution)" {
			// As HAProxy: a server waiting for DNS has no check figures.
			b.WriteString("<td class=ac colspan=3>resolution</td>")
		} else {
			cells(b, chk, dwn, dwnt)
		}
		cells(b, thr)
	}
	if o.ShowModules {
		writeModules(b, r)
	}
	b.WriteString("</tr>\n")
}

func hrspTitle(r *Row) string {
	return fmt.Sprintf("1xx: %d, 2xx: %d, 3xx: %d, 4xx: %d, 5xx: %d, other: %d", r.Hrsp[0], r.Hrsp[1], r.Hrsp[2], r.Hrsp[3], r.Hrsp[4], r.Hrsp[5])
}

// rowClass is the row's state colour, HAProxy's class names.
func rowClass(r *Row) string {
	switch r.Type {
	case TypeFrontend:
		return "frontend"
	case TypeBackend:
		return "backend"
	}
	kind := "active_"
	if r.Backup {
		kind = "backup_"
	}
	st := r.Status
	switch {
	case st == "MAINT" || strings.HasPrefix(st, "MAINT"):
		return "maintain"
	case st == "no check":
		return kind + "no_check"
	case st == "DRAIN":
		return kind + "draining"
	case st == "NOLB":
		return kind + "nolb"
	case strings.HasPrefix(st, "DOWN "):
		return kind + "going_up"
	case strings.HasPrefix(st, "UP "):
		return kind + "going_down"
	case st == "DOWN":
		return kind + "down"
	}
	return kind + "up"
}

// checkText is the LastChk cell as HAProxy's page shows it: "L7OK/200 in
// 1ms", the description on hover.
func checkText(c *Check) string {
	if c == nil {
		return ""
	}
	t := c.Status
	if c.Running {
		t = "* " + t
	}
	if c.HasCode {
		t += "/" + strconv.Itoa(c.Code)
	}
	if c.Duration >= 0 {
		t += " in " + strconv.FormatInt(c.Duration, 10) + "ms"
	}
	d := c.Desc
	if c.Last != "" {
		d += ": " + c.Last
	}
	return `<span title="` + html.EscapeString(d) + `">` + html.EscapeString(t) + `</span>`
}
