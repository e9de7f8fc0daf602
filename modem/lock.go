package modem

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ErrPortInUse is matched (with errors.Is) by every *PortInUseError.
var ErrPortInUse = errors.New("modem: port in use")

// PortInUseError says that another process (or another session of this one) holds the
// advisory lock of a serial port.
type PortInUseError struct {
	Port string // the path as given
	// PID is the holder's process id as written in the lock file, or 0 when unknown
	// (the holder could not write it, or has only just taken the lock).
	PID      int
	LockFile string
}

func (e *PortInUseError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("port %s is in use by smsgw (pid %d)", e.Port, e.PID)
	}
	return fmt.Sprintf("port %s is in use by another smsgw process (lock file %s)", e.Port, e.LockFile)
}

// Unwrap returns ErrPortInUse.
func (e *PortInUseError) Unwrap() error { return ErrPortInUse }

// lockDirs are where port lock files live, in order of preference: the FHS lock
// directory, then the temporary directory for users who cannot write there.
func lockDirs() []string { return []string{"/run/lock", os.TempDir()} }

// LockPort takes the advisory lock of the serial port at path, so that only one smsgw
// session, console or probe talks to a modem at a time. The lock is an flock(2) on
// /run/lock/smsgw-<name>.lock (os.TempDir() when /run/lock is not writable), where
// <name> is the port's device path below /dev after symlinks are resolved (ttyUSB2,
// pts-7), so /dev/serial/by-id/… and /dev/ttyUSB2 share one lock. The file holds the
// holder's PID. The lock is released by unlock, or by the kernel when the process
// ends, so a crash never leaves a port locked.
//
// A port that is already locked (by another process, or by an earlier LockPort in this
// one) gives a *PortInUseError naming the holder's PID. Other errors mean the lock
// file could not be created at all.
func LockPort(path string) (unlock func(), err error) {
	return lockPortIn(lockDirs(), path)
}

// lockName is the lock file name for a port path.
func lockName(path string) string {
	p := path
	if r, err := filepath.EvalSymlinks(path); err == nil {
		p = r
	}
	p = filepath.Clean(p)
	if rest, ok := strings.CutPrefix(p, "/dev/"); ok {
		p = rest
	}
	p = strings.Trim(p, "/")
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '-'
	}, p)
	if name == "" || name == "." || name == ".." {
		name = "port"
	}
	return "smsgw-" + name + ".lock"
}

// lockPortIn locks the file in the first usable dir and checks every other dir for a
// holder, so a root gateway locking in /run/lock and an unprivileged console locking
// in /tmp still see each other. Each side locks before it checks, so two racing
// lockers cannot both miss the other (at worst both fail, which is safe).
func lockPortIn(dirs []string, path string) (func(), error) {
	name := lockName(path)
	var f *os.File
	var lockFile string
	var errs []error
	mine := -1
	for i, dir := range dirs {
		file := filepath.Join(dir, name)
		g, err := openLockFile(file)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := syscall.Flock(int(g.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			_ = g.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, &PortInUseError{Port: path, PID: readPID(file), LockFile: file}
			}
			errs = append(errs, fmt.Errorf("lock %s: %w", file, err))
			continue
		}
		f, lockFile, mine = g, file, i
		break
	}
	if f == nil {
		return nil, fmt.Errorf("modem: cannot lock port %s: %w", path, errors.Join(errs...))
	}
	for i, dir := range dirs {
		if i == mine {
			continue
		}
		other := filepath.Join(dir, name)
		if same(other, lockFile) {
			continue
		}
		if held, pid := heldBy(other); held {
			_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
			_ = f.Close()
			return nil, &PortInUseError{Port: path, PID: pid, LockFile: other}
		}
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	done := false
	return func() {
		if done {
			return
		}
		done = true
		// The file stays: removing a flock file races with a process that opened it
		// and is about to lock it. It only says who held the port last.
		_ = f.Truncate(0)
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}

// openLockFile opens (creating) a lock file for writing, or read-only when it exists
// but belongs to another user (flock works on either).
func openLockFile(file string) (*os.File, error) {
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0o644)
	if errors.Is(err, fs.ErrPermission) {
		if g, rerr := os.OpenFile(file, os.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0); rerr == nil {
			return g, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	return f, nil
}

// heldBy tells whether someone holds the lock on file, without creating it.
func heldBy(file string) (bool, int) {
	f, err := os.OpenFile(file, os.O_RDONLY|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return false, 0
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK), readPID(file)
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false, 0
}

// readPID reads the holder's PID from a lock file; 0 when absent or not a number.
func readPID(file string) int {
	f, err := os.Open(file)
	if err != nil {
		return 0
	}
	defer f.Close()
	b := make([]byte, 32)
	n, _ := f.Read(b)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// same tells whether two paths name the same file (e.g. /var/lock and /run/lock).
func same(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}
