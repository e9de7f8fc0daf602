package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/smsgw/smsgw/auth"
	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/router"
)

// events streams Server-Sent Events:
//
//	id: <boot>:<seq>
//	event: <type>
//	data: <envelope JSON, as webhooks get it>
//
// A client reconnecting with Last-Event-ID (header, or ?last_event_id=) first gets
// every event it missed that the bus still holds, then the live stream, with nothing
// between them lost. When the gap cannot be filled (the ring moved on, the gateway
// restarted, or the client fell behind) it gets an event "resync" and should reload
// its lists.
func (a *API) events(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	rc := http.NewResponseController(w)
	agent, err := a.d.DB.Agent(ctx, p.UserID)
	if err != nil {
		return err
	}
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("last_event_id")
	}
	boot := a.d.Envelopes.Boot()
	lastID := int64(-1)
	resync := false
	if last != "" {
		b, seq, ok := strings.Cut(last, ":")
		n, err := strconv.ParseInt(seq, 10, 64)
		if !ok || err != nil || b != boot || n < 0 || n > a.d.Bus.LastID() {
			resync = true // another process run, or not ours
		} else {
			lastID = n
		}
	}
	sub, replay, complete := a.d.Bus.SubscribeSince(lastID, 256, a.visibleTo(p, agent.Queues))
	defer sub.Close()
	if lastID >= 0 && !complete {
		resync = true
	}
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, "retry: 3000\n: smsgw events\n\n"); err != nil {
		return nil
	}
	if resync {
		fmt.Fprintf(w, "event: resync\ndata: {\"reason\":\"events were missed; reload\"}\n\n")
	}
	for _, ev := range replay {
		if err := a.writeEvent(w, ev); err != nil {
			return nil
		}
	}
	if err := rc.Flush(); err != nil {
		return nil
	}
	beat := time.NewTicker(a.d.SSEHeartbeat)
	defer beat.Stop()
	var dropped uint64
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return nil
			}
		case ev, ok := <-sub.C():
			if !ok {
				return nil
			}
			if d := sub.Dropped(); d != dropped {
				dropped = d
				fmt.Fprintf(w, "event: resync\ndata: {\"reason\":\"the client fell behind; reload\"}\n\n")
			}
			if err := a.writeEvent(w, ev); err != nil {
				return nil
			}
		}
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}

func (a *API) writeEvent(w http.ResponseWriter, ev event.Event) error {
	env := a.d.Envelopes.Of(ev)
	b, err := json.Marshal(env)
	if err != nil {
		return err
	}
	// json.Marshal escapes newlines inside strings, so the data is one line.
	_, err = fmt.Fprintf(w, "id: %s:%d\nevent: %s\ndata: %s\n\n", a.d.Envelopes.Boot(), ev.ID, ev.Type, b)
	return err
}

// visibleTo is the event filter of one principal: the same rules the router applies
// to lists (INBOX.md "Who can do what"), from the event's visibility fields. It runs
// on the publisher's goroutine, so it only looks at fields.
func (a *API) visibleTo(p auth.Principal, queues []int64) func(event.Event) bool {
	mgr := manager(p)
	perms := a.d.Permissions
	contacts := p.Can(auth.ScopeContactsRead)
	return func(ev event.Event) bool {
		if ev.UserID != 0 {
			return ev.UserID == p.UserID
		}
		if ev.ActorID == p.UserID || mgr {
			return true
		}
		if ev.ConversationID != 0 {
			if ev.OwnerID == p.UserID {
				return true
			}
			inQueue := slices.Contains(queues, ev.QueueID)
			if ev.OwnerID == 0 {
				return inQueue
			}
			if p.Role == auth.RoleViewer || perms.DispatcherSeeOthers == router.SeeAll {
				return true
			}
			return perms.DispatcherSeeOthers == router.SeeQueue && inQueue
		}
		switch ev.Type {
		case event.ContactCreated, event.ContactUpdated, event.ContactOptedOut, event.ContactOptedIn:
			return contacts
		case event.AgentAvailability:
			return true
		}
		return false // system events (undecodable PDUs, unmatched reports): managers
	}
}
