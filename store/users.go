package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// User is an account that logs in to the web UI or owns API tokens. PasswordHash is
// never encoded to JSON.
type User struct {
	ID           int64     `json:"id"`
	Username     string    `json:"username"`
	DisplayName  string    `json:"display_name"`
	Email        string    `json:"email"`
	Role         string    `json:"role"`
	Disabled     bool      `json:"disabled"`
	CreatedAt    time.Time `json:"created_at"`
	PasswordHash string    `json:"-"`
}

// Name returns the display name, or the username when there is none.
func (u User) Name() string {
	if u.DisplayName != "" {
		return u.DisplayName
	}
	return u.Username
}

const userCols = `id, username, display_name, email, role, disabled, created_at, password_hash`

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var created string
	err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Email, &u.Role, &u.Disabled, &created, &u.PasswordHash)
	if err != nil {
		return u, err
	}
	u.CreatedAt, err = ParseTime(created)
	return u, err
}

func (db *DB) userBy(ctx context.Context, where string, arg any) (User, error) {
	u, err := scanUser(db.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return u, ErrNotFound
	}
	if err != nil {
		return u, fmt.Errorf("store: user: %w", err)
	}
	return u, nil
}

// User returns the user with id, or ErrNotFound.
func (db *DB) User(ctx context.Context, id int64) (User, error) { return db.userBy(ctx, "id = ?", id) }

// UserByUsername finds a user by username (case-insensitive), or ErrNotFound.
func (db *DB) UserByUsername(ctx context.Context, username string) (User, error) {
	return db.userBy(ctx, "username = ?", username)
}

// Users lists every user by id.
func (db *DB) Users(ctx context.Context) ([]User, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: users: %w", err)
	}
	return out, nil
}

// CountUsers returns the number of users (enabled or not).
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := db.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count users: %w", err)
	}
	return n, nil
}

// NewUser is a user to create; PasswordHash is already hashed.
type NewUser struct {
	Username, DisplayName, Email, Role, PasswordHash string
}

// CreateUser inserts a user; a taken username fails with ErrDuplicate.
func (db *DB) CreateUser(ctx context.Context, nu NewUser) (User, error) {
	var u User
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		return createUserTx(ctx, tx, nu, &u)
	})
	return u, err
}

func createUserTx(ctx context.Context, tx *sql.Tx, nu NewUser, u *User) error {
	res, err := tx.ExecContext(ctx, `INSERT INTO users (username, display_name, email, role, password_hash) VALUES (?, ?, ?, ?, ?)`,
		nu.Username, nu.DisplayName, nu.Email, nu.Role, nu.PasswordHash)
	if isUniqueViolation(err) {
		return fmt.Errorf("store: user %q: %w", nu.Username, ErrDuplicate)
	}
	if err != nil {
		return fmt.Errorf("store: create user: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("store: create user: %w", err)
	}
	got, err := scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if err != nil {
		return fmt.Errorf("store: create user: %w", err)
	}
	*u = got
	return nil
}

// SetPasswordHash replaces a user's password hash and ends all their sessions.
func (db *DB) SetPasswordHash(ctx context.Context, userID int64, hash string) error {
	return db.withTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, userID)
		if err != nil {
			return fmt.Errorf("store: set password: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return ErrNotFound
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID); err != nil {
			return fmt.Errorf("store: set password: %w", err)
		}
		return nil
	})
}

// UserChanges are the editable fields of a user; nil leaves a field alone.
type UserChanges struct {
	DisplayName, Email, Role *string
	Disabled                 *bool
}

// UpdateUser applies ch; disabling a user ends their sessions.
func (db *DB) UpdateUser(ctx context.Context, id int64, ch UserChanges) (User, error) {
	var u User
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		set := func(col string, v any) error {
			res, err := tx.ExecContext(ctx, `UPDATE users SET `+col+` = ? WHERE id = ?`, v, id)
			if err != nil {
				return fmt.Errorf("store: update user: %w", err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return ErrNotFound
			}
			return nil
		}
		var err error
		if ch.DisplayName != nil {
			err = errors.Join(err, set("display_name", *ch.DisplayName))
		}
		if ch.Email != nil {
			err = errors.Join(err, set("email", *ch.Email))
		}
		if ch.Role != nil {
			err = errors.Join(err, set("role", *ch.Role))
		}
		if ch.Disabled != nil {
			err = errors.Join(err, set("disabled", flag(*ch.Disabled)))
			if *ch.Disabled && err == nil {
				_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, id)
			}
		}
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return ErrNotFound
			}
			return err
		}
		u, err = scanUser(tx.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	return u, err
}

// AddSetupToken stores the hash of a one-time setup token.
func (db *DB) AddSetupToken(ctx context.Context, hash string, expires time.Time) error {
	_, err := db.w.ExecContext(ctx, `INSERT INTO setup_tokens (token_hash, expires_at) VALUES (?, ?)`, hash, FormatTime(expires))
	if err != nil {
		return fmt.Errorf("store: add setup token: %w", err)
	}
	return nil
}

// ErrSetupDone means a first user already exists, so setup tokens are void.
var ErrSetupDone = errors.New("store: setup already done")

// CompleteSetup creates the first user if the setup token (by hash) is valid at now and
// no user exists yet, and removes every setup token, all in one transaction. An
// unknown or expired token fails with ErrNotFound; an existing user with ErrSetupDone.
func (db *DB) CompleteSetup(ctx context.Context, hash string, now time.Time, nu NewUser) (User, error) {
	var u User
	err := db.withTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
			return fmt.Errorf("store: setup: %w", err)
		}
		if n > 0 {
			return ErrSetupDone
		}
		var ok int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM setup_tokens WHERE token_hash = ? AND expires_at > ?`,
			hash, FormatTime(now)).Scan(&ok)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("store: setup: %w", err)
		}
		if err := createUserTx(ctx, tx, nu, &u); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM setup_tokens`); err != nil {
			return fmt.Errorf("store: setup: %w", err)
		}
		return nil
	})
	return u, err
}
