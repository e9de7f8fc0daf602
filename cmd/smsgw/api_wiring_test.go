package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/smsgw/smsgw/alert"
	"github.com/smsgw/smsgw/api"
	"github.com/smsgw/smsgw/auth"
	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/store"
)

// TestUserTokenAndAPI: `smsgw user add` and `smsgw token create` on a demo's state
// directory make a token the running gateway accepts; a message POSTed to the API
// reaches the virtual network, and the SSE stream answers; anonymous requests are
// refused.
func TestUserTokenAndAPI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	cli := func(stdin string, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		e := env{stdout: &out, stderr: &errb, lookup: noEnv}
		var code int
		switch args[0] {
		case "user":
			code = runUser(context.Background(), e, args[1:], strings.NewReader(stdin))
		default:
			code = run(context.Background(), args, &out, &errb, noEnv)
		}
		return code, out.String(), errb.String()
	}
	if code, out, errs := cli("a long passphrase\n", "user", "add", "--state-dir", dir, "--username", "ada", "--role", "admin",
		"--password-stdin"); code != 0 || !strings.Contains(out, "created") {
		t.Fatalf("user add: %d %s %s", code, out, errs)
	}
	if code, out, _ := cli("", "user", "add", "--state-dir", dir, "--username", "dee", "--role", "dispatcher"); code != 0 ||
		!strings.Contains(out, "password: ") {
		t.Fatalf("user add with a generated password: %d %s", code, out)
	}
	if code, _, errs := cli("short\n", "user", "passwd", "--state-dir", dir, "--username", "dee", "--password-stdin"); code == 0 ||
		!strings.Contains(errs, "10 characters") {
		t.Fatalf("weak password accepted: %d %s", code, errs)
	}
	code, tok, errs := cli("", "token", "create", "--state-dir", dir, "--user", "dee", "--name", "crm", "--scopes", "messages:send,messages:read,inbox:read")
	tok = strings.TrimSpace(tok)
	if code != 0 || !strings.HasPrefix(tok, "smsgw_") {
		t.Fatalf("token create: %d %q %s", code, tok, errs)
	}
	if code, out, _ := cli("", "token", "list", "--state-dir", dir); code != 0 || strings.Contains(out, tok) || !strings.Contains(out, "crm") {
		t.Fatalf("token list: %d %s", code, out)
	}
	if code, out, _ := cli("", "user", "list", "--state-dir", dir); code != 0 || !strings.Contains(out, "dispatcher") {
		t.Fatalf("user list: %d %s", code, out)
	}

	out, errb := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"demo", "--dir", dir, "--listen", "127.0.0.1:0"}, out, errb, noEnv) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("demo did not stop")
		}
	}()
	openRE := regexp.MustCompile(`Open:\s+(http://\S+)/`)
	var base string
	deadline := time.Now().Add(30 * time.Second)
	for base == "" {
		if m := openRE.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no URL in the banner:\n%s\n%s", out.String(), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	call := func(method, path, token, body string) (int, []byte) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	if code, _ := call("GET", "/api/v1/messages", "", ""); code != 401 {
		t.Fatalf("anonymous: %d", code)
	}
	if code, _ := call("GET", "/healthz", "", ""); code != 200 {
		t.Fatalf("healthz: %d", code)
	}
	code, body := call("POST", "/api/v1/messages", tok, `{"to":"+12025550199","body":"sent through the API"}`)
	if code != 202 {
		t.Fatalf("send: %d %s", code, body)
	}
	var m struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	_ = json.Unmarshal(body, &m)
	deadline = time.Now().Add(30 * time.Second)
	for m.Status != "sent" && m.Status != "delivered" {
		if time.Now().After(deadline) {
			t.Fatalf("message still %s\n%s", m.Status, errb.String())
		}
		time.Sleep(100 * time.Millisecond)
		_, body = call("GET", "/api/v1/messages/"+m.ID, tok, "")
		_ = json.Unmarshal(body, &m)
	}
	// The event stream answers with the SSE preamble.
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(res.Body).ReadString('\n')
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(line, "retry:") {
		t.Fatalf("events: %d %q", res.StatusCode, line)
	}
}

// The alert package's routes get the API's checks through authorizeAlerts.
func TestAuthorizeAlerts(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	a := &apiWiring{auth: auth.New(db, auth.Options{BcryptCost: bcrypt.MinCost})}
	a.api = api.New(api.Deps{DB: db, Auth: a.auth, Bus: event.New(8, nil)})
	u, err := a.auth.CreateUser(ctx, "ada", "", "correct horse", auth.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := a.auth.CreateToken(ctx, u.ID, "t", []string{auth.ScopeInboxRead}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/api/v1/jobs", nil)
	if _, err := a.authorizeAlerts(req, alert.ScopeRead); !errors.Is(err, alert.ErrUnauthenticated) {
		t.Fatalf("anonymous: %v", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if act, err := a.authorizeAlerts(req, alert.ScopeRead); err != nil || act.UserID != u.ID {
		t.Fatalf("viewer read: %+v %v", act, err)
	}
	if _, err := a.authorizeAlerts(req, alert.ScopeJobs); !errors.Is(err, alert.ErrForbidden) {
		t.Fatalf("viewer jobs: %v", err)
	}
}
