package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/modem"
	"github.com/smsgw/smsgw/modem/sim"
	"github.com/smsgw/smsgw/queue"
	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/store"
)

// rig is the gateway in miniature on two virtual modems over real ptys: m0 serves
// line l0 and m1 line l1, with sessions, the queue, the router, the alert service and
// an SMTP server, all on one SQLite file.
type rig struct {
	t    *testing.T
	ctx  context.Context
	db   *store.DB
	bus  *event.Bus
	net  *sim.Network
	sims []*sim.Modem
	sess []*modem.Session
	q    *queue.Queue
	qclk *clock // the queue's clock (quiet hours)
	rt   *router.Router
	svc  *Service
	ms   *mailServer
}

type qOutbox struct{ q *queue.Queue }

func (o qOutbox) Send(ctx context.Context, m router.Outgoing) (int64, error) {
	msg, _, err := o.q.Enqueue(ctx, queue.Request{To: m.To, Line: m.Line, Body: m.Body, Kind: m.Kind, AuthorID: m.AuthorID,
		ThreadID: m.ThreadID, IdempotencyKey: m.IdempotencyKey})
	return msg.ID, err
}

type qReports struct{ q *queue.Queue }

func (r qReports) ApplyStatusReport(ctx context.Context, sr router.StatusReport) (bool, error) {
	for range 30 {
		ok, err := r.q.ApplyStatusReport(ctx, sr.Modem, sr.MR, sr.Recipient, sr.Discharge, sr.Status)
		if !errors.Is(err, store.ErrReportEarly) {
			return ok, err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false, nil
}

func newRig(t *testing.T, quiet queue.QuietHours) *rig {
	t.Helper()
	db := openDB(t)
	ctx := context.Background()
	r := &rig{t: t, ctx: ctx, db: db, bus: event.New(1000, nil), net: sim.NewNetwork(sim.NetworkConfig{}),
		qclk: &clock{t: time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)}, ms: newMailServer(t, true)}
	r.q = queue.New(queue.Config{Region: "DE", Poll: 50 * time.Millisecond, RetryBase: 20 * time.Millisecond,
		RetryMax: 100 * time.Millisecond, QuietHours: quiet}, db, nil, nil, r.qclk.Now)
	lines := map[string]string{"m0": "l0", "m1": "l1"}
	r.rt = router.New(router.Config{DefaultRegion: "DE", PollInterval: 100 * time.Millisecond, SweepInterval: time.Hour,
		LineForModem: func(m, _ string) string { return lines[m] }},
		router.Deps{DB: db, Bus: r.bus, Outbox: qOutbox{r.q}, Reports: qReports{r.q}})
	r.svc = New(Config{DefaultLine: "l0", Poll: 100 * time.Millisecond, EmailTo: []string{"ops@example.com"}},
		Deps{DB: db, Router: r.rt, Bus: r.bus, Mail: r.ms.client()})

	mctx, mcancel := context.WithCancel(ctx)
	var mwg sync.WaitGroup
	var routes []queue.Route
	for i := range 2 {
		name := fmt.Sprintf("m%d", i)
		sm, err := r.net.NewModem(sim.ModemConfig{Name: name, Latency: sim.LatencyInstant()})
		if err != nil {
			t.Fatal(err)
		}
		if err := sm.Start(); err != nil {
			t.Fatal(err)
		}
		r.sims = append(r.sims, sm)
		handler := func(ctx context.Context, in modem.Inbound) error {
			_, err := db.InsertInboundPDU(ctx, store.InboundPDU{Modem: in.Modem, IMEI: in.IMEI, IMSI: in.IMSI,
				Storage: in.Storage, Index: in.Index, PDU: in.PDU})
			if err == nil {
				r.rt.Notify()
			}
			return err
		}
		s := modem.NewSession(modem.Config{Name: name, Port: sm.Path(), CommandTimeout: 3 * time.Second,
			SendTimeout: 10 * time.Second, HealthInterval: 300 * time.Millisecond, SweepInterval: time.Second,
			QuietTime: 50 * time.Millisecond, ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond,
			USSDTimeout: 3 * time.Second, Find: func() []string { return []string{sm.Path()} }}, nil, handler, nil, nil)
		r.sess = append(r.sess, s)
		mwg.Add(1)
		go func() { defer mwg.Done(); _ = s.Run(mctx) }()
		routes = append(routes, queue.Route{Sender: s, Lines: []string{lines[name]}})
	}
	wctx, wcancel := context.WithCancel(ctx)
	var wwg sync.WaitGroup
	for _, run := range []func(context.Context) error{
		func(ctx context.Context) error { return r.q.Run(ctx, routes) }, r.rt.Run, r.svc.Run,
	} {
		wwg.Add(1)
		go func() {
			defer wwg.Done()
			if err := run(wctx); err != nil {
				t.Error(err)
			}
		}()
	}
	t.Cleanup(func() {
		// Workers first (a send in flight finishes), then the modems, then the ptys.
		wcancel()
		if !waitGroup(&wwg, 15*time.Second) {
			t.Error("workers did not stop within 15s")
		}
		mcancel()
		if !waitGroup(&mwg, 15*time.Second) {
			t.Error("modem sessions did not stop within 15s")
		}
		for _, sm := range r.sims {
			_ = sm.Close()
		}
	})
	for _, s := range r.sess {
		rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := s.WaitReady(rctx)
		cancel()
		if err != nil {
			t.Fatalf("modem %s not ready: %v", s.Name(), err)
		}
		for deadline := time.Now().Add(15 * time.Second); !s.Status().Registered; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("modem %s not registered", s.Name())
			}
		}
	}
	// The network keeps SMS only for phones it knows.
	for _, p := range []string{custPhone, workerPhone, onCallPhone} {
		r.net.Phone(p)
	}
	return r
}

func waitGroup(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// waitInbox waits for a complete message to phone whose text satisfies match.
func (r *rig) waitInbox(phone string, d time.Duration, match func(sim.SentMessage) bool) sim.SentMessage {
	r.t.Helper()
	deadline := time.Now().Add(d)
	for {
		for _, m := range r.net.Phone(phone).Inbox() {
			if m.Complete && match(m) {
				return m
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("%s got no matching SMS within %s; inbox: %+v", phone, d, r.net.Phone(phone).Inbox())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func textIs(s string) func(sim.SentMessage) bool {
	return func(m sim.SentMessage) bool { return m.Text == s }
}

func (r *rig) text(from, to, body string) {
	r.t.Helper()
	if err := r.net.Phone(from).Send(to, body, sim.SendOptions{}); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) api(h http.Handler, method, path string, body any) (int, map[string]any) {
	r.t.Helper()
	var buf bytes.Buffer
	if body != nil {
		_ = json.NewEncoder(&buf).Encode(body)
	}
	req := httptest.NewRequest(method, path, &buf)
	req.Header.Set("Authorization", "Bearer test")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

const (
	custPhone   = "+4915100001001"
	workerPhone = "+4915100001009"
	onCallPhone = "+4915100001099"
)

// The dispatch use case end to end on virtual modems and phones: a job created over
// the API texts the customer; the customer's reply reaches the dispatcher by email and
// in-app and the field worker by SMS; the worker's answer reaches the customer; all of
// it is in one thread; and in quiet hours the alert waits while the relay goes.
func TestDispatchEndToEnd(t *testing.T) {
	r := newRig(t, queue.QuietHours{Start: 21 * 60, End: 7 * 60, Location: time.UTC})
	gw := r.sims[0].Identity().MSISDN
	ana, err := r.db.CreateAgent(r.ctx, "ana", "Ana", "dispatcher")
	if err != nil {
		t.Fatal(err)
	}
	email := "ana@example.com"
	if _, err := r.db.UpdateUser(r.ctx, ana.ID, store.UserChanges{Email: &email}); err != nil {
		t.Fatal(err)
	}
	authz := func(req *http.Request, scope string) (router.Actor, error) {
		if req.Header.Get("Authorization") != "Bearer test" {
			return router.Actor{}, ErrUnauthenticated
		}
		return router.Actor{UserID: ana.ID, Role: router.RoleDispatcher}, nil
	}
	h := NewHandler(r.svc, authz, nil)
	tpl, err := r.db.SaveAlertTemplate(r.ctx, store.AlertTemplate{Name: "booked",
		Body: "Hi {{customer.name}}, job #{{job.ref}}: {{worker.name}} arrives at {{job.eta}}. Reply here with questions."}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.db.SaveAlertRule(r.ctx, store.AlertRule{Event: EventCreated, TemplateID: tpl.ID,
		Recipients: []string{RecipientCustomer}, Enabled: true}, time.Now()); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	code, out := r.api(h, "POST", "/api/v1/jobs", map[string]any{"ref": "1042", "line": "l0", "dispatcher_id": ana.ID,
		"customer": map[string]string{"name": "Mrs Smith", "number": custPhone},
		"worker":   map[string]string{"name": "Tech Sam", "number": workerPhone}, "fields": map[string]string{"eta": "14:00"}})
	if code != http.StatusCreated {
		t.Fatalf("create job: %d %v", code, out)
	}
	alert := "Hi Mrs Smith, job #1042: Tech Sam arrives at 14:00. Reply here with questions."
	got := r.waitInbox(custPhone, 20*time.Second, textIs(alert))
	if got.Modem != "m0" {
		t.Fatalf("alert sent by %s, want m0 (line l0)", got.Modem)
	}

	// The customer replies (a long message in two parts).
	reply := "Can you come at 15:00 instead? The gate is locked before then, and please ring twice, the bell is quiet. Danke schön!"
	reply += " " + strings.Repeat("More details follow. ", 3)
	r.text(custPhone, gw, reply)
	m := r.ms.wait(t, 20*time.Second, func(m Mail) bool { return len(m.To) == 1 && m.To[0] == email })
	if !strings.Contains(m.Body, reply) || !strings.Contains(m.Body, custPhone) || !strings.Contains(m.Subject, "#1042") {
		t.Fatalf("dispatcher email %+v", m)
	}
	r.waitInbox(workerPhone, 20*time.Second, textIs("Mrs Smith #1042: "+reply))
	alerts, err := r.db.Alerts(r.ctx, ana.ID, store.AlertActive, 50)
	if err != nil || len(alerts) == 0 {
		t.Fatalf("no in-app alert for the dispatcher: %v %v", alerts, err)
	}
	conv, err := r.db.Conversation(r.ctx, alerts[0].ConversationID)
	if err != nil || conv.JobRef != "1042" {
		t.Fatalf("alert's conversation %+v %v", conv, err)
	}

	// The worker answers through the gateway number; the customer gets it intact.
	answer := "Sure, 15:00 works. Ich klingle zweimal. — Sam"
	r.text(workerPhone, gw, answer)
	r.waitInbox(custPhone, 20*time.Second, textIs("Tech Sam: "+answer))

	// The dispatcher sees all three parties in one thread.
	code, out = r.api(h, "GET", "/api/v1/jobs/1042/messages", nil)
	if code != http.StatusOK {
		t.Fatalf("job thread %d %v", code, out)
	}
	var kinds []string
	msgs, _ := out["messages"].([]any)
	for i := len(msgs) - 1; i >= 0; i-- {
		mm := msgs[i].(map[string]any)
		kinds = append(kinds, fmt.Sprintf("%s/%s/%s", mm["direction"], mm["kind"], mm["peer"]))
	}
	want := []string{"out/automated/" + custPhone, "in/customer/" + custPhone, "out/relay/" + workerPhone,
		"in/relay/" + workerPhone, "out/relay/" + custPhone}
	if strings.Join(kinds, " ") != strings.Join(want, " ") {
		t.Fatalf("thread %v, want %v", kinds, want)
	}

	// Quiet hours: a new job's alert waits; the three-way relay does not.
	r.qclk.Advance(10 * time.Hour) // 22:00 UTC
	code, out = r.api(h, "PATCH", "/api/v1/jobs/1042", map[string]any{"fields": map[string]string{"eta": "15:00"}})
	if code != http.StatusOK {
		t.Fatalf("patch %d %v", code, out)
	}
	if _, err := r.db.SaveAlertRule(r.ctx, store.AlertRule{Event: EventETASet, TemplateID: tpl.ID,
		Recipients: []string{RecipientCustomer}, Enabled: true}, time.Now()); err != nil {
		t.Fatal(err)
	}
	code, out = r.api(h, "PATCH", "/api/v1/jobs/1042", map[string]any{"fields": map[string]string{"eta": "15:15"}})
	if code != http.StatusOK {
		t.Fatalf("patch %d %v", code, out)
	}
	quietAlert := "Hi Mrs Smith, job #1042: Tech Sam arrives at 15:15. Reply here with questions."
	r.text(workerPhone, gw, "Running 15 min late")
	r.waitInbox(custPhone, 20*time.Second, textIs("Tech Sam: Running 15 min late"))
	for _, msg := range r.net.Phone(custPhone).Inbox() {
		if msg.Text == quietAlert {
			t.Fatal("an automated alert went out in quiet hours")
		}
	}
	r.qclk.Advance(10 * time.Hour) // 08:00 UTC
	r.q.Notify()
	r.waitInbox(custPhone, 20*time.Second, textIs(quietAlert))

	// Completing the job ends the relay: the worker's next text goes nowhere near the customer.
	code, _ = r.api(h, "PATCH", "/api/v1/jobs/1042", map[string]any{"status": "completed"})
	if code != http.StatusOK {
		t.Fatalf("complete %d", code)
	}
	n := len(r.net.Phone(custPhone).Inbox())
	r.text(workerPhone, gw, "all done, leaving")
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := r.db.ContactByNumber(r.ctx, workerPhone)
		if err == nil && c.ID != 0 {
			break // routed as an ordinary inbound message
		}
		if time.Now().After(deadline) {
			t.Fatal("the worker's text after the end was not routed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if k := len(r.net.Phone(custPhone).Inbox()); k != n {
		t.Fatalf("relayed after the job ended: %+v", r.net.Phone(custPhone).Inbox()[n:])
	}
	t.Logf("dispatch scenario in %s", time.Since(start).Round(time.Millisecond))
}

// Unplugging a virtual modem raises the offline alert by SMS to the on-call phone
// through the other modem (and by email), and replugging clears it the same way.
func TestModemOfflineAlertThroughOtherModem(t *testing.T) {
	r := newRig(t, queue.QuietHours{})
	var infos []ModemInfo
	for i, s := range r.sess {
		infos = append(infos, ModemInfo{Name: s.Name(), Line: fmt.Sprintf("l%d", i), Status: s.Status})
	}
	mon := NewMonitor(MonitorConfig{OnCall: onCallPhone, EmailTo: []string{"ops@example.com"}},
		MonitorDeps{DB: r.db, Bus: r.bus, Mail: r.ms.client(), Modems: infos, QueueStats: r.q.Stats,
			SendSMS: func(ctx context.Context, to, line, body, key string) error {
				_, _, err := r.q.Enqueue(ctx, queue.Request{To: to, Line: line, Body: body, Kind: queue.KindAPI,
					Priority: 10, IdempotencyKey: key})
				return err
			}})
	tickUntil := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if err := mon.Tick(r.ctx); err != nil {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 20s; m0 %+v", what, r.sess[0].Status())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	firing := func(check string) bool {
		list, _ := r.db.SystemAlerts(r.ctx, store.SystemFiring, 50)
		for _, a := range list {
			if a.Check == check && a.Subject == "m0" {
				return true
			}
		}
		return false
	}
	if err := mon.Tick(r.ctx); err != nil || firing(CheckModemOffline) {
		t.Fatalf("healthy modems fired: %v", err)
	}

	if err := r.sims[0].Unplug(); err != nil {
		t.Fatal(err)
	}
	tickUntil("offline alert", func() bool { return firing(CheckModemOffline) })
	sms := r.waitInbox(onCallPhone, 20*time.Second, func(m sim.SentMessage) bool {
		return strings.HasPrefix(m.Text, "smsgw ALERT: modem m0 is offline")
	})
	if sms.Modem != "m1" {
		t.Fatalf("on-call SMS sent by %s, want m1", sms.Modem)
	}
	r.ms.wait(t, 10*time.Second, func(m Mail) bool { return strings.Contains(m.Subject, "ALERT: modem m0 is offline") })
	for range 5 { // once per incident
		if err := mon.Tick(r.ctx); err != nil {
			t.Fatal(err)
		}
	}

	if _, err := r.sims[0].Replug(); err != nil {
		t.Fatal(err)
	}
	tickUntil("cleared", func() bool { return !firing(CheckModemOffline) })
	clear := r.waitInbox(onCallPhone, 20*time.Second, func(m sim.SentMessage) bool { return strings.HasPrefix(m.Text, "smsgw OK: resolved: modem m0") })
	if clear.Modem != "m1" {
		t.Fatalf("clear SMS sent by %s", clear.Modem)
	}
	n := 0
	for _, m := range r.net.Phone(onCallPhone).Inbox() {
		if strings.Contains(m.Text, "ALERT: modem m0 is offline") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d offline SMS, want 1", n)
	}
	all, _ := r.db.SystemAlerts(r.ctx, "", 50)
	if len(all) != 1 || all[0].State != store.SystemCleared || all[0].Notified != "inapp,webhook,email,sms" {
		t.Fatalf("incidents %+v", all)
	}
}
