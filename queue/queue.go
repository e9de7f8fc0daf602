// Package queue is the durable outbox of smsgw. Enqueue validates a message, encodes its
// parts and commits them before it returns; Run dispatches parts to modems, one worker
// per modem, with per-SIM rate limits and quotas, quiet hours for automated messages,
// retries with backoff for temporary errors, and no automatic resend when a part's
// outcome is unknown.
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smsgw/smsgw/sms"
	"github.com/smsgw/smsgw/store"
)

// Kinds of outbound messages.
const (
	KindAPI       = "api"
	KindAgent     = "agent"
	KindAutomated = "automated"
	KindRelay     = "relay"
)

// Config tunes the queue.
type Config struct {
	// Region is the default region for numbers without a country code.
	Region string
	// MaxSegments is the longest message accepted, in parts.
	MaxSegments int
	// MaxAttempts bounds attempts after temporary errors.
	MaxAttempts int
	// RetryBase is the first backoff; it doubles (with jitter) up to RetryMax.
	RetryBase, RetryMax time.Duration
	// DefaultValidity is how long a message may wait to be sent (0 = forever).
	DefaultValidity time.Duration
	// QuietHours hold automated messages; agent replies and API messages go.
	QuietHours QuietHours
	// Poll is how often workers look for due parts without being woken (other
	// processes' inserts, retries, schedules). Default 1 s.
	Poll time.Duration
	// NationalLanguages are national language identifiers (sms.LanguageID) whose GSM
	// 7-bit shift tables may carry text the default alphabet cannot, when that saves a
	// part over UCS-2.
	NationalLanguages []int
}

// QuietHours is a daily window, in a time zone, in which automated messages wait.
type QuietHours struct {
	// Start and End are minutes after midnight; Start == End means no quiet hours.
	Start, End int
	Location   *time.Location
}

// Active reports whether t falls in the quiet window (which may span midnight).
func (q QuietHours) Active(t time.Time) bool {
	if q.Start == q.End {
		return false
	}
	loc := q.Location
	if loc == nil {
		loc = time.Local
	}
	lt := t.In(loc)
	m := lt.Hour()*60 + lt.Minute()
	if q.Start < q.End {
		return m >= q.Start && m < q.End
	}
	return m >= q.Start || m < q.End
}

// ParseClock turns "21:30" into minutes after midnight.
func ParseClock(s string) (int, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("queue: %q is not a time of day like 21:30", s)
	}
	return t.Hour()*60 + t.Minute(), nil
}

// Request is a message to send.
type Request struct {
	To   string
	Body string
	// Kind is api (default), agent, automated or relay.
	Kind string
	// Line names the line to send from ('' = any modem).
	Line string
	// Modem pins the message to one modem by name: it waits for that modem (until it
	// expires) instead of failing over to another SIM of the line.
	Modem    string
	Priority int
	// SendAt schedules the message; zero sends now.
	SendAt time.Time
	// ExpiresAt gives up on sending after it; zero means SendAt (or now) plus the
	// default validity.
	ExpiresAt time.Time
	// NoReport asks for no status report.
	NoReport bool
	// IdempotencyKey makes a repeated request return the first message.
	IdempotencyKey string
	ExternalID     string
	AuthorID       int64
	ThreadID       int64
	ForceUCS2      bool
}

// FieldError is a request rejected for one field; API layers turn Field into their error
// shape.
type FieldError struct {
	Index int // position in a batch, 0 for a single message
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return fmt.Sprintf("queue: %s: %s", e.Field, e.Msg) }

// ErrInvalid is wrapped by every *FieldError.
var ErrInvalid = errors.New("queue: invalid request")

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Queue is the outbox.
type Queue struct {
	cfg      Config
	db       *store.DB
	log      *slog.Logger
	now      func() time.Time
	wake     *waker
	m        *metrics
	mu       sync.Mutex
	stats    store.QueueStats
	onChange func(store.Message)
	pacing   Pacing
}

// OnChange sets a function called with the message after each recorded part outcome
// and matched status report, so live views and webhooks can follow delivery. It runs on
// the worker's goroutine and must not block for long.
func (q *Queue) OnChange(fn func(store.Message)) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.onChange = fn
}

// New returns a queue on db. reg may be nil (no metrics); now may be nil (time.Now).
func New(cfg Config, db *store.DB, log *slog.Logger, reg prometheus.Registerer, now func() time.Time) *Queue {
	if cfg.MaxSegments <= 0 {
		cfg.MaxSegments = 10
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 30 * time.Second
	}
	if cfg.RetryMax < cfg.RetryBase {
		cfg.RetryMax = 30 * time.Minute
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	q := &Queue{cfg: cfg, db: db, log: log, now: now, wake: newWaker()}
	q.m = newMetrics(reg, q)
	return q
}

// prepare validates and encodes one request.
func (q *Queue) prepare(ctx context.Context, i int, r Request) (store.NewOutbound, error) {
	bad := func(field, format string, args ...any) error {
		return &FieldError{Index: i, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	to, err := sms.NormalizeNumber(r.To, q.cfg.Region)
	if err != nil {
		var ne *sms.NumberError
		if errors.As(err, &ne) {
			return store.NewOutbound{}, bad("to", "%q is not a phone number we can send to: %s", r.To, ne.Reason)
		}
		return store.NewOutbound{}, bad("to", "%q is not a phone number: %v", r.To, err)
	}
	if !strings.HasPrefix(to, "+") && !isShortCode(to) {
		return store.NewOutbound{}, bad("to", "%q is a sender name, not a number; SMS can only be sent to numbers", r.To)
	}
	switch {
	case r.Body == "":
		return store.NewOutbound{}, bad("body", "is empty")
	case !utf8.ValidString(r.Body):
		return store.NewOutbound{}, bad("body", "is not valid UTF-8")
	case strings.ContainsRune(r.Body, 0):
		return store.NewOutbound{}, bad("body", "contains a NUL character")
	}
	kind := r.Kind
	if kind == "" {
		kind = KindAPI
	}
	switch kind {
	case KindAPI, KindAgent, KindAutomated, KindRelay:
	default:
		return store.NewOutbound{}, bad("kind", "%q is not one of api, agent, automated, relay", kind)
	}
	opts := sms.SubmitOptions{StatusReport: !r.NoReport, ForceUCS2: r.ForceUCS2, MaxSegments: q.cfg.MaxSegments,
		NationalLanguages: q.cfg.NationalLanguages}
	c := sms.CountSubmit(r.Body, opts)
	if c.Segments > q.cfg.MaxSegments {
		return store.NewOutbound{}, bad("body", "needs %d SMS parts (%d characters, %s); the limit is %d parts",
			c.Segments, c.Characters, c.Encoding, q.cfg.MaxSegments)
	}
	if c.Segments > 1 {
		ref, err := q.db.ReserveConcatRefs(ctx, 1)
		if err != nil {
			return store.NewOutbound{}, err
		}
		opts.Ref = ref % 256
	}
	pdus, err := sms.EncodeSubmit(to, r.Body, opts)
	if err != nil {
		if errors.Is(err, sms.ErrTooLong) {
			return store.NewOutbound{}, bad("body", "is too long: %v", err)
		}
		return store.NewOutbound{}, bad("body", "cannot be encoded: %v", err)
	}
	now := q.now()
	expires := r.ExpiresAt
	if expires.IsZero() && q.cfg.DefaultValidity > 0 {
		start := r.SendAt
		if start.IsZero() || start.Before(now) {
			start = now
		}
		expires = start.Add(q.cfg.DefaultValidity)
	}
	if !expires.IsZero() && !r.SendAt.IsZero() && !expires.After(r.SendAt) {
		return store.NewOutbound{}, bad("expires_at", "is not after send_at")
	}
	if !expires.IsZero() && !expires.After(now) {
		return store.NewOutbound{}, bad("expires_at", "is in the past")
	}
	if len(r.IdempotencyKey) > 200 {
		return store.NewOutbound{}, bad("idempotency_key", "is longer than 200 characters")
	}
	m := store.NewOutbound{
		Kind: kind, Peer: to, Line: r.Line, Modem: r.Modem, Body: r.Body, Encoding: c.Encoding.String(), Priority: r.Priority,
		SendAt: r.SendAt, ExpiresAt: expires, Report: !r.NoReport, IdempotencyKey: r.IdempotencyKey,
		ExternalID: r.ExternalID, AuthorID: r.AuthorID, ThreadID: r.ThreadID,
	}
	for _, p := range pdus {
		m.Parts = append(m.Parts, store.NewPart{PDU: p.Bytes, TPDULen: p.TPDULen})
	}
	return m, nil
}

// Count tells how the queue would encode and split text: the segment preview of the
// API and the composer, with the same options as sending (national language tables).
func (q *Queue) Count(text string, forceUCS2 bool) sms.Counting {
	return sms.CountSubmit(text, sms.SubmitOptions{ForceUCS2: forceUCS2, NationalLanguages: q.cfg.NationalLanguages})
}

func isShortCode(s string) bool {
	if len(s) < 3 || len(s) > 8 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Enqueue validates, encodes and durably commits one message. A repeated idempotency
// key returns the first message and dup = true, and sends nothing.
func (q *Queue) Enqueue(ctx context.Context, r Request) (msg store.Message, dup bool, err error) {
	ms, dups, err := q.EnqueueBatch(ctx, []Request{r})
	if err != nil {
		return store.Message{}, false, err
	}
	return ms[0], dups[0], nil
}

// EnqueueBatch validates every request, then commits them all in one transaction, or
// none: the first invalid request is reported as a *FieldError with its Index.
func (q *Queue) EnqueueBatch(ctx context.Context, rs []Request) ([]store.Message, []bool, error) {
	if len(rs) == 0 {
		return nil, nil, &FieldError{Field: "messages", Msg: "is empty"}
	}
	news := make([]store.NewOutbound, len(rs))
	for i, r := range rs {
		m, err := q.prepare(ctx, i, r)
		if err != nil {
			return nil, nil, err
		}
		news[i] = m
	}
	ms, dups, err := q.db.Enqueue(ctx, news)
	if err != nil {
		return nil, nil, err
	}
	for i := range ms {
		if !dups[i] {
			q.m.enqueued.Inc()
		}
	}
	q.wake.wake()
	return ms, dups, nil
}

// Cancel cancels a message none of whose parts was submitted.
func (q *Queue) Cancel(ctx context.Context, uid string) (store.Message, error) {
	return q.db.CancelMessage(ctx, uid, q.now())
}

// ResendUnknown queues a message's unknown parts again (an operator's decision).
func (q *Queue) ResendUnknown(ctx context.Context, uid string) (store.Message, error) {
	m, err := q.db.ResendUnknown(ctx, uid, q.now())
	if err == nil {
		q.wake.wake()
	}
	return m, err
}

// Notify wakes the workers (after another part of the process queued something).
func (q *Queue) Notify() { q.wake.wake() }

// waker lets any number of goroutines wait for the next wake-up.
type waker struct {
	mu sync.Mutex
	ch chan struct{}
}

func newWaker() *waker { return &waker{ch: make(chan struct{})} }

func (w *waker) wait() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ch
}

func (w *waker) wake() {
	w.mu.Lock()
	defer w.mu.Unlock()
	close(w.ch)
	w.ch = make(chan struct{})
}
