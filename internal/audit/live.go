package audit

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"bulwark/internal/config"
)

// LiveOptions say how --live finds the running deployment.
type LiveOptions struct {
	// PID, when non-zero, names the proxy's (master) process.
	PID int
	// PIDFile is read when PID is zero; when both are empty the
	// configuration's 'pidfile' is tried, then /proc is scanned for the
	// product's binary name.
	PIDFile string
	// ProbeRemote allows probes to bind addresses that are not on this
	// host.
	ProbeRemote bool
	// ProcRoot is /proc unless a test points elsewhere.
	ProcRoot string
	// Timeout bounds every single probe; capped at maxProbeTimeout.
	Timeout time.Duration
	// UnitDirs are searched for the systemd unit; the standard systemd
	// directories when empty.
	UnitDirs []string
	// SHA256Sums, when set, names a sha256sum-format file the running
	// binary must be listed in (HAP-1.1).
	SHA256Sums string
	// lookupHost resolves bind host names; net.DefaultResolver when nil.
	// Tests replace it to stay off the network.
	lookupHost func(ctx context.Context, host string) ([]netip.Addr, error)
}

const (
	maxProbeTimeout     = 3 * time.Second
	defaultProbeTimeout = 2 * time.Second
	// cmdTimeout bounds the helper commands (dpkg, rpm, go version, -vv).
	cmdTimeout = 5 * time.Second
)

// Proc is what /proc tells about one process of the deployment.
type Proc struct {
	PID, PPID int
	Exe       string // resolved binary path; "(deleted)" suffix kept
	Comm      string
	// UID and GID hold real, effective, saved and filesystem IDs.
	UID, GID [4]int
	Root     string // /proc/PID/root target
	// Worker is true for a process that serves traffic: one without a
	// child process of the same binary. A master only supervises.
	Worker bool
	Err    string // what could not be read
}

// Listener is one listening TCP socket owned by the deployment.
type Listener struct {
	PID  int
	Addr netip.AddrPort
}

// LiveFacts hold what --live observed about the running deployment.
type LiveFacts struct {
	Product string
	// How is how the processes were found ("--pid 123", "pidfile X",
	// "scan of /proc").
	How   string
	Procs []Proc
	// ProcProblem says why no process could be audited (not found, not
	// a proxy, unreadable); empty when Procs is usable.
	ProcProblem string
	Listeners   []Listener
	SocketsErr  string
	Binary      BinaryFacts
	// Features is the "Feature list" of 'haproxy -vv' (name -> enabled);
	// nil when not known, with FeaturesErr saying why.
	Features    map[string]bool
	FeaturesErr string
	TLS         []TLSProbe
	HTTP        []HTTPProbe
	// ProbeNotes record binds that were not probed and why.
	ProbeNotes []ProbeNote
	// Unit is the systemd service running the processes (HAP-9.1).
	Unit UnitFacts
	// Routes compare bind interfaces with server routes (HAP-3.2).
	Routes RouteFacts
	// LogProbe says whether a log line arrived for a probe (HAP-7.1).
	LogProbe LogProbe
	// CertFiles judge the TLS binds' certificate and key files at the
	// path the running worker sees (HAP-4.3).
	CertFiles []Evidence
}

// ProbeNote is a bind a probe of Kind ("tls", "headers", "trace",
// "stats") did not reach, and why.
type ProbeNote struct {
	Kind string
	Evidence
}

// BinaryFacts describe the running binary's origin.
type BinaryFacts struct {
	Path     string
	Verdict  Verdict
	Evidence []Evidence
}

// GatherLive observes the running deployment of t's configuration. It never
// fails: whatever cannot be observed becomes a finding.
func GatherLive(t *Target, o LiveOptions) *LiveFacts {
	if o.ProcRoot == "" {
		o.ProcRoot = "/proc"
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultProbeTimeout
	}
	if o.Timeout > maxProbeTimeout {
		o.Timeout = maxProbeTimeout
	}
	lf := &LiveFacts{Product: t.Product}
	findProcs(t, o, lf)
	if len(lf.Procs) > 0 {
		lf.Listeners, lf.SocketsErr = listeners(o.ProcRoot, lf.Procs)
		exeLink := filepath.Join(o.ProcRoot, strconv.Itoa(lf.Procs[0].PID), "exe")
		lf.Binary = binaryOrigin(t.Product, lf.Procs[0].Exe, o.SHA256Sums, exeLink)
		lf.Unit = unitOf(o.ProcRoot, o.UnitDirs, lf.Procs)
		lf.CertFiles = gatherCertFiles(t, o.ProcRoot, lf.Procs)
		if t.Product == ProductHAProxy {
			lf.Features, lf.FeaturesErr = buildFeatures(lf.Procs[0].Exe)
		}
	}
	lf.Routes = gatherRoutes(t, realNet{})
	lf.Routes.OtherNetns = otherNetns(o.ProcRoot, lf.Procs)
	probeAll(t, o, lf)
	lf.LogProbe = probeLogLine(t, o, lf)
	return lf
}

// findProcs resolves the root processes and adds all their descendants.
func findProcs(t *Target, o LiveOptions, lf *LiveFacts) {
	var roots []int
	switch {
	case o.PID > 0:
		roots, lf.How = []int{o.PID}, fmt.Sprintf("--pid %d", o.PID)
	case o.PIDFile != "" || t.Model.Global.PidFile != "":
		f := o.PIDFile
		if f == "" {
			f = t.Model.Global.PidFile
		}
		lf.How = "pidfile " + f
		pids, err := readPIDFile(f)
		if err != nil {
			lf.ProcProblem = fmt.Sprintf("cannot read pidfile: %v", err)
			return
		}
		roots = pids
	default:
		lf.How = "scan of " + o.ProcRoot + " for " + t.Product
	}
	all := scanProcs(o.ProcRoot)
	if len(roots) == 0 {
		for pid, p := range all {
			if isProductBinary(p, t.Product) {
				if parent, ok := all[p.PPID]; !ok || !isProductBinary(parent, t.Product) {
					roots = append(roots, pid)
				}
			}
		}
		sort.Ints(roots)
		if len(roots) == 0 {
			lf.ProcProblem = fmt.Sprintf("no running %s process found (use --pid or --pidfile)", t.Product)
			return
		}
	}
	for _, r := range roots {
		p, ok := all[r]
		if !ok {
			lf.ProcProblem = fmt.Sprintf("PID %d is not running", r)
			return
		}
		if p.Err == "" && !isProductBinary(p, t.Product) {
			lf.ProcProblem = fmt.Sprintf("PID %d is %s, not a %s process", r, describeProc(p), t.Product)
			return
		}
	}
	children := map[int][]int{}
	for pid, p := range all {
		children[p.PPID] = append(children[p.PPID], pid)
	}
	seen := map[int]bool{}
	var walk func(pid int)
	walk = func(pid int) {
		if seen[pid] {
			return
		}
		seen[pid] = true
		p := all[pid]
		p.Worker = true
		for _, c := range children[pid] {
			if isProductBinary(all[c], t.Product) {
				p.Worker = false
			}
		}
		lf.Procs = append(lf.Procs, *p)
		kids := children[pid]
		sort.Ints(kids)
		for _, c := range kids {
			walk(c)
		}
	}
	for _, r := range roots {
		walk(r)
	}
}

func describeProc(p *Proc) string {
	if p.Exe != "" {
		return p.Exe
	}
	return "'" + p.Comm + "'"
}

// isProductBinary matches the binary's base name, or the command name when
// the binary link cannot be read (another user's process).
func isProductBinary(p *Proc, product string) bool {
	if p == nil {
		return false
	}
	name := strings.TrimSuffix(filepath.Base(p.Exe), " (deleted)")
	if p.Exe == "" {
		name = p.Comm
	}
	return name == product || strings.HasPrefix(name, product+"-") || strings.HasPrefix(name, product+".")
}

func readPIDFile(f string) ([]int, error) {
	b, err := os.ReadFile(f)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, w := range strings.Fields(string(b)) {
		n, err := strconv.Atoi(w)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%s: %q is not a PID", f, w)
		}
		pids = append(pids, n)
	}
	if len(pids) == 0 {
		return nil, fmt.Errorf("%s is empty", f)
	}
	return pids, nil
}

// scanProcs reads every process of procRoot.
func scanProcs(procRoot string) map[int]*Proc {
	out := map[int]*Proc{}
	ents, _ := os.ReadDir(procRoot)
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		if p := readProc(procRoot, pid); p != nil {
			out[pid] = p
		}
	}
	return out
}

// readProc reads one process; nil when it vanished.
func readProc(procRoot string, pid int) *Proc {
	dir := filepath.Join(procRoot, strconv.Itoa(pid))
	st, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return nil
	}
	p := &Proc{PID: pid}
	for _, line := range strings.Split(string(st), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		switch k {
		case "Name":
			p.Comm = strings.TrimSpace(v)
		case "PPid":
			p.PPID, _ = strconv.Atoi(strings.TrimSpace(v))
		case "Uid", "Gid":
			var ids [4]int
			for i := 0; i < 4 && i < len(f); i++ {
				ids[i], _ = strconv.Atoi(f[i])
			}
			if k == "Uid" {
				p.UID = ids
			} else {
				p.GID = ids
			}
		}
	}
	var errs []string
	if p.Exe, err = os.Readlink(filepath.Join(dir, "exe")); err != nil {
		errs = append(errs, "binary: "+shortErr(err))
	}
	if p.Root, err = os.Readlink(filepath.Join(dir, "root")); err != nil {
		errs = append(errs, "root: "+shortErr(err))
	}
	p.Err = strings.Join(errs, "; ")
	return p
}

func shortErr(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

// listeners maps the socket inodes open in each process to the listening
// entries of its network namespace's /proc/net/tcp{,6}.
func listeners(procRoot string, procs []Proc) ([]Listener, string) {
	var out []Listener
	var problems []string
	seen := map[string]bool{}
	for _, p := range procs {
		dir := filepath.Join(procRoot, strconv.Itoa(p.PID))
		fds, err := os.ReadDir(filepath.Join(dir, "fd"))
		if err != nil {
			problems = append(problems, fmt.Sprintf("PID %d: %s", p.PID, shortErr(err)))
			continue
		}
		inodes := map[string]bool{}
		for _, fd := range fds {
			l, err := os.Readlink(filepath.Join(dir, "fd", fd.Name()))
			if err == nil && strings.HasPrefix(l, "socket:[") {
				inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
			}
		}
		for _, tbl := range []string{"tcp", "tcp6"} {
			for _, e := range readTCPTable(filepath.Join(dir, "net", tbl)) {
				key := e.inode + "/" + e.addr.String()
				if inodes[e.inode] && !seen[key] {
					seen[key] = true
					out = append(out, Listener{PID: p.PID, Addr: e.addr})
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr.String() < out[j].Addr.String() })
	return out, strings.Join(problems, "; ")
}

type tcpEntry struct {
	addr  netip.AddrPort
	inode string
}

// readTCPTable returns the LISTEN entries of a /proc/net/tcp-format file.
func readTCPTable(path string) []tcpEntry {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []tcpEntry
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 10 || fs[3] != "0A" {
			continue
		}
		ap, ok := parseProcAddr(fs[1])
		if ok {
			out = append(out, tcpEntry{ap, fs[9]})
		}
	}
	return out
}

// parseProcAddr decodes "0100007F:1F90": the address is in host byte order
// 32-bit words (little-endian here), the port big-endian hex.
func parseProcAddr(s string) (netip.AddrPort, bool) {
	h, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	raw, err := hex.DecodeString(h)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, false
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	a, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(a, uint16(port)), true
}

func runCmd(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = nil
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// binaryOrigin judges HAP-1.1 on the running binary. A matching checksum
// file establishes the origin on its own, so the package and build-info
// questions are then not asked: a binary installed from a vendor tarball
// is not "manually installed" once its bytes are vouched for.
func binaryOrigin(product, exe, sumsFile, exeLink string) BinaryFacts {
	bf := BinaryFacts{Path: exe}
	add := func(v Verdict, format string, args ...any) {
		bf.Evidence = append(bf.Evidence, ev(config.Pos{}, v, format, args...))
	}
	if exe == "" {
		add(Manual, "the running binary's path cannot be read (run the audit as root)")
		return finishBinary(bf)
	}
	path := exe
	if strings.HasSuffix(path, " (deleted)") {
		add(Warn, "running binary %s was replaced or removed on disk: restart to run the installed one", exe)
		path = strings.TrimSuffix(path, " (deleted)")
	}
	if st, err := os.Stat(path); err == nil {
		sys, _ := st.Sys().(*syscall.Stat_t)
		switch {
		case st.Mode().Perm()&0o022 != 0:
			add(Fail, "%s is writable by group or others (mode %04o)", path, st.Mode().Perm())
		case sys != nil && sys.Uid != 0:
			add(Fail, "%s is owned by UID %d, not root: that user can replace the binary", path, sys.Uid)
		default:
			add(Pass, "%s is root-owned, mode %04o", path, st.Mode().Perm())
		}
	}
	if sumsFile != "" {
		e, matched := sumsEvidence(sumsFile, exeLink, exe)
		bf.Evidence = append(bf.Evidence, e)
		if matched {
			return finishBinary(bf)
		}
	}
	if product == ProductBulwark {
		bulwarkBuildInfo(path, add)
		return finishBinary(bf)
	}
	switch {
	case haveCmd("dpkg"):
		out, err := runCmd("dpkg", "-S", path)
		if err != nil {
			add(Fail, "%s belongs to no Debian package (dpkg -S): a manually installed binary", path)
		} else {
			pkg, _, _ := strings.Cut(strings.TrimSpace(out), ":")
			add(Pass, "%s is installed by package %s (dpkg -S); confirm the repository with 'apt-cache policy %s'", path, pkg, pkg)
		}
	case haveCmd("rpm"):
		out, err := runCmd("rpm", "-qf", path)
		if err != nil {
			add(Fail, "%s belongs to no RPM package (rpm -qf): a manually installed binary", path)
		} else {
			add(Pass, "%s is installed by %s (rpm -qf)", path, strings.TrimSpace(out))
		}
	default:
		add(Manual, "no dpkg or rpm here: confirm where %s came from", path)
	}
	return finishBinary(bf)
}

// bulwarkBuildInfo reads the module build info of a Bulwark binary with
// 'go version -m' (a running process's own debug.ReadBuildInfo is not
// reachable from outside it).
func bulwarkBuildInfo(path string, add func(Verdict, string, ...any)) {
	if !haveCmd("go") {
		add(Manual, "no go toolchain here to read build info: run '%s version -v' and check the VCS revision and dirty flag", path)
		return
	}
	out, err := runCmd("go", "version", "-m", path)
	if err != nil {
		add(Fail, "%s has no Go build info: %s", path, firstLine(out))
		return
	}
	rev, modified := "", ""
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "build" {
			if v, ok := strings.CutPrefix(f[1], "vcs.revision="); ok {
				rev = v
			}
			if v, ok := strings.CutPrefix(f[1], "vcs.modified="); ok {
				modified = v
			}
		}
	}
	switch {
	case modified == "true":
		add(Fail, "%s was built from a modified work tree (vcs.modified=true, revision %s)", path, rev)
	case rev == "":
		add(Warn, "%s carries no VCS revision (built with -buildvcs=false or outside git)", path)
	default:
		add(Pass, "%s built from clean revision %s", path, rev)
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func haveCmd(name string) bool {
	_, err := exec.LookPath(name)
	return err == nil
}

func finishBinary(bf BinaryFacts) BinaryFacts {
	bf.Verdict = finish(Result{Evidence: bf.Evidence}).Verdict
	return bf
}

// buildFeatures runs 'haproxy -vv' and reads its "Feature list".
func buildFeatures(exe string) (map[string]bool, string) {
	path := strings.TrimSuffix(exe, " (deleted)")
	if path == "" {
		return nil, "binary path unknown"
	}
	out, err := runCmd(path, "-vv")
	if err != nil {
		return nil, fmt.Sprintf("'%s -vv' failed: %v", path, err)
	}
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(line, "Feature list :"); ok {
			feats := map[string]bool{}
			for _, w := range strings.Fields(rest) {
				if len(w) > 1 && (w[0] == '+' || w[0] == '-') {
					feats[w[1:]] = w[0] == '+'
				}
			}
			return feats, ""
		}
	}
	return nil, fmt.Sprintf("'%s -vv' printed no feature list", path)
}

// localAddrs returns the addresses of this host's interfaces.
func localAddrs() map[netip.Addr]bool {
	out := map[netip.Addr]bool{}
	ifs, _ := net.InterfaceAddrs()
	for _, a := range ifs {
		if pn, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(pn.IP); ok {
				out[ip.Unmap()] = true
			}
		}
	}
	return out
}
