package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// APIToken is an API token as stored: never the plaintext, only its SHA-256 (which is
// not encoded to JSON) and a short prefix for recognising it.
type APIToken struct {
	ID         int64     `json:"id"`
	UserID     int64     `json:"user_id"`
	Name       string    `json:"name"`
	Prefix     string    `json:"prefix"`
	Scopes     []string  `json:"scopes"`
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at"`   // zero: never
	LastUsedAt time.Time `json:"last_used_at"` // zero: never used
	RevokedAt  time.Time `json:"revoked_at"`   // zero: active
	Hash       string    `json:"-"`
}

// Active reports whether the token may be used at now.
func (t APIToken) Active(now time.Time) bool {
	return t.RevokedAt.IsZero() && (t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt))
}

const tokenCols = `id, user_id, name, prefix, token_hash, scopes, created_at, expires_at, last_used_at, revoked_at`

func scanToken(row interface{ Scan(...any) error }) (APIToken, error) {
	var t APIToken
	var scopes, created string
	var expires, used, revoked sql.NullString
	if err := row.Scan(&t.ID, &t.UserID, &t.Name, &t.Prefix, &t.Hash, &scopes, &created, &expires, &used, &revoked); err != nil {
		return t, err
	}
	t.Scopes = strings.Fields(scopes)
	var errs [4]error
	t.CreatedAt, errs[0] = ParseTime(created)
	t.ExpiresAt, errs[1] = scanTime(expires)
	t.LastUsedAt, errs[2] = scanTime(used)
	t.RevokedAt, errs[3] = scanTime(revoked)
	return t, errors.Join(errs[:]...)
}

// CreateToken stores a token (Hash, Prefix, Scopes, Name, UserID, CreatedAt, ExpiresAt)
// and returns it with its id.
func (db *DB) CreateToken(ctx context.Context, t APIToken) (APIToken, error) {
	res, err := db.w.ExecContext(ctx, `INSERT INTO api_tokens (user_id, name, prefix, token_hash, scopes, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, t.UserID, t.Name, t.Prefix, t.Hash, strings.Join(t.Scopes, " "),
		FormatTime(t.CreatedAt), nullTime(t.ExpiresAt))
	if err != nil {
		return t, fmt.Errorf("store: create token: %w", err)
	}
	if t.ID, err = res.LastInsertId(); err != nil {
		return t, fmt.Errorf("store: create token: %w", err)
	}
	return db.Token(ctx, t.ID)
}

// Token returns a token by id, or ErrNotFound.
func (db *DB) Token(ctx context.Context, id int64) (APIToken, error) {
	t, err := scanToken(db.w.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, fmt.Errorf("store: token: %w", err)
	}
	return t, nil
}

// TokenUser returns the token with the given hash and its user, or ErrNotFound. It
// does not check expiry or revocation: the caller does (APIToken.Active).
func (db *DB) TokenUser(ctx context.Context, hash string) (APIToken, User, error) {
	t, err := scanToken(db.r.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE token_hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return t, User{}, ErrNotFound
	}
	if err != nil {
		return t, User{}, fmt.Errorf("store: token: %w", err)
	}
	u, err := scanUser(db.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, t.UserID))
	if errors.Is(err, sql.ErrNoRows) {
		return t, u, ErrNotFound
	}
	if err != nil {
		return t, u, fmt.Errorf("store: token user: %w", err)
	}
	return t, u, nil
}

// Tokens lists a user's tokens (every user's when userID is 0), newest first.
func (db *DB) Tokens(ctx context.Context, userID int64) ([]APIToken, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE ? = 0 OR user_id = ? ORDER BY id DESC`, userID, userID)
	if err != nil {
		return nil, fmt.Errorf("store: tokens: %w", err)
	}
	defer rows.Close()
	var out []APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("store: tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: tokens: %w", err)
	}
	return out, nil
}

// RevokeToken marks a token revoked at now; an unknown id fails with ErrNotFound.
// Revoking twice keeps the first time.
func (db *DB) RevokeToken(ctx context.Context, id int64, now time.Time) error {
	res, err := db.w.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, FormatTime(now), id)
	if err != nil {
		return fmt.Errorf("store: revoke token: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrNotFound
	}
	return nil
}

// TouchToken records that a token was used at now. Callers limit how often they call
// it (one write per token per minute is plenty).
func (db *DB) TouchToken(ctx context.Context, id int64, now time.Time) error {
	if _, err := db.w.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, FormatTime(now), id); err != nil {
		return fmt.Errorf("store: touch token: %w", err)
	}
	return nil
}
