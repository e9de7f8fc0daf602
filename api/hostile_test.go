package api

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"github.com/smsgw/smsgw/store"
)

// TestHostileInput: XSS, SQL and template text is stored and returned exactly as sent;
// malformed requests get the error shape naming the problem.
func TestHostileInput(t *testing.T) {
	e := newEnv(t, false)
	tok := e.tok["admin"]
	payloads := []string{
		`<script>alert(1)</script>`,
		`<img src=x onerror=alert(1)>`,
		`'; DROP TABLE contacts; --`,
		`" OR 1=1 --`,
		`{{template "x"}} ${7*7} <?php echo 1; ?>`,
		"\u202Eevil\u202C RTL",
		`=HYPERLINK("http://evil")`,
	}
	for i, p := range payloads {
		num := "+1202555" + string(rune('0'+i)) + "111"
		r := e.do("POST", "/api/v1/contacts", tok, map[string]any{"name": p, "numbers": []string{num}})
		if r.Status != http.StatusCreated {
			t.Fatalf("create contact %q: %d %s", p, r.Status, r.Body)
		}
		var c store.Contact
		r.json(t, &c)
		var got store.Contact
		e.do("GET", "/api/v1/contacts/"+itos(c.ID), tok, nil).json(t, &got)
		if got.Name != p {
			t.Errorf("stored name %q, sent %q", got.Name, p)
		}
		r = e.do("POST", "/api/v1/messages", tok, map[string]any{"to": num, "body": p})
		if r.Status != http.StatusAccepted {
			t.Fatalf("send %q: %d %s", p, r.Status, r.Body)
		}
		var m store.Message
		r.json(t, &m)
		e.do("GET", "/api/v1/messages/"+m.UID, tok, nil).json(t, &m)
		if m.Body != p {
			t.Errorf("stored body %q, sent %q", m.Body, p)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("content type %q", ct)
		}
	}
	// The CSV export neutralises formulas.
	r := e.do("GET", "/api/v1/contacts/export.csv", tok, nil)
	recs, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs[1:] {
		if strings.HasPrefix(rec[1], "=") {
			t.Errorf("formula exported as is: %q", rec[1])
		}
	}
	// A path with SQL in it is just an unknown id.
	if r := e.do("GET", "/api/v1/messages/1'%20OR%20'1'='1", tok, nil); r.Status != 404 || r.errCode() != "not_found" {
		t.Errorf("sql in path: %d %s", r.Status, r.Body)
	}

	cases := []struct {
		name, method, path, body string
		status                   int
		code, field              string
	}{
		{"unknown field", "POST", "/api/v1/messages", `{"to":"+12025550100","body":"x","admin":true}`, 400, "unknown_field", "admin"},
		{"bad json", "POST", "/api/v1/messages", `{"to":`, 400, "bad_json", ""},
		{"two values", "POST", "/api/v1/messages", `{"to":"+12025550100","body":"x"}{}`, 400, "bad_json", ""},
		{"wrong type", "POST", "/api/v1/messages", `{"to":12025550100,"body":"x"}`, 422, "invalid", "to"},
		{"bad number", "POST", "/api/v1/messages", `{"to":"not a number","body":"x"}`, 422, "invalid", "to"},
		{"empty body", "POST", "/api/v1/messages", `{"to":"+12025550100","body":""}`, 422, "invalid", "body"},
		{"batch field", "POST", "/api/v1/messages/batch", `{"messages":[{"to":"+12025550100","body":"a"},{"to":"x","body":"b"}]}`, 422, "invalid", "messages[1].to"},
		{"huge body", "POST", "/api/v1/messages", `{"to":"+12025550100","body":"` + strings.Repeat("A", 2<<20) + `"}`, 413, "too_large", ""},
		{"bad cursor", "GET", "/api/v1/conversations?cursor=zzz", "", 400, "bad_cursor", "cursor"},
		{"bad limit", "GET", "/api/v1/messages?limit=100000", "", 400, "bad_parameter", "limit"},
		{"bad status", "GET", "/api/v1/conversations?status=open,bogus", "", 400, "bad_parameter", "status"},
		{"weak password", "POST", "/api/v1/users", `{"username":"eve","password":"short","role":"viewer"}`, 422, "weak_password", "password"},
		{"bad role", "POST", "/api/v1/users", `{"username":"eve","password":"long enough pw","role":"root"}`, 422, "invalid", "role"},
		{"bad scope", "POST", "/api/v1/tokens", `{"name":"x","scopes":["root"]}`, 422, "invalid", "scopes"},
		{"webhook url", "POST", "/api/v1/webhooks", `{"url":"javascript:alert(1)","events":["*"]}`, 422, "invalid", "url"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body any
			if c.body != "" {
				body = c.body
			}
			r := e.do(c.method, c.path, tok, body)
			var got struct {
				Error struct{ Code, Message, Field string }
			}
			r.json(t, &got)
			if r.Status != c.status || got.Error.Code != c.code || got.Error.Field != c.field || got.Error.Message == "" {
				t.Fatalf("%d %s, want %d %s field %q", r.Status, r.Body, c.status, c.code, c.field)
			}
			if strings.Contains(string(r.Body), "sqlite") || strings.Contains(string(r.Body), ".go:") {
				t.Fatalf("internals leak: %s", r.Body)
			}
		})
	}
}

// TestPagingAndSession: keyset pages with Link headers; cookie sessions need the CSRF
// token for changes, tokens do not.
func TestPagingAndSession(t *testing.T) {
	e := newEnv(t, false)
	var batch []map[string]any
	for i := 0; i < 7; i++ {
		batch = append(batch, map[string]any{"to": "+1202555010" + string(rune('0'+i)), "body": "m" + string(rune('0'+i))})
	}
	if r := e.do("POST", "/api/v1/messages/batch", e.tok["disp"], map[string]any{"messages": batch}); r.Status != 202 {
		t.Fatalf("batch: %d %s", r.Status, r.Body)
	}
	seen := map[string]bool{}
	path := "/api/v1/messages?direction=out&limit=3"
	pages := 0
	for path != "" {
		r := e.do("GET", path, e.tok["disp"], nil)
		var pg struct {
			Items      []store.Message `json:"items"`
			NextCursor string          `json:"next_cursor"`
		}
		r.json(t, &pg)
		for _, m := range pg.Items {
			if seen[m.UID] {
				t.Fatalf("%s twice", m.UID)
			}
			seen[m.UID] = true
		}
		pages++
		path = ""
		if pg.NextCursor != "" {
			link := r.Header.Get("Link")
			if !strings.Contains(link, `rel="next"`) {
				t.Fatalf("no Link header: %q", link)
			}
			path = link[1:strings.Index(link, ">")]
		}
	}
	if len(seen) != 7 || pages != 3 {
		t.Fatalf("%d messages in %d pages", len(seen), pages)
	}
	// A dispatcher sees only what they sent; the viewer sees none of it.
	var pg struct {
		Items []store.Message `json:"items"`
	}
	e.do("GET", "/api/v1/messages", e.tok["viewer"], nil).json(t, &pg)
	if len(pg.Items) != 0 {
		t.Fatalf("viewer sees %d messages", len(pg.Items))
	}

	c, csrf := e.browser("dee")
	if r := e.doClient(c, "GET", "/api/v1/me", "", nil, nil); r.Status != 200 {
		t.Fatalf("me: %d", r.Status)
	}
	body := map[string]any{"body": "héllo"}
	if r := e.doClient(c, "POST", "/api/v1/messages/preview", "", body, nil); r.Status != 403 || r.errCode() != "csrf" {
		t.Fatalf("no csrf: %d %s", r.Status, r.Body)
	}
	r := e.doClient(c, "POST", "/api/v1/messages/preview", "", body, map[string]string{"X-CSRF-Token": csrf})
	var pv Preview
	r.json(t, &pv)
	if r.Status != 200 || pv.Segments != 1 || pv.Encoding != "gsm7" {
		t.Fatalf("preview: %d %s", r.Status, r.Body)
	}
	if r := e.do("POST", "/api/v1/messages/preview", e.tok["viewer"], map[string]any{"body": "😀"}); r.Status != 200 || !strings.Contains(string(r.Body), "ucs2") {
		t.Fatalf("token preview: %d %s", r.Status, r.Body)
	}
	// A token made in the browser session works, is listed without its secret, and is revoked.
	r = e.doClient(c, "POST", "/api/v1/tokens", "", map[string]any{"name": "crm", "scopes": []string{"messages:send"}},
		map[string]string{"X-CSRF-Token": csrf})
	var ct struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	r.json(t, &ct)
	if r.Status != 201 || !strings.HasPrefix(ct.Token, "smsgw_") {
		t.Fatalf("token: %d %s", r.Status, r.Body)
	}
	if r := e.do("GET", "/api/v1/tokens", ct.Token, nil); r.Status != 200 || strings.Contains(string(r.Body), ct.Token) {
		t.Fatalf("list tokens: %d %s", r.Status, r.Body)
	}
	if r := e.do("POST", "/api/v1/tokens", ct.Token, map[string]any{"name": "x", "scopes": []string{"messages:send"}}); r.Status != 403 {
		t.Fatalf("a token minting tokens: %d", r.Status)
	}
	if r := e.do("DELETE", "/api/v1/tokens/"+itos(ct.ID), ct.Token, nil); r.Status != 204 {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if r := e.do("GET", "/api/v1/me", ct.Token, nil); r.Status != 401 {
		t.Fatalf("revoked token: %d", r.Status)
	}
	if r := e.doClient(c, "POST", "/api/v1/logout", "", nil, map[string]string{"X-CSRF-Token": csrf}); r.Status != 204 {
		t.Fatalf("logout: %d %s", r.Status, r.Body)
	}
	if r := e.doClient(c, "GET", "/api/v1/me", "", nil, nil); r.Status != 401 {
		t.Fatalf("after logout: %d", r.Status)
	}
}
