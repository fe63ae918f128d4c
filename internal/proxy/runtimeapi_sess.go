package proxy

import (
	"crypto/tls"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"bulwark/internal/model"
	"bulwark/internal/stats"
)

// sessInfo is what "show sess" tells about a client connection.
type sessInfo struct {
	id    uint64
	fe    string
	feRef *frontend // nil for the stats socket's sessions (GLOBAL)
	// luid is HAProxy's listener id: the bind line of the frontend, or
	// the stats socket, counted from 1.
	luid  int
	start time.Time
	c     net.Conn
	// epoch is the "show sess" epoch the session was created in (or,
	// for a CLI session, that of its last "show sess"): a dump lists
	// only the sessions created before it, as HAProxy's does.
	epoch atomic.Uint32
	// be, srv and sconn are where the session last connected
	// (noteServer).
	be  atomic.Pointer[backend]
	srv atomic.Pointer[server]
	// sconn is under sconnMu: an atomic.Pointer[net.Conn] made each
	// connection allocate the copy it pointed to.
	sconnMu sync.Mutex
	sconn   net.Conn
	// The rest is what end gives back when an accepted connection ends,
	// kept here rather than in a closure: the record is made for every
	// connection anyway, a closure would be one allocation more. release
	// gives back the slots the accept took (bl's among them); h1 counts
	// the connection out of the HTTP/1 open connections, tls out of the
	// current TLS ones.
	release func()
	bl      *boundListener
	h1, tls bool
}

// end runs once when the client connection of si ends (for a parked
// HTTP session, from whichever goroutine finishes it).
func (si *sessInfo) end() {
	fe := si.feRef
	if si.tls {
		fe.rt.sslc.cur.Add(-1)
	}
	if si.h1 {
		fe.stats.h1.openConns.Add(-1)
	}
	fe.rt.conns.Delete(si.c)
	si.release()
	fe.conns.Add(-1)
	si.bl.conns.Add(-1)
	fe.rt.active.Done()
}

func (rt *Runtime) newSess(fe *frontend, luid int, c net.Conn) *sessInfo {
	si := &sessInfo{id: rt.sessID.Add(1), fe: "GLOBAL", feRef: fe, luid: luid, start: time.Now(), c: c}
	if fe != nil {
		si.fe = fe.name
	}
	si.epoch.Store(rt.sessEpoch.Load())
	return si
}

func (rt *Runtime) sessions() []*sessInfo {
	var out []*sessInfo
	rt.conns.Range(func(_ net.Conn, si *sessInfo) bool {
		if si != nil {
			out = append(out, si)
		}
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// noteServer records on the session of client connection c the server it
// connected to (over sc), for "show sess" and "shutdown sessions server".
func (rt *Runtime) noteServer(c net.Conn, be *backend, s *server, sc net.Conn) {
	if si, ok := rt.conns.Load(c); ok {
		if si != nil {
			si.be.Store(be)
			si.srv.Store(s)
			si.sconnMu.Lock()
			si.sconn = sc
			si.sconnMu.Unlock()
		}
	}
}

func connProto(a net.Addr) string {
	switch x := a.(type) {
	case *net.TCPAddr:
		if x.IP.To4() != nil {
			return "tcpv4"
		}
		return "tcpv6"
	case *net.UnixAddr:
		return "unix_stream"
	}
	return "?"
}

// apiShowSess is "show sess [all|<id>]": a line per session, or (all, or
// one id) HAProxy's detailed dump of each. As in HAProxy, sessions
// created after the command started are not listed, and an id that does
// not parse as a number lists the summary.
func (rt *Runtime) apiShowSess(cs *apiSession, args []string) string {
	epoch := rt.sessEpoch.Add(1) - 1
	if cs.sess != nil {
		cs.sess.epoch.Store(epoch)
	}
	all, target := false, uint64(0)
	if len(args) > 0 {
		if args[0] == "all" {
			all = true
		} else {
			target, _ = strconv.ParseUint(args[0], 0, 64)
		}
	}
	var b strings.Builder
	now := time.Now()
	for _, si := range rt.sessions() {
		if int32(si.epoch.Load()-epoch) > 0 || target != 0 && si.id != target {
			continue
		}
		if all || target != 0 {
			rt.dumpSess(&b, si, now)
			if target != 0 {
				return b.String()
			}
			continue
		}
		rt.sessLine(&b, si, now)
	}
	if target != 0 {
		return "Session not found.\n"
	}
	return b.String()
}

// sessView gathers what both forms of "show sess" print about a session.
type sessView struct {
	src, feMode, beName, beMode, srvName string
	beID, srvID                          int
	mux, xprt, srvMux                    string
	http                                 bool
	sconn                                net.Conn
}

func (rt *Runtime) viewSess(si *sessInfo) sessView {
	v := sessView{src: si.c.RemoteAddr().String(), feMode: "tcp", beName: "<NONE>", srvName: "<none>", mux: "PASS", xprt: "RAW", srvMux: "PASS"}
	if _, ok := si.c.RemoteAddr().(*net.UnixAddr); ok {
		v.src = "unix:" + strconv.Itoa(si.luid)
	}
	if tc, ok := si.c.(*tls.Conn); ok {
		v.xprt = "SSL"
		if tc.ConnectionState().NegotiatedProtocol == "h2" {
			v.mux = "H2"
		}
	}
	if fe := si.feRef; fe != nil && fe.cfg.Mode == model.ModeHTTP {
		v.feMode, v.http = "http", true
		if v.mux == "PASS" {
			v.mux = "H1"
			if si.luid > 0 && si.luid <= len(fe.cfg.Binds) && fe.cfg.Binds[si.luid-1].Proto == "h2" {
				v.mux = "H2"
			}
		}
	}
	if be := si.be.Load(); be != nil {
		v.beName, v.beID, v.beMode = be.name, be.cfg.ID, be.cfg.Mode.String()
		if be.cfg.Mode == model.ModeHTTP {
			v.srvMux = "H1"
		}
	}
	if s := si.srv.Load(); s != nil {
		v.srvName, v.srvID = s.name, s.cfg.ID
		if s.h2 != nil {
			v.srvMux = "H2"
		}
	}
	si.sconnMu.Lock()
	v.sconn = si.sconn
	si.sconnMu.Unlock()
	return v
}

// sessLine is the one-line form. Bulwark has no HAProxy task, channel or
// stream-connector flags and no per-stream timers it can show: those are
// 0 and empty (documented in docs/console.md).
func (rt *Runtime) sessLine(b *strings.Builder, si *sessInfo, now time.Time) {
	v := rt.viewSess(si)
	fmt.Fprintf(b, "%#x: proto=%s src=%s fe=%s be=%s srv=%s ts=00 epoch=%s age=%s calls=0 rate=0 cpu=0 lat=0",
		si.id, connProto(si.c.LocalAddr()), v.src, si.fe, v.beName, v.srvName, cHex(si.epoch.Load()), stats.HumanTime(int64(now.Sub(si.start)/time.Second)))
	fmt.Fprintf(b, " rq[f=000000h,i=0,an=00h,rx=,wx=,ax=] rp[f=000000h,i=0,an=00h,rx=,wx=,ax=] scf=[%d,0h,fd=%d] scb=[%d,0h,fd=%d] exp= rc=0 c_exp=\n",
		scState(si.c), sessFD(si.c), scState(v.sconn), sessFD(v.sconn))
}

// scState is HAProxy's stream-connector state number: 8 (SC_ST_EST) with
// a connection, 0 (SC_ST_INI) without.
func scState(c net.Conn) int {
	if c == nil {
		return 0
	}
	return 8
}

// sessFD is the descriptor under a session's connection (TLS or not), -1
// without one.
func sessFD(c net.Conn) int {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if pc, ok := c.(*ppConn); ok {
		c = pc.Conn
	}
	if sc, ok := c.(syscall.Conn); ok {
		if fd, ok := rawFD(sc); ok {
			return fd
		}
	}
	return -1
}

func addrStr(a net.Addr) string {
	if _, ok := a.(*net.UnixAddr); ok {
		return "unix"
	}
	return a.String()
}

// dumpSess is the detailed form of "show sess all" and "show sess <id>",
// in HAProxy 2.6's layout. Where HAProxy prints its internal objects'
// addresses, Bulwark prints the session id; its internal flags are 0.
func (rt *Runtime) dumpSess(b *strings.Builder, si *sessInfo, now time.Time) {
	v := rt.viewSess(si)
	id := fmt.Sprintf("%#x", si.id)
	age := stats.HumanTime(int64(now.Sub(si.start) / time.Second))
	fmt.Fprintf(b, "%s: [%s] id=%d proto=%s source=%s\n", id, si.start.Format("02/Jan/2006:15:04:05.000000"), si.id, connProto(si.c.LocalAddr()), v.src)
	srvConn := "(nil)"
	if v.sconn != nil {
		srvConn = id
	}
	fmt.Fprintf(b, "  flags=0x0, conn_retries=0, conn_exp=<NEVER> conn_et=0x000 srv_conn=%s, pend_pos=(nil) waiting=0 epoch=%s\n", srvConn, cHex(si.epoch.Load()))
	feID, lname := 0, "?"
	if fe := si.feRef; fe != nil {
		feID = fe.cfg.ID
		if si.luid > 0 && si.luid <= len(fe.cfg.Binds) && fe.cfg.Binds[si.luid-1].Name != "" {
			lname = fe.cfg.Binds[si.luid-1].Name
		}
	}
	dst := si.c.LocalAddr().String()
	if _, ok := si.c.LocalAddr().(*net.UnixAddr); ok {
		dst = "unix:" + strconv.Itoa(si.luid)
	}
	fmt.Fprintf(b, "  frontend=%s (id=%d mode=%s), listener=%s (id=%d) addr=%s\n", si.fe, feID, v.feMode, lname, si.luid, dst)
	if v.beID == 0 {
		b.WriteString("  backend=<NONE> (id=-1 mode=-)\n  server=<NONE> (id=-1)\n")
	} else {
		fmt.Fprintf(b, "  backend=%s (id=%d mode=%s)", v.beName, v.beID, v.beMode)
		if v.sconn != nil {
			fmt.Fprintf(b, " addr=%s", addrStr(v.sconn.LocalAddr()))
		}
		fmt.Fprintf(b, "\n  server=%s (id=%d)", v.srvName, v.srvID)
		if v.sconn != nil {
			fmt.Fprintf(b, " addr=%s", addrStr(v.sconn.RemoteAddr()))
		}
		b.WriteString("\n")
	}
	nice := 0
	if si.feRef == nil {
		nice = -64 // HAProxy runs its CLI at the lowest priority
	}
	fmt.Fprintf(b, "  task=%s (state=0x00 nice=%d calls=0 rate=0 exp=<NEVER> tmask=0x1 age=%s)\n", id, nice, age)
	if v.http {
		fmt.Fprintf(b, "  txn=%s flags=0x0 meth=0 status=-1 req.st=MSG_RQBEFORE rsp.st=MSG_RPBEFORE req.f=0x00 rsp.f=0x00\n", id)
	}
	fmt.Fprintf(b, "  scf=%s flags=0x00000000 state=EST endp=CONN,%s,0x00000000 sub=1\n", id, id)
	fmt.Fprintf(b, "      co0=%s ctrl=%s xprt=%s mux=%s data=STRM target=LISTENER:%s\n", id, connProto(si.c.LocalAddr()), v.xprt, v.mux, id)
	fmt.Fprintf(b, "      flags=0x00000000 fd=%d fd.state=00 updt=0 fd.tmask=0x1\n", sessFD(si.c))
	switch {
	case si.feRef == nil:
		fmt.Fprintf(b, "  scb=%s flags=0x00000000 state=EST endp=APPCTX,%s,0x00000000 sub=0\n", id, id)
		fmt.Fprintf(b, "      app1=%s st0=0 st1=0 st2=0 applet=<CLI> tmask=0x1 nice=-64 calls=0 rate=0 cpu=0 lat=0\n", id)
	case v.sconn != nil:
		fmt.Fprintf(b, "  scb=%s flags=0x00000000 state=EST endp=CONN,%s,0x00000000 sub=1\n", id, id)
		sxprt := "RAW"
		if _, ok := v.sconn.(*tls.Conn); ok {
			sxprt = "SSL"
		}
		fmt.Fprintf(b, "      co1=%s ctrl=%s xprt=%s mux=%s data=STRM target=SERVER:%s\n", id, connProto(v.sconn.LocalAddr()), sxprt, v.srvMux, id)
		fmt.Fprintf(b, "      flags=0x00000000 fd=%d fd.state=00 updt=0 fd.tmask=0x1\n", sessFD(v.sconn))
	default:
		fmt.Fprintf(b, "  scb=%s flags=0x00000000 state=INI endp=NONE,%s,0x00000000 sub=0\n", id, id)
	}
	// The CLI session is writing its answer: its buffers are in use.
	data := "(nil)"
	if si.feRef == nil {
		data = id
	}
	for _, ch := range []string{"req", "res"} {
		fmt.Fprintf(b, "  %s=%s (f=0x000000 an=0x0 pipe=0 tofwd=0 total=0)\n      an_exp=<NEVER> rex=<NEVER> wex=<NEVER>\n", ch, id)
		fmt.Fprintf(b, "      buf=%s data=%s o=0 p=0 i=0 size=0\n", id, data)
		if v.http {
			fmt.Fprintf(b, "      htx=%s flags=0x0 size=0 data=0 used=0 wrap=NO extra=0\n", id)
		}
	}
}

// bindID is the bind line's number in the frontend, from 1 (0 if not
// found).
func (fe *frontend) bindID(b *model.Bind) int {
	for i, x := range fe.cfg.Binds {
		if x == b {
			return i + 1
		}
	}
	return 0
}

// cHex is C's "%#x": "0" for zero, 0x-prefixed otherwise.
func cHex(n uint32) string {
	if n == 0 {
		return "0"
	}
	return fmt.Sprintf("%#x", n)
}
