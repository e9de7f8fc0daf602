package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// ErrInUse means a process (a running gateway, or a command such as smsgw send) has the
// database open, so it must not be replaced.
var ErrInUse = errors.New("store: database is in use")

// InUseError names the process that holds the database open, when it can be known.
type InUseError struct {
	Path string
	PID  int // 0 when unknown (for instance a lock held by this process)
}

func (e *InUseError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("store: %s is open in process %d (stop the gateway first: systemctl stop smsgw)", e.Path, e.PID)
	}
	return fmt.Sprintf("store: %s is open in another connection (stop the gateway first: systemctl stop smsgw)", e.Path)
}

// Unwrap returns ErrInUse.
func (e *InUseError) Unwrap() error { return ErrInUse }

// Backup writes a consistent copy of the whole database to dest with SQLite's online
// backup API. It is safe while the gateway runs: the copy is taken inside one read
// transaction, which in WAL mode blocks no writer. The copy is written to a temporary
// file beside dest, switched to a self-contained rollback-journal file, checked with
// PRAGMA quick_check, synced and only then renamed to dest, so dest never holds a
// partial copy. dest must not exist. The file is created with mode 0600: it holds
// message bodies and password hashes.
func (db *DB) Backup(ctx context.Context, dest string) (err error) {
	if _, err := os.Lstat(dest); err == nil {
		return fmt.Errorf("store: backup: %s already exists", dest)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("store: backup: %w", err)
	}
	tmp := filepath.Join(filepath.Dir(dest), "."+filepath.Base(dest)+".tmp-"+strconv.Itoa(os.Getpid()))
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	f.Close()
	defer func() {
		if err != nil {
			os.Remove(tmp)
			os.Remove(tmp + "-journal")
		}
	}()
	if err := db.backupTo(ctx, tmp); err != nil {
		return err
	}
	if err := syncFile(tmp); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	if err := os.Rename(tmp, dest); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	if err := syncDir(filepath.Dir(dest)); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	return nil
}

func (db *DB) backupTo(ctx context.Context, tmp string) error {
	dst, err := sql.Open("sqlite3", "file:"+url.PathEscape(tmp)+"?_busy_timeout=10000")
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	defer dst.Close()
	dc, err := dst.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	defer dc.Close()
	// The readers are enough: the backup only reads, and the writer stays free for the
	// gateway when this runs in-process.
	sc, err := db.r.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	defer sc.Close()
	err = dc.Raw(func(d any) error {
		return sc.Raw(func(s any) error {
			dconn, ok1 := d.(*sqlite3.SQLiteConn)
			sconn, ok2 := s.(*sqlite3.SQLiteConn)
			if !ok1 || !ok2 {
				return errors.New("unexpected driver connection type")
			}
			b, err := dconn.Backup("main", sconn, "main")
			if err != nil {
				return err
			}
			// One step copies every page under one read transaction, so a write by the
			// running gateway cannot restart the copy.
			if _, err := b.Step(-1); err != nil {
				_ = b.Finish()
				return err
			}
			return b.Finish()
		})
	})
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	// The copied header says WAL; make the file self-contained.
	var mode string
	if err := dc.QueryRowContext(ctx, "PRAGMA journal_mode=DELETE").Scan(&mode); err != nil {
		return fmt.Errorf("store: backup: journal mode: %w", err)
	}
	if err := quickCheck(ctx, dc); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	return nil
}

func quickCheck(ctx context.Context, c *sql.Conn) error {
	return checkRows(ctx, c, "PRAGMA quick_check")
}

func checkRows(ctx context.Context, c *sql.Conn, pragma string) error {
	rows, err := c.QueryContext(ctx, pragma)
	if err != nil {
		return fmt.Errorf("%s: %w", pragma, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return fmt.Errorf("%s: %w", pragma, err)
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", pragma, err)
	}
	if len(problems) > 0 {
		if len(problems) > 5 {
			problems = append(problems[:5], fmt.Sprintf("and %d more", len(problems)-5))
		}
		return fmt.Errorf("%s failed: %v", pragma, problems)
	}
	return nil
}

// BackupInfo describes a database file checked by CheckFile.
type BackupInfo struct {
	Version  int // schema version of the file
	Known    int // newest schema version this binary knows
	Messages int64
}

// CheckFile validates a database file before it is restored: it must be an SQLite
// database that passes PRAGMA integrity_check, be an smsgw database, and have a schema
// no newer than this binary's (an older one is migrated at the next start). It opens the
// file read-write, so call it on a copy.
func CheckFile(ctx context.Context, path string) (BackupInfo, error) {
	var info BackupInfo
	ms, err := Migrations()
	if err != nil {
		return info, err
	}
	info.Known = len(ms)
	if _, err := os.Stat(path); err != nil {
		return info, fmt.Errorf("store: check %s: %w", path, err)
	}
	db, err := sql.Open("sqlite3", "file:"+url.PathEscape(path)+"?_busy_timeout=10000")
	if err != nil {
		return info, fmt.Errorf("store: check %s: %w", path, err)
	}
	defer db.Close()
	c, err := db.Conn(ctx)
	if err != nil {
		return info, fmt.Errorf("store: check %s: %w", path, err)
	}
	defer c.Close()
	if err := checkRows(ctx, c, "PRAGMA integrity_check"); err != nil {
		return info, fmt.Errorf("store: check %s: not a usable SQLite database: %w", path, err)
	}
	if err := c.QueryRowContext(ctx, "PRAGMA user_version").Scan(&info.Version); err != nil {
		return info, fmt.Errorf("store: check %s: %w", path, err)
	}
	var n int
	if err := c.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('meta', 'messages')").Scan(&n); err != nil {
		return info, fmt.Errorf("store: check %s: %w", path, err)
	}
	if info.Version < 1 || n == 0 {
		return info, fmt.Errorf("store: check %s: not an smsgw database (schema version %d)", path, info.Version)
	}
	if info.Version > info.Known {
		return info, fmt.Errorf("%w: %s is at version %d, this binary knows %d; restore it with the newer smsgw",
			ErrSchemaTooNew, path, info.Version, info.Known)
	}
	if info.Version >= 3 {
		if err := c.QueryRowContext(ctx, "SELECT count(*) FROM messages").Scan(&info.Messages); err != nil {
			return info, fmt.Errorf("store: check %s: %w", path, err)
		}
	}
	return info, nil
}

// RestoreResult says what Restore did.
type RestoreResult struct {
	BackupInfo
	// Previous is where the database that was replaced now lives ("" if there was none).
	Previous string
}

// Restore replaces the database at path with a copy of the backup file src. It refuses
// while any process has path open (it takes the lock SQLite's WAL mode uses to detect
// other connections, and holds it until the swap is done, so a gateway starting
// meanwhile fails to open the file and is restarted by systemd). src is copied beside
// path and validated with CheckFile before anything is touched; the database it
// replaces is renamed to path.before-restore-TIMESTAMP (with its -wal file), never
// deleted. The new file appears under path with one atomic rename.
func Restore(ctx context.Context, src, path string) (res RestoreResult, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return res, fmt.Errorf("store: restore: %w", err)
	}
	unlock, err := lockExclusive(path)
	if err != nil {
		return res, err
	}
	defer unlock()

	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".restore-"+strconv.Itoa(os.Getpid()))
	defer func() {
		if err != nil {
			os.Remove(tmp)
			os.Remove(tmp + "-journal")
		}
	}()
	if err := copyFile(src, tmp); err != nil {
		return res, fmt.Errorf("store: restore: %w", err)
	}
	if res.BackupInfo, err = CheckFile(ctx, tmp); err != nil {
		return res, err
	}
	if err := syncFile(tmp); err != nil {
		return res, fmt.Errorf("store: restore: %w", err)
	}
	if _, err := os.Stat(path); err == nil {
		res.Previous = path + ".before-restore-" + time.Now().UTC().Format("20060102T150405Z")
		if err := os.Rename(path, res.Previous); err != nil {
			return res, fmt.Errorf("store: restore: keep the current database: %w", err)
		}
		if err := os.Rename(path+"-wal", res.Previous+"-wal"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return res, fmt.Errorf("store: restore: keep the current database's WAL: %w", err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return res, fmt.Errorf("store: restore: %w", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return res, fmt.Errorf("store: restore: %w", err)
	}
	return res, nil
}

func copyFile(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	_, err = io.Copy(out, in)
	return err
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
