package alert

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/store"
)

func TestHTTPTemplatesRulesAndErrors(t *testing.T) {
	u := newUnit(t, Config{})
	scopes := map[string][]string{"admin": {ScopeRead, ScopeJobs, ScopeChat, ScopeAdmin, ScopeModems}, "reader": {ScopeRead}}
	h := NewHandler(u.svc, func(r *http.Request, scope string) (router.Actor, error) {
		who := r.Header.Get("X-Who")
		if who == "" {
			return router.Actor{}, ErrUnauthenticated
		}
		for _, s := range scopes[who] {
			if s == scope {
				return router.System, nil
			}
		}
		return router.Actor{}, ErrForbidden
	}, nil)
	do := func(who, method, path, body string) (int, map[string]any) {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if who != "" {
			req.Header.Set("X-Who", who)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		return rec.Code, out
	}
	errCode := func(out map[string]any) string {
		e, _ := out["error"].(map[string]any)
		s, _ := e["code"].(string)
		return s
	}

	cases := []struct {
		name, who, method, path, body string
		status                        int
		code                          string
	}{
		{"anonymous", "", "GET", "/api/v1/alert-templates", "", 401, "unauthenticated"},
		{"reader cannot write templates", "reader", "POST", "/api/v1/alert-templates", `{"name":"a","body":"b"}`, 403, "forbidden"},
		{"unknown field", "admin", "POST", "/api/v1/alert-templates", `{"name":"a","body":"b","x":1}`, 400, "invalid"},
		{"empty body", "admin", "POST", "/api/v1/alert-templates", `{"name":"a","body":""}`, 400, "invalid"},
		{"create template", "admin", "POST", "/api/v1/alert-templates", `{"name":"eta","body":"ETA {{job.eta}} for #{{job.ref}} 🙂"}`, 201, ""},
		{"duplicate name", "admin", "POST", "/api/v1/alert-templates", `{"name":"ETA","body":"x"}`, 409, "conflict"},
		{"unknown template", "reader", "GET", "/api/v1/alert-templates/99", "", 404, "not_found"},
		{"bad id", "reader", "GET", "/api/v1/alert-templates/x", "", 404, "not_found"},
		{"rule without recipients", "admin", "POST", "/api/v1/alert-rules", `{"event":"created","template_id":1,"recipients":[]}`, 400, "invalid"},
		{"rule with a bad recipient", "admin", "POST", "/api/v1/alert-rules", `{"event":"created","template_id":1,"recipients":["boss"]}`, 400, "invalid"},
		{"rule with an unknown template", "admin", "POST", "/api/v1/alert-rules", `{"event":"created","template_id":9,"recipients":["customer"]}`, 400, "invalid"},
		{"create rule", "admin", "POST", "/api/v1/alert-rules", `{"name":"r","event":"ETA_set","template_id":1,"recipients":["customer","+4915100000777"],"filters":{"type":"repair"},"dedupe_window_seconds":600}`, 201, ""},
		{"template in use", "admin", "DELETE", "/api/v1/alert-templates/1", "", 409, "conflict"},
		{"system alerts need modems:read", "reader", "GET", "/api/v1/system-alerts", "", 403, "forbidden"},
		{"bad state", "admin", "GET", "/api/v1/system-alerts?state=x", "", 400, "invalid"},
		{"unknown job", "reader", "GET", "/api/v1/jobs/nope", "", 404, "not_found"},
		{"invalid job", "admin", "POST", "/api/v1/jobs", `{"ref":"a b"}`, 422, "invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, out := do(tc.who, tc.method, tc.path, tc.body)
			if status != tc.status || errCode(out) != tc.code {
				t.Fatalf("%d %v, want %d %q", status, out, tc.status, tc.code)
			}
		})
	}

	// The template answer carries its preview; preview renders for a real job.
	_, out := do("reader", "GET", "/api/v1/alert-templates/1", "")
	p, _ := out["preview"].(map[string]any)
	if p["encoding"] != "ucs2" || p["segments"] != 1.0 || p["text"] != "ETA 14:30 for #1042 🙂" {
		t.Fatalf("template preview %v", out)
	}
	if _, _, err := u.svc.CreateJob(u.ctx, JobInput{Ref: "7", Fields: map[string]string{"eta": "9:00"}}); err != nil {
		t.Fatal(err)
	}
	status, out := do("reader", "POST", "/api/v1/alert-templates/preview", `{"template_id":1,"job_ref":"7"}`)
	if status != 200 || out["text"] != "ETA 9:00 for #7 🙂" {
		t.Fatalf("preview %d %v", status, out)
	}
	_, out = do("reader", "GET", "/api/v1/alert-rules", "")
	rules, _ := out["rules"].([]any)
	if len(rules) != 1 {
		t.Fatalf("rules %v", out)
	}
	r := rules[0].(map[string]any)
	if r["event"] != "eta_set" || r["dedupe_window_seconds"] != 600.0 || r["enabled"] != true {
		t.Fatalf("rule %v", r)
	}
	if status, _ := do("admin", "PUT", "/api/v1/alert-rules/1", `{"event":"eta_set","template_id":1,"recipients":["site"],"enabled":false}`); status != 200 {
		t.Fatalf("update rule %d", status)
	}
	if list, _ := u.db.AlertRules(u.ctx, "eta_set"); len(list) != 0 {
		t.Fatalf("a disabled rule is listed for its event: %+v", list)
	}
	if status, _ := do("admin", "DELETE", "/api/v1/alert-rules/1", ""); status != 204 {
		t.Fatalf("delete rule %d", status)
	}
	if status, _ := do("admin", "DELETE", "/api/v1/alert-templates/1", ""); status != 204 {
		t.Fatalf("delete template %d", status)
	}
	if _, _, err := u.db.FireSystemAlert(u.ctx, store.SystemAlert{Check: CheckQueueBacklog, Severity: "warning", Message: "m"}, t0); err != nil {
		t.Fatal(err)
	}
	_, out = do("admin", "GET", "/api/v1/system-alerts?state=firing", "")
	if list, _ := out["system_alerts"].([]any); len(list) != 1 {
		t.Fatalf("system alerts %v", out)
	}
}
