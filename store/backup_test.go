package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestBackupWhileWriting copies the database while another goroutine keeps writing and
// checks that the copy is a consistent, self-contained file.
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	for i := range 200 {
		if err := db.SetMeta(ctx, fmt.Sprintf("k%d", i), strings.Repeat("x", 500)); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := db.SetMeta(ctx, fmt.Sprintf("w%d", i%50), "during backup"); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	dir := t.TempDir()
	dest := filepath.Join(dir, "copy.db")
	err := db.Backup(ctx, dest)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Backup(ctx, dest); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("second backup to the same file: %v, want already exists", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "copy.db" {
			t.Errorf("left behind %s", e.Name())
		}
	}
	st, err := os.Stat(dest)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", st.Mode().Perm())
	}
	info, err := CheckFile(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := Migrations()
	if info.Version != len(ms) || info.Known != len(ms) {
		t.Errorf("info %+v, want version %d", info, len(ms))
	}
	// Self-contained: the header is not WAL (bytes 18 and 19 are 1, not 2).
	b, err := os.ReadFile(dest)
	if err != nil {
		t.Fatal(err)
	}
	if b[18] != 1 || b[19] != 1 {
		t.Errorf("backup header read/write versions %d/%d, want 1/1 (rollback journal)", b[18], b[19])
	}
	cp, err := Open(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	if v, err := cp.Meta(ctx, "k199"); err != nil || len(v) != 500 {
		t.Errorf("k199 in the copy: %q %v", v, err)
	}
}

func TestCheckFileRejects(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckFile(ctx, garbage); err == nil {
		t.Error("garbage accepted")
	}
	if _, err := CheckFile(ctx, filepath.Join(dir, "missing.db")); err == nil {
		t.Error("missing file accepted")
	}

	empty := filepath.Join(dir, "empty.db")
	e, err := Open(ctx, empty)
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	if _, err := CheckFile(ctx, empty); err == nil || !strings.Contains(err.Error(), "not an smsgw database") {
		t.Errorf("empty SQLite file: %v", err)
	}

	newer := filepath.Join(dir, "newer.db")
	n, err := Open(ctx, newer)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := n.w.ExecContext(ctx, "PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	n.Close()
	if _, err := CheckFile(ctx, newer); !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("newer schema: %v, want ErrSchemaTooNew", err)
	}
}

func TestRestore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	live := filepath.Join(dir, "smsgw.db")
	db, err := Open(ctx, live)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.SetMeta(ctx, "which", "backup"); err != nil {
		t.Fatal(err)
	}
	bak := filepath.Join(dir, "b.db")
	if err := db.Backup(ctx, bak); err != nil {
		t.Fatal(err)
	}
	if err := db.SetMeta(ctx, "which", "after"); err != nil {
		t.Fatal(err)
	}

	// Refused while open, even by this process.
	_, err = Restore(ctx, bak, live)
	var inUse *InUseError
	if !errors.As(err, &inUse) || !errors.Is(err, ErrInUse) {
		t.Fatalf("restore over an open database: %v, want InUseError", err)
	}
	if v, err := db.Meta(ctx, "which"); err != nil || v != "after" {
		t.Fatalf("open database changed by a refused restore: %q %v", v, err)
	}
	db.Close()

	// A bad file changes nothing.
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("junk", 2000)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(ctx, garbage, live); err == nil {
		t.Fatal("garbage restored")
	}

	res, err := Restore(ctx, bak, live)
	if err != nil {
		t.Fatal(err)
	}
	if res.Previous == "" {
		t.Fatal("previous database not kept")
	}
	for _, p := range []string{live, res.Previous} {
		want := map[string]string{live: "backup", res.Previous: "after"}[p]
		d, err := Open(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if v, err := d.Meta(ctx, "which"); err != nil || v != want {
			t.Errorf("%s: which=%q (%v), want %q", filepath.Base(p), v, err, want)
		}
		d.Close()
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left behind %s", e.Name())
		}
	}
}
