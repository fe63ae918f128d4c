package lifecycle

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
)

// daemonEnv marks the re-executed child of Daemonize. Go cannot fork a
// running runtime, so the daemon is the same program started again,
// detached, with this variable set.
const daemonEnv = "BULWARK_DAEMON_CHILD"

// readyFD is where the child finds the write end of the readiness pipe
// (the first of exec.Cmd.ExtraFiles).
const readyFD = 3

const readyMsg = "ready\n"

// Daemonize starts this program again (same arguments) in a new session,
// without a terminal, and waits until it is serving or has failed. Until
// then the child writes to the caller's stdout and stderr, so a startup
// error reaches the terminal; once ready it detaches from them. The
// result is the exit status for the caller: 0 when the daemon is serving.
func Daemonize(args []string, stderr io.Writer) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "[ALERT]    (bulwark) : daemon: cannot find this program: %v\n", err)
		return 1
	}
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintf(stderr, "[ALERT]    (bulwark) : daemon: %v\n", err)
		return 1
	}
	defer r.Close()
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), daemonEnv+"=1")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		fmt.Fprintf(stderr, "[ALERT]    (bulwark) : daemon: %v\n", err)
		return 1
	}
	w.Close()
	msg, _ := io.ReadAll(r)
	if bytes.Equal(msg, []byte(readyMsg)) {
		return 0
	}
	// The child closed the pipe without being ready: it is exiting, and
	// has said why on the terminal.
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() > 0 {
		return ee.ExitCode()
	}
	fmt.Fprintf(stderr, "[ALERT]    (bulwark) : daemon: the background process stopped before it was ready (%v)\n", err)
	return 1
}

// Daemon is the child side of Daemonize.
type Daemon struct {
	ready *os.File
	null  *os.File
}

// DaemonChild reports whether this process is the child of Daemonize.
// It opens /dev/null now, before any chroot hides it.
func DaemonChild() (*Daemon, bool, error) {
	if os.Getenv(daemonEnv) != "1" {
		return nil, false, nil
	}
	os.Unsetenv(daemonEnv)
	var st syscall.Stat_t
	if err := syscall.Fstat(readyFD, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
		return nil, true, fmt.Errorf("daemon: %s is set but file descriptor %d is not the readiness pipe", daemonEnv, readyFD)
	}
	syscall.CloseOnExec(readyFD)
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return nil, true, fmt.Errorf("daemon: %w", err)
	}
	return &Daemon{ready: os.NewFile(readyFD, "daemon-ready"), null: null}, true, nil
}

// Ready detaches standard input, output and error (to /dev/null) and
// tells the waiting parent that the daemon serves.
func (d *Daemon) Ready() error {
	for fd := 0; fd <= 2; fd++ {
		if err := dupOnto(int(d.null.Fd()), fd); err != nil {
			return fmt.Errorf("daemon: detach fd %d: %w", fd, err)
		}
	}
	d.null.Close()
	_, err := d.ready.WriteString(readyMsg)
	d.ready.Close()
	return err
}
