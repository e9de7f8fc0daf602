package smsgate

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/modem/sim"
	"github.com/smsgw/smsgw/queue"
)

// TestHTTPSurface covers what the Go client does not: singular aliases, the local
// layout, X-Total-Count, Location, cancel, inbox, token refresh spellings, and the
// error and empty-body rules (every answer passes checkShape).
func TestHTTPSurface(t *testing.T) {
	e := newRig(t, sim.LatencyInstant())
	admin := basic("ada", password)
	main := e.ts.URL + "/3rdparty/v1"

	t.Run("auth", func(t *testing.T) {
		r := e.do(main, "GET", "/messages", "", nil)
		if r.Status != 401 || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("no credentials: %d %v", r.Status, r.Header)
		}
		if r := e.do(main, "GET", "/messages", basic("ada", "wrong password!"), nil); r.Status != 401 {
			t.Errorf("wrong password: %d", r.Status)
		}
		if r := e.do(main, "GET", "/messages", "Basic !!!", nil); r.Status != 401 {
			t.Errorf("bad base64: %d", r.Status)
		}
		if r := e.do(main, "GET", "/messages", "Bearer not.a.jwt", nil); r.Status != 401 {
			t.Errorf("bad bearer: %d", r.Status)
		}
		// Health needs none, and ignores an Authorization header.
		if r := e.do(main, "GET", "/health", "Basic garbage", nil); r.Status != 200 {
			t.Errorf("health: %d %s", r.Status, r.Body)
		}
		for _, p := range []string{"/health/live", "/health/ready", "/health/startup"} {
			if r := e.do(main, "GET", p, "", nil); r.Status != 200 {
				t.Errorf("%s: %d", p, r.Status)
			}
		}
		// A viewer may read but not send or manage webhooks: 403 naming the scope.
		viewer := basic("vic", password)
		if r := e.do(main, "GET", "/messages", viewer, nil); r.Status != 200 {
			t.Errorf("viewer list: %d", r.Status)
		}
		r = e.do(main, "POST", "/messages", viewer, map[string]any{"textMessage": map[string]string{"text": "x"}, "phoneNumbers": []string{customer}})
		if r.Status != 403 || !strings.Contains(string(r.Body), "scope required: messages:send") {
			t.Errorf("viewer send: %d %s", r.Status, r.Body)
		}
	})

	t.Run("send and aliases", func(t *testing.T) {
		body := map[string]any{"id": "ha-1", "textMessage": map[string]string{"text": "Garage door open"},
			"phoneNumbers": []string{customer}, "priority": 100, "ttl": 3600, "simNumber": 1, "someFutureField": true}
		// The Home Assistant integration: POST /messages?skipPhoneValidation=true, 202 exactly, id from Location.
		r := e.do(main, "POST", "/messages?skipPhoneValidation=true", admin, body)
		if r.Status != 202 || r.Header.Get("Location") != "/3rdparty/v1/messages/ha-1" {
			t.Fatalf("send: %d %v %s", r.Status, r.Header.Get("Location"), r.Body)
		}
		var st messageState
		r.json(t, &st)
		if st.State != "Pending" || st.TextMessage == nil || st.IsHashed || st.IsEncrypted {
			t.Errorf("send body %s", r.Body)
		}
		// The bare trailing "?" the Go client sends.
		r = e.do(main, "POST", "/message?", admin, map[string]any{"message": "legacy field", "phoneNumbers": []string{customer2}})
		if r.Status != 202 || !strings.HasPrefix(r.Header.Get("Location"), "/3rdparty/v1/messages/") {
			t.Fatalf("singular send: %d %s", r.Status, r.Body)
		}
		for _, p := range []string{"/messages/ha-1", "/message/ha-1"} {
			if r := e.do(main, "GET", p, admin, nil); r.Status != 200 {
				t.Errorf("%s: %d", p, r.Status)
			}
		}
		if r := e.do(main, "GET", "/messages/nope", admin, nil); r.Status != 404 {
			t.Errorf("unknown id: %d", r.Status)
		}
		// Private-server prefix and local layout reach the same message.
		if r := e.do(e.ts.URL+"/api/3rdparty/v1", "GET", "/message/ha-1", admin, nil); r.Status != 200 {
			t.Errorf("private prefix: %d", r.Status)
		}
		r = e.do(e.local.URL, "POST", "/message", admin, map[string]any{"textMessage": map[string]string{"text": "local"}, "phoneNumbers": []string{customer}})
		if r.Status != 202 || !strings.HasPrefix(r.Header.Get("Location"), "/messages/") {
			t.Errorf("local send: %d %s %s", r.Status, r.Header.Get("Location"), r.Body)
		}
		for _, p := range []string{"/device", "/devices", "/webhook", "/webhooks", "/health", "/inbox", "/settings", "/logs"} {
			if r := e.do(e.local.URL, "GET", p, admin, nil); r.Status != 200 {
				t.Errorf("local %s: %d %s", p, r.Status, r.Body)
			}
		}
		if r := e.do(main, "GET", "/device", admin, nil); r.Status != 200 {
			t.Errorf("/device: %d", r.Status)
		}
	})

	t.Run("validation", func(t *testing.T) {
		future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		cases := []struct {
			name   string
			body   any
			status int
			msg    string
		}{
			{"no text", map[string]any{"phoneNumbers": []string{customer}}, 400, "exactly one of"},
			{"two texts", map[string]any{"message": "a", "textMessage": map[string]string{"text": "b"}, "phoneNumbers": []string{customer}}, 400, "exactly one of"},
			{"no numbers", map[string]any{"message": "a", "phoneNumbers": []string{}}, 400, "phoneNumbers"},
			{"bad number", map[string]any{"message": "a", "phoneNumbers": []string{customer, "banana"}}, 400, "failed to use phone in row 2"},
			{"duplicate after normalisation", map[string]any{"message": "a", "phoneNumbers": []string{customer, "(201) 555-0123"}}, 400, "duplicate of row 1"},
			{"ttl and validUntil", map[string]any{"message": "a", "phoneNumbers": []string{customer}, "ttl": 60, "validUntil": future}, 400, "mutually exclusive"},
			{"scheduleAt in the past", map[string]any{"message": "a", "phoneNumbers": []string{customer}, "scheduleAt": past}, 400, "scheduleAt"},
			{"unknown device", map[string]any{"message": "a", "phoneNumbers": []string{customer}, "deviceId": "nope"}, 400, "deviceId"},
			{"encrypted", map[string]any{"message": "a", "phoneNumbers": []string{customer}, "isEncrypted": true}, 501, "encrypted"},
			{"data message", map[string]any{"dataMessage": map[string]any{"data": "aGk=", "port": 53739}, "phoneNumbers": []string{customer}}, 501, "data"},
			{"bad json", "{", 400, "JSON"},
			{"wrong type", map[string]any{"message": 5, "phoneNumbers": []string{customer}}, 400, "message"},
		}
		for _, c := range cases {
			r := e.do(main, "POST", "/messages", admin, c.body)
			if r.Status != c.status || !strings.Contains(string(r.Body), c.msg) {
				t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
			}
		}
		if r := e.do(main, "POST", "/messages", admin, strings.Repeat(" ", 2<<20)); r.Status != 413 {
			t.Errorf("huge body: %d", r.Status)
		}
	})

	t.Run("list", func(t *testing.T) {
		r := e.do(main, "GET", "/messages?limit=2&offset=0", admin, nil)
		n, err := strconv.Atoi(r.Header.Get("X-Total-Count"))
		if r.Status != 200 || err != nil || n < 3 {
			t.Fatalf("list: %d %q %s", r.Status, r.Header.Get("X-Total-Count"), r.Body)
		}
		var page []messageState
		r.json(t, &page)
		if len(page) != 2 || page[0].TextMessage != nil {
			t.Errorf("page %s (content only with includeContent)", r.Body)
		}
		r = e.do(main, "GET", "/messages?limit=1&includeContent=true&sort=created_at", admin, nil)
		r.json(t, &page)
		if len(page) != 1 || page[0].ID != "ha-1" || page[0].TextMessage == nil {
			t.Errorf("oldest first with content: %s", r.Body)
		}
		r = e.do(main, "GET", "/messages?state=Failed", admin, nil)
		if r.Header.Get("X-Total-Count") != "0" || string(r.Body) != "[]\n" {
			t.Errorf("empty list: %q %q", r.Header.Get("X-Total-Count"), r.Body)
		}
		for _, q := range []string{"limit=0", "limit=101", "offset=-1", "state=Bogus", "from=yesterday", "sort=id"} {
			if r := e.do(main, "GET", "/messages?"+q, admin, nil); r.Status != 400 {
				t.Errorf("%s: %d", q, r.Status)
			}
		}
	})

	t.Run("cancel", func(t *testing.T) {
		later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		r := e.do(main, "POST", "/messages", admin, map[string]any{"id": "later", "message": "tomorrow", "phoneNumbers": []string{customer, customer2},
			"scheduleAt": later})
		if r.Status != 202 {
			t.Fatalf("scheduled send: %d %s", r.Status, r.Body)
		}
		for range 2 { // cancelling a cancelled message returns it
			r = e.do(main, "DELETE", "/messages/later", admin, nil)
			var st messageState
			r.json(t, &st)
			if r.Status != 200 || st.State != "Cancelled" || st.Recipients[0].State != "Cancelled" || st.States["Cancelled"].IsZero() {
				t.Fatalf("cancel: %d %s", r.Status, r.Body)
			}
		}
		waitFor(t, "ha-1 sent", 10*time.Second, func() bool {
			var st messageState
			e.do(main, "GET", "/messages/ha-1", admin, nil).json(t, &st)
			return st.State == "Sent" || st.State == "Delivered"
		})
		if r := e.do(main, "DELETE", "/message/ha-1", admin, nil); r.Status != 409 {
			t.Errorf("cancel sent: %d %s", r.Status, r.Body)
		}
		if r := e.do(main, "DELETE", "/messages/nope", admin, nil); r.Status != 404 {
			t.Errorf("cancel unknown: %d", r.Status)
		}
	})

	t.Run("inbox", func(t *testing.T) {
		for i := range 3 {
			if err := e.net.Phone(customer).Send(e.sim.Identity().MSISDN, fmt.Sprintf("hello %d", i), sim.SendOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		var list []incomingMessage
		waitFor(t, "three inbound messages", 10*time.Second, func() bool {
			r := e.do(main, "GET", "/inbox?limit=2", admin, nil)
			r.json(t, &list)
			return r.Header.Get("X-Total-Count") == "3"
		})
		if len(list) != 2 || !strings.HasPrefix(list[0].ContentPreview, "hello ") || list[0].Sender != customer || list[0].Type != "SMS" || list[0].DeviceID == "" {
			t.Errorf("inbox %+v", list)
		}
		r := e.do(main, "GET", "/inbox?type=MMS", admin, nil)
		if r.Header.Get("X-Total-Count") != "0" {
			t.Errorf("MMS inbox: %s", r.Body)
		}
		since, until := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		for _, p := range []string{"/inbox/refresh", "/inbox/export", "/messages/inbox/export"} {
			r := e.do(main, "POST", p, admin, map[string]any{"since": since, "until": until})
			if r.Status != 202 || strings.TrimSpace(string(r.Body)) != "{}" {
				t.Errorf("%s: %d %q", p, r.Status, r.Body)
			}
		}
		if r := e.do(main, "POST", "/inbox/refresh", admin, map[string]any{"since": until, "until": since}); r.Status != 400 {
			t.Errorf("since after until: %d", r.Status)
		}
		if r := e.do(main, "POST", "/inbox/refresh", admin, map[string]any{"since": since, "until": until, "webhookDelivery": "Batch"}); r.Status != 501 {
			t.Errorf("batch: %d", r.Status)
		}
	})

	t.Run("tokens", func(t *testing.T) {
		r := e.do(main, "POST", "/auth/token", admin, map[string]any{"scopes": []string{"messages:read"}, "ttl": 60})
		var tok tokenResponse
		r.json(t, &tok)
		if r.Status != 201 || tok.AccessToken == "" {
			t.Fatalf("token: %d %s", r.Status, r.Body)
		}
		if r := e.do(main, "GET", "/messages/ha-1", "Bearer "+tok.AccessToken, nil); r.Status != 200 {
			t.Errorf("access token: %d", r.Status)
		}
		if r := e.do(main, "GET", "/devices", "Bearer "+tok.AccessToken, nil); r.Status != 403 {
			t.Errorf("missing scope: %d", r.Status)
		}
		if r := e.do(main, "POST", "/auth/token/refresh", "Bearer "+tok.AccessToken, nil); r.Status != 403 {
			t.Errorf("refresh with an access token: %d", r.Status)
		}
		if r := e.do(main, "POST", "/auth/token/refresh", admin, nil); r.Status != 403 {
			t.Errorf("refresh with Basic: %d", r.Status)
		}
		if r := e.do(main, "GET", "/messages/ha-1", "Bearer "+tok.RefreshToken, nil); r.Status != 403 {
			t.Errorf("a refresh token used as access token: %d", r.Status)
		}
		// Both refresh spellings (client-go v1.13+ and up to v1.12.10).
		cur := tok
		for _, p := range []string{"/auth/token/refresh", "/auth/refresh"} {
			r := e.do(main, "POST", p, "Bearer "+cur.RefreshToken, nil)
			var next tokenResponse
			r.json(t, &next)
			if r.Status != 201 || next.AccessToken == "" {
				t.Fatalf("%s: %d %s", p, r.Status, r.Body)
			}
			cur = next
		}
		if r := e.do(main, "GET", "/messages/ha-1", "Bearer "+cur.AccessToken, nil); r.Status != 200 {
			t.Errorf("renewed token: %d", r.Status)
		}
		if r := e.do(main, "POST", "/auth/token", basic("vic", password), map[string]any{"scopes": []string{"messages:send"}}); r.Status != 403 {
			t.Errorf("a viewer granting messages:send: %d", r.Status)
		}
		if r := e.do(main, "POST", "/auth/token", admin, map[string]any{"scopes": []string{"nonsense"}}); r.Status != 400 {
			t.Errorf("unknown scope: %d", r.Status)
		}
		if r := e.do(main, "DELETE", "/auth/token/"+cur.ID, admin, nil); r.Status != 204 {
			t.Errorf("revoke: %d", r.Status)
		}
		if r := e.do(main, "GET", "/messages/ha-1", "Bearer "+cur.AccessToken, nil); r.Status != 401 {
			t.Errorf("revoked token: %d", r.Status)
		}
	})

	t.Run("webhooks and settings", func(t *testing.T) {
		r := e.do(main, "POST", "/webhooks", admin, map[string]any{"url": "ftp://example.com", "event": "sms:received"})
		if r.Status != 400 {
			t.Errorf("ftp url: %d", r.Status)
		}
		r = e.do(main, "POST", "/webhook", admin, map[string]any{"id": "w1", "url": "https://example.com/a", "event": "sms:received"})
		if r.Status != 201 {
			t.Fatalf("register: %d %s", r.Status, r.Body)
		}
		r = e.do(main, "POST", "/webhooks", admin, map[string]any{"id": "w1", "url": "https://example.com/b", "event": "sms:sent"})
		var wh webhookJSON
		r.json(t, &wh)
		if r.Status != 201 || wh.URL != "https://example.com/b" {
			t.Fatalf("replace: %d %s", r.Status, r.Body)
		}
		var all []webhookJSON
		e.do(main, "GET", "/webhooks", admin, nil).json(t, &all)
		if len(all) != 1 || all[0].Event != "sms:sent" {
			t.Errorf("after replace: %+v", all)
		}
		for _, ev := range []string{"mms:received", "sms:batch:received", "app:started", ""} {
			if r := e.do(main, "POST", "/webhooks", admin, map[string]any{"url": "https://example.com", "event": ev}); r.Status != 400 {
				t.Errorf("event %q: %d", ev, r.Status)
			}
		}
		if r := e.do(main, "DELETE", "/webhook/w1", admin, nil); r.Status != 204 || len(r.Body) != 0 {
			t.Errorf("delete: %d %q", r.Status, r.Body)
		}
		r = e.do(main, "PATCH", "/settings", admin, map[string]any{"messages": map[string]any{"limit_period": "PerHour", "limit_value": 10},
			"gateway": map[string]any{"cloud_url": "https://x"}, "encryption": map[string]any{"passphrase": "p"}, "webhooks": map[string]any{"signing_key": "s3cret"}})
		if r.Status != 200 || strings.Contains(string(r.Body), "s3cret") || strings.Contains(string(r.Body), "gateway") {
			t.Errorf("patch settings: %d %s", r.Status, r.Body)
		}
		if k, _ := e.api.SigningKey(e.ctx); k != "s3cret" {
			t.Errorf("signing key %q", k)
		}
		r = e.do(main, "GET", "/settings", admin, nil)
		var s Settings
		r.json(t, &s)
		if s.Messages == nil || *s.Messages.LimitValue != 10 || s.Webhooks.SigningKey != nil {
			t.Errorf("settings %s", r.Body)
		}
		// The send intervals and the limit pace the queue's modems.
		r = e.do(main, "PATCH", "/settings", admin, map[string]any{"messages": map[string]any{"send_interval_min": 2, "send_interval_max": 5}})
		if r.Status != 200 {
			t.Errorf("patch intervals: %d %s", r.Status, r.Body)
		}
		if p := e.q.Pacing(); p.Limit != 10 || p.Period != time.Hour || p.IntervalMin != 2*time.Second || p.IntervalMax != 5*time.Second {
			t.Errorf("queue pacing %+v, want 10 per hour, 2-5 s apart", p)
		}
		if r := e.do(main, "PATCH", "/settings", admin, map[string]any{"messages": map[string]any{"limit_period": "Disabled",
			"send_interval_min": 0, "send_interval_max": 0}}); r.Status != 200 {
			t.Errorf("patch disabled: %d", r.Status)
		}
		if p := e.q.Pacing(); p != (queue.Pacing{}) {
			t.Errorf("pacing after disabling: %+v", p)
		}
		if r := e.do(main, "PATCH", "/settings", admin, map[string]any{"messages": map[string]any{"limit_period": "Sometimes"}}); r.Status != 400 {
			t.Errorf("bad limit_period: %d", r.Status)
		}
		if r := e.do(main, "PATCH", "/settings", basic("vic", password), map[string]any{}); r.Status != 403 {
			t.Errorf("viewer settings: %d", r.Status)
		}
	})

	t.Run("unknown paths and methods", func(t *testing.T) {
		if r := e.do(main, "GET", "/nothing/here", admin, nil); r.Status != 404 {
			t.Errorf("unknown path: %d", r.Status)
		}
		if r := e.do(main, "PUT", "/messages", admin, nil); r.Status != 405 {
			t.Errorf("wrong method: %d", r.Status)
		}
		if r := e.do(main, "GET", "/inbox/x/attachments/1", admin, nil); r.Status != 501 {
			t.Errorf("attachments: %d", r.Status)
		}
		if r := e.do(e.local.URL, "GET", "/api/v1/messages", admin, nil); r.Status != 404 {
			t.Errorf("native API on the local listener: %d", r.Status)
		}
	})
}

// TestBasicCache checks that a verified password is remembered (no bcrypt per
// request) only under the exact credentials.
func TestBasicCache(t *testing.T) {
	c := newBasicCache(4)
	now := time.Now()
	k := c.mac("ada", "pw")
	c.put(k, 7, now)
	if id, ok := c.get(k, now.Add(time.Second)); !ok || id != 7 {
		t.Fatal("not cached")
	}
	if _, ok := c.get(c.mac("ada", "pw2"), now); ok {
		t.Fatal("other password hit the cache")
	}
	if _, ok := c.get(c.mac("ad", "apw"), now); ok {
		t.Fatal("shifted credentials hit the cache")
	}
	if _, ok := c.get(k, now.Add(basicTTL+time.Second)); ok {
		t.Fatal("expired entry hit the cache")
	}
}

func TestJWTRejectsTampering(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Now()
	tok, err := signJWT(key, claims{Issuer: jwtIssuer, Subject: "1", ExpiresAt: now.Add(time.Minute).Unix(), ID: "j", Scopes: []string{"all:any"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseJWT(key, tok, now); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	none := `{"alg":"none","typ":"JWT"}`
	for name, bad := range map[string]string{
		"other key": tok,
		"expired":   tok,
		"alg none":  strings.Join([]string{b64(none), parts[1], ""}, "."),
		"tampered":  parts[0] + "." + b64(`{"iss":"smsgw-smsgate","sub":"2","exp":9999999999,"jti":"j"}`) + "." + parts[2],
		"garbage":   "a.b.c",
	} {
		k, at := key, now
		switch name {
		case "other key":
			k = []byte("another key of enough length....")
		case "expired":
			at = now.Add(2 * time.Minute)
		}
		if _, err := parseJWT(k, bad, at); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
