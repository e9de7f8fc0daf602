package webui

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/store"
)

// Every page renders for an admin, SMS text comes out escaped, forms without a CSRF
// token are refused, and signed-out visitors are sent to the login page.
func TestPagesRenderAndProtect(t *testing.T) {
	s := newStack(t, router.Permissions{})
	s.user("ana", "Ana Lima", "admin")
	payload := `<img src=x onerror=alert(1)><script>alert("x")</script>`
	s.text("+12025550123", payload)
	conv := s.waitConversation("+12025550123")

	anon := s.client()
	for _, path := range []string{"/inbox", "/admin/modems", "/ui/list", fmt.Sprintf("/inbox/c/%d", conv.ID)} {
		resp, err := anon.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Errorf("anonymous GET %s: %s %s", path, resp.Status, resp.Header.Get("Location"))
		}
	}
	resp, err := anon.Get(s.url + "/ui/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous events: %s", resp.Status)
	}

	now := time.Now()
	tpl, err := s.db.SaveAlertTemplate(t.Context(), store.AlertTemplate{Name: "eta", Body: "Your technician arrives at {{eta}} <b>"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.SaveAlertRule(t.Context(), store.AlertRule{Name: "ETA", Event: "job.eta_updated", TemplateID: tpl.ID,
		Recipients: []string{"customer"}, Enabled: true}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.SaveWebhook(t.Context(), store.Webhook{URL: "https://example.net/hook?a=1&b=<x>", Events: []string{"*"},
		Secret: "s3cret-s3cret-s3cret", Active: true}, now); err != nil {
		t.Fatal(err)
	}

	c := s.client()
	tok := s.login(c, "ana")
	pages := []string{"/inbox", "/inbox?owner=unowned&status=NEW", "/inbox?q=%2B1202", "/inbox?tag=none",
		fmt.Sprintf("/inbox/c/%d", conv.ID), "/ui/list", "/ui/folders", fmt.Sprintf("/ui/c/%d", conv.ID),
		fmt.Sprintf("/ui/c/%d/thread", conv.ID), "/ui/alerts", "/ui/counts", "/admin/modems", "/admin/users",
		"/admin/queues", "/admin/quick-replies", "/admin/tokens", "/admin/settings", "/admin/integrations", "/account/password",
		"/status", "/demo/phones"}
	for _, path := range pages {
		resp, err := c.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		body := readBody(t, resp)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s\n%s", path, resp.Status, body)
			continue
		}
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
			t.Errorf("GET %s: SMS text rendered unescaped", path)
		}
		if strings.Contains(path, "/c/") && !strings.Contains(body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
			t.Errorf("GET %s: the escaped body is missing", path)
		}
	}

	// No token, wrong token: refused, nothing changes.
	for _, tk := range []string{"", "forged"} {
		resp, err := c.PostForm(fmt.Sprintf("%s/inbox/c/%d/accept", s.url, conv.ID), url.Values{"csrf": {tk}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("accept with csrf %q: %s", tk, resp.Status)
		}
	}
	// With the token (as the script sends it): accepted.
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/inbox/c/%d/accept", s.url, conv.ID), nil)
	req.Header.Set("X-CSRF-Token", tok)
	req.Header.Set("X-Requested-With", "fetch")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("accept: %s", resp.Status)
	}
	v, err := s.rt.Conversation(t.Context(), router.System, conv.ID)
	if err != nil || v.Status != "OPEN" {
		t.Fatalf("after accept: %+v %v", v.Status, err)
	}
}

// First run: no user, no default password; the one-time link creates the admin, who
// is signed in, joins the default queue as ready, and the link cannot be used again.
func TestFirstRunSetup(t *testing.T) {
	s := newStack(t, router.Permissions{})
	c := s.client()
	resp, err := c.Get(s.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, resp); !strings.Contains(body, "No one can sign in yet") || !strings.Contains(body, "Gateway status") {
		t.Fatalf("home before setup:\n%s", body)
	}
	link, err := s.auth.SetupLink(t.Context(), s.url+"/")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(link)
	token := u.Query().Get("token")
	resp, err = c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	pre := between(readBody(t, resp), `name="csrf" value="`, `"`)
	form := url.Values{"csrf": {pre}, "token": {token}, "username": {"ada"}, "name": {"Ada Admin"},
		"password": {testPassword}, "password2": {testPassword}}
	resp, err = c.PostForm(s.url+"/setup", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/inbox") {
		t.Fatalf("setup: %s %s", resp.Status, resp.Header.Get("Location"))
	}
	resp, err = c.Get(s.url + "/inbox")
	if err != nil {
		t.Fatal(err)
	}
	if body := readBody(t, resp); resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="inbox"`) {
		t.Fatalf("inbox after setup: %s", resp.Status)
	}
	agents, err := s.db.Agents(t.Context())
	if err != nil || len(agents) != 1 || agents[0].Role != "admin" || agents[0].Availability != "ready" ||
		len(agents[0].Queues) != 1 {
		t.Fatalf("after setup: %+v %v", agents, err)
	}
	// The link is spent.
	form.Set("username", "eve")
	resp, err = c.PostForm(s.url+"/setup", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("second use of the setup link: %s", resp.Status)
	}
}

// A reply in someone else's conversation follows the configured rule: with "warn" the
// UI gets 409 and X-Confirm, and the confirmed retry goes out. Viewers get neither
// actions nor a composer.
func TestReplyRuleAndViewer(t *testing.T) {
	s := newStack(t, router.Permissions{DispatcherSeeOthers: router.SeeAll, DispatcherReplyOthers: router.ReplyWarn})
	ana := s.user("ana", "Ana Lima", "dispatcher")
	s.user("ben", "Ben Okafor", "dispatcher")
	s.user("vic", "Vic Viewer", "viewer")
	s.text("+12025550160", "Hello?")
	conv := s.waitConversation("+12025550160")
	if _, err := s.rt.Accept(t.Context(), router.Actor{UserID: ana.ID, Role: ana.Role}, conv.ID); err != nil {
		t.Fatal(err)
	}
	c := s.client()
	tok := s.login(c, "ben")
	reply := func(force string) *http.Response {
		form := url.Values{"body": {"Ben here, covering for Ana."}, "force": {force}, "key": {"k1"}}
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/inbox/c/%d/reply", s.url, conv.ID), strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-CSRF-Token", tok)
		req.Header.Set("X-Requested-With", "fetch")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := reply(""); resp.StatusCode != http.StatusConflict || resp.Header.Get("X-Confirm") != "reply" {
		t.Fatalf("unconfirmed reply in Ana's conversation: %s confirm=%q", resp.Status, resp.Header.Get("X-Confirm"))
	}
	if resp := reply("1"); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("confirmed reply: %s", resp.Status)
	}

	v := s.client()
	s.login(v, "vic")
	resp, err := v.Get(fmt.Sprintf("%s/inbox/c/%d", s.url, conv.ID))
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "js-compose") || strings.Contains(body, "/release") {
		t.Fatalf("viewer page: %s, composer or actions shown", resp.Status)
	}
	if !strings.Contains(body, "Ben here, covering for Ana.") {
		t.Fatal("viewer does not see the thread")
	}
}
