package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// `smsgw sim` prints one pty path per modem and the control URL, keeps stable links, and
// the ptys answer AT like a modem.
func TestSimCommand(t *testing.T) {
	links := filepath.Join(t.TempDir(), "links")
	out, errb := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"sim", "--modems", "2", "--link-dir", links, "--control", "127.0.0.1:0"}, out, errb, noEnv)
	}()
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("sim exited %d: %s", code, errb.String())
			}
		case <-time.After(10 * time.Second):
			t.Error("sim did not stop")
		}
	}()
	urlRE := regexp.MustCompile(`(?m)^(http://127\.0\.0\.1:\d+)\s*$`)
	deadline := time.Now().Add(15 * time.Second)
	for urlRE.FindStringSubmatch(out.String()) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("no control URL printed:\n%s\n%s", out.String(), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var paths []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "/dev/pts/") {
			paths = append(paths, strings.TrimSpace(l))
		}
	}
	if len(paths) != 2 {
		t.Fatalf("want 2 pty paths, got %q", out.String())
	}
	for i, p := range paths {
		link, err := os.Readlink(filepath.Join(links, "modem"+string(rune('0'+i))))
		if err != nil || link != p {
			t.Errorf("link modem%d → %q (%v), want %s", i, link, err, p)
		}
	}
	// The first pty behaves like a modem.
	f, err := os.OpenFile(paths[0], os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw(t, f)
	if _, err := f.WriteString("ATE0\r"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("AT+CGMI\r"); err != nil {
		t.Fatal(err)
	}
	got := readOKs(t, f, 2, 3*time.Second)
	if !strings.Contains(got, "OK") {
		t.Fatalf("no OK from the virtual modem: %q", got)
	}
	var modems []struct{ Name string }
	getJSON(t, urlRE.FindStringSubmatch(out.String())[1]+"/api/modems", &modems)
	if len(modems) != 2 {
		t.Fatalf("control API lists %d modems", len(modems))
	}
}

// raw puts a pty into raw mode so CR/LF pass unchanged.
func raw(t *testing.T, f *os.File) {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	tio.Oflag &^= unix.OPOST
	tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	tio.Cflag |= unix.CS8
	tio.Cc[unix.VMIN], tio.Cc[unix.VTIME] = 0, 1
	if err := unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
}

// readOKs reads until n OKs have arrived or d passes.
func readOKs(t *testing.T, f *os.File, n int, d time.Duration) string {
	t.Helper()
	var b strings.Builder
	buf := make([]byte, 256)
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && strings.Count(b.String(), "OK") < n {
		k, _ := f.Read(buf)
		b.Write(buf[:k])
	}
	return b.String()
}
