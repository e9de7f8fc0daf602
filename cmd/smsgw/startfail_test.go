package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/smsgw/smsgw/store"
)

// A gateway that cannot start (here: a database written by a newer smsgw) exits with a
// clear error instead of panicking while it cleans up.
func TestServeFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(context.Background(), filepath.Join(dir, "smsgw.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "smsgw.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	empty := filepath.Join(dir, "smsgw.yaml")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	lookup := func(k string) (string, bool) {
		v, ok := map[string]string{"SMSGW_MODEM_DETECT": "false"}[k]
		return v, ok
	}
	code := run(context.Background(), []string{"serve", "--state-dir", dir, "--listen", "127.0.0.1:0", "--config", empty}, &out, &errb, lookup)
	if code != 1 || !strings.Contains(errb.String(), "newer than this binary") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}
