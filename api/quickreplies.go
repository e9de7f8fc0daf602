package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/smsgw/smsgw/auth"
	"github.com/smsgw/smsgw/store"
)

type quickReplyRequest struct {
	Scope    string   `json:"scope"` // personal, queue, global
	QueueID  int64    `json:"queue_id,omitempty"`
	Shortcut string   `json:"shortcut"`
	Body     string   `json:"body"`
	Fields   []string `json:"fields,omitempty"`
}

func (a *API) quickReplies(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	qs, err := a.d.Router.QuickReplies(r.Context(), p.Actor())
	if err != nil {
		return err
	}
	writePage(w, r, qs, "")
	return nil
}

func (a *API) saveQuickReply(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	var id int64
	if _, ok := mux.Vars(r)["id"]; ok {
		var err error
		if id, err = pathID(r, "id"); err != nil {
			return err
		}
	}
	var req quickReplyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	switch req.Scope {
	case store.ScopePersonal, store.ScopeQueue, store.ScopeGlobal:
	default:
		return fieldErr("scope", "must be personal, queue or global")
	}
	if req.Fields == nil {
		req.Fields = []string{}
	}
	q, err := a.d.Router.SaveQuickReply(r.Context(), p.Actor(), store.QuickReply{ID: id, Scope: req.Scope, QueueID: req.QueueID,
		Shortcut: req.Shortcut, Body: req.Body, Fields: req.Fields})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if id == 0 {
		status = http.StatusCreated
	}
	writeJSON(w, status, q)
	return nil
}

func (a *API) deleteQuickReply(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := a.d.Router.DeleteQuickReply(r.Context(), p.Actor(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
