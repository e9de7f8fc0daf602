package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Agent availability values.
const (
	AvailabilityReady = "ready"
	AvailabilityBusy  = "busy"
	AvailabilityAway  = "away"
)

// Agent is a user as the inbox sees them: role, availability and queues.
type Agent struct {
	ID           int64   `json:"id"`
	Username     string  `json:"username"`
	DisplayName  string  `json:"display_name"`
	Role         string  `json:"role"` // admin, supervisor, dispatcher, viewer
	Disabled     bool    `json:"disabled"`
	Availability string  `json:"availability"` // ready, busy, away
	Queues       []int64 `json:"queues"`
}

// Name returns the display name, or the username when there is none.
func (a Agent) Name() string {
	if a.DisplayName != "" {
		return a.DisplayName
	}
	return a.Username
}

const agentCols = `u.id, u.username, u.display_name, u.role, u.disabled, COALESCE(a.availability, 'away')`

func scanAgent(row interface{ Scan(...any) error }) (Agent, error) {
	var a Agent
	err := row.Scan(&a.ID, &a.Username, &a.DisplayName, &a.Role, &a.Disabled, &a.Availability)
	return a, err
}

func agentBy(ctx context.Context, q inboxQuerier, where string, arg any) (Agent, error) {
	a, err := scanAgent(q.QueryRowContext(ctx, `SELECT `+agentCols+` FROM users u LEFT JOIN agents a ON a.user_id = u.id
		WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return a, ErrNotFound
	}
	if err != nil {
		return a, fmt.Errorf("store: agent: %w", err)
	}
	a.Queues, err = queryIDs(ctx, q, "agent queues", `SELECT queue_id FROM queue_members WHERE user_id = ? ORDER BY queue_id`, a.ID)
	return a, err
}

// Agent returns a user with availability and queues.
func (db *DB) Agent(ctx context.Context, userID int64) (Agent, error) {
	return agentBy(ctx, db.r, "u.id = ?", userID)
}

// Agent returns a user with availability and queues, inside the transaction.
func (t *Tx) Agent(userID int64) (Agent, error) { return agentBy(t.ctx, t.tx, "u.id = ?", userID) }

// AgentByUsername finds a user by username (case-insensitive): @mentions use it.
func (t *Tx) AgentByUsername(username string) (Agent, error) {
	return agentBy(t.ctx, t.tx, "u.username = ?", username)
}

// Agents lists every user with availability and queues.
func (db *DB) Agents(ctx context.Context) ([]Agent, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+agentCols+` FROM users u LEFT JOIN agents a ON a.user_id = u.id ORDER BY u.id`)
	if err != nil {
		return nil, fmt.Errorf("store: agents: %w", err)
	}
	var out []Agent
	for rows.Next() {
		a, err := scanAgent(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: agents: %w", err)
		}
		out = append(out, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: agents: %w", err)
	}
	for i := range out {
		if out[i].Queues, err = queryIDs(ctx, db.r, "agent queues",
			`SELECT queue_id FROM queue_members WHERE user_id = ? ORDER BY queue_id`, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CreateAgent inserts a user that cannot log in (no password) with a role: for seeding
// and tests. Real accounts are created by the user management code.
func (db *DB) CreateAgent(ctx context.Context, username, displayName, role string) (Agent, error) {
	var a Agent
	err := db.Update(ctx, func(t *Tx) error {
		id, err := t.insertID("create agent", `INSERT INTO users (username, display_name, role, password_hash) VALUES (?, ?, ?, '!')`,
			username, displayName, role)
		if err != nil {
			return err
		}
		a, err = t.Agent(id)
		return err
	})
	return a, err
}

// SetAvailability sets a user's availability (ready, busy, away).
func (t *Tx) SetAvailability(userID int64, availability string, now time.Time) error {
	_, err := t.exec(`INSERT INTO agents (user_id, availability, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET availability = excluded.availability, updated_at = excluded.updated_at`,
		userID, availability, FormatTime(now))
	if err != nil {
		return fmt.Errorf("store: set availability: %w", err)
	}
	return nil
}

// ReadyAgents returns the users of a queue who take queue alerts: ready, enabled, and
// allowed to accept (not viewers).
func (t *Tx) ReadyAgents(queueID int64) ([]int64, error) {
	return queryIDs(t.ctx, t.tx, "ready agents", `SELECT u.id FROM queue_members m JOIN users u ON u.id = m.user_id
		JOIN agents a ON a.user_id = u.id WHERE m.queue_id = ? AND a.availability = 'ready' AND u.disabled = 0
		AND u.role <> 'viewer' ORDER BY u.id`, queueID)
}

// Queue is a team of agents and the lines routed to it.
type Queue struct {
	ID               int64         `json:"id"`
	Name             string        `json:"name"`
	OwnershipTimeout time.Duration `json:"ownership_timeout"` // T11; 0 = off
	Members          []int64       `json:"members"`
}

// DefaultQueueID is the queue created by the migration; new lines start in it.
const DefaultQueueID = 1

// CreateQueue adds a queue; a taken name fails with ErrDuplicate.
func (t *Tx) CreateQueue(name string, ownershipTimeout time.Duration) (int64, error) {
	id, err := t.insertID("create queue", `INSERT INTO queues (name, ownership_timeout) VALUES (?, ?)`,
		name, int64(ownershipTimeout/time.Second))
	if isUniqueViolation(err) {
		return 0, fmt.Errorf("store: queue %q: %w", name, ErrDuplicate)
	}
	return id, err
}

// SetOwnershipTimeout sets a queue's ownership timeout (0 turns it off).
func (t *Tx) SetOwnershipTimeout(queueID int64, d time.Duration) error {
	ok, err := t.cas("set ownership timeout", `UPDATE queues SET ownership_timeout = ? WHERE id = ?`, int64(d/time.Second), queueID)
	if err == nil && !ok {
		return ErrNotFound
	}
	return err
}

// AddQueueMember puts a user in a queue.
func (t *Tx) AddQueueMember(queueID, userID int64) error {
	if _, err := t.exec(`INSERT OR IGNORE INTO queue_members (queue_id, user_id) VALUES (?, ?)`, queueID, userID); err != nil {
		return fmt.Errorf("store: add queue member: %w", err)
	}
	return nil
}

// RemoveQueueMember takes a user out of a queue.
func (t *Tx) RemoveQueueMember(queueID, userID int64) error {
	if _, err := t.exec(`DELETE FROM queue_members WHERE queue_id = ? AND user_id = ?`, queueID, userID); err != nil {
		return fmt.Errorf("store: remove queue member: %w", err)
	}
	return nil
}

// Queues lists the queues with their members.
func (db *DB) Queues(ctx context.Context) ([]Queue, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, name, ownership_timeout FROM queues ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: queues: %w", err)
	}
	var out []Queue
	for rows.Next() {
		var q Queue
		var secs int64
		if err := rows.Scan(&q.ID, &q.Name, &secs); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: queues: %w", err)
		}
		q.OwnershipTimeout = time.Duration(secs) * time.Second
		out = append(out, q)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: queues: %w", err)
	}
	for i := range out {
		if out[i].Members, err = queryIDs(ctx, db.r, "queue members",
			`SELECT user_id FROM queue_members WHERE queue_id = ? ORDER BY user_id`, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Line is one sending identity and the queue its conversations go to.
type Line struct {
	Name              string `json:"name"`
	QueueID           int64  `json:"queue_id"`
	EscalateOwnerAway bool   `json:"escalate_owner_away"` // T3: alert the queue when the owner is away
}

// EnsureLine returns a line, creating it in the default queue on first use.
func (t *Tx) EnsureLine(name string) (Line, error) {
	if _, err := t.exec(`INSERT OR IGNORE INTO lines (name) VALUES (?)`, name); err != nil {
		return Line{}, fmt.Errorf("store: ensure line: %w", err)
	}
	var l Line
	err := t.tx.QueryRowContext(t.ctx, `SELECT name, queue_id, escalate_owner_away FROM lines WHERE name = ?`, name).
		Scan(&l.Name, &l.QueueID, &l.EscalateOwnerAway)
	if err != nil {
		return l, fmt.Errorf("store: ensure line: %w", err)
	}
	return l, nil
}

// SetLine routes a line to a queue and sets its escalation rule, creating it if needed.
func (t *Tx) SetLine(l Line) error {
	_, err := t.exec(`INSERT INTO lines (name, queue_id, escalate_owner_away) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET queue_id = excluded.queue_id, escalate_owner_away = excluded.escalate_owner_away`,
		l.Name, l.QueueID, flag(l.EscalateOwnerAway))
	if err != nil {
		return fmt.Errorf("store: set line: %w", err)
	}
	return nil
}

// Lines lists the known lines.
func (db *DB) Lines(ctx context.Context) ([]Line, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT name, queue_id, escalate_owner_away FROM lines ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: lines: %w", err)
	}
	defer rows.Close()
	var out []Line
	for rows.Next() {
		var l Line
		if err := rows.Scan(&l.Name, &l.QueueID, &l.EscalateOwnerAway); err != nil {
			return nil, fmt.Errorf("store: lines: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: lines: %w", err)
	}
	return out, nil
}
