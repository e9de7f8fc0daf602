package smsgate

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/smsgw/smsgw/queue"
	"github.com/smsgw/smsgw/store"
	"github.com/smsgw/smsgw/webhook"
)

const metaSettings = "smsgate_settings"

// Settings is the part of upstream's DeviceSettings the appliance keeps. webhooks.*,
// ping.* and messages.send_interval_* / limit_* (through the queue's pacing of every
// modem) are honoured; the other messages.* keys (SIM choice, processing order, work
// hours) and logs.* are validated, stored and echoed. Other sections (gateway,
// encryption, receiver) are accepted and ignored.
type Settings struct {
	Messages *SettingsMessages `json:"messages,omitempty"`
	Webhooks *SettingsWebhooks `json:"webhooks,omitempty"`
	Ping     *SettingsPing     `json:"ping,omitempty"`
	Logs     *SettingsLogs     `json:"logs,omitempty"`
}

// SettingsMessages are upstream's messages.* keys; the send intervals and the limit are
// applied (see Settings.pacing), the rest stored.
type SettingsMessages struct {
	SendIntervalMin  *int    `json:"send_interval_min,omitempty"`
	SendIntervalMax  *int    `json:"send_interval_max,omitempty"`
	LimitPeriod      *string `json:"limit_period,omitempty"`
	LimitValue       *int    `json:"limit_value,omitempty"`
	SimSelectionMode *string `json:"sim_selection_mode,omitempty"`
	LogLifetimeDays  *int    `json:"log_lifetime_days,omitempty"`
	ProcessingOrder  *string `json:"processing_order,omitempty"`
	WorkHoursEnabled *bool   `json:"work_hours_enabled,omitempty"`
	WorkHoursStart   *string `json:"work_hours_start,omitempty"`
	WorkHoursEnd     *string `json:"work_hours_end,omitempty"`
}

// SettingsWebhooks are the webhooks.* keys: retry_count and signing_key are applied
// to every SMSGate webhook; the signing key is write-only.
type SettingsWebhooks struct {
	InternetRequired *bool   `json:"internet_required,omitempty"`
	RetryCount       *int    `json:"retry_count,omitempty"`
	SigningKey       *string `json:"signing_key,omitempty"`
}

// SettingsPing is ping.interval_seconds: how often system:ping is sent (0: never).
type SettingsPing struct {
	IntervalSeconds *int `json:"interval_seconds,omitempty"`
}

// SettingsLogs is logs.lifetime_days (stored, not applied).
type SettingsLogs struct {
	LifetimeDays *int `json:"lifetime_days,omitempty"`
}

func (s Settings) signingKey() string {
	if s.Webhooks != nil && s.Webhooks.SigningKey != nil {
		return *s.Webhooks.SigningKey
	}
	return ""
}

// limitPeriods are upstream's limit_period values.
var limitPeriods = map[string]time.Duration{"PerMinute": time.Minute, "Per30Minutes": 30 * time.Minute,
	"PerHour": time.Hour, "PerDay": 24 * time.Hour}

// pacing maps messages.send_interval_min/max (seconds between two SMS of a device) and
// messages.limit_value per limit_period onto the queue's pacing of every modem.
func (s Settings) pacing() queue.Pacing {
	var p queue.Pacing
	m := s.Messages
	if m == nil {
		return p
	}
	if m.SendIntervalMin != nil {
		p.IntervalMin = time.Duration(*m.SendIntervalMin) * time.Second
	}
	if m.SendIntervalMax != nil {
		p.IntervalMax = time.Duration(*m.SendIntervalMax) * time.Second
	}
	if p.IntervalMax < p.IntervalMin {
		p.IntervalMax = p.IntervalMin
	}
	if m.LimitPeriod != nil && m.LimitValue != nil && *m.LimitValue > 0 {
		if d, ok := limitPeriods[*m.LimitPeriod]; ok {
			p.Limit, p.Period = *m.LimitValue, d
		}
	}
	return p
}

func (s Settings) retryCount() int {
	if s.Webhooks != nil && s.Webhooks.RetryCount != nil {
		return *s.Webhooks.RetryCount
	}
	return webhook.SMSGateRetryCount
}

// settings returns the stored settings, creating the signing key on first use.
func (a *API) settings(ctx context.Context) (Settings, error) {
	a.setMu.Lock()
	defer a.setMu.Unlock()
	return a.loadSettings(ctx)
}

func (a *API) loadSettings(ctx context.Context) (Settings, error) {
	var s Settings
	v, err := a.d.DB.Meta(ctx, metaSettings)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return s, err
	default:
		if err := json.Unmarshal([]byte(v), &s); err != nil {
			return s, fmt.Errorf("smsgate: stored settings: %w", err)
		}
	}
	if s.signingKey() == "" {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return s, err
		}
		key := base64.RawURLEncoding.EncodeToString(b)
		if s.Webhooks == nil {
			s.Webhooks = &SettingsWebhooks{}
		}
		s.Webhooks.SigningKey = &key
		if err := a.saveSettings(ctx, s); err != nil {
			return s, err
		}
	}
	return s, nil
}

func (a *API) saveSettings(ctx context.Context, s Settings) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := a.d.DB.SetMeta(ctx, metaSettings, string(b)); err != nil {
		return err
	}
	a.d.Queue.SetPacing(s.pacing())
	return a.d.DB.SetSMSGateWebhookPolicy(ctx, s.signingKey(), s.retryCount())
}

// SigningKey returns the key SMSGate webhooks are signed with (for the operator and
// tests; the API never shows it).
func (a *API) SigningKey(ctx context.Context) (string, error) {
	s, err := a.settings(ctx)
	return s.signingKey(), err
}

func (a *API) pingInterval(ctx context.Context) time.Duration {
	s, err := a.settings(ctx)
	if err == nil && s.Ping != nil && s.Ping.IntervalSeconds != nil {
		return time.Duration(*s.Ping.IntervalSeconds) * time.Second
	}
	return a.d.PingInterval
}

// public is the settings as GET shows them: the signing key is never echoed.
func public(s Settings) Settings {
	if s.Webhooks != nil {
		w := *s.Webhooks
		w.SigningKey = nil
		s.Webhooks = &w
	}
	if s.Ping == nil {
		s.Ping = &SettingsPing{}
	}
	return s
}

func (a *API) getSettings(w http.ResponseWriter, r *http.Request, _ Principal) error {
	s, err := a.settings(r.Context())
	if err != nil {
		return err
	}
	out := public(s)
	if out.Ping.IntervalSeconds == nil {
		iv := int(a.d.PingInterval / time.Second)
		out.Ping.IntervalSeconds = &iv
	}
	if out.Webhooks.RetryCount == nil {
		rc := webhook.SMSGateRetryCount
		out.Webhooks.RetryCount = &rc
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func positive(name string, v *int, lo int) error {
	if v != nil && *v < lo {
		return badRequest(fmt.Sprintf("%s must be at least %d", name, lo))
	}
	return nil
}

func oneOf(name string, v *string, choices ...string) error {
	if v == nil {
		return nil
	}
	for _, c := range choices {
		if *v == c {
			return nil
		}
	}
	return badRequest(fmt.Sprintf("%s must be one of %v", name, choices))
}

func clock(name string, v *string) error {
	if v == nil {
		return nil
	}
	if _, err := time.Parse("15:04", *v); err != nil {
		return badRequest(name + ` must be a time of day such as "08:30"`)
	}
	return nil
}

func (s Settings) validate() error {
	var errs []error
	if m := s.Messages; m != nil {
		errs = append(errs, positive("messages.send_interval_min", m.SendIntervalMin, 0),
			positive("messages.send_interval_max", m.SendIntervalMax, 0),
			positive("messages.limit_value", m.LimitValue, 0),
			positive("messages.log_lifetime_days", m.LogLifetimeDays, 1),
			oneOf("messages.limit_period", m.LimitPeriod, "Disabled", "PerMinute", "Per30Minutes", "PerHour", "PerDay"),
			oneOf("messages.sim_selection_mode", m.SimSelectionMode, "OSDefault", "RoundRobin", "Random"),
			oneOf("messages.processing_order", m.ProcessingOrder, "LIFO", "FIFO"),
			clock("messages.work_hours_start", m.WorkHoursStart), clock("messages.work_hours_end", m.WorkHoursEnd))
		if m.SendIntervalMin != nil && m.SendIntervalMax != nil && *m.SendIntervalMax < *m.SendIntervalMin {
			errs = append(errs, badRequest("messages.send_interval_max must not be below send_interval_min"))
		}
	}
	if wh := s.Webhooks; wh != nil {
		errs = append(errs, positive("webhooks.retry_count", wh.RetryCount, 1))
		if wh.RetryCount != nil && *wh.RetryCount > 30 {
			errs = append(errs, badRequest("webhooks.retry_count must be at most 30"))
		}
		if wh.SigningKey != nil && (len(*wh.SigningKey) < 1 || len(*wh.SigningKey) > 256) {
			errs = append(errs, badRequest("webhooks.signing_key must be 1-256 characters"))
		}
	}
	if s.Ping != nil {
		errs = append(errs, positive("ping.interval_seconds", s.Ping.IntervalSeconds, 0))
	}
	if s.Logs != nil {
		errs = append(errs, positive("logs.lifetime_days", s.Logs.LifetimeDays, 1))
	}
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// merge overlays the non-null fields of patch onto s.
func merge(s, patch Settings) Settings {
	mergeInto(&s.Messages, patch.Messages)
	mergeInto(&s.Webhooks, patch.Webhooks)
	mergeInto(&s.Ping, patch.Ping)
	mergeInto(&s.Logs, patch.Logs)
	return s
}

func mergeInto[T any](dst **T, src *T) {
	if src == nil {
		return
	}
	if *dst == nil {
		c := *src
		*dst = &c
		return
	}
	// Round-trip through JSON: fields absent (nil) in src keep dst's values.
	b, _ := json.Marshal(src)
	cur := **dst
	_ = json.Unmarshal(b, &cur)
	*dst = &cur
}

// updateSettings is PATCH (merge) and PUT (replace; the signing key is kept unless
// given) of /settings. Unknown sections and keys are accepted and ignored.
func (a *API) updateSettings(replace bool) handler {
	return func(w http.ResponseWriter, r *http.Request, _ Principal) error {
		var in Settings
		if err := decode(r, &in); err != nil {
			return err
		}
		if err := in.validate(); err != nil {
			return err
		}
		ctx := r.Context()
		a.setMu.Lock()
		defer a.setMu.Unlock()
		cur, err := a.loadSettings(ctx)
		if err != nil {
			return err
		}
		var next Settings
		if replace {
			key := cur.signingKey()
			next = in
			if next.signingKey() == "" {
				if next.Webhooks == nil {
					next.Webhooks = &SettingsWebhooks{}
				}
				next.Webhooks.SigningKey = &key
			}
		} else {
			next = merge(cur, in)
		}
		if err := a.saveSettings(ctx, next); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, public(next))
		return nil
	}
}
