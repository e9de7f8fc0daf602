package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/config"
)

// The alert routes are mounted with the API's authentication and scopes: anonymous
// requests get 401, a token without the scope 403, a business system's token can
// create a job, and an operator can list system alerts.
func TestAlertRoutesAreMountedWithAuth(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.StateDir = filepath.Join(t.TempDir(), "state")
	cfg.Modem.Detect = false
	cfg.Region = "DE"
	cfg.Alerts.EmailTo = "ops@example.com"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g, err := openGateway(ctx, cfg, gatewayOptions{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	u, err := g.api.auth.CreateUser(ctx, "crm", "CRM", "a long passphrase", "dispatcher")
	if err != nil {
		t.Fatal(err)
	}
	jobsTok, _, err := g.api.auth.CreateToken(ctx, u.ID, "jobs", []string{"messages:send", "inbox:read"}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	readTok, _, err := g.api.auth.CreateToken(ctx, u.ID, "read", []string{"inbox:read"}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	h := g.srv.Router()
	do := func(method, path, tok, body string) (int, string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	if code, _ := do("GET", "/api/v1/jobs", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d", code)
	}
	if code, _ := do("POST", "/api/v1/jobs", readTok, `{"ref":"1"}`); code != http.StatusForbidden {
		t.Fatalf("without the scope: %d", code)
	}
	code, body := do("POST", "/api/v1/jobs", jobsTok, `{"ref":"1042","customer":{"name":"Ada","number":"+4915112345678"}}`)
	if code != http.StatusCreated {
		t.Fatalf("create job: %d %s", code, body)
	}
	var out struct {
		Job struct {
			Ref            string `json:"ref"`
			CustomerNumber string `json:"customer_number"`
		} `json:"job"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil || out.Job.CustomerNumber != "+4915112345678" {
		t.Fatalf("job %s %v", body, err)
	}
	if code, body := do("GET", "/api/v1/jobs/1042", readTok, ""); code != http.StatusOK || !strings.Contains(body, `"ref":"1042"`) {
		t.Fatalf("get job %d %s", code, body)
	}
	if code, _ := do("GET", "/api/v1/system-alerts", jobsTok, ""); code != http.StatusForbidden {
		t.Fatalf("system alerts need modems:read: %d", code)
	}
	if g.alerts == nil || g.alerts.svc == nil || g.alerts.mon == nil {
		t.Fatal("alert workers not built")
	}
}
