package smsgate

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/android-sms-gateway/client-go/rest"
	"github.com/android-sms-gateway/client-go/smsgateway"

	"github.com/smsgw/smsgw/modem/sim"
)

// verifySignature checks a webhook the way the SMSGate documentation tells receivers
// to: X-Signature must equal hex(HMAC-SHA256(signing key, raw body + X-Timestamp)), and
// the timestamp must be recent.
func verifySignature(t *testing.T, key string, r hookReq) {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(r.Body)
	mac.Write([]byte(r.Timestamp))
	want := hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(r.Signature)) {
		t.Fatalf("%s: X-Signature %q, want %q", r.Env.Event, r.Signature, want)
	}
	var ts int64
	if err := json.Unmarshal([]byte(r.Timestamp), &ts); err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		t.Fatalf("%s: X-Timestamp %q is not a recent Unix time", r.Env.Event, r.Timestamp)
	}
}

// TestClientGoConformance drives every phase-1 method of the real Go client
// (github.com/android-sms-gateway/client-go v1.12.5) against the appliance with a
// virtual modem, plus its phase-2 methods.
func TestClientGoConformance(t *testing.T) {
	lat := sim.LatencyInstant()
	lat.Send = sim.Span{Min: sim.Duration(300 * time.Millisecond), Max: sim.Duration(300 * time.Millisecond)}
	lat.StatusReport = sim.Span{Min: sim.Duration(700 * time.Millisecond), Max: sim.Duration(700 * time.Millisecond)}
	e := newRig(t, lat)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	c := smsgateway.NewClient(smsgateway.Config{BaseURL: e.ts.URL + "/3rdparty/v1", User: "ada", Password: password})
	h := newHook(t)
	key, err := e.api.SigningKey(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// CheckHealth: a JSON number releaseId, checks per modem.
	health, err := c.CheckHealth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if health.Status != smsgateway.HealthStatusPass || health.ReleaseID != 10402 || health.Version != "v1.4.2" {
		t.Errorf("health %+v", health)
	}
	for _, name := range []string{"modem:m0:state", "modem:m0:registered", "modem:m0:signal", "messages:failed", "queue:pending"} {
		if _, ok := health.Checks[name]; !ok {
			t.Errorf("health lacks check %s: %+v", name, health.Checks)
		}
	}

	// ListDevices: one device per modem, a stable 21-character id.
	devs, err := c.ListDevices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 1 || len(devs[0].ID) != 21 || devs[0].Name != "m0" || devs[0].LastSeen.IsZero() {
		t.Fatalf("devices %+v", devs)
	}
	dev := devs[0].ID
	if again, err := c.ListDevices(ctx); err != nil || again[0].ID != dev {
		t.Fatalf("device id changed: %+v %v", again, err)
	}
	// An attached modem's device cannot be deleted.
	if err := c.DeleteDevice(ctx, dev); !errors.Is(err, rest.ErrClient) {
		t.Errorf("delete attached device: %v", err)
	}

	// Webhooks: register (201 echo), list, delete (204).
	var ids []string
	for _, ev := range []string{smsgateway.WebhookEventSmsReceived, smsgateway.WebhookEventSmsSent, smsgateway.WebhookEventSmsDelivered, smsgateway.WebhookEventSmsFailed} {
		wh, err := c.RegisterWebhook(ctx, smsgateway.Webhook{URL: h.srv.URL + "/hook", Event: ev})
		if err != nil {
			t.Fatal(err)
		}
		if wh.ID == "" || wh.Event != ev || wh.URL != h.srv.URL+"/hook" || wh.DeviceID != nil {
			t.Fatalf("registered %+v", wh)
		}
		ids = append(ids, wh.ID)
	}
	if _, err := c.RegisterWebhook(ctx, smsgateway.Webhook{URL: h.srv.URL, Event: smsgateway.WebhookEventMmsReceived}); !errors.Is(err, rest.ErrBadRequest) {
		t.Errorf("mms:received registered: %v", err)
	}
	if _, err := c.RegisterWebhook(ctx, smsgateway.Webhook{ID: "fixed-id", URL: h.srv.URL + "/x", Event: smsgateway.WebhookEventSystemPing, DeviceID: &dev}); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListWebhooks(ctx)
	if err != nil || len(list) != 5 {
		t.Fatalf("webhooks %+v %v", list, err)
	}
	if err := c.DeleteWebhook(ctx, "fixed-id"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteWebhook(ctx, "fixed-id"); err != nil {
		t.Fatalf("delete is idempotent: %v", err)
	}
	if list, err = c.ListWebhooks(ctx); err != nil || len(list) != 4 {
		t.Fatalf("webhooks after delete %+v %v", list, err)
	}

	// Send: 202 with the state (Pending), then GetState through Processed, Sent and
	// Delivered as the virtual network reports.
	st, err := c.Send(ctx, smsgateway.Message{ID: "order-42", TextMessage: &smsgateway.TextMessage{Text: "Your order shipped"},
		PhoneNumbers: []string{customer}})
	if err != nil {
		t.Fatal(err)
	}
	if st.ID != "order-42" || st.State != smsgateway.ProcessingStatePending || len(st.Recipients) != 1 ||
		st.Recipients[0].PhoneNumber != customer || st.Recipients[0].State != smsgateway.ProcessingStatePending || st.DeviceID != dev {
		t.Fatalf("send answered %+v", st)
	}
	if _, ok := st.States["Pending"]; !ok {
		t.Errorf("states %+v", st.States)
	}
	seen := []smsgateway.ProcessingState{st.State}
	waitFor(t, "Delivered", 20*time.Second, func() bool {
		got, err := c.GetState(ctx, "order-42")
		if err != nil {
			t.Fatal(err)
		}
		if got.State != seen[len(seen)-1] {
			seen = append(seen, got.State)
		}
		st = got
		return got.State == smsgateway.ProcessingStateDelivered
	})
	order := []smsgateway.ProcessingState{"Pending", "Processed", "Sent", "Delivered"}
	last := -1
	for _, s := range seen {
		i := slices.Index(order, s)
		if i <= last {
			t.Fatalf("states went %v", seen)
		}
		last = i
	}
	if !slices.Contains(seen, smsgateway.ProcessingStateProcessed) || !slices.Contains(seen, smsgateway.ProcessingStateSent) {
		t.Errorf("GetState saw %v; want Processed and Sent on the way (send and report take 300/700 ms)", seen)
	}
	for _, s := range []string{"Pending", "Processed", "Sent", "Delivered"} {
		if _, ok := st.States[s]; !ok {
			t.Errorf("states lack %s: %v", s, st.States)
		}
	}
	if st.TextMessage == nil || st.TextMessage.Text != "Your order shipped" || st.Recipients[0].State != "Delivered" {
		t.Errorf("final state %+v", st)
	}

	// 409 on a reused id.
	if _, err := c.Send(ctx, smsgateway.Message{ID: "order-42", TextMessage: &smsgateway.TextMessage{Text: "again"},
		PhoneNumbers: []string{customer}}); !errors.Is(err, rest.ErrConflict) {
		t.Fatalf("reused id: %v", err)
	}
	// Validation as upstream: 400.
	ttl := uint64(60)
	until := time.Now().Add(time.Hour)
	if _, err := c.Send(ctx, smsgateway.Message{TextMessage: &smsgateway.TextMessage{Text: "x"}, PhoneNumbers: []string{customer},
		TTL: &ttl, ValidUntil: &until}); !errors.Is(err, rest.ErrBadRequest) {
		t.Errorf("ttl with validUntil: %v", err)
	}
	if _, err := c.Send(ctx, smsgateway.Message{TextMessage: &smsgateway.TextMessage{Text: "x"}, PhoneNumbers: []string{"12"}}); !errors.Is(err, rest.ErrBadRequest) {
		t.Errorf("bad phone: %v", err)
	}
	// skipPhoneValidation and a generated id.
	st2, err := c.Send(ctx, smsgateway.Message{TextMessage: &smsgateway.TextMessage{Text: "no validation"}, PhoneNumbers: []string{customer2}},
		smsgateway.WithSkipPhoneValidation(true), smsgateway.WithDeviceActiveWithin(1))
	if err != nil || len(st2.ID) != 21 {
		t.Fatalf("send with options: %+v %v", st2, err)
	}

	// Webhooks arrive in the upstream envelope, signed as the client docs describe.
	sent := h.wait(t, "sms:sent", func(r hookReq) bool { return contains(r.Env.Payload, "order-42") })
	verifySignature(t, key, sent)
	var sp smsgateway.SmsSentPayload
	if err := json.Unmarshal(sent.Env.Payload, &sp); err != nil || sp.MessageID != "order-42" || sp.PhoneNumber != customer || sp.SentAt.IsZero() {
		t.Errorf("sms:sent payload %s (%v)", sent.Env.Payload, err)
	}
	if sent.Env.DeviceID != dev || sent.Env.ID == "" || !slices.Contains(ids, sent.Env.WebhookID) {
		t.Errorf("sms:sent envelope %+v", sent.Env)
	}
	delivered := h.wait(t, "sms:delivered", func(r hookReq) bool { return contains(r.Env.Payload, "order-42") })
	verifySignature(t, key, delivered)
	var dp smsgateway.SmsDeliveredPayload
	if err := json.Unmarshal(delivered.Env.Payload, &dp); err != nil || dp.DeliveredAt.IsZero() {
		t.Errorf("sms:delivered payload %s (%v)", delivered.Env.Payload, err)
	}

	// An SMS from a customer fires sms:received.
	if err := e.net.Phone(customer).Send(e.sim.Identity().MSISDN, "Is it raining?", sim.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	rcv := h.wait(t, "sms:received", nil)
	verifySignature(t, key, rcv)
	var rp smsgateway.SmsReceivedPayload
	if err := json.Unmarshal(rcv.Env.Payload, &rp); err != nil || rp.Message != "Is it raining?" || rp.PhoneNumber != customer || rp.ReceivedAt.IsZero() {
		t.Errorf("sms:received payload %s (%v)", rcv.Env.Payload, err)
	}
	if rcv.Env.DeviceID != dev {
		t.Errorf("sms:received device %q, want %q", rcv.Env.DeviceID, dev)
	}

	// ExportInbox (202 {}) replays it.
	if err := c.ExportInbox(ctx, smsgateway.MessagesExportRequest{DeviceID: dev, Since: time.Now().Add(-time.Hour), Until: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replayed sms:received", 10*time.Second, func() bool { return h.count("sms:received") >= 2 })

	// Phase 2 through the client: settings, logs and tokens.
	settings, err := c.GetSettings(ctx)
	if err != nil || settings.Webhooks == nil || settings.Webhooks.SigningKey != nil {
		t.Fatalf("settings %+v %v (the signing key is never shown)", settings, err)
	}
	retries, interval := 3, 0
	upd, err := c.UpdateSettings(ctx, smsgateway.DeviceSettings{Webhooks: &smsgateway.SettingsWebhooks{RetryCount: &retries},
		Ping: &smsgateway.SettingsPing{IntervalSeconds: &interval}})
	if err != nil || upd.Webhooks == nil || upd.Webhooks.RetryCount == nil || *upd.Webhooks.RetryCount != 3 {
		t.Fatalf("update settings %+v %v", upd, err)
	}
	if k2, _ := e.api.SigningKey(ctx); k2 != key {
		t.Errorf("PATCH without a signing key changed it")
	}
	if _, err := c.ReplaceSettings(ctx, smsgateway.DeviceSettings{Webhooks: &smsgateway.SettingsWebhooks{RetryCount: &retries}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetLogs(ctx, time.Now().Add(-time.Hour), time.Now()); err != nil {
		t.Fatal(err)
	}
	tok, err := c.GenerateToken(ctx, smsgateway.TokenRequest{Scopes: []string{"messages:send", "messages:read", "devices:list"}, TTL: 600})
	if err != nil || tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != "Bearer" || tok.ID == "" {
		t.Fatalf("token %+v %v", tok, err)
	}
	bearer := smsgateway.NewClient(smsgateway.Config{BaseURL: e.ts.URL + "/3rdparty/v1", Token: tok.AccessToken})
	if _, err := bearer.GetState(ctx, "order-42"); err != nil {
		t.Fatalf("bearer get: %v", err)
	}
	if _, err := bearer.ListWebhooks(ctx); !errors.Is(err, rest.ErrClient) {
		t.Errorf("bearer without webhooks:list: %v", err)
	}
	// RefreshToken of v1.12.5 posts to /auth/refresh.
	fresh, err := bearer.RefreshToken(ctx, tok.RefreshToken)
	if err != nil || fresh.AccessToken == "" || fresh.ID == tok.ID {
		t.Fatalf("refresh %+v %v", fresh, err)
	}
	if _, err := bearer.RefreshToken(ctx, tok.RefreshToken); err == nil {
		t.Error("a refresh token worked twice")
	}
	if _, err := bearer.GetState(ctx, "order-42"); err == nil {
		t.Error("the renewed access token still works")
	}
	if err := c.RevokeToken(ctx, fresh.ID); err != nil {
		t.Fatal(err)
	}
	fc := smsgateway.NewClient(smsgateway.Config{BaseURL: e.ts.URL + "/3rdparty/v1", Token: fresh.AccessToken})
	if _, err := fc.GetState(ctx, "order-42"); err == nil {
		t.Error("a revoked token still works")
	}

	// The same client works on the private-server prefix and the local layout.
	for _, base := range []string{e.ts.URL + "/api/3rdparty/v1", e.local.URL} {
		cl := smsgateway.NewClient(smsgateway.Config{BaseURL: base, User: "ada", Password: password})
		if got, err := cl.GetState(ctx, "order-42"); err != nil || got.State != smsgateway.ProcessingStateDelivered {
			t.Errorf("%s: %+v %v", base, got, err)
		}
	}
}

func contains(b []byte, s string) bool { return bytes.Contains(b, []byte(s)) }
