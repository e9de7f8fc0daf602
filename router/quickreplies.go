package router

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/smsgw/smsgw/store"
)

// SaveQuickReply creates (ID 0) or updates a quick reply. Admins manage global ones,
// supervisors queue ones, everyone but viewers their personal ones.
func (r *Router) SaveQuickReply(ctx context.Context, a Actor, q store.QuickReply) (store.QuickReply, error) {
	q.Shortcut = strings.TrimSpace(q.Shortcut)
	if q.Shortcut == "" || utf8.RuneCountInString(q.Shortcut) > 64 || q.Body == "" || utf8.RuneCountInString(q.Body) > MaxBody {
		return q, fmt.Errorf("%w: a quick reply needs a shortcut (1-64) and a body (1-%d)", ErrInvalid, MaxBody)
	}
	for _, f := range q.Fields {
		if !fieldNameRE.MatchString(f) {
			return q, fmt.Errorf("%w: field name %q", ErrInvalid, f)
		}
	}
	if _, err := Render(q.Body, RenderData{}, nil, true); err != nil {
		return q, err
	}
	err := r.update(ctx, func(tx *store.Tx, em *emitter) error {
		w, err := r.resolve(tx.Agent, a)
		if err != nil {
			return err
		}
		if q.Scope == store.ScopePersonal && q.OwnerID == 0 {
			q.OwnerID = w.UserID
		}
		if q.Scope != store.ScopePersonal {
			q.OwnerID = 0
		}
		if q.Scope != store.ScopeQueue {
			q.QueueID = 0
		} else if q.QueueID == 0 {
			return fmt.Errorf("%w: a queue quick reply needs a queue", ErrInvalid)
		}
		if err := checkQuickReply(w, q); err != nil {
			return err
		}
		if q.ID != 0 {
			old, err := r.db.QuickReply(ctx, q.ID)
			if err != nil {
				return notFound(err, fmt.Sprintf("quick reply %d", q.ID))
			}
			if err := checkQuickReply(w, old); err != nil {
				return err
			}
		} else {
			q.CreatedBy = w.UserID
		}
		q.ID, err = tx.SaveQuickReply(q, r.now())
		return err
	})
	if err != nil {
		return q, err
	}
	return r.db.QuickReply(ctx, q.ID)
}

// DeleteQuickReply removes a quick reply the actor may manage.
func (r *Router) DeleteQuickReply(ctx context.Context, a Actor, id int64) error {
	return r.update(ctx, func(tx *store.Tx, em *emitter) error {
		w, err := r.resolve(tx.Agent, a)
		if err != nil {
			return err
		}
		q, err := r.db.QuickReply(ctx, id)
		if err != nil {
			return notFound(err, fmt.Sprintf("quick reply %d", id))
		}
		if err := checkQuickReply(w, q); err != nil {
			return err
		}
		return tx.DeleteQuickReply(id)
	})
}

// QuickReplies lists the quick replies the actor sees: global, their queues', their own.
func (r *Router) QuickReplies(ctx context.Context, a Actor) ([]store.QuickReply, error) {
	w, err := r.resolveRead(ctx, a)
	if err != nil {
		return nil, err
	}
	return r.db.QuickReplies(ctx, w.UserID, w.agent.Queues)
}

// RenderData are the values quick-reply variables take.
type RenderData struct {
	ContactName   string
	ContactNumber string
	ContactFields map[string]string
	AgentName     string
	Line          string
	JobRef        string
}

var (
	varRE       = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.]+)\s*(?:\|([^{}]*))?\}\}`)
	fieldNameRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,32}$`)
)

// Render fills a quick reply's variables in one pass over the template: values are
// inserted as they are and never scanned again, so a contact named "{{agent.name}}"
// stays literally that. Variables: contact.name, contact.first_name, contact.number,
// contact.fields.X, agent.name, line, job.ref, and field.X, which the agent fills in
// (fields). {{var|fallback}} uses the fallback when the value is empty. A field the
// agent did not fill in and has no fallback is an error, as is an unknown variable;
// check only validates the template.
func Render(tmpl string, d RenderData, fields map[string]string, check bool) (string, error) {
	var firstErr error
	out := varRE.ReplaceAllStringFunc(tmpl, func(m string) string {
		sub := varRE.FindStringSubmatch(m)
		name, fallback := sub[1], strings.TrimSpace(sub[2])
		var v string
		known := true
		switch {
		case name == "contact.name":
			v = d.ContactName
		case name == "contact.first_name":
			v, _, _ = strings.Cut(strings.TrimSpace(d.ContactName), " ")
		case name == "contact.number":
			v = d.ContactNumber
		case strings.HasPrefix(name, "contact.fields."):
			v = d.ContactFields[strings.TrimPrefix(name, "contact.fields.")]
		case name == "agent.name":
			v = d.AgentName
		case name == "line":
			v = d.Line
		case name == "job.ref":
			v = d.JobRef
		case strings.HasPrefix(name, "field."):
			v = fields[strings.TrimPrefix(name, "field.")]
			if v == "" && fallback == "" && !check && firstErr == nil {
				firstErr = fmt.Errorf("%w: fill in the field %q", ErrInvalid, strings.TrimPrefix(name, "field."))
			}
		default:
			known = false
		}
		if !known {
			if firstErr == nil {
				firstErr = fmt.Errorf("%w: unknown variable %q", ErrInvalid, name)
			}
			return m
		}
		if v == "" {
			v = fallback
		}
		return v
	})
	if firstErr != nil {
		return "", firstErr
	}
	return out, nil
}

// RenderQuickReply fills quick reply id for a conversation, with the fields the agent
// entered, without sending it (the composer shows the result and its segment count).
func (r *Router) RenderQuickReply(ctx context.Context, a Actor, conversationID, id int64, fields map[string]string) (string, error) {
	w, err := r.resolveRead(ctx, a)
	if err != nil {
		return "", err
	}
	c, err := r.db.Conversation(ctx, conversationID)
	if err != nil {
		return "", notFound(err, fmt.Sprintf("conversation %d", conversationID))
	}
	if err := r.Settings().Permissions.checkSee(w, c); err != nil {
		return "", err
	}
	q, err := r.db.QuickReply(ctx, id)
	if err != nil {
		return "", notFound(err, fmt.Sprintf("quick reply %d", id))
	}
	visible := q.Scope == store.ScopeGlobal || (q.Scope == store.ScopePersonal && q.OwnerID == w.UserID) ||
		(q.Scope == store.ScopeQueue && (w.inQueue(q.QueueID) || w.manager()))
	if !visible {
		return "", fmt.Errorf("%w: quick reply %d", ErrNotFound, id)
	}
	contact, err := r.db.Contact(ctx, c.ContactID)
	if err != nil {
		return "", err
	}
	th, err := r.db.Thread(ctx, c.ThreadID)
	if err != nil {
		return "", err
	}
	name := contact.Name
	if name == th.Peer || name == "" {
		name = "" // a lead is named after its number: no name to greet
	}
	return Render(q.Body, RenderData{ContactName: name, ContactNumber: th.Peer, ContactFields: contact.Fields,
		AgentName: w.name(), Line: c.Line, JobRef: c.JobRef}, fields, false)
}

// ReplyQuick renders quick reply id and sends it as the actor's reply.
func (r *Router) ReplyQuick(ctx context.Context, a Actor, conversationID, id int64, fields map[string]string) (int64, error) {
	body, err := r.RenderQuickReply(ctx, a, conversationID, id, fields)
	if err != nil {
		return 0, err
	}
	return r.Reply(ctx, a, conversationID, body)
}
