package router

import (
	"errors"
	"testing"
	"time"

	"github.com/smsgw/smsgw/store"
)

func TestReplyOnAnotherLine(t *testing.T) {
	e := newEnv(t, Config{})
	e.inbound(custA, "Is the plumber coming?")
	c := e.live(custA)
	// m1 belongs to a queue nobody but sam is in; m2 to the default queue.
	other := must(e.r.CreateQueue(e.ctx, System, "Night", 0))
	if err := e.r.SetLine(e.ctx, System, store.Line{Name: "m1", QueueID: other}); err != nil {
		t.Fatal(err)
	}
	if err := e.r.SetLine(e.ctx, System, store.Line{Name: "m2", QueueID: store.DefaultQueueID}); err != nil {
		t.Fatal(err)
	}

	if _, err := e.r.ReplyWith(e.ctx, e.actor("ana"), c.ID, ReplyRequest{Body: "x", Line: "nope"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown line: %v, want ErrInvalid", err)
	}
	if _, err := e.r.ReplyWith(e.ctx, e.actor("ana"), c.ID, ReplyRequest{Body: "x", Line: "m1"}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("dispatcher on a line outside her queues: %v, want ErrForbidden", err)
	}
	if n := len(e.out.Sent()); n != 0 {
		t.Fatalf("%d messages sent by refused replies", n)
	}

	id := must(e.r.ReplyWith(e.ctx, e.actor("ana"), c.ID, ReplyRequest{Body: "Yes, at 3", Line: "m2"}))
	id2 := must(e.r.ReplyWith(e.ctx, e.actor("sam"), c.ID, ReplyRequest{Body: "From the night line", Line: "m1", Force: true}))
	id3 := must(e.r.ReplyWith(e.ctx, e.actor("ana"), c.ID, ReplyRequest{Body: "default line"}))
	sent := e.out.Sent()
	if len(sent) != 3 || sent[0].Line != "m2" || sent[1].Line != "m1" || sent[2].Line != modemName {
		t.Fatalf("sent %+v, want lines m2, m1, %s", sent, modemName)
	}
	for _, s := range sent {
		if s.ThreadID != c.ThreadID || s.To != custA {
			t.Fatalf("sent %+v, want thread %d to %s", s, c.ThreadID, custA)
		}
	}
	msgs := must(e.r.Messages(e.ctx, e.actor("ana"), c.ID, 0, 10))
	got := map[int64]string{}
	for _, m := range msgs {
		got[m.ID] = m.Line
	}
	if got[id] != "m2" || got[id2] != "m1" || got[id3] != modemName {
		t.Fatalf("thread messages by line %v, want %d→m2 %d→m1 %d→%s", got, id, id2, id3, modemName)
	}
	after := e.conv(c.ID)
	if after.Status != store.StatusOpen || after.OwnerID != e.uid("ana") || after.Line != modemName || after.ThreadID != c.ThreadID {
		t.Fatalf("conversation after replies %+v: want OPEN, owned by ana, still on %s", after, modemName)
	}
	if live := e.live(custA); live.ID != c.ID {
		t.Fatalf("a reply on another line started conversation %d", live.ID)
	}
}

func TestApplySettings(t *testing.T) {
	e := newEnv(t, Config{GraceWindow: 72 * time.Hour})
	s := e.r.Settings()
	if s.GraceWindow != 72*time.Hour || s.Permissions.DispatcherSeeOthers != SeeQueue || s.UnreadPerTeam {
		t.Fatalf("initial settings %+v", s)
	}
	s.GraceWindow = time.Hour
	if err := e.r.ApplySettings(e.ctx, e.actor("sam"), s); !errors.Is(err, ErrForbidden) {
		t.Fatalf("supervisor changes settings: %v", err)
	}
	for _, bad := range []func(*Settings){
		func(s *Settings) { s.GraceWindow = 0 },
		func(s *Settings) { s.GraceWindow = 400 * 24 * time.Hour },
		func(s *Settings) { s.AutoResolveAfter = -time.Minute },
		func(s *Settings) { s.Permissions.DispatcherSeeOthers = "some" },
		func(s *Settings) { s.Permissions.DispatcherReplyOthers = "maybe" },
	} {
		b := s
		bad(&b)
		if err := e.r.ApplySettings(e.ctx, e.actor("ada"), b); !errors.Is(err, ErrInvalid) {
			t.Fatalf("invalid settings %+v accepted: %v", b, err)
		}
	}
	if got := e.r.Settings().GraceWindow; got != 72*time.Hour {
		t.Fatalf("refused change applied: grace %v", got)
	}

	// A shorter grace window applies at once: a reply 2 h after resolving starts a
	// new episode instead of reopening.
	if err := e.r.ApplySettings(e.ctx, e.actor("ada"), s); err != nil {
		t.Fatal(err)
	}
	e.inbound(custA, "hello")
	c := e.live(custA)
	must(e.r.Resolve(e.ctx, e.actor("sam"), c.ID))
	e.clk.Advance(2 * time.Hour)
	e.inbound(custA, "me again")
	if n := e.live(custA); n.ID == c.ID {
		t.Fatalf("reply after the new 1 h grace window reopened conversation %d", c.ID)
	}

	// Dispatcher permissions change at once.
	c = e.live(custA)
	must(e.r.Accept(e.ctx, e.actor("bob"), c.ID))
	if _, err := e.r.Reply(e.ctx, e.actor("ana"), c.ID, "mine now?"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("reply in bob's conversation with deny: %v", err)
	}
	s.Permissions.DispatcherReplyOthers = ReplyAllow
	if err := e.r.ApplySettings(e.ctx, System, s); err != nil {
		t.Fatal(err)
	}
	must(e.r.Reply(e.ctx, e.actor("ana"), c.ID, "helping out"))
}

func TestUnreadPerTeam(t *testing.T) {
	e := newEnv(t, Config{})
	e.inbound(custA, "one")
	c := e.live(custA)
	unread := func(user string) bool {
		t.Helper()
		return must(e.r.Conversation(e.ctx, e.actor(user), c.ID)).Unread
	}
	// Per user (default): ana reading does not read it for bob.
	if err := e.r.MarkRead(e.ctx, e.actor("ana"), c.ID, 0); err != nil {
		t.Fatal(err)
	}
	if unread("ana") || !unread("bob") {
		t.Fatalf("per user: ana unread %v, bob unread %v", unread("ana"), unread("bob"))
	}

	s := e.r.Settings()
	s.UnreadPerTeam = true
	if err := e.r.ApplySettings(e.ctx, e.actor("ada"), s); err != nil {
		t.Fatal(err)
	}
	e.inbound(custA, "two")
	if !unread("ana") || !unread("bob") {
		t.Fatal("a new message is not unread for everyone")
	}
	if err := e.r.MarkRead(e.ctx, e.actor("ana"), c.ID, 0); err != nil {
		t.Fatal(err)
	}
	if unread("ana") || unread("bob") || unread("sam") {
		t.Fatal("per team: reading did not read it for the team")
	}
	if n := must(e.r.Counts(e.ctx, e.actor("bob"))).Unread; n != 0 {
		t.Fatalf("bob's unread count %d, want 0", n)
	}
	if err := e.r.MarkUnread(e.ctx, e.actor("bob"), c.ID); err != nil {
		t.Fatal(err)
	}
	if !unread("ana") || !unread("bob") {
		t.Fatal("per team: mark unread did not mark it unread for the team")
	}
	e.inbound(custA, "three")
	must(e.r.Reply(e.ctx, e.actor("bob"), c.ID, "answered"))
	if unread("ana") || unread("bob") {
		t.Fatal("per team: a reply did not read the conversation for the team")
	}
}
