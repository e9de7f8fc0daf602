package api

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smsgw/smsgw/server"
	"github.com/smsgw/smsgw/store"
)

// start opens an outbound conversation with a text (queued: no modems) and returns it.
func (e *testEnv) start(to, body string) store.Conversation {
	e.t.Helper()
	r := e.do("POST", "/api/v1/conversations", e.tok["admin"], map[string]string{"to": to, "line": lineName, "body": body})
	if r.Status != 201 && r.Status != 200 {
		e.t.Fatalf("start %s: %d %s", to, r.Status, r.Body)
	}
	var out struct {
		Conversation store.Conversation `json:"conversation"`
	}
	r.json(e.t, &out)
	if out.Conversation.ID == 0 {
		e.t.Fatalf("start %s: %s", to, r.Body)
	}
	return out.Conversation
}

func TestDeleteContactRoute(t *testing.T) {
	e := newEnv(t, false)
	c := e.start("+12025550111", "Your technician is on the way")
	path := "/api/v1/contacts/" + itos(c.ContactID)

	for _, tc := range []struct {
		name, tok, query string
		status           int
		code             string
	}{
		{"viewer lacks the scope", "viewer", "?force=true", 403, "insufficient_scope"},
		{"dispatcher is no admin", "disp", "?force=true", 403, "forbidden"},
		{"bad force", "admin", "?force=maybe", 400, "bad_parameter"},
		{"history needs force", "admin", "", 409, "conflict"},
		{"unknown contact", "admin", "", 404, "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := path
			if tc.name == "unknown contact" {
				p = "/api/v1/contacts/99999"
			}
			r := e.do("DELETE", p+tc.query, e.tok[tc.tok], nil)
			if r.Status != tc.status || r.errCode() != tc.code {
				t.Errorf("%d %s, want %d %s", r.Status, r.Body, tc.status, tc.code)
			}
		})
	}
	if r := e.do("GET", path, e.tok["admin"], nil); r.Status != 200 {
		t.Fatalf("refused deletions removed the contact: %d", r.Status)
	}
	r := e.do("DELETE", path+"?force=true", e.tok["admin"], nil)
	var d store.ContactDeletion
	r.json(t, &d)
	if r.Status != 200 || d.Messages != 1 || d.Conversations != 1 || d.Threads != 1 {
		t.Fatalf("forced delete: %d %s", r.Status, r.Body)
	}
	for _, p := range []string{path, "/api/v1/conversations/" + itos(c.ID)} {
		if r := e.do("GET", p, e.tok["admin"], nil); r.Status != 404 {
			t.Errorf("GET %s after delete: %d", p, r.Status)
		}
	}
	if r := e.do("DELETE", path+"?force=true", e.tok["admin"], nil); r.Status != 404 {
		t.Errorf("second delete: %d", r.Status)
	}
}

func TestConversationSearchRoute(t *testing.T) {
	e := newEnv(t, false)
	var ids []int64
	for i, body := range []string{"Refund for order 1042", "Refund approved", "See you tomorrow", "refund? (NEAR \"x\")"} {
		ids = append(ids, e.start("+1202555012"+itos(int64(i)), body).ID)
	}
	if r := e.do("PATCH", "/api/v1/contacts/"+itos(1), e.tok["admin"], map[string]string{"name": "Zoë Tomorrowland"}); r.Status != 200 {
		t.Fatalf("rename: %d %s", r.Status, r.Body)
	}
	list := func(q string, limit int, cursor string) conversationList {
		t.Helper()
		v := url.Values{"q": {q}, "limit": {itos(int64(limit))}}
		if cursor != "" {
			v.Set("cursor", cursor)
		}
		r := e.do("GET", "/api/v1/conversations?"+v.Encode(), e.tok["disp"], nil)
		if r.Status != 200 {
			t.Fatalf("search %q: %d %s", q, r.Status, r.Body)
		}
		var out conversationList
		r.json(t, &out)
		return out
	}
	// Message text, a page at a time.
	seen := map[int64]bool{}
	cursor := ""
	for range 5 {
		page := list("refund", 1, cursor)
		for _, it := range page.Items {
			seen[it.ID] = true
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != 3 || !seen[ids[0]] || !seen[ids[1]] || !seen[ids[3]] {
		t.Errorf("paged search found %v", seen)
	}
	for q, want := range map[string]int{
		"tomorrow": 2, "zoe": 1, "0123": 1, "order 1042": 1, "order 9999": 0,
		`NEAR`: 1, `"`: 0, `*`: 0, `a OR b`: 0, `) OR (`: 1 /* "or" is a word prefix: "order" */, "-refund": 3, "東京": 0, "'; DROP TABLE messages; --": 0,
	} {
		if got := len(list(q, 50, "").Items); got != want {
			t.Errorf("search %q: %d conversations, want %d", q, got, want)
		}
	}
	if r := e.do("GET", "/api/v1/conversations?q="+strings.Repeat("x", 501), e.tok["disp"], nil); r.Status != 400 {
		t.Errorf("overlong q: %d", r.Status)
	}
	// Contacts search: names and numbers.
	r := e.do("GET", "/api/v1/contacts?q=2025550123", e.tok["disp"], nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), "+12025550123") || strings.Count(string(r.Body), `"id"`) != 1 {
		t.Errorf("contacts search: %d %s", r.Status, r.Body)
	}
}

// TestBodyLimitPerRoute: behind a server whose global limit is the default 1 MiB, a
// normal request above its limit is refused with 413, while the CSV import may send up
// to its own 8 MiB (and not more).
func TestBodyLimitPerRoute(t *testing.T) {
	e := newEnv(t, false)
	srv := server.New(server.Options{Registry: prometheus.NewRegistry(), MaxBodyBytes: 1 << 20})
	e.api.Mount(srv.Router())
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	e.ts, ts = ts, e.ts // e.do goes to the new server; the old one is closed by e.close
	defer func() { e.ts, ts = ts, e.ts }()

	big := `{"to":"+12025550100","body":"` + strings.Repeat("A", 1<<20) + `"}`
	if r := e.do("POST", "/api/v1/messages", e.tok["admin"], big); r.Status != 413 || r.errCode() != "too_large" {
		t.Errorf("1 MiB message: %d %s", r.Status, r.Body)
	}
	csv := "name,number\nAna,+12025550101\n\"" + strings.Repeat("x", 8<<20-200) + "\"\nBob,+12025550102\n"
	if len(csv) > 8<<20 || len(csv) < 8<<20-200 {
		t.Fatalf("CSV is %d bytes", len(csv))
	}
	r := e.do("POST", "/api/v1/contacts/import", e.tok["admin"], csv)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"created":2`) {
		t.Errorf("8 MiB import: %d %.300s", r.Status, r.Body)
	}
	r = e.do("POST", "/api/v1/contacts/import", e.tok["admin"], csv+strings.Repeat("y", 300))
	if r.Status != 413 || r.errCode() != "too_large" {
		t.Errorf("import over 8 MiB: %d %.300s", r.Status, r.Body)
	}
}
