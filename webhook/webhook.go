// Package webhook delivers events to subscribers over HTTP. Each event a webhook wants
// is committed to SQLite as a delivery before the first attempt, so a restart in the
// middle of retrying loses nothing; attempts back off exponentially (with jitter) for
// about a day, every attempt is logged, and any delivery can be replayed.
//
// Requests are signed: X-Smsgw-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret,
// "<unix>." + body)>. Receivers check the HMAC and that t is recent (Verify does both).
//
// A webhook of the smsgate format (package smsgate registers them) is delivered the
// way SMSGate clients expect instead: the caller queues the finished body (the upstream
// envelope) with Queue, requests carry X-Signature = hex HMAC-SHA256(key, body ‖
// X-Timestamp) and X-Timestamp = Unix seconds, time out after 30 s, and are retried
// 5 s, 10 s, 20 s, ... apart up to the webhook's retry count (default 15) without
// jitter or age limit. Bus events never go to smsgate-format webhooks.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/store"
)

// Headers of a delivery.
const (
	HeaderSignature = "X-Smsgw-Signature"
	HeaderEvent     = "X-Smsgw-Event"
	HeaderEventID   = "X-Smsgw-Event-Id"
	HeaderDelivery  = "X-Smsgw-Delivery"
)

// Headers of an smsgate-format delivery.
const (
	HeaderSMSGateSignature = "X-Signature"
	HeaderSMSGateTimestamp = "X-Timestamp"
)

// Defaults of the smsgate format, as upstream.
const (
	SMSGateRetryCount = 15
	SMSGateRetryBase  = 5 * time.Second
	SMSGateTimeout    = 30 * time.Second
)

// Errors.
var (
	ErrInvalid  = errors.New("webhook: invalid input")
	ErrNotFound = errors.New("webhook: not found")
	// ErrSignature means a signature header is missing, malformed, wrong or too old.
	ErrSignature = errors.New("webhook: bad signature")
)

// FieldError is an invalid webhook field.
type FieldError struct {
	Field, Msg string
}

func (e *FieldError) Error() string { return "webhook: " + e.Field + ": " + e.Msg }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Sign returns the signature header value for body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a signature header against body and secret, and that its time is
// within tolerance of now (replayed old requests fail).
func Verify(secret, header string, body []byte, tolerance time.Duration, now time.Time) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return fmt.Errorf("%w: malformed header", ErrSignature)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp outside tolerance", ErrSignature)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range sigs {
		got, err := hex.DecodeString(s)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: mismatch", ErrSignature)
}

// SignSMSGate returns the X-Signature of an smsgate-format delivery: lowercase hex
// HMAC-SHA256 keyed with key over the raw body followed by the X-Timestamp value.
func SignSMSGate(key string, body []byte, timestamp string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	mac.Write([]byte(timestamp))
	return hex.EncodeToString(mac.Sum(nil))
}

// VerifySMSGate checks an smsgate-format delivery as a receiver should: the signature
// over the raw body and timestamp, and a timestamp within tolerance of now.
func VerifySMSGate(key, signature, timestamp string, body []byte, tolerance time.Duration, now time.Time) error {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: malformed timestamp", ErrSignature)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp outside tolerance", ErrSignature)
	}
	got, err := hex.DecodeString(signature)
	want, _ := hex.DecodeString(SignSMSGate(key, body, timestamp))
	if err != nil || !hmac.Equal(got, want) {
		return fmt.Errorf("%w: mismatch", ErrSignature)
	}
	return nil
}

// SMSGateBackoff is the wait after the n-th failed attempt (n ≥ 1) of an
// smsgate-format delivery: base·2^(n-1), as upstream (5 s, 10 s, 20 s, ...).
func SMSGateBackoff(base time.Duration, n int) time.Duration {
	if n < 1 {
		n = 1
	}
	if n > 30 {
		n = 30
	}
	return base << (n - 1)
}

// Options configure a Service. Zero values take the defaults noted.
type Options struct {
	Now func() time.Time
	Log *slog.Logger
	// Client sends the requests; default: 10 s timeout, redirects not followed.
	Client *http.Client
	// RetryBase is the first backoff (default 10 s); it doubles up to RetryMax
	// (default 1 h). Deliveries older than MaxAge (default 24 h) fail for good.
	RetryBase, RetryMax, MaxAge time.Duration
	// Poll bounds how long the deliverer sleeps (default 5 s).
	Poll time.Duration
	// Workers is how many deliveries go out at once (default 4).
	Workers int
	// Registry takes the metrics; nil means none.
	Registry prometheus.Registerer
	// SMSGateRetryBase is the first backoff of smsgate-format deliveries (default 5 s,
	// as upstream; tests shorten it).
	SMSGateRetryBase time.Duration
}

// Service manages webhooks and delivers events to them.
type Service struct {
	db   *store.DB
	bus  *event.Bus
	envs *Envelopes
	opts Options
	log  *slog.Logger
	wake chan struct{}

	mu       sync.Mutex
	hooks    []store.Webhook // active ones; nil = reload
	inFlight map[int64]bool

	gateClient *http.Client // smsgate format: 30 s timeout

	attempts *prometheus.CounterVec
}

// New returns a service. envs builds the envelopes (shared with the SSE stream).
func New(db *store.DB, bus *event.Bus, envs *Envelopes, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 10 * time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = time.Hour
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 24 * time.Hour
	}
	if o.Poll <= 0 {
		o.Poll = 5 * time.Second
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.SMSGateRetryBase <= 0 {
		o.SMSGateRetryBase = SMSGateRetryBase
	}
	s := &Service{db: db, bus: bus, envs: envs, opts: o, log: o.Log, wake: make(chan struct{}, 1), inFlight: map[int64]bool{},
		gateClient: &http.Client{Timeout: SMSGateTimeout, Transport: o.Client.Transport, CheckRedirect: o.Client.CheckRedirect},
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "smsgw", Subsystem: "webhook", Name: "attempts_total",
			Help: "Webhook delivery attempts, by result (delivered, retry, failed).",
		}, []string{"result"})}
	if o.Registry != nil {
		o.Registry.MustRegister(s.attempts)
	}
	return s
}

func (s *Service) notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// --- subscriptions -------------------------------------------------------------

// Input is a webhook to create or change.
type Input struct {
	URL         string
	Events      []string
	Line        string
	Description string
	Active      bool
	// Secret: empty on create means generate one; empty on update keeps the old one.
	Secret string
}

func validate(in Input) error {
	u, err := url.Parse(in.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || len(in.URL) > 2000 {
		return &FieldError{"url", "must be an http or https URL without credentials"}
	}
	if len(in.Events) == 0 || len(in.Events) > 50 {
		return &FieldError{"events", "list 1-50 event types, or \"*\" for all"}
	}
	for _, e := range in.Events {
		if e != "*" && !slices.Contains(EventTypes, e) {
			return &FieldError{"events", fmt.Sprintf("unknown event type %q", e)}
		}
	}
	if len(in.Line) > 100 || len(in.Description) > 500 || !utf8.ValidString(in.Description) {
		return &FieldError{"description", "at most 500 characters"}
	}
	if in.Secret != "" && (len(in.Secret) < 16 || len(in.Secret) > 200) {
		return &FieldError{"secret", "16-200 characters"}
	}
	return nil
}

// EventTypes are the types a webhook may subscribe to.
var EventTypes = []string{
	event.MessageReceived, event.MessageUpdated, event.MessageSent, event.MessageStatus,
	event.ConversationCreated, event.ConversationAccepted, event.ConversationAssigned, event.ConversationReleased,
	event.ConversationSnoozed, event.ConversationWoken, event.ConversationResolved, event.ConversationReopened,
	event.ConversationClosed, event.ConversationUpdated, event.NoteCreated,
	event.ContactCreated, event.ContactUpdated, event.ContactOptedOut, event.ContactOptedIn,
	event.AlertCreated, event.AlertUpdated, event.AgentAvailability, event.InboundUndecodable, event.StatusReportUnmatched,
	event.MessageDelivery,
	event.JobCreated, event.JobUpdated, event.JobEvent, event.JobCustomerResponse, event.JobWorkerMessage,
	event.BusinessAlertSent, event.SystemAlertFired, event.SystemAlertCleared,
	TypePing,
}

// TypePing is the type of the test event Ping sends.
const TypePing = "webhook.ping"

func newSecret() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic("webhook: crypto/rand failed: " + err.Error())
	}
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b)
}

// Create adds a webhook and returns it with its secret (shown to the admin once).
func (s *Service) Create(ctx context.Context, in Input, by int64) (store.Webhook, error) {
	if err := validate(in); err != nil {
		return store.Webhook{}, err
	}
	if in.Secret == "" {
		in.Secret = newSecret()
	}
	w, err := s.db.SaveWebhook(ctx, store.Webhook{URL: in.URL, Secret: in.Secret, Events: in.Events, Line: in.Line,
		Description: in.Description, Active: in.Active, CreatedBy: by}, s.opts.Now())
	s.invalidate()
	return w, err
}

// Update changes a webhook.
func (s *Service) Update(ctx context.Context, id int64, in Input) (store.Webhook, error) {
	old, err := s.Get(ctx, id)
	if err != nil {
		return old, err
	}
	if err := validate(in); err != nil {
		return store.Webhook{}, err
	}
	if in.Secret == "" {
		in.Secret = old.Secret
	}
	w, err := s.db.SaveWebhook(ctx, store.Webhook{ID: id, URL: in.URL, Secret: in.Secret, Events: in.Events, Line: in.Line,
		Description: in.Description, Active: in.Active}, s.opts.Now())
	s.invalidate()
	return w, mapErr(err)
}

// Delete removes a webhook and its delivery log.
func (s *Service) Delete(ctx context.Context, id int64) error {
	err := s.db.DeleteWebhook(ctx, id)
	s.invalidate()
	return mapErr(err)
}

// Get returns one webhook.
func (s *Service) Get(ctx context.Context, id int64) (store.Webhook, error) {
	w, err := s.db.Webhook(ctx, id)
	return w, mapErr(err)
}

// List returns every webhook.
func (s *Service) List(ctx context.Context) ([]store.Webhook, error) { return s.db.Webhooks(ctx) }

// Deliveries returns a page of a webhook's deliveries, newest first.
func (s *Service) Deliveries(ctx context.Context, id, before int64, limit int) ([]store.WebhookDelivery, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	return s.db.Deliveries(ctx, id, before, limit)
}

// Delivery returns one delivery of a webhook with its attempt log and payload.
func (s *Service) Delivery(ctx context.Context, webhookID, id int64) (store.WebhookDelivery, []store.DeliveryAttempt, error) {
	d, err := s.db.Delivery(ctx, id)
	if err != nil || d.WebhookID != webhookID {
		return d, nil, ErrNotFound
	}
	log, err := s.db.DeliveryAttempts(ctx, id)
	return d, log, err
}

// Redeliver queues a delivery again (a new delivery with the same event and payload,
// so the receiver can drop it if it has it).
func (s *Service) Redeliver(ctx context.Context, webhookID, id int64) (store.WebhookDelivery, error) {
	d, err := s.db.Delivery(ctx, id)
	if err != nil || d.WebhookID != webhookID {
		return d, ErrNotFound
	}
	ids, err := s.db.AddDeliveries(ctx, []store.NewDelivery{{WebhookID: d.WebhookID, EventID: d.EventID, EventType: d.EventType,
		Payload: d.Payload, RedeliveryOf: d.ID}}, s.opts.Now())
	if err != nil {
		return d, err
	}
	s.notify()
	return s.db.Delivery(ctx, ids[0])
}

// ReplayFailed queues again every failed delivery of a webhook created at or after
// since, and returns how many.
func (s *Service) ReplayFailed(ctx context.Context, webhookID int64, since time.Time) (int, error) {
	if _, err := s.Get(ctx, webhookID); err != nil {
		return 0, err
	}
	var news []store.NewDelivery
	before := int64(0)
	for {
		page, err := s.db.Deliveries(ctx, webhookID, before, 200)
		if err != nil {
			return 0, err
		}
		for _, d := range page {
			if d.State == store.DeliveryFailed && !d.CreatedAt.Before(since) {
				news = append(news, store.NewDelivery{WebhookID: webhookID, EventID: d.EventID, EventType: d.EventType,
					Payload: d.Payload, RedeliveryOf: d.ID})
			}
		}
		if len(page) < 200 || page[len(page)-1].CreatedAt.Before(since) {
			break
		}
		before = page[len(page)-1].ID
	}
	if len(news) == 0 {
		return 0, nil
	}
	if _, err := s.db.AddDeliveries(ctx, news, s.opts.Now()); err != nil {
		return 0, err
	}
	s.notify()
	return len(news), nil
}

// Ping queues a webhook.ping event to one webhook, whatever its event list.
func (s *Service) Ping(ctx context.Context, id int64) (store.WebhookDelivery, error) {
	w, err := s.Get(ctx, id)
	if err != nil {
		return store.WebhookDelivery{}, err
	}
	now := s.opts.Now()
	env := Envelope{ID: "evt_ping_" + strconv.FormatInt(now.UnixNano(), 36), Type: TypePing, OccurredAt: now.UTC(),
		Actor: Actor{Type: "system"}, Data: json.RawMessage(`{"webhook_id":` + strconv.FormatInt(w.ID, 10) + `}`)}
	body, _ := json.Marshal(env)
	ids, err := s.db.AddDeliveries(ctx, []store.NewDelivery{{WebhookID: w.ID, EventID: env.ID, EventType: env.Type,
		Payload: string(body)}}, now)
	if err != nil {
		return store.WebhookDelivery{}, err
	}
	s.notify()
	return s.db.Delivery(ctx, ids[0])
}

func mapErr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	return err
}

func (s *Service) invalidate() {
	s.mu.Lock()
	s.hooks = nil
	s.mu.Unlock()
}

func (s *Service) activeHooks(ctx context.Context) ([]store.Webhook, error) {
	s.mu.Lock()
	hooks := s.hooks
	s.mu.Unlock()
	if hooks != nil {
		return hooks, nil
	}
	all, err := s.db.Webhooks(ctx)
	if err != nil {
		return nil, err
	}
	hooks = []store.Webhook{}
	for _, w := range all {
		if w.Active {
			hooks = append(hooks, w)
		}
	}
	s.mu.Lock()
	s.hooks = hooks
	s.mu.Unlock()
	return hooks, nil
}

// --- running --------------------------------------------------------------------------

// Run subscribes to the bus, commits a delivery for every event an active webhook
// wants, and delivers due deliveries until ctx ends (deliveries left pending are
// picked up by the next Run).
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	if s.bus != nil {
		sub := s.bus.Subscribe(4096, nil)
		defer sub.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.intake(ctx, sub)
		}()
	}
	s.deliverLoop(ctx)
	wg.Wait()
	return nil
}

func (s *Service) intake(ctx context.Context, sub *event.Subscription) {
	var dropped uint64
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-sub.C():
			if !ok {
				return
			}
			if d := sub.Dropped(); d > dropped {
				s.log.Error("webhook intake fell behind; events were not queued", "dropped", d-dropped)
				dropped = d
			}
			if err := s.enqueue(ctx, ev); err != nil && ctx.Err() == nil {
				s.log.Error("queue webhook deliveries", "event", ev.Type, "error", err)
			}
		}
	}
}

// Queue commits finished deliveries (payload = the exact body to POST) and wakes the
// deliverer. Package smsgate queues its envelopes for smsgate-format webhooks with it.
func (s *Service) Queue(ctx context.Context, ds []store.NewDelivery) error {
	if len(ds) == 0 {
		return nil
	}
	if _, err := s.db.AddDeliveries(ctx, ds, s.opts.Now()); err != nil {
		return err
	}
	s.notify()
	return nil
}

// Enqueue commits the deliveries of one event (Run calls it for every bus event;
// exported for tests and for events that do not pass the bus).
func (s *Service) enqueue(ctx context.Context, ev event.Event) error {
	hooks, err := s.activeHooks(ctx)
	if err != nil || len(hooks) == 0 {
		return err
	}
	env := s.envs.Of(ev)
	var body []byte
	var ds []store.NewDelivery
	for _, w := range hooks {
		if w.Format != "" && w.Format != store.WebhookNative {
			continue // other formats get their own envelopes (Queue)
		}
		if !w.Wants(ev.Type) || (w.Line != "" && env.Line() != w.Line) {
			continue
		}
		if body == nil {
			if body, err = json.Marshal(env); err != nil {
				return err
			}
		}
		ds = append(ds, store.NewDelivery{WebhookID: w.ID, EventID: env.ID, EventType: env.Type, Payload: string(body)})
	}
	if len(ds) == 0 {
		return nil
	}
	// The delivery is committed before any attempt: a crash from here on loses nothing.
	if _, err := s.db.AddDeliveries(context.WithoutCancel(ctx), ds, s.opts.Now()); err != nil {
		return err
	}
	s.notify()
	return nil
}

func (s *Service) deliverLoop(ctx context.Context) {
	sem := make(chan struct{}, s.opts.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		due, err := s.db.DueDeliveries(ctx, s.opts.Now(), 50)
		if err != nil && ctx.Err() == nil {
			s.log.Error("load due webhook deliveries", "error", err)
		}
		for _, d := range due {
			s.mu.Lock()
			busy := s.inFlight[d.ID]
			if !busy {
				s.inFlight[d.ID] = true
			}
			s.mu.Unlock()
			if busy {
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Add(1)
			go func(d store.WebhookDelivery) {
				defer wg.Done()
				defer func() { <-sem }()
				s.attempt(ctx, d)
				s.mu.Lock()
				delete(s.inFlight, d.ID)
				s.mu.Unlock()
				s.notify()
			}(d)
		}
		wait := s.opts.Poll
		if next, err := s.db.NextDeliveryDue(ctx); err == nil && !next.IsZero() {
			if d := next.Sub(s.opts.Now()); d < wait {
				wait = max(d, 10*time.Millisecond)
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// backoff is RetryBase·2^(attempt-1), capped at RetryMax, with ±20 % jitter.
func (s *Service) backoff(attempt int) time.Duration {
	d := float64(s.opts.RetryBase) * math.Pow(2, float64(attempt-1))
	d = math.Min(d, float64(s.opts.RetryMax))
	return time.Duration(d * (0.8 + 0.4*mrand.Float64()))
}

// attempt makes one HTTP attempt and records it.
func (s *Service) attempt(ctx context.Context, d store.WebhookDelivery) {
	w, err := s.db.Webhook(ctx, d.WebhookID)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("webhook of a delivery is gone", "delivery", d.ID, "error", err)
		}
		return
	}
	start := s.opts.Now()
	body := []byte(d.Payload)
	a := store.DeliveryAttempt{DeliveryID: d.ID, At: start}
	gate := w.Format == store.WebhookSMSGate
	client := s.opts.Client
	if gate {
		client = s.gateClient
	}
	rctx, cancel := context.WithTimeout(ctx, client.Timeout+time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		if gate {
			ts := strconv.FormatInt(start.Unix(), 10)
			req.Header.Set("User-Agent", "smsgw (SMSGate-compatible)")
			req.Header.Set(HeaderSMSGateTimestamp, ts)
			req.Header.Set(HeaderSMSGateSignature, SignSMSGate(w.Secret, body, ts))
		} else {
			req.Header.Set("User-Agent", "smsgw-webhook/1")
			req.Header.Set(HeaderEvent, d.EventType)
			req.Header.Set(HeaderEventID, d.EventID)
			req.Header.Set(HeaderDelivery, strconv.FormatInt(d.ID, 10))
			req.Header.Set(HeaderSignature, Sign(w.Secret, start, body))
		}
		var resp *http.Response
		resp, err = client.Do(req)
		if err == nil {
			snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			a.Status = resp.StatusCode
			a.Response = strings.ToValidUTF8(string(snippet), "?")
		}
	}
	if ctx.Err() != nil {
		return // shutting down: the delivery stays due and is tried after the restart
	}
	a.DurationMS = s.opts.Now().Sub(start).Milliseconds()
	state, next := store.DeliveryDelivered, time.Time{}
	switch {
	case err == nil && a.Status >= 200 && a.Status < 300:
		s.attempts.WithLabelValues("delivered").Inc()
	default:
		if err != nil {
			a.Error = err.Error()
		} else {
			a.Error = "HTTP " + strconv.Itoa(a.Status)
		}
		retries := w.RetryCount
		if retries <= 0 {
			retries = SMSGateRetryCount
		}
		if gate && d.Attempts >= retries {
			state = store.DeliveryFailed
			s.attempts.WithLabelValues("failed").Inc()
			s.log.Warn("webhook delivery failed for good", "webhook", w.ID, "delivery", d.ID, "error", a.Error)
		} else if gate {
			state, next = store.DeliveryPending, start.Add(SMSGateBackoff(s.opts.SMSGateRetryBase, d.Attempts+1))
			s.attempts.WithLabelValues("retry").Inc()
		} else if start.Sub(d.CreatedAt) >= s.opts.MaxAge || a.Status == http.StatusGone {
			state = store.DeliveryFailed
			s.attempts.WithLabelValues("failed").Inc()
			s.log.Warn("webhook delivery failed for good", "webhook", w.ID, "delivery", d.ID, "error", a.Error)
		} else {
			state, next = store.DeliveryPending, start.Add(s.backoff(d.Attempts+1))
			s.attempts.WithLabelValues("retry").Inc()
		}
	}
	if err := s.db.RecordAttempt(context.WithoutCancel(ctx), a, state, next); err != nil {
		s.log.Error("record webhook attempt", "delivery", d.ID, "error", err)
	}
}
