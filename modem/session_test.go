package modem

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/smsgw/smsgw/modem/sim"
	"github.com/smsgw/smsgw/sms"
)

// inbox is a test InboundHandler that stores PDUs once each, keyed like the real store
// (IMSI + PDU bytes), and can be told to fail.
type inbox struct {
	mu    sync.Mutex
	seen  map[string]bool
	msgs  []*sms.Message
	raw   []Inbound
	fails int // fail this many calls before succeeding
	calls int
}

func newInbox() *inbox { return &inbox{seen: map[string]bool{}} }

func (b *inbox) handle(_ context.Context, in Inbound) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls++
	if b.fails > 0 {
		b.fails--
		return errors.New("disk full (test)")
	}
	key := in.IMSI + hex.EncodeToString(in.PDU)
	if b.seen[key] {
		return nil // already stored: a crash between store and delete, harmless
	}
	b.seen[key] = true
	m, err := sms.Decode(in.PDU, sms.MT, true)
	if err != nil {
		return fmt.Errorf("test inbox: undecodable PDU: %w", err)
	}
	b.msgs = append(b.msgs, m)
	b.raw = append(b.raw, in)
	return nil
}

func (b *inbox) texts() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.msgs {
		out = append(out, m.Text)
	}
	return out
}

func (b *inbox) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.msgs)
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type rig struct {
	net   *sim.Network
	sm    *sim.Modem
	s     *Session
	inbox *inbox
	reg   *prometheus.Registry
	stop  func()
}

// newRig starts a virtual modem and a session on its pty.
func newRig(t *testing.T, mc sim.ModemConfig, tweak func(*Config)) *rig {
	t.Helper()
	n := sim.NewNetwork(sim.NetworkConfig{})
	if mc.Name == "" {
		mc.Name = "m0"
	}
	if mc.Latency.RingEvery == 0 {
		mc.Latency = sim.LatencyInstant()
	}
	sm, err := n.NewModem(mc)
	if err != nil {
		t.Fatal(err)
	}
	if err := sm.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sm.Close() })
	b := newInbox()
	cfg := Config{
		Name: mc.Name, Port: sm.Path(), CommandTimeout: 2 * time.Second, SendTimeout: 5 * time.Second,
		HealthInterval: 200 * time.Millisecond, SweepInterval: 500 * time.Millisecond,
		ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond,
		QuietTime: 50 * time.Millisecond, TraceLines: 500, USSDTimeout: 3 * time.Second,
		Find: func() []string { return []string{sm.Path()} },
	}
	if tweak != nil {
		tweak(&cfg)
	}
	reg := prometheus.NewRegistry()
	s := NewSession(cfg, nil, b.handle, nil, NewMetrics(reg))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("session did not stop within 10s")
			}
		})
	}
	t.Cleanup(stop)
	return &rig{net: n, sm: sm, s: s, inbox: b, reg: reg, stop: stop}
}

func (r *rig) ready(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := r.s.WaitReady(ctx); err != nil {
		t.Fatalf("%v; status %+v\ntrace:\n%s", err, r.s.Status(), traceText(r.s))
	}
}

func traceText(s *Session) string {
	var b strings.Builder
	_, _ = s.Trace().WriteTo(&b)
	return b.String()
}

func (r *rig) send(t *testing.T, to, text string) ([]int, error) {
	t.Helper()
	pdus, err := sms.EncodeSubmit(to, text, sms.SubmitOptions{Ref: 7})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var mrs []int
	for i, p := range pdus {
		mr, err := r.s.Send(ctx, p, i < len(pdus)-1)
		if err != nil {
			return mrs, err
		}
		mrs = append(mrs, mr)
	}
	return mrs, nil
}

func TestSessionIdentifiesAndPollsHealth(t *testing.T) {
	for _, pers := range []string{"generic", "huawei", "simcom", "quectel", "wavecom"} {
		t.Run(pers, func(t *testing.T) {
			p, ok := sim.PersonalityByName(pers)
			if !ok {
				t.Skipf("simulator has no %s personality", pers)
			}
			r := newRig(t, sim.ModemConfig{Personality: p}, nil)
			r.ready(t)
			id := r.sm.Identity()
			waitFor(t, 5*time.Second, "health poll", func() bool {
				st := r.s.Status()
				return st.Registered && st.SignalDBm < 0 && len(st.Storage) > 0
			})
			st := r.s.Status()
			if st.IMEI != id.IMEI || st.IMSI != id.IMSI || st.ICCID != id.ICCID {
				t.Errorf("identity %s/%s/%s, want %s/%s/%s", st.IMEI, st.IMSI, st.ICCID, id.IMEI, id.IMSI, id.ICCID)
			}
			if st.Manufacturer == "" || st.Model == "" || st.Operator == "" || st.SMSC == "" {
				t.Errorf("incomplete status %+v", st)
			}
		})
	}
}

func TestSessionSendsShortLongAndUnicode(t *testing.T) {
	r := newRig(t, sim.ModemConfig{}, nil)
	r.ready(t)
	texts := []string{
		"Your technician arrives at 10:30.",
		strings.Repeat("A long message that needs several parts. ", 9),
		"Grüße 👋 — ünïcödé ✓",
	}
	for _, text := range texts {
		mrs, err := r.send(t, "+15550001111", text)
		if err != nil {
			t.Fatalf("send %q: %v\n%s", text, err, traceText(r.s))
		}
		if len(mrs) == 0 {
			t.Fatal("no message references")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := r.net.WaitMessages(ctx, len(texts))
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range got {
		if !m.Complete || m.Text != texts[i] || m.Duplicates != 0 {
			t.Errorf("network got %+v, want complete %q without duplicates", m, texts[i])
		}
	}
}

func TestSessionReceivesAndDeletes(t *testing.T) {
	r := newRig(t, sim.ModemConfig{}, nil)
	r.ready(t)
	number := r.sm.Identity().MSISDN
	phone := r.net.Phone("+15557654321")
	long := strings.Repeat("0123456789", 40)
	if err := phone.Send(number, "hello there", sim.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := phone.Send(number, long, sim.SendOptions{Shuffle: true}); err != nil {
		t.Fatal(err)
	}
	parts, _ := sms.EncodeDeliver("+15557654321", long, sms.DeliverOptions{})
	want := 1 + len(parts)
	waitFor(t, 10*time.Second, "inbound PDUs", func() bool { return r.inbox.count() == want })
	waitFor(t, 5*time.Second, "storage emptied", func() bool {
		for _, m := range r.sm.Memories() {
			if m.Used != 0 {
				return false
			}
		}
		return true
	})
	r.inbox.mu.Lock()
	defer r.inbox.mu.Unlock()
	if r.inbox.msgs[0].Text != "hello there" || r.inbox.msgs[0].Address != "+15557654321" {
		t.Errorf("first message %+v", r.inbox.msgs[0])
	}
	joined := append([]*sms.Message(nil), r.inbox.msgs[1:]...)
	sort.Slice(joined, func(i, j int) bool { return joined[i].Concat.Seq < joined[j].Concat.Seq })
	text, err := sms.Reassemble(joined)
	if err != nil || text != long {
		t.Errorf("reassembled %q (%v), want the long text", text, err)
	}
}

func TestSessionSweepsPreloadedStorage(t *testing.T) {
	var preload []sim.Preload
	var want []string
	for i, mem := range []string{"SM", "ME", "SM", "ME"} {
		text := fmt.Sprintf("waiting in %s #%d", mem, i)
		pdus, err := sms.EncodeDeliver("+4915112345678", text, sms.DeliverOptions{SMSC: "+491720000000", Time: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		preload = append(preload, sim.Preload{Memory: mem, Stat: 1, PDU: pdus[0].Bytes})
		want = append(want, text)
	}
	r := newRig(t, sim.ModemConfig{Preload: preload}, nil)
	r.ready(t)
	waitFor(t, 10*time.Second, "preloaded messages", func() bool { return r.inbox.count() == len(want) })
	got := strings.Join(r.inbox.texts(), "|")
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in %q", w, got)
		}
	}
}

func TestSessionKeepsMessageWhenStoringFails(t *testing.T) {
	r := newRig(t, sim.ModemConfig{}, nil)
	r.inbox.mu.Lock()
	r.inbox.fails = 3
	r.inbox.mu.Unlock()
	r.ready(t)
	if err := r.net.Phone("+15550009999").Send(r.sm.Identity().MSISDN, "must not be lost", sim.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "stored after failures", func() bool { return r.inbox.count() == 1 })
	r.inbox.mu.Lock()
	calls := r.inbox.calls
	r.inbox.mu.Unlock()
	if calls < 4 {
		t.Errorf("handler called %d times, want the message retried until stored", calls)
	}
	waitFor(t, 5*time.Second, "deleted after storing", func() bool {
		for _, m := range r.sm.Memories() {
			if m.Used != 0 {
				return false
			}
		}
		return true
	})
}

func TestSessionClassifiesSendErrors(t *testing.T) {
	cases := []struct {
		code    int
		class   Class
		pduSent bool
	}{
		{38, Temporary, true},
		{1, Permanent, true},
		{500, Unknown, true},
		{331, Temporary, true},
		{330, Temporary, true},
		{304, Permanent, true},
	}
	r := newRig(t, sim.ModemConfig{}, nil)
	r.ready(t)
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			r.sm.SetFault(sim.Fault{SendError: tc.code, SendErrorCount: 1})
			_, err := r.send(t, "+15550002222", "x")
			var se *SendError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want *SendError", err)
			}
			if se.Class != tc.class || se.Code != tc.code {
				t.Errorf("code %d class %s, want %d %s (%v)", se.Code, se.Class, tc.code, tc.class, err)
			}
			// The next send works again: one error never wedges the session.
			r.sm.SetFault(sim.Fault{})
			if _, err := r.send(t, "+15550002222", "after"); err != nil {
				t.Fatalf("send after a CMS error: %v", err)
			}
		})
	}
	if !strings.Contains(traceText(r.s), "+CSCA=") {
		t.Error("CMS 330 did not make the session write the SMSC back")
	}
}

func TestSafelyTurnsAPanicIntoAnError(t *testing.T) {
	_, err := safely(func() (*conn, error) { panic("unexpected reply") })
	if err == nil || !strings.Contains(err.Error(), "unexpected reply") {
		t.Fatalf("got %v", err)
	}
}

func TestEveryCMSCodeHasAClass(t *testing.T) {
	for code := 0; code < 1024; code++ {
		class, text := classifyCMS(code)
		if class < Temporary || class > Unknown || text == "" {
			t.Fatalf("code %d: class %v text %q", code, class, text)
		}
	}
	// The RELIABILITY.md list.
	for code, want := range map[int]Class{1: Permanent, 21: Permanent, 50: Permanent, 195: Permanent,
		38: Temporary, 41: Temporary, 42: Temporary, 332: Temporary, 500: Unknown} {
		if got, _ := classifyCMS(code); got != want {
			t.Errorf("CMS %d classified %s, want %s", code, got, want)
		}
	}
}

func TestSessionRecoversFromHang(t *testing.T) {
	r := newRig(t, sim.ModemConfig{}, nil)
	r.ready(t)
	r.sm.SetFault(sim.Fault{Hang: true})
	_, err := r.send(t, "+15550003333", "into the void")
	if err == nil {
		t.Fatal("send to a hung modem succeeded")
	}
	if c := ClassOf(err); c != Unknown && c != Temporary {
		t.Fatalf("class %s, want unknown or temporary", c)
	}
	waitFor(t, 10*time.Second, "hang detected", func() bool { return r.s.Status().State != StateReady })
	// Messages that arrive while the modem hangs are stored once it answers again.
	for i := range 3 {
		if err := r.net.Phone("+15550008888").Send(r.sm.Identity().MSISDN, fmt.Sprintf("during the hang %d", i), sim.SendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	r.sm.SetFault(sim.Fault{})
	r.ready(t)
	waitFor(t, 15*time.Second, "messages sent during the hang", func() bool { return r.inbox.count() == 3 })
	seen := map[string]int{}
	for _, text := range r.inbox.texts() {
		seen[text]++
	}
	for i := range 3 {
		if n := seen[fmt.Sprintf("during the hang %d", i)]; n != 1 {
			t.Errorf("message %d stored %d times", i, n)
		}
	}
	if _, err := r.send(t, "+15550003333", "back again"); err != nil {
		t.Fatalf("send after recovery: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := r.net.Wait(ctx, func(ms []sim.SentMessage) bool {
		for _, m := range ms {
			if m.Text == "back again" {
				return true
			}
		}
		return false
	}); err != nil {
		t.Fatal(err)
	}
}

func TestSessionToleratesGarbageAndNoise(t *testing.T) {
	hw, _ := sim.PersonalityByName("huawei")
	hw.NoiseEvery = 20 * time.Millisecond
	r := newRig(t, sim.ModemConfig{Personality: hw}, nil)
	r.ready(t)
	r.sm.SetFault(sim.Fault{Garbage: true})
	sent := 0
	for i := range 5 {
		if _, err := r.send(t, "+15550004444", fmt.Sprintf("through the noise %d", i)); err == nil {
			sent++
		}
	}
	r.sm.SetFault(sim.Fault{})
	r.ready(t)
	if err := r.net.Phone("+15550004444").Send(r.sm.Identity().MSISDN, "reply through noise", sim.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "inbound after garbage", func() bool { return r.inbox.count() == 1 })
	if sent == 0 {
		t.Errorf("no send got through garbage\n%s", traceText(r.s))
	}
	// Whatever got through was recorded once: no duplicate reached the network.
	for _, m := range r.net.Messages() {
		if m.Duplicates != 0 {
			t.Errorf("duplicate parts in %+v", m)
		}
	}
}

func TestSessionReportsDeregistrationAndFullStorage(t *testing.T) {
	r := newRig(t, sim.ModemConfig{}, nil)
	r.ready(t)
	r.sm.SetFault(sim.Fault{Deregistered: true})
	waitFor(t, 5*time.Second, "deregistration seen", func() bool { return !r.s.Status().Registered })
	_, err := r.send(t, "+15550005555", "no network")
	var se *SendError
	if !errors.As(err, &se) || se.Code != 331 || se.Class != Temporary {
		t.Fatalf("send while deregistered: %v, want CMS 331 temporary", err)
	}
	r.sm.SetFault(sim.Fault{StorageFull: true})
	waitFor(t, 5*time.Second, "registration back and storage full seen", func() bool {
		st := r.s.Status()
		return st.Registered && len(st.StorageFull) > 0
	})
	if got := testutil.ToFloat64(r.s.metrics.registered.WithLabelValues("m0")); got != 1 {
		t.Errorf("registered gauge %v", got)
	}
}

func TestSessionSurvivesUnplugReplug(t *testing.T) {
	r := newRig(t, sim.ModemConfig{}, nil)
	r.ready(t)
	imei := r.sm.Identity().IMEI
	phone := r.net.Phone("+15550006666")
	number := r.sm.Identity().MSISDN
	const cycles = 20
	prev := r.sm.Path()
	for i := range cycles {
		if err := phone.Send(number, fmt.Sprintf("before unplug %d", i), sim.SendOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := r.sm.Unplug(); err != nil {
			t.Fatal(err)
		}
		// Messages sent while the modem is away wait in the network.
		if err := phone.Send(number, fmt.Sprintf("while unplugged %d", i), sim.SendOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, "loss noticed", func() bool { return r.s.Status().State != StateReady })
		path, err := r.sm.Replug()
		if err != nil {
			t.Fatal(err)
		}
		if path == prev {
			t.Fatalf("replug reused the previous path %s", path)
		}
		prev = path
		r.ready(t)
		st := r.s.Status()
		if st.Port != path || st.IMEI != imei {
			t.Fatalf("cycle %d: bound to %s/%s, want %s/%s", i, st.Port, st.IMEI, path, imei)
		}
	}
	waitFor(t, 20*time.Second, "every inbound message", func() bool { return r.inbox.count() == 2*cycles })
	seen := map[string]int{}
	for _, text := range r.inbox.texts() {
		seen[text]++
	}
	for i := range cycles {
		for _, w := range []string{fmt.Sprintf("before unplug %d", i), fmt.Sprintf("while unplugged %d", i)} {
			if seen[w] != 1 {
				t.Errorf("%q stored %d times", w, seen[w])
			}
		}
	}
	if st := r.s.Status(); st.Reconnects < cycles {
		t.Errorf("reconnects %d, want ≥ %d", st.Reconnects, cycles)
	}
	if _, err := r.send(t, "+15550006666", "still sending"); err != nil {
		t.Fatal(err)
	}
}

func TestSessionRefusesAnotherModemOnItsPort(t *testing.T) {
	r := newRig(t, sim.ModemConfig{}, func(c *Config) { c.IMEI = "490154203237518" })
	waitFor(t, 5*time.Second, "wrong modem refused", func() bool {
		st := r.s.Status()
		return st.State == StateAbsent && strings.Contains(st.LastError, "another modem")
	})
}

func TestSessionEntersPINOnce(t *testing.T) {
	t.Run("right PIN", func(t *testing.T) {
		r := newRig(t, sim.ModemConfig{PIN: "4321"}, func(c *Config) { c.PIN = "4321" })
		r.ready(t)
	})
	t.Run("wrong PIN", func(t *testing.T) {
		r := newRig(t, sim.ModemConfig{PIN: "4321"}, func(c *Config) { c.PIN = "1111" })
		waitFor(t, 10*time.Second, "locked state", func() bool { return r.s.Status().State == StateLocked })
		// Force reconnects: the session must not try the PIN again.
		for range 3 {
			_ = r.sm.Unplug()
			if _, err := r.sm.Replug(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		tries := strings.Count(traceText(r.s), `tx AT+CPIN="****"`)
		if tries != 1 {
			t.Fatalf("PIN sent %d times, want exactly 1\n%s", tries, traceText(r.s))
		}
		if strings.Contains(traceText(r.s), "1111") {
			t.Fatal("the trace shows the PIN")
		}
		if st := r.s.Status(); st.State != StateLocked || !strings.Contains(st.LastError, "PIN") {
			t.Fatalf("status %+v", st)
		}
	})
}

func TestSessionUSSD(t *testing.T) {
	r := newRig(t, sim.ModemConfig{}, nil)
	r.net.SetUSSD("*100#", "Your balance is 12.50 EUR")
	r.ready(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rep, err := r.s.USSD(ctx, "*100#")
	if err != nil {
		t.Fatalf("USSD: %v\n%s", err, traceText(r.s))
	}
	if rep.Text != "Your balance is 12.50 EUR" {
		t.Fatalf("USSD text %q", rep.Text)
	}
	if _, err := r.s.USSD(ctx, `*100#"`); err == nil {
		t.Fatal("a USSD code with a quote was accepted")
	}
}

func TestMetricsLint(t *testing.T) {
	r := newRig(t, sim.ModemConfig{}, nil)
	r.ready(t)
	if _, err := r.send(t, "+15550007777", "metrics"); err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.GatherAndLint(r.reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}
