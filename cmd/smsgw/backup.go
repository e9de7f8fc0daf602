package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/smsgw/smsgw/store"
)

// cmdBackup writes an online backup of the gateway's database. It is safe while the
// gateway runs.
func cmdBackup(ctx context.Context, e env, args []string) int {
	fs := newFlagSet(e, "backup", "backup [flags] FILE|DIRECTORY", `  smsgw backup /root/smsgw-2026-11-21.db        # while the gateway runs; FILE must not exist
  smsgw backup --keep 7 /var/lib/smsgw/backups   # smsgw-YYYYMMDD-HHMMSS.db inside, newest 7 kept
  smsgw backup --state-dir ./smsgw-demo demo-copy.db

The copy is one consistent snapshot taken with SQLite's online backup API, checked with
PRAGMA quick_check, written to a temporary file and renamed, with mode 0600 (it holds
message bodies and password hashes). Restore it with: smsgw restore FILE
`)
	var cf configFlags
	cf.register(fs)
	keep := fs.Int("keep", 0, "with a DIRECTORY: delete all but the newest N smsgw-*.db files there (0 keeps all)")
	pos, code, stop := parseWithArgs(fs, args)
	if stop {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(e.stderr, "smsgw backup: name one FILE or DIRECTORY (see smsgw backup --help)")
		return 2
	}
	cfg, err := cf.load(e)
	if err != nil {
		fmt.Fprintf(e.stderr, "smsgw: %v\n", err)
		return 1
	}
	src := cfg.DatabasePath()
	if _, err := os.Stat(src); err != nil {
		fmt.Fprintf(e.stderr, "smsgw backup: no database to back up: %v\n", err)
		return 1
	}
	dest, dir := pos[0], ""
	if st, err := os.Stat(dest); err == nil && st.IsDir() {
		dir = dest
		dest = filepath.Join(dir, "smsgw-"+time.Now().Format("20060102-150405")+".db")
	} else if *keep > 0 {
		fmt.Fprintln(e.stderr, "smsgw backup: --keep needs a DIRECTORY")
		return 2
	}
	owner := fileOwner(src)
	db, err := store.Open(ctx, src)
	if err != nil {
		fmt.Fprintf(e.stderr, "smsgw: %v\n", err)
		return 1
	}
	start := time.Now()
	err = db.Backup(ctx, dest)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	// Run as root while the gateway is stopped, opening the database may have created
	// its -wal/-shm files; give them back to the gateway's user.
	chownLike(owner, src+"-wal", src+"-shm")
	if err != nil {
		fmt.Fprintf(e.stderr, "smsgw backup: %v\n", err)
		return 1
	}
	size := int64(0)
	if st, err := os.Stat(dest); err == nil {
		size = st.Size()
	}
	fmt.Fprintf(e.stdout, "backup of %s written to %s (%s, %s)\n", src, dest, humanBytes(size), time.Since(start).Round(time.Millisecond))
	if dir != "" && *keep > 0 {
		removed, err := pruneBackups(dir, *keep)
		for _, r := range removed {
			fmt.Fprintf(e.stdout, "removed old backup %s\n", r)
		}
		if err != nil {
			fmt.Fprintf(e.stderr, "smsgw backup: prune: %v\n", err)
			return 1
		}
	}
	return 0
}

// cmdRestore replaces the gateway's database with a backup. It refuses while the
// gateway (or any process) has the database open.
func cmdRestore(ctx context.Context, e env, args []string) int {
	fs := newFlagSet(e, "restore", "restore [flags] FILE", `  systemctl stop smsgw
  smsgw restore /var/lib/smsgw/backups/smsgw-20261121-031500.db
  systemctl start smsgw

  smsgw restore --state-dir ./smsgw-demo demo-copy.db

FILE is checked first (PRAGMA integrity_check, an smsgw database, a schema no newer than
this binary's; an older one is migrated when the gateway starts). The current database
is kept beside it as smsgw.db.before-restore-TIMESTAMP, and the new one is put in place
with one atomic rename. Run as root, the restored file is given to the owner of the
state directory (the smsgw user).
`)
	var cf configFlags
	cf.register(fs)
	pos, code, stop := parseWithArgs(fs, args)
	if stop {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(e.stderr, "smsgw restore: name one backup FILE (see smsgw restore --help)")
		return 2
	}
	cfg, err := cf.load(e)
	if err != nil {
		fmt.Fprintf(e.stderr, "smsgw: %v\n", err)
		return 1
	}
	path := cfg.DatabasePath()
	res, err := store.Restore(ctx, pos[0], path)
	if err != nil {
		var inUse *store.InUseError
		if errors.As(err, &inUse) {
			who := "a process"
			if inUse.PID > 0 {
				who = fmt.Sprintf("process %d", inUse.PID)
			}
			fmt.Fprintf(e.stderr, "smsgw restore: %s has %s open; stop the gateway first (systemctl stop smsgw) and run restore again\n", who, path)
			return 1
		}
		fmt.Fprintf(e.stderr, "smsgw restore: %v\n", err)
		return 1
	}
	chownLike(fileOwner(filepath.Dir(path)), path, path+"-shm")
	fmt.Fprintf(e.stdout, "restored %s to %s (schema version %d of %d, %d messages)\n", pos[0], path, res.Version, res.Known, res.Messages)
	if res.Previous != "" {
		fmt.Fprintf(e.stdout, "the database it replaced is kept as %s\n", res.Previous)
	}
	fmt.Fprintln(e.stdout, "start the gateway again: systemctl start smsgw")
	return 0
}

// parseWithArgs parses flags that may come before or after the positional arguments.
func parseWithArgs(fs *flag.FlagSet, args []string) (pos []string, code int, stop bool) {
	for {
		if code, stop := parseFlags(fs, args); stop {
			return nil, code, true
		}
		if fs.NArg() == 0 {
			return pos, 0, false
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

type owner struct {
	uid, gid int
	ok       bool
}

func fileOwner(path string) owner {
	st, err := os.Stat(path)
	if err != nil {
		return owner{}
	}
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return owner{uid: int(s.Uid), gid: int(s.Gid), ok: true}
	}
	return owner{}
}

// chownLike gives files that exist to o when running as root; otherwise it does nothing.
func chownLike(o owner, files ...string) {
	if !o.ok || os.Geteuid() != 0 {
		return
	}
	for _, f := range files {
		if _, err := os.Lstat(f); err == nil {
			_ = os.Lchown(f, o.uid, o.gid)
		}
	}
}

// pruneBackups deletes all but the newest keep smsgw-*.db files in dir (their names
// sort by time).
func pruneBackups(dir string, keep int) ([]string, error) {
	matches, err := filepath.Glob(filepath.Join(dir, "smsgw-*.db"))
	if err != nil {
		return nil, err
	}
	var files []string
	for _, m := range matches {
		if st, err := os.Lstat(m); err == nil && st.Mode().IsRegular() {
			files = append(files, m)
		}
	}
	sort.Strings(files)
	var removed []string
	var errs []error
	for len(files) > keep {
		if err := os.Remove(files[0]); err != nil {
			errs = append(errs, err)
		} else {
			removed = append(removed, files[0])
		}
		files = files[1:]
	}
	return removed, errors.Join(errs...)
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), strings.Split("KMGTPE", "")[exp][0])
}
