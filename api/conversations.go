package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/smsgw/smsgw/auth"
	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/store"
)

type startRequest struct {
	To   string `json:"to"`
	Line string `json:"line,omitempty"`
	Body string `json:"body"`
}

type assignRequest struct {
	UserID int64 `json:"user_id"`
}

type snoozeRequest struct {
	Until       *time.Time `json:"until,omitempty"`
	WakeOnReply bool       `json:"wake_on_reply"`
}

type readRequest struct {
	UpToMessageID int64 `json:"up_to_message_id,omitempty"`
}

type priorityRequest struct {
	Priority int `json:"priority"`
}

type needsReplyRequest struct {
	NeedsReply bool `json:"needs_reply"`
}

type replyRequest struct {
	Body           string `json:"body"`
	Force          bool   `json:"force,omitempty"`
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

type noteRequest struct {
	Body string `json:"body"`
}

type bulkRequest struct {
	IDs    []int64 `json:"ids"`
	Action string  `json:"action"` // accept, release, resolve, reopen, archive, unarchive, read, unread, assign
	UserID int64   `json:"user_id,omitempty"`
}

// decodeOptional decodes a body if there is one (actions whose body is optional).
func decodeOptional(r *http.Request, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	return decode(r, v)
}

var statuses = map[string]bool{"NEW": true, "OPEN": true, "SNOOZED": true, "RESOLVED": true, "CLOSED": true}

func (a *API) conversationFilter(r *http.Request) (store.ConversationFilter, error) {
	q := r.URL.Query()
	var f store.ConversationFilter
	if s := q.Get("status"); s != "" && s != "all" {
		for _, st := range strings.Split(s, ",") {
			st = strings.ToUpper(strings.TrimSpace(st))
			if !statuses[st] {
				return f, &Error{http.StatusBadRequest, "bad_parameter", "must be a comma-separated list of NEW, OPEN, SNOOZED, RESOLVED, CLOSED", "status"}
			}
			f.Statuses = append(f.Statuses, st)
		}
	} else if s == "all" {
		f.Statuses = []string{"NEW", "OPEN", "SNOOZED", "RESOLVED", "CLOSED"}
	}
	switch o := q.Get("owner"); o {
	case "", "all":
	case "me":
		f.Owner = store.OwnerMe
	case "unowned":
		f.Owner = store.OwnerUnowned
	case "others":
		f.Owner = store.OwnerOthers
	default:
		id, err := strconv.ParseInt(o, 10, 64)
		if err != nil || id <= 0 {
			return f, &Error{http.StatusBadRequest, "bad_parameter", "must be me, unowned, others, all or a user id", "owner"}
		}
		f.Owner, f.OwnerID = store.OwnerUser, id
	}
	var err error
	if f.QueueID, err = queryInt(r, "queue", 0); err != nil {
		return f, err
	}
	if f.ContactID, err = queryInt(r, "contact", 0); err != nil {
		return f, err
	}
	f.Line = q.Get("line")
	if tag := q.Get("tag"); tag != "" {
		id, err := a.d.DB.TagID(r.Context(), tag)
		if errors.Is(err, store.ErrNotFound) {
			id = -1 // no such tag: an empty list
		} else if err != nil {
			return f, err
		}
		f.TagID = id
	}
	if f.Archived, err = queryBool(r, "archived"); err != nil {
		return f, err
	}
	if f.Unread, err = queryBool(r, "unread"); err != nil {
		return f, err
	}
	if f.NeedsReply, err = queryBool(r, "needs_reply"); err != nil {
		return f, err
	}
	f.Search = strings.TrimSpace(q.Get("q"))
	if len(f.Search) > 500 {
		return f, &Error{http.StatusBadRequest, "bad_parameter", "must be at most 500 bytes", "q"}
	}
	f.Cursor = q.Get("cursor")
	n, err := limitParam(r, 50, 200)
	f.Limit = n
	return f, err
}

type conversationList struct {
	Items      []store.ConversationItem  `json:"items"`
	NextCursor string                    `json:"next_cursor,omitempty"`
	Counts     *store.ConversationCounts `json:"counts,omitempty"`
}

func (a *API) listConversations(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	f, err := a.conversationFilter(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	var out conversationList
	if f.TagID == -1 {
		out.Items = []store.ConversationItem{}
	} else {
		pg, err := a.d.Router.Conversations(ctx, p.Actor(), f)
		if err != nil {
			return err
		}
		out.Items, out.NextCursor = pg.Items, pg.Next
	}
	if out.Items == nil {
		out.Items = []store.ConversationItem{}
	}
	if r.URL.Query().Get("include") == "counts" {
		c, err := a.d.Router.Counts(ctx, p.Actor())
		if err != nil {
			return err
		}
		out.Counts = &c
	}
	if out.NextCursor != "" {
		u := *r.URL
		qq := u.Query()
		qq.Set("cursor", out.NextCursor)
		w.Header().Set("Link", "<"+u.Path+"?"+qq.Encode()+`>; rel="next"`)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) counts(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	c, err := a.d.Router.Counts(r.Context(), p.Actor())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (a *API) getConversation(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := a.d.Router.Conversation(r.Context(), p.Actor(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (a *API) startConversation(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var s startRequest
	if err := decode(r, &s); err != nil {
		return err
	}
	if strings.TrimSpace(s.To) == "" {
		return fieldErr("to", "is required")
	}
	c, msgID, err := a.d.Router.StartConversation(r.Context(), p.Actor(), s.To, s.Line, s.Body)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/conversations/"+strconv.FormatInt(c.ID, 10))
	writeJSON(w, http.StatusCreated, map[string]any{"conversation": c, "message_id": msgID})
	return nil
}

// act runs one conversation action by name.
func (a *API) act(r *http.Request, p auth.Principal, id int64, action string, userID int64) (store.Conversation, error) {
	ctx, ac := r.Context(), p.Actor()
	switch action {
	case "accept":
		return a.d.Router.Accept(ctx, ac, id)
	case "release":
		return a.d.Router.Release(ctx, ac, id)
	case "resolve":
		return a.d.Router.Resolve(ctx, ac, id)
	case "reopen":
		return a.d.Router.Reopen(ctx, ac, id)
	case "archive":
		return a.d.Router.Archive(ctx, ac, id, true)
	case "unarchive":
		return a.d.Router.Archive(ctx, ac, id, false)
	case "assign":
		return a.d.Router.Assign(ctx, ac, id, userID)
	case "read":
		return store.Conversation{ID: id}, a.d.Router.MarkRead(ctx, ac, id, 0)
	case "unread":
		return store.Conversation{ID: id}, a.d.Router.MarkUnread(ctx, ac, id)
	}
	return store.Conversation{}, fieldErr("action", "must be accept, release, resolve, reopen, archive, unarchive, read, unread or assign")
}

func (a *API) convAction(action string) handler {
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		c, err := a.act(r, p, id, action, 0)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, c)
		return nil
	}
}

func (a *API) assign(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req assignRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.UserID <= 0 {
		return fieldErr("user_id", "is required")
	}
	c, err := a.d.Router.Assign(r.Context(), p.Actor(), id, req.UserID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (a *API) snooze(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req snoozeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	var until time.Time
	if req.Until != nil {
		until = *req.Until
	}
	if until.IsZero() && !req.WakeOnReply {
		return fieldErr("until", "give a time, or wake_on_reply, or both")
	}
	c, err := a.d.Router.Snooze(r.Context(), p.Actor(), id, until, req.WakeOnReply)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (a *API) markRead(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req readRequest
	if err := decodeOptional(r, &req); err != nil {
		return err
	}
	if err := a.d.Router.MarkRead(r.Context(), p.Actor(), id, req.UpToMessageID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) markUnread(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.d.Router.MarkUnread(r.Context(), p.Actor(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) setPriority(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req priorityRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	c, err := a.d.Router.SetPriority(r.Context(), p.Actor(), id, req.Priority)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (a *API) setNeedsReply(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req needsReplyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	c, err := a.d.Router.SetNeedsReply(r.Context(), p.Actor(), id, req.NeedsReply)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (a *API) convMessages(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
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
	ms, err := a.d.Router.Messages(r.Context(), p.Actor(), id, before, limit)
	if err != nil {
		return err
	}
	next := ""
	if len(ms) == limit {
		next = idCursor(ms[len(ms)-1].ID)
	}
	writePage(w, r, ms, next)
	return nil
}

func (a *API) reply(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req replyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if k := r.Header.Get("Idempotency-Key"); k != "" && req.IdempotencyKey == "" {
		req.IdempotencyKey = k
	}
	msgID, err := a.d.Router.ReplyWith(r.Context(), p.Actor(), id, router.ReplyRequest{Body: req.Body, Force: req.Force,
		IdempotencyKey: req.IdempotencyKey})
	if err != nil {
		return err
	}
	m, err := a.d.DB.ThreadMessage(r.Context(), msgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, m)
	return nil
}

func (a *API) notes(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
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
	ns, err := a.d.Router.Notes(r.Context(), p.Actor(), id, before, limit)
	if err != nil {
		return err
	}
	next := ""
	if len(ns) == limit {
		next = idCursor(ns[len(ns)-1].ID)
	}
	writePage(w, r, ns, next)
	return nil
}

func (a *API) addNote(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req noteRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	n, err := a.d.Router.AddNote(r.Context(), p.Actor(), id, req.Body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, n)
	return nil
}

func (a *API) activity(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	acts, err := a.d.Router.Activity(r.Context(), p.Actor(), id)
	if err != nil {
		return err
	}
	writePage(w, r, acts, "")
	return nil
}

func (a *API) tag(add bool) handler {
	return func(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
		id, err := pathID(r, "id")
		if err != nil {
			return err
		}
		c, err := a.d.Router.Tag(r.Context(), p.Actor(), id, mux.Vars(r)["tag"], add)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, c)
		return nil
	}
}

func (a *API) tags(w http.ResponseWriter, r *http.Request, _ auth.Principal) error {
	ts, err := a.d.DB.Tags(r.Context())
	if err != nil {
		return err
	}
	writePage(w, r, ts, "")
	return nil
}

func (a *API) queues(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	qs, err := a.d.Router.Queues(r.Context(), p.Actor())
	if err != nil {
		return err
	}
	writePage(w, r, qs, "")
	return nil
}

var bulkActions = map[string]bool{"accept": true, "release": true, "resolve": true, "reopen": true, "archive": true,
	"unarchive": true, "read": true, "unread": true, "assign": true}

type bulkResult struct {
	ID    int64             `json:"id"`
	OK    bool              `json:"ok"`
	Error map[string]string `json:"error,omitempty"`
}

func (a *API) bulk(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var req bulkRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if len(req.IDs) == 0 || len(req.IDs) > 100 {
		return fieldErr("ids", "give 1-100 conversation ids")
	}
	if req.Action == "assign" && req.UserID <= 0 {
		return fieldErr("user_id", "is required for assign")
	}
	if !bulkActions[req.Action] {
		return fieldErr("action", "must be accept, release, resolve, reopen, archive, unarchive, read, unread or assign")
	}
	out := make([]bulkResult, 0, len(req.IDs))
	for _, id := range req.IDs {
		res := bulkResult{ID: id, OK: true}
		if _, err := a.act(r, p, id, req.Action, req.UserID); err != nil {
			e := toError(err)
			if e == nil {
				return err
			}
			res.OK, res.Error = false, map[string]string{"code": e.Code, "message": e.Message}
		}
		out = append(out, res)
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": out})
	return nil
}
