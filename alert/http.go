package alert

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/store"
)

// Errors an Authorize function returns.
var (
	ErrUnauthenticated = errors.New("alert: not authenticated")
	ErrForbidden       = errors.New("alert: forbidden")
)

// Scopes the handler asks Authorize for (the names of package auth).
const (
	ScopeRead    = "inbox:read"    // jobs, their alerts and threads; templates and rules
	ScopeJobs    = "messages:send" // create and update jobs, post job events
	ScopeChat    = "inbox:write"   // write in a job's three-way conversation
	ScopeAdmin   = "admin"         // templates and rules
	ScopeModems  = "modems:read"   // system alerts
	maxBodyBytes = 64 << 10
)

// Authorize checks that the request's principal holds scope and returns it as the
// inbox's actor; ErrUnauthenticated and ErrForbidden become 401 and 403.
type Authorize func(r *http.Request, scope string) (router.Actor, error)

type handler struct {
	svc   *Service
	authz Authorize
	log   *slog.Logger
}

// NewHandler serves the jobs, alert templates, alert rules and system alerts API
// under /api/v1 (docs/alerts.md). Mount it for /api/v1/jobs, /api/v1/alert-templates,
// /api/v1/alert-rules and /api/v1/system-alerts.
func NewHandler(svc *Service, authz Authorize, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{svc: svc, authz: authz, log: log}
	mux := http.NewServeMux()
	route := func(pattern, scope string, fn func(w http.ResponseWriter, r *http.Request, a router.Actor) error) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			a, err := h.authz(r, scope)
			if err == nil {
				err = fn(w, r, a)
			}
			if err != nil {
				h.writeError(w, r, err)
			}
		})
	}
	route("GET /api/v1/jobs", ScopeRead, h.listJobs)
	route("POST /api/v1/jobs", ScopeJobs, h.createJob)
	route("GET /api/v1/jobs/{ref}", ScopeRead, h.getJob)
	route("PATCH /api/v1/jobs/{ref}", ScopeJobs, h.updateJob)
	route("POST /api/v1/jobs/{ref}/events", ScopeJobs, h.postEvent)
	route("GET /api/v1/jobs/{ref}/alerts", ScopeRead, h.jobAlerts)
	route("GET /api/v1/jobs/{ref}/messages", ScopeRead, h.jobMessages)
	route("POST /api/v1/jobs/{ref}/messages", ScopeChat, h.writeJob)

	route("GET /api/v1/alert-templates", ScopeRead, h.listTemplates)
	route("POST /api/v1/alert-templates", ScopeAdmin, h.saveTemplate)
	route("POST /api/v1/alert-templates/preview", ScopeRead, h.preview)
	route("GET /api/v1/alert-templates/{id}", ScopeRead, h.getTemplate)
	route("PUT /api/v1/alert-templates/{id}", ScopeAdmin, h.saveTemplate)
	route("DELETE /api/v1/alert-templates/{id}", ScopeAdmin, h.deleteTemplate)

	route("GET /api/v1/alert-rules", ScopeRead, h.listRules)
	route("POST /api/v1/alert-rules", ScopeAdmin, h.saveRule)
	route("GET /api/v1/alert-rules/{id}", ScopeRead, h.getRule)
	route("PUT /api/v1/alert-rules/{id}", ScopeAdmin, h.saveRule)
	route("DELETE /api/v1/alert-rules/{id}", ScopeAdmin, h.deleteRule)

	route("GET /api/v1/system-alerts", ScopeModems, h.systemAlerts)
	return mux
}

// apiError is a mapped error.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, "invalid", fmt.Sprintf(format, args...)}
}

// writeError is the one place errors become status codes; unknown errors are logged
// and answered with a generic 500.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, ErrUnauthenticated):
		w.Header().Set("WWW-Authenticate", `Bearer realm="smsgw"`)
		ae = &apiError{http.StatusUnauthorized, "unauthenticated", "log in or send an API token (Authorization: Bearer ...)"}
	case errors.Is(err, ErrForbidden), errors.Is(err, router.ErrForbidden):
		ae = &apiError{http.StatusForbidden, "forbidden", strings.TrimPrefix(strings.TrimPrefix(err.Error(), "alert: "), "router: ")}
	case errors.Is(err, ErrNotFound), errors.Is(err, router.ErrNotFound), errors.Is(err, store.ErrNotFound):
		ae = &apiError{http.StatusNotFound, "not_found", "not found"}
	case errors.Is(err, ErrConflict), errors.Is(err, store.ErrDuplicate), errors.Is(err, store.ErrStale),
		errors.Is(err, router.ErrConflict), errors.Is(err, router.ErrInvalidTransition), errors.Is(err, router.ErrConfirmRequired):
		ae = &apiError{http.StatusConflict, "conflict", cleanMsg(err)}
	case errors.Is(err, ErrInvalid), errors.Is(err, router.ErrInvalid), errors.Is(err, router.ErrOptedOut),
		errors.Is(err, router.ErrBlocked):
		ae = &apiError{http.StatusUnprocessableEntity, "invalid", cleanMsg(err)}
	default:
		h.log.Error("alerts API", "method", r.Method, "path", r.URL.Path, "error", err)
		ae = &apiError{http.StatusInternalServerError, "internal", "internal error"}
	}
	writeJSON(w, ae.status, map[string]any{"error": map[string]string{"code": ae.code, "message": ae.msg}})
}

func cleanMsg(err error) string {
	s := err.Error()
	for _, p := range []string{"alert: ", "router: ", "store: "} {
		s = strings.ReplaceAll(s, p, "")
	}
	return s
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBodyBytes+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("invalid JSON body: %v", err)
	}
	if dec.More() {
		return badRequest("invalid JSON body: more than one value")
	}
	return nil
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &apiError{http.StatusNotFound, "not_found", "not found"}
	}
	return id, nil
}

// jobResult is the answer to job writes: the job and the alerts its events made.
type jobResult struct {
	Job    store.DispatchJob `json:"job"`
	Alerts []store.AlertSend `json:"alerts"`
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (h *handler) listJobs(w http.ResponseWriter, r *http.Request, _ router.Actor) error {
	active := r.URL.Query().Get("active") != "false"
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	list, err := h.svc.db.Jobs(r.Context(), active, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": nonNil(list)})
	return nil
}

func (h *handler) createJob(w http.ResponseWriter, r *http.Request, _ router.Actor) error {
	var in JobInput
	if err := decode(r, &in); err != nil {
		return err
	}
	j, sends, err := h.svc.CreateJob(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, jobResult{j, nonNil(sends)})
	return nil
}

func (h *handler) getJob(w http.ResponseWriter, r *http.Request, _ router.Actor) error {
	j, err := h.svc.Job(r.Context(), r.PathValue("ref"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}

func (h *handler) updateJob(w http.ResponseWriter, r *http.Request, _ router.Actor) error {
	var in JobInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Ref != "" && in.Ref != r.PathValue("ref") {
		return badRequest("ref cannot be changed")
	}
	j, sends, err := h.svc.UpdateJob(r.Context(), r.PathValue("ref"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, jobResult{j, nonNil(sends)})
	return nil
}

func (h *handler) postEvent(w http.ResponseWriter, r *http.Request, _ router.Actor) error {
	var in struct {
		Event  string            `json:"event"`
		Fields map[string]string `json:"fields"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	sends, err := h.svc.PostEvent(r.Context(), r.PathValue("ref"), in.Event, in.Fields)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": nonNil(sends)})
	return nil
}

func (h *handler) jobAlerts(w http.ResponseWriter, r *http.Request, _ router.Actor) error {
	j, err := h.svc.Job(r.Context(), r.PathValue("ref"))
	if err != nil {
		return err
	}
	list, err := h.svc.db.AlertSendsOfJob(r.Context(), j.ID, 200)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"alerts": nonNil(list)})
	return nil
}

func (h *handler) jobMessages(w http.ResponseWriter, r *http.Request, a router.Actor) error {
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	th, msgs, err := h.svc.rt.JobThread(r.Context(), a, r.PathValue("ref"), before, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"thread_id": th.ID, "line": th.Line, "messages": nonNil(msgs)})
	return nil
}

func (h *handler) writeJob(w http.ResponseWriter, r *http.Request, a router.Actor) error {
	var in struct {
		To   string `json:"to"` // customer, worker or both
		Body string `json:"body"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	ids, err := h.svc.rt.JobMessage(r.Context(), a, r.PathValue("ref"), in.To, in.Body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"message_ids": nonNil(ids)})
	return nil
}

func (h *handler) listTemplates(w http.ResponseWriter, r *http.Request, _ router.Actor) error {
	list, err := h.svc.db.AlertTemplates(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"templates": nonNil(list)})
	return nil
}

// templateOut is a template with its preview on the sample job.
type templateOut struct {
	store.AlertTemplate
	Preview Preview `json:"preview"`
}

func (h *handler) getTemplate(w http.ResponseWriter, r *http.Request, _ router.Actor) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	t, err := h.svc.db.AlertTemplate(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, templateOut{t, PreviewTemplate(t.Body, nil)})
	return nil
}

func (h *handler) saveTemplate(w http.ResponseWriter, r *http.Request, _ router.Actor) error {
	var in struct {
		Name string `json:"name"`
		Body string `json:"body"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	t := store.AlertTemplate{Name: strings.TrimSpace(in.Name), Body: strings.TrimSpace(in.Body)}
	if t.Name == "" || len(t.Name) > 100 || t.Body == "" || len(t.Body) > 2000 {
		return badRequest("name (1-100) and body (1-2000 bytes) are required")
	}
	status := http.StatusCreated
	if r.Method == http.MethodPut {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		t.ID, status = id, http.StatusOK
	}
	t, err := h.svc.db.SaveAlertTemplate(r.Context(), t, h.svc.now())
	if err != nil {
		return err
	}
	writeJSON(w, status, templateOut{t, PreviewTemplate(t.Body, nil)})
	return nil
}

func (h *handler) deleteTemplate(w http.ResponseWriter, r *http.Request, _ router.Actor) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := h.svc.db.DeleteAlertTemplate(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handler) preview(w http.ResponseWriter, r *http.Request, _ router.Actor) error {
	var in struct {
		Body       string `json:"body"`
		TemplateID int64  `json:"template_id"`
		JobRef     string `json:"job_ref"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.TemplateID != 0 {
		t, err := h.svc.db.AlertTemplate(r.Context(), in.TemplateID)
		if err != nil {
			return err
		}
		in.Body = t.Body
	}
	if in.Body == "" {
		return badRequest("body or template_id is required")
	}
	var job *store.DispatchJob
	if in.JobRef != "" {
		j, err := h.svc.Job(r.Context(), in.JobRef)
		if err != nil {
			return err
		}
		job = &j
	}
	writeJSON(w, http.StatusOK, PreviewTemplate(in.Body, job))
	return nil
}

// ruleJSON is a rule on the wire.
type ruleJSON struct {
	ID            int64             `json:"id,omitempty"`
	Name          string            `json:"name"`
	Event         string            `json:"event"`
	TemplateID    int64             `json:"template_id"`
	Recipients    []string          `json:"recipients"`
	Filters       map[string]string `json:"filters"`
	DedupeSeconds int64             `json:"dedupe_window_seconds"`
	Line          string            `json:"line"`
	Enabled       *bool             `json:"enabled,omitempty"`
	CreatedAt     time.Time         `json:"created_at,omitzero"`
	UpdatedAt     time.Time         `json:"updated_at,omitzero"`
}

func ruleOut(r store.AlertRule) ruleJSON {
	en := r.Enabled
	return ruleJSON{ID: r.ID, Name: r.Name, Event: r.Event, TemplateID: r.TemplateID, Recipients: nonNil(r.Recipients),
		Filters: r.Filters, DedupeSeconds: int64(r.DedupeWindow / time.Second), Line: r.Line, Enabled: &en,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

func (h *handler) listRules(w http.ResponseWriter, r *http.Request, _ router.Actor) error {
	list, err := h.svc.db.AlertRules(r.Context(), "")
	if err != nil {
		return err
	}
	out := []ruleJSON{}
	for _, x := range list {
		out = append(out, ruleOut(x))
	}
	writeJSON(w, http.StatusOK, map[string]any{"rules": out})
	return nil
}

func (h *handler) getRule(w http.ResponseWriter, r *http.Request, _ router.Actor) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	x, err := h.svc.db.AlertRule(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ruleOut(x))
	return nil
}

func (h *handler) saveRule(w http.ResponseWriter, r *http.Request, _ router.Actor) error {
	var in ruleJSON
	if err := decode(r, &in); err != nil {
		return err
	}
	rule := store.AlertRule{Name: strings.TrimSpace(in.Name), Event: strings.ToLower(strings.TrimSpace(in.Event)),
		TemplateID: in.TemplateID, Recipients: in.Recipients, Filters: in.Filters,
		DedupeWindow: time.Duration(in.DedupeSeconds) * time.Second, Line: strings.TrimSpace(in.Line), Enabled: true}
	if in.Enabled != nil {
		rule.Enabled = *in.Enabled
	}
	if rule.Event == "" || len(rule.Event) > 64 || in.TemplateID <= 0 || in.DedupeSeconds < 0 {
		return badRequest("event (1-64 characters), template_id and a non-negative dedupe_window_seconds are required")
	}
	if len(rule.Recipients) == 0 {
		return badRequest("recipients: name at least one of customer, site, billing, worker or a phone number")
	}
	for _, rc := range rule.Recipients {
		switch strings.ToLower(rc) {
		case RecipientCustomer, RecipientSite, RecipientBilling, RecipientWorker:
		default:
			if n, err := h.svc.rt.NormalizeNumber(rc); err != nil || !isPhone(n) {
				return badRequest("recipients: %q is neither customer, site, billing, worker nor a phone number", rc)
			}
		}
	}
	status := http.StatusCreated
	if r.Method == http.MethodPut {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		rule.ID, status = id, http.StatusOK
	}
	saved, err := h.svc.db.SaveAlertRule(r.Context(), rule, h.svc.now())
	if errors.Is(err, store.ErrNotFound) && rule.ID == 0 {
		return badRequest("template %d does not exist", in.TemplateID)
	}
	if err != nil {
		return err
	}
	writeJSON(w, status, ruleOut(saved))
	return nil
}

func (h *handler) deleteRule(w http.ResponseWriter, r *http.Request, _ router.Actor) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := h.svc.db.DeleteAlertRule(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handler) systemAlerts(w http.ResponseWriter, r *http.Request, _ router.Actor) error {
	state := r.URL.Query().Get("state")
	if state != "" && state != store.SystemFiring && state != store.SystemCleared {
		return badRequest("state must be firing or cleared")
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	list, err := h.svc.db.SystemAlerts(r.Context(), state, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"system_alerts": nonNil(list)})
	return nil
}
