package router

import (
	"errors"
	"strings"
	"testing"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/store"
)

const worker = "+4915112340009"

func (e *env) job(j store.DispatchJob) store.DispatchJob {
	e.t.Helper()
	var out store.DispatchJob
	err := e.db.Update(e.ctx, func(tx *store.Tx) error {
		var err error
		out, err = tx.SaveJob(j, e.clk.Now())
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// sentTo returns the bodies sent to number since the index from.
func (e *env) sentTo(number string, from int) []Outgoing {
	var out []Outgoing
	for _, m := range e.out.Sent()[from:] {
		if m.To == number {
			out = append(out, m)
		}
	}
	return out
}

func TestThreeWayRelay(t *testing.T) {
	e := newEnv(t, Config{})
	j := e.job(store.DispatchJob{Ref: "1042", Status: "created", Active: true, CustomerName: "Mrs Smith",
		CustomerNumber: custA, DispatcherID: e.uid("ana"), WorkerName: "Tech Sam", WorkerPhone: worker, Line: modemName})

	// The customer writes: the episode joins the job, the worker gets the text with the
	// customer's name and the reference, the dispatcher is alerted, the webhook event goes.
	e.drain()
	n := len(e.out.Sent())
	e.inbound(custA, "Is the tech still coming?")
	c := e.live(custA)
	if c.JobRef != "1042" || c.Status != store.StatusNew {
		t.Fatalf("customer episode %+v", c)
	}
	got := e.sentTo(worker, n)
	if len(got) != 1 || got[0].Body != "Mrs Smith #1042: Is the tech still coming?" || got[0].Kind != "relay" ||
		got[0].ThreadID != c.ThreadID || got[0].Line != modemName {
		t.Fatalf("relay to worker %+v", got)
	}
	if !e.activeAlert("ana", c.ID, store.AlertOwner) {
		t.Fatalf("dispatcher not alerted: %+v", e.alerts("ana", c.ID))
	}
	if evs := e.drain(); !has(evs, event.JobCustomerResponse) {
		t.Fatalf("events %v", evs)
	}

	// The worker answers: relayed to the customer with the worker's name, recorded in
	// the customer's thread as a relay.
	n = len(e.out.Sent())
	e.inbound(worker, "On my way, 10 minutes")
	got = e.sentTo(custA, n)
	if len(got) != 1 || got[0].Body != "Tech Sam: On my way, 10 minutes" || got[0].Kind != "relay" || got[0].ThreadID != c.ThreadID {
		t.Fatalf("relay to customer %+v", got)
	}
	if _, err := e.db.ContactByNumber(e.ctx, worker); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the worker became a contact: %v", err)
	}
	if evs := e.drain(); !has(evs, event.JobWorkerMessage) || !has(evs, event.MessageReceived) {
		t.Fatalf("events %v", evs)
	}

	// The dispatcher sees all three parties in one thread, and writes to both.
	if _, err := e.r.JobMessage(e.ctx, e.actor("ana"), "1042", TargetBoth, "Sam, the gate code is 1234"); err != nil {
		t.Fatal(err)
	}
	_, msgs, err := e.r.JobThread(e.ctx, e.actor("ana"), "1042", 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		lines = append(lines, m.Direction+" "+m.Kind+" "+m.Peer+" "+m.Body)
	}
	want := []string{
		"in customer " + custA + " Is the tech still coming?",
		"out relay " + worker + " Mrs Smith #1042: Is the tech still coming?",
		"in relay " + worker + " On my way, 10 minutes",
		"out relay " + custA + " Tech Sam: On my way, 10 minutes",
		"out agent " + custA + " Sam, the gate code is 1234",
		"out relay " + worker + " Dispatch (Ana): Sam, the gate code is 1234",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("thread:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	// Chat permission: a viewer neither sees nor answers job messages.
	if _, _, err := e.r.JobThread(e.ctx, e.actor("vic"), "1042", 0, 50); !errors.Is(err, ErrForbidden) {
		t.Fatalf("viewer reads the job thread: %v", err)
	}
	if _, err := e.r.JobMessage(e.ctx, e.actor("vic"), "1042", TargetWorker, "x"); !errors.Is(err, ErrForbidden) {
		t.Fatalf("viewer writes: %v", err)
	}
	if e.r.CanChat(e.ctx, e.actor("vic")) || !e.r.CanChat(e.ctx, e.actor("bob")) {
		t.Fatal("CanChat")
	}

	// Ending the job ends its relays: the worker's next SMS is an ordinary inbound
	// message, and nothing reaches the customer.
	j.Active, j.Status = false, "completed"
	e.job(j)
	n = len(e.out.Sent())
	e.inbound(worker, "done here")
	if got := e.sentTo(custA, n); len(got) != 0 {
		t.Fatalf("relayed after the job ended: %+v", got)
	}
	if _, err := e.db.ContactByNumber(e.ctx, worker); err != nil {
		t.Fatalf("worker message after the end was not routed as a customer message: %v", err)
	}
	if _, err := e.r.JobMessage(e.ctx, e.actor("ana"), "1042", TargetWorker, "x"); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("writing in an ended job: %v", err)
	}
}

func TestWorkerChoosesJobByRef(t *testing.T) {
	e := newEnv(t, Config{})
	e.job(store.DispatchJob{Ref: "A1", Active: true, CustomerNumber: custA, WorkerName: "Sam", WorkerPhone: worker})
	e.job(store.DispatchJob{Ref: "B2", Active: true, CustomerNumber: custB, WorkerName: "Sam", WorkerPhone: worker})
	cases := []struct {
		name, body  string
		to, relayed string // who gets an SMS, and what
	}{
		{"no reference", "running late", worker, "You have 2 active jobs (#A1, #B2). Start your message with the job, e.g. #A1 on my way"},
		{"unknown reference", "#Z9 running late", worker, "Job #Z9 is not one of your active jobs (#A1, #B2). Start your message with the job, e.g. #A1 on my way"},
		{"empty after the reference", "#B2", worker, "Your message for job #B2 was empty; nothing was sent."},
		{"reference picks the job", "#b2: running late", custB, "Sam: running late"},
		{"other job", "#A1 there in 5", custA, "Sam: there in 5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := len(e.out.Sent())
			e.inbound(worker, tc.body)
			sent := e.out.Sent()[n:]
			if len(sent) != 1 || sent[0].To != tc.to || sent[0].Body != tc.relayed || sent[0].Kind != "relay" {
				t.Fatalf("sent %+v", sent)
			}
		})
	}
	// STOP from a worker is an opt-out keyword, not a relay.
	n := len(e.out.Sent())
	e.inbound(worker, "STOP")
	for _, m := range e.out.Sent()[n:] {
		if m.Kind == "relay" {
			t.Fatalf("keyword relayed: %+v", m)
		}
	}
}

// A reply to a business alert (T19) joins the job and reaches the worker; the
// dispatcher owns it when "job owner owns replies" is on.
func TestReplyToBusinessAlertReachesWorker(t *testing.T) {
	e := newEnv(t, Config{JobOwnerOwnsReplies: true})
	e.job(store.DispatchJob{Ref: "77", Active: true, CustomerNumber: custB, DispatcherID: e.uid("bob"),
		WorkerName: "Kim", WorkerPhone: worker})
	if _, err := e.r.SendAutomated(e.ctx, System, Automated{To: custB, Line: modemName, Body: "Job 77: tech at 14:00",
		JobRef: "77", JobOwnerID: e.uid("bob")}); err != nil {
		t.Fatal(err)
	}
	n := len(e.out.Sent())
	e.inbound(custB, "Can it be 15:00?")
	c := e.live(custB)
	if c.JobRef != "77" || c.OwnerID != e.uid("bob") || !e.activeAlert("bob", c.ID, store.AlertOwner) {
		t.Fatalf("episode %+v alerts %+v", c, e.alerts("bob", c.ID))
	}
	if got := e.sentTo(worker, n); len(got) != 1 || got[0].Body != custB+" #77: Can it be 15:00?" {
		t.Fatalf("relay %+v", got)
	}
}

func TestPendingRelayOfEndedJobIsCancelled(t *testing.T) {
	e := newEnv(t, Config{})
	j := e.job(store.DispatchJob{Ref: "9", Active: true, CustomerNumber: custA, WorkerPhone: worker})
	e.out.mu.Lock()
	e.out.fail = errors.New("queue down")
	e.out.mu.Unlock()
	e.inbound(custA, "hello?")
	e.out.mu.Lock()
	e.out.fail = nil
	e.out.mu.Unlock()
	j.Active = false
	e.job(j)
	n := len(e.out.Sent())
	if err := e.r.SendPendingRelays(e.ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.out.Sent()[n:]; len(got) != 0 {
		t.Fatalf("sent after the job ended: %+v", got)
	}
	if list, _, _ := e.db.PendingJobRelays(e.ctx, 10); len(list) != 0 {
		t.Fatalf("still pending: %+v", list)
	}
}
