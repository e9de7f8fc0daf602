package store

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// In WAL mode every SQLite connection holds a shared fcntl lock on one byte of the
// database's -shm file (the "dead man switch", byte 128 in SQLite's unix VFS) for as long
// as it is open. An exclusive lock on that byte is therefore granted only when no
// connection anywhere has the database open, and while it is held, a new connection
// fails with SQLITE_BUSY instead of opening the file.
const (
	shmDMSOffset = 128
	fOFDSetLK    = 37 // F_OFD_SETLK, the same on every Linux architecture
)

// lockExclusive takes that lock for path. Open-file-description locks conflict with
// SQLite's process locks even inside this process, so a connection opened by this very
// process is seen too.
func lockExclusive(path string) (unlock func(), err error) {
	shm := path + "-shm"
	f, err := os.OpenFile(shm, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("store: lock %s: %w", shm, err)
	}
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: shmDMSOffset, Len: 1}
	if err := syscall.FcntlFlock(f.Fd(), fOFDSetLK, &lk); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) {
			probe := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: shmDMSOffset, Len: 1}
			pid := 0
			if syscall.FcntlFlock(f.Fd(), syscall.F_GETLK, &probe) == nil && probe.Type != syscall.F_UNLCK && probe.Pid > 0 {
				pid = int(probe.Pid)
			}
			return nil, &InUseError{Path: path, PID: pid}
		}
		return nil, fmt.Errorf("store: lock %s: %w", shm, err)
	}
	// The index in -shm belongs to the database being replaced; the next opener finds
	// the lock free and rebuilds it, and an empty file makes that certain.
	_ = f.Truncate(0)
	return func() { f.Close() }, nil
}
