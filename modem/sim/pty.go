package sim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// ptyPort is one pseudo-terminal: the modem speaks on the master, clients
// open path (the slave). The modem keeps its own slave descriptor open so
// that the master does not see EIO between two clients.
type ptyPort struct {
	master *ptyMaster
	slave  *os.File
	path   string
}

// ptyMaster is the master side with a write deadline: data for a client
// that is not reading is dropped after a while, as on a real port nobody has
// open, instead of blocking the modem.
type ptyMaster struct {
	f     *os.File
	slave *os.File
	once  sync.Once
}

func (p *ptyMaster) Read(b []byte) (int, error) { return p.f.Read(b) }

func (p *ptyMaster) Write(b []byte) (int, error) {
	_ = p.f.SetWriteDeadline(time.Now().Add(2 * time.Second))
	n, err := p.f.Write(b)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// Nobody reads: drop what is queued for the client.
		_ = unix.IoctlSetInt(int(p.slave.Fd()), unix.TCFLSH, unix.TCIFLUSH)
		return len(b), nil
	}
	return n, err
}

func (p *ptyMaster) Close() error {
	var err error
	p.once.Do(func() { err = p.f.Close() })
	return err
}

// openPTY opens a new pseudo-terminal whose path differs from avoid.
func openPTY(avoid string) (*ptyPort, error) {
	var spare []*os.File
	defer func() {
		for _, f := range spare {
			_ = f.Close()
		}
	}()
	for range 8 {
		master, slave, err := pty.Open()
		if err != nil {
			return nil, fmt.Errorf("sim: open pty: %w", err)
		}
		if slave.Name() == avoid {
			// Keep it open until we have another number.
			spare = append(spare, slave, master)
			continue
		}
		if err := makeRaw(slave); err != nil {
			_ = master.Close()
			_ = slave.Close()
			return nil, err
		}
		_ = os.Chmod(slave.Name(), 0o666)
		pm, err := pollable(master)
		if err != nil {
			_ = slave.Close()
			return nil, err
		}
		return &ptyPort{master: &ptyMaster{f: pm, slave: slave}, slave: slave, path: slave.Name()}, nil
	}
	return nil, fmt.Errorf("sim: open pty: always got %s", avoid)
}

// pollable returns a non-blocking copy of f that uses the runtime poller,
// so that deadlines work and Close interrupts a pending Read; f is closed.
func pollable(f *os.File) (*os.File, error) {
	defer f.Close()
	sc, err := f.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("sim: pty: %w", err)
	}
	var fd int
	var derr error
	if err := sc.Control(func(raw uintptr) { fd, derr = unix.Dup(int(raw)) }); err != nil {
		return nil, fmt.Errorf("sim: pty: %w", err)
	}
	if derr != nil {
		return nil, fmt.Errorf("sim: pty dup: %w", derr)
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return nil, fmt.Errorf("sim: pty nonblock: %w", err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// makeRaw puts the slave side into raw mode, so that nothing the modem
// writes is echoed back by the line discipline before a client configures
// the port.
func makeRaw(f *os.File) error {
	fd := int(f.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return fmt.Errorf("sim: get termios: %w", err)
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		return fmt.Errorf("sim: set termios: %w", err)
	}
	return nil
}

func (p *ptyPort) close() {
	_ = p.master.Close()
	_ = p.slave.Close()
}

// link points the symlink at the pty, atomically.
func (p *ptyPort) link(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("sim: link dir: %w", err)
	}
	tmp := path + ".new"
	_ = os.Remove(tmp)
	if err := os.Symlink(p.path, tmp); err != nil {
		return fmt.Errorf("sim: symlink: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("sim: symlink: %w", err)
	}
	return nil
}

// removeLink removes the symlink if it still points at target.
func removeLink(path, target string) {
	if cur, err := os.Readlink(path); err == nil && cur == target {
		_ = os.Remove(path)
	}
}
