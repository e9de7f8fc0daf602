package main

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/config"
)

// TestSMSGateIsMounted: the gateway serves the SMSGate API under /3rdparty/v1 and
// /api/3rdparty/v1 on the main router (ahead of the web UI) and, when configured, the
// phone's root layout on a listener of its own, run as a worker.
func TestSMSGateIsMounted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := config.Default()
	cfg.StateDir = filepath.Join(t.TempDir(), "state")
	cfg.Modem.Detect = false
	cfg.Region = "US"
	cfg.SMSGate.LocalListen = "127.0.0.1:0"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g, err := openGateway(ctx, cfg, gatewayOptions{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	if _, err := g.api.auth.CreateUser(ctx, "ha", "Home Assistant", "a long passphrase", "dispatcher"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.smsgate.run(ctx) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("smsgate worker did not stop")
		}
	}()
	ts := httptest.NewServer(g.srv.Handler())
	defer ts.Close()
	local := "http://" + g.smsgate.local.Addr().String()
	authz := "Basic " + base64.StdEncoding.EncodeToString([]byte("ha:a long passphrase"))

	call := func(method, url, authz, body string) (int, string, http.Header) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, url, rd)
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), res.Header
	}
	for _, base := range []string{ts.URL + "/3rdparty/v1", ts.URL + "/api/3rdparty/v1", local} {
		if code, body, _ := call("GET", base+"/health", "", ""); code != 200 || !strings.Contains(body, `"releaseId":`) {
			t.Errorf("%s/health: %d %s", base, code, body)
		}
		if code, body, h := call("GET", base+"/messages", "", ""); code != 401 || !strings.Contains(body, `"code":401`) ||
			!strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("%s/messages without credentials: %d %s", base, code, body)
		}
		code, body, h := call("POST", base+"/message", authz, `{"textMessage":{"text":"hi"},"phoneNumbers":["+12015550123"]}`)
		if code != 202 || !strings.Contains(body, `"state":"Pending"`) || h.Get("Location") == "" {
			t.Errorf("%s/message: %d %s", base, code, body)
		}
		if code, body, h := call("GET", base+"/messages", authz, ""); code != 200 || h.Get("X-Total-Count") == "" {
			t.Errorf("%s/messages: %d %s", base, code, body)
		}
	}
	// The local listener serves only the SMSGate layout.
	if code, _, _ := call("GET", local+"/api/v1/me", authz, ""); code != 404 {
		t.Errorf("native API on the local listener: %d", code)
	}
}
