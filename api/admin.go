package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/smsgw/smsgw/auth"
	"github.com/smsgw/smsgw/store"
	"github.com/smsgw/smsgw/webhook"
)

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type passwordChange struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

type setPassword struct {
	Password string `json:"password"`
}

type userRequest struct {
	Username    string `json:"username"`
	DisplayName string `json:"display_name,omitempty"`
	Password    string `json:"password"`
	Role        string `json:"role"`
}

type userPatch struct {
	DisplayName *string `json:"display_name,omitempty"`
	Email       *string `json:"email,omitempty"`
	Role        *string `json:"role,omitempty"`
	Disabled    *bool   `json:"disabled,omitempty"`
}

type availabilityRequest struct {
	Availability string `json:"availability"`
}

type ussdRequest struct {
	Code string `json:"code"`
}

type tokenRequest struct {
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

type webhookRequest struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Line        string   `json:"line,omitempty"`
	Description string   `json:"description,omitempty"`
	Active      *bool    `json:"active,omitempty"`
	Secret      string   `json:"secret,omitempty"`
}

type replayRequest struct {
	Since time.Time `json:"since"`
}

// meView is what /me and /login answer.
type meView struct {
	User      store.User `json:"user"`
	Scopes    []string   `json:"scopes"`
	CSRFToken string     `json:"csrf_token,omitempty"`
	TokenID   int64      `json:"token_id,omitempty"`
}

func (a *API) login(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	var req loginRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	id, u, err := a.d.Auth.Login(r.Context(), req.Username, req.Password, auth.RemoteIP(r))
	if err != nil {
		return err
	}
	a.d.Auth.SetSessionCookie(w, id)
	p := auth.Principal{UserID: u.ID, Username: u.Username, Name: u.Name(), Role: u.Role, Session: id}
	writeJSON(w, http.StatusOK, meView{User: u, Scopes: auth.RoleScopes(u.Role), CSRFToken: a.d.Auth.CSRFToken(p)})
	return nil
}

func (a *API) logout(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if p.Session != "" {
		if err := a.d.Auth.Logout(r.Context(), p.Session); err != nil {
			return err
		}
		a.d.Auth.ClearSessionCookie(w)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func scopesOf(p auth.Principal) []string {
	var out []string
	for _, s := range auth.AllScopes {
		if p.Can(s) {
			out = append(out, s)
		}
	}
	return out
}

func (a *API) me(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	u, err := a.d.DB.User(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, meView{User: u, Scopes: scopesOf(p), CSRFToken: a.d.Auth.CSRFToken(p), TokenID: p.TokenID})
	return nil
}

func (a *API) changePassword(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req passwordChange
	if err := decode(r, &req); err != nil {
		return err
	}
	// Checking the current password goes through Login, so it is rate-limited too.
	id, _, err := a.d.Auth.Login(r.Context(), p.Username, req.Current, auth.RemoteIP(r))
	if errors.Is(err, auth.ErrBadCredentials) {
		return &Error{http.StatusUnprocessableEntity, "bad_credentials", "the current password is wrong", "current"}
	}
	if err != nil {
		return err
	}
	_ = a.d.Auth.Logout(r.Context(), id)
	if err := a.d.Auth.SetPassword(r.Context(), p.UserID, req.New); err != nil {
		if errors.Is(err, auth.ErrWeakPassword) {
			return &Error{http.StatusUnprocessableEntity, "weak_password", "at least 10 characters (at most 72 bytes)", "new"}
		}
		return err
	}
	a.d.Auth.ClearSessionCookie(w)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- modems ------------------------------------------------------------------------

type modemView struct {
	Name     string   `json:"name"`
	Ready    bool     `json:"ready"`
	Problems []string `json:"problems"`
	Status   any      `json:"status"`
}

func view(m Modem) modemView {
	i := m.Info()
	if i.Problems == nil {
		i.Problems = []string{}
	}
	return modemView(i)
}

func (a *API) findModem(r *http.Request) (Modem, error) {
	name := mux.Vars(r)["name"]
	for _, m := range a.d.Modems() {
		if m.Info().Name == name {
			return m, nil
		}
	}
	return nil, errNotFound
}

func (a *API) modems(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	var out []modemView
	for _, m := range a.d.Modems() {
		out = append(out, view(m))
	}
	writePage(w, r, out, "")
	return nil
}

func (a *API) modem(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	m, err := a.findModem(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, view(m))
	return nil
}

func (a *API) trace(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	m, err := a.findModem(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="at-trace-%s.txt"`, safeFileName(m.Info().Name)))
	return m.WriteTrace(w)
}

func safeFileName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

func (a *API) ussd(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	m, err := a.findModem(r)
	if err != nil {
		return err
	}
	var req ussdRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Code == "" || len(req.Code) > 160 {
		return fieldErr("code", "a USSD code such as *100#")
	}
	for _, c := range req.Code {
		if !(c >= '0' && c <= '9' || c == '*' || c == '#' || c == '+') {
			return fieldErr("code", "only digits, *, # and +")
		}
	}
	reply, err := m.USSD(r.Context(), req.Code)
	if err != nil {
		a.log.Warn("ussd failed", "modem", m.Info().Name, "error", err)
		return errf(http.StatusBadGateway, "modem_error", "the modem did not answer the USSD request: %s", domainMessage(err))
	}
	writeJSON(w, http.StatusOK, reply)
	return nil
}

func (a *API) lines(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ls, err := a.d.Router.Lines(r.Context(), p.Actor())
	if err != nil {
		return err
	}
	writePage(w, r, ls, "")
	return nil
}

// --- users ----------------------------------------------------------------------------

func (a *API) users(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	as, err := a.d.Router.Agents(r.Context(), p.Actor())
	if err != nil {
		return err
	}
	writePage(w, r, as, "")
	return nil
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	var req userRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	u, err := a.d.Auth.CreateUser(r.Context(), req.Username, req.DisplayName, req.Password, req.Role)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

func (a *API) updateUser(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req userPatch
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Role != nil && !auth.ValidRole(*req.Role) {
		return fieldErr("role", "must be admin, supervisor, dispatcher or viewer")
	}
	if req.DisplayName != nil && len(*req.DisplayName) > 100 {
		return fieldErr("display_name", "at most 100 characters")
	}
	if req.Email != nil && len(*req.Email) > 200 {
		return fieldErr("email", "at most 200 characters")
	}
	if id == p.UserID && ((req.Disabled != nil && *req.Disabled) || (req.Role != nil && *req.Role != auth.RoleAdmin)) {
		return fieldErr("role", "you cannot demote or disable yourself; ask another admin")
	}
	u, err := a.d.DB.UpdateUser(r.Context(), id, store.UserChanges{DisplayName: req.DisplayName, Email: req.Email,
		Role: req.Role, Disabled: req.Disabled})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (a *API) setPassword(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req setPassword
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := a.d.Auth.SetPassword(r.Context(), id, req.Password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) setAvailability(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req availabilityRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	switch req.Availability {
	case store.AvailabilityReady, store.AvailabilityBusy, store.AvailabilityAway:
	default:
		return fieldErr("availability", "must be ready, busy or away")
	}
	if err := a.d.Router.SetAvailability(r.Context(), p.Actor(), id, req.Availability); err != nil {
		return err
	}
	ag, err := a.d.DB.Agent(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ag)
	return nil
}

// --- alerts --------------------------------------------------------------------------

func (a *API) alerts(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	state := r.URL.Query().Get("state")
	switch state {
	case "", "active", "read", "superseded", "expired":
	default:
		return &Error{http.StatusBadRequest, "bad_parameter", "must be active, read, superseded or expired", "state"}
	}
	as, err := a.d.Router.Alerts(r.Context(), p.Actor(), state)
	if err != nil {
		return err
	}
	writePage(w, r, as, "")
	return nil
}

func (a *API) alertRead(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.d.Router.MarkAlertRead(r.Context(), p.Actor(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- tokens --------------------------------------------------------------------------

// createdToken is the answer to a token creation: the only time the plaintext is shown.
type createdToken struct {
	store.APIToken
	Token string `json:"token"`
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	all, err := queryBool(r, "all")
	if err != nil {
		return err
	}
	uid := p.UserID
	if all {
		if !p.Can(auth.ScopeAdmin) {
			return errf(http.StatusForbidden, "insufficient_scope", "listing everyone's tokens needs the scope \"admin\"")
		}
		uid = 0
	}
	ts, err := a.d.Auth.Tokens(r.Context(), uid)
	if err != nil {
		return err
	}
	writePage(w, r, ts, "")
	return nil
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if p.TokenID != 0 && !p.Can(auth.ScopeAdmin) {
		return errf(http.StatusForbidden, "insufficient_scope", "tokens can be made from a browser session, or with an admin token")
	}
	var req tokenRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	var exp time.Time
	if req.ExpiresAt != nil {
		exp = *req.ExpiresAt
	}
	plain, t, err := a.d.Auth.CreateToken(r.Context(), p.UserID, req.Name, req.Scopes, exp)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, createdToken{APIToken: t, Token: plain})
	return nil
}

func (a *API) revokeToken(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	t, err := a.d.Auth.Token(r.Context(), id)
	if err != nil {
		return err
	}
	if t.UserID != p.UserID && !p.Can(auth.ScopeAdmin) {
		return errNotFound
	}
	if err := a.d.Auth.RevokeToken(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- webhooks ------------------------------------------------------------------------

// createdWebhook shows the secret, once.
type createdWebhook struct {
	store.Webhook
	Secret string `json:"secret"`
}

func (a *API) hooks() (*webhook.Service, error) {
	if a.d.Webhooks == nil {
		return nil, errNotFound
	}
	return a.d.Webhooks, nil
}

// hookByPath returns the webhook service and the {id} of the request's path.
func (a *API) hookByPath(r *http.Request) (*webhook.Service, int64, error) {
	s, err := a.hooks()
	if err != nil {
		return nil, 0, err
	}
	id, err := pathID(r, "id")
	return s, id, err
}

func (a *API) listWebhooks(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	s, err := a.hooks()
	if err != nil {
		return err
	}
	ws, err := s.List(r.Context())
	if err != nil {
		return err
	}
	writePage(w, r, ws, "")
	return nil
}

func webhookInput(req webhookRequest) webhook.Input {
	active := req.Active == nil || *req.Active
	return webhook.Input{URL: req.URL, Events: req.Events, Line: req.Line, Description: req.Description, Active: active, Secret: req.Secret}
}

func (a *API) createWebhook(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	s, err := a.hooks()
	if err != nil {
		return err
	}
	var req webhookRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	h, err := s.Create(r.Context(), webhookInput(req), p.UserID)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/webhooks/"+strconv.FormatInt(h.ID, 10))
	writeJSON(w, http.StatusCreated, createdWebhook{Webhook: h, Secret: h.Secret})
	return nil
}

func (a *API) eventTypes(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	writePage(w, r, webhook.EventTypes, "")
	return nil
}

func (a *API) getWebhook(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	s, id, err := a.hookByPath(r)
	if err != nil {
		return err
	}
	h, err := s.Get(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h)
	return nil
}

func (a *API) updateWebhook(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	s, id, err := a.hookByPath(r)
	if err != nil {
		return err
	}
	var req webhookRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	h, err := s.Update(r.Context(), id, webhookInput(req))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h)
	return nil
}

func (a *API) deleteWebhook(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	s, id, err := a.hookByPath(r)
	if err != nil {
		return err
	}
	if err := s.Delete(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) pingWebhook(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	s, id, err := a.hookByPath(r)
	if err != nil {
		return err
	}
	d, err := s.Ping(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, d)
	return nil
}

func (a *API) replayWebhook(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	s, id, err := a.hookByPath(r)
	if err != nil {
		return err
	}
	var req replayRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	n, err := s.ReplayFailed(r.Context(), id, req.Since)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]int{"queued": n})
	return nil
}

func (a *API) deliveries(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	s, id, err := a.hookByPath(r)
	if err != nil {
		return err
	}
	before, err := parseIDCursor(r)
	if err != nil {
		return err
	}
	limit, err := limitParam(r, 50, 200)
	if err != nil {
		return err
	}
	ds, err := s.Deliveries(r.Context(), id, before, limit)
	if err != nil {
		return err
	}
	next := ""
	if len(ds) == limit {
		next = idCursor(ds[len(ds)-1].ID)
	}
	writePage(w, r, ds, next)
	return nil
}

type deliveryView struct {
	store.WebhookDelivery
	Payload  rawJSON                 `json:"payload"`
	Attempts []store.DeliveryAttempt `json:"attempt_log"`
}

func (a *API) delivery(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	s, id, err := a.hookByPath(r)
	if err != nil {
		return err
	}
	did, err := pathID(r, "delivery")
	if err != nil {
		return err
	}
	d, log, err := s.Delivery(r.Context(), id, did)
	if err != nil {
		return err
	}
	if log == nil {
		log = []store.DeliveryAttempt{}
	}
	writeJSON(w, http.StatusOK, deliveryView{WebhookDelivery: d, Payload: rawJSON(d.Payload), Attempts: log})
	return nil
}

func (a *API) redeliver(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	s, id, err := a.hookByPath(r)
	if err != nil {
		return err
	}
	did, err := pathID(r, "delivery")
	if err != nil {
		return err
	}
	d, err := s.Redeliver(r.Context(), id, did)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, d)
	return nil
}
