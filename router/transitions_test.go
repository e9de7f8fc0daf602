package router

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/store"
)

// TestTransitions has one case per transition of INBOX.md, each on a fresh SQLite file.
func TestTransitions(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		run  func(t *testing.T, e *env)
	}{
		{name: "T1 unknown number: lead, thread, NEW episode, alert every ready agent of the queue", run: func(t *testing.T, e *env) {
			e.inbound(custA, "Is the tech still coming?")
			c := e.live(custA)
			if c.Status != store.StatusNew || c.OwnerID != 0 || c.QueueID != store.DefaultQueueID || !c.NeedsReply {
				t.Fatalf("episode %+v", c)
			}
			contact := must(e.db.Contact(e.ctx, c.ContactID))
			if contact.Type != store.ContactLead || contact.Name != custA || len(contact.Numbers) != 1 {
				t.Errorf("contact %+v", contact)
			}
			for _, u := range []string{"sam", "ana", "bob"} {
				a := e.alerts(u, c.ID)[store.AlertQueue]
				if a.State != store.AlertActive || !a.ExpiresAt.Equal(t0.Add(14*24*time.Hour)) {
					t.Errorf("%s alert %+v", u, a)
				}
			}
			for _, u := range []string{"ada", "vic"} { // away; viewer
				if len(e.alerts(u, c.ID)) != 0 {
					t.Errorf("%s was alerted", u)
				}
			}
			ev := e.drain()
			for _, want := range []string{event.ContactCreated, event.ConversationCreated, event.MessageReceived, event.AlertCreated} {
				if !has(ev, want) {
					t.Errorf("no %s in %v", want, ev)
				}
			}
			msgs := must(e.db.ThreadMessages(e.ctx, c.ThreadID, 0, 10))
			if len(msgs) != 1 || msgs[0].Body != "Is the tech still coming?" || msgs[0].Status != "received" {
				t.Errorf("messages %+v", msgs)
			}
		}},
		{name: "T2 inbound on NEW updates the queue alert, never duplicates it", run: func(t *testing.T, e *env) {
			e.inbound(custA, "hello")
			e.drain()
			e.inbound(custA, "anyone?")
			c := e.live(custA)
			a := e.alerts("ana", c.ID)[store.AlertQueue]
			if c.Status != store.StatusNew || a.Count != 2 || a.State != store.AlertActive {
				t.Fatalf("status %s, alert %+v", c.Status, a)
			}
			all := must(e.db.ConversationAlerts(e.ctx, c.ID))
			if len(all) != 3 {
				t.Errorf("%d alerts, want 3 (one per ready agent)", len(all))
			}
			ev := e.drain()
			if has(ev, event.AlertCreated) || !has(ev, event.AlertUpdated) || has(ev, event.ConversationCreated) {
				t.Errorf("events %v", ev)
			}
			v := must(e.r.Conversation(e.ctx, e.actor("bob"), c.ID))
			if !v.Unread {
				t.Error("not unread for bob")
			}
		}},
		{name: "T3 inbound on OPEN alerts only the owner, the queue too when the owner is away and the line escalates", run: func(t *testing.T, e *env) {
			e.inbound(custA, "hello")
			c := e.live(custA)
			must(e.r.Accept(e.ctx, e.actor("ana"), c.ID))
			e.inbound(custA, "are you there")
			if !e.activeAlert("ana", c.ID, store.AlertOwner) {
				t.Error("owner not alerted")
			}
			if e.activeAlert("bob", c.ID, store.AlertQueue) {
				t.Error("bob still alerted")
			}
			if err := e.r.SetAvailability(e.ctx, e.actor("ana"), e.uid("ana"), store.AvailabilityAway); err != nil {
				t.Fatal(err)
			}
			if err := e.r.SetLine(e.ctx, e.actor("ada"), store.Line{Name: modemName, QueueID: store.DefaultQueueID, EscalateOwnerAway: true}); err != nil {
				t.Fatal(err)
			}
			e.inbound(custA, "hello??")
			if !e.activeAlert("bob", c.ID, store.AlertQueue) {
				t.Error("queue not alerted while the owner is away")
			}
			if e.activeAlert("ana", c.ID, store.AlertQueue) {
				t.Error("away owner got a queue alert")
			}
		}},
		{name: "T4 inbound on SNOOZED wakes it: OPEN with owner, NEW without", run: func(t *testing.T, e *env) {
			e.inbound(custA, "hello")
			c := e.live(custA)
			must(e.r.Accept(e.ctx, e.actor("ana"), c.ID))
			must(e.r.Snooze(e.ctx, e.actor("ana"), c.ID, t0.Add(24*time.Hour), false))
			e.inbound(custA, "back again")
			c = e.conv(c.ID)
			if c.Status != store.StatusOpen || c.OwnerID != e.uid("ana") || !c.SnoozedUntil.IsZero() {
				t.Fatalf("after reply: %+v", c)
			}
			if !e.activeAlert("ana", c.ID, store.AlertOwner) {
				t.Error("owner not alerted")
			}
			e.inbound(custB, "other")
			d := e.live(custB)
			must(e.r.Snooze(e.ctx, e.actor("bob"), d.ID, time.Time{}, true))
			e.inbound(custB, "reply")
			if d = e.conv(d.ID); d.Status != store.StatusNew || d.OwnerID != 0 {
				t.Fatalf("unowned snooze woke to %+v", d)
			}
			if !e.activeAlert("bob", d.ID, store.AlertQueue) {
				t.Error("queue not alerted")
			}
		}},
		{name: "T5 inbound inside the grace window reopens the same episode to the ready last owner", run: func(t *testing.T, e *env) {
			e.inbound(custA, "hello")
			c := e.live(custA)
			must(e.r.Accept(e.ctx, e.actor("ana"), c.ID))
			must(e.r.Resolve(e.ctx, e.actor("ana"), c.ID))
			e.clk.Advance(48 * time.Hour)
			e.drain()
			e.inbound(custA, "one more thing")
			got := e.live(custA)
			if got.ID != c.ID || got.Status != store.StatusOpen || got.OwnerID != e.uid("ana") || got.ReopenCount != 1 {
				t.Fatalf("reopened %+v", got)
			}
			if !has(e.drain(), event.ConversationReopened) {
				t.Error("no conversation.reopened")
			}
			// Last owner away: back to the queue.
			must(e.r.Resolve(e.ctx, e.actor("ana"), c.ID))
			if err := e.r.SetAvailability(e.ctx, e.actor("ana"), e.uid("ana"), store.AvailabilityAway); err != nil {
				t.Fatal(err)
			}
			e.inbound(custA, "and another")
			got = e.live(custA)
			if got.ID != c.ID || got.Status != store.StatusNew || got.ReopenCount != 2 || !e.activeAlert("bob", c.ID, store.AlertQueue) {
				t.Fatalf("reopened to queue %+v", got)
			}
		}},
		{name: "T6 inbound after the grace window or on CLOSED starts a new linked episode", run: func(t *testing.T, e *env) {
			e.inbound(custA, "hello")
			c := e.live(custA)
			must(e.r.Resolve(e.ctx, e.actor("ana"), c.ID))
			e.clk.Advance(73 * time.Hour)
			e.inbound(custA, "new question")
			n := e.live(custA)
			if n.ID == c.ID || n.Status != store.StatusNew || n.PreviousID != c.ID || n.ThreadID != c.ThreadID {
				t.Fatalf("new episode %+v", n)
			}
			if old := e.conv(c.ID); old.Status != store.StatusClosed {
				t.Errorf("old episode %s", old.Status)
			}
			must(e.r.Close(e.ctx, e.actor("sam"), n.ID))
			e.inbound(custA, "third")
			m := e.live(custA)
			if m.ID == n.ID || m.PreviousID != n.ID || m.Status != store.StatusNew {
				t.Fatalf("after close %+v", m)
			}
		}},
		{name: "T7 accept is compare-and-set; the loser learns the winner; queue alerts superseded", run: func(t *testing.T, e *env) {
			e.inbound(custA, "hello")
			c := e.live(custA)
			got := must(e.r.Accept(e.ctx, e.actor("ana"), c.ID))
			if got.Status != store.StatusOpen || got.OwnerID != e.uid("ana") {
				t.Fatalf("accepted %+v", got)
			}
			_, err := e.r.Accept(e.ctx, e.actor("bob"), c.ID)
			var ce *AcceptConflictError
			if !errors.As(err, &ce) || ce.Owner != "Ana" || !errors.Is(err, ErrConflict) {
				t.Fatalf("second accept: %v", err)
			}
			a := e.alerts("bob", c.ID)[store.AlertQueue]
			if a.State != store.AlertSuperseded || a.Note != "accepted by Ana" {
				t.Errorf("bob's alert %+v", a)
			}
			if _, err := e.r.Accept(e.ctx, e.actor("vic"), c.ID); !errors.Is(err, ErrForbidden) {
				t.Errorf("viewer accept: %v", err)
			}
		}},
		{name: "T8 a reply to NEW accepts it for the sender and goes out on the thread's line", run: func(t *testing.T, e *env) {
			e.inbound(custA, "hello")
			c := e.live(custA)
			id := must(e.r.Reply(e.ctx, e.actor("bob"), c.ID, "On my way"))
			c = e.conv(c.ID)
			if c.Status != store.StatusOpen || c.OwnerID != e.uid("bob") || c.NeedsReply || c.FirstResponseAt.IsZero() {
				t.Fatalf("after reply %+v", c)
			}
			sent := e.out.Sent()
			if len(sent) != 1 || sent[0].Kind != "agent" || sent[0].To != custA || sent[0].Line != modemName || sent[0].ThreadID != c.ThreadID {
				t.Fatalf("sent %+v", sent)
			}
			msgs := must(e.db.ThreadMessages(e.ctx, c.ThreadID, 0, 10))
			if len(msgs) != 2 || msgs[0].ID != id || msgs[0].Direction != "out" {
				t.Errorf("thread %+v", msgs)
			}
			if _, err := e.r.Reply(e.ctx, e.actor("ana"), c.ID, "me too"); !errors.Is(err, ErrForbidden) {
				t.Errorf("reply in bob's conversation: %v", err)
			}
		}},
		{name: "T9 assign notifies the new owner (unread) and tells the previous one", run: func(t *testing.T, e *env) {
			e.inbound(custA, "hello")
			c := e.live(custA)
			must(e.r.Accept(e.ctx, e.actor("ana"), c.ID))
			if err := e.r.MarkRead(e.ctx, e.actor("ana"), c.ID, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := e.r.Assign(e.ctx, e.actor("ana"), c.ID, e.uid("bob")); !errors.Is(err, ErrForbidden) {
				t.Fatalf("dispatcher assign: %v", err)
			}
			got := must(e.r.Assign(e.ctx, e.actor("sam"), c.ID, e.uid("bob")))
			if got.Status != store.StatusOpen || got.OwnerID != e.uid("bob") || got.LastOwnerID != e.uid("bob") {
				t.Fatalf("assigned %+v", got)
			}
			if !e.activeAlert("bob", c.ID, store.AlertAssigned) || !e.activeAlert("ana", c.ID, store.AlertUnassigned) {
				t.Error("alerts missing")
			}
			if v := must(e.r.Conversation(e.ctx, e.actor("bob"), c.ID)); !v.Unread {
				t.Error("not unread for the new owner")
			}
			must(e.r.Resolve(e.ctx, e.actor("bob"), c.ID))
			if got = must(e.r.Assign(e.ctx, e.actor("sam"), c.ID, e.uid("ana"))); got.Status != store.StatusOpen {
				t.Errorf("assign of RESOLVED: %s", got.Status)
			}
			if _, err := e.r.Assign(e.ctx, e.actor("sam"), c.ID, e.uid("vic")); !errors.Is(err, ErrInvalid) {
				t.Errorf("assign to viewer: %v", err)
			}
		}},
		{name: "T10 release returns OPEN to NEW and alerts the queue again", run: func(t *testing.T, e *env) {
			e.inbound(custA, "hello")
			c := e.live(custA)
			must(e.r.Accept(e.ctx, e.actor("ana"), c.ID))
			if _, err := e.r.Release(e.ctx, e.actor("bob"), c.ID); !errors.Is(err, ErrForbidden) {
				t.Fatalf("bob releasing ana's: %v", err)
			}
			e.drain()
			got := must(e.r.Release(e.ctx, e.actor("ana"), c.ID))
			if got.Status != store.StatusNew || got.OwnerID != 0 || got.LastOwnerID != e.uid("ana") {
				t.Fatalf("released %+v", got)
			}
			a := e.alerts("bob", c.ID)[store.AlertQueue]
			if a.State != store.AlertActive || a.Note != "released by Ana" {
				t.Errorf("bob's alert %+v", a)
			}
			if e.activeAlert("ana", c.ID, store.AlertQueue) {
				t.Error("the releaser was alerted")
			}
			if !has(e.drain(), event.ConversationReleased) {
				t.Error("no conversation.released")
			}
		}},
		{name: "T11 ownership timeout releases to the queue with the reason", run: func(t *testing.T, e *env) {
			if err := e.r.SetOwnershipTimeout(e.ctx, e.actor("ada"), store.DefaultQueueID, 10*time.Minute); err != nil {
				t.Fatal(err)
			}
			e.inbound(custA, "hello")
			c := e.live(custA)
			must(e.r.Accept(e.ctx, e.actor("ana"), c.ID))
			e.clk.Advance(9 * time.Minute)
			if res := e.sweep(); res.TimedOut != 0 {
				t.Fatal("timed out early")
			}
			e.clk.Advance(2 * time.Minute)
			if res := e.sweep(); res.TimedOut != 1 {
				t.Fatalf("sweep %+v", res)
			}
			c = e.conv(c.ID)
			if c.Status != store.StatusNew || c.OwnerID != 0 {
				t.Fatalf("after timeout %+v", c)
			}
			log := must(e.db.ActivityLog(e.ctx, c.ID))
			if last := log[len(log)-1]; last.Action != "released" || !strings.Contains(last.Detail, "ownership timeout") {
				t.Errorf("activity %+v", last)
			}
			if !e.activeAlert("bob", c.ID, store.AlertQueue) {
				t.Error("queue not alerted")
			}
			// A reply resets the clock: no timeout while the customer is not waiting.
			must(e.r.Accept(e.ctx, e.actor("bob"), c.ID))
			must(e.r.Reply(e.ctx, e.actor("bob"), c.ID, "on it"))
			e.clk.Advance(time.Hour)
			if res := e.sweep(); res.TimedOut != 0 {
				t.Error("timed out without a waiting customer")
			}
		}},
		{name: "T12 snooze NEW/OPEN until a time and/or a reply; the owner is kept", run: func(t *testing.T, e *env) {
			e.inbound(custA, "hello")
			c := e.live(custA)
			must(e.r.Accept(e.ctx, e.actor("ana"), c.ID))
			if _, err := e.r.Snooze(e.ctx, e.actor("ana"), c.ID, time.Time{}, false); !errors.Is(err, ErrInvalid) {
				t.Fatalf("snooze without time or reply: %v", err)
			}
			if _, err := e.r.Snooze(e.ctx, e.actor("ana"), c.ID, t0.Add(-time.Minute), false); !errors.Is(err, ErrInvalid) {
				t.Fatalf("snooze into the past: %v", err)
			}
			got := must(e.r.Snooze(e.ctx, e.actor("ana"), c.ID, t0.Add(time.Hour), true))
			if got.Status != store.StatusSnoozed || got.OwnerID != e.uid("ana") || !got.SnoozedUntil.Equal(t0.Add(time.Hour)) || !got.WakeOnReply {
				t.Fatalf("snoozed %+v", got)
			}
			if _, err := e.r.Snooze(e.ctx, e.actor("ana"), c.ID, t0.Add(2*time.Hour), false); !errors.Is(err, ErrInvalidTransition) {
				t.Errorf("snooze twice: %v", err)
			}
		}},
		{name: "T13 snooze time reached wakes it and alerts the owner", run: func(t *testing.T, e *env) {
			e.inbound(custA, "hello")
			c := e.live(custA)
			must(e.r.Accept(e.ctx, e.actor("ana"), c.ID))
			must(e.r.Snooze(e.ctx, e.actor("ana"), c.ID, t0.Add(time.Hour), false))
			e.clk.Advance(59 * time.Minute)
			if e.sweep().Woken != 0 {
				t.Fatal("woke early")
			}
			e.clk.Advance(time.Minute)
			if e.sweep().Woken != 1 {
				t.Fatal("did not wake")
			}
			c = e.conv(c.ID)
			a := e.alerts("ana", c.ID)[store.AlertOwner]
			if c.Status != store.StatusOpen || a.State != store.AlertActive || a.Note != "snooze ended" {
				t.Fatalf("woken %+v alert %+v", c, a)
			}
		}},
		{name: "T14 resolve releases the owner, keeps last_owner, supersedes alerts; auto-resolve skips SNOOZED", cfg: Config{AutoResolveAfter: time.Hour}, run: func(t *testing.T, e *env) {
			e.inbound(custA, "hello")
			c := e.live(custA)
			must(e.r.Accept(e.ctx, e.actor("ana"), c.ID))
			e.inbound(custA, "more")
			e.drain()
			got := must(e.r.Resolve(e.ctx, e.actor("ana"), c.ID))
			if got.Status != store.StatusResolved || got.OwnerID != 0 || got.LastOwnerID != e.uid("ana") || got.ResolvedBy != e.uid("ana") {
				t.Fatalf("resolved %+v", got)
			}
			if e.activeAlert("ana", c.ID, store.AlertOwner) {
				t.Error("alert not superseded")
			}
			if !has(e.drain(), event.ConversationResolved) {
				t.Error("no conversation.resolved")
			}
			e.inbound(custB, "hi")
			d := e.live(custB)
			e.inbound("+4915112345670", "snoozer")
			s := e.live("+4915112345670")
			must(e.r.Snooze(e.ctx, e.actor("bob"), s.ID, time.Time{}, true))
			e.clk.Advance(2 * time.Hour)
			res := e.sweep()
			if d = e.conv(d.ID); d.Status != store.StatusResolved || d.ResolveReason != "auto" || res.AutoResolved != 1 {
				t.Fatalf("auto-resolve %+v %+v", d, res)
			}
			if s = e.conv(s.ID); s.Status != store.StatusSnoozed {
				t.Errorf("snoozed one auto-resolved: %s", s.Status)
			}
		}},
		{name: "T15 the grace window ends: RESOLVED becomes CLOSED, which is final", run: func(t *testing.T, e *env) {
			e.inbound(custA, "hello")
			c := e.live(custA)
			must(e.r.Resolve(e.ctx, e.actor("ana"), c.ID))
			e.clk.Advance(71 * time.Hour)
			if e.sweep().Closed != 0 {
				t.Fatal("closed early")
			}
			e.clk.Advance(time.Hour)
			if e.sweep().Closed != 1 {
				t.Fatal("not closed")
			}
			if c = e.conv(c.ID); c.Status != store.StatusClosed || c.ClosedAt.IsZero() {
				t.Fatalf("closed %+v", c)
			}
			for _, op := range []func() error{
				func() error { _, err := e.r.Accept(e.ctx, e.actor("ana"), c.ID); return err },
				func() error { _, err := e.r.Resolve(e.ctx, e.actor("ana"), c.ID); return err },
				func() error {
					_, err := e.r.Snooze(e.ctx, e.actor("ana"), c.ID, t0.Add(100*time.Hour), false)
					return err
				},
				func() error { _, err := e.r.Assign(e.ctx, e.actor("sam"), c.ID, e.uid("ana")); return err },
				func() error { _, err := e.r.Reply(e.ctx, e.actor("sam"), c.ID, "x"); return err },
			} {
				if err := op(); !errors.Is(err, ErrInvalidTransition) {
					t.Errorf("on CLOSED: %v", err)
				}
			}
		}},
		{name: "T16 reopen: RESOLVED in place, CLOSED as a new linked episode, owned by the reopener", run: func(t *testing.T, e *env) {
			e.inbound(custA, "hello")
			c := e.live(custA)
			must(e.r.Tag(e.ctx, e.actor("ana"), c.ID, "billing", true))
			must(e.r.Resolve(e.ctx, e.actor("ana"), c.ID))
			got := must(e.r.Reopen(e.ctx, e.actor("ana"), c.ID))
			if got.ID != c.ID || got.Status != store.StatusOpen || got.OwnerID != e.uid("ana") || got.ReopenCount != 1 {
				t.Fatalf("reopened %+v", got)
			}
			must(e.r.Close(e.ctx, e.actor("ana"), c.ID))
			if _, err := e.r.Reopen(e.ctx, e.actor("bob"), c.ID); !errors.Is(err, ErrForbidden) {
				t.Fatalf("bob reopening ana's: %v", err)
			}
			n := must(e.r.Reopen(e.ctx, e.actor("sam"), c.ID))
			if n.ID == c.ID || n.PreviousID != c.ID || n.Status != store.StatusOpen || n.OwnerID != e.uid("sam") {
				t.Fatalf("clone %+v", n)
			}
			if tags := must(e.db.ConversationTags(e.ctx, n.ID)); len(tags) != 1 || tags[0] != "billing" {
				t.Errorf("tags %v", tags)
			}
			if _, err := e.r.Reopen(e.ctx, e.actor("sam"), c.ID); !errors.Is(err, ErrConflict) {
				t.Errorf("second clone while one is live: %v", err)
			}
		}},
		{name: "T17 archive only RESOLVED/CLOSED; hidden from default lists; a new message starts a visible episode", run: func(t *testing.T, e *env) {
			e.inbound(custA, "hello")
			c := e.live(custA)
			if _, err := e.r.Archive(e.ctx, e.actor("sam"), c.ID, true); !errors.Is(err, ErrInvalidTransition) {
				t.Fatalf("archive NEW: %v", err)
			}
			must(e.r.Resolve(e.ctx, e.actor("sam"), c.ID))
			must(e.r.Close(e.ctx, e.actor("sam"), c.ID))
			must(e.r.Archive(e.ctx, e.actor("sam"), c.ID, true))
			all := []string{store.StatusNew, store.StatusOpen, store.StatusSnoozed, store.StatusResolved, store.StatusClosed}
			page := must(e.r.Conversations(e.ctx, e.actor("sam"), store.ConversationFilter{Statuses: all}))
			if len(page.Items) != 0 {
				t.Fatalf("archived listed: %+v", page.Items)
			}
			page = must(e.r.Conversations(e.ctx, e.actor("sam"), store.ConversationFilter{Statuses: all, Archived: true}))
			if len(page.Items) != 1 {
				t.Fatalf("archived list %d", len(page.Items))
			}
			e.inbound(custA, "again")
			page = must(e.r.Conversations(e.ctx, e.actor("sam"), store.ConversationFilter{}))
			if len(page.Items) != 1 || page.Items[0].ID == c.ID || page.Items[0].Archived {
				t.Fatalf("after new message %+v", page.Items)
			}
		}},
		{name: "T18 mark unread moves only my marker; the status does not change", run: func(t *testing.T, e *env) {
			e.inbound(custA, "hello")
			c := e.live(custA)
			must(e.r.Accept(e.ctx, e.actor("ana"), c.ID))
			for _, u := range []string{"ana", "bob"} {
				if err := e.r.MarkRead(e.ctx, e.actor(u), c.ID, 0); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.r.MarkUnread(e.ctx, e.actor("ana"), c.ID); err != nil {
				t.Fatal(err)
			}
			if v := must(e.r.Conversation(e.ctx, e.actor("ana"), c.ID)); !v.Unread || v.Status != store.StatusOpen {
				t.Errorf("ana: unread %v status %s", v.Unread, v.Status)
			}
			if v := must(e.r.Conversation(e.ctx, e.actor("bob"), c.ID)); v.Unread {
				t.Error("bob's marker moved")
			}
			page := must(e.r.Conversations(e.ctx, e.actor("ana"), store.ConversationFilter{Unread: true}))
			if len(page.Items) != 1 {
				t.Errorf("unread filter: %d", len(page.Items))
			}
		}},
		{name: "T19 a business alert opens no episode; the customer's reply joins the job, owned by its dispatcher", cfg: Config{JobOwnerOwnsReplies: true}, run: func(t *testing.T, e *env) {
			if _, err := e.r.SendAutomated(e.ctx, e.actor("ana"), Automated{To: custA, Line: modemName, Body: "x"}); !errors.Is(err, ErrForbidden) {
				t.Fatalf("dispatcher sending automated: %v", err)
			}
			if _, err := e.r.SendAutomated(e.ctx, System, Automated{To: custA, Line: modemName, Body: "Job 1042: tech arrives 14:00",
				JobRef: "J-1042", JobOwnerID: e.uid("ana")}); err != nil {
				t.Fatal(err)
			}
			contact := must(e.db.ContactByNumber(e.ctx, custA))
			ths := must(e.db.ThreadsOfContact(e.ctx, contact.ID))
			if eps := must(e.db.ConversationsOfThread(e.ctx, ths[0].ID)); len(eps) != 0 {
				t.Fatalf("episode opened by an automated message: %+v", eps)
			}
			if s := e.out.Sent(); len(s) != 1 || s[0].Kind != "automated" || s[0].ThreadID != ths[0].ID {
				t.Fatalf("sent %+v", s)
			}
			e.inbound(custA, "Can it be 15:00?")
			c := e.live(custA)
			if c.JobRef != "J-1042" || c.Status != store.StatusOpen || c.OwnerID != e.uid("ana") {
				t.Fatalf("reply episode %+v", c)
			}
			if !e.activeAlert("ana", c.ID, store.AlertOwner) {
				t.Error("dispatcher not alerted")
			}
		}},
		{name: "T20 STOP opts out with one confirmation; automated refused; agents may still reply; START opts back in", run: func(t *testing.T, e *env) {
			e.inbound(custA, "hello")
			c := e.live(custA)
			e.inbound(custA, " stop! ")
			contact := must(e.db.ContactByNumber(e.ctx, custA))
			if !contact.OptedOut || contact.Language != "en" {
				t.Fatalf("contact %+v", contact)
			}
			sent := e.out.Sent()
			if len(sent) != 1 || sent[0].Kind != "automated" || !strings.Contains(sent[0].Body, "unsubscribed") || sent[0].To != custA {
				t.Fatalf("confirmation %+v", sent)
			}
			e.inbound(custA, "STOP")
			if len(e.out.Sent()) != 1 {
				t.Fatal("second confirmation sent")
			}
			if _, err := e.r.SendAutomated(e.ctx, System, Automated{To: custA, Line: modemName, Body: "ETA 14:00"}); !errors.Is(err, ErrOptedOut) {
				t.Fatalf("automated to opted-out: %v", err)
			}
			must(e.r.Reply(e.ctx, e.actor("ana"), c.ID, "Understood, no more alerts."))
			if c = e.conv(c.ID); c.Status != store.StatusOpen {
				t.Errorf("status %s", c.Status)
			}
			e.inbound(custA, "Start")
			if contact = must(e.db.ContactByNumber(e.ctx, custA)); contact.OptedOut {
				t.Fatal("still opted out")
			}
			if s := e.out.Sent(); len(s) != 3 || !strings.Contains(s[2].Body, "subscribed again") {
				t.Fatalf("opt-in confirmation %+v", s)
			}
			if _, err := e.r.SendAutomated(e.ctx, System, Automated{To: custA, Line: modemName, Body: "ETA 14:00"}); err != nil {
				t.Fatal(err)
			}
			// A STOP inside a sentence is a message, not an opt-out.
			e.inbound(custB, "please do not stop the service")
			if must(e.db.ContactByNumber(e.ctx, custB)).OptedOut {
				t.Error("opted out by a sentence")
			}
			e.inbound(custB, "STOPP")
			if b := must(e.db.ContactByNumber(e.ctx, custB)); !b.OptedOut || b.Language != "de" {
				t.Errorf("German keyword: %+v", b)
			}
		}},
		{name: "T21 blocking resolves and mutes; later messages are stored and alert nobody", run: func(t *testing.T, e *env) {
			e.inbound(custA, "hello")
			c := e.live(custA)
			must(e.r.Block(e.ctx, e.actor("ana"), c.ContactID, true))
			c = e.conv(c.ID)
			if c.Status != store.StatusResolved || !c.Muted || c.ResolveReason != "blocked" {
				t.Fatalf("blocked episode %+v", c)
			}
			if e.activeAlert("bob", c.ID, store.AlertQueue) {
				t.Error("alert not superseded")
			}
			e.drain()
			e.inbound(custA, "spam spam")
			if ev := e.drain(); has(ev, event.AlertCreated) || has(ev, event.AlertUpdated) || !has(ev, event.MessageReceived) {
				t.Errorf("events %v", ev)
			}
			got := e.live(custA)
			if got.ID != c.ID || got.Status != store.StatusResolved {
				t.Errorf("episode %+v", got)
			}
			msgs := must(e.db.ThreadMessages(e.ctx, c.ThreadID, 0, 10))
			if len(msgs) != 2 {
				t.Errorf("%d messages stored", len(msgs))
			}
			if _, err := e.r.Reply(e.ctx, e.actor("sam"), c.ID, "hi"); !errors.Is(err, ErrBlocked) {
				t.Errorf("reply to blocked: %v", err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newEnv(t, tc.cfg))
		})
	}
}
