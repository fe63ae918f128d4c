package srvstate

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// StateHeader is the second line of "show servers state" and of a
// server-state file, format version 1 (MG 9.3): the column names.
const StateHeader = "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight " +
	"srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health " +
	"srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord " +
	"srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port"

// stateFields is the number of columns of a version 1 line.
const stateFields = 25

// StateLine is one server of a version 1 state file, field by field, as
// HAProxy 2.6 writes them. Text fields hold "-" when empty.
type StateLine struct {
	BackendID                       int
	Backend                         string
	ServerID                        int
	Server                          string
	Addr                            string
	Op                              Op
	Admin                           Admin
	UWeight                         int
	IWeight                         int
	SinceChange                     int64 // seconds
	CheckStatus                     CheckStatus
	CheckResult                     Result
	Health                          int
	CheckState                      int
	AgentState                      int
	BackendForcedID, ServerForcedID int
	FQDN                            string
	Port                            int
	SRVRecord                       string
	UseSSL                          int
	CheckPort                       int
	CheckAddr, AgentAddr            string
	AgentPort                       int
}

// String is the line as "show servers state" prints it.
func (l StateLine) String() string {
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	return fmt.Sprintf("%d %s %d %s %s %d %d %d %d %d %d %d %d %d %d %d %d %s %d %s %d %d %s %s %d",
		l.BackendID, l.Backend, l.ServerID, l.Server, dash(l.Addr), l.Op, l.Admin, l.UWeight, l.IWeight,
		l.SinceChange, l.CheckStatus, l.CheckResult, l.Health, l.CheckState, l.AgentState,
		l.BackendForcedID, l.ServerForcedID, dash(l.FQDN), l.Port, dash(l.SRVRecord), l.UseSSL,
		l.CheckPort, dash(l.CheckAddr), dash(l.AgentAddr), l.AgentPort)
}

// StateFile is a parsed server-state file: the lines by "backend
// server", as HAProxy looks servers up (by name).
type StateFile map[string]StateLine

// Lookup returns the line of server srv of backend be.
func (f StateFile) Lookup(be, srv string) (StateLine, bool) {
	l, ok := f[be+" "+srv]
	return l, ok
}

// ParseStateFile reads a version 1 server-state file. A file of another
// version, or with no version line, is refused as a whole; a bad line is
// reported (with its number) and skipped, the others still apply, as
// HAProxy does. Comment and empty lines are ignored.
func ParseStateFile(r io.Reader) (StateFile, []error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	if !sc.Scan() {
		return nil, []error{fmt.Errorf("empty file: no version line")}
	}
	v := strings.TrimSpace(sc.Text())
	if v != "1" {
		return nil, []error{fmt.Errorf("line 1: unsupported server-state file version %q (only 1 is known)", v)}
	}
	out := StateFile{}
	var errs []error
	for n := 2; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		l, err := parseStateLine(text)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %v", n, err))
			continue
		}
		out[l.Backend+" "+l.Server] = l
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	return out, errs
}

func parseStateLine(text string) (StateLine, error) {
	f := strings.Fields(text)
	if len(f) < stateFields {
		return StateLine{}, fmt.Errorf("%d fields, version 1 has %d", len(f), stateFields)
	}
	var l StateLine
	var bad []string
	num := func(i int, max int64) int64 {
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil || n < 0 || max > 0 && n > max {
			bad = append(bad, fmt.Sprintf("invalid %s value '%s'", stateColumn(i), f[i]))
		}
		return n
	}
	undash := func(s string) string {
		if s == "-" {
			return ""
		}
		return s
	}
	l.BackendID = int(num(0, 1<<31-1))
	l.Backend = f[1]
	l.ServerID = int(num(2, 1<<31-1))
	l.Server = f[3]
	l.Addr = undash(f[4])
	l.Op = Op(num(5, 3))
	l.Admin = Admin(num(6, 0xff))
	l.UWeight = int(num(7, 256))
	l.IWeight = int(num(8, 256))
	l.SinceChange = num(9, 0)
	l.CheckStatus = CheckStatus(num(10, int64(CheckL7STS)+8))
	l.CheckResult = Result(num(11, int64(ResultCondPass)))
	l.Health = int(num(12, 1<<16))
	l.CheckState = int(num(13, 0xff))
	l.AgentState = int(num(14, 0xff))
	l.BackendForcedID = int(num(15, 1))
	l.ServerForcedID = int(num(16, 1))
	l.FQDN = undash(f[17])
	l.Port = int(num(18, 65535))
	l.SRVRecord = undash(f[19])
	l.UseSSL = int(num(20, 1))
	l.CheckPort = int(num(21, 65535))
	l.CheckAddr = undash(f[22])
	l.AgentAddr = undash(f[23])
	l.AgentPort = int(num(24, 65535))
	if len(bad) > 0 {
		return l, fmt.Errorf("server %s/%s: %s", l.Backend, l.Server, strings.Join(bad, ", "))
	}
	return l, nil
}

func stateColumn(i int) string {
	cols := strings.Fields(strings.TrimPrefix(StateHeader, "# "))
	if i < len(cols) {
		return cols[i]
	}
	return "field"
}

// Restore applies a state saved by a previous process (HAProxy's
// server-state loading): the operational state with its health counter,
// the forced maintenance and drain unless the configuration changed the
// server's own maintenance, the user weight when the configured weight is
// still the one saved, the last change and the last check result. The
// configuration wins where it changed.
func (s *Server) Restore(l StateLine, now time.Time) (before, after Snapshot) {
	return s.update(func(n *Snapshot) {
		top := n.Rise + n.Fall - 1
		if n.Checked {
			switch l.Op {
			case Stopped:
				n.Op, n.Health = Stopped, 0
			case 1: // starting: Bulwark ramps no weight up, the server is UP
				n.Op, n.Health = Running, top
			case Stopping:
				if n.Fall == 1 {
					n.Op, n.Health = Stopped, 0
					break
				}
				n.Op = Stopping
				n.Health = min(max(l.Health, n.Rise), n.Rise+n.Fall-2)
			case Running:
				n.Op, n.Health = Running, top
			}
		}
		saved := l.Admin &^ 0xf2 // the inherited and resolver bits are recomputed
		cfgMaint := n.Admin&AdminCMaint != 0
		switch {
		case saved&AdminCMaint != 0 != cfgMaint:
			// The configuration changed its mind: it wins.
		case saved&AdminFMaint != 0 && !cfgMaint:
			n.Admin |= AdminFMaint
		}
		if n.Admin&AdminFMaint == 0 && saved&AdminFDrain != 0 && (l.IWeight > 0 || n.InitialWeight == 0) {
			n.Admin |= AdminFDrain
		}
		if n.Admin.Maint() {
			n.Op, n.Health = Stopped, 0
		}
		if l.IWeight == n.InitialWeight {
			n.Weight = l.UWeight
		}
		if l.CheckStatus.Result() != ResultUnknown || l.CheckStatus == CheckIni {
			n.Check.Status = l.CheckStatus
		}
		n.LastChange = now.Add(-time.Duration(l.SinceChange) * time.Second)
	})
}
