package acl

import (
	"fmt"
	"net/netip"
	"strings"

	"bulwark/internal/model"
	"bulwark/internal/stick"
)

// Part names one component of the stream a StreamTxn describes.
type Part uint8

// The components of a stream.
const (
	PartFrontend Part = iota
	PartBackend
	PartServer
	PartListener // the bind line the client connected to
	PartDefaultBackend
)

// Timeout names a timeout of the stream, in the order of CM 7.3.2.
type Timeout uint8

// The timeouts the *_timeout fetches read.
const (
	TimeoutClient    Timeout = iota // fe_client_timeout
	TimeoutServer                   // be_server_timeout
	TimeoutTunnel                   // be_tunnel_timeout
	TimeoutCurServer                // cur_server_timeout
	TimeoutCurTunnel                // cur_tunnel_timeout
)

// StreamTxn is implemented by a Txn that knows where its stream runs:
// the fe_*, be_*, srv_*, so_* and bc_* fetches read it (CM 7.3.2, 7.3.3).
type StreamTxn interface {
	// Part returns the name and numeric id of a component; ok is false
	// when it is not known yet (no server chosen) or does not exist.
	Part(p Part) (name string, id int, ok bool)
	// TimeoutMs returns a timeout in milliseconds; ok false when unset.
	TimeoutMs(t Timeout) (ms int64, ok bool)
	// ServerConn returns the addresses of the connection to the server
	// (local, remote) and its HTTP major version; ok false before one.
	ServerConn() (src, dst netip.AddrPort, httpMajor int, ok bool)
}

// Stat names a counter StatsEnv reports.
type Stat uint8

// Proxy and server counters (CM 7.3.2).
const (
	StatConnFree  Stat = iota // be_conn_free / srv_conn_free
	StatSessRate              // be_sess_rate, fe_sess_rate, srv_sess_rate
	StatReqRate               // fe_req_rate
	StatConnSlots             // connslots
	StatQueue                 // queue, srv_queue
	StatAvgQueue              // avg_queue
	StatConn                  // srv_conn
	StatIsUp                  // srv_is_up
	StatIWeight               // srv_iweight
	StatUWeight               // srv_uweight
	StatWeight                // srv_weight
)

// StatsEnv is implemented by an Env that reports the live counters of
// proxies and servers. An empty proxy name means the stream's own.
type StatsEnv interface {
	ProxyStat(proxy string, s Stat) (int64, bool)
	ServerStat(backend, server string, s Stat) (int64, bool)
}

// streamFetches read StreamTxn and StatsEnv. Built by a function: the
// table is immutable.
func streamFetches() map[string]*fetchDef {
	part := func(p Part, id bool) *fetchDef {
		k := KindStr
		if id {
			k = KindInt
		}
		return &fetchDef{out: k, fn: fetchPart(p, id)}
	}
	tmo := func(t Timeout) *fetchDef { return &fetchDef{out: KindInt, fn: fetchTimeout(t)} }
	pstat := func(s Stat, cap string) *fetchDef {
		return &fetchDef{out: KindInt, fn: fetchProxyStat(s), maxArgs: 1, prep: prepProxyArg(cap)}
	}
	sstat := func(s Stat) *fetchDef {
		k := KindInt
		if s == StatIsUp {
			k = KindBool
		}
		return &fetchDef{out: k, fn: fetchServerStat(s), minArgs: 1, maxArgs: 1, prep: prepServerArg}
	}
	return map[string]*fetchDef{
		"fe_name":  part(PartFrontend, false),
		"fe_id":    part(PartFrontend, true),
		"be_name":  part(PartBackend, false),
		"be_id":    part(PartBackend, true),
		"srv_name": part(PartServer, false),
		"srv_id":   part(PartServer, true),
		"so_name":  part(PartListener, false),
		"so_id":    part(PartListener, true),
		"fe_defbe": part(PartDefaultBackend, false),

		"fe_client_timeout":  tmo(TimeoutClient),
		"be_server_timeout":  tmo(TimeoutServer),
		"be_tunnel_timeout":  tmo(TimeoutTunnel),
		"cur_server_timeout": tmo(TimeoutCurServer),
		"cur_tunnel_timeout": tmo(TimeoutCurTunnel),

		"bc_src":        {out: KindIP, fn: fetchServerConn(0)},
		"bc_dst":        {out: KindIP, fn: fetchServerConn(1)},
		"bc_src_port":   {out: KindInt, fn: fetchServerConn(2)},
		"bc_dst_port":   {out: KindInt, fn: fetchServerConn(3)},
		"bc_http_major": {out: KindInt, fn: fetchServerConn(4)},

		"be_conn_free": pstat(StatConnFree, "backend"),
		"be_sess_rate": pstat(StatSessRate, "backend"),
		"connslots":    pstat(StatConnSlots, "backend"),
		"queue":        pstat(StatQueue, "backend"),
		"avg_queue":    pstat(StatAvgQueue, "backend"),
		"fe_req_rate":  pstat(StatReqRate, "frontend"),
		"fe_sess_rate": pstat(StatSessRate, "frontend"),

		"srv_conn":      sstat(StatConn),
		"srv_conn_free": sstat(StatConnFree),
		"srv_is_up":     sstat(StatIsUp),
		"srv_iweight":   sstat(StatIWeight),
		"srv_uweight":   sstat(StatUWeight),
		"srv_weight":    sstat(StatWeight),
		"srv_queue":     sstat(StatQueue),
		"srv_sess_rate": sstat(StatSessRate),

		"src_updt_conn_cnt": {out: KindInt, fn: fetchSrcUpdtConnCnt, maxArgs: 1, prep: prepTableFetch},
		"table_avl":         {out: KindInt, fn: fetchTableSize(true), maxArgs: 1, prep: prepTableFetch},
		"table_cnt":         {out: KindInt, fn: fetchTableSize(false), maxArgs: 1, prep: prepTableFetch},
	}
}

// prepTableFetch resolves table_avl/table_cnt's table: the named one or
// the proxy's own.
func prepTableFetch(c *compiler, x *Expr) error {
	name := ""
	if len(x.args) > 0 {
		name = x.args[0].s
	}
	t, err := c.table(name)
	if err != nil {
		return err
	}
	x.args = []argVal{{s: name, tbl: t}}
	return nil
}

// fetchTableSize is the number of free entries (table_avl) or of used
// ones (table_cnt) of a stick table.
func fetchTableSize(avail bool) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		if !once(it) {
			return Sample{}, false
		}
		t := x.args[0].tbl
		used := int64(t.Used())
		if avail {
			return intSample(int64(t.Spec().Size) - used), true
		}
		return intSample(used), true
	}
}

// streamConvs are the converters that look a proxy or server up by the
// name in their input (CM 7.3.1 nbsrv, srv_queue).
func streamConvs() map[string]*convDef {
	return map[string]*convDef{
		"nbsrv":     {in: KindStr, out: KindInt, fn: convNbSrv},
		"srv_queue": {in: KindStr, out: KindInt, fn: convSrvQueue},
	}
}

func fetchPart(p Part, id bool) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		st, ok := e.Txn.(StreamTxn)
		if !once(it) || !ok {
			return Sample{}, false
		}
		name, n, ok := st.Part(p)
		if !ok {
			return Sample{}, false
		}
		if id {
			return intSample(int64(n)), true
		}
		m := len(e.buf)
		e.buf = append(e.buf, name...)
		return strSample(e.tail(m)), true
	}
}

func fetchTimeout(t Timeout) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		st, ok := e.Txn.(StreamTxn)
		if !once(it) || !ok {
			return Sample{}, false
		}
		ms, ok := st.TimeoutMs(t)
		if !ok {
			return Sample{}, false
		}
		return intSample(ms), true
	}
}

func fetchServerConn(what int) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		st, ok := e.Txn.(StreamTxn)
		if !once(it) || !ok {
			return Sample{}, false
		}
		src, dst, major, ok := st.ServerConn()
		if !ok {
			return Sample{}, false
		}
		switch what {
		case 0:
			return Sample{Kind: KindIP, IP: src.Addr()}, src.IsValid()
		case 1:
			return Sample{Kind: KindIP, IP: dst.Addr()}, dst.IsValid()
		case 2:
			return intSample(int64(src.Port())), src.IsValid()
		case 3:
			return intSample(int64(dst.Port())), dst.IsValid()
		}
		return intSample(int64(major)), major > 0
	}
}

// prepProxyArg checks the optional proxy name against the configuration:
// HAProxy refuses an unknown one when it loads.
func prepProxyArg(cap string) func(c *compiler, x *Expr) error {
	return func(c *compiler, x *Expr) error {
		if len(x.args) == 0 || x.args[0].s == "" {
			return ownProxyArg(c, x, cap)
		}
		if c.m == nil {
			return nil
		}
		name := x.args[0].s
		if cap == "backend" && c.m.Backend(name) == nil || cap == "frontend" && c.m.Frontend(name) == nil {
			return fmt.Errorf("unable to find %s '%s'", cap, name)
		}
		return nil
	}
}

// ownProxyArg checks that the proxy a fetch without a proxy argument
// defaults to has the capability the fetch needs, as HAProxy does when
// it loads ("nbsrv" in a frontend is an error).
func ownProxyArg(c *compiler, x *Expr, cap string) error {
	if c.p == nil {
		return nil
	}
	need := model.CapBackend
	if cap == "frontend" {
		need = model.CapFrontend
	}
	if c.p.Cap&need != 0 {
		return nil
	}
	name, _, _ := strings.Cut(x.text, "(")
	name, _, _ = strings.Cut(name, ",")
	return fmt.Errorf("proxy '%s', referenced in arg 1 of sample fetch keyword '%s', has not %s capability", c.p.Name, name, cap)
}

// prepServerArg splits "[<backend>/]<server>" and checks both exist.
func prepServerArg(c *compiler, x *Expr) error {
	a := &x.args[0]
	be, srv, ok := strings.Cut(a.s, "/")
	if !ok {
		be, srv = "", a.s
	}
	if srv == "" {
		return fmt.Errorf("missing server name in '%s'", a.s)
	}
	a.b = []byte(be)
	a.obj = srv
	if c.m == nil {
		return nil
	}
	p := c.p
	if be != "" {
		if p = c.m.Backend(be); p == nil {
			return fmt.Errorf("unable to find backend '%s'", be)
		}
	} else if p == nil {
		return nil
	} else if p.Cap&model.CapBackend == 0 {
		return ownProxyArg(c, x, "backend") // HAProxy resolves <server> in the current proxy
	}
	for _, s := range p.Servers {
		if s.Name == srv {
			return nil
		}
	}
	return fmt.Errorf("unable to find server '%s' in backend '%s'", srv, p.Name)
}

func statsEnv(e *Eval) StatsEnv {
	env := e.Txn.Env()
	if env == nil {
		return nil
	}
	se, _ := env.(StatsEnv)
	return se
}

func fetchProxyStat(s Stat) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		se := statsEnv(e)
		if !once(it) || se == nil {
			return Sample{}, false
		}
		name := ""
		if len(x.args) > 0 {
			name = x.args[0].s
		}
		v, ok := se.ProxyStat(name, s)
		return intSample(v), ok
	}
}

func fetchServerStat(s Stat) fetchFn {
	return func(e *Eval, x *Expr, it *iter) (Sample, bool) {
		se := statsEnv(e)
		if !once(it) || se == nil {
			return Sample{}, false
		}
		a := &x.args[0]
		v, ok := se.ServerStat(string(a.b), a.obj.(string), s)
		if s == StatIsUp {
			return boolSample(v != 0), ok
		}
		return intSample(v), ok
	}
}

func convNbSrv(e *Eval, c *convCall, s Sample) (Sample, bool) {
	env := e.Txn.Env()
	if env == nil || len(s.B) == 0 {
		return Sample{}, false
	}
	n := env.NbSrv(string(s.B))
	return intSample(int64(n)), n >= 0
}

func convSrvQueue(e *Eval, c *convCall, s Sample) (Sample, bool) {
	se := statsEnv(e)
	if se == nil || len(s.B) == 0 {
		return Sample{}, false
	}
	be, srv, ok := strings.Cut(string(s.B), "/")
	if !ok {
		be, srv = "", be
	}
	v, ok := se.ServerStat(be, srv, StatQueue)
	return intSample(v), ok
}

// fetchSrcUpdtConnCnt increments conn_cnt of the source address's entry
// (created if needed) and returns the new count (CM 7.3.3); a table
// without conn_cnt gives no sample.
func fetchSrcUpdtConnCnt(e *Eval, x *Expr, it *iter) (Sample, bool) {
	t := x.args[0].tbl
	src := e.Txn.Src()
	if !once(it) || !t.Stores(stick.DTConnCnt) || !src.IsValid() {
		return Sample{}, false
	}
	now := e.Txn.Now()
	r, err := t.GetOrCreate(stick.AddrKey(src.Addr()), now)
	if err != nil {
		return Sample{}, false
	}
	defer r.Release(now)
	r.IncConn(now)
	v, ok := r.Get(stick.DTConnCnt, now)
	return intSample(int64(v)), ok
}
