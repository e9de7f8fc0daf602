package alert

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/store"
)

func TestRender(t *testing.T) {
	j := store.DispatchJob{Ref: "1042", Status: "created", CustomerName: "Ada Lovelace", CustomerNumber: "+4915100000001",
		WorkerName: "Sam", Fields: map[string]string{"eta": "14:00", "note": "{{job.ref}}", "ref": "spoof"}}
	cases := []struct {
		name, body, want string
		missing          []string
	}{
		{"tokens", "Hi {{customer.first_name}}, job #{{job.ref}}: {{worker.name}} arrives {{job.eta}}",
			"Hi Ada, job #1042: Sam arrives 14:00", nil},
		{"any job field, both spellings", "{{job.note}}/{{job.fields.note}}", "{{job.ref}}/{{job.fields.note}}", nil},
		{"fallback", "ETA {{job.window|soon}}", "ETA soon", nil},
		{"missing", "Site {{site.name}}.", "Site .", []string{"site.name"}},
		{"spaces inside braces", "{{ job.ref }}", "1042", nil},
		{"column wins over a field of the same name", "{{job.ref}}", "1042", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, missing := Render(tc.body, Vars(j, j.CustomerName, j.CustomerNumber))
			if tc.name == "any job field, both spellings" {
				// One pass: a value that looks like a token is not expanded again.
				if got != "{{job.ref}}/{{job.ref}}" {
					t.Fatalf("got %q", got)
				}
				return
			}
			if got != tc.want || strings.Join(missing, ",") != strings.Join(tc.missing, ",") {
				t.Fatalf("got %q missing %v, want %q %v", got, missing, tc.want, tc.missing)
			}
		})
	}
}

func TestPreviewCountsSegments(t *testing.T) {
	cases := []struct {
		body     string
		enc      string
		segments int
	}{
		{"Job {{job.ref}}: ETA {{job.eta}}", "gsm7", 1},
		{strings.Repeat("x", 158) + " {{job.ref}}", "gsm7", 2}, // 163 characters once filled in
		{"Grüße {{customer.name}} 🙂", "ucs2", 1},
	}
	for _, tc := range cases {
		p := PreviewTemplate(tc.body, nil)
		if p.Encoding != tc.enc || p.Segments != tc.segments {
			t.Errorf("%q: %+v", tc.body, p)
		}
	}
	if p := PreviewTemplate("x {{nope}}", nil); len(p.MissingTokens) != 1 || p.MissingTokens[0] != "nope" {
		t.Errorf("missing tokens %+v", p)
	}
	if p := PreviewTemplate("Hi 🙂", nil); len(p.NonGSMChars) != 1 {
		t.Errorf("non-GSM characters %+v", p)
	}
}

func TestRulesFiltersDedupeOptOutAndEvents(t *testing.T) {
	u := newUnit(t, Config{DedupeWindow: 10 * time.Minute})
	created := u.template("created", "Hi {{customer.name}}, job #{{job.ref}} is booked.")
	eta := u.template("eta", "Job #{{job.ref}}: {{worker.name}} arrives at {{job.eta}}.")
	custom := u.template("parts", "Parts for #{{job.ref}} arrived.")
	u.rule(store.AlertRule{Event: EventCreated, TemplateID: created.ID, Recipients: []string{"customer", "billing", "+4915100000777"},
		Filters: map[string]string{"type": "repair|install"}})
	u.rule(store.AlertRule{Event: EventETASet, TemplateID: eta.ID, Recipients: []string{"customer"}})
	u.rule(store.AlertRule{Event: "parts_arrived", TemplateID: custom.ID, Recipients: []string{"site"}})

	// A job that does not match the filter gets no created alert.
	_, sends, err := u.svc.CreateJob(u.ctx, JobInput{Ref: "1", Customer: &Party{Name: "Ada", Number: "+4915100000001"},
		Fields: map[string]string{"type": "survey"}})
	if err != nil || len(sends) != 0 {
		t.Fatalf("filtered job: %+v %v", sends, err)
	}

	j, sends, err := u.svc.CreateJob(u.ctx, JobInput{Ref: "1042", Customer: &Party{Name: "Ada", Number: "015100000001"},
		Billing: &Party{Name: "Acme", Number: "+49 151 00000002"}, Site: &Party{Number: "+4915100000003"},
		Worker: &Party{Name: "Sam", Number: "+4915100000009"}, Fields: map[string]string{"type": "Repair", "eta": "14:00"}})
	if err != nil {
		t.Fatal(err)
	}
	if j.CustomerNumber != "+4915100000001" || j.BillingNumber != "+4915100000002" || !j.Active || j.Status != "created" {
		t.Fatalf("job %+v", j)
	}
	// created → customer, billing, ad hoc number; eta given at creation → eta_set.
	var got []string
	for _, s := range sends {
		got = append(got, s.Event+" "+s.Recipient+" "+s.State+" "+s.Body)
	}
	want := []string{
		"created +4915100000001 sent Hi Ada, job #1042 is booked.",
		"created +4915100000002 sent Hi Ada, job #1042 is booked.",
		"created +4915100000777 sent Hi Ada, job #1042 is booked.",
		"eta_set +4915100000001 sent Job #1042: Sam arrives at 14:00.",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("sends:\n%s", strings.Join(got, "\n"))
	}
	// Each alert is an automated message in the customer's thread, tied to the job.
	c, err := u.db.ContactByNumber(u.ctx, "+4915100000001")
	if err != nil {
		t.Fatal(err)
	}
	ths, _ := u.db.ThreadsOfContact(u.ctx, c.ID)
	if len(ths) != 1 || ths[0].JobRef != "1042" || ths[0].Line != "l1" {
		t.Fatalf("threads %+v", ths)
	}
	msgs, _ := u.db.ThreadMessages(u.ctx, ths[0].ID, 0, 10)
	if len(msgs) != 2 || msgs[0].Kind != "automated" {
		t.Fatalf("thread messages %+v", msgs)
	}

	// The same ETA again within the window: deduplicated. A new ETA is a new event,
	// but the rule already sent to this recipient within the window.
	_, sends, _ = u.svc.UpdateJob(u.ctx, "1042", JobInput{Fields: map[string]string{"eta": "14:00"}})
	if len(sends) != 0 {
		t.Fatalf("unchanged ETA fired: %+v", sends)
	}
	u.clk.Advance(5 * time.Minute)
	_, sends, _ = u.svc.UpdateJob(u.ctx, "1042", JobInput{Fields: map[string]string{"eta": "15:00"}})
	if len(sends) != 1 || sends[0].State != store.SendSkipped || !strings.Contains(sends[0].Reason, "duplicate") {
		t.Fatalf("ETA within the dedupe window: %+v", sends)
	}
	u.clk.Advance(6 * time.Minute)
	_, sends, _ = u.svc.UpdateJob(u.ctx, "1042", JobInput{Fields: map[string]string{"eta": "15:30"}})
	if len(sends) != 1 || sends[0].State != store.SendSent || sends[0].Body != "Job #1042: Sam arrives at 15:30." {
		t.Fatalf("ETA after the window: %+v", sends)
	}

	// Opt-out: the customer texts STOP; the next alert is skipped and recorded so.
	if _, err := u.rt.SetOptOut(u.ctx, router.System, c.ID, true); err != nil {
		t.Fatal(err)
	}
	u.clk.Advance(11 * time.Minute)
	_, sends, _ = u.svc.UpdateJob(u.ctx, "1042", JobInput{Fields: map[string]string{"eta": "16:00"}})
	if len(sends) != 1 || sends[0].State != store.SendSkipped || !strings.Contains(sends[0].Reason, "opted out") {
		t.Fatalf("opted out: %+v", sends)
	}

	// A custom event posted to the API, with fields merged first.
	sends, err = u.svc.PostEvent(u.ctx, "1042", "Parts_Arrived", map[string]string{"parts": "valve"})
	if err != nil || len(sends) != 1 || sends[0].Recipient != "+4915100000003" || sends[0].Body != "Parts for #1042 arrived." {
		t.Fatalf("custom event: %+v %v", sends, err)
	}
	if j, _ := u.svc.Job(u.ctx, "1042"); j.Fields["parts"] != "valve" {
		t.Fatalf("fields not merged: %+v", j.Fields)
	}

	// Completing ends the job.
	j, _, err = u.svc.UpdateJob(u.ctx, "1042", JobInput{Status: ptr("completed")})
	if err != nil || j.Active || j.EndedAt.IsZero() {
		t.Fatalf("completed %+v %v", j, err)
	}

	// Input errors.
	for _, in := range []JobInput{{Ref: ""}, {Ref: "a b"}, {Ref: "x", Customer: &Party{Number: "not a number"}},
		{Ref: "y", DispatcherID: ptr(int64(999))}, {Ref: "z", Fields: map[string]string{"a b": "1"}}} {
		if _, _, err := u.svc.CreateJob(u.ctx, in); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", in, err)
		}
	}
	if _, _, err := u.svc.CreateJob(u.ctx, JobInput{Ref: "1042"}); !errors.Is(err, ErrConflict) {
		t.Errorf("duplicate: %v", err)
	}
	if _, _, err := u.svc.UpdateJob(u.ctx, "nope", JobInput{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown job: %v", err)
	}
}

// An alert to a contact in a live chat waits until the chat has been quiet for the
// window, and goes anyway after ChatDelayMax.
func TestAlertsWaitWhileTheCustomerChats(t *testing.T) {
	u := newUnit(t, Config{ChatDelay: 5 * time.Minute, ChatDelayMax: 30 * time.Minute})
	tpl := u.template("eta", "ETA {{job.eta}}")
	u.rule(store.AlertRule{Event: EventETASet, TemplateID: tpl.ID, Recipients: []string{"customer"}})
	const cust = "+4915100000001"
	// The customer is chatting: an inbound message opens a NEW conversation now.
	inbound(t, u, cust, "are you there?")

	_, sends, err := u.svc.CreateJob(u.ctx, JobInput{Ref: "7", Customer: &Party{Number: cust}, Fields: map[string]string{"eta": "9:30"}})
	if err != nil || len(sends) != 1 || sends[0].State != store.SendPending || !sends[0].DueAt.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("held alert %+v %v", sends, err)
	}
	n := len(u.out.Sent())
	u.clk.Advance(4 * time.Minute)
	inbound(t, u, cust, "hello??") // the chat goes on: hold again
	u.clk.Advance(2 * time.Minute)
	if k, _ := u.svc.DispatchDue(u.ctx); k != 0 || len(u.out.Sent()) != n {
		t.Fatalf("sent during the chat (%d)", k)
	}
	u.clk.Advance(4 * time.Minute) // quiet for 6 minutes
	if k, _ := u.svc.DispatchDue(u.ctx); k != 1 {
		t.Fatalf("not sent after the chat went quiet (%d)", k)
	}

	// ChatDelayMax: a chat that never stops cannot hold an alert forever.
	_, sends, _ = u.svc.UpdateJob(u.ctx, "7", JobInput{Fields: map[string]string{"eta": "11:00"}})
	_ = sends
	u.clk.Advance(11 * time.Minute) // past the dedupe window for the next ETA
	inbound(t, u, cust, "one more thing")
	_, sends, _ = u.svc.UpdateJob(u.ctx, "7", JobInput{Fields: map[string]string{"eta": "12:00"}})
	if len(sends) != 1 || sends[0].State != store.SendPending {
		t.Fatalf("second alert %+v", sends)
	}
	for i := 0; i < 8; i++ { // the customer writes every 4 minutes for 32 minutes
		u.clk.Advance(4 * time.Minute)
		inbound(t, u, cust, "still here")
		_, _ = u.svc.DispatchDue(u.ctx)
	}
	list, _ := u.db.AlertSendsOfJob(u.ctx, sends[0].JobID, 10)
	if list[0].ID != sends[0].ID || list[0].State != store.SendSent {
		t.Fatalf("held past ChatDelayMax: %+v", list[0])
	}
}

// inbound routes a text from number through the router (as a modem would deliver it).
func inbound(t *testing.T, u *unit, from, text string) {
	t.Helper()
	if err := storeInbound(u.ctx, u.db, from, text, u.clk.Now()); err != nil {
		t.Fatal(err)
	}
	if err := u.rt.ProcessInbound(u.ctx); err != nil {
		t.Fatal(err)
	}
}

func TestCustomerResponseEmail(t *testing.T) {
	ms := newMailServer(t, true)
	u := newUnit(t, Config{EmailTo: []string{"ops@example.com"}, PublicURL: "https://gw.example/"})
	u.svc.mail = ms.client()
	ana, err := u.db.CreateAgent(u.ctx, "ana", "Ana", "dispatcher")
	if err != nil {
		t.Fatal(err)
	}
	email := "ana@example.com"
	if _, err := u.db.UpdateUser(u.ctx, ana.ID, store.UserChanges{Email: &email}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(u.ctx)
	done := make(chan error, 1)
	go func() { done <- u.svc.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	time.Sleep(50 * time.Millisecond) // Run subscribes
	if _, _, err := u.svc.CreateJob(u.ctx, JobInput{Ref: "55", Customer: &Party{Name: "Bea", Number: "+4915100000001"},
		DispatcherID: &ana.ID}); err != nil {
		t.Fatal(err)
	}
	inbound(t, u, "+4915100000001", "Gate code is 4711\n. <b>thanks</b>")
	m := ms.wait(t, 10*time.Second, func(m Mail) bool { return len(m.To) == 1 && m.To[0] == email })
	if !m.TLS || m.User != ms.user || !strings.Contains(m.Subject, "#55") || !strings.Contains(m.Subject, "+4915100000001") ||
		!strings.Contains(m.Body, "Gate code is 4711\n. <b>thanks</b>") || !strings.Contains(m.Body, "Bea (+4915100000001)") ||
		!strings.Contains(m.Body, "https://gw.example/conversations/") {
		t.Fatalf("email %+v", m)
	}
}
