package webui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/sms"
	"github.com/smsgw/smsgw/store"
)

// post submits a form as a browser without script would (the token in the form).
func postForm(t *testing.T, c *http.Client, u string, tok string, v url.Values) (*http.Response, string) {
	t.Helper()
	if tok != "" {
		v.Set("csrf", tok)
	}
	resp, err := c.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	return resp, readBody(t, resp)
}

func getPage(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", u, resp.Status, body)
	}
	return body
}

// settingsForm is the settings form as the page submits it, with changes.
func settingsForm(change map[string]string) url.Values {
	v := url.Values{"op": {"save"}, "grace_window": {"3d"}, "auto_resolve_after": {"0"},
		"dispatcher_see_others": {"queue"}, "dispatcher_reply_others": {"deny"}, "auto_accept": {"on"},
		"return_to_last_owner": {"on"}, "unread": {"user"}, "quiet_start": {""}, "quiet_end": {""}, "quiet_zone": {""}}
	for k, x := range change {
		if x == "" {
			v.Del(k)
		} else {
			v.Set(k, x)
		}
	}
	return v
}

// The settings page changes the inbox settings and quiet hours at run time (admins,
// with CSRF), shows what differs from the file and who changed it, refuses invalid
// values as a whole, puts values back to the file's, and the stored changes apply
// again at the next start.
func TestSettingsEditable(t *testing.T) {
	s := newStack(t, router.Permissions{})
	s.user("ada", "Ada Admin", "admin")
	s.user("bob", "Bob Dispatcher", "dispatcher")
	c := s.client()
	tok := s.login(c, "ada")
	page := getPage(t, c, s.url+"/admin/settings")
	if !strings.Contains(page, `name="grace_window" value="3d"`) || strings.Contains(page, "changed in the UI") {
		t.Fatalf("settings page before changes:\n%s", page)
	}

	// No token: refused. A dispatcher: refused.
	if resp, _ := postForm(t, c, s.url+"/admin/settings", "", settingsForm(map[string]string{"grace_window": "2h"})); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("without csrf: %s", resp.Status)
	}
	b := s.client()
	btok := s.login(b, "bob")
	if resp, _ := postForm(t, b, s.url+"/admin/settings", btok, settingsForm(map[string]string{"grace_window": "2h"})); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("dispatcher: %s", resp.Status)
	}
	if body := getPage(t, b, s.url+"/admin/settings"); strings.Contains(body, `action="/admin/settings"`) {
		t.Fatal("a dispatcher gets the settings form")
	}

	// One invalid value refuses the whole form.
	for _, bad := range []map[string]string{{"grace_window": "soon"}, {"quiet_start": "21:00"}, {"quiet_zone": "Mars/Olympus"},
		{"dispatcher_see_others": "everyone"}, {"grace_window": "2h", "auto_resolve_after": "-5m"}} {
		if resp, body := postForm(t, c, s.url+"/admin/settings", tok, settingsForm(bad)); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("invalid %v: %s\n%s", bad, resp.Status, body)
		}
	}
	if got := s.rt.Settings().GraceWindow; got != 72*time.Hour {
		t.Fatalf("refused form changed the grace window to %v", got)
	}

	resp, _ := postForm(t, c, s.url+"/admin/settings", tok, settingsForm(map[string]string{"grace_window": "2h",
		"dispatcher_reply_others": "warn", "dispatcher_assign": "on", "auto_accept": "", "unread": "team",
		"quiet_start": "21:00", "quiet_end": "07:30", "quiet_zone": "Europe/Berlin"}))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %s", resp.Status)
	}
	rs := s.rt.Settings()
	if rs.GraceWindow != 2*time.Hour || rs.Permissions.DispatcherReplyOthers != router.ReplyWarn || !rs.Permissions.DispatcherAssign ||
		!rs.NoAutoAccept || !rs.UnreadPerTeam || rs.NoReturnToLastOwner {
		t.Fatalf("router settings after save: %+v", rs)
	}
	qh := s.q.QuietHours()
	if qh.Start != 21*60 || qh.End != 7*60+30 || qh.Location == nil || qh.Location.String() != "Europe/Berlin" {
		t.Fatalf("quiet hours after save: %+v", qh)
	}
	page = getPage(t, c, s.url+"/admin/settings")
	for _, want := range []string{`name="grace_window" value="2h"`, "changed in the UI", "by ada", `name="reset_grace_window"`,
		"Recent changes", "file: 3d"} {
		if !strings.Contains(page, want) {
			t.Errorf("settings page lacks %q", want)
		}
	}
	if n := strings.Count(page, "changed in the UI"); n != 8 {
		t.Errorf("%d settings shown as changed, want 8", n)
	}

	// Back to the file's value: by the reset box, or by submitting the file's value.
	resp, _ = postForm(t, c, s.url+"/admin/settings", tok, settingsForm(map[string]string{"grace_window": "2h", "reset_grace_window": "1",
		"dispatcher_reply_others": "deny", "dispatcher_assign": "on", "auto_accept": "", "unread": "team",
		"quiet_start": "21:00", "quiet_end": "07:30", "quiet_zone": "Europe/Berlin"}))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset: %s", resp.Status)
	}
	over, err := s.db.SettingOverrides(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := over["grace_window"]; ok || len(over) != 6 {
		t.Fatalf("overrides after reset: %+v", over)
	}
	if rs := s.rt.Settings(); rs.GraceWindow != 72*time.Hour || rs.Permissions.DispatcherReplyOthers != router.ReplyDeny {
		t.Fatalf("after reset: %+v", rs)
	}

	// Ownership timeout per queue.
	resp, _ = postForm(t, c, s.url+"/admin/settings", tok, url.Values{"op": {"timeout"}, "queue": {"1"}, "timeout": {"45"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("timeout: %s", resp.Status)
	}
	qs, err := s.db.Queues(t.Context())
	if err != nil || qs[0].OwnershipTimeout != 45*time.Minute {
		t.Fatalf("queues after timeout: %+v %v", qs, err)
	}

	// A new process on the same database: the stored changes apply at start.
	rt2 := router.New(router.Config{GraceWindow: 72 * time.Hour}, router.Deps{DB: s.db, Bus: s.bus})
	if _, err := New(Options{DB: s.db, Router: rt2, Bus: s.bus, Auth: s.auth}); err != nil {
		t.Fatal(err)
	}
	if rs := rt2.Settings(); !rs.UnreadPerTeam || !rs.NoAutoAccept || rs.GraceWindow != 72*time.Hour || !rs.Permissions.DispatcherAssign {
		t.Fatalf("settings applied at start: %+v", rs)
	}
}

// Alert templates and rules and webhooks are created, edited, switched and deleted
// from the integrations page, checked as the API checks them.
func TestIntegrationsForms(t *testing.T) {
	s := newStack(t, router.Permissions{})
	s.user("ada", "Ada Admin", "admin")
	c := s.client()
	tok := s.login(c, "ada")
	u := s.url + "/admin/integrations"
	ctx := t.Context()

	// Template: preview without saving, then save.
	body := `Hi {{customer.first_name}}, your technician arrives at {{job.eta}} <b>`
	resp, page := postForm(t, c, u, tok, url.Values{"op": {"template-preview"}, "name": {"ETA"}, "body": {body}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Hi Alex, your technician arrives at 14:30 &lt;b&gt;") ||
		!strings.Contains(page, "1 SMS") {
		t.Fatalf("preview: %s\n%s", resp.Status, page)
	}
	if ts, _ := s.db.AlertTemplates(ctx); len(ts) != 0 {
		t.Fatal("preview saved the template")
	}
	if resp, _ := postForm(t, c, u, tok, url.Values{"op": {"template-save"}, "name": {""}, "body": {body}}); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("template without a name: %s", resp.Status)
	}
	if resp, _ := postForm(t, c, u, tok, url.Values{"op": {"template-save"}, "name": {"ETA"}, "body": {body}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save template: %s", resp.Status)
	}
	ts, err := s.db.AlertTemplates(ctx)
	if err != nil || len(ts) != 1 {
		t.Fatalf("templates: %+v %v", ts, err)
	}
	tid := fmt.Sprint(ts[0].ID)
	// The live preview of the form.
	var pv struct {
		Text     string `json:"text"`
		Segments int    `json:"segments"`
	}
	req, _ := http.NewRequest(http.MethodGet, s.url+"/ui/template-preview?body="+url.QueryEscape(strings.Repeat("x", 161)), nil)
	req.Header.Set("X-Requested-With", "fetch")
	r, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(readBody(t, r)), &pv); err != nil || pv.Segments != 2 {
		t.Fatalf("live preview: %+v %v", pv, err)
	}

	// Rule: invalid recipient refused; saved; switched off; edited.
	rule := url.Values{"op": {"rule-save"}, "name": {"ETA changed"}, "event": {"Job.ETA_updated"}, "template_id": {tid},
		"recipients": {"customer, bogus"}, "filters": {"status=scheduled|confirmed"}, "dedupe_minutes": {"10"}, "enabled": {"1"}}
	if resp, body := postForm(t, c, u, tok, rule); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "bogus") {
		t.Fatalf("bad recipient: %s", resp.Status)
	}
	rule.Set("recipients", "customer, +12025550199")
	if resp, _ := postForm(t, c, u, tok, rule); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save rule: %s", resp.Status)
	}
	rules, _ := s.db.AlertRules(ctx, "")
	if len(rules) != 1 || rules[0].Event != "job.eta_updated" || !rules[0].Enabled || len(rules[0].Recipients) != 2 ||
		rules[0].Filters["status"] != "scheduled|confirmed" || rules[0].DedupeWindow != 10*time.Minute {
		t.Fatalf("rule: %+v", rules)
	}
	rid := fmt.Sprint(rules[0].ID)
	if resp, _ := postForm(t, c, u, tok, url.Values{"op": {"rule-disable"}, "id": {rid}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable rule: %s", resp.Status)
	}
	if x, _ := s.db.AlertRule(ctx, rules[0].ID); x.Enabled {
		t.Fatal("rule still on")
	}
	if page := getPage(t, c, u+"?rule="+rid); !strings.Contains(page, `value="customer, &#43;12025550199"`) && !strings.Contains(page, `value="customer, +12025550199"`) {
		t.Fatalf("edit form does not show the rule:\n%s", page)
	}
	// A template in use cannot go; the rule can, then the template.
	if resp, _ := postForm(t, c, u, tok, url.Values{"op": {"template-delete"}, "id": {tid}}); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("delete template in use: %s", resp.Status)
	}
	if resp, _ := postForm(t, c, u, tok, url.Values{"op": {"rule-delete"}, "id": {rid}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete rule: %s", resp.Status)
	}
	if resp, _ := postForm(t, c, u, tok, url.Values{"op": {"template-delete"}, "id": {tid}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete template: %s", resp.Status)
	}

	// Webhook: invalid URL refused; created with its secret shown once; ping; replay.
	hook := url.Values{"op": {"webhook-save"}, "url": {"ftp://example.net/x"}, "event": {"message.received", "webhook.ping"}, "active": {"1"}}
	if resp, _ := postForm(t, c, u, tok, hook); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad webhook URL: %s", resp.Status)
	}
	hook.Set("url", "https://example.net/hook")
	resp, page = postForm(t, c, u, tok, hook)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "whsec_") {
		t.Fatalf("create webhook: %s", resp.Status)
	}
	hooks, _ := s.db.Webhooks(ctx)
	if len(hooks) != 1 || !hooks[0].Active || len(hooks[0].Events) != 2 {
		t.Fatalf("webhooks: %+v", hooks)
	}
	if strings.Contains(getPage(t, c, u), hooks[0].Secret) {
		t.Fatal("the secret is shown again")
	}
	hid := fmt.Sprint(hooks[0].ID)
	if resp, _ := postForm(t, c, u, tok, url.Values{"op": {"webhook-ping"}, "id": {hid}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("ping: %s", resp.Status)
	}
	ds, _ := s.db.Deliveries(ctx, hooks[0].ID, 0, 10)
	if len(ds) != 1 || ds[0].EventType != "webhook.ping" {
		t.Fatalf("deliveries after ping: %+v", ds)
	}
	if err := s.db.RecordAttempt(ctx, store.DeliveryAttempt{DeliveryID: ds[0].ID, At: time.Now(), Status: 500, Error: "boom"},
		store.DeliveryFailed, time.Time{}); err != nil {
		t.Fatal(err)
	}
	resp, _ = postForm(t, c, u, tok, url.Values{"op": {"webhook-replay"}, "id": {hid}, "days": {"7"}})
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "1+failed+delivery+queued+again") {
		t.Fatalf("replay: %s %s", resp.Status, resp.Header.Get("Location"))
	}
	if ds, _ := s.db.Deliveries(ctx, hooks[0].ID, 0, 10); len(ds) != 2 || ds[0].RedeliveryOf != ds[1].ID {
		t.Fatalf("deliveries after replay: %+v", ds)
	}
	// Edit keeps the secret; pause; delete.
	edit := url.Values{"op": {"webhook-save"}, "id": {hid}, "url": {"https://example.net/hook2"}, "event": {"*"}, "description": {"<i>crm</i>"}}
	if resp, _ := postForm(t, c, u, tok, edit); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit webhook: %s", resp.Status)
	}
	h, _ := s.db.Webhook(ctx, hooks[0].ID)
	if h.URL != "https://example.net/hook2" || h.Active || h.Secret != hooks[0].Secret || h.Events[0] != "*" {
		t.Fatalf("after edit: %+v", h)
	}
	if page := getPage(t, c, u); strings.Contains(page, "<i>crm</i>") || !strings.Contains(page, "paused") {
		t.Fatal("description unescaped or pause not shown")
	}
	if resp, _ := postForm(t, c, u, tok, url.Values{"op": {"webhook-enable"}, "id": {hid}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("enable: %s", resp.Status)
	}
	if h, _ := s.db.Webhook(ctx, hooks[0].ID); !h.Active || h.URL != "https://example.net/hook2" {
		t.Fatalf("after enable: %+v", h)
	}
	if resp, _ := postForm(t, c, u, tok, url.Values{"op": {"webhook-delete"}, "id": {hid}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete webhook: %s", resp.Status)
	}
	if hs, _ := s.db.Webhooks(ctx); len(hs) != 0 {
		t.Fatalf("webhooks after delete: %+v", hs)
	}
	// Without a token nothing happens.
	if resp, _ := postForm(t, c, u, "", url.Values{"op": {"template-save"}, "name": {"x"}, "body": {"y"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("without csrf: %s", resp.Status)
	}
}

// The conversation list pages with an "Older" link: its page continues where the first
// ended, without overlap, and the last page has no link.
func TestListOlderLink(t *testing.T) {
	s := newStack(t, router.Permissions{})
	s.user("ada", "Ada Admin", "admin")
	const n = 57
	for i := range n {
		pdus, err := sms.EncodeDeliver(fmt.Sprintf("+1202555%04d", 3000+i), fmt.Sprintf("message %d", i), sms.DeliverOptions{Time: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pdus {
			if _, err := s.db.InsertInboundPDU(t.Context(), store.InboundPDU{Modem: s.farm.Modems[0].Name(), PDU: p.Bytes}); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.rt.Notify()
	deadline := time.Now().Add(30 * time.Second)
	for {
		page, err := s.db.Conversations(t.Context(), store.ConversationFilter{Visibility: store.Visibility{All: true}, Limit: 200})
		if err == nil && len(page.Items) == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d conversations routed, want %d", len(page.Items), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c := s.client()
	s.login(c, "ada")
	ids := func(html string) []string {
		var out []string
		for _, part := range strings.Split(html, `class="row`)[1:] {
			if id := between(part, `data-id="`, `"`); id != "" {
				out = append(out, id)
			}
		}
		return out
	}
	first := getPage(t, c, s.url+"/inbox?status=NEW")
	older := between(first, `<a class="button" href="`, `">Older</a>`)
	if older == "" || !strings.Contains(older, "cursor=") || !strings.Contains(older, "status=NEW") {
		t.Fatalf("no Older link keeping the folder on the first page: %q", older)
	}
	second := getPage(t, c, s.url+strings.ReplaceAll(older, "&amp;", "&"))
	a, b := ids(first), ids(second)
	if len(a) != 50 || len(b) != n-50 {
		t.Fatalf("pages of %d and %d rows, want 50 and %d", len(a), len(b), n-50)
	}
	seen := map[string]bool{}
	for _, id := range append(a, b...) {
		if seen[id] {
			t.Fatalf("conversation %s on both pages", id)
		}
		seen[id] = true
	}
	if strings.Contains(second, ">Older</a>") {
		t.Fatal("the last page has an Older link")
	}
}
