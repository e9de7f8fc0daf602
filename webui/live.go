package webui

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/smsgw/smsgw/auth"
	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/queue"
	"github.com/smsgw/smsgw/store"
)

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

func randomKey() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// liveEvent is what the browser gets for a bus event: which thing changed, never its
// content. The page fetches what it shows through the permission-checked fragment
// routes, so SMS text never travels over the stream and nothing is rendered from it.
type liveEvent struct {
	Type           string `json:"type"`
	ConversationID int64  `json:"conversation_id,omitempty"`
	ThreadID       int64  `json:"thread_id,omitempty"`
	OwnerID        int64  `json:"owner_id,omitempty"`
	ActorID        int64  `json:"actor_id,omitempty"`
	ForMe          bool   `json:"for_me,omitempty"` // an alert addressed to this user
}

// events is the UI's Server-Sent Events stream, filtered by what the user may see:
// alerts only reach their recipient, and conversation events only users who can see
// the conversation (checked through the router, cached for a few seconds).
func (u *UI) events(w http.ResponseWriter, r *http.Request) {
	p, ok := auth.From(r.Context())
	if !ok {
		http.Error(w, "signed out", http.StatusUnauthorized)
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout

	last := int64(-1)
	if s := r.Header.Get("Last-Event-ID"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			last = n
		}
	}
	sub, replay, complete := u.opts.Bus.SubscribeSince(last, 256, func(e event.Event) bool {
		return e.UserID == 0 || e.UserID == p.UserID
	})
	defer sub.Close()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "retry: 2000\nid: %d\nevent: hello\ndata: {}\n\n", u.opts.Bus.LastID())
	if last >= 0 && !complete {
		fmt.Fprint(w, "event: resync\ndata: {}\n\n")
	}
	flusher.Flush()

	vis := map[int64]visible{}
	send := func(e event.Event) bool {
		if e.ConversationID != 0 && !u.canSee(r, p, e.ConversationID, vis) {
			return true
		}
		le := liveEvent{Type: e.Type, ConversationID: e.ConversationID, ThreadID: e.ThreadID, OwnerID: e.OwnerID,
			ActorID: e.ActorID, ForMe: e.UserID == p.UserID && e.UserID != 0}
		b, _ := json.Marshal(le)
		if _, err := fmt.Fprintf(w, "id: %d\nevent: change\ndata: %s\n\n", e.ID, b); err != nil {
			return false
		}
		return true
	}
	for _, e := range replay {
		if !send(e) {
			return
		}
	}
	flusher.Flush()
	ping := time.NewTicker(25 * time.Second)
	defer ping.Stop()
	var done <-chan struct{}
	if u.opts.Done != nil {
		done = u.opts.Done
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-done:
			return
		case <-ping.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
			flusher.Flush()
		case e, ok := <-sub.C():
			if !ok {
				return
			}
			if !send(e) {
				return
			}
			// Drain what else is waiting before flushing once.
			for more := true; more; {
				select {
				case e, ok := <-sub.C():
					if !ok {
						return
					}
					if !send(e) {
						return
					}
				default:
					more = false
				}
			}
			flusher.Flush()
		}
	}
}

type visible struct {
	ok bool
	at time.Time
}

// canSee asks the router whether p may see a conversation, caching the answer for a
// few seconds per stream (ownership changes can change it).
func (u *UI) canSee(r *http.Request, p auth.Principal, id int64, cache map[int64]visible) bool {
	if v, ok := cache[id]; ok && time.Since(v.at) < 5*time.Second {
		return v.ok
	}
	_, err := u.rt.Conversation(r.Context(), p.Actor(), id)
	ok := err == nil
	if len(cache) > 1000 {
		clear(cache)
	}
	cache[id] = visible{ok: ok, at: time.Now()}
	return ok
}

// alertItem is one entry of the bell's list.
type alertItem struct {
	store.Alert
	Name   string
	Status string
	Owner  int64
}

func (u *UI) alertsFragment(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	list, err := u.rt.Alerts(r.Context(), p.Actor(), store.AlertActive)
	if err != nil {
		return err
	}
	var items []alertItem
	for _, a := range list {
		it := alertItem{Alert: a}
		if v, err := u.rt.Conversation(r.Context(), p.Actor(), a.ConversationID); err == nil {
			it.Name, it.Status, it.Owner = v.Contact.Name, v.Status, v.OwnerID
		} else {
			continue
		}
		items = append(items, it)
	}
	u.fragment(w, "alerts", u.base(r, p, "", "inbox"), items)
	return nil
}

func (u *UI) alertRead(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err := u.rt.MarkAlertRead(r.Context(), p.Actor(), id); err != nil {
		return err
	}
	redirectBack(w, r, "/inbox", "")
	return nil
}

// sendTest sends the composer's text to the agent's own number, outside any
// conversation, so they can see on a real phone how it arrives.
func (u *UI) sendTest(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if u.opts.Queue == nil {
		return errors.Join(errBadInput, errors.New("sending is not available"))
	}
	if !p.Can("messages:send") {
		return errors.Join(errBadInput, errors.New("your role cannot send messages"))
	}
	to, err := u.rt.NormalizeNumber(r.PostFormValue("number"))
	if err != nil {
		return errors.Join(errBadInput, errors.New("enter your own number in international format, e.g. +4915112345678"))
	}
	body := strings.TrimSpace(r.PostFormValue("body"))
	if body == "" || len([]rune(body)) > u.opts.MaxChars {
		return errors.Join(errBadInput, fmt.Errorf("the test message must be 1-%d characters", u.opts.MaxChars))
	}
	msg, _, err := u.opts.Queue.Enqueue(r.Context(), queue.Request{To: to, Body: body, Line: r.PostFormValue("line"),
		AuthorID: p.UserID, IdempotencyKey: keyFor(p, "test:"+r.PostFormValue("key"))})
	if err != nil {
		return errors.Join(errBadInput, err)
	}
	u.log.Info("test message queued", "user", p.Username, "message", msg.UID)
	redirectBack(w, r, safeNext(r.PostFormValue("back")), "Test message queued to "+to+".")
	return nil
}
