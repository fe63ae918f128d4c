package lifecycle

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// The master/worker protocol. Go cannot fork a running runtime, so a
// worker is this program started again by the master, with workerEnv set
// and these file descriptors:
//
//	3     the control socket (a socketpair with the master)
//	4...  the listening sockets, in the order of the keys in socketsEnv
//	then  on a reload, a socket on which the previous worker writes its
//	      stick tables (tablesEnv)
//
// A reload's worker is started deferred (deferredEnv, only descriptor 3):
// it reads the files while the master validates them, then receives the
// listening sockets and the tables socket on the control socket (Hand,
// AwaitSockets) before it builds and serves.
//
// On the control socket the worker writes readyMsg once it serves; the
// master sends one byte with one file descriptor attached: a runtime API
// level ('u', 'o' or 'a') for each master CLI command it forwards, which the
// worker answers as a stats socket connection, or 't' for "write your stick
// tables here" (for the next worker). When the master goes away the control
// socket reads EOF, and the worker stops.
const (
	workerEnv  = "BULWARK_WORKER"
	socketsEnv = "BULWARK_WORKER_SOCKETS"
	tablesEnv  = "BULWARK_WORKER_TABLES"
	clockEnv   = "BULWARK_CLOCK_START"
	// deferredEnv marks a worker started before its sockets exist: it
	// reads its configuration while the master validates the same files,
	// then receives its sockets on the control socket (Hand).
	deferredEnv = "BULWARK_WORKER_DEFERRED"
	ctlFD       = 3
	firstSock   = 4
)

// ListenSocket is a listening socket the master hands to a worker: the
// master's own listener, whose descriptor the worker inherits.
type ListenSocket struct {
	Key  string
	Conn syscall.Conn
}

// Worker is the master's handle on one worker process.
type Worker struct {
	PID int
	// Reloads counts the reloads the worker has survived, as HAProxy's
	// "show proc" does.
	Reloads int
	Started time.Time
	// Done is closed once the process has exited; ExitCode is then set
	// (128+signal when a signal killed it).
	Done     chan struct{}
	ExitCode int
	// Ready is closed once the worker serves.
	Ready chan struct{}

	proc  *os.Process
	ctlMu sync.Mutex
	ctl   *net.UnixConn
}

// rawFD returns c's descriptor without changing it. os.File.Fd, which
// os/exec calls for every inherited file, would put the descriptor in
// blocking mode, and that flag belongs to the open file shared by the
// master and every worker: a worker's accept would then block in the
// kernel where Go expects EAGAIN, and its soft stop could never close
// the listener.
func rawFD(c syscall.Conn) (uintptr, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var fd uintptr
	if err := rc.Control(func(f uintptr) { fd = f }); err != nil {
		return 0, err
	}
	return fd, nil
}

// StartWorker starts exe with args as a worker serving on socks (nil: a
// deferred worker, which waits for Hand before it serves); tables,
// when set, is where it reads the previous worker's stick tables from, and
// clock the master's tick 0 that all its workers share. Its standard output
// and error are the master's, so that what it says reaches the operator (or
// the journal) as the master's would. The descriptors of socks must stay
// open until StartWorker returns.
func StartWorker(exe string, args, env []string, socks []ListenSocket, tables *os.File, clock time.Time, stdout, stderr *os.File) (*Worker, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("worker control socket: %w", err)
	}
	mine := os.NewFile(uintptr(fds[0]), "worker-control")
	defer syscall.Close(fds[1])
	defer mine.Close()
	c, err := net.FileConn(mine)
	if err != nil {
		return nil, fmt.Errorf("worker control socket: %w", err)
	}
	ctl := c.(*net.UnixConn)
	fail := func(err error) (*Worker, error) {
		ctl.Close()
		return nil, err
	}
	files := make([]uintptr, 0, 4+len(socks)+1)
	files = append(files, 0)
	for _, f := range []*os.File{stdout, stderr} {
		fd, err := rawFD(f)
		if err != nil {
			return fail(err)
		}
		files = append(files, fd)
	}
	files = append(files, uintptr(fds[1]))
	keys := make([]string, len(socks))
	for i, s := range socks {
		fd, err := rawFD(s.Conn)
		if err != nil {
			return fail(fmt.Errorf("socket %s: %v", s.Key, err))
		}
		keys[i] = s.Key
		files = append(files, fd)
	}
	enc, err := json.Marshal(keys)
	if err != nil {
		return fail(err)
	}
	env = append(env, workerEnv+"=1", socketsEnv+"="+string(enc), clockEnv+"="+strconv.FormatInt(clock.UnixNano(), 10))
	if socks == nil {
		env = append(env, deferredEnv+"=1")
	}
	if tables != nil {
		fd, err := rawFD(tables)
		if err != nil {
			return fail(err)
		}
		env = append(env, tablesEnv+"="+strconv.Itoa(len(files)))
		files = append(files, fd)
	}
	pid, err := startNoNewPrivs(exe, append([]string{exe}, args...), &syscall.ProcAttr{Env: env, Files: files})
	if err != nil {
		return fail(fmt.Errorf("cannot start a worker: %w", err))
	}
	proc, err := os.FindProcess(pid)
	if err != nil {
		return fail(err)
	}
	w := &Worker{PID: pid, Started: time.Now(), Done: make(chan struct{}), Ready: make(chan struct{}),
		proc: proc, ctl: ctl}
	go func() {
		buf := make([]byte, len(readyMsg))
		if _, err := io.ReadFull(ctl, buf); err == nil && string(buf) == readyMsg {
			close(w.Ready)
		}
	}()
	go func() {
		st, err := proc.Wait()
		switch {
		case err != nil:
			w.ExitCode = 1
		case st.Sys().(syscall.WaitStatus).Signaled():
			w.ExitCode = 128 + int(st.Sys().(syscall.WaitStatus).Signal())
		default:
			w.ExitCode = st.ExitCode()
		}
		ctl.Close()
		close(w.Done)
	}()
	return w, nil
}

// Hand gives a deferred worker its sockets and, when set, the previous
// worker's stick tables: the key list ('K', its length, JSON), one message
// per socket ('s' with the descriptor), then 'T' with the tables socket or
// 'N'. Each descriptor travels alone so that no read can take a byte
// without the descriptor it carries.
func (w *Worker) Hand(socks []ListenSocket, tables *os.File) error {
	keys := make([]string, len(socks))
	fds := make([]int, len(socks))
	for i, s := range socks {
		fd, err := rawFD(s.Conn)
		if err != nil {
			return fmt.Errorf("socket %s: %v", s.Key, err)
		}
		keys[i], fds[i] = s.Key, int(fd)
	}
	enc, err := json.Marshal(keys)
	if err != nil {
		return err
	}
	w.ctlMu.Lock()
	defer w.ctlMu.Unlock()
	w.ctl.SetWriteDeadline(time.Now().Add(30 * time.Second))
	defer w.ctl.SetWriteDeadline(time.Time{})
	head := []byte{'K', 0, 0, 0, 0}
	binary.BigEndian.PutUint32(head[1:], uint32(len(enc)))
	if _, err := w.ctl.Write(append(head, enc...)); err != nil {
		return fmt.Errorf("worker %d: %w", w.PID, err)
	}
	for _, fd := range fds {
		if _, _, err := w.ctl.WriteMsgUnix([]byte{'s'}, syscall.UnixRights(fd), nil); err != nil {
			return fmt.Errorf("worker %d: %w", w.PID, err)
		}
	}
	if tables != nil {
		fd, err := rawFD(tables)
		if err != nil {
			return err
		}
		_, _, err = w.ctl.WriteMsgUnix([]byte{'T'}, syscall.UnixRights(int(fd)), nil)
		if err != nil {
			return fmt.Errorf("worker %d: %w", w.PID, err)
		}
		return nil
	}
	if _, err := w.ctl.Write([]byte{'N'}); err != nil {
		return fmt.Errorf("worker %d: %w", w.PID, err)
	}
	return nil
}

// Signal sends sig to the worker unless it has exited.
func (w *Worker) Signal(sig syscall.Signal) {
	select {
	case <-w.Done:
	default:
		w.proc.Signal(sig)
	}
}

// Forward opens a runtime API connection to the worker at level ("user",
// "operator" or "admin"): the master CLI writes the command on it and reads
// the answer until EOF.
func (w *Worker) Forward(level string) (net.Conn, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fds[0]), "worker-cli")
	defer f.Close()
	w.ctlMu.Lock()
	_, _, err = w.ctl.WriteMsgUnix([]byte{level[0]}, syscall.UnixRights(fds[1]), nil)
	w.ctlMu.Unlock()
	syscall.Close(fds[1])
	if err != nil {
		return nil, fmt.Errorf("worker %d: %w", w.PID, err)
	}
	return net.FileConn(f)
}

// ExportTables asks the worker to write its stick tables on a new socket,
// and returns the other end, for the next worker.
func (w *Worker) ExportTables() (*os.File, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	w.ctlMu.Lock()
	_, _, err = w.ctl.WriteMsgUnix([]byte{'t'}, syscall.UnixRights(fds[1]), nil)
	w.ctlMu.Unlock()
	syscall.Close(fds[1])
	if err != nil {
		syscall.Close(fds[0])
		return nil, fmt.Errorf("worker %d: %w", w.PID, err)
	}
	return os.NewFile(uintptr(fds[0]), "worker-tables"), nil
}

// WorkerEnd is the worker's side of the protocol.
type WorkerEnd struct {
	ctl *net.UnixConn
	// Sockets are the master's listening sockets, by key.
	Sockets map[string]net.Listener
	// Tables, when set, reads the previous worker's stick tables.
	Tables net.Conn
	// ClockStart is the master's tick 0 for stick tables.
	ClockStart time.Time
	// deferred: the sockets come later (AwaitSockets).
	deferred bool
}

// WorkerChild reports whether this process is a worker, and if so takes
// its control socket and listening sockets.
func WorkerChild() (*WorkerEnd, bool, error) {
	if os.Getenv(workerEnv) != "1" {
		return nil, false, nil
	}
	var keys []string
	if err := json.Unmarshal([]byte(os.Getenv(socketsEnv)), &keys); err != nil {
		return nil, true, fmt.Errorf("worker: %s: %v", socketsEnv, err)
	}
	var clock time.Time
	if n, err := strconv.ParseInt(os.Getenv(clockEnv), 10, 64); err == nil {
		clock = time.Unix(0, n)
	}
	tablesFD := -1
	if v := os.Getenv(tablesEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, true, fmt.Errorf("worker: %s: %v", tablesEnv, err)
		}
		tablesFD = n
	}
	// The worker's own children (none today) must not take itself for one.
	deferred := os.Getenv(deferredEnv) == "1"
	for _, e := range []string{workerEnv, socketsEnv, clockEnv, tablesEnv, deferredEnv} {
		os.Unsetenv(e)
	}
	f := os.NewFile(ctlFD, "worker-control")
	c, err := net.FileConn(f)
	f.Close()
	uc, ok := c.(*net.UnixConn)
	if err != nil || !ok {
		return nil, true, fmt.Errorf("worker: file descriptor %d is not the master's control socket (%v)", ctlFD, err)
	}
	we := &WorkerEnd{ctl: uc, Sockets: map[string]net.Listener{}, ClockStart: clock, deferred: deferred}
	if tablesFD >= 0 {
		tf := os.NewFile(uintptr(tablesFD), "worker-tables")
		tc, err := net.FileConn(tf)
		tf.Close()
		if err != nil {
			return nil, true, fmt.Errorf("worker: tables socket (fd %d): %v", tablesFD, err)
		}
		we.Tables = tc
	}
	for i, k := range keys {
		sf := os.NewFile(uintptr(firstSock+i), k)
		l, err := net.FileListener(sf)
		sf.Close()
		if err != nil {
			return nil, true, fmt.Errorf("worker: socket %s (fd %d): %v", k, firstSock+i, err)
		}
		we.Sockets[k] = l
	}
	return we, true, nil
}

// AwaitSockets waits for the sockets of a deferred worker (Hand); for
// another worker it returns at once. It fails when the master goes away
// first, which is how a master that found the configuration invalid
// leaves the worker it started ahead.
func (we *WorkerEnd) AwaitSockets() error {
	if !we.deferred {
		return nil
	}
	var head [5]byte
	if _, err := io.ReadFull(we.ctl, head[:]); err != nil || head[0] != 'K' {
		return fmt.Errorf("worker: no sockets from the master (%v)", err)
	}
	n := binary.BigEndian.Uint32(head[1:])
	if n > 1<<24 {
		return fmt.Errorf("worker: socket list of %d bytes", n)
	}
	enc := make([]byte, n)
	if _, err := io.ReadFull(we.ctl, enc); err != nil {
		return fmt.Errorf("worker: socket list: %v", err)
	}
	var keys []string
	if err := json.Unmarshal(enc, &keys); err != nil {
		return fmt.Errorf("worker: socket list: %v", err)
	}
	one := func() (byte, int, error) {
		var b [1]byte
		oob := make([]byte, syscall.CmsgSpace(4))
		nb, noob, _, _, err := we.ctl.ReadMsgUnix(b[:], oob)
		if err != nil || nb != 1 {
			return 0, -1, fmt.Errorf("worker: control socket: %v", err)
		}
		if noob == 0 {
			return b[0], -1, nil
		}
		msgs, err := syscall.ParseSocketControlMessage(oob[:noob])
		if err != nil || len(msgs) != 1 {
			return b[0], -1, fmt.Errorf("worker: control message: %v", err)
		}
		fds, err := syscall.ParseUnixRights(&msgs[0])
		if err != nil || len(fds) != 1 {
			for _, fd := range fds {
				syscall.Close(fd)
			}
			return b[0], -1, fmt.Errorf("worker: descriptors: %v", err)
		}
		return b[0], fds[0], nil
	}
	for _, k := range keys {
		typ, fd, err := one()
		if err != nil || typ != 's' || fd < 0 {
			return fmt.Errorf("worker: socket %s not received (%v)", k, err)
		}
		f := os.NewFile(uintptr(fd), k)
		l, err := net.FileListener(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("worker: socket %s: %v", k, err)
		}
		we.Sockets[k] = l
	}
	typ, fd, err := one()
	if err != nil {
		return err
	}
	if typ == 'T' && fd >= 0 {
		f := os.NewFile(uintptr(fd), "worker-tables")
		tc, err := net.FileConn(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("worker: tables socket: %v", err)
		}
		we.Tables = tc
	}
	return nil
}

// Ready tells the master that the worker serves.
func (we *WorkerEnd) Ready() error {
	_, err := we.ctl.Write([]byte(readyMsg))
	return err
}

// Serve answers the connections the master forwards with api, and its
// requests for stick tables with tables, until the master goes away; then
// it calls gone.
func (we *WorkerEnd) Serve(api func(c net.Conn, level string), tables func(c net.Conn), gone func()) {
	defer gone()
	levels := map[byte]string{'u': "user", 'o': "operator", 'a': "admin"}
	oob := make([]byte, syscall.CmsgSpace(4))
	for {
		var b [1]byte
		n, oobn, _, _, err := we.ctl.ReadMsgUnix(b[:], oob)
		if err != nil || n == 0 {
			return
		}
		msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) != 1 {
			continue
		}
		fds, err := syscall.ParseUnixRights(&msgs[0])
		if err != nil {
			continue
		}
		for i, fd := range fds {
			f := os.NewFile(uintptr(fd), "master-cli")
			c, err := net.FileConn(f)
			f.Close()
			level, ok := levels[b[0]]
			if err != nil || (!ok && b[0] != 't') || i > 0 {
				if c != nil {
					c.Close()
				}
				continue
			}
			if b[0] == 't' {
				go tables(c)
			} else {
				go api(c, level)
			}
		}
	}
}

// startNoNewPrivs forks and execs with PR_SET_NO_NEW_PRIVS set: nothing
// the worker could exec may regain a privilege (a setuid binary, file
// capabilities), whatever it does after its drop. The flag is per thread
// and inherited: set on this (locked) thread, which forks the child, the
// worker's first thread has it, and so has every thread of its runtime.
// In the master itself it changes nothing (it execs only this program).
func startNoNewPrivs(exe string, argv []string, attr *syscall.ProcAttr) (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := noNewPrivs(); err != nil {
		return 0, fmt.Errorf("prctl(PR_SET_NO_NEW_PRIVS): %w", err)
	}
	return syscall.ForkExec(exe, argv, attr)
}
