package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/config"
)

func TestAuthAndWebhookOptionsFromConfig(t *testing.T) {
	cfg := config.Default()
	cfg.PublicURL = "https://sms.example.lan"
	cfg.Auth = config.Auth{SessionTTL: 90 * time.Minute, MaxFailuresPerUser: 3, MaxFailuresPerIP: 7}
	cfg.Webhook = config.Webhook{RetryBase: 2 * time.Second, RetryMax: time.Minute, MaxAge: 48 * time.Hour, Workers: 9}
	a := authOptions(cfg)
	if !a.Secure || a.SessionTTL != 90*time.Minute || a.MaxFailuresPerUser != 3 || a.MaxFailuresPerIP != 7 {
		t.Errorf("auth options %+v", a)
	}
	w := webhookOptions(cfg)
	if w.RetryBase != 2*time.Second || w.RetryMax != time.Minute || w.MaxAge != 48*time.Hour || w.Workers != 9 {
		t.Errorf("webhook options %+v", w)
	}
	cfg.HTTP.SecureCookies = "false"
	cfg.PublicURL = ""
	if authOptions(cfg).Secure {
		t.Error("secure_cookies false still secure")
	}
}

// TestGatewayAppliesAuthConfig: a gateway built from the configuration sets the cookie
// flags and lifetime, throttles logins as configured, and lets the CSV import take
// more than the global body limit.
func TestGatewayAppliesAuthConfig(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.StateDir = filepath.Join(t.TempDir(), "state")
	cfg.Modem.Detect = false
	cfg.Region = "DE"
	cfg.HTTP.SecureCookies = "true"
	cfg.Auth.SessionTTL = 90 * time.Minute
	cfg.Auth.MaxFailuresPerUser = 2
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g, err := openGateway(ctx, cfg, gatewayOptions{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	u, err := g.api.auth.CreateUser(ctx, "ada", "Ada", "a long passphrase", "admin")
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path, tok, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.RemoteAddr = "192.0.2.7:4000"
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		rec := httptest.NewRecorder()
		g.srv.Router().ServeHTTP(rec, req)
		return rec
	}
	login := func(password string) *httptest.ResponseRecorder {
		return do("POST", "/api/v1/login", "", `{"username":"ada","password":"`+password+`"}`)
	}
	rec := login("a long passphrase")
	cookie := rec.Header().Get("Set-Cookie")
	if rec.Code != http.StatusOK || !strings.Contains(cookie, "Secure") || !strings.Contains(cookie, "Max-Age=5400") {
		t.Errorf("login: %d, cookie %q", rec.Code, cookie)
	}
	for range 2 {
		if rec := login("wrong passphrase"); rec.Code != http.StatusUnauthorized {
			t.Errorf("bad password: %d", rec.Code)
		}
	}
	if rec := login("a long passphrase"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("after max_failures_per_user failures: %d %s", rec.Code, rec.Body)
	}

	tok, _, err := g.api.auth.CreateToken(ctx, u.ID, "import", []string{"contacts:write"}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	csv := "name,number\nAna,+4915112345678\n\"" + strings.Repeat("x", 2<<20) + "\"\n"
	if rec := do("POST", "/api/v1/contacts/import", tok, csv); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"created":1`) {
		t.Errorf("2 MiB import behind the 1 MiB global limit: %d %.200s", rec.Code, rec.Body)
	}
	if rec := do("POST", "/api/v1/contacts", tok, `{"name":"`+strings.Repeat("x", 1<<20)+`"}`); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("1 MiB contact: %d", rec.Code)
	}
}
