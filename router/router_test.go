package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/sms"
	"github.com/smsgw/smsgw/store"
)

// TestAcceptRace: two agents accept the same NEW conversation at the same moment,
// many times over; exactly one wins each time and the other is told who.
func TestAcceptRace(t *testing.T) {
	e := newEnv(t, Config{})
	const rounds = 25
	for i := 0; i < rounds; i++ {
		from := fmt.Sprintf("+49151123%05d", i)
		e.inbound(from, "race")
		c := e.live(from)
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for j, u := range []string{"ana", "bob"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[j] = e.r.Accept(e.ctx, e.actor(u), c.ID)
			}()
		}
		close(start)
		wg.Wait()
		wins := 0
		var ce *AcceptConflictError
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case errors.As(err, &ce):
			default:
				t.Fatalf("round %d: unexpected error %v", i, err)
			}
		}
		got := e.conv(c.ID)
		winner := map[int64]string{e.uid("ana"): "Ana", e.uid("bob"): "Bob"}[got.OwnerID]
		if wins != 1 || ce == nil || ce.Owner != winner || got.Status != store.StatusOpen {
			t.Fatalf("round %d: %d winners, conflict %v, owner %q", i, wins, ce, winner)
		}
		acts := must(e.db.ActivityLog(e.ctx, c.ID))
		n := 0
		for _, a := range acts {
			if a.Action == "accepted" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("round %d: %d accepted lines", i, n)
		}
	}
}

// TestReassemblyAcrossRestart parks parts in the database, restarts the router on the
// same file and completes the message exactly once; then an incomplete set is
// delivered after the timeout with the gap marked and completed by the late part.
func TestReassemblyAcrossRestart(t *testing.T) {
	e := newEnv(t, Config{})
	long := strings.Repeat("Long message, part of a set. ", 20)
	pdus, err := sms.EncodeDeliver(custA, long, sms.DeliverOptions{Time: t0, Ref: 42})
	if err != nil || len(pdus) < 3 {
		t.Fatalf("%d parts, %v", len(pdus), err)
	}
	put := func(db *store.DB, i int) {
		t.Helper()
		if _, err := db.InsertInboundPDU(e.ctx, store.InboundPDU{Modem: modemName, IMSI: modemIMSI, PDU: pdus[i].Bytes}); err != nil {
			t.Fatal(err)
		}
	}
	// Every part but the second, out of order.
	for i := len(pdus) - 1; i >= 0; i-- {
		if i != 1 {
			put(e.db, i)
		}
	}
	e.process()
	if _, parked, _ := e.db.CountUnprocessedPDUs(e.ctx); parked != len(pdus)-1 {
		t.Fatalf("parked %d", parked)
	}
	// "Restart": close everything, open the same file with a new router.
	e.db.Close()
	db2, err := store.Open(e.ctx, e.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if err := db2.Migrate(e.ctx); err != nil {
		t.Fatal(err)
	}
	r2 := New(Config{DefaultRegion: "DE"}, Deps{DB: db2, Bus: e.bus, Outbox: &fakeOutbox{db: db2, now: e.clk.Now}, Now: e.clk.Now})
	put(db2, 1)
	put(db2, 1) // a duplicate read of the same PDU is a no-op
	if err := r2.ProcessInbound(e.ctx); err != nil {
		t.Fatal(err)
	}
	c, err := db2.ContactByNumber(e.ctx, custA)
	if err != nil {
		t.Fatal(err)
	}
	ths := must(db2.ThreadsOfContact(e.ctx, c.ID))
	msgs := must(db2.ThreadMessages(e.ctx, ths[0].ID, 0, 10))
	if len(msgs) != 1 || msgs[0].Body != long || msgs[0].Status != "received" || msgs[0].Segments != len(pdus) {
		t.Fatalf("messages %+v", msgs)
	}
	if u, p, _ := db2.CountUnprocessedPDUs(e.ctx); u != 0 || p != 0 {
		t.Fatalf("left over %d %d", u, p)
	}

	// Incomplete set: timeout, gap marker, late part completes the same message.
	pdus, _ = sms.EncodeDeliver(custB, long, sms.DeliverOptions{Time: t0, Ref: 43})
	for i := range pdus {
		if i != 1 {
			put(db2, i)
		}
	}
	if err := r2.ProcessInbound(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(59 * time.Minute)
	if res, err := r2.SweepOnce(e.ctx); err != nil || res.Reassembled != 0 {
		t.Fatalf("early delivery %+v %v", res, err)
	}
	e.clk.Advance(2 * time.Minute)
	if res, err := r2.SweepOnce(e.ctx); err != nil || res.Reassembled != 1 {
		t.Fatalf("timeout delivery %+v %v", res, err)
	}
	cb := must(db2.ContactByNumber(e.ctx, custB))
	thb := must(db2.ThreadsOfContact(e.ctx, cb.ID))
	msgs = must(db2.ThreadMessages(e.ctx, thb[0].ID, 0, 10))
	if len(msgs) != 1 || msgs[0].Status != "incomplete" || !strings.Contains(msgs[0].Body, "[part 2 missing]") {
		t.Fatalf("incomplete %+v", msgs)
	}
	put(db2, 1)
	if err := r2.ProcessInbound(e.ctx); err != nil {
		t.Fatal(err)
	}
	msgs = must(db2.ThreadMessages(e.ctx, thb[0].ID, 0, 10))
	if len(msgs) != 1 || msgs[0].Status != "received" || msgs[0].Body != long {
		t.Fatalf("after late part %+v", msgs)
	}
}

func TestStatusReportsAndUndecodablePDUs(t *testing.T) {
	cases := []struct {
		name    string
		matched bool
		want    string
	}{
		{"matched", true, event.MessageStatus},
		{"unmatched", false, event.StatusReportUnmatched},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{})
			e.rep.matched = tc.matched
			p, err := sms.EncodeStatusReport(77, custA, t0, t0.Add(time.Minute), 0, "+491720000000")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.db.InsertInboundPDU(e.ctx, store.InboundPDU{Modem: modemName, IMSI: modemIMSI, PDU: p.Bytes}); err != nil {
				t.Fatal(err)
			}
			e.process()
			if len(e.rep.got) != 1 || e.rep.got[0].MR != 77 || e.rep.got[0].Modem != modemName || e.rep.got[0].Recipient != custA {
				t.Fatalf("reports %+v", e.rep.got)
			}
			if !has(e.drain(), tc.want) {
				t.Error("no event")
			}
			if u, p, _ := e.db.CountUnprocessedPDUs(e.ctx); u+p != 0 {
				t.Error("report left unprocessed")
			}
			e.process()
			if len(e.rep.got) != 1 {
				t.Error("report applied twice")
			}
		})
	}
	t.Run("undecodable", func(t *testing.T) {
		e := newEnv(t, Config{})
		for _, garbage := range [][]byte{{0x00}, {0x00, 0x04, 0xFF, 0xFF}, []byte("<script>alert(1)</script>")} {
			if _, err := e.db.InsertInboundPDU(e.ctx, store.InboundPDU{Modem: modemName, IMSI: modemIMSI, PDU: garbage}); err != nil {
				t.Fatal(err)
			}
		}
		e.process()
		if u, p, _ := e.db.CountUnprocessedPDUs(e.ctx); u+p != 0 {
			t.Fatal("garbage left unprocessed")
		}
		p := must(e.db.InboundPDU(e.ctx, 1))
		if !p.Processed || !strings.HasPrefix(p.Error, "decode:") {
			t.Errorf("pdu %+v", p)
		}
	})
}

// TestHostileSenderAndBody: SMS-derived strings are stored as given (never
// interpreted) and alphanumeric senders are kept.
func TestHostileSenderAndBody(t *testing.T) {
	e := newEnv(t, Config{})
	body := `<img src=x onerror=alert(1)> '; DROP TABLE messages; -- {{agent.name}} $(reboot)`
	e.inbound("ACME<b>", body)
	e.inbound("015112345678", "national format") // DE national → E.164
	c := must(e.db.ContactByNumber(e.ctx, "ACME<b>"))
	ths := must(e.db.ThreadsOfContact(e.ctx, c.ID))
	msgs := must(e.db.ThreadMessages(e.ctx, ths[0].ID, 0, 5))
	if len(msgs) != 1 || msgs[0].Body != body || msgs[0].Peer != "ACME<b>" {
		t.Fatalf("stored %+v", msgs)
	}
	if _, err := e.db.ContactByNumber(e.ctx, "+4915112345678"); err != nil {
		t.Errorf("national number not normalized: %v", err)
	}
}

func TestPermissionPresets(t *testing.T) {
	cases := []struct {
		name  string
		perms Permissions
		check func(t *testing.T, e *env, c store.Conversation)
	}{
		{"default: dispatchers see others' in their queues, may not reply or assign", Permissions{}, func(t *testing.T, e *env, c store.Conversation) {
			must(e.r.Conversation(e.ctx, e.actor("bob"), c.ID))
			if _, err := e.r.Reply(e.ctx, e.actor("bob"), c.ID, "x"); !errors.Is(err, ErrForbidden) {
				t.Errorf("reply: %v", err)
			}
			if _, err := e.r.Assign(e.ctx, e.actor("bob"), c.ID, e.uid("bob")); !errors.Is(err, ErrForbidden) {
				t.Errorf("steal: %v", err)
			}
			if _, err := e.r.AddNote(e.ctx, e.actor("bob"), c.ID, "fyi"); err != nil {
				t.Errorf("note: %v", err)
			}
			if _, err := e.r.AddNote(e.ctx, e.actor("vic"), c.ID, "fyi"); !errors.Is(err, ErrForbidden) {
				t.Errorf("viewer note: %v", err)
			}
			must(e.r.Conversation(e.ctx, e.actor("vic"), c.ID))
		}},
		{"see none: others' conversations are hidden", Permissions{DispatcherSeeOthers: SeeNone}, func(t *testing.T, e *env, c store.Conversation) {
			if _, err := e.r.Conversation(e.ctx, e.actor("bob"), c.ID); !errors.Is(err, ErrNotFound) {
				t.Errorf("see: %v", err)
			}
			page := must(e.r.Conversations(e.ctx, e.actor("bob"), store.ConversationFilter{}))
			if len(page.Items) != 0 {
				t.Errorf("listed %d", len(page.Items))
			}
			page = must(e.r.Conversations(e.ctx, e.actor("ana"), store.ConversationFilter{Owner: store.OwnerMe}))
			if len(page.Items) != 1 {
				t.Errorf("own list %d", len(page.Items))
			}
		}},
		{"warn first: reply needs Force", Permissions{DispatcherReplyOthers: ReplyWarn}, func(t *testing.T, e *env, c store.Conversation) {
			if _, err := e.r.Reply(e.ctx, e.actor("bob"), c.ID, "x"); !errors.Is(err, ErrConfirmRequired) {
				t.Errorf("reply: %v", err)
			}
			if _, err := e.r.ReplyWith(e.ctx, e.actor("bob"), c.ID, ReplyRequest{Body: "x", Force: true}); err != nil {
				t.Errorf("forced reply: %v", err)
			}
			if c := e.conv(c.ID); c.OwnerID != e.uid("ana") {
				t.Error("a reply in someone else's conversation changed the owner")
			}
		}},
		{"assign allowed: dispatchers take over", Permissions{DispatcherAssign: true}, func(t *testing.T, e *env, c store.Conversation) {
			if got := must(e.r.Assign(e.ctx, e.actor("bob"), c.ID, e.uid("bob"))); got.OwnerID != e.uid("bob") {
				t.Errorf("owner %d", got.OwnerID)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, Config{Permissions: tc.perms})
			e.inbound(custA, "hello")
			c := e.live(custA)
			must(e.r.Accept(e.ctx, e.actor("ana"), c.ID))
			tc.check(t, e, c)
			if err := e.r.Delete(e.ctx, e.actor("sam"), c.ID); !errors.Is(err, ErrForbidden) {
				t.Errorf("supervisor delete: %v", err)
			}
			if _, err := e.r.MergeContacts(e.ctx, e.actor("sam"), 1, 2); !errors.Is(err, ErrForbidden) {
				t.Errorf("supervisor merge: %v", err)
			}
		})
	}
}

func TestMentionsAlertAndFollow(t *testing.T) {
	e := newEnv(t, Config{})
	e.inbound(custA, "hello")
	c := e.live(custA)
	must(e.r.Accept(e.ctx, e.actor("ana"), c.ID))
	n := must(e.r.AddNote(e.ctx, e.actor("ana"), c.ID, "@bob can you check? cc @nobody, mail me@example.com"))
	if n.Body == "" || !e.activeAlert("bob", c.ID, store.AlertMention) {
		t.Fatal("mentioned user not alerted")
	}
	if len(must(e.db.Alerts(e.ctx, e.uid("ana"), store.AlertActive, 10))) != 0 {
		t.Error("author alerted")
	}
	e.inbound(custA, "any news?")
	if !e.activeAlert("bob", c.ID, store.AlertOwner) {
		t.Error("participant not alerted of the reply")
	}
	if len(e.out.Sent()) != 0 {
		t.Error("a note was sent")
	}
}

func TestAlertsExpireAfter14Days(t *testing.T) {
	e := newEnv(t, Config{})
	e.inbound(custA, "hello")
	c := e.live(custA)
	e.clk.Advance(14*24*time.Hour - time.Minute)
	e.inbound(custA, "still there?") // updates, does not extend
	if res := e.sweep(); res.Expired != 0 {
		t.Fatal("expired early")
	}
	e.clk.Advance(time.Minute)
	if res := e.sweep(); res.Expired != 3 {
		t.Fatalf("expired %d", res.Expired)
	}
	if a := e.alerts("ana", c.ID)[store.AlertQueue]; a.State != store.AlertExpired {
		t.Errorf("alert %+v", a)
	}
	e.inbound(custA, "hello again")
	if !e.activeAlert("ana", c.ID, store.AlertQueue) {
		t.Error("no fresh alert after expiry")
	}
}

func TestQuickReplies(t *testing.T) {
	e := newEnv(t, Config{})
	e.inbound(custA, "hello")
	c := e.live(custA)
	must(e.r.UpdateContact(e.ctx, e.actor("ana"), c.ContactID, ContactChanges{Name: ptr("{{agent.name}} Smith"), Type: ptr(store.ContactCustomer)}))
	if _, err := e.r.SaveQuickReply(e.ctx, e.actor("ana"), store.QuickReply{Scope: store.ScopeGlobal, Shortcut: "eta", Body: "x"}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("dispatcher global: %v", err)
	}
	q := must(e.r.SaveQuickReply(e.ctx, e.actor("ada"), store.QuickReply{Scope: store.ScopeGlobal, Shortcut: "eta",
		Body: "Hi {{contact.first_name|there}}, {{agent.name}} here: ETA {{field.eta}}.", Fields: []string{"eta"}}))
	if _, err := e.r.RenderQuickReply(e.ctx, e.actor("ana"), c.ID, q.ID, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("missing field: %v", err)
	}
	got := must(e.r.RenderQuickReply(e.ctx, e.actor("ana"), c.ID, q.ID, map[string]string{"eta": "14:00 {{line}}"}))
	if want := "Hi {{agent.name}}, Ana here: ETA 14:00 {{line}}."; got != want {
		t.Fatalf("rendered %q, want %q", got, want)
	}
	if _, err := e.r.SaveQuickReply(e.ctx, e.actor("ana"), store.QuickReply{Scope: store.ScopePersonal, Shortcut: "x", Body: "{{nope}}"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown variable: %v", err)
	}
	mine := must(e.r.SaveQuickReply(e.ctx, e.actor("ana"), store.QuickReply{Scope: store.ScopePersonal, Shortcut: "ty", Body: "Thanks!"}))
	if list := must(e.r.QuickReplies(e.ctx, e.actor("bob"))); len(list) != 1 {
		t.Errorf("bob sees %d", len(list))
	}
	if err := e.r.DeleteQuickReply(e.ctx, e.actor("bob"), mine.ID); !errors.Is(err, ErrForbidden) {
		t.Errorf("bob deleting ana's: %v", err)
	}
	must(e.r.ReplyQuick(e.ctx, e.actor("ana"), c.ID, mine.ID, nil))
	if s := e.out.Sent(); len(s) != 1 || s[0].Body != "Thanks!" {
		t.Errorf("sent %+v", s)
	}
}

func ptr[T any](v T) *T { return &v }

func TestMergeContactsJoinsThreads(t *testing.T) {
	e := newEnv(t, Config{})
	e.inbound(custA, "from A")
	e.inbound(custB, "from B")
	a, b := e.live(custA), e.live(custB)
	res := must(e.r.MergeContacts(e.ctx, e.actor("ada"), a.ContactID, b.ContactID))
	if res.ThreadsJoined != 1 || len(res.ClosedEpisodes) != 1 || res.Numbers != 1 {
		t.Fatalf("merge %+v", res)
	}
	ct := must(e.db.Contact(e.ctx, a.ContactID))
	if len(ct.Numbers) != 2 {
		t.Errorf("numbers %v", ct.Numbers)
	}
	msgs := must(e.db.ThreadMessages(e.ctx, a.ThreadID, 0, 10))
	if len(msgs) != 2 {
		t.Errorf("thread has %d messages", len(msgs))
	}
	e.inbound(custB, "again from B")
	if got := e.live(custB); got.ID != a.ID {
		t.Errorf("B's message went to %d, want the merged episode %d", got.ID, a.ID)
	}
	if _, err := e.r.MergeContacts(e.ctx, e.actor("ada"), a.ContactID, b.ContactID); !errors.Is(err, ErrConflict) {
		t.Errorf("second merge: %v", err)
	}
}

// TestListPagesByCursor walks a large list by keyset cursor with no gaps or repeats.
func TestListPagesByCursor(t *testing.T) {
	e := newEnv(t, Config{})
	const n = 130
	for i := 0; i < n; i++ {
		e.inbound(fmt.Sprintf("+49151123%05d", i), "hi")
		if i%3 == 0 {
			e.clk.Advance(time.Second) // ties on the time are broken by id
		}
	}
	seen := map[int64]bool{}
	cursor := ""
	pages := 0
	for {
		page := must(e.r.Conversations(e.ctx, e.actor("ana"), store.ConversationFilter{Limit: 50, Cursor: cursor, Statuses: []string{store.StatusNew}}))
		pages++
		for _, it := range page.Items {
			if seen[it.ID] {
				t.Fatalf("repeated %d", it.ID)
			}
			seen[it.ID] = true
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if len(seen) != n || pages != 3 {
		t.Fatalf("%d conversations in %d pages", len(seen), pages)
	}
	counts := must(e.r.Counts(e.ctx, e.actor("ana")))
	if counts.Unowned != n || counts.NeedsReply != n || counts.Unread != n {
		t.Errorf("counts %+v", counts)
	}
	if _, err := e.r.Conversations(e.ctx, e.actor("ana"), store.ConversationFilter{Cursor: "garbage!"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad cursor: %v", err)
	}
}

// TestRunWakesOnNotify: Run processes a PDU promptly after Notify, and stops with ctx.
func TestRunWakesOnNotify(t *testing.T) {
	e := newEnv(t, Config{PollInterval: time.Hour, SweepInterval: time.Hour})
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- e.r.Run(ctx) }()
	e.store(custA, "wake up", sms.DeliverOptions{})
	e.r.Notify()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := e.db.ContactByNumber(e.ctx, custA); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not processed within 10s of Notify")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}
