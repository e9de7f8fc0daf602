package smsgate

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/smsgw/smsgw/store"
)

type incomingMessage struct {
	ID             string    `json:"id"`
	Type           string    `json:"type"`
	Sender         string    `json:"sender"`
	SimNumber      int       `json:"simNumber"`
	ContentPreview string    `json:"contentPreview"`
	CreatedAt      time.Time `json:"createdAt"`
	DeviceID       string    `json:"deviceId,omitempty"`
}

// modemsOf returns the modem names a device id stands for (nil for "": every modem).
func modemsOf(ds []device, id string) []string {
	if id == "" {
		return nil
	}
	out := []string{}
	for _, d := range ds {
		if d.ID == id {
			out = append(out, d.Modem)
			if d.modem != "" && d.modem != d.Modem {
				out = append(out, d.modem)
			}
		}
	}
	return out
}

// listInbox is GET /inbox: received SMS, newest first, with X-Total-Count (the cloud
// answers 501 here; we have the messages).
func (a *API) listInbox(w http.ResponseWriter, r *http.Request, _ Principal) error {
	ctx := r.Context()
	var f store.InboundFilter
	var err error
	if f.From, err = queryTime(r, "from"); err != nil {
		return err
	}
	if f.To, err = queryTime(r, "to"); err != nil {
		return err
	}
	if f.Limit, err = queryInt(r, "limit", 50, 1, 500); err != nil {
		return err
	}
	if f.Offset, err = queryInt(r, "offset", 0, 0, 1<<30); err != nil {
		return err
	}
	ds, err := a.devices(ctx)
	if err != nil {
		return err
	}
	f.Modems = modemsOf(ds, r.URL.Query().Get("deviceId"))
	var ms []store.Message
	total := 0
	switch t := r.URL.Query().Get("type"); t {
	case "", "SMS":
		if ms, total, err = a.d.DB.InboundMessages(ctx, f); err != nil {
			return err
		}
	case "DATA_SMS", "MMS", "MMS_DOWNLOADED":
		// The appliance stores text SMS only.
	default:
		return badRequest("type must be one of SMS, DATA_SMS, MMS, MMS_DOWNLOADED")
	}
	out := make([]incomingMessage, 0, len(ms))
	for _, m := range ms {
		out = append(out, incomingMessage{ID: m.UID, Type: "SMS", Sender: m.Peer, SimNumber: 1, ContentPreview: m.Body,
			CreatedAt: m.CreatedAt.UTC(), DeviceID: deviceOfModem(ds, m.Modem)})
	}
	w.Header().Set("X-Total-Count", strconv.Itoa(total))
	writeJSON(w, http.StatusOK, out)
	return nil
}

type refreshRequest struct {
	DeviceID        string    `json:"deviceId"`
	Since           time.Time `json:"since"`
	Until           time.Time `json:"until"`
	MessageTypes    []string  `json:"messageTypes"`
	TriggerWebhooks *bool     `json:"triggerWebhooks"`
	WebhookDelivery string    `json:"webhookDelivery"`
}

// maxReplay bounds how many messages one export replays.
const maxReplay = 10000

// exportInbox is POST /inbox/refresh and the legacy /inbox/export and
// /messages/inbox/export: received SMS of [since, until] are replayed as sms:received
// webhooks (by default only for the legacy spellings, as upstream). 202 with {}.
func (a *API) exportInbox(legacy bool) handler {
	return func(w http.ResponseWriter, r *http.Request, _ Principal) error {
		ctx := r.Context()
		var in refreshRequest
		if err := decode(r, &in); err != nil {
			return err
		}
		switch {
		case in.Since.IsZero() || in.Until.IsZero():
			return badRequest("since and until are required (RFC 3339)")
		case in.Until.Before(in.Since):
			return badRequest("since must not be after until")
		}
		trigger := legacy
		if in.TriggerWebhooks != nil {
			trigger = *in.TriggerWebhooks
		}
		switch strings.ToUpper(in.WebhookDelivery) {
		case "":
		case "DISABLED":
			trigger = false
		case "INDIVIDUAL":
			trigger = true
		case "BATCH":
			return errf(http.StatusNotImplemented, "not implemented: webhookDelivery Batch; use Individual")
		default:
			return badRequest("webhookDelivery must be Disabled, Individual or Batch")
		}
		if len(in.MessageTypes) > 0 && !slices.Contains(in.MessageTypes, "SMS") {
			trigger = false // only SMS are stored
		}
		ds, err := a.devices(ctx)
		if err != nil {
			return err
		}
		modems := modemsOf(ds, in.DeviceID)
		if in.DeviceID != "" && len(modems) == 0 {
			return badRequest("unknown deviceId " + strconv.Quote(in.DeviceID))
		}
		if trigger {
			f := store.InboundFilter{From: in.Since, To: in.Until.Add(time.Nanosecond), Modems: modems, Oldest: true, Limit: 500}
			for f.Offset < maxReplay {
				ms, _, err := a.d.DB.InboundMessages(ctx, f)
				if err != nil {
					return err
				}
				for _, m := range ms {
					if err := a.queueEvent(ctx, EventSMSReceived, deviceOfModem(ds, m.Modem), receivedPayload(m)); err != nil {
						return err
					}
				}
				if len(ms) < f.Limit {
					break
				}
				f.Offset += len(ms)
			}
		}
		if legacy {
			w.Header().Set("Deprecation", "true")
		}
		writeJSON(w, http.StatusAccepted, struct{}{})
		return nil
	}
}

// --- logs -------------------------------------------------------------------------

type logEntry struct {
	ID        uint64         `json:"id"`
	Priority  string         `json:"priority"`
	Module    string         `json:"module"`
	Message   string         `json:"message"`
	Context   map[string]any `json:"context"`
	CreatedAt time.Time      `json:"createdAt"`
}

// logs is GET /logs?from&to: the appliance's event log (system alerts fired and
// cleared, failed messages), oldest first; the last 24 hours by default.
func (a *API) logs(w http.ResponseWriter, r *http.Request, _ Principal) error {
	from, err := queryTime(r, "from")
	if err != nil {
		return err
	}
	to, err := queryTime(r, "to")
	if err != nil {
		return err
	}
	if to.IsZero() {
		to = a.d.Now()
	}
	if from.IsZero() {
		from = to.Add(-24 * time.Hour)
	}
	if to.Before(from) {
		return badRequest("from must not be after to")
	}
	lines, err := a.d.DB.LogLines(r.Context(), from, to.Add(time.Nanosecond), 1000)
	if err != nil {
		return err
	}
	out := make([]logEntry, 0, len(lines))
	for _, l := range lines {
		pr := "INFO"
		switch l.Level {
		case "warning":
			pr = "WARN"
		case "critical":
			pr = "ERROR"
		}
		out = append(out, logEntry{ID: uint64(l.ID), Priority: pr, Module: l.Module, Message: l.Message, Context: l.Context, CreatedAt: l.At.UTC()})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// --- tokens -------------------------------------------------------------------------

type tokenRequest struct {
	TTL    int64    `json:"ttl"`
	Scopes []string `json:"scopes"`
}

type tokenResponse struct {
	ID           string    `json:"id"`
	TokenType    string    `json:"token_type"`
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	ExpiresAt    time.Time `json:"expires_at"`
}

// issue makes an access token with scopes and its refresh token.
func (a *API) issue(r *http.Request, userID int64, scopes []string, ttl time.Duration) (tokenResponse, error) {
	ctx := r.Context()
	key, err := a.secret(ctx)
	if err != nil {
		return tokenResponse{}, err
	}
	now := a.d.Now()
	sub := strconv.FormatInt(userID, 10)
	acc := store.SMSGateToken{JTI: newID(), UserID: userID, Kind: "access", Scopes: scopes, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	ref := store.SMSGateToken{JTI: newID(), UserID: userID, Kind: "refresh", Parent: acc.JTI, Scopes: scopes, CreatedAt: now,
		ExpiresAt: now.Add(refreshTokenTTL)}
	accTok, err := signJWT(key, claims{Issuer: jwtIssuer, Subject: sub, IssuedAt: now.Unix(), ExpiresAt: acc.ExpiresAt.Unix(), ID: acc.JTI, Scopes: scopes})
	if err != nil {
		return tokenResponse{}, err
	}
	refTok, err := signJWT(key, claims{Issuer: jwtIssuer, Subject: sub, IssuedAt: now.Unix(), ExpiresAt: ref.ExpiresAt.Unix(), ID: ref.JTI,
		Scopes: []string{ScopeTokensRefresh}})
	if err != nil {
		return tokenResponse{}, err
	}
	if err := a.d.DB.AddSMSGateToken(ctx, acc); err != nil {
		return tokenResponse{}, err
	}
	if err := a.d.DB.AddSMSGateToken(ctx, ref); err != nil {
		return tokenResponse{}, err
	}
	return tokenResponse{ID: acc.JTI, TokenType: "Bearer", AccessToken: accTok, RefreshToken: refTok, ExpiresAt: acc.ExpiresAt.UTC()}, nil
}

// createToken is POST /auth/token: 201 with an access token (scopes no wider than the
// caller's) and a refresh token.
func (a *API) createToken(w http.ResponseWriter, r *http.Request, p Principal) error {
	var in tokenRequest
	if err := decode(r, &in); err != nil {
		return err
	}
	if len(in.Scopes) == 0 || len(in.Scopes) > len(grantable) {
		return badRequest("scopes must list at least one scope")
	}
	var scopes []string
	for _, s := range in.Scopes {
		if !slices.Contains(grantable, s) {
			return badRequest("unknown scope " + strconv.Quote(s))
		}
		if !p.can(s) || (s == ScopeAll && !slices.Contains(p.Scopes, ScopeAll)) {
			return errf(http.StatusForbidden, "scope required: "+s)
		}
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	if in.TTL < 0 {
		return badRequest("ttl must not be negative")
	}
	ttl := defaultTokenTTL
	if in.TTL > 0 {
		ttl = min(time.Duration(in.TTL)*time.Second, maxTokenTTL)
	}
	resp, err := a.issue(r, p.UserID, scopes, ttl)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, resp)
	return nil
}

// refreshToken is POST /auth/token/refresh (and the older client's /auth/refresh):
// the refresh token, used once, buys a new pair with the same scopes.
func (a *API) refreshToken(w http.ResponseWriter, r *http.Request, p Principal) error {
	ctx := r.Context()
	t, err := a.d.DB.SMSGateTokenByJTI(ctx, p.JTI)
	if err != nil {
		return errUnauthorized
	}
	parent, err := a.d.DB.SMSGateTokenByJTI(ctx, t.Parent)
	if err != nil {
		return errUnauthorized
	}
	if err := a.d.DB.UseSMSGateRefreshToken(ctx, t.JTI, a.d.Now()); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errUnauthorized
		}
		return err
	}
	ttl := parent.ExpiresAt.Sub(parent.CreatedAt)
	resp, err := a.issue(r, p.UserID, allowedFor(p.Role, t.Scopes), ttl)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, resp)
	return nil
}

// revokeToken is DELETE /auth/token/{jti}: 204; one's own tokens, any as admin.
func (a *API) revokeToken(w http.ResponseWriter, r *http.Request, p Principal) error {
	owner := p.UserID
	if slices.Contains(p.Scopes, ScopeAll) && p.Role == "admin" {
		owner = 0
	}
	err := a.d.DB.RevokeSMSGateToken(r.Context(), mux.Vars(r)["jti"], owner, a.d.Now())
	if errors.Is(err, store.ErrNotFound) {
		return errf(http.StatusNotFound, "token not found")
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
