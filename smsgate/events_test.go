package smsgate

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/modem/sim"
)

// TestFailedCancelledAndPingWebhooks: a permanent failure in the status report fires
// sms:failed with the SC status as reason, a cancel fires sms:cancelled, and system:ping
// follows ping.interval_seconds.
func TestFailedCancelledAndPingWebhooks(t *testing.T) {
	e := newRig(t, sim.LatencyInstant())
	admin := basic("ada", password)
	main := e.ts.URL + "/3rdparty/v1"
	h := newHook(t)
	for _, ev := range []string{"sms:failed", "sms:cancelled", "system:ping"} {
		if r := e.do(main, "POST", "/webhooks", admin, map[string]any{"url": h.srv.URL, "event": ev}); r.Status != 201 {
			t.Fatalf("register %s: %d %s", ev, r.Status, r.Body)
		}
	}
	e.net.SetReportStatus(customer2, 0x41)
	if r := e.do(main, "POST", "/messages", admin, map[string]any{"id": "doomed", "message": "x", "phoneNumbers": []string{customer2}}); r.Status != 202 {
		t.Fatalf("send: %d %s", r.Status, r.Body)
	}
	failed := h.wait(t, "sms:failed", nil)
	var fp struct {
		MessageID string    `json:"messageId"`
		Reason    string    `json:"reason"`
		FailedAt  time.Time `json:"failedAt"`
	}
	if err := json.Unmarshal(failed.Env.Payload, &fp); err != nil || fp.MessageID != "doomed" ||
		fp.Reason != "delivery report: SC status 0x41" || fp.FailedAt.IsZero() {
		t.Errorf("sms:failed payload %s", failed.Env.Payload)
	}
	var st messageState
	e.do(main, "GET", "/messages/doomed", admin, nil).json(t, &st)
	if st.State != "Failed" || st.Recipients[0].Error == nil || !strings.Contains(*st.Recipients[0].Error, "0x41") {
		t.Errorf("failed message %+v", st)
	}

	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	e.do(main, "POST", "/messages", admin, map[string]any{"id": "maybe", "message": "x", "phoneNumbers": []string{customer}, "scheduleAt": later})
	if r := e.do(main, "DELETE", "/messages/maybe", admin, nil); r.Status != 200 {
		t.Fatalf("cancel: %d", r.Status)
	}
	h.wait(t, "sms:cancelled", func(r hookReq) bool { return strings.Contains(string(r.Env.Payload), "maybe") })
	time.Sleep(300 * time.Millisecond)
	if n := h.count("sms:cancelled"); n != 1 {
		t.Errorf("sms:cancelled fired %d times", n)
	}

	if h.count("system:ping") != 0 {
		t.Fatal("ping without an interval")
	}
	if r := e.do(main, "PATCH", "/settings", admin, map[string]any{"ping": map[string]any{"interval_seconds": 1}}); r.Status != 200 {
		t.Fatalf("settings: %d %s", r.Status, r.Body)
	}
	ping := h.wait(t, "system:ping", nil)
	var pp struct {
		Health healthResponse `json:"health"`
	}
	if err := json.Unmarshal(ping.Env.Payload, &pp); err != nil || pp.Health.ReleaseID == 0 || len(pp.Health.Checks) == 0 {
		t.Errorf("system:ping payload %s", ping.Env.Payload)
	}
}
