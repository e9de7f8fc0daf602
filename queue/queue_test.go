package queue

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/smsgw/smsgw/modem"
	"github.com/smsgw/smsgw/modem/sim"
	"github.com/smsgw/smsgw/sms"
	"github.com/smsgw/smsgw/store"
)

// bench is a gateway in miniature: a database, a queue, virtual modems with sessions.
type bench struct {
	t    *testing.T
	db   *store.DB
	q    *Queue
	net  *sim.Network
	sims []*sim.Modem
	sess []*modem.Session
	reg  *prometheus.Registry
	stop func()

	mu      sync.Mutex
	inbound []string // texts of SMS-DELIVER PDUs the sessions handed over
}

type benchOpts struct {
	modems      int
	personality sim.Personality
	lines       []string // line of each modem ('' = none)
	rate        int
	cfg         Config
	latency     sim.Latency
}

func newBench(t *testing.T, o benchOpts) *bench {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if o.modems == 0 {
		o.modems = 1
	}
	if o.latency.RingEvery == 0 {
		o.latency = sim.LatencyInstant()
	}
	b := &bench{t: t, db: db, net: sim.NewNetwork(sim.NetworkConfig{}), reg: prometheus.NewRegistry()}
	if o.cfg.RetryBase == 0 {
		o.cfg.RetryBase = 20 * time.Millisecond
		o.cfg.RetryMax = 100 * time.Millisecond
	}
	if o.cfg.Poll == 0 {
		o.cfg.Poll = 50 * time.Millisecond
	}
	b.q = New(o.cfg, db, nil, b.reg, nil)
	var routes []Route
	var wg sync.WaitGroup
	for i := range o.modems {
		sm, err := b.net.NewModem(sim.ModemConfig{Name: fmt.Sprintf("m%d", i), Latency: o.latency, Personality: o.personality})
		if err != nil {
			t.Fatal(err)
		}
		if err := sm.Start(); err != nil {
			t.Fatal(err)
		}
		b.sims = append(b.sims, sm)
		s := modem.NewSession(modem.Config{
			Name: sm.Name(), Port: sm.Path(), CommandTimeout: 2 * time.Second, SendTimeout: 10 * time.Second,
			HealthInterval: time.Second, SweepInterval: time.Second, QuietTime: 50 * time.Millisecond, TraceLines: 400,
			ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond,
			Find: func() []string { return []string{sm.Path()} },
		}, nil, b.reportHandler(sm.Name()), nil, nil)
		b.sess = append(b.sess, s)
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.Run(ctx) }()
		r := Route{Sender: s, RatePerMinute: o.rate}
		if i < len(o.lines) && o.lines[i] != "" {
			r.Lines = []string{o.lines[i]}
		}
		routes = append(routes, r)
	}
	qctx, qcancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := b.q.Run(qctx, routes); err != nil {
			t.Error(err)
		}
	}()
	var once sync.Once
	b.stop = func() {
		once.Do(func() {
			qcancel()
			<-done
			cancel()
			wg.Wait()
			for _, sm := range b.sims {
				_ = sm.Close()
			}
			db.Close()
		})
	}
	t.Cleanup(b.stop)
	for _, s := range b.sess {
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		if err := s.WaitReady(wctx); err != nil {
			t.Fatal(err)
		}
		wcancel()
	}
	return b
}

// reportHandler plays the router's part for status reports: decode and apply.
func (b *bench) reportHandler(name string) modem.InboundHandler {
	return func(ctx context.Context, in modem.Inbound) error {
		m, err := sms.Decode(in.PDU, sms.MT, true)
		if err != nil {
			return nil
		}
		if m.Type == sms.StatusReport {
			_, err := b.q.ApplyStatusReport(ctx, name, m.MR, m.Address, m.Discharge, m.Status)
			return err
		}
		b.mu.Lock()
		b.inbound = append(b.inbound, m.Text)
		b.mu.Unlock()
		return nil
	}
}

func (b *bench) enqueue(r Request) store.Message {
	b.t.Helper()
	m, _, err := b.q.Enqueue(context.Background(), r)
	if err != nil {
		b.t.Fatal(err)
	}
	return m
}

// waitStatus waits until every message has one of the given statuses.
func (b *bench) waitStatus(d time.Duration, uids []string, want ...string) []store.Message {
	b.t.Helper()
	deadline := time.Now().Add(d)
	for {
		var out []store.Message
		done := true
		for _, uid := range uids {
			m, err := b.db.MessageByUID(context.Background(), uid)
			if err != nil {
				b.t.Fatal(err)
			}
			out = append(out, m)
			ok := false
			for _, w := range want {
				ok = ok || m.Status == w
			}
			done = done && ok
		}
		if done {
			return out
		}
		if time.Now().After(deadline) {
			for _, m := range out {
				ok := false
				for _, w := range want {
					ok = ok || m.Status == w
				}
				if !ok {
					b.t.Logf("%s %s %q parts %+v", m.UID, m.Status, m.Error, m.Parts)
				}
			}
			for _, s := range b.sess {
				lines := s.Trace().Lines()
				if len(lines) > 40 {
					lines = lines[len(lines)-40:]
				}
				for _, l := range lines {
					b.t.Logf("%s %s %s %s", s.Name(), l.Time.Format("15:04:05.000"), l.Dir, l.Text)
				}
			}
			b.t.Fatalf("messages not all %v after %s", want, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestValidation(t *testing.T) {
	b := newBench(t, benchOpts{cfg: Config{Region: "US", MaxSegments: 3}})
	cases := []struct {
		name  string
		r     Request
		field string
		msg   string
	}{
		{"no number", Request{To: "", Body: "x"}, "to", "not a phone number"},
		{"letters", Request{To: "call me", Body: "x"}, "to", ""},
		{"sender id", Request{To: "ACME", Body: "x"}, "to", "sender name"},
		{"empty body", Request{To: "+12025550150", Body: ""}, "body", "is empty"},
		{"bad utf-8", Request{To: "+12025550150", Body: "a\xffb"}, "body", "UTF-8"},
		{"too long", Request{To: "+12025550150", Body: strings.Repeat("x", 600)}, "body", "the limit is 3 parts"},
		{"unicode too long", Request{To: "+12025550150", Body: strings.Repeat("ж", 210)}, "body", "ucs2"},
		{"bad kind", Request{To: "+12025550150", Body: "x", Kind: "spam"}, "kind", "not one of"},
		{"past expiry", Request{To: "+12025550150", Body: "x", ExpiresAt: time.Now().Add(-time.Hour)}, "expires_at", "past"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := b.q.Enqueue(context.Background(), tc.r)
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want a *FieldError", err)
			}
			if fe.Field != tc.field || !strings.Contains(fe.Msg, tc.msg) {
				t.Fatalf("field %q msg %q, want %q containing %q", fe.Field, fe.Msg, tc.field, tc.msg)
			}
		})
	}
	// A national number is normalised with the region.
	m := b.enqueue(Request{To: "(202) 555-0199", Body: "hi"})
	if m.Peer != "+12025550199" {
		t.Fatalf("peer %q", m.Peer)
	}
	// A batch with one bad message commits nothing.
	_, _, err := b.q.EnqueueBatch(context.Background(), []Request{{To: "+12025550151", Body: "ok"}, {To: "x", Body: "bad"}})
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Index != 1 {
		t.Fatalf("batch error %v, want index 1", err)
	}
}

func TestSendsEverythingOnceAcrossModems(t *testing.T) {
	b := newBench(t, benchOpts{modems: 3})
	var uids, texts []string
	for i := range 60 {
		var text string
		switch i % 3 {
		case 0:
			text = fmt.Sprintf("short %d", i)
		case 1:
			text = fmt.Sprintf("long %d ", i) + strings.Repeat("lorem ipsum dolor sit amet ", 12)
		default:
			text = fmt.Sprintf("ünïcødé %d 😀", i)
		}
		m := b.enqueue(Request{To: fmt.Sprintf("+1202555%04d", i), Body: text})
		uids = append(uids, m.UID)
		texts = append(texts, text)
	}
	b.waitStatus(30*time.Second, uids, "sent", "delivered")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := b.net.WaitMessages(ctx, len(texts))
	if err != nil {
		t.Fatal(err)
	}
	byText := map[string]sim.SentMessage{}
	for _, m := range got {
		if _, dup := byText[m.Text]; dup || m.Duplicates > 0 || !m.Complete {
			t.Errorf("duplicate or incomplete %+v", m)
		}
		byText[m.Text] = m
	}
	used := map[string]bool{}
	for i, text := range texts {
		m, ok := byText[text]
		if !ok {
			t.Errorf("network never got %q", text)
			continue
		}
		if m.To != fmt.Sprintf("+1202555%04d", i) {
			t.Errorf("%q went to %s", text, m.To)
		}
		used[m.Modem] = true
	}
	if len(used) < 2 {
		t.Errorf("only modems %v sent; work was not shared", used)
	}
	// Status reports come back from the network and roll up to delivered.
	b.waitStatus(20*time.Second, uids, "delivered")
}

func TestErrorsAreClassifiedAndOthersGoOn(t *testing.T) {
	b := newBench(t, benchOpts{cfg: Config{MaxAttempts: 4}})
	sm := b.sims[0]

	sm.SetFault(sim.Fault{SendError: 1, SendErrorCount: 1}) // unassigned number: permanent
	bad := b.enqueue(Request{To: "+12025550001", Body: "to a number that does not exist"})
	got := b.waitStatus(10*time.Second, []string{bad.UID}, "failed")[0]
	if !strings.Contains(got.Error, "+CMS ERROR 1") {
		t.Errorf("error %q", got.Error)
	}

	sm.SetFault(sim.Fault{SendError: 38, SendErrorCount: 2}) // network out of order: temporary
	retried := b.enqueue(Request{To: "+12025550002", Body: "after two temporary failures"})
	got = b.waitStatus(10*time.Second, []string{retried.UID}, "sent", "delivered")[0]
	if got.Parts[0].Attempts != 3 {
		t.Errorf("attempts %d, want 3", got.Parts[0].Attempts)
	}

	sm.SetFault(sim.Fault{SendError: 38}) // temporary forever: gives up after MaxAttempts
	gaveUp := b.enqueue(Request{To: "+12025550003", Body: "never"})
	got = b.waitStatus(15*time.Second, []string{gaveUp.UID}, "failed")[0]
	if !strings.Contains(got.Error, "gave up after 4 attempts") {
		t.Errorf("error %q", got.Error)
	}

	sm.SetFault(sim.Fault{SendError: 500, SendErrorCount: 1}) // after the PDU: unknown
	unknown := b.enqueue(Request{To: "+12025550004", Body: "maybe"})
	b.waitStatus(10*time.Second, []string{unknown.UID}, "unknown")
	sm.SetFault(sim.Fault{})
	ok := b.enqueue(Request{To: "+12025550005", Body: "fine"})
	b.waitStatus(10*time.Second, []string{ok.UID}, "sent", "delivered")
	time.Sleep(300 * time.Millisecond)
	if m := b.waitStatus(time.Second, []string{unknown.UID}, "unknown")[0]; m.Parts[0].Attempts != 1 {
		t.Fatalf("unknown part was retried: %+v", m.Parts[0])
	}
	// The operator resends it.
	if _, err := b.q.ResendUnknown(context.Background(), unknown.UID); err != nil {
		t.Fatal(err)
	}
	b.waitStatus(10*time.Second, []string{unknown.UID}, "sent", "delivered")

	for _, m := range b.net.Messages() {
		if m.Duplicates > 0 {
			t.Errorf("duplicate at the network: %+v", m)
		}
	}
	if v := testutil.ToFloat64(b.q.m.parts.WithLabelValues("m0", "permanent")); v != 1 {
		t.Errorf("permanent outcomes counted %v", v)
	}
}

func TestIdempotencyKeySendsOnce(t *testing.T) {
	b := newBench(t, benchOpts{})
	r := Request{To: "+12025550010", Body: "exactly once", IdempotencyKey: "order-42"}
	first := b.enqueue(r)
	second, dup, err := b.q.Enqueue(context.Background(), r)
	if err != nil || !dup || second.UID != first.UID {
		t.Fatalf("repeat: %v %v %s", err, dup, second.UID)
	}
	b.waitStatus(10*time.Second, []string{first.UID}, "sent", "delivered")
	time.Sleep(200 * time.Millisecond)
	n := 0
	for _, m := range b.net.Messages() {
		if m.Text == "exactly once" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("network got the message %d times", n)
	}
}

func TestLinesAndFailover(t *testing.T) {
	b := newBench(t, benchOpts{modems: 3, lines: []string{"sales", "sales", "support"}})
	var uids []string
	for i := range 6 {
		uids = append(uids, b.enqueue(Request{To: fmt.Sprintf("+1312555%04d", i), Body: fmt.Sprintf("sales %d", i), Line: "sales"}).UID)
	}
	b.waitStatus(10*time.Second, uids, "sent", "delivered")
	for _, m := range b.net.Messages() {
		if m.Modem == "m2" {
			t.Errorf("a sales message went out on the support modem: %+v", m)
		}
	}
	// One SIM of the line goes away: the other takes its work.
	if err := b.sims[0].Unplug(); err != nil {
		t.Fatal(err)
	}
	waitDown := time.Now().Add(5 * time.Second)
	for b.sess[0].Status().State == modem.StateReady && time.Now().Before(waitDown) {
		time.Sleep(10 * time.Millisecond)
	}
	uids = nil
	for i := range 5 {
		uids = append(uids, b.enqueue(Request{To: fmt.Sprintf("+1212555%04d", i), Body: fmt.Sprintf("failover %d", i), Line: "sales"}).UID)
	}
	for _, m := range b.waitStatus(30*time.Second, uids, "sent", "delivered") {
		if m.Modem != "m1" {
			t.Errorf("message went out on %s, want m1", m.Modem)
		}
	}
}

func TestQuietHoursHoldOnlyAutomated(t *testing.T) {
	now := time.Now()
	start := now.Hour()*60 + now.Minute()
	qh := QuietHours{Start: start, End: (start + 120) % 1440, Location: time.Local}
	b := newBench(t, benchOpts{cfg: Config{QuietHours: qh}})
	auto := b.enqueue(Request{To: "+12025550020", Body: "reminder", Kind: KindAutomated})
	agent := b.enqueue(Request{To: "+12025550021", Body: "reply", Kind: KindAgent})
	b.waitStatus(10*time.Second, []string{agent.UID}, "sent", "delivered")
	time.Sleep(200 * time.Millisecond)
	if m := b.waitStatus(time.Second, []string{auto.UID}, "queued")[0]; m.Parts[0].Attempts != 0 {
		t.Fatalf("automated message was tried in quiet hours: %+v", m)
	}
	if !qh.Active(now) || qh.Active(now.Add(3*time.Hour)) {
		t.Fatal("quiet hours window computed wrong")
	}
}

func TestRateLimitSpacesSends(t *testing.T) {
	b := newBench(t, benchOpts{rate: 600}) // one per 100 ms ±25 %
	var uids []string
	start := time.Now()
	for i := range 5 {
		uids = append(uids, b.enqueue(Request{To: fmt.Sprintf("+1415555%04d", i), Body: "paced"}).UID)
	}
	b.waitStatus(10*time.Second, uids, "sent", "delivered")
	if d := time.Since(start); d < 4*75*time.Millisecond {
		t.Fatalf("5 sends at 600/min took %s; the limit was not applied", d)
	}
}

func TestShutdownFinishesTheSubmission(t *testing.T) {
	lat := sim.LatencyInstant()
	lat.Send = sim.Fixed(700 * time.Millisecond)
	b := newBench(t, benchOpts{latency: lat})
	m := b.enqueue(Request{To: "+12025550030", Body: "in flight at shutdown"})
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := b.db.MessageByUID(context.Background(), m.UID)
		if got.Parts[0].State == store.PartSubmitting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("never saw the part submitting")
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.stop()
	db, err := store.Open(context.Background(), b.db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.MessageByUID(context.Background(), m.UID)
	if err != nil {
		t.Fatal(err)
	}
	// Recorded either way: sent, or already delivered when the status report came in
	// before the sessions stopped. Never left submitting.
	if st := got.Parts[0].State; st != store.PartSent && st != store.PartDelivered {
		t.Fatalf("after shutdown the part is %s, want sent (or delivered)", st)
	}
}

func TestMetricsLint(t *testing.T) {
	b := newBench(t, benchOpts{})
	b.waitStatus(10*time.Second, []string{b.enqueue(Request{To: "+12025550040", Body: "m"}).UID}, "sent", "delivered")
	problems, err := testutil.GatherAndLint(b.reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

func TestOnChangeFollowsDelivery(t *testing.T) {
	b := newBench(t, benchOpts{})
	var mu sync.Mutex
	var seen []string
	b.q.OnChange(func(m store.Message) {
		mu.Lock()
		seen = append(seen, m.Status)
		mu.Unlock()
	})
	m := b.enqueue(Request{To: "+12025550050", Body: "follow me"})
	b.waitStatus(20*time.Second, []string{m.UID}, "delivered")
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		got := strings.Join(seen, ",")
		mu.Unlock()
		// The hook reloads the message after each change, so a report that lands right
		// after "sent" is recorded may make the first call see "delivered" already.
		if strings.HasSuffix(got, "delivered") {
			for _, st := range strings.Split(got, ",") {
				if st != "sent" && st != "delivered" {
					t.Fatalf("changes %q include %q", got, st)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("changes %q, want sent then delivered", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Each modem personality sends, receives and reports delivery end to end.
func TestEndToEndPerPersonality(t *testing.T) {
	for _, name := range sim.PersonalityNames() {
		t.Run(name, func(t *testing.T) {
			p, _ := sim.PersonalityByName(name)
			b := newBench(t, benchOpts{personality: p})
			m := b.enqueue(Request{To: "+12025550061", Body: "hello from " + name + " ✓"})
			b.waitStatus(20*time.Second, []string{m.UID}, "delivered")
			if err := b.net.Phone("+12025550061").Send(b.sims[0].Identity().MSISDN, "reply via "+name, sim.SendOptions{}); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(15 * time.Second)
			for {
				b.mu.Lock()
				got := strings.Join(b.inbound, "|")
				b.mu.Unlock()
				if got == "reply via "+name {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("inbound %q, want the phone's reply", got)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// With national language tables enabled, Turkish text goes in GSM 7-bit and arrives
// intact in fewer parts than UCS-2 would need.
func TestNationalLanguageSend(t *testing.T) {
	tr, _ := sms.LanguageID("turkish")
	b := newBench(t, benchOpts{cfg: Config{NationalLanguages: []int{tr}}})
	text := "Sayın müşterimiz, teknisyenimiz yarın Şişli'deki adresinize gelecek. Teşekkür ederiz."
	if c := b.q.Count(text, false); c.Encoding != sms.GSM7 || c.Segments != 1 || c.NationalShift != tr {
		t.Fatalf("queue count %+v, want one GSM 7-bit part with the Turkish shift table", c)
	}
	if c := sms.Count(text); c.Encoding != sms.UCS2 || c.Segments != 2 {
		t.Fatalf("without tables %+v, want two UCS-2 parts", c)
	}
	m := b.enqueue(Request{To: "+905321234567", Body: text})
	if m.Segments != 1 || m.Encoding != "gsm7" {
		t.Fatalf("enqueued %d part(s) as %s", m.Segments, m.Encoding)
	}
	b.waitStatus(20*time.Second, []string{m.UID}, "sent", "delivered")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := b.net.WaitMessages(ctx, 1)
	if err != nil || got[0].Text != text {
		t.Fatalf("network got %+v (%v), want the Turkish text intact", got, err)
	}
}

// A message pinned to a modem goes only through it, and waits while it is away instead
// of failing over.
func TestModemPin(t *testing.T) {
	b := newBench(t, benchOpts{modems: 2})
	var uids []string
	for i := range 4 {
		uids = append(uids, b.enqueue(Request{To: fmt.Sprintf("+1202555%04d", 300+i), Body: "pinned", Modem: "m1"}).UID)
	}
	for _, m := range b.waitStatus(15*time.Second, uids, "sent", "delivered") {
		if m.Modem != "m1" {
			t.Fatalf("pinned message went out on %s", m.Modem)
		}
	}
	if err := b.sims[1].Unplug(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for b.sess[1].Status().State == modem.StateReady && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	pinned := b.enqueue(Request{To: "+12025550400", Body: "waits for m1", Modem: "m1"})
	free := b.enqueue(Request{To: "+12025550401", Body: "goes on m0"})
	b.waitStatus(15*time.Second, []string{free.UID}, "sent", "delivered")
	time.Sleep(300 * time.Millisecond)
	if m := b.waitStatus(time.Second, []string{pinned.UID}, "queued")[0]; m.Parts[0].Attempts != 0 {
		t.Fatalf("pinned message was tried while its modem was away: %+v", m.Parts[0])
	}
	if _, err := b.sims[1].Replug(); err != nil {
		t.Fatal(err)
	}
	if m := b.waitStatus(20*time.Second, []string{pinned.UID}, "sent", "delivered")[0]; m.Modem != "m1" {
		t.Fatalf("pinned message went out on %s", m.Modem)
	}
}
