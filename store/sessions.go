package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Session is a browser session. IDHash is the SHA-256 (hex) of the cookie value.
type Session struct {
	IDHash     string
	UserID     int64
	CSRF       string
	RemoteIP   string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
}

// CreateSession stores a session.
func (db *DB) CreateSession(ctx context.Context, s Session) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO sessions (id_hash, user_id, csrf, remote_ip, created_at, last_seen_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, s.IDHash, s.UserID, s.CSRF, s.RemoteIP,
		FormatTime(s.CreatedAt), FormatTime(s.LastSeenAt), FormatTime(s.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store: create session: %w", err)
	}
	return nil
}

// SessionUser returns the session with idHash that has not expired at now, and its
// user. Unknown and expired sessions fail with ErrNotFound.
func (db *DB) SessionUser(ctx context.Context, idHash string, now time.Time) (Session, User, error) {
	var s Session
	var created, seen, expires string
	err := db.r.QueryRowContext(ctx, `SELECT id_hash, user_id, csrf, remote_ip, created_at, last_seen_at, expires_at
		FROM sessions WHERE id_hash = ? AND expires_at > ?`, idHash, FormatTime(now)).
		Scan(&s.IDHash, &s.UserID, &s.CSRF, &s.RemoteIP, &created, &seen, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return s, User{}, ErrNotFound
	}
	if err != nil {
		return s, User{}, fmt.Errorf("store: session: %w", err)
	}
	s.CreatedAt, _ = ParseTime(created)
	s.LastSeenAt, _ = ParseTime(seen)
	s.ExpiresAt, _ = ParseTime(expires)
	u, err := scanUser(db.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, s.UserID))
	if errors.Is(err, sql.ErrNoRows) {
		return s, u, ErrNotFound
	}
	if err != nil {
		return s, u, fmt.Errorf("store: session user: %w", err)
	}
	return s, u, nil
}

// TouchSession moves a session's last-seen time and expiry forward.
func (db *DB) TouchSession(ctx context.Context, idHash string, seen, expires time.Time) error {
	_, err := db.w.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id_hash = ?`,
		FormatTime(seen), FormatTime(expires), idHash)
	if err != nil {
		return fmt.Errorf("store: touch session: %w", err)
	}
	return nil
}

// DeleteSession ends a session (logout). An unknown one is not an error.
func (db *DB) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes sessions expired at now and login failures older than
// before, and returns how many sessions went.
func (db *DB) DeleteExpiredSessions(ctx context.Context, now, before time.Time) (int64, error) {
	res, err := db.w.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, FormatTime(now))
	if err != nil {
		return 0, fmt.Errorf("store: expire sessions: %w", err)
	}
	n, _ := res.RowsAffected()
	if _, err := db.w.ExecContext(ctx, `DELETE FROM login_failures WHERE at < ?`, FormatTime(before)); err != nil {
		return n, fmt.Errorf("store: expire login failures: %w", err)
	}
	return n, nil
}

// AddLoginFailure records a failed login under each key ("user:NAME", "ip:ADDR").
func (db *DB) AddLoginFailure(ctx context.Context, at time.Time, keys ...string) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `INSERT INTO login_failures (key, at) VALUES (?, ?)`, k, FormatTime(at)); err != nil {
				return fmt.Errorf("store: login failure: %w", err)
			}
		}
		return nil
	})
}

// LoginFailures counts the failures recorded under key since since.
func (db *DB) LoginFailures(ctx context.Context, key string, since time.Time) (int, error) {
	var n int
	err := db.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM login_failures WHERE key = ? AND at >= ?`, key, FormatTime(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: login failures: %w", err)
	}
	return n, nil
}

// ClearLoginFailures forgets the failures under key (after a successful login).
func (db *DB) ClearLoginFailures(ctx context.Context, key string) error {
	if _, err := db.w.ExecContext(ctx, `DELETE FROM login_failures WHERE key = ?`, key); err != nil {
		return fmt.Errorf("store: clear login failures: %w", err)
	}
	return nil
}
