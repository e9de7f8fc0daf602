package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func openTemp(t *testing.T) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "smsgw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openMigrated returns a migrated database in a temporary directory.
func openMigrated(t *testing.T) *DB {
	t.Helper()
	db := openTemp(t)
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestMigrationsAreSequential(t *testing.T) {
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) < 2 {
		t.Fatalf("want at least 2 migrations, have %d", len(ms))
	}
}

func TestMigrateFreshAndIdempotent(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	ms, _ := Migrations()
	v, err := db.Version(ctx)
	if err != nil || v != len(ms) {
		t.Fatalf("version %d (%v), want %d", v, err, len(ms))
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if err := db.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestSettingsAreApplied(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	cases := []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"synchronous", "2"}, // FULL
		{"busy_timeout", "10000"},
	}
	for _, tc := range cases {
		t.Run(tc.pragma, func(t *testing.T) {
			var got string
			if err := db.w.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("PRAGMA %s = %s, want %s", tc.pragma, got, tc.want)
			}
		})
	}
	// Readers are read-only.
	if _, err := db.r.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES ('x', 'y')"); err == nil {
		t.Fatal("reader pool accepted a write")
	}
}

// An installation created by an older binary (schema version 1, with data) upgrades in
// place and keeps its data.
func TestMigrateFromOlderSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := Migrations()
	if err := old.migrateTo(ctx, ms, 1); err != nil {
		t.Fatal(err)
	}
	if err := old.SetMeta(ctx, "kept", "yes"); err != nil {
		t.Fatal(err)
	}
	if _, err := old.w.ExecContext(ctx, "SELECT 1 FROM users"); err == nil {
		t.Fatal("users table exists at version 1")
	}
	old.Close()

	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if v, _ := db.Version(ctx); v != len(ms) {
		t.Fatalf("version %d, want %d", v, len(ms))
	}
	if got, err := db.Meta(ctx, "kept"); err != nil || got != "yes" {
		t.Fatalf("data lost in upgrade: %q, %v", got, err)
	}
	if _, err := db.w.ExecContext(ctx, "INSERT INTO users (username, role, password_hash) VALUES ('a', 'admin', 'x')"); err != nil {
		t.Fatalf("upgraded schema lacks users: %v", err)
	}
}

func TestRefuseNewerSchema(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	if _, err := db.w.ExecContext(ctx, "PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	err := db.Migrate(ctx)
	if !errors.Is(err, ErrSchemaTooNew) || !strings.Contains(err.Error(), "999") {
		t.Fatalf("got %v, want ErrSchemaTooNew naming version 999", err)
	}
	if v, _ := db.Version(ctx); v != 999 {
		t.Fatalf("refused migration still changed the version to %d", v)
	}
}

// A failing migration leaves the database at the previous version with nothing half-done.
func TestFailedMigrationRollsBack(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	bad := []Migration{
		{Version: 1, Name: "0001_ok.sql", SQL: "CREATE TABLE a (x INTEGER);"},
		{Version: 2, Name: "0002_bad.sql", SQL: "CREATE TABLE b (x INTEGER); THIS IS NOT SQL;"},
	}
	err := db.migrateTo(ctx, bad, 2)
	if err == nil || !strings.Contains(err.Error(), "0002_bad.sql") {
		t.Fatalf("got %v, want an error naming the migration", err)
	}
	if v, _ := db.Version(ctx); v != 1 {
		t.Fatalf("version %d after failed migration, want 1", v)
	}
	if _, err := db.w.ExecContext(ctx, "SELECT 1 FROM b"); err == nil {
		t.Fatal("table from the failed migration exists")
	}
}

func TestMetaAndInstanceID(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Meta(ctx, "absent"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
	for _, v := range []string{"1", "2"} {
		if err := db.SetMeta(ctx, "k", v); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := db.Meta(ctx, "k"); got != "2" {
		t.Fatalf("meta k = %q, want 2", got)
	}
	id, err := db.InstanceID(ctx)
	if err != nil || len(id) != 16 {
		t.Fatalf("instance id %q, %v", id, err)
	}
	db.Close()
	db2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if id2, _ := db2.InstanceID(ctx); id2 != id {
		t.Fatalf("instance id changed across reopen: %s → %s", id, id2)
	}
}
