package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/smsgw/smsgw/auth"
	"github.com/smsgw/smsgw/queue"
	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/server"
	"github.com/smsgw/smsgw/store"
	"github.com/smsgw/smsgw/webhook"
)

// Error is an API error: an HTTP status and the body
// {"error":{"code":"...","message":"...","field":"..."}}. Codes are stable; messages
// are for people.
type Error struct {
	Status  int
	Code    string
	Message string
	Field   string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

func errf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// fieldErr is a 422 naming the field at fault.
func fieldErr(field, format string, args ...any) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Code: "invalid", Field: field, Message: fmt.Sprintf(format, args...)}
}

var (
	errUnauthenticated = &Error{http.StatusUnauthorized, "unauthenticated", "log in or send an API token (Authorization: Bearer ...)", ""}
	errCSRF            = &Error{http.StatusForbidden, "csrf", "missing or wrong CSRF token (header X-CSRF-Token)", ""}
	errNotFound        = &Error{http.StatusNotFound, "not_found", "no such resource", ""}
)

// domainMessage strips a package prefix ("router: ") from an error meant for people.
func domainMessage(err error) string {
	s := err.Error()
	for _, p := range []string{"router: ", "queue: ", "auth: ", "webhook: ", "store: "} {
		s = strings.TrimPrefix(s, p)
	}
	return s
}

// toError maps any error to an API error. It is the only place that does; errors it
// does not know become a generic 500 (logged by writeError, never shown).
func toError(err error) *Error {
	var ae *Error
	var qf *queue.FieldError
	var wf *webhook.FieldError
	var ac *router.AcceptConflictError
	var mb *http.MaxBytesError
	if strings.Contains(err.Error(), store.ErrBadCursor.Error()) {
		return &Error{http.StatusBadRequest, "bad_cursor", "the cursor was not made by this server", "cursor"}
	}
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &mb):
		return errf(http.StatusRequestEntityTooLarge, "too_large", "the request body exceeds %d bytes", mb.Limit)
	case errors.As(err, &qf):
		return &Error{http.StatusUnprocessableEntity, "invalid", qf.Msg, qf.Field}
	case errors.As(err, &wf):
		return &Error{http.StatusUnprocessableEntity, "invalid", wf.Msg, wf.Field}
	case errors.As(err, &ac):
		return errf(http.StatusConflict, "already_accepted", "already accepted by %s", ac.Owner)
	case errors.Is(err, auth.ErrUnauthenticated):
		return errUnauthenticated
	case errors.Is(err, auth.ErrBadCredentials):
		return errf(http.StatusUnauthorized, "bad_credentials", "wrong username or password")
	case errors.Is(err, auth.ErrThrottled):
		return errf(http.StatusTooManyRequests, "throttled", "too many failed logins; try again in a few minutes")
	case errors.Is(err, auth.ErrWeakPassword):
		return &Error{http.StatusUnprocessableEntity, "weak_password", domainMessage(auth.ErrWeakPassword), "password"}
	case errors.Is(err, auth.ErrDuplicate):
		return &Error{http.StatusConflict, "duplicate", "the username is taken", "username"}
	case errors.Is(err, auth.ErrInvalid):
		return authField(err)
	case errors.Is(err, auth.ErrNotFound), errors.Is(err, webhook.ErrNotFound), errors.Is(err, store.ErrNotFound):
		return errNotFound
	case errors.Is(err, router.ErrNotFound):
		return errf(http.StatusNotFound, "not_found", "%s", domainMessage(err))
	case errors.Is(err, router.ErrForbidden):
		return errf(http.StatusForbidden, "forbidden", "%s", domainMessage(err))
	case errors.Is(err, router.ErrConfirmRequired):
		return errf(http.StatusConflict, "confirm_required", "%s; repeat with \"force\": true", domainMessage(router.ErrConfirmRequired))
	case errors.Is(err, router.ErrInvalidTransition):
		return errf(http.StatusConflict, "invalid_transition", "%s", domainMessage(err))
	case errors.Is(err, router.ErrConflict), errors.Is(err, store.ErrStale):
		return errf(http.StatusConflict, "conflict", "%s", domainMessage(err))
	case errors.Is(err, router.ErrOptedOut):
		return errf(http.StatusUnprocessableEntity, "opted_out", "%s", domainMessage(router.ErrOptedOut))
	case errors.Is(err, router.ErrBlocked):
		return errf(http.StatusUnprocessableEntity, "blocked", "%s", domainMessage(router.ErrBlocked))
	case errors.Is(err, router.ErrInvalid):
		return errf(http.StatusUnprocessableEntity, "invalid", "%s", domainMessage(err))
	case errors.Is(err, store.ErrNumberTaken):
		return &Error{http.StatusConflict, "number_taken", "the number belongs to another contact", "number"}
	case errors.Is(err, store.ErrDuplicate):
		return errf(http.StatusConflict, "duplicate", "already exists")
	case errors.Is(err, store.ErrNotCancellable):
		return errf(http.StatusConflict, "not_cancellable", "%s", domainMessage(store.ErrNotCancellable))
	case errors.Is(err, store.ErrNothingToResend):
		return errf(http.StatusConflict, "nothing_to_resend", "%s", domainMessage(store.ErrNothingToResend))
	case errors.Is(err, queue.ErrInvalid):
		return errf(http.StatusUnprocessableEntity, "invalid", "%s", domainMessage(err))
	}
	return nil
}

// authField turns "auth: invalid input: scopes: ..." into a field error.
func authField(err error) *Error {
	msg := strings.TrimPrefix(err.Error(), auth.ErrInvalid.Error()+": ")
	field := ""
	if f, rest, ok := strings.Cut(msg, ": "); ok && !strings.Contains(f, " ") {
		field, msg = f, rest
	} else if strings.HasPrefix(msg, "username") {
		field = "username"
	} else if strings.HasPrefix(msg, "role") {
		field = "role"
	} else if strings.HasPrefix(msg, "display name") {
		field = "display_name"
	}
	return &Error{http.StatusUnprocessableEntity, "invalid", msg, field}
}

// writeError answers with the error shape. Unknown errors are logged with the request
// id and answered with a generic 500 that carries only that id.
func writeError(w http.ResponseWriter, log *slog.Logger, r *http.Request, reqID string, err error) {
	e := toError(err)
	if e == nil {
		log.Error("api request failed", "error", err, "request_id", reqID, "method", r.Method, "path", r.URL.Path)
		e = &Error{http.StatusInternalServerError, "internal", "internal error (request " + reqID + "); the server log has the details", ""}
	}
	body := map[string]string{"code": e.Code, "message": e.Message}
	if e.Field != "" {
		body["field"] = e.Field
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="smsgw"`)
	}
	server.WriteJSON(w, e.Status, map[string]any{"error": body})
}

// maxBody is the default request size limit.
const maxBody = 1 << 20

// decode reads one JSON value into v: unknown fields, trailing data and bodies over
// the limit are errors that name what is wrong.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return errf(http.StatusBadRequest, "bad_json", "the body must hold one JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errf(http.StatusBadRequest, "bad_json", "the body must hold one JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var mb *http.MaxBytesError
	switch {
	case errors.As(err, &mb):
		return err
	case errors.Is(err, io.EOF):
		return errf(http.StatusBadRequest, "bad_json", "the request needs a JSON body")
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
		return errf(http.StatusBadRequest, "bad_json", "the body is not valid JSON")
	case errors.As(err, &te):
		return &Error{http.StatusUnprocessableEntity, "invalid", "must be " + jsonKind(te.Type.Kind().String()), te.Field}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &Error{http.StatusBadRequest, "unknown_field", "unknown field " + strconvQuote(f), f}
	}
	return errf(http.StatusBadRequest, "bad_json", "the body is not valid JSON")
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "a list"
	case "map", "struct":
		return "an object"
	}
	return "a number"
}
