package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"bulwark/internal/srvstate"
	"bulwark/internal/stats"
	"bulwark/internal/stick"
)

// The runtime API's commands (MG 9.3). Each one is implemented; a command
// of HAProxy 2.6 that is not here gets "Unknown command" rather than an
// answer that would pretend to have done something.
func apiCommands() []apiCommand {
	return append(append([]apiCommand{
		{"help", "", "user", "list the commands", func(rt *Runtime, cs *apiSession, a []string) string { return apiHelp(a) }},
		{"show cli level", "", "user", "display the level of the current CLI session", func(_ *Runtime, cs *apiSession, _ []string) string { return cs.level + "\n" }},
		{"operator", "", "user", "lower the level of the current CLI session to operator", func(_ *Runtime, cs *apiSession, _ []string) string { return cs.lower("operator") }},
		{"user", "", "user", "lower the level of the current CLI session to user", func(_ *Runtime, cs *apiSession, _ []string) string { return cs.lower("user") }},
		{"show info", "[json|typed]", "user", "report information about the running process", wrap((*Runtime).apiShowInfo)},
		{"show stat", "[desc|json|no-maint|typed|up]*", "user", "report counters for each proxy and server", (*Runtime).apiShowStat},
		{"show schema json", "", "user", "report schema used for stats", func(*Runtime, *apiSession, []string) string { return stats.SchemaJSON }},
		{"show servers state", "[<backend>]", "user", "dump volatile server information (all or for a single backend)", wrap((*Runtime).apiShowServers)},
		{"show servers conn", "[<backend>]", "user", "dump server connections status (all or for a single backend)", wrap((*Runtime).apiShowServersConn)},
		{"show backend", "", "user", "list backends in the current running config", wrap((*Runtime).apiShowBackend)},
		{"show resolvers", "[id]", "user", "dumps counters from all resolvers section and associated name servers", wrap((*Runtime).apiShowResolvers)},
		{"show cache", "", "user", "show cache status", wrap((*Runtime).apiShowCache)},
		{"show env", "[var]", "operator", "dump environment variables known to the process", wrap((*Runtime).apiShowEnv)},
		{"show sess", "[id]", "operator", "report the list of current sessions or dump this exact session", (*Runtime).apiShowSess},
		{"shutdown session", "[id]", "admin", "kill a specific session", wrap((*Runtime).apiShutdownSession)},
		{"clear counters", "[all]", "operator", "clear max statistics counters (or all counters)", (*Runtime).apiClearCounters},
		{"show table", "[<table> [key <k> | data.<type> <op> <v>]]", "user", "report table usage stats or dump this table's contents", wrap((*Runtime).apiShowTable)},
		{"clear table", "<table>", "operator", "remove all entries from a table", wrap((*Runtime).apiClearTable)},
		{"set table", "<table> key <k> [data.* <v>]*", "admin", "update or create a table entry's data", wrap((*Runtime).apiSetTable)},
		{"get weight", "<bk>/<srv>", "user", "report a server's current weight", wrap((*Runtime).apiGetWeight)},
		{"set weight", "<bk>/<srv> (DEPRECATED)", "admin", "change a server's weight (use 'set server' instead)", wrap((*Runtime).apiSetWeight)},
		{"disable server", "(DEPRECATED)", "admin", "disable a server for maintenance (use 'set server' instead)", wrap((*Runtime).apiDisable)},
		{"enable server", "(DEPRECATED)", "admin", "enable a disabled server (use 'set server' instead)", wrap((*Runtime).apiEnable)},
		{"set server", "<bk>/<srv> [opts]", "admin", "change a server's state, weight or health", wrap((*Runtime).apiSetServer)},
	}, mapCommands()...), append(append(append(moreCommands(), sslCommands()...), ocspCommands()...), serverCommands()...)...)
}

func (cs *apiSession) lower(to string) string {
	if levelRank[to] < levelRank[cs.level] {
		cs.level = to
	}
	return ""
}

func (rt *Runtime) apiShowInfo(args []string) string {
	format := ""
	if len(args) > 0 {
		format = args[0]
	}
	var b bytes.Buffer
	stats.WriteInfo(&b, rt.StatsInfo(), format)
	return b.String()
}

// apiShowStat is "show stat [{<iid>|<proxy>} <type> <sid>] [typed|json]
// [up|no-maint]"; type is a mask: 1 frontends, 2 backends, 4 servers.
func (rt *Runtime) apiShowStat(cs *apiSession, args []string) string {
	format, up, noMaint := "csv", false, false
	var filt []string
	for _, a := range args {
		switch a {
		case "typed", "json":
			format = a
		case "up":
			up = true
		case "no-maint":
			noMaint = true
		case "desc":
		default:
			filt = append(filt, a)
		}
	}
	rows := rt.StatsRows()
	if len(filt) > 0 {
		if len(filt) != 3 {
			return "Require 'proxy_name type server_id' or no argument.\n"
		}
		iid, err := strconv.Atoi(filt[0])
		byName := err != nil
		mask, err1 := strconv.Atoi(filt[1])
		sid, err2 := strconv.Atoi(filt[2])
		if err1 != nil || err2 != nil {
			return "Require 'proxy_name type server_id' or no argument.\n"
		}
		if byName && rt.backends[filt[0]] == nil && rt.frontendNamed(filt[0]) == nil {
			return "No such proxy.\n"
		}
		kept := rows[:0]
		for _, r := range rows {
			if iid != -1 && (byName && r.Proxy != filt[0] || !byName && r.IID != iid) {
				continue
			}
			if mask != -1 && mask&(1<<r.Type) == 0 {
				continue
			}
			if sid != -1 && r.Type == stats.TypeServer && r.SID != sid {
				continue
			}
			kept = append(kept, r)
		}
		rows = kept
	}
	if up || noMaint {
		kept := rows[:0]
		for _, r := range rows {
			if r.Type == stats.TypeServer && (strings.HasPrefix(r.Status, "MAINT") || up && strings.HasPrefix(r.Status, "DOWN")) {
				continue
			}
			kept = append(kept, r)
		}
		rows = kept
	}
	// Addresses and algorithms are shown from the operator level on, as
	// HAProxy does.
	showAddr := levelRank[cs.level] >= levelRank["operator"]
	var b bytes.Buffer
	switch format {
	case "typed":
		stats.WriteTyped(&b, rows, showAddr)
	case "json":
		stats.WriteJSON(&b, rows, showAddr)
	default:
		stats.WriteCSV(&b, rows, showAddr)
	}
	return b.String()
}

func (rt *Runtime) frontendNamed(name string) *frontend {
	for _, f := range rt.frontends {
		if f.name == name {
			return f
		}
	}
	return nil
}

// apiShowBackend lists the backends, one name a line.
func (rt *Runtime) apiShowBackend(args []string) string {
	var b strings.Builder
	b.WriteString("# name\n")
	for _, p := range rt.model.Backends() {
		if rt.backends[p.Name] != nil {
			b.WriteString(p.Name + "\n")
		}
	}
	return b.String()
}

// apiShowServersConn is "show servers conn": the idle connections kept
// per server and the requests in flight.
func (rt *Runtime) apiShowServersConn(args []string) string {
	if len(args) > 0 && rt.backends[args[0]] == nil {
		return "Can't find backend.\n"
	}
	var b strings.Builder
	b.WriteString("# bkname/svname bkid/svid addr port - purge_delay used_cur used_max need_est unsafe_nb safe_nb idle_lim idle_cur\n")
	for _, p := range rt.model.Backends() {
		be := rt.backends[p.Name]
		if be == nil || len(args) > 0 && args[0] != p.Name {
			continue
		}
		for i, s := range be.srvs() {
			sid := s.cfg.ID
			if sid == 0 {
				sid = i + 1
			}
			idle := s.pool.len()
			cur := s.current.Load()
			host, port := s.cfg.Addr.Host, s.cfg.Addr.PortLow
			if ap := s.state.Addr(); ap.IsValid() {
				host, port = ap.Addr().String(), int(ap.Port()) // where DNS put it
			}
			fmt.Fprintf(&b, "%s/%s %d/%d %s %d - %d %d %d %d 0 %d %d %d\n", be.name, s.name, p.ID, sid, host,
				port, s.pool.every.Milliseconds(), cur, s.stats.smax.Load(), cur, idle, s.pool.max, idle)
		}
	}
	return b.String()
}

func (rt *Runtime) apiShowEnv(args []string) string {
	env := os.Environ()
	if len(args) > 0 {
		for _, kv := range env {
			if k, _, _ := strings.Cut(kv, "="); k == args[0] {
				return kv + "\n"
			}
		}
		return "Variable not found\n"
	}
	return strings.Join(env, "\n") + "\n"
}

func (rt *Runtime) apiShutdownSession(args []string) string {
	if len(args) != 1 {
		return "Session pointer expected (use 'show sess').\n"
	}
	for _, si := range rt.sessions() {
		if fmt.Sprintf("%#x", si.id) == args[0] {
			si.c.Close()
			return ""
		}
	}
	return "No such session (use 'show sess').\n"
}

// apiClearCounters is "clear counters [all]": the maximums, or every
// counter ("all" needs the admin level, as in HAProxy).
func (rt *Runtime) apiClearCounters(cs *apiSession, args []string) string {
	all := len(args) > 0 && args[0] == "all"
	if all && levelRank[cs.level] < levelRank["admin"] {
		return "Permission denied\n"
	}
	var cs2 []*counters
	for _, f := range rt.frontends {
		cs2 = append(cs2, &f.stats)
	}
	for _, b := range rt.backends {
		cs2 = append(cs2, &b.stats)
		for _, s := range b.srvs() {
			cs2 = append(cs2, &s.stats)
			if all {
				s.failed.Store(0)
			}
		}
	}
	for _, c := range cs2 {
		c.clear(all)
	}
	rt.connRate.ResetMax()
	if all {
		rt.connRate.Reset()
	}
	return ""
}

func (c *counters) clear(all bool) {
	c.smax.Reset()
	c.qmax.Reset()
	c.rate.ResetMax()
	c.reqRate.ResetMax()
	c.connRate.ResetMax()
	if !all {
		return
	}
	for _, a := range []interface{ Store(int64) }{&c.total, &c.bytesIn, &c.bytesOut, &c.denied, &c.errReq, &c.errResp,
		&c.reqTot, &c.lbtot, &c.cliAbrt, &c.srvAbrt, &c.retries, &c.wrew, &c.intercep, &c.connTot, &c.lastSess, &c.timed} {
		a.Store(0)
	}
	for i := range c.hrsp {
		c.hrsp[i].Store(0)
	}
	c.rate.Reset()
	c.reqRate.Reset()
	c.connRate.Reset()
	for _, a := range []*stats.Avg{&c.qtime, &c.ctime, &c.rtime, &c.ttime} {
		a.Reset()
	}
}

func (rt *Runtime) apiShowTable(args []string) string {
	var b strings.Builder
	if len(args) == 0 {
		for _, p := range rt.model.Proxies {
			if t := rt.tables[p.Name]; t != nil {
				typ := ""
				if args := p.StickTable.Args; len(args) > 1 && args[0] == "type" {
					typ = args[1]
				}
				fmt.Fprintf(&b, "# table: %s, type: %s, size:%d, used:%d\n", t.Name(), typ, t.Spec().Size, t.Used())
			}
		}
		return b.String()
	}
	t := rt.tables[args[0]]
	if t == nil {
		return "No such table\n"
	}
	now := rt.clock.NowMs()
	rest := args[1:]
	if len(rest) >= 1 && rest[0] == "key" {
		if len(rest) != 2 {
			return "Key value expected\n"
		}
		k, err := t.ParseKey(rest[1])
		if err != nil {
			return "Invalid key\n"
		}
		t.DumpKey(&b, k, now)
		return b.String()
	}
	filters, msg := parseTableFilters(t, rest)
	if msg != "" {
		return msg
	}
	var dump bytes.Buffer
	t.Dump(&dump, now)
	if len(filters) == 0 {
		return dump.String()
	}
	// The dump is one header line then one line per entry with its data
	// as "name=value" or "name(period)=value": filter the lines on those.
	sc := bufio.NewScanner(&dump)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || filterLine(line, filters) {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// parseTableFilters reads the "data.<type> <op> <value>" filters of "show
// table" and "clear table"; a bad one is named by its place, as in HAProxy.
func parseTableFilters(t *stick.Table, rest []string) ([]tableFilter, string) {
	var filters []tableFilter
	for n := 1; len(rest) > 0; n++ {
		if !strings.HasPrefix(rest[0], "data.") {
			return nil, "Optional argument only supports \"data.<store_data_type>\" <operator> <value> and key <key>\n"
		}
		w := append(append([]string(nil), rest...), "", "")
		f, msg := parseTableFilter(t, w[0], w[1], w[2])
		if msg != "" {
			return nil, fmt.Sprintf("Filter entry #%d: %s", n, msg)
		}
		filters = append(filters, f)
		rest = rest[min(3, len(rest)):]
	}
	return filters, ""
}

type tableFilter struct {
	name string
	op   string
	v    uint64
	zero bool // compares 0 (a dict type, which has no number)
}

func parseTableFilter(t *stick.Table, data, op, val string) (tableFilter, string) {
	name := strings.TrimPrefix(data, "data.")
	dt, ok := stick.DataTypeByName(name)
	if !ok {
		return tableFilter{}, "Unknown data type\n"
	}
	if !t.Stores(dt) {
		return tableFilter{}, "Data type not stored in this table\n"
	}
	switch op {
	case "eq", "ne", "le", "ge", "lt", "gt":
	default:
		return tableFilter{}, "Require and operator among \"eq\", \"ne\", \"le\", \"ge\", \"lt\", \"gt\"\n"
	}
	v, err := strconv.ParseUint(val, 10, 64)
	if err != nil {
		return tableFilter{}, "Require a valid integer value to compare against\n"
	}
	// HAProxy compares an array's element 0, and a server_key as 0.
	return tableFilter{dt.ElemName(0), op, v, dt.IsDict()}, ""
}

func filterLine(line string, fs []tableFilter) bool {
	vals := map[string]uint64{}
	for _, w := range strings.Fields(line) {
		k, v, ok := strings.Cut(w, "=")
		if !ok {
			continue
		}
		if i := strings.IndexByte(k, '('); i >= 0 {
			k = k[:i]
		}
		if n, err := strconv.ParseUint(v, 10, 64); err == nil {
			vals[k] = n
		}
	}
	for _, f := range fs {
		x, ok := vals[f.name]
		if f.zero {
			x, ok = 0, true
		}
		if !ok {
			return false
		}
		var pass bool
		switch f.op {
		case "eq":
			pass = x == f.v
		case "ne":
			pass = x != f.v
		case "le":
			pass = x <= f.v
		case "ge":
			pass = x >= f.v
		case "lt":
			pass = x < f.v
		case "gt":
			pass = x > f.v
		}
		if !pass {
			return false
		}
	}
	return true
}

// apiClearTable is "clear table <table> [data.<type> <op> <v>]* | [key
// <k>]": every untracked entry, the one of the key, or those whose data
// pass every filter.
func (rt *Runtime) apiClearTable(args []string) string {
	if len(args) == 0 {
		return "Required arguments: <table> \"data.<store_data_type>\" <operator> <value> or <table> key <key>\n"
	}
	t := rt.tables[args[0]]
	if t == nil {
		return "No such table\n"
	}
	now := rt.clock.NowMs()
	rest := args[1:]
	if len(rest) == 0 {
		t.Clear()
		return ""
	}
	if rest[0] == "key" {
		if len(rest) != 2 {
			return "Key value expected\n"
		}
		k, err := t.ParseKey(rest[1])
		if err != nil {
			return "Invalid key\n"
		}
		t.Delete(k, now)
		return ""
	}
	filters, msg := parseTableFilters(t, rest)
	if msg != "" {
		return msg
	}
	var dump bytes.Buffer
	t.Dump(&dump, now)
	sc := bufio.NewScanner(&dump)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || !filterLine(line, filters) {
			continue
		}
		for _, w := range strings.Fields(line) {
			if kt, ok := strings.CutPrefix(w, "key="); ok {
				if k, err := t.ParseKey(kt); err == nil {
					t.Delete(k, now)
				}
				break
			}
		}
	}
	return ""
}

// apiSetTable is "set table <table> key <key> [data.<type> <value>]*".
func (rt *Runtime) apiSetTable(args []string) string {
	if len(args) == 0 {
		return "Required arguments: <table> key <key> [data.<store_data_type> <value>]*\n"
	}
	t := rt.tables[args[0]]
	if t == nil {
		return "No such table\n"
	}
	if len(args) == 1 {
		return "" // HAProxy answers nothing and does nothing
	}
	if len(args) < 3 || args[1] != "key" {
		return "Key value expected\n"
	}
	k, err := t.ParseKey(args[2])
	if err != nil {
		return "Invalid key\n"
	}
	type set struct {
		dt stick.DataType
		v  uint64
	}
	var sets []set
	rest := args[3:]
	for len(rest) > 0 {
		if !strings.HasPrefix(rest[0], "data.") {
			return "\"data.<type>\" followed by a value expected\n"
		}
		dt, ok := stick.DataTypeByName(strings.TrimPrefix(rest[0], "data."))
		if !ok {
			return "Unknown data type\n"
		}
		if !t.Stores(dt) {
			return "Data type not stored in this table\n"
		}
		if len(rest) < 2 {
			return "Require a valid integer value to store\n"
		}
		v, err := strconv.ParseUint(rest[1], 10, 64)
		if err != nil {
			return "Require a valid integer value to store\n"
		}
		sets = append(sets, set{dt, v})
		rest = rest[2:]
	}
	now := rt.clock.NowMs()
	ref, err := t.GetOrCreate(k, now)
	if err != nil {
		return "Unable to allocate a new entry\n"
	}
	defer ref.Release(now)
	for _, s := range sets {
		ref.Set(s.dt, s.v, now)
	}
	return ""
}

// apiSetServer is "set server <b>/<s> state ready|drain|maint | weight <w>
// | health up|stopping|down | addr <ip> [port <port>] | fqdn <name>".
func (rt *Runtime) apiSetServer(args []string) string {
	if len(args) == 3 && args[1] == "state" {
		return rt.apiSetState([]string{args[0]}, args[2])
	}
	if len(args) == 3 && args[1] == "weight" {
		return rt.apiSetWeight([]string{args[0], args[2]})
	}
	if len(args) == 3 && args[1] == "health" {
		b, s, msg := rt.apiServer(args[0])
		if s == nil {
			return msg
		}
		op, ok := map[string]srvstate.Op{"up": srvstate.Running, "stopping": srvstate.Stopping, "down": srvstate.Stopped}[args[2]]
		if !ok {
			return "'set server <srv> health' expects 'up', 'stopping', or 'down'.\n"
		}
		if !s.state.Load().Checked {
			return "Health checks are not enabled on this server.\n"
		}
		before, after := s.state.SetHealth(op)
		rt.stateChanged(b, s, before, after)
		return ""
	}
	if len(args) >= 2 && args[1] == "addr" {
		return rt.apiSetAddr(args)
	}
	if len(args) >= 2 && args[1] == "fqdn" {
		return rt.apiSetFQDN(args)
	}
	if len(args) >= 2 && args[1] == "agent" {
		b, s, msg := rt.apiServer(args[0])
		if s == nil {
			return msg
		}
		if len(args) < 3 {
			return "'set server <srv> agent' expects 'up' or 'down'.\n"
		}
		return rt.apiSetServerAgent(b, s, args[2])
	}
	if len(args) == 2 && args[1] == "weight" {
		return "Require <weight> or <weight%>.\n"
	}
	if len(args) >= 2 {
		switch args[1] {
		case "agent-addr", "agent-port", "agent-send", "check-addr", "check-port":
			_, s, msg := rt.apiServer(args[0])
			if s == nil {
				return msg
			}
			return rt.apiSetServerProbe(s, args)
		case "ssl":
			// Known to HAProxy, not changeable in Bulwark at run time:
			// refused in words rather than pretended.
			return "'set server <srv> " + args[1] + "' is not supported by bulwark; change the configuration and reload.\n"
		}
	}
	if len(args) >= 1 {
		if _, s, msg := rt.apiServer(args[0]); s == nil {
			return msg
		}
	}
	return "usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | check-addr | check-port | fqdn | health | ssl | state | weight\n"
}
