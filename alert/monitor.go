package alert

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/modem"
	"github.com/smsgw/smsgw/store"
)

// Names of the system checks.
const (
	CheckModemOffline      = "modem_offline"
	CheckModemUnregistered = "modem_unregistered"
	CheckWeakSignal        = "weak_signal"
	CheckSIMStorage        = "sim_storage"
	CheckLowBalance        = "low_balance"
	CheckQueueBacklog      = "queue_backlog"
	CheckQueueOldest       = "queue_oldest"
	CheckFailureRate       = "failure_rate"
	CheckQuota             = "quota"
	CheckWebhookFailing    = "webhook_failing"
)

// Condition is what a check found about one subject. A subject a check does not
// report on keeps its incident as it is.
type Condition struct {
	Check    string
	Subject  string // a modem name, a webhook URL, or ""
	Severity string // info, warning, critical
	Message  string
	Firing   bool
}

// Check is one source of system alerts.
type Check interface {
	Name() string
	Evaluate(ctx context.Context, now time.Time) ([]Condition, error)
}

// CheckFunc adapts a function to Check.
type CheckFunc struct {
	CheckName string
	Fn        func(ctx context.Context, now time.Time) ([]Condition, error)
}

// Name returns the check's name.
func (c CheckFunc) Name() string { return c.CheckName }

// Evaluate runs the function.
func (c CheckFunc) Evaluate(ctx context.Context, now time.Time) ([]Condition, error) {
	return c.Fn(ctx, now)
}

// ModemInfo is one modem as the monitor sees it.
type ModemInfo struct {
	Name string
	Line string // the line its route serves: on-call SMS go out on it
	// Status reads the session's cached status (never AT commands).
	Status func() modem.Status
	// USSD asks the network (nil: no balance checks for this modem).
	USSD func(ctx context.Context, code string) (string, error)
	// Quota is the SIM's monthly quota in parts (0: none).
	Quota int
}

// Thresholds of the system checks. Zero values take the defaults noted.
type Thresholds struct {
	WeakSignalDBm   int           // below this (and known) is weak; default -105 dBm
	StorageRatio    float64       // SIM storage used/total at or above; default 0.8
	BalanceCode     string        // USSD code of the balance check; "" turns it off
	BalanceMin      float64       // balance below this fires
	BalanceInterval time.Duration // between balance checks; default 6 h
	BacklogParts    int           // queued parts at or above; default 500
	OldestAge       time.Duration // oldest queued part older than; default 30 min
	FailureRate     float64       // failed/unknown/expired share of finished parts; default 0.2
	FailureMin      int           // finished parts in the window before the rate counts; default 20
	FailureWindow   time.Duration // default 15 min
	QuotaRatio      float64       // monthly quota use at or above; default 0.9
	WebhookFailures int           // consecutive failed deliveries; default 5
}

func (t *Thresholds) defaults() {
	if t.WeakSignalDBm == 0 {
		t.WeakSignalDBm = -105
	}
	if t.StorageRatio <= 0 {
		t.StorageRatio = 0.8
	}
	if t.BalanceInterval <= 0 {
		t.BalanceInterval = 6 * time.Hour
	}
	if t.BacklogParts <= 0 {
		t.BacklogParts = 500
	}
	if t.OldestAge <= 0 {
		t.OldestAge = 30 * time.Minute
	}
	if t.FailureRate <= 0 {
		t.FailureRate = 0.2
	}
	if t.FailureMin <= 0 {
		t.FailureMin = 20
	}
	if t.FailureWindow <= 0 {
		t.FailureWindow = 15 * time.Minute
	}
	if t.QuotaRatio <= 0 {
		t.QuotaRatio = 0.9
	}
	if t.WebhookFailures <= 0 {
		t.WebhookFailures = 5
	}
}

// MonitorConfig configures the system alert monitor.
type MonitorConfig struct {
	// Interval between evaluations. Default 15 s.
	Interval time.Duration
	// FireAfter: a condition must hold this long before it fires (no alert for a
	// modem that reconnects within seconds). 0 fires at once.
	FireAfter  time.Duration
	Thresholds Thresholds
	// OnCall gets system alerts by SMS, through a healthy modem other than the one the
	// alert is about ("" = no SMS).
	OnCall string
	// EmailTo gets system alerts by email.
	EmailTo []string
}

// MonitorDeps are the monitor's sources and channels. DB and Bus are required; a nil
// source leaves its checks out.
type MonitorDeps struct {
	DB     *store.DB
	Bus    *event.Bus
	Mail   Mailer
	Modems []ModemInfo
	// QueueStats is queue.Queue.Stats: parts by state and the oldest queued part.
	QueueStats func() (map[string]int, time.Time)
	// Usage counts a modem's submitted parts since a time (store.DB.SubmittedSince).
	Usage func(ctx context.Context, modem string, since time.Time) (int, error)
	// WebhookFailures returns consecutive failed deliveries by endpoint.
	WebhookFailures func(ctx context.Context) (map[string]int, error)
	// SendSMS queues an SMS on a line, idempotent by key.
	SendSMS func(ctx context.Context, to, line, body, key string) error
	Now     func() time.Time
	Log     *slog.Logger
}

// Monitor evaluates the checks, opens one incident per (check, subject) when a
// condition starts, closes it when it ends, and notifies each channel once per change.
type Monitor struct {
	cfg    MonitorConfig
	d      MonitorDeps
	checks []Check

	mu      sync.Mutex
	pending map[string]time.Time // condition key → firing since (FireAfter)
	firing  map[string]string    // condition key → check, for incidents firing now
	balance map[string]float64   // modem → last balance read by USSD
}

// NewMonitor builds a monitor with the checks its deps allow.
func NewMonitor(cfg MonitorConfig, d MonitorDeps) *Monitor {
	if cfg.Interval <= 0 {
		cfg.Interval = 15 * time.Second
	}
	cfg.Thresholds.defaults()
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	m := &Monitor{cfg: cfg, d: d, pending: map[string]time.Time{}, firing: map[string]string{}, balance: map[string]float64{}}
	if len(d.Modems) > 0 {
		m.checks = append(m.checks, CheckFunc{"modems", m.checkModems})
		if cfg.Thresholds.BalanceCode != "" {
			b := &balanceCheck{m: m, last: map[string]time.Time{}, cond: map[string]Condition{}}
			m.checks = append(m.checks, CheckFunc{CheckLowBalance, b.evaluate})
		}
		if d.Usage != nil {
			m.checks = append(m.checks, CheckFunc{CheckQuota, m.checkQuota})
		}
	}
	if d.QueueStats != nil {
		f := &failureCheck{m: m}
		m.checks = append(m.checks, CheckFunc{"queue", m.checkQueue}, CheckFunc{CheckFailureRate, f.evaluate})
	}
	if d.WebhookFailures != nil {
		m.checks = append(m.checks, CheckFunc{CheckWebhookFailing, m.checkWebhooks})
	}
	return m
}

// AddCheck adds a check (before Run).
func (m *Monitor) AddCheck(c Check) { m.checks = append(m.checks, c) }

// Run evaluates every Interval until ctx ends.
func (m *Monitor) Run(ctx context.Context) error {
	t := time.NewTicker(m.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := m.Tick(ctx); err != nil && ctx.Err() == nil {
			m.d.Log.Error("system alert checks", "error", err)
		}
	}
}

// Tick evaluates every check once and fires or clears incidents.
func (m *Monitor) Tick(ctx context.Context) error {
	for _, c := range m.checks {
		conds, err := c.Evaluate(ctx, m.d.Now())
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			m.d.Log.Warn("system check failed", "check", c.Name(), "error", err)
			continue
		}
		for _, cd := range conds {
			if err := m.apply(ctx, cd); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *Monitor) apply(ctx context.Context, cd Condition) error {
	now := m.d.Now()
	key := cd.Check + "\x00" + cd.Subject
	if !cd.Firing {
		m.mu.Lock()
		delete(m.pending, key)
		delete(m.firing, key)
		m.mu.Unlock()
		a, cleared, err := m.d.DB.ClearSystemAlert(ctx, cd.Check, cd.Subject, now)
		if err != nil || !cleared {
			return err
		}
		m.d.Log.Info("system alert cleared", "check", a.Check, "subject", a.Subject)
		m.notify(ctx, a, false)
		return nil
	}
	m.mu.Lock()
	since, ok := m.pending[key]
	if !ok {
		since = now
		m.pending[key] = now
	}
	m.mu.Unlock()
	if now.Sub(since) < m.cfg.FireAfter {
		return nil
	}
	if cd.Severity == "" {
		cd.Severity = "warning"
	}
	a, created, err := m.d.DB.FireSystemAlert(ctx, store.SystemAlert{Check: cd.Check, Subject: cd.Subject,
		Severity: cd.Severity, Message: cd.Message}, now)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.firing[key] = cd.Check
	m.mu.Unlock()
	if !created {
		return nil
	}
	m.d.Log.Warn("system alert", "check", a.Check, "subject", a.Subject, "message", a.Message)
	m.notify(ctx, a, true)
	return nil
}

// healthyLine returns the line of a ready, registered modem other than avoid.
func (m *Monitor) healthyLine(avoid string) string {
	for _, mi := range m.d.Modems {
		if mi.Name == avoid || mi.Status == nil {
			continue
		}
		if st := mi.Status(); st.State == modem.StateReady && st.Registered {
			return mi.Line
		}
	}
	return ""
}

// notify delivers a change on every channel: in-app and webhook (the bus event and the
// stored incident), email, and SMS to the on-call number through a healthy modem.
func (m *Monitor) notify(ctx context.Context, a store.SystemAlert, fired bool) {
	typ, word, short := event.SystemAlertFired, "ALERT", "ALERT"
	if !fired {
		typ, word, short = event.SystemAlertCleared, "resolved", "OK"
	}
	m.d.Bus.Publish(event.Event{Type: typ, Data: a})
	channels := []string{"inapp", "webhook"}
	text := a.Message
	if !fired {
		text = "resolved: " + a.Message
	}
	if m.d.Mail != nil && len(m.cfg.EmailTo) > 0 {
		body := fmt.Sprintf("%s\n\nCheck:   %s\nSubject: %s\nState:   %s\nSince:   %s\n", text, a.Check, a.Subject, a.State,
			a.FiredAt.Format(time.RFC3339))
		if err := m.d.Mail.Send(ctx, m.cfg.EmailTo, "[smsgw] "+word+": "+a.Message, body); err != nil {
			m.d.Log.Warn("system alert email", "check", a.Check, "error", err)
		} else {
			channels = append(channels, "email")
		}
	}
	if m.cfg.OnCall != "" && m.d.SendSMS != nil {
		line := m.healthyLine(a.Subject)
		key := fmt.Sprintf("sysalert:%d:%s", a.ID, a.State)
		switch {
		case line == "":
			m.d.Log.Warn("no healthy modem to text the on-call number", "check", a.Check)
		default:
			if err := m.d.SendSMS(ctx, m.cfg.OnCall, line, "smsgw "+short+": "+text, key); err != nil {
				m.d.Log.Warn("system alert SMS", "check", a.Check, "error", err)
			} else {
				channels = append(channels, "sms")
			}
		}
	}
	if fired {
		if err := m.d.DB.NoteSystemAlertNotified(ctx, a.ID, strings.Join(channels, ","), m.d.Now()); err != nil {
			m.d.Log.Warn("note system alert channels", "error", err)
		}
	}
}

// checkModems: offline (not ready), and for ready modems: not registered, weak signal,
// SIM storage nearly full.
func (m *Monitor) checkModems(_ context.Context, _ time.Time) ([]Condition, error) {
	th := m.cfg.Thresholds
	var out []Condition
	for _, mi := range m.d.Modems {
		if mi.Status == nil {
			continue
		}
		st := mi.Status()
		ready := st.State == modem.StateReady
		msg := fmt.Sprintf("modem %s is offline (%s)", mi.Name, st.State)
		if st.LastError != "" {
			msg += ": " + st.LastError
		}
		out = append(out, Condition{Check: CheckModemOffline, Subject: mi.Name, Severity: "critical", Message: msg, Firing: !ready})
		if !ready {
			// The offline incident covers the rest; end theirs.
			for _, c := range []string{CheckModemUnregistered, CheckWeakSignal, CheckSIMStorage} {
				out = append(out, Condition{Check: c, Subject: mi.Name})
			}
			continue
		}
		out = append(out, Condition{Check: CheckModemUnregistered, Subject: mi.Name, Severity: "critical",
			Message: fmt.Sprintf("modem %s is not registered on the network (%s)", mi.Name, st.Registration),
			Firing:  !st.Registered})
		weak := st.SignalDBm != 0 && st.SignalDBm < th.WeakSignalDBm
		out = append(out, Condition{Check: CheckWeakSignal, Subject: mi.Name,
			Message: fmt.Sprintf("modem %s has a weak signal: %d dBm (below %d)", mi.Name, st.SignalDBm, th.WeakSignalDBm),
			Firing:  weak})
		full, detail := len(st.StorageFull) > 0, strings.Join(st.StorageFull, ", ")+" full"
		for _, u := range st.Storage {
			if u.Total > 0 && float64(u.Used)/float64(u.Total) >= th.StorageRatio && !full {
				full, detail = true, fmt.Sprintf("%s %d/%d", u.Name, u.Used, u.Total)
			}
		}
		out = append(out, Condition{Check: CheckSIMStorage, Subject: mi.Name,
			Message: fmt.Sprintf("modem %s SIM storage is nearly full (%s)", mi.Name, detail), Firing: full})
	}
	return out, nil
}

// amountRE finds the first amount in a balance answer ("Your balance is 12.34 EUR").
var amountRE = regexp.MustCompile(`-?\d+(?:[.,]\d+)?`)

// ParseBalance returns the first amount in a USSD balance answer.
func ParseBalance(text string) (float64, bool) {
	s := amountRE.FindString(text)
	if s == "" {
		return 0, false
	}
	v, err := strconv.ParseFloat(strings.Replace(s, ",", ".", 1), 64)
	return v, err == nil
}

// balanceCheck asks each ready modem's network for the balance every BalanceInterval.
type balanceCheck struct {
	m    *Monitor
	last map[string]time.Time
	cond map[string]Condition // the last answer's condition, reported on every tick
}

func (b *balanceCheck) evaluate(ctx context.Context, now time.Time) ([]Condition, error) {
	th := b.m.cfg.Thresholds
	var out []Condition
	for _, mi := range b.m.d.Modems {
		if mi.USSD == nil || mi.Status == nil || mi.Status().State != modem.StateReady {
			continue
		}
		if t, ok := b.last[mi.Name]; ok && now.Sub(t) < th.BalanceInterval {
			if c, ok := b.cond[mi.Name]; ok {
				out = append(out, c)
			}
			continue
		}
		b.last[mi.Name] = now
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		text, err := mi.USSD(cctx, th.BalanceCode)
		cancel()
		if err != nil {
			b.m.d.Log.Warn("balance check", "modem", mi.Name, "error", err)
			continue
		}
		v, ok := ParseBalance(text)
		if !ok {
			b.m.d.Log.Warn("balance answer has no amount", "modem", mi.Name, "answer", text)
			continue
		}
		b.m.mu.Lock()
		b.m.balance[mi.Name] = v
		b.m.mu.Unlock()
		c := Condition{Check: CheckLowBalance, Subject: mi.Name,
			Message: fmt.Sprintf("modem %s balance is %.2f (below %.2f)", mi.Name, v, th.BalanceMin), Firing: v < th.BalanceMin}
		b.cond[mi.Name] = c
		out = append(out, c)
	}
	return out, nil
}

// checkQueue: backlog and the age of the oldest queued part.
func (m *Monitor) checkQueue(_ context.Context, now time.Time) ([]Condition, error) {
	th := m.cfg.Thresholds
	parts, oldest := m.d.QueueStats()
	queued := parts[store.PartQueued]
	age := time.Duration(0)
	if !oldest.IsZero() {
		age = now.Sub(oldest)
	}
	return []Condition{
		{Check: CheckQueueBacklog, Message: fmt.Sprintf("%d parts are waiting in the queue (limit %d)", queued, th.BacklogParts),
			Firing: queued >= th.BacklogParts},
		{Check: CheckQueueOldest, Message: fmt.Sprintf("the oldest queued part has waited %s (limit %s)",
			age.Round(time.Second), th.OldestAge), Firing: age >= th.OldestAge},
	}, nil
}

// failureCheck compares the finished parts now with FailureWindow ago.
type failureCheck struct {
	m       *Monitor
	samples []failSample
}

type failSample struct {
	at        time.Time
	done, bad int
}

func (f *failureCheck) evaluate(_ context.Context, now time.Time) ([]Condition, error) {
	th := f.m.cfg.Thresholds
	parts, _ := f.m.d.QueueStats()
	bad := parts[store.PartFailed] + parts[store.PartUnknown] + parts[store.PartExpired]
	done := bad + parts[store.PartSent] + parts[store.PartDelivered]
	f.samples = append(f.samples, failSample{now, done, bad})
	for len(f.samples) > 1 && now.Sub(f.samples[1].at) >= th.FailureWindow {
		f.samples = f.samples[1:]
	}
	first := f.samples[0]
	dDone, dBad := done-first.done, bad-first.bad
	rate := 0.0
	if dDone > 0 {
		rate = float64(dBad) / float64(dDone)
	}
	return []Condition{{Check: CheckFailureRate, Message: fmt.Sprintf("%d of %d parts failed in the last %s (%.0f%%)",
		dBad, dDone, th.FailureWindow, 100*rate), Firing: dDone >= th.FailureMin && rate >= th.FailureRate}}, nil
}

// checkQuota: this month's parts per SIM against its quota.
func (m *Monitor) checkQuota(ctx context.Context, now time.Time) ([]Condition, error) {
	th := m.cfg.Thresholds
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, now.Location())
	var out []Condition
	for _, mi := range m.d.Modems {
		if mi.Quota <= 0 {
			continue
		}
		used, err := m.d.Usage(ctx, mi.Name, month)
		if err != nil {
			return out, err
		}
		out = append(out, Condition{Check: CheckQuota, Subject: mi.Name,
			Message: fmt.Sprintf("modem %s used %d of its monthly quota of %d", mi.Name, used, mi.Quota),
			Firing:  float64(used) >= th.QuotaRatio*float64(mi.Quota)})
	}
	return out, nil
}

// checkWebhooks: endpoints whose last deliveries all failed.
func (m *Monitor) checkWebhooks(ctx context.Context, _ time.Time) ([]Condition, error) {
	fails, err := m.d.WebhookFailures(ctx)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(fails))
	for k := range fails {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Condition
	for _, url := range keys {
		n := fails[url]
		out = append(out, Condition{Check: CheckWebhookFailing, Subject: url,
			Message: fmt.Sprintf("webhook %s failed %d deliveries in a row", url, n),
			Firing:  n >= m.cfg.Thresholds.WebhookFailures})
	}
	return out, nil
}
