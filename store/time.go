package store

import (
	"database/sql"
	"fmt"
	"time"
)

// timeLayout is how every time is stored: UTC with milliseconds, which sorts as text and
// matches SQLite's strftime('%Y-%m-%dT%H:%M:%fZ', 'now') defaults.
const timeLayout = "2006-01-02T15:04:05.000Z"

// FormatTime renders t for storage.
func FormatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// nullTime renders t for a nullable column: NULL for the zero time.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return FormatTime(t)
}

// ParseTime reads a stored time (also accepting RFC 3339 written by hand).
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(timeLayout, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: bad time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// scanTime converts a nullable time column; NULL becomes the zero time.
func scanTime(ns sql.NullString) (time.Time, error) {
	if !ns.Valid || ns.String == "" {
		return time.Time{}, nil
	}
	return ParseTime(ns.String)
}
