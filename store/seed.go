package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// SeedOptions size a synthetic inbox for benchmarks (bench/seed, api/bench_test.go).
type SeedOptions struct {
	Contacts int     // contacts, each with one number, thread and conversation
	Messages int     // messages, spread evenly over the threads
	Line     string  // line of every thread (default "office")
	Owners   []int64 // users that own OPEN conversations (none: all NEW or RESOLVED)
	Now      time.Time
	Progress func(done int) // called every 100k messages; may be nil
}

// SeedBench fills the database with contacts, threads, conversations (15 % NEW, 25 %
// OPEN, 60 % RESOLVED) and messages, in large transactions. It is for benchmarks and
// load tests only: it bypasses the router's rules and emits no events.
func (db *DB) SeedBench(ctx context.Context, o SeedOptions) error {
	if o.Contacts <= 0 {
		return fmt.Errorf("store: seed: need at least one contact")
	}
	if o.Line == "" {
		o.Line = "office"
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	var base int64
	if err := db.w.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM contacts`).Scan(&base); err != nil {
		return fmt.Errorf("store: seed: %w", err)
	}
	if _, err := db.w.ExecContext(ctx, `INSERT OR IGNORE INTO lines (name) VALUES (?)`, o.Line); err != nil {
		return fmt.Errorf("store: seed: %w", err)
	}
	per := o.Messages / o.Contacts
	extra := o.Messages % o.Contacts
	span := 90 * 24 * time.Hour
	start := o.Now.Add(-span)
	done := 0
	const batch = 2000 // contacts per transaction
	for first := 0; first < o.Contacts; first += batch {
		last := min(first+batch, o.Contacts)
		err := db.withTx(ctx, func(tx *sql.Tx) error {
			stmt := func(q string) (*sql.Stmt, error) { return tx.PrepareContext(ctx, q) }
			insC, err := stmt(`INSERT INTO contacts (id, name, type, created_at, updated_at) VALUES (?, ?, 'customer', ?, ?)`)
			if err != nil {
				return err
			}
			insN, err := stmt(`INSERT INTO contact_numbers (number, contact_id, created_at) VALUES (?, ?, ?)`)
			if err != nil {
				return err
			}
			insT, err := stmt(`INSERT INTO threads (contact_id, line, peer, last_activity_at, created_at) VALUES (?, ?, ?, ?, ?)`)
			if err != nil {
				return err
			}
			insM, err := stmt(`INSERT INTO messages (uid, direction, kind, peer, line, thread_id, body, encoding, segments, status,
				created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'gsm7', 1, ?, ?, ?)`)
			if err != nil {
				return err
			}
			insV, err := stmt(`INSERT INTO conversations (thread_id, contact_id, line, queue_id, status, owner_id, last_owner_id,
				needs_reply, first_message_id, last_message_id, last_inbound_id, last_activity_at, created_at, resolved_at)
				VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
			if err != nil {
				return err
			}
			updT, err := stmt(`UPDATE threads SET last_message_id = ?, last_activity_at = ? WHERE id = ?`)
			if err != nil {
				return err
			}
			for i := first; i < last; i++ {
				cid := base + int64(i) + 1
				created := start.Add(time.Duration(i) * span / time.Duration(o.Contacts) / 4)
				number := fmt.Sprintf("+1555%07d", cid%10_000_000)
				ts := FormatTime(created)
				if _, err := insC.ExecContext(ctx, cid, fmt.Sprintf("Customer %d", cid), ts, ts); err != nil {
					return err
				}
				if _, err := insN.ExecContext(ctx, number, cid, ts); err != nil {
					return err
				}
				res, err := insT.ExecContext(ctx, cid, o.Line, number, ts, ts)
				if err != nil {
					return err
				}
				tid, _ := res.LastInsertId()
				n := per
				if i < extra {
					n++
				}
				var firstID, lastID, lastIn int64
				at := created
				step := (o.Now.Sub(created)) / time.Duration(n+1)
				for k := 0; k < n; k++ {
					at = at.Add(step)
					dir, kind, status := "in", "customer", "received"
					if k%2 == 1 {
						dir, kind, status = "out", "agent", "delivered"
					}
					mt := FormatTime(at)
					res, err := insM.ExecContext(ctx, fmt.Sprintf("seed%012d%04d", cid, k), dir, kind, number, o.Line, tid,
						fmt.Sprintf("Message %d of %d about order %d", k+1, n, cid), status, mt, mt)
					if err != nil {
						return err
					}
					id, _ := res.LastInsertId()
					if firstID == 0 {
						firstID = id
					}
					lastID = id
					if dir == "in" {
						lastIn = id
					}
				}
				done += n
				if o.Progress != nil && done/100_000 != (done-n)/100_000 {
					o.Progress(done)
				}
				status, owner, lastOwner, resolved := "RESOLVED", any(nil), any(nil), any(FormatTime(at))
				switch r := cid % 20; {
				case r < 3:
					status, resolved = "NEW", nil
				case r < 8 && len(o.Owners) > 0:
					status, resolved = "OPEN", nil
					owner = o.Owners[int(cid)%len(o.Owners)]
					lastOwner = owner
				case len(o.Owners) > 0:
					lastOwner = o.Owners[int(cid)%len(o.Owners)]
				}
				needs := flag(n%2 == 1 && status != "RESOLVED")
				if _, err := insV.ExecContext(ctx, tid, cid, o.Line, status, owner, lastOwner, needs, nullID(firstID), nullID(lastID),
					nullID(lastIn), FormatTime(at), ts, resolved); err != nil {
					return err
				}
				if _, err := updT.ExecContext(ctx, nullID(lastID), FormatTime(at), tid); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("store: seed: %w", err)
		}
	}
	return nil
}
