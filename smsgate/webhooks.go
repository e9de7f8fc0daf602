package smsgate

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/store"
)

// SMSGate webhook events.
const (
	EventSMSReceived  = "sms:received"
	EventSMSSent      = "sms:sent"
	EventSMSDelivered = "sms:delivered"
	EventSMSFailed    = "sms:failed"
	EventSMSCancelled = "sms:cancelled"
	EventSystemPing   = "system:ping"
)

// supportedEvents can be registered; other upstream events (sms:data-received, mms:*,
// app:started, batch events) are answered 400 because the appliance never fires them.
var supportedEvents = []string{EventSMSReceived, EventSMSSent, EventSMSDelivered, EventSMSFailed, EventSMSCancelled, EventSystemPing}

type webhookJSON struct {
	ID       string  `json:"id"`
	DeviceID *string `json:"deviceId"`
	URL      string  `json:"url"`
	Event    string  `json:"event"`
}

func toWebhookJSON(h store.SMSGateWebhook) webhookJSON {
	j := webhookJSON{ID: h.ID, URL: h.URL, Event: h.Event}
	if h.DeviceID != "" {
		d := h.DeviceID
		j.DeviceID = &d
	}
	return j
}

func (a *API) listWebhooks(w http.ResponseWriter, r *http.Request, _ Principal) error {
	hs, err := a.d.DB.SMSGateWebhooks(r.Context())
	if err != nil {
		return err
	}
	out := make([]webhookJSON, 0, len(hs))
	for _, h := range hs {
		out = append(out, toWebhookJSON(h))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// checkWebhookURL requires https:// unless http:// is allowed by configuration.
func (a *API) checkWebhookURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || len(raw) > 2000 {
		return badRequest("url must be an absolute https:// URL without credentials")
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		if a.d.AllowHTTPWebhooks {
			return nil
		}
		return badRequest("url must start with https:// (http:// needs smsgate.allow_http_webhooks in the appliance's configuration)")
	}
	return badRequest("url must be an https:// URL")
}

// registerWebhook is POST /webhooks: an upsert by id (generated when absent), 201 with
// the registration.
func (a *API) registerWebhook(w http.ResponseWriter, r *http.Request, p Principal) error {
	ctx := r.Context()
	var in webhookJSON
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.ID == "" {
		in.ID = newID()
	} else if !validID(in.ID, 36) {
		return badRequest("id must be 1-36 characters without spaces, control characters, '/', '?', '#' or '%'")
	}
	if err := a.checkWebhookURL(in.URL); err != nil {
		return err
	}
	known := false
	for _, e := range supportedEvents {
		known = known || e == in.Event
	}
	if !known {
		return badRequest("event " + strconv.Quote(in.Event) + " is not supported; use one of " + strings.Join(supportedEvents, ", "))
	}
	h := store.SMSGateWebhook{ID: in.ID, URL: in.URL, Event: in.Event}
	if in.DeviceID != nil && *in.DeviceID != "" {
		ds, err := a.devices(ctx)
		if err != nil {
			return err
		}
		found := false
		for _, d := range ds {
			found = found || d.ID == *in.DeviceID
		}
		if !found {
			return badRequest("unknown deviceId " + strconv.Quote(*in.DeviceID))
		}
		h.DeviceID = *in.DeviceID
	}
	set, err := a.settings(ctx)
	if err != nil {
		return err
	}
	h, err = a.d.DB.SaveSMSGateWebhook(ctx, h, set.signingKey(), set.retryCount(), p.UserID, a.d.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toWebhookJSON(h))
	return nil
}

// deleteWebhook is DELETE /webhooks/{id}: 204, also for an unknown id.
func (a *API) deleteWebhook(w http.ResponseWriter, r *http.Request, _ Principal) error {
	if err := a.d.DB.DeleteSMSGateWebhook(r.Context(), mux.Vars(r)["id"]); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// envelope is what an SMSGate webhook receives.
type envelope struct {
	ID        string `json:"id"`
	WebhookID string `json:"webhookId"`
	Event     string `json:"event"`
	DeviceID  string `json:"deviceId"`
	Payload   any    `json:"payload"`
}

// queueEvent queues one delivery of event for every registration that wants it
// (deviceID "" reaches only registrations for every device).
func (a *API) queueEvent(ctx context.Context, ev, deviceID string, payload any) error {
	hs, err := a.d.DB.SMSGateWebhooks(ctx)
	if err != nil {
		return err
	}
	var ds []store.NewDelivery
	for _, h := range hs {
		if h.Event != ev || (h.DeviceID != "" && h.DeviceID != deviceID) {
			continue
		}
		env := envelope{ID: newID(), WebhookID: h.ID, Event: ev, DeviceID: deviceID, Payload: payload}
		body, err := json.Marshal(env)
		if err != nil {
			return err
		}
		ds = append(ds, store.NewDelivery{WebhookID: h.WebhookID, EventID: env.ID, EventType: ev, Payload: string(body)})
	}
	if len(ds) == 0 || a.d.Webhooks == nil {
		return nil
	}
	return a.d.Webhooks.Queue(context.WithoutCancel(ctx), ds)
}

type smsPayload struct {
	MessageID   string     `json:"messageId"`
	PhoneNumber string     `json:"phoneNumber"`
	Sender      string     `json:"sender"`
	Recipient   string     `json:"recipient,omitempty"`
	SimNumber   int        `json:"simNumber,omitempty"`
	Message     string     `json:"message,omitempty"`
	ReceivedAt  *time.Time `json:"receivedAt,omitempty"`
	SentAt      *time.Time `json:"sentAt,omitempty"`
	PartsCount  *int       `json:"partsCount,omitempty"`
	DeliveredAt *time.Time `json:"deliveredAt,omitempty"`
	FailedAt    *time.Time `json:"failedAt,omitempty"`
	Reason      string     `json:"reason,omitempty"`
	CancelledAt *time.Time `json:"cancelledAt,omitempty"`
}

// recipientWebhooks queues the webhooks of a recipient's transition from old to cur:
// reaching Sent (or beyond it, never having been Sent) fires sms:sent, then
// Delivered sms:delivered, Failed sms:failed and Cancelled sms:cancelled. One call per
// recipient, as upstream.
func (a *API) recipientWebhooks(ctx context.Context, m store.SMSGateMessage, deviceID string, rc store.SMSGateRecipient,
	om store.Message, old, cur, errText string, now time.Time) error {
	if deviceID == "" {
		if ds, err := a.devices(ctx); err == nil && len(ds) > 0 {
			deviceID = ds[0].ID
		}
	}
	base := func() smsPayload {
		return smsPayload{MessageID: m.ID, PhoneNumber: rc.Phone, Recipient: rc.Phone, SimNumber: 1}
	}
	var submitted, reported time.Time
	for _, p := range om.Parts {
		if p.SubmittedAt.After(submitted) {
			submitted = p.SubmittedAt
		}
		if p.ReportedAt.After(reported) {
			reported = p.ReportedAt
		}
	}
	if submitted.IsZero() {
		submitted = now
	}
	if reported.IsZero() {
		reported = now
	}
	submitted, reported = submitted.UTC(), reported.UTC()
	if (cur == StateSent || cur == StateDelivered) && rank(old) < rank(StateSent) {
		p := base()
		parts := len(om.Parts)
		p.SentAt, p.PartsCount = &submitted, &parts
		if err := a.queueEvent(ctx, EventSMSSent, deviceID, p); err != nil {
			return err
		}
	}
	switch cur {
	case StateDelivered:
		p := base()
		p.DeliveredAt = &reported
		return a.queueEvent(ctx, EventSMSDelivered, deviceID, p)
	case StateFailed:
		p := base()
		t := now.UTC()
		p.FailedAt, p.Reason = &t, errText
		return a.queueEvent(ctx, EventSMSFailed, deviceID, p)
	case StateCancelled:
		p := base()
		t := now.UTC()
		p.CancelledAt = &t
		return a.queueEvent(ctx, EventSMSCancelled, deviceID, p)
	}
	return nil
}

// receivedPayload is the sms:received payload of an inbound message.
func receivedPayload(m store.Message) smsPayload {
	at := m.CreatedAt.UTC()
	return smsPayload{MessageID: m.UID, PhoneNumber: m.Peer, Sender: m.Peer, SimNumber: 1, Message: m.Body, ReceivedAt: &at}
}

// deviceOfModem returns the device id of a modem name ("" if unknown).
func deviceOfModem(ds []device, modem string) string {
	for _, d := range ds {
		if d.modem == modem || (!d.attached && d.Modem == modem) {
			return d.ID
		}
	}
	return ""
}

const metaInboundCursor = "smsgate_inbound_cursor"

// forwardInbound queues sms:received for inbound messages stored since the last call
// (a cursor in meta: a restart neither loses nor repeats them).
func (a *API) forwardInbound(ctx context.Context) error {
	v, err := a.d.DB.Meta(ctx, metaInboundCursor)
	var cursor int64
	switch {
	case errors.Is(err, store.ErrNotFound):
		// First start: begin with what arrives from now on, not the history.
		if cursor, err = a.d.DB.LastMessageID(ctx); err != nil {
			return err
		}
		return a.d.DB.SetMeta(ctx, metaInboundCursor, strconv.FormatInt(cursor, 10))
	case err != nil:
		return err
	}
	if cursor, err = strconv.ParseInt(v, 10, 64); err != nil {
		return err
	}
	for {
		ms, err := a.d.DB.InboundAfter(ctx, cursor, 200)
		if err != nil || len(ms) == 0 {
			return err
		}
		ds, err := a.devices(ctx)
		if err != nil {
			return err
		}
		for _, m := range ms {
			if err := a.queueEvent(ctx, EventSMSReceived, deviceOfModem(ds, m.Modem), receivedPayload(m)); err != nil {
				return err
			}
			cursor = m.ID
		}
		if err := a.d.DB.SetMeta(ctx, metaInboundCursor, strconv.FormatInt(cursor, 10)); err != nil {
			return err
		}
	}
}

// Run follows outbound deliveries and inbound messages until ctx ends: bus events wake
// it at once, and a sweep every few seconds re-examines open messages (so a dropped
// event or a restart delays a webhook, never loses it), records when devices were
// last seen, and sends system:ping when it is due.
func (a *API) Run(ctx context.Context) error {
	// Settings stored by an earlier run pace the queue from the start.
	if s, err := a.settings(ctx); err == nil {
		a.d.Queue.SetPacing(s.pacing())
	} else if ctx.Err() == nil {
		a.log.Warn("load SMSGate settings", "error", err)
	}
	var ch <-chan event.Event
	if a.d.Bus != nil {
		sub := a.d.Bus.Subscribe(1024, func(e event.Event) bool {
			return e.Type == event.MessageDelivery || e.Type == event.MessageReceived
		})
		defer sub.Close()
		ch = sub.C()
	}
	t := time.NewTicker(a.d.Sweep)
	defer t.Stop()
	var lastPing time.Time
	a.sweep(ctx)
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-ch:
			if !ok {
				ch = nil
				continue
			}
			switch ev.Type {
			case event.MessageDelivery:
				if m, ok := ev.Data.(store.Message); ok {
					if id, err := a.d.DB.SMSGateMessageOfOutbox(ctx, m.UID); err == nil {
						if _, err := a.reconcile(ctx, id, false); err != nil && ctx.Err() == nil {
							a.log.Warn("follow smsgate message", "message", id, "error", err)
						}
					}
				}
			case event.MessageReceived:
				if err := a.forwardInbound(ctx); err != nil && ctx.Err() == nil {
					a.log.Warn("forward inbound messages to smsgate webhooks", "error", err)
				}
			}
		case <-a.wake:
			a.sweep(ctx)
		case <-t.C:
			a.sweep(ctx)
			if iv := a.pingInterval(ctx); iv > 0 && a.d.Now().Sub(lastPing) >= iv {
				lastPing = a.d.Now()
				if err := a.queueEvent(ctx, EventSystemPing, "", map[string]any{"health": a.healthOf(ctx, "ready")}); err != nil && ctx.Err() == nil {
					a.log.Warn("queue system:ping", "error", err)
				}
			}
		}
	}
}

// Sweep runs one sweep now (tests use it to avoid waiting for the ticker).
func (a *API) Sweep() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *API) sweep(ctx context.Context) {
	if _, err := a.devices(ctx); err != nil && ctx.Err() == nil {
		a.log.Warn("record smsgate devices", "error", err)
	}
	if err := a.forwardInbound(ctx); err != nil && ctx.Err() == nil {
		a.log.Warn("forward inbound messages to smsgate webhooks", "error", err)
	}
	now := a.d.Now()
	ids, err := a.d.DB.OpenSMSGateMessages(ctx, now.Add(-7*24*time.Hour), now.Add(-6*time.Hour), 200)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("list open smsgate messages", "error", err)
		}
		return
	}
	for _, id := range ids {
		if _, err := a.reconcile(ctx, id, false); err != nil && ctx.Err() == nil {
			a.log.Warn("follow smsgate message", "message", id, "error", err)
		}
	}
}
