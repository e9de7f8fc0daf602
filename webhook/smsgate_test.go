package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/store"
)

func TestSignSMSGateMatchesUpstreamRecipe(t *testing.T) {
	body := []byte(`{"event":"sms:received"}`)
	ts := "1700000000"
	mac := hmac.New(sha256.New, []byte("key"))
	mac.Write([]byte(string(body) + ts))
	want := hex.EncodeToString(mac.Sum(nil))
	if got := SignSMSGate("key", body, ts); got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
	now := time.Unix(1700000010, 0)
	if err := VerifySMSGate("key", want, ts, body, time.Minute, now); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ key, sig, ts string }{
		"wrong key": {"other", want, ts},
		"old":       {"key", want, "1699990000"},
		"bad ts":    {"key", want, "x"},
		"bad sig":   {"key", "zz", ts},
	} {
		if err := VerifySMSGate(c.key, c.sig, c.ts, body, time.Minute, now); err == nil {
			t.Errorf("%s: verified", name)
		}
	}
}

func TestSMSGateBackoffDoubles(t *testing.T) {
	want := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second}
	for i, w := range want {
		if got := SMSGateBackoff(SMSGateRetryBase, i+1); got != w {
			t.Errorf("attempt %d: %s, want %s", i+1, got, w)
		}
	}
}

// TestSMSGateFormatDelivery checks an smsgate-format webhook end to end: it gets only
// what Queue hands it (never bus events), signed the upstream way, retried on the
// upstream schedule (on a fake clock) and failed for good after its retry count.
func TestSMSGateFormatDelivery(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "wh.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	clock := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }

	var fail atomic.Bool
	fail.Store(true)
	type hit struct {
		body      string
		sig, ts   string
		ua, event string
	}
	hits := make(chan hit, 100)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hits <- hit{string(b), r.Header.Get(HeaderSMSGateSignature), r.Header.Get(HeaderSMSGateTimestamp), r.UserAgent(), r.Header.Get(HeaderEvent)}
		if fail.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer rcv.Close()

	bus := event.New(64, nil)
	envs := NewEnvelopes(bus, 64)
	svc := New(db, bus, envs, Options{Now: now, Poll: 10 * time.Millisecond})
	w, err := db.SaveWebhook(ctx, store.Webhook{URL: rcv.URL, Secret: "signing-key", Events: []string{"sms:received"},
		Active: true, Format: store.WebhookSMSGate, RetryCount: 2}, now())
	if err != nil {
		t.Fatal(err)
	}
	if w.Format != store.WebhookSMSGate || w.RetryCount != 2 {
		t.Fatalf("stored %+v", w)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = svc.Run(ctx) }()
	defer wg.Wait()
	defer cancel()

	// A bus event is not for this webhook, even with a matching "*"-like list.
	bus.Publish(event.Event{Type: event.MessageReceived, Data: map[string]string{"x": "y"}})
	body := `{"id":"e1","webhookId":"w1","event":"sms:received","deviceId":"d","payload":{}}`
	if err := svc.Queue(ctx, []store.NewDelivery{{WebhookID: w.ID, EventID: "e1", EventType: "sms:received", Payload: body}}); err != nil {
		t.Fatal(err)
	}
	get := func() hit {
		t.Helper()
		select {
		case h := <-hits:
			return h
		case <-time.After(5 * time.Second):
			t.Fatal("no delivery")
		}
		return hit{}
	}
	h := get()
	if h.body != body || h.ts != "1767268800" || h.sig != SignSMSGate("signing-key", []byte(body), h.ts) || h.event != "" || h.ua == "" {
		t.Fatalf("first attempt %+v", h)
	}
	next := func(d time.Duration) {
		mu.Lock()
		clock = clock.Add(d)
		mu.Unlock()
		svc.notify()
	}
	waitDue := func(want time.Time) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			ds, _ := db.Deliveries(ctx, w.ID, 0, 10)
			if len(ds) == 1 && ds[0].State == store.DeliveryPending && ds[0].NextAttemptAt.Equal(want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("delivery not due at %s: %+v", want, ds)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitDue(clock.Add(5 * time.Second))
	next(5 * time.Second)
	get()
	waitDue(clock.Add(10 * time.Second))
	next(10 * time.Second)
	h = get()
	if h.ts != "1767268815" {
		t.Errorf("X-Timestamp of the third attempt %s: it is taken at send time", h.ts)
	}
	// Two retries were allowed: the third attempt was the last.
	deadline := time.Now().Add(5 * time.Second)
	for {
		d, _ := db.Deliveries(ctx, w.ID, 0, 10)
		if len(d) == 1 && d[0].State == store.DeliveryFailed && d[0].Attempts == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not failed after 3 attempts: %+v", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// 2xx is success.
	fail.Store(false)
	if err := svc.Queue(ctx, []store.NewDelivery{{WebhookID: w.ID, EventID: "e2", EventType: "sms:received", Payload: body}}); err != nil {
		t.Fatal(err)
	}
	get()
	deadline = time.Now().Add(5 * time.Second)
	for {
		d, _ := db.Deliveries(ctx, w.ID, 0, 10)
		if len(d) == 2 && d[0].State == store.DeliveryDelivered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not delivered: %+v", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case h := <-hits:
		t.Fatalf("unexpected delivery %+v", h)
	default:
	}
}
