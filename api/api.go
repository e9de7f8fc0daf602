// Package api is smsgw's REST API under /api/v1: everything the web UI can do, a
// program can do. Every route is declared once in a table (routes) with the scope it
// needs; one wrapper authenticates (session cookie or Bearer token), checks the scope
// and, for cookie sessions, the CSRF token, bounds the body, and maps the handler's
// error to the one error shape {"error":{"code","message","field"}}. Inbox permissions
// beyond scopes (who may see or accept which conversation) are the router's.
//
// Lists are keyset-paged: {"items":[...],"next_cursor":"..."} plus a Link header.
// Live events stream as Server-Sent Events at /api/v1/events; webhooks get the same
// envelope.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/smsgw/smsgw/auth"
	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/queue"
	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/server"
	"github.com/smsgw/smsgw/store"
	"github.com/smsgw/smsgw/webhook"
)

// Prefix is where the API lives.
const Prefix = "/api/v1"

// ModemInfo is what the API shows of a modem.
type ModemInfo struct {
	Name     string
	Ready    bool
	Problems []string // human-readable, for system alerts
	Status   any      // the modem's status snapshot, JSON-encoded as is
}

// Modem is a modem as the API needs it; the gateway adapts its modem sessions.
type Modem interface {
	Info() ModemInfo
	WriteTrace(w io.Writer) error
	USSD(ctx context.Context, code string) (any, error)
}

// Deps are the API's collaborators. DB, Auth, Queue, Router and Bus are required.
type Deps struct {
	DB        *store.DB
	Auth      *auth.Service
	Queue     *queue.Queue
	Router    *router.Router
	Bus       *event.Bus
	Envelopes *webhook.Envelopes // nil: built from Bus
	Webhooks  *webhook.Service   // nil: the webhook routes answer 404
	Modems    func() []Modem     // nil: no modems
	// Permissions are the router's settings, used to filter the event stream the same
	// way the router filters lists.
	Permissions router.Permissions
	Log         *slog.Logger
	Now         func() time.Time
	// MaxBodyBytes bounds the bodies of routes without a limit of their own (default
	// 1 MiB); CSV imports get 8 MiB, whatever the server's global limit.
	MaxBodyBytes int64
	// SSEHeartbeat is how often an idle event stream gets a comment line (default 25 s).
	SSEHeartbeat time.Duration
}

// API is the REST API.
type API struct {
	d   Deps
	log *slog.Logger
}

// New returns the API.
func New(d Deps) *API {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = maxBody
	}
	if d.SSEHeartbeat <= 0 {
		d.SSEHeartbeat = 25 * time.Second
	}
	if d.Modems == nil {
		d.Modems = func() []Modem { return nil }
	}
	if d.Envelopes == nil {
		d.Envelopes = webhook.NewEnvelopes(d.Bus, 4096)
	}
	if d.Permissions.DispatcherSeeOthers == "" {
		d.Permissions.DispatcherSeeOthers = router.SeeQueue
	}
	return &API{d: d, log: d.Log}
}

// handler is an API handler: it writes a success answer or returns an error.
type handler func(w http.ResponseWriter, r *http.Request, p auth.Principal) error

// Scope values besides the auth scopes.
const (
	scopePublic = "public" // no authentication (login only)
	scopeAny    = "any"    // any authenticated principal
)

// route is one entry of the route table: method, path (under Prefix), required scope,
// documentation, the request body type (for OpenAPI) and the handler.
type route struct {
	Method, Path string
	Scope        string
	Tag, Summary string
	Body         any      // request body example type, nil for none
	Query        []string // documented query parameters
	MaxBody      int64    // 0: Deps.MaxBodyBytes
	h            handler
}

// Routes returns the route table (for tests and the OpenAPI document).
func (a *API) Routes() []route { return a.routes() }

// Mount registers every route on r.
func (a *API) Mount(r *mux.Router) {
	for _, rt := range a.routes() {
		r.Handle(Prefix+rt.Path, a.wrap(rt)).Methods(rt.Method).Name(rt.Method + " " + rt.Path)
	}
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// wrap is the one place that authenticates, checks scopes and CSRF, bounds the body
// and maps errors. The handler tells the server its body limit (server.BodyLimiter),
// so the server's global limit does not cut a route that allows more (CSV import),
// and every route stays bounded whichever applies.
func (a *API) wrap(rt route) http.Handler {
	limit := rt.MaxBody
	if limit <= 0 {
		limit = a.d.MaxBodyBytes
	}
	return server.LimitBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqID := newRequestID()
		w.Header().Set("X-Request-Id", reqID)
		w.Header().Set("Cache-Control", "no-store")
		var p auth.Principal
		if rt.Scope != scopePublic {
			var ok bool
			if p, ok = auth.From(r.Context()); !ok {
				var err error
				if p, err = a.d.Auth.Authenticate(r); err != nil {
					writeError(w, a.log, r, reqID, err)
					return
				}
				r = r.WithContext(auth.WithPrincipal(r.Context(), p))
			}
			if rt.Scope != scopeAny && !p.Can(rt.Scope) {
				writeError(w, a.log, r, reqID, errf(http.StatusForbidden, "insufficient_scope", "this needs the scope %q", rt.Scope))
				return
			}
			if !a.d.Auth.CheckCSRF(r, p) {
				writeError(w, a.log, r, reqID, errCSRF)
				return
			}
		}
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		if err := rt.h(w, r, p); err != nil {
			writeError(w, a.log, r, reqID, err)
		}
	}), limit)
}

// ErrForbidden is what Authorize returns for a principal without the scope or, for a
// cookie session, without the CSRF token.
var ErrForbidden = errors.New("api: forbidden")

// Authorize applies the API's checks to a request served beside it (the alert
// package's routes): it authenticates (unless the auth middleware already did), checks
// the scope ("" for none) and the CSRF token. It returns auth.ErrUnauthenticated or an
// error wrapping ErrForbidden.
func (a *API) Authorize(r *http.Request, scope string) (auth.Principal, error) {
	p, ok := auth.From(r.Context())
	if !ok {
		var err error
		if p, err = a.d.Auth.Authenticate(r); err != nil {
			return p, err
		}
	}
	if scope != "" && !p.Can(scope) {
		return p, fmt.Errorf("%w: this needs the scope %q", ErrForbidden, scope)
	}
	if !a.d.Auth.CheckCSRF(r, p) {
		return p, fmt.Errorf("%w: missing or wrong CSRF token", ErrForbidden)
	}
	return p, nil
}

// --- small helpers ------------------------------------------------------------------

func writeJSON(w http.ResponseWriter, status int, v any) { server.WriteJSON(w, status, v) }

// pathID reads a positive integer path variable.
func pathID(r *http.Request, name string) (int64, error) {
	v := mux.Vars(r)[name]
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, errNotFound
	}
	return id, nil
}

// queryInt reads an optional integer query parameter.
func queryInt(r *http.Request, name string, def int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, &Error{http.StatusBadRequest, "bad_parameter", "must be a non-negative integer", name}
	}
	return n, nil
}

func queryBool(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, &Error{http.StatusBadRequest, "bad_parameter", "must be true or false", name}
	}
	return b, nil
}

func queryTime(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return t, &Error{http.StatusBadRequest, "bad_parameter", "must be an RFC 3339 time", name}
	}
	return t, nil
}

// limit reads ?limit= (1..max, default def).
func limitParam(r *http.Request, def, maxN int) (int, error) {
	n, err := queryInt(r, "limit", int64(def))
	if err != nil {
		return 0, err
	}
	if n < 1 || n > int64(maxN) {
		return 0, &Error{http.StatusBadRequest, "bad_parameter", "must be between 1 and " + strconv.Itoa(maxN), "limit"}
	}
	return int(n), nil
}

// page is the shape of every list answer.
type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// writePage writes a page and a Link header to the next one.
func writePage[T any](w http.ResponseWriter, r *http.Request, items []T, next string) {
	if items == nil {
		items = []T{}
	}
	if next != "" {
		u := *r.URL
		q := u.Query()
		q.Set("cursor", next)
		u.RawQuery = q.Encode()
		w.Header().Set("Link", "<"+(&url.URL{Path: u.Path, RawQuery: u.RawQuery}).String()+`>; rel="next"`)
	}
	writeJSON(w, http.StatusOK, page[T]{Items: items, NextCursor: next})
}

// idCursor encodes a keyset position on an integer id.
func idCursor(id int64) string { return "i" + strconv.FormatInt(id, 36) }

func parseIDCursor(r *http.Request) (int64, error) {
	c := r.URL.Query().Get("cursor")
	if c == "" {
		return 0, nil
	}
	if !strings.HasPrefix(c, "i") {
		return 0, &Error{http.StatusBadRequest, "bad_cursor", "the cursor was not made by this server", "cursor"}
	}
	id, err := strconv.ParseInt(c[1:], 36, 64)
	if err != nil || id <= 0 {
		return 0, &Error{http.StatusBadRequest, "bad_cursor", "the cursor was not made by this server", "cursor"}
	}
	return id, nil
}

func manager(p auth.Principal) bool {
	return p.Role == auth.RoleAdmin || p.Role == auth.RoleSupervisor
}
