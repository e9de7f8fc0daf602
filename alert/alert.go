// Package alert implements the dispatch use case and the operators' alarms: jobs that
// a business system creates and updates over the API; business SMS alerts to customers
// from templates with tokens, chosen by rules on job events, with opt-out, quiet
// hours (held by the queue), a dedupe window and a delay while the customer is
// chatting; "customer SMS response received" by email (SMTP with STARTTLS and auth);
// and system alerts (modem offline, not registered, weak signal, SIM storage, low
// balance, queue backlog, failure rate, quota, failing webhooks) that fire once per
// incident and clear when resolved, delivered in-app, by email, by webhook (events on
// the bus) and by SMS to an on-call number through another healthy modem.
//
// The three-way relay between customer and field worker lives in package router,
// which owns inbound routing; this package keeps the jobs it works from.
package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/store"
)

// Errors. Use errors.Is.
var (
	ErrInvalid  = errors.New("alert: invalid input")
	ErrNotFound = errors.New("alert: not found")
	ErrConflict = errors.New("alert: conflict")
)

// Job events that rules react to; any other name posted to the API is a custom event.
const (
	EventCreated   = "created"
	EventETASet    = "eta_set"
	EventStarted   = "started"
	EventCompleted = "completed"
)

// Recipients a rule can name besides plain numbers.
const (
	RecipientCustomer = "customer"
	RecipientSite     = "site"
	RecipientBilling  = "billing"
	RecipientWorker   = "worker"
)

// endingStatuses end a job (and its relays).
var endingStatuses = map[string]bool{"completed": true, "cancelled": true, "canceled": true, "closed": true, "done": true}

// Config holds the settings of the business alerts and the notifications.
type Config struct {
	// Region is the default region for numbers without a country code.
	Region string
	// DefaultLine sends alerts whose rule and job name no line.
	DefaultLine string
	// DedupeWindow: the same rule for the same job and recipient is sent once within
	// it (a rule may set its own). Default 10 min.
	DedupeWindow time.Duration
	// ChatDelay holds an automated alert to a contact with a live conversation until
	// the chat has been quiet this long; 0 turns it off.
	ChatDelay time.Duration
	// ChatDelayMax bounds the total hold: after it the alert goes anyway. Default 1 h.
	ChatDelayMax time.Duration
	// EmailTo receives system alerts, and customer responses of jobs whose dispatcher
	// has no email address.
	EmailTo []string
	// PublicURL prefixes links in emails ("" leaves links out).
	PublicURL string
	// Poll is how often due alerts are looked for. Default 1 s.
	Poll time.Duration
}

// Mailer sends one email. *SMTP implements it.
type Mailer interface {
	Send(ctx context.Context, to []string, subject, body string) error
}

// Deps are the service's collaborators. DB, Router and Bus are required.
type Deps struct {
	DB     *store.DB
	Router *router.Router
	Bus    *event.Bus
	Mail   Mailer // nil: no email
	Now    func() time.Time
	Log    *slog.Logger
}

// Service is jobs, templates, rules and the business alerts they send.
type Service struct {
	cfg  Config
	db   *store.DB
	rt   *router.Router
	bus  *event.Bus
	mail Mailer
	now  func() time.Time
	log  *slog.Logger
	wake chan struct{}
	mu   sync.Mutex // serialises dispatch passes
}

// New returns the service; call Run to send delayed alerts and response emails.
func New(cfg Config, d Deps) *Service {
	if cfg.DedupeWindow <= 0 {
		cfg.DedupeWindow = 10 * time.Minute
	}
	if cfg.ChatDelayMax <= 0 {
		cfg.ChatDelayMax = time.Hour
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, db: d.DB, rt: d.Router, bus: d.Bus, mail: d.Mail, now: d.Now, log: d.Log,
		wake: make(chan struct{}, 1)}
}

// Run sends alerts as they come due and emails the responses of customers to their
// job's dispatcher, until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	sub := s.bus.Subscribe(1024, func(e event.Event) bool { return e.Type == event.JobCustomerResponse })
	defer sub.Close()
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		if _, err := s.DispatchDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("send due alerts", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.wake:
		case ev := <-sub.C():
			if r, ok := ev.Data.(router.JobResponse); ok {
				if err := s.emailResponse(ctx, r); err != nil && ctx.Err() == nil {
					s.log.Warn("email customer response", "job", r.JobRef, "error", err)
				}
			}
		}
	}
}

// Party is a person on a job.
type Party struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

// JobInput creates or changes a job. Nil fields are left as they are on update.
type JobInput struct {
	Ref          string            `json:"ref"`
	Status       *string           `json:"status,omitempty"`
	ContactID    *int64            `json:"contact_id,omitempty"` // the customer is this contact
	Customer     *Party            `json:"customer,omitempty"`
	Site         *Party            `json:"site,omitempty"`
	Billing      *Party            `json:"billing,omitempty"`
	DispatcherID *int64            `json:"dispatcher_id,omitempty"`
	Worker       *Party            `json:"worker,omitempty"`
	Line         *string           `json:"line,omitempty"`
	Fields       map[string]string `json:"fields,omitempty"` // merged; "" removes a field
}

func (s *Service) number(raw, field string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", nil
	}
	n, err := s.rt.NormalizeNumber(raw)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrInvalid, field, err)
	}
	if !isPhone(n) {
		return "", fmt.Errorf("%w: %s: %q is not a phone number", ErrInvalid, field, raw)
	}
	return n, nil
}

// apply merges in into j and reports which rule events the change makes.
func (s *Service) apply(ctx context.Context, j *store.DispatchJob, in JobInput, creating bool) ([]string, error) {
	var events []string
	if creating {
		events = append(events, EventCreated)
	}
	if in.Status != nil {
		st := strings.ToLower(strings.TrimSpace(*in.Status))
		if st == "" || len(st) > 40 {
			return nil, fmt.Errorf("%w: status must be 1-40 characters", ErrInvalid)
		}
		if st != j.Status && !creating {
			events = append(events, st) // started, completed, or any status name
		}
		j.Status = st
	}
	if j.Status == "" {
		j.Status = EventCreated
	}
	j.Active = !endingStatuses[j.Status]
	party := func(p *Party, name, number *string, field string) error {
		if p == nil {
			return nil
		}
		n, err := s.number(p.Number, field+".number")
		if err != nil {
			return err
		}
		*name, *number = strings.TrimSpace(p.Name), n
		return nil
	}
	if err := errors.Join(
		party(in.Customer, &j.CustomerName, &j.CustomerNumber, "customer"),
		party(in.Site, &j.SiteName, &j.SiteNumber, "site"),
		party(in.Billing, &j.BillingName, &j.BillingNumber, "billing"),
		party(in.Worker, &j.WorkerName, &j.WorkerPhone, "worker"),
	); err != nil {
		return nil, err
	}
	if in.ContactID != nil {
		j.ContactID = *in.ContactID
		if j.ContactID != 0 {
			c, err := s.db.Contact(ctx, j.ContactID)
			if err != nil {
				return nil, fmt.Errorf("%w: contact %d", ErrInvalid, j.ContactID)
			}
			if j.CustomerName == "" {
				j.CustomerName = c.Name
			}
			if j.CustomerNumber == "" && len(c.Numbers) > 0 {
				j.CustomerNumber = c.Numbers[0]
			}
		}
	}
	if in.DispatcherID != nil {
		if *in.DispatcherID != 0 {
			if _, err := s.db.Agent(ctx, *in.DispatcherID); err != nil {
				return nil, fmt.Errorf("%w: dispatcher %d is not a user", ErrInvalid, *in.DispatcherID)
			}
		}
		j.DispatcherID = *in.DispatcherID
	}
	if in.Line != nil {
		j.Line = strings.TrimSpace(*in.Line)
	}
	if j.Fields == nil {
		j.Fields = map[string]string{}
	}
	for k, v := range in.Fields {
		k = strings.TrimSpace(k)
		if k == "" || len(k) > 64 || strings.ContainsAny(k, "{}| ") {
			return nil, fmt.Errorf("%w: field name %q", ErrInvalid, k)
		}
		if len(v) > 1000 {
			return nil, fmt.Errorf("%w: field %s is longer than 1000 bytes", ErrInvalid, k)
		}
		old, had := j.Fields[k]
		if v == "" {
			delete(j.Fields, k)
		} else {
			j.Fields[k] = v
		}
		if k == "eta" && v != "" && (!had || old != v) {
			events = append(events, EventETASet)
		}
	}
	if j.WorkerPhone != "" && j.WorkerPhone == j.PartyNumber() {
		return nil, fmt.Errorf("%w: the field worker's phone is the customer's number", ErrInvalid)
	}
	return events, nil
}

// CreateJob stores a new job and fires "created" (and "eta_set" when it comes with an
// ETA). It returns the job and the alerts the rules produced.
func (s *Service) CreateJob(ctx context.Context, in JobInput) (store.DispatchJob, []store.AlertSend, error) {
	ref := strings.TrimSpace(in.Ref)
	if ref == "" || len(ref) > 64 || strings.ContainsAny(ref, " \t\r\n#/?") {
		return store.DispatchJob{}, nil, fmt.Errorf("%w: ref must be 1-64 characters without spaces, '#', '/' or '?'", ErrInvalid)
	}
	j := store.DispatchJob{Ref: ref}
	events, err := s.apply(ctx, &j, in, true)
	if err != nil {
		return j, nil, err
	}
	err = s.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		j, err = tx.SaveJob(j, s.now())
		return err
	})
	if errors.Is(err, store.ErrDuplicate) {
		return j, nil, fmt.Errorf("%w: job %s exists", ErrConflict, ref)
	}
	if err != nil {
		return j, nil, err
	}
	s.bus.Publish(event.Event{Type: event.JobCreated, Data: j})
	sends, err := s.fire(ctx, j, events)
	return j, sends, err
}

// UpdateJob changes a job and fires the events the change makes: "eta_set" when the
// ETA field changes, and the new status's name ("started", "completed", ...) when the
// status changes. A completed or cancelled job is ended, which ends its relays.
func (s *Service) UpdateJob(ctx context.Context, ref string, in JobInput) (store.DispatchJob, []store.AlertSend, error) {
	var j store.DispatchJob
	var events []string
	err := s.db.Update(ctx, func(tx *store.Tx) error {
		var err error
		if j, err = tx.JobByRef(ref); err != nil {
			return err
		}
		if events, err = s.apply(ctx, &j, in, false); err != nil {
			return err
		}
		j, err = tx.SaveJob(j, s.now())
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return j, nil, fmt.Errorf("%w: job %s", ErrNotFound, ref)
	}
	if err != nil {
		return j, nil, err
	}
	s.bus.Publish(event.Event{Type: event.JobUpdated, Data: j})
	sends, err := s.fire(ctx, j, events)
	return j, sends, err
}

// PostEvent fires a job event by name (a custom one, or a built-in one by hand),
// after merging fields into the job.
func (s *Service) PostEvent(ctx context.Context, ref, name string, fields map[string]string) ([]store.AlertSend, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" || len(name) > 64 {
		return nil, fmt.Errorf("%w: event name must be 1-64 characters", ErrInvalid)
	}
	j, err := s.db.JobByRef(ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: job %s", ErrNotFound, ref)
	}
	if err != nil {
		return nil, err
	}
	if len(fields) > 0 {
		if j, _, err = s.UpdateJob(ctx, ref, JobInput{Fields: fields}); err != nil {
			return nil, err
		}
	}
	return s.fire(ctx, j, []string{name})
}

// Job returns a job by reference.
func (s *Service) Job(ctx context.Context, ref string) (store.DispatchJob, error) {
	j, err := s.db.JobByRef(ctx, ref)
	if errors.Is(err, store.ErrNotFound) {
		return j, fmt.Errorf("%w: job %s", ErrNotFound, ref)
	}
	return j, err
}

// matches reports whether the job passes a rule's filters: each filter names a job
// field (or status, line, worker, customer) and a value; "*" asks for any non-empty
// value and "a|b" for one of several, case-insensitively.
func matches(j store.DispatchJob, filters map[string]string) bool {
	for k, want := range filters {
		var have string
		switch k {
		case "status", "job.status":
			have = j.Status
		case "line":
			have = j.Line
		case "worker", "worker.name":
			have = j.WorkerName
		case "customer", "customer.name":
			have = j.CustomerName
		default:
			have = j.Fields[strings.TrimPrefix(strings.TrimPrefix(k, "job."), "fields.")]
		}
		if want == "*" {
			if have == "" {
				return false
			}
			continue
		}
		ok := false
		for _, alt := range strings.Split(want, "|") {
			ok = ok || strings.EqualFold(strings.TrimSpace(alt), have)
		}
		if !ok {
			return false
		}
	}
	return true
}

// recipient resolves one recipient of a rule to a name and number ("" when the job
// has nobody there).
func (s *Service) recipient(j store.DispatchJob, r string) (name, number string) {
	switch strings.ToLower(r) {
	case RecipientCustomer:
		return j.CustomerName, j.CustomerNumber
	case RecipientSite:
		return j.SiteName, j.SiteNumber
	case RecipientBilling:
		return j.BillingName, j.BillingNumber
	case RecipientWorker:
		return j.WorkerName, j.WorkerPhone
	}
	n, err := s.rt.NormalizeNumber(r)
	if err != nil || !isPhone(n) {
		return "", ""
	}
	return "", n
}

// isPhone: an E.164 number (or a short code), not an alphanumeric sender id.
func isPhone(n string) bool {
	if n == "" {
		return false
	}
	for i, c := range n {
		if (c < '0' || c > '9') && (i > 0 || c != '+') {
			return false
		}
	}
	return true
}

// fire runs the enabled rules of each event on the job: render, check opt-out and
// block, dedupe, delay while chatting, record, and send what is due now.
func (s *Service) fire(ctx context.Context, j store.DispatchJob, events []string) ([]store.AlertSend, error) {
	var out []store.AlertSend
	for _, ev := range events {
		s.bus.Publish(event.Event{Type: event.JobEvent, Data: map[string]any{"job_ref": j.Ref, "job_id": j.ID, "event": ev}})
		rules, err := s.db.AlertRules(ctx, ev)
		if err != nil {
			return out, err
		}
		for _, rule := range rules {
			if !matches(j, rule.Filters) {
				continue
			}
			tpl, err := s.db.AlertTemplate(ctx, rule.TemplateID)
			if err != nil {
				return out, err
			}
			seen := map[string]bool{}
			for _, rc := range rule.Recipients {
				name, number := s.recipient(j, rc)
				if number == "" || seen[number] {
					continue
				}
				seen[number] = true
				sd, err := s.prepare(ctx, j, rule, tpl, ev, name, number)
				if err != nil {
					return out, err
				}
				out = append(out, sd)
			}
		}
	}
	if _, err := s.DispatchDue(ctx); err != nil {
		return out, err
	}
	// Report the state after dispatch.
	for i := range out {
		if sends, err := s.db.AlertSendsOfJob(ctx, j.ID, 500); err == nil {
			for _, x := range sends {
				if x.ID == out[i].ID {
					out[i] = x
				}
			}
		}
	}
	return out, nil
}

// prepare records one alert: skipped (opted out, blocked, duplicate), or pending with
// its due time (now, or after the chat quiets down).
func (s *Service) prepare(ctx context.Context, j store.DispatchJob, rule store.AlertRule, tpl store.AlertTemplate, ev, name, number string) (store.AlertSend, error) {
	now := s.now()
	body, _ := Render(tpl.Body, Vars(j, name, number))
	line := rule.Line
	if line == "" {
		line = j.Line
	}
	if line == "" {
		line = s.cfg.DefaultLine
	}
	sd := store.AlertSend{RuleID: rule.ID, JobID: j.ID, Event: ev, Recipient: number, Line: line, Body: body,
		State: store.SendPending, DueAt: now}
	switch c, err := s.db.ContactByNumber(ctx, number); {
	case err == nil && c.OptedOut:
		sd.State, sd.Reason = store.SendSkipped, "the contact opted out of automated messages"
	case err == nil && c.Blocked:
		sd.State, sd.Reason = store.SendSkipped, "the contact is blocked"
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return sd, err
	}
	if body == "" && sd.State == store.SendPending {
		sd.State, sd.Reason = store.SendSkipped, "the template rendered to an empty text"
	}
	if line == "" && sd.State == store.SendPending {
		sd.State, sd.Reason = store.SendFailed, "no line to send from: set one on the rule, the job or alerts.line"
	}
	if sd.State == store.SendPending && s.cfg.ChatDelay > 0 {
		last, err := s.db.ChatActivity(ctx, number)
		if err != nil {
			return sd, err
		}
		if until := last.Add(s.cfg.ChatDelay); !last.IsZero() && until.After(now) {
			sd.DueAt, sd.Reason = until, "held: the contact is chatting"
		}
	}
	window := rule.DedupeWindow
	if window <= 0 {
		window = s.cfg.DedupeWindow
	}
	rec, dup, err := s.db.AddAlertSend(ctx, sd, now.Add(-window), now)
	if err != nil {
		return sd, err
	}
	if dup {
		sd.State, sd.Reason, sd.DueAt = store.SendSkipped, fmt.Sprintf("duplicate: already sent within %s", window), now
		rec, _, err = s.db.AddAlertSend(ctx, sd, now, now)
		if err != nil {
			return sd, err
		}
	}
	return rec, nil
}

// DispatchDue sends the alerts that are due, holding again those whose contact is
// still chatting (up to ChatDelayMax after they were made). It returns how many it
// handed to the queue.
func (s *Service) DispatchDue(ctx context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	due, err := s.db.DueAlertSends(ctx, now, 100)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, sd := range due {
		if s.cfg.ChatDelay > 0 && now.Before(sd.CreatedAt.Add(s.cfg.ChatDelayMax)) {
			last, err := s.db.ChatActivity(ctx, sd.Recipient)
			if err != nil {
				return n, err
			}
			if until := last.Add(s.cfg.ChatDelay); !last.IsZero() && until.After(now) {
				if _, err := s.db.UpdateAlertSend(ctx, sd.ID, store.SendPending, "held: the contact is chatting", 0, until, now); err != nil {
					return n, err
				}
				continue
			}
		}
		j, err := s.db.Job(ctx, sd.JobID)
		if err != nil {
			return n, err
		}
		id, err := s.rt.SendAutomated(ctx, router.System, router.Automated{To: sd.Recipient, Line: sd.Line, Body: sd.Body,
			JobRef: j.Ref, JobOwnerID: j.DispatcherID, IdempotencyKey: fmt.Sprintf("alert:%d", sd.ID)})
		state, reason := store.SendSent, ""
		switch {
		case errors.Is(err, router.ErrOptedOut) || errors.Is(err, router.ErrBlocked):
			state, reason = store.SendSkipped, err.Error()
		case err != nil && ctx.Err() != nil:
			return n, ctx.Err()
		case err != nil:
			state, reason = store.SendFailed, err.Error()
		}
		if _, err := s.db.UpdateAlertSend(ctx, sd.ID, state, reason, id, time.Time{}, s.now()); err != nil {
			return n, err
		}
		if state == store.SendSent {
			n++
			sd.State, sd.MessageID = state, id
			s.bus.Publish(event.Event{Type: event.BusinessAlertSent, Data: sd})
		} else {
			s.log.Warn("business alert not sent", "job", j.Ref, "to", sd.Recipient, "state", state, "reason", reason)
		}
	}
	return n, nil
}

// Notify wakes Run to look for due alerts.
func (s *Service) Notify() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// emailResponse mails "customer SMS response received" to the job's dispatcher, or to
// EmailTo when the job has no dispatcher with an address.
func (s *Service) emailResponse(ctx context.Context, r router.JobResponse) error {
	if s.mail == nil {
		return nil
	}
	var to []string
	if r.DispatcherID != 0 {
		if u, err := s.db.User(ctx, r.DispatcherID); err == nil && u.Email != "" && !u.Disabled {
			to = []string{u.Email}
		}
	}
	if len(to) == 0 {
		to = s.cfg.EmailTo
	}
	if len(to) == 0 {
		return nil
	}
	subject := fmt.Sprintf("Customer replied to job #%s: %s", r.JobRef, r.From)
	var b strings.Builder
	fmt.Fprintf(&b, "Customer SMS response received for job #%s.\n\n", r.JobRef)
	fmt.Fprintf(&b, "From:     %s (%s)\n", r.CustomerName, r.From)
	fmt.Fprintf(&b, "Line:     %s\n", r.Line)
	if r.RelayedTo != "" {
		fmt.Fprintf(&b, "Relayed:  to the field worker at %s\n", r.RelayedTo)
	}
	fmt.Fprintf(&b, "\nMessage:\n%s\n", r.Body)
	if s.cfg.PublicURL != "" {
		fmt.Fprintf(&b, "\nOpen the conversation: %s/conversations/%d\n", strings.TrimRight(s.cfg.PublicURL, "/"), r.ConversationID)
	}
	return s.mail.Send(ctx, to, subject, b.String())
}
