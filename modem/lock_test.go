package modem

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLockPortRefusesASecondHolder(t *testing.T) {
	port := filepath.Join(t.TempDir(), "ttyFAKE0")
	if err := os.WriteFile(port, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	unlock, err := LockPort(port)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockPort(port)
	var inUse *PortInUseError
	if !errors.As(err, &inUse) || !errors.Is(err, ErrPortInUse) || inUse.PID != os.Getpid() {
		t.Fatalf("second lock: %v, want PortInUseError with pid %d", err, os.Getpid())
	}
	if want := "port " + port + " is in use by smsgw (pid "; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q lacks %q", err, want)
	}
	// A symlink to the port (as /dev/serial/by-id gives) shares the lock.
	link := filepath.Join(t.TempDir(), "by-id-link")
	if err := os.Symlink(port, link); err != nil {
		t.Fatal(err)
	}
	if _, err := LockPort(link); !errors.Is(err, ErrPortInUse) {
		t.Errorf("lock through a symlink: %v, want in use", err)
	}
	unlock()
	unlock() // idempotent
	again, err := LockPort(link)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	again()
}

func TestLockPortSeesHoldersInEveryDir(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	const port = "/dev/ttyUSB97"
	// A root gateway locked in a (like /run/lock); a user console can only write b.
	unlock, err := lockPortIn([]string{a}, port)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockPortIn([]string{b, a}, port); !errors.Is(err, ErrPortInUse) {
		t.Errorf("holder in the other dir not seen: %v", err)
	}
	if _, err := lockPortIn([]string{filepath.Join(a, "missing"), a}, port); !errors.Is(err, ErrPortInUse) {
		t.Errorf("fallback dir: %v", err)
	}
	unlock()
	u2, err := lockPortIn([]string{filepath.Join(a, "missing"), b}, port)
	if err != nil {
		t.Fatalf("fallback to a writable dir: %v", err)
	}
	if _, err := os.Stat(filepath.Join(b, "smsgw-ttyUSB97.lock")); err != nil {
		t.Errorf("lock file not in the fallback dir: %v", err)
	}
	u2()
	if _, err := lockPortIn([]string{filepath.Join(a, "missing")}, port); err == nil || errors.Is(err, ErrPortInUse) {
		t.Errorf("no usable dir: %v, want a plain error", err)
	}
}

func TestLockName(t *testing.T) {
	for in, want := range map[string]string{
		"/dev/ttyUSB2":  "smsgw-ttyUSB2.lock",
		"/dev/pts/7":    "smsgw-pts-7.lock",
		"ttyS0":         "smsgw-ttyS0.lock",
		"/dev/../x y":   "smsgw-x-y.lock",
		"/":             "smsgw-port.lock",
		"/dev/tty\x00X": "smsgw-tty-X.lock",
	} {
		if got := lockName(in); got != want {
			t.Errorf("lockName(%q) = %q, want %q", in, got, want)
		}
	}
}
