package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSMSGateDevicesAreStablePerIdentity(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	d, err := db.EnsureSMSGateDevice(ctx, "imei:1", "id-one", "m0", "m0", now, now)
	if err != nil || d.ID != "id-one" || !d.LastSeen.Equal(now) {
		t.Fatalf("first: %+v %v", d, err)
	}
	// Same identity under another port name: the id stays; last seen only moves forward.
	d, err = db.EnsureSMSGateDevice(ctx, "imei:1", "id-new", "office", "office", now.Add(-time.Hour), now.Add(time.Minute))
	if err != nil || d.ID != "id-one" || d.Modem != "office" || !d.LastSeen.Equal(now) {
		t.Fatalf("again: %+v %v", d, err)
	}
	if _, err := db.EnsureSMSGateDevice(ctx, "iccid:89", "id-two", "m1", "m1", time.Time{}, now); err != nil {
		t.Fatal(err)
	}
	ds, err := db.SMSGateDevices(ctx)
	if err != nil || len(ds) != 2 || !ds[1].LastSeen.IsZero() {
		t.Fatalf("list: %+v %v", ds, err)
	}
	if err := db.DeleteSMSGateDevice(ctx, "id-two"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteSMSGateDevice(ctx, "id-two"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestSMSGateMessagesAndRecipients(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	for i, id := range []string{"a", "b", "c"} {
		m := SMSGateMessage{ID: id, Text: "hi", WithReport: true, State: "Pending", States: map[string]time.Time{"Pending": t0},
			CreatedAt:  t0.Add(time.Duration(i) * time.Minute),
			Recipients: []SMSGateRecipient{{Idx: 0, Phone: "+1", OutboxUID: "u" + id, State: "Pending"}, {Idx: 1, Phone: "+2", OutboxUID: "v" + id, State: "Pending"}}}
		if err := db.InsertSMSGateMessage(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.InsertSMSGateMessage(ctx, SMSGateMessage{ID: "a", CreatedAt: t0}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("reused id: %v", err)
	}
	page, total, err := db.SMSGateMessages(ctx, SMSGateMessageFilter{Limit: 2})
	if err != nil || total != 3 || len(page) != 2 || page[0].ID != "c" || len(page[0].Recipients) != 2 {
		t.Fatalf("page: %+v %d %v", page, total, err)
	}
	page, _, _ = db.SMSGateMessages(ctx, SMSGateMessageFilter{Oldest: true, Offset: 1, Limit: 1})
	if len(page) != 1 || page[0].ID != "b" {
		t.Fatalf("oldest, offset 1: %+v", page)
	}
	moved, err := db.AdvanceSMSGateRecipient(ctx, "a", 1, "Pending", "Sent", t0)
	if err != nil || !moved {
		t.Fatal(moved, err)
	}
	if moved, _ := db.AdvanceSMSGateRecipient(ctx, "a", 1, "Pending", "Sent", t0); moved {
		t.Fatal("a transition moved twice")
	}
	if err := db.SetSMSGateMessageState(ctx, "a", "dev", "Sent", map[string]time.Time{"Pending": t0, "Sent": t0.Add(time.Second)}, t0); err != nil {
		t.Fatal(err)
	}
	m, err := db.SMSGateMessageByID(ctx, "a")
	if err != nil || m.State != "Sent" || m.DeviceID != "dev" || m.Recipients[1].State != "Sent" || !m.States["Sent"].Equal(t0.Add(time.Second)) {
		t.Fatalf("message: %+v %v", m, err)
	}
	if id, err := db.SMSGateMessageOfOutbox(ctx, "vb"); err != nil || id != "b" {
		t.Fatalf("of outbox: %q %v", id, err)
	}
	_, total, _ = db.SMSGateMessages(ctx, SMSGateMessageFilter{State: "Sent"})
	if total != 1 {
		t.Fatalf("state filter: %d", total)
	}
	open, err := db.OpenSMSGateMessages(ctx, t0.Add(-time.Hour), t0.Add(-time.Hour), 10)
	if err != nil || len(open) != 3 {
		t.Fatalf("open: %v %v", open, err)
	}
	// A recipient Sent long ago no longer keeps its message open; a Pending one does.
	if open, _ = db.OpenSMSGateMessages(ctx, t0.Add(-time.Hour), t0.Add(time.Hour), 10); len(open) != 3 {
		t.Fatalf("open without old Sent: %v", open)
	}
	if _, err := db.AdvanceSMSGateRecipient(ctx, "a", 0, "Pending", "Sent", t0); err != nil {
		t.Fatal(err)
	}
	if open, _ = db.OpenSMSGateMessages(ctx, t0.Add(-time.Hour), t0.Add(time.Hour), 10); len(open) != 2 {
		t.Fatalf("a message whose recipients are all Sent long ago: %v", open)
	}
}

func TestSMSGateWebhooksAndTokens(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t)
	now := time.Now()
	h, err := db.SaveSMSGateWebhook(ctx, SMSGateWebhook{ID: "w", URL: "https://a", Event: "sms:sent"}, "key", 15, 0, now)
	if err != nil || h.WebhookID == 0 {
		t.Fatal(h, err)
	}
	h2, err := db.SaveSMSGateWebhook(ctx, SMSGateWebhook{ID: "w", URL: "https://b", Event: "sms:received", DeviceID: "d"}, "key", 15, 0, now)
	if err != nil || h2.WebhookID != h.WebhookID {
		t.Fatal(h2, err)
	}
	if err := db.SetSMSGateWebhookPolicy(ctx, "key2", 3); err != nil {
		t.Fatal(err)
	}
	w, err := db.Webhook(ctx, h.WebhookID)
	if err != nil || w.Format != WebhookSMSGate || w.Secret != "key2" || w.RetryCount != 3 || w.URL != "https://b" {
		t.Fatalf("webhook row: %+v %v", w, err)
	}
	hs, _ := db.SMSGateWebhooks(ctx)
	if len(hs) != 1 || hs[0].DeviceID != "d" || hs[0].Event != "sms:received" {
		t.Fatalf("list: %+v", hs)
	}
	if err := db.DeleteSMSGateWebhook(ctx, "w"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteSMSGateWebhook(ctx, "w"); err != nil {
		t.Fatal("delete is idempotent:", err)
	}
	if _, err := db.Webhook(ctx, h.WebhookID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("webhook row kept: %v", err)
	}

	u, err := db.CreateUser(ctx, NewUser{Username: "u", Role: "admin", PasswordHash: "$x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range []SMSGateToken{
		{JTI: "acc", UserID: u.ID, Kind: "access", Scopes: []string{"all:any"}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
		{JTI: "ref", UserID: u.ID, Kind: "refresh", Parent: "acc", Scopes: []string{"all:any"}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
	} {
		if err := db.AddSMSGateToken(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.UseSMSGateRefreshToken(ctx, "acc", now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an access token spent as refresh: %v", err)
	}
	if err := db.UseSMSGateRefreshToken(ctx, "ref", now); err != nil {
		t.Fatal(err)
	}
	if err := db.UseSMSGateRefreshToken(ctx, "ref", now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("spent twice: %v", err)
	}
	if tk, _ := db.SMSGateTokenByJTI(ctx, "acc"); tk.RevokedAt.IsZero() {
		t.Fatal("refreshing did not retire the old access token")
	}
	if err := db.RevokeSMSGateToken(ctx, "acc", u.ID+1, now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("someone else's token: %v", err)
	}
}
