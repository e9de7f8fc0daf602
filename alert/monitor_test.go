package alert

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/modem"
	"github.com/smsgw/smsgw/store"
)

type fakeMail struct {
	mu   sync.Mutex
	got  []string
	fail error
}

func (f *fakeMail) Send(_ context.Context, to []string, subject, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.got = append(f.got, strings.Join(to, ",")+" "+subject)
	return nil
}

type smsLog struct {
	mu  sync.Mutex
	got []string
}

func (s *smsLog) send(_ context.Context, to, line, body, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, to+" via "+line+" ["+key+"] "+body)
	return nil
}

func TestMonitorFiresOnceAndClears(t *testing.T) {
	db := openDB(t)
	clk := &clock{t: t0}
	bus := event.New(100, clk.Now)
	sub := bus.Subscribe(100, nil)
	var mu sync.Mutex
	statuses := map[string]modem.Status{
		"m0": {State: modem.StateReady, Registered: true, SignalDBm: -80},
		"m1": {State: modem.StateReady, Registered: true, SignalDBm: -70},
	}
	status := func(name string) func() modem.Status {
		return func() modem.Status { mu.Lock(); defer mu.Unlock(); return statuses[name] }
	}
	set := func(name string, st modem.Status) { mu.Lock(); statuses[name] = st; mu.Unlock() }
	parts := map[string]int{}
	var oldest time.Time
	mail, texts := &fakeMail{}, &smsLog{}
	balance := "Your balance is 12.34 EUR."
	m := NewMonitor(MonitorConfig{FireAfter: 30 * time.Second, OnCall: "+4915100000999", EmailTo: []string{"ops@example.com"},
		Thresholds: Thresholds{BalanceCode: "*100#", BalanceMin: 5, BalanceInterval: time.Hour, BacklogParts: 10,
			OldestAge: 10 * time.Minute, FailureMin: 4, FailureRate: 0.5, WebhookFailures: 3}},
		MonitorDeps{DB: db, Bus: bus, Mail: mail, Now: clk.Now, SendSMS: texts.send,
			Modems: []ModemInfo{
				{Name: "m0", Line: "l0", Status: status("m0"), Quota: 100,
					USSD: func(context.Context, string) (string, error) { mu.Lock(); defer mu.Unlock(); return balance, nil }},
				{Name: "m1", Line: "l1", Status: status("m1")},
			},
			QueueStats: func() (map[string]int, time.Time) { mu.Lock(); defer mu.Unlock(); return parts, oldest },
			Usage:      func(context.Context, string, time.Time) (int, error) { return 95, nil },
			WebhookFailures: func(context.Context) (map[string]int, error) {
				return map[string]int{"https://hooks.example/a": 1, "https://hooks.example/b": 3}, nil
			},
		})
	tick := func() {
		t.Helper()
		if err := m.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	firing := func() []string {
		list, err := db.SystemAlerts(context.Background(), store.SystemFiring, 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range list {
			out = append(out, a.Check+"/"+a.Subject)
		}
		return out
	}

	// Quota (95 of 100) and the failing webhook hold from the start; they fire once
	// FireAfter has passed, not before.
	tick()
	if f := firing(); len(f) != 0 {
		t.Fatalf("fired before FireAfter: %v", f)
	}
	clk.Advance(31 * time.Second)
	tick()
	if f := strings.Join(firing(), " "); f != "webhook_failing/https://hooks.example/b quota/m0" && f != "quota/m0 webhook_failing/https://hooks.example/b" {
		t.Fatalf("firing %q", f)
	}

	// m0 goes away: offline fires once (after FireAfter), by email and by SMS through m1.
	set("m0", modem.Status{State: modem.StateAbsent, LastError: "port gone"})
	tick()
	clk.Advance(31 * time.Second)
	tick()
	tick()
	list, _ := db.SystemAlerts(context.Background(), store.SystemFiring, 100)
	var off store.SystemAlert
	for _, a := range list {
		if a.Check == CheckModemOffline {
			off = a
		}
	}
	if off.ID == 0 || off.Subject != "m0" || off.Severity != "critical" || off.Notified != "inapp,webhook,email,sms" {
		t.Fatalf("offline incident %+v", off)
	}
	texts.mu.Lock()
	n := 0
	for _, s := range texts.got {
		if strings.Contains(s, "modem m0 is offline") {
			n++
			if !strings.HasPrefix(s, "+4915100000999 via l1 ") {
				t.Errorf("on-call SMS not through the healthy modem: %s", s)
			}
		}
	}
	texts.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d offline SMS: %v", n, texts.got)
	}

	// Back: cleared once, on every channel.
	set("m0", modem.Status{State: modem.StateReady, Registered: true, SignalDBm: -111,
		Storage: []modem.MemoryUse{{Name: "SM", Used: 9, Total: 10}}})
	tick()
	tick()
	if f := strings.Join(firing(), " "); strings.Contains(f, "modem_offline") {
		t.Fatalf("still firing %s", f)
	}
	clk.Advance(31 * time.Second)
	tick()
	f := strings.Join(firing(), " ")
	for _, want := range []string{"weak_signal/m0", "sim_storage/m0"} {
		if !strings.Contains(f, want) {
			t.Errorf("%s not firing: %s", want, f)
		}
	}
	var cleared int
	for {
		select {
		case ev := <-sub.C():
			if ev.Type == event.SystemAlertCleared {
				cleared++
			}
			continue
		default:
		}
		break
	}
	if cleared != 1 {
		t.Fatalf("%d cleared events", cleared)
	}

	// Balance: checked once per interval; a low balance fires.
	mu.Lock()
	balance = "Guthaben: 3,20 EUR"
	mu.Unlock()
	tick()
	if strings.Contains(strings.Join(firing(), " "), "low_balance") {
		t.Fatal("balance checked again before the interval")
	}
	clk.Advance(time.Hour)
	tick()
	clk.Advance(31 * time.Second)
	tick()
	if !strings.Contains(strings.Join(firing(), " "), "low_balance/m0") {
		t.Fatalf("low balance not firing: %v", firing())
	}

	// Queue: backlog, oldest age, failure rate.
	mu.Lock()
	parts = map[string]int{store.PartQueued: 12, store.PartSent: 10}
	oldest = clk.Now().Add(-11 * time.Minute)
	mu.Unlock()
	tick()
	mu.Lock()
	parts = map[string]int{store.PartQueued: 12, store.PartSent: 12, store.PartFailed: 12}
	mu.Unlock()
	clk.Advance(31 * time.Second)
	tick()
	clk.Advance(31 * time.Second)
	tick()
	f = strings.Join(firing(), " ")
	for _, want := range []string{"queue_backlog/", "queue_oldest/", "failure_rate/"} {
		if !strings.Contains(f, want) {
			t.Errorf("%s not firing: %s", want, f)
		}
	}
	mail.mu.Lock()
	defer mail.mu.Unlock()
	if len(mail.got) < 5 || !strings.HasPrefix(mail.got[0], "ops@example.com [smsgw] ALERT: ") {
		t.Fatalf("emails %v", mail.got)
	}
}

func TestParseBalance(t *testing.T) {
	cases := map[string]float64{"Your balance is 12.34 EUR.": 12.34, "Guthaben: 3,20 EUR": 3.2, "Saldo -1.5": -1.5}
	for in, want := range cases {
		if got, ok := ParseBalance(in); !ok || got != want {
			t.Errorf("%q: %v %v", in, got, ok)
		}
	}
	if _, ok := ParseBalance("no money here"); ok {
		t.Error("no amount")
	}
}

func TestSMTPNeedsStartTLSAndGoodCredentials(t *testing.T) {
	ctx := context.Background()
	plain := newMailServer(t, false)
	if err := plain.client().Send(ctx, []string{"a@example.com"}, "s", "b"); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("no STARTTLS: %v", err)
	}
	ms := newMailServer(t, true)
	c := ms.client()
	c.Password = "wrong"
	if err := c.Send(ctx, []string{"a@example.com"}, "s", "b"); err == nil || !strings.Contains(err.Error(), "auth") {
		t.Fatalf("bad password: %v", err)
	}
	if err := ms.client().Send(ctx, []string{"Ops <ops@example.com>"}, "Line\r\nBcc: x@evil", "über\nzwei"); err != nil {
		t.Fatal(err)
	}
	m := ms.wait(t, 5*time.Second, func(Mail) bool { return true })
	if m.Subject != "Line  Bcc: x@evil" || m.Body != "über\nzwei\n" || len(m.To) != 1 || m.To[0] != "ops@example.com" || !m.TLS {
		t.Fatalf("mail %+v", m)
	}
	if err := ms.client().Send(ctx, nil, "s", "b"); err == nil {
		t.Fatal("no recipients accepted")
	}
	if errors.Is(nil, ErrInvalid) {
		t.Fatal()
	}
}
