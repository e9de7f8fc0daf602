package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// DispatchJob is a job the business system told us about (the dispatch use case). Numbers are
// E.164; an empty number means the party is not known.
type DispatchJob struct {
	ID             int64             `json:"id"`
	Ref            string            `json:"ref"`
	Status         string            `json:"status"`
	Active         bool              `json:"active"`
	ContactID      int64             `json:"contact_id,omitempty"`
	CustomerName   string            `json:"customer_name"`
	CustomerNumber string            `json:"customer_number"`
	SiteName       string            `json:"site_name"`
	SiteNumber     string            `json:"site_number"`
	BillingName    string            `json:"billing_name"`
	BillingNumber  string            `json:"billing_number"`
	DispatcherID   int64             `json:"dispatcher_id,omitempty"`
	WorkerName     string            `json:"worker_name"`
	WorkerPhone    string            `json:"worker_phone"`
	Line           string            `json:"line"`
	Fields         map[string]string `json:"fields"`
	EndedAt        time.Time         `json:"ended_at,omitzero"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
}

// PartyNumber is the number the three-way relay talks to for the customer side: the
// customer's, or else the site contact's.
func (j DispatchJob) PartyNumber() string {
	if j.CustomerNumber != "" {
		return j.CustomerNumber
	}
	return j.SiteNumber
}

const jobCols = `id, ref, status, active, COALESCE(contact_id, 0), customer_name, customer_number, site_name, site_number,
	billing_name, billing_number, COALESCE(dispatcher_id, 0), worker_name, worker_phone, line, fields, ended_at,
	created_at, updated_at`

func scanJob(row interface{ Scan(...any) error }) (DispatchJob, error) {
	var j DispatchJob
	var fields, c, u string
	var ended sql.NullString
	if err := row.Scan(&j.ID, &j.Ref, &j.Status, &j.Active, &j.ContactID, &j.CustomerName, &j.CustomerNumber,
		&j.SiteName, &j.SiteNumber, &j.BillingName, &j.BillingNumber, &j.DispatcherID, &j.WorkerName, &j.WorkerPhone,
		&j.Line, &fields, &ended, &c, &u); err != nil {
		return j, err
	}
	if err := json.Unmarshal([]byte(fields), &j.Fields); err != nil {
		return j, fmt.Errorf("store: job fields: %w", err)
	}
	if j.Fields == nil {
		j.Fields = map[string]string{}
	}
	var err error
	if j.EndedAt, err = scanTime(ended); err != nil {
		return j, err
	}
	if j.CreatedAt, err = ParseTime(c); err != nil {
		return j, err
	}
	j.UpdatedAt, err = ParseTime(u)
	return j, err
}

func queryJobs(ctx context.Context, q inboxQuerier, query string, args ...any) ([]DispatchJob, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+jobCols+` FROM jobs `+query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: jobs: %w", err)
	}
	defer rows.Close()
	var out []DispatchJob
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("store: jobs: %w", err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: jobs: %w", err)
	}
	return out, nil
}

func oneJob(ctx context.Context, q inboxQuerier, query string, args ...any) (DispatchJob, error) {
	j, err := scanJob(q.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs `+query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return j, ErrNotFound
	}
	if err != nil {
		return j, fmt.Errorf("store: job: %w", err)
	}
	return j, nil
}

// SaveJob inserts a job (ID 0; a taken ref is ErrDuplicate) or replaces every column
// of an existing one, and returns it as stored. A job whose Active is false gets
// ended_at the first time.
func (t *Tx) SaveJob(j DispatchJob, now time.Time) (DispatchJob, error) {
	if j.Fields == nil {
		j.Fields = map[string]string{}
	}
	fields, err := json.Marshal(j.Fields)
	if err != nil {
		return j, fmt.Errorf("store: job fields: %w", err)
	}
	ts := FormatTime(now)
	args := []any{j.Ref, j.Status, flag(j.Active), nullID(j.ContactID), j.CustomerName, j.CustomerNumber, j.SiteName,
		j.SiteNumber, j.BillingName, j.BillingNumber, nullID(j.DispatcherID), j.WorkerName, j.WorkerPhone, j.Line,
		string(fields)}
	if j.ID == 0 {
		id, err := t.insertID("insert job", `INSERT INTO jobs (ref, status, active, contact_id, customer_name,
			customer_number, site_name, site_number, billing_name, billing_number, dispatcher_id, worker_name,
			worker_phone, line, fields, ended_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, CASE WHEN ? = 0 THEN ? END, ?, ?)`,
			append(args, flag(j.Active), ts, ts, ts)...)
		if err != nil {
			if isUniqueViolation(err) {
				return j, fmt.Errorf("%w: job %q", ErrDuplicate, j.Ref)
			}
			return j, err
		}
		return t.Job(id)
	}
	res, err := t.exec(`UPDATE jobs SET ref = ?, status = ?, active = ?, contact_id = ?, customer_name = ?,
		customer_number = ?, site_name = ?, site_number = ?, billing_name = ?, billing_number = ?, dispatcher_id = ?,
		worker_name = ?, worker_phone = ?, line = ?, fields = ?,
		ended_at = CASE WHEN ? = 0 THEN COALESCE(ended_at, ?) END, updated_at = ? WHERE id = ?`,
		append(args, flag(j.Active), ts, ts, j.ID)...)
	if err != nil {
		if isUniqueViolation(err) {
			return j, fmt.Errorf("%w: job %q", ErrDuplicate, j.Ref)
		}
		return j, fmt.Errorf("store: update job: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return j, ErrNotFound
	}
	return t.Job(j.ID)
}

// Job returns a job by id.
func (t *Tx) Job(id int64) (DispatchJob, error) { return oneJob(t.ctx, t.tx, `WHERE id = ?`, id) }

// JobByRef returns a job by its reference.
func (t *Tx) JobByRef(ref string) (DispatchJob, error) {
	return oneJob(t.ctx, t.tx, `WHERE ref = ?`, ref)
}

// JobByRef returns a job by its reference.
func (db *DB) JobByRef(ctx context.Context, ref string) (DispatchJob, error) {
	return oneJob(ctx, db.r, `WHERE ref = ?`, ref)
}

// Job returns a job by id.
func (db *DB) Job(ctx context.Context, id int64) (DispatchJob, error) {
	return oneJob(ctx, db.r, `WHERE id = ?`, id)
}

// Jobs lists jobs, most recently updated first; activeOnly leaves ended ones out.
func (db *DB) Jobs(ctx context.Context, activeOnly bool, limit int) ([]DispatchJob, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	if activeOnly {
		return queryJobs(ctx, db.r, `WHERE active = 1 ORDER BY updated_at DESC, id DESC LIMIT ?`, limit)
	}
	return queryJobs(ctx, db.r, `ORDER BY active DESC, updated_at DESC, id DESC LIMIT ?`, limit)
}

// ActiveJobsOfWorker lists the active jobs whose field worker has that phone, oldest
// first.
func (t *Tx) ActiveJobsOfWorker(phone string) ([]DispatchJob, error) {
	if phone == "" {
		return nil, nil
	}
	return queryJobs(t.ctx, t.tx, `WHERE active = 1 AND worker_phone = ? ORDER BY id`, phone)
}

// ActiveJobOfCustomer returns the newest active job whose customer (or, failing that,
// site contact) has that number.
func (t *Tx) ActiveJobOfCustomer(number string) (DispatchJob, error) {
	if number == "" {
		return DispatchJob{}, ErrNotFound
	}
	return oneJob(t.ctx, t.tx, `WHERE active = 1 AND (customer_number = ? OR (customer_number = '' AND site_number = ?))
		ORDER BY id DESC LIMIT 1`, number, number)
}

// SetMessageKind changes the kind of a message (an inbound message from a field worker
// is a relay, not a customer message).
func (t *Tx) SetMessageKind(messageID int64, kind string) error {
	if _, err := t.exec(`UPDATE messages SET kind = ? WHERE id = ?`, kind, messageID); err != nil {
		return fmt.Errorf("store: set message kind: %w", err)
	}
	return nil
}

// JobRelay is an SMS the three-way relay owes: written in the routing transaction and
// sent after it commits.
type JobRelay struct {
	ID        int64     `json:"id"`
	JobID     int64     `json:"job_id,omitempty"`
	SourceID  int64     `json:"source_id,omitempty"`
	To        string    `json:"to"`
	Line      string    `json:"line"`
	ThreadID  int64     `json:"thread_id,omitempty"`
	Body      string    `json:"body"`
	State     string    `json:"state"`
	MessageID int64     `json:"message_id,omitempty"`
	Error     string    `json:"error,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// AddJobRelay records an SMS to send once the transaction commits.
func (t *Tx) AddJobRelay(r JobRelay, now time.Time) (int64, error) {
	ts := FormatTime(now)
	return t.insertID("add job relay", `INSERT INTO job_relays (job_id, source_id, to_number, line, thread_id, body,
		state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
		nullID(r.JobID), nullID(r.SourceID), r.To, r.Line, nullID(r.ThreadID), r.Body, ts, ts)
}

// PendingJobRelays returns relays not yet handed to the outbox, oldest first, with
// whether their job is still active (true for relays without a job).
func (db *DB) PendingJobRelays(ctx context.Context, limit int) ([]JobRelay, []bool, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT r.id, COALESCE(r.job_id, 0), COALESCE(r.source_id, 0), r.to_number,
		r.line, COALESCE(r.thread_id, 0), r.body, r.state, r.created_at, COALESCE(j.active, 1)
		FROM job_relays r LEFT JOIN jobs j ON j.id = r.job_id WHERE r.state = 'pending' ORDER BY r.id LIMIT ?`, limit)
	if err != nil {
		return nil, nil, fmt.Errorf("store: pending relays: %w", err)
	}
	defer rows.Close()
	var out []JobRelay
	var active []bool
	for rows.Next() {
		var r JobRelay
		var c string
		var a bool
		if err := rows.Scan(&r.ID, &r.JobID, &r.SourceID, &r.To, &r.Line, &r.ThreadID, &r.Body, &r.State, &c, &a); err != nil {
			return nil, nil, fmt.Errorf("store: pending relays: %w", err)
		}
		if r.CreatedAt, err = ParseTime(c); err != nil {
			return nil, nil, err
		}
		out = append(out, r)
		active = append(active, a)
	}
	return out, active, rows.Err()
}

// FinishJobRelay records what became of a pending relay: sent (with its message),
// cancelled (the job ended) or failed.
func (db *DB) FinishJobRelay(ctx context.Context, id int64, state string, messageID int64, errText string, now time.Time) error {
	return db.Update(ctx, func(t *Tx) error {
		_, err := t.exec(`UPDATE job_relays SET state = ?, message_id = ?, error = ?, updated_at = ?
			WHERE id = ? AND state = 'pending'`, state, nullID(messageID), errText, FormatTime(now), id)
		if err != nil {
			return fmt.Errorf("store: finish relay: %w", err)
		}
		return nil
	})
}

// ChatActivity reports the last activity of live (NEW or OPEN) conversations with the
// contact that owns number; zero when there is none. Automated messages wait while a
// chat is going on.
func (db *DB) ChatActivity(ctx context.Context, number string) (time.Time, error) {
	var last sql.NullString
	err := db.r.QueryRowContext(ctx, `SELECT MAX(c.last_activity_at) FROM contact_numbers n
		JOIN conversations c ON c.contact_id = n.contact_id
		WHERE n.number = ? AND c.status IN ('NEW', 'OPEN')`, number).Scan(&last)
	if err != nil {
		return time.Time{}, fmt.Errorf("store: chat activity: %w", err)
	}
	return scanTime(last)
}

// JobRelayMessage returns the message a relay was sent as (0 while it is pending).
func (db *DB) JobRelayMessage(ctx context.Context, id int64) (int64, error) {
	var msg int64
	err := db.r.QueryRowContext(ctx, `SELECT COALESCE(message_id, 0) FROM job_relays WHERE id = ?`, id).Scan(&msg)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotFound
	}
	return msg, err
}
