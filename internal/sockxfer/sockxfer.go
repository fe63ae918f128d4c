// Package sockxfer hands listening sockets from a running process to the
// one replacing it, over a runtime API connection, in HAProxy 2.6's
// "_getsocks" wire format (MG 3, "-x"; "expose-fd listeners"), so that
// Bulwark and HAProxy can take each other's sockets:
//
//	new -> old   "_getsocks\n"
//	old -> new   the number of sockets, a 32-bit integer in host order
//	old -> new   batches of at most MaxBatch sockets, each one message whose
//	             SCM_RIGHTS carry the descriptors and whose bytes are, per
//	             descriptor: namespace length (1 byte), namespace,
//	             interface length (1 byte), interface, 4 zero bytes
//	new -> old   a 32-bit acknowledgement after every batch received
//
// The old process sends nothing at all when the socket lacks "expose-fd
// listeners" or it has no socket to give, as HAProxy does.
package sockxfer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// Command is the runtime API command line that asks for the sockets.
const Command = "_getsocks"

// MaxBatch is how many descriptors one message carries (HAProxy's
// MAX_SEND_FD), below the kernel's SCM_MAX_FD of 253.
const MaxBatch = 252

// maxSockets bounds what a receiver accepts: more than this many
// listening sockets from one process is not a configuration, it is a peer
// to stop reading from.
const maxSockets = 1 << 16

// Info is what the wire says of one socket beside its descriptor.
type Info struct {
	Namespace, Interface string
}

// Send writes fds on c in the wire format; timeout bounds each wait for
// the receiver. The descriptors stay open in the caller.
func Send(c *net.UnixConn, fds []int, timeout time.Duration) error {
	var n [4]byte
	binary.NativeEndian.PutUint32(n[:], uint32(len(fds)))
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write(n[:]); err != nil {
		return fmt.Errorf("sending the number of sockets: %w", err)
	}
	for start := 0; start < len(fds); start += MaxBatch {
		batch := fds[start:min(start+MaxBatch, len(fds))]
		// Bulwark has neither namespaces nor interface binds: both
		// names are empty, then the 4 bytes of former listener options.
		data := make([]byte, 6*len(batch))
		c.SetDeadline(time.Now().Add(timeout))
		if _, _, err := c.WriteMsgUnix(data, syscall.UnixRights(batch...), nil); err != nil {
			return fmt.Errorf("sending sockets: %w", err)
		}
		// HAProxy waits for the acknowledgement of full batches only; the
		// receiver acknowledges every one, and the last is read below.
		if len(batch) == MaxBatch {
			if _, err := readFull(c, n[:]); err != nil {
				return fmt.Errorf("waiting for the receiver's acknowledgement: %w", err)
			}
		}
	}
	return nil
}

// Fetch connects to the unix socket at path, asks for the listening
// sockets and returns them as listeners with the names the sender gave.
// Datagram sockets are closed and skipped: Bulwark listens on streams
// only. timeout bounds each wait.
func Fetch(path string, timeout time.Duration) ([]net.Listener, []Info, error) {
	c, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot connect to the old process socket '%s': %v", path, err)
	}
	defer c.Close()
	uc := c.(*net.UnixConn)
	fds, infos, err := receive(uc, timeout)
	if err != nil {
		return nil, nil, fmt.Errorf("'%s': %v", path, err)
	}
	var ls []net.Listener
	var out []Info
	for i, fd := range fds {
		typ, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TYPE)
		if err != nil || typ != syscall.SOCK_STREAM {
			syscall.Close(fd)
			continue
		}
		f := os.NewFile(uintptr(fd), "received-socket")
		l, err := net.FileListener(f)
		f.Close()
		if err != nil {
			continue
		}
		ls = append(ls, l)
		out = append(out, infos[i])
	}
	return ls, out, nil
}

// receive runs the receiving side on c and returns the descriptors, every
// one of which the caller owns, with what the wire says of each.
func receive(c *net.UnixConn, timeout time.Duration) (fds []int, infos []Info, err error) {
	defer func() {
		if err != nil {
			for _, fd := range fds {
				syscall.Close(fd)
			}
			fds = nil
		}
	}()
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte(Command + "\n")); err != nil {
		return nil, nil, fmt.Errorf("asking for the sockets: %v", err)
	}
	var n [4]byte
	if _, err := readFull(c, n[:]); err != nil {
		return nil, nil, errors.New("no sockets received (is 'expose-fd listeners' set on that stats socket?)")
	}
	want := int(int32(binary.NativeEndian.Uint32(n[:])))
	if want < 0 || want > maxSockets {
		return nil, nil, fmt.Errorf("the old process announces %d sockets", want)
	}
	var data []byte
	buf := make([]byte, MaxBatch*(1+255+1+255+4))
	oob := make([]byte, syscall.CmsgSpace(4*MaxBatch))
	for len(fds) < want {
		c.SetDeadline(time.Now().Add(timeout))
		nb, noob, flags, _, err := c.ReadMsgUnix(buf, oob)
		if nb > 0 || noob > 0 {
			data = append(data, buf[:nb]...)
			msgs, perr := syscall.ParseSocketControlMessage(oob[:noob])
			if perr == nil {
				for i := range msgs {
					got, rerr := syscall.ParseUnixRights(&msgs[i])
					if rerr == nil {
						fds = append(fds, got...)
					}
				}
			}
			var ack [4]byte
			binary.NativeEndian.PutUint32(ack[:], uint32(len(fds)))
			c.Write(ack[:])
		}
		if flags&syscall.MSG_CTRUNC != 0 {
			return fds, nil, errors.New("descriptors were lost in transit (control data truncated)")
		}
		if err != nil || nb == 0 {
			return fds, nil, fmt.Errorf("expected %d sockets, got %d", want, len(fds))
		}
		if len(fds) > want {
			return fds, nil, fmt.Errorf("expected %d sockets, got more (%d)", want, len(fds))
		}
	}
	infos, err = ParseInfo(data, len(fds))
	return fds, infos, err
}

// ParseInfo reads the per-socket records of the wire format: count of
// them, in order, each namespace and interface name then 4 bytes.
func ParseInfo(data []byte, count int) ([]Info, error) {
	infos := make([]Info, 0, count)
	name := func() (string, error) {
		if len(data) < 1 {
			return "", errors.New("inconsistency while transferring sockets (record cut short)")
		}
		l := int(data[0])
		if len(data) < 1+l {
			return "", errors.New("inconsistency while transferring sockets (name cut short)")
		}
		s := string(data[1 : 1+l])
		data = data[1+l:]
		return s, nil
	}
	for i := 0; i < count; i++ {
		ns, err := name()
		if err != nil {
			return nil, err
		}
		ifc, err := name()
		if err != nil {
			return nil, err
		}
		if len(data) < 4 {
			return nil, errors.New("inconsistency while transferring sockets (options cut short)")
		}
		data = data[4:]
		infos = append(infos, Info{Namespace: ns, Interface: ifc})
	}
	return infos, nil
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
