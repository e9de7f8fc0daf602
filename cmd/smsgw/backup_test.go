package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runOps(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runCmd(context.Background(), args...)
}

// TestBackupAndRestore backs up a running demo gateway, checks that restore refuses
// while it runs, then restores after it stopped.
func TestBackupAndRestore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	url, stop := startDemo(t, dir, "127.0.0.1:0")
	waitReady(t, url)
	if code, _, errs := runOps(t, "send", "--state-dir", dir, "--to", "+12025550199", "--text", "before the backup"); code != 0 {
		t.Fatalf("send: %d %s", code, errs)
	}
	bdir := t.TempDir()
	code, out, errs := runOps(t, "backup", "--state-dir", dir, "--keep", "2", bdir)
	if code != 0 || !strings.Contains(out, "written to") {
		t.Fatalf("backup while running: %d\n%s\n%s", code, out, errs)
	}
	for range 2 {
		// Names have one-second resolution; wait for a new one.
		matches, _ := filepath.Glob(filepath.Join(bdir, "smsgw-*.db"))
		for {
			code, _, errs = runOps(t, "backup", "--state-dir", dir, "--keep", "2", bdir)
			if code == 0 {
				break
			}
			if !strings.Contains(errs, "already exists") {
				t.Fatalf("backup: %d %s", code, errs)
			}
		}
		if now, _ := filepath.Glob(filepath.Join(bdir, "smsgw-*.db")); len(now) > 2 || len(now) < len(matches) {
			t.Fatalf("after --keep 2: %v", now)
		}
	}
	backups, _ := filepath.Glob(filepath.Join(bdir, "smsgw-*.db"))
	if len(backups) != 2 {
		t.Fatalf("--keep 2 left %v", backups)
	}
	file := filepath.Join(t.TempDir(), "one.db")
	if code, _, errs := runOps(t, file, "backup"); code != 2 {
		t.Errorf("unknown command order: %d %s", code, errs)
	}
	if code, out, errs := runOps(t, "backup", file, "--state-dir", dir); code != 0 {
		t.Fatalf("backup with flags after FILE: %d %s %s", code, out, errs)
	}
	if code, _, errs := runOps(t, "send", "--state-dir", dir, "--to", "+12025550199", "--text", "after the backup"); code != 0 {
		t.Fatalf("send: %d %s", code, errs)
	}

	code, _, errs = runOps(t, "restore", "--state-dir", dir, file)
	if code != 1 || !strings.Contains(errs, "stop the gateway first") {
		t.Fatalf("restore while running: %d %s", code, errs)
	}
	if c := stop(); c != 0 {
		t.Fatalf("demo exit %d", c)
	}

	junk := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(junk, bytes.Repeat([]byte("junk"), 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runOps(t, "restore", "--state-dir", dir, junk); code != 1 || !strings.Contains(errs, "integrity") && !strings.Contains(errs, "not a database") {
		t.Errorf("restore of junk: %d %s", code, errs)
	}
	code, out, errs = runOps(t, "restore", "--state-dir", dir, file)
	if code != 0 || !strings.Contains(out, "1 messages") || !strings.Contains(out, "before-restore") {
		t.Fatalf("restore: %d\n%s\n%s", code, out, errs)
	}
	// The restored database is the one the gateway uses next.
	url, stop = startDemo(t, dir, "127.0.0.1:0")
	waitReady(t, url)
	if c := stop(); c != 0 {
		t.Fatalf("demo after restore exit %d", c)
	}
}

func TestBackupRestoreHelp(t *testing.T) {
	for _, c := range []string{"backup", "restore"} {
		code, _, errs := runOps(t, c, "--help")
		if code != 0 || !strings.Contains(errs, "Examples:") || !strings.Contains(errs, "smsgw "+c) {
			t.Errorf("%s --help: %d %s", c, code, errs)
		}
		if code, _, _ := runOps(t, c); code != 2 {
			t.Errorf("%s without FILE: exit %d, want 2", c, code)
		}
	}
}
