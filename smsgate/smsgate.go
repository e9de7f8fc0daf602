// Package smsgate speaks the SMSGate (formerly Android SMS Gateway) third-party API,
// so that its Go, Python, JS and PHP clients, its CLI and the Home Assistant recipes
// written for it drive smsgw unchanged. It is a thin second surface over the same
// domain code as the native REST API: messages go through the queue, webhooks through
// the durable webhook queue (in the smsgate format), users are the appliance's users.
//
// One route table serves three mounts: /3rdparty/v1 and /api/3rdparty/v1 on the main
// listener, and the phone's root layout (/message, /messages, /device, ...) on an
// optional listener of its own. Errors are JSON {"message", "code"}; a 2xx answer is
// 204 without a body or carries JSON, because the Go client decodes every other 2xx.
package smsgate

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/queue"
	"github.com/smsgw/smsgw/store"
	"github.com/smsgw/smsgw/webhook"
)

// Mount prefixes on the main listener.
const (
	Prefix    = "/3rdparty/v1"
	PrefixAPI = "/api/3rdparty/v1"
)

// ModemInfo is what the API needs of a modem; the gateway adapts its sessions.
type ModemInfo struct {
	Name       string // the operator's name for it
	Line       string // the line the queue sends it messages for
	IMEI       string
	ICCID      string
	Operator   string
	State      string // the session state ("ready", "connecting", ...)
	Ready      bool
	Registered bool
	SignalDBm  int // 0: unknown
	LastSeen   time.Time
}

// identity is the stable key of a modem's device: its IMEI, or its SIM's ICCID.
func (m ModemInfo) identity() string {
	switch {
	case m.IMEI != "":
		return "imei:" + m.IMEI
	case m.ICCID != "":
		return "iccid:" + m.ICCID
	}
	return ""
}

// Deps are the collaborators of the API. DB, Queue and Webhooks are required.
type Deps struct {
	DB       *store.DB
	Queue    *queue.Queue
	Webhooks *webhook.Service
	Bus      *event.Bus                            // nil: no live wake-ups (the sweep still runs)
	Modems   func(ctx context.Context) []ModemInfo // nil: no modems
	// Region is the default region of phone numbers without a country code ("":
	// numbers must carry one).
	Region string
	// AllowHTTPWebhooks lets webhook URLs be http:// (default: https:// only).
	AllowHTTPWebhooks bool
	// PingInterval is the default system:ping interval (0: off); the
	// ping.interval_seconds setting overrides it.
	PingInterval time.Duration
	// Version is the appliance's version, shown by /health.
	Version string
	Log     *slog.Logger
	Now     func() time.Time
	// MaxBodyBytes bounds request bodies (default 1 MiB).
	MaxBodyBytes int64
	// Sweep is how often open messages are re-examined for webhooks and device
	// last-seen times recorded (default 5 s).
	Sweep time.Duration
	// BcryptCost of the dummy hash compared for unknown users (tests lower it).
	BcryptCost int
}

// API is the SMSGate-compatible API.
type API struct {
	d   Deps
	log *slog.Logger

	recMu sync.Mutex // serialises reconcile (state history and webhook transitions)

	basic   *basicCache
	jwtMu   sync.Mutex
	jwtKey  []byte
	setMu   sync.Mutex
	started time.Time

	devMu    sync.Mutex
	devCache map[string]store.SMSGateDevice // by identity
	wake     chan struct{}
}

// New returns the API.
func New(d Deps) *API {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Modems == nil {
		d.Modems = func(context.Context) []ModemInfo { return nil }
	}
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = 1 << 20
	}
	if d.Sweep <= 0 {
		d.Sweep = 5 * time.Second
	}
	a := &API{d: d, log: d.Log, started: d.Now(), wake: make(chan struct{}, 1)}
	a.basic = newBasicCache(d.BcryptCost)
	return a
}

// --- errors -----------------------------------------------------------------------

// Error is an answer other than success: {"message": ..., "code": Status}.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return "smsgate: " + e.Message }

func errf(status int, msg string) *Error { return &Error{Status: status, Message: msg} }

func badRequest(msg string) *Error { return errf(http.StatusBadRequest, msg) }

var errUnauthorized = errf(http.StatusUnauthorized, "unauthorized: send Basic credentials of an appliance user or a Bearer token")

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			e = errf(http.StatusRequestEntityTooLarge, "request body too large (limit "+strconv.FormatInt(mb.Limit, 10)+" bytes)")
		} else {
			a.log.Error("smsgate request failed", "error", err, "method", r.Method, "path", r.URL.Path)
			e = errf(http.StatusInternalServerError, "internal error; the appliance log has the details")
		}
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="smsgw", charset="UTF-8"`)
	}
	writeJSON(w, e.Status, map[string]any{"message": e.Message, "code": e.Status})
}

// decode reads one JSON value into v. Unknown fields are accepted and ignored, as
// upstream does: clients send fields of newer API versions.
func decode(r *http.Request, v any) error {
	if r.Body == nil {
		return badRequest("the request needs a JSON body")
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(v); err != nil {
		var mb *http.MaxBytesError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &mb):
			return err
		case errors.Is(err, io.EOF):
			return badRequest("the request needs a JSON body")
		case errors.As(err, &te):
			return badRequest("invalid value for " + te.Field + ": must be " + te.Type.String())
		}
		return badRequest("the body is not valid JSON: " + err.Error())
	}
	return nil
}

// --- routes -----------------------------------------------------------------------

// handler writes a success answer or returns an error.
type handler func(w http.ResponseWriter, r *http.Request, p Principal) error

// route is one entry of the route table.
type route struct {
	Method string
	Paths  []string // the path and its aliases
	Scope  string   // "" = no authentication
	h      handler
}

// scopePublic marks routes without authentication.
const scopePublic = ""

func (a *API) routes() []route {
	return []route{
		{http.MethodGet, []string{"/health", "/health/ready"}, scopePublic, a.health("ready")},
		{http.MethodGet, []string{"/health/live"}, scopePublic, a.health("live")},
		{http.MethodGet, []string{"/health/startup"}, scopePublic, a.health("startup")},

		{http.MethodPost, []string{"/messages", "/message"}, ScopeMessagesSend, a.send},
		{http.MethodGet, []string{"/messages", "/message"}, ScopeMessagesList, a.listMessages},
		{http.MethodPost, []string{"/inbox/export", "/messages/inbox/export"}, ScopeMessagesExport, a.exportInbox(true)},
		{http.MethodGet, []string{"/messages/{id}", "/message/{id}"}, ScopeMessagesRead, a.getMessage},
		{http.MethodDelete, []string{"/messages/{id}", "/message/{id}"}, ScopeMessagesCancel, a.cancelMessage},

		{http.MethodGet, []string{"/inbox"}, ScopeInboxList, a.listInbox},
		{http.MethodPost, []string{"/inbox/refresh"}, ScopeInboxRefresh, a.exportInbox(false)},
		{http.MethodGet, []string{"/inbox/{id}/attachments/{part}"}, ScopeInboxRead, a.notImplemented("MMS attachments: the appliance receives SMS only")},

		{http.MethodGet, []string{"/devices", "/device"}, ScopeDevicesList, a.listDevices},
		{http.MethodDelete, []string{"/devices/{id}", "/device/{id}"}, ScopeDevicesDelete, a.deleteDevice},

		{http.MethodGet, []string{"/webhooks", "/webhook"}, ScopeWebhooksList, a.listWebhooks},
		{http.MethodPost, []string{"/webhooks", "/webhook"}, ScopeWebhooksWrite, a.registerWebhook},
		{http.MethodDelete, []string{"/webhooks/{id}", "/webhook/{id}"}, ScopeWebhooksDelete, a.deleteWebhook},

		{http.MethodGet, []string{"/settings"}, ScopeSettingsRead, a.getSettings},
		{http.MethodPatch, []string{"/settings"}, ScopeSettingsWrite, a.updateSettings(false)},
		{http.MethodPut, []string{"/settings"}, ScopeSettingsWrite, a.updateSettings(true)},

		{http.MethodGet, []string{"/logs"}, ScopeLogsRead, a.logs},

		{http.MethodPost, []string{"/auth/token"}, ScopeTokensManage, a.createToken},
		{http.MethodPost, []string{"/auth/token/refresh", "/auth/refresh"}, ScopeTokensRefresh, a.refreshToken},
		{http.MethodDelete, []string{"/auth/token/{jti}"}, ScopeTokensManage, a.revokeToken},
	}
}

// RouteList returns "METHOD path" for every route and alias under prefix (for docs
// and tests).
func (a *API) RouteList(prefix string) []string {
	var out []string
	for _, rt := range a.routes() {
		for _, p := range rt.Paths {
			out = append(out, rt.Method+" "+prefix+p)
		}
	}
	return out
}

// Handler returns the API with every route under prefix ("" for the phone's root
// layout). Unknown paths under prefix answer 404 and wrong methods 405, both as JSON.
func (a *API) Handler(prefix string) http.Handler {
	r := mux.NewRouter()
	for _, rt := range a.routes() {
		h := a.wrap(rt, prefix)
		for _, p := range rt.Paths {
			r.Handle(prefix+p, h).Methods(rt.Method)
		}
	}
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		a.writeError(w, req, errf(http.StatusNotFound, "no such endpoint: "+req.URL.Path))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		a.writeError(w, req, errf(http.StatusMethodNotAllowed, "method "+req.Method+" is not allowed here"))
	})
	return r
}

// Mount puts the API under Prefix and PrefixAPI on the main router.
func (a *API) Mount(r *mux.Router) {
	for _, prefix := range []string{Prefix, PrefixAPI} {
		h := a.Handler(prefix)
		r.PathPrefix(prefix + "/").Handler(h)
		r.Handle(prefix, h)
	}
}

type prefixKey struct{}

// mountPrefix is the prefix the request came in under (for Location headers).
func mountPrefix(r *http.Request) string {
	p, _ := r.Context().Value(prefixKey{}).(string)
	return p
}

// wrap authenticates, checks the scope, bounds the body and maps errors.
func (a *API) wrap(rt route, prefix string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		r = r.WithContext(context.WithValue(r.Context(), prefixKey{}, prefix))
		var p Principal
		if rt.Scope != scopePublic {
			var err error
			if p, err = a.authenticate(r); err != nil {
				a.writeError(w, r, err)
				return
			}
			if !p.can(rt.Scope) {
				a.writeError(w, r, errf(http.StatusForbidden, "scope required: "+rt.Scope))
				return
			}
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, a.d.MaxBodyBytes)
		}
		if err := rt.h(w, r, p); err != nil {
			a.writeError(w, r, err)
		}
	})
}

func (a *API) notImplemented(what string) handler {
	return func(http.ResponseWriter, *http.Request, Principal) error {
		return errf(http.StatusNotImplemented, "not implemented: "+what)
	}
}

// --- query helpers ------------------------------------------------------------------

func queryInt(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := strings.TrimSpace(r.URL.Query().Get(name))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, badRequest(name + " must be a whole number from " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi))
	}
	return n, nil
}

func queryBool(r *http.Request, name string) (bool, error) {
	v := strings.TrimSpace(r.URL.Query().Get(name))
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest(name + " must be true or false")
	}
	return b, nil
}

func queryTime(r *http.Request, name string) (time.Time, error) {
	v := strings.TrimSpace(r.URL.Query().Get(name))
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return t, badRequest(name + " must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
	}
	return t, nil
}
