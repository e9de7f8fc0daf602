package auth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/smsgw/smsgw/store"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newService(t *testing.T) (*Service, *store.DB, *clock) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "auth.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	return New(db, Options{Now: c.now, BcryptCost: bcrypt.MinCost}), db, c
}

func TestCreateUserValidates(t *testing.T) {
	s, _, _ := newService(t)
	ctx := context.Background()
	cases := []struct {
		name, user, pw, role string
		want                 error
	}{
		{"ok", "ana", "correct horse", RoleAdmin, nil},
		{"short password", "bob", "short", RoleViewer, ErrWeakPassword},
		{"long password", "bob", strings.Repeat("x", 73), RoleViewer, ErrWeakPassword},
		{"bad name", "<script>", "long enough pw", RoleViewer, ErrInvalid},
		{"bad role", "bob", "long enough pw", "root", ErrInvalid},
		{"taken", "ANA", "long enough pw", RoleViewer, ErrDuplicate},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u, err := s.CreateUser(ctx, c.user, "Name", c.pw, c.role)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if err == nil && (u.ID == 0 || u.PasswordHash == c.pw || !strings.HasPrefix(u.PasswordHash, "$2")) {
				t.Fatalf("user = %+v", u)
			}
		})
	}
	has, err := s.HasUsers(ctx)
	if err != nil || !has {
		t.Fatalf("HasUsers = %v, %v", has, err)
	}
}

func TestLoginRotatesAndThrottles(t *testing.T) {
	s, _, c := newService(t)
	ctx := context.Background()
	if _, err := s.CreateUser(ctx, "ana", "Ana", "correct horse", RoleDispatcher); err != nil {
		t.Fatal(err)
	}
	id1, u, err := s.Login(ctx, "ana", "correct horse", "10.0.0.1")
	if err != nil || u.Username != "ana" {
		t.Fatalf("login: %v", err)
	}
	id2, _, err := s.Login(ctx, "Ana", "correct horse", "10.0.0.1")
	if err != nil || id1 == id2 || len(id1) < 40 {
		t.Fatalf("second login: %v (ids %q %q)", err, id1, id2)
	}
	if _, _, err := s.Login(ctx, "nobody", "correct horse", "10.0.0.2"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("unknown user: %v", err)
	}
	for i := 0; i < 5; i++ {
		if _, _, err := s.Login(ctx, "ana", "wrong password", "10.0.0.3"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if _, _, err := s.Login(ctx, "ana", "correct horse", "10.0.0.4"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("after 5 failures the right password must be throttled too: %v", err)
	}
	c.add(16 * time.Minute)
	if _, _, err := s.Login(ctx, "ana", "correct horse", "10.0.0.4"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestSessionCookieAndCSRF(t *testing.T) {
	s, _, c := newService(t)
	ctx := context.Background()
	u, _ := s.CreateUser(ctx, "ana", "Ana", "correct horse", RoleViewer)
	id, _, err := s.Login(ctx, "ana", "correct horse", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s.SetSessionCookie(rec, id)
	ck := rec.Result().Cookies()[0]
	if ck.Name != CookieName || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" {
		t.Fatalf("cookie = %+v", ck)
	}
	req := httptest.NewRequest("POST", "/api/v1/x", nil)
	req.AddCookie(ck)
	p, err := s.Authenticate(req)
	if err != nil || p.UserID != u.ID || p.Session != id || p.Scopes != nil {
		t.Fatalf("authenticate: %+v %v", p, err)
	}
	if !p.Can(ScopeInboxRead) || p.Can(ScopeInboxWrite) || p.Can(ScopeAdmin) {
		t.Fatal("viewer scopes wrong")
	}
	if s.CheckCSRF(req, p) {
		t.Fatal("POST without a CSRF token passed")
	}
	req.Header.Set(CSRFHeader, s.CSRFToken(p))
	if !s.CheckCSRF(req, p) {
		t.Fatal("POST with the CSRF token failed")
	}
	form := httptest.NewRequest("POST", "/x", strings.NewReader(url.Values{"csrf": {s.CSRFToken(p)}}.Encode()))
	form.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if !s.CheckCSRF(form, p) {
		t.Fatal("form with the CSRF field failed")
	}
	req.Header.Set(CSRFHeader, "nope")
	if s.CheckCSRF(req, p) {
		t.Fatal("wrong CSRF token passed")
	}
	// Expiry, then logout.
	c.add(13 * time.Hour)
	if _, err := s.Authenticate(req); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("expired session: %v", err)
	}
	id, _, _ = s.Login(ctx, "ana", "correct horse", "127.0.0.1")
	req = httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: CookieName, Value: id})
	if _, err := s.Authenticate(req); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(ctx, u.ID, "another good one"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(req); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("a password change must end sessions: %v", err)
	}
	id, _, _ = s.Login(ctx, "ana", "another good one", "127.0.0.1")
	req = httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: CookieName, Value: id})
	if err := s.Logout(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(req); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("after logout: %v", err)
	}
}

func TestTokens(t *testing.T) {
	s, db, _ := newService(t)
	ctx := context.Background()
	disp, _ := s.CreateUser(ctx, "dee", "", "correct horse", RoleDispatcher)
	if _, _, err := s.CreateToken(ctx, disp.ID, "x", []string{ScopeAdmin}, time.Time{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a dispatcher must not mint admin tokens: %v", err)
	}
	if _, _, err := s.CreateToken(ctx, disp.ID, "x", []string{"root"}, time.Time{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown scope: %v", err)
	}
	plain, tok, err := s.CreateToken(ctx, disp.ID, "crm", []string{ScopeMessagesSend}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(plain, TokenPrefix) || !strings.HasPrefix(plain, tok.Prefix) || tok.Hash == plain || strings.Contains(tok.Hash, plain) {
		t.Fatalf("token %q stored as %+v", plain, tok)
	}
	req := httptest.NewRequest("POST", "/api/v1/messages", nil)
	req.Header.Set("Authorization", "Bearer "+plain)
	p, err := s.Authenticate(req)
	if err != nil || p.TokenID != tok.ID || p.Session != "" {
		t.Fatalf("%+v %v", p, err)
	}
	if !p.Can(ScopeMessagesSend) || p.Can(ScopeInboxRead) {
		t.Fatal("token scopes not applied")
	}
	if !s.CheckCSRF(req, p) {
		t.Fatal("tokens are exempt from CSRF")
	}
	// The role bounds the token even after a demotion.
	viewer := RoleViewer
	if _, err := db.UpdateUser(ctx, disp.ID, store.UserChanges{Role: &viewer}); err != nil {
		t.Fatal(err)
	}
	if p, _ = s.Authenticate(req); p.Can(ScopeMessagesSend) {
		t.Fatal("a viewer's token must not send")
	}
	if err := s.RevokeToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(req); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("revoked: %v", err)
	}
	for _, h := range []string{"Bearer", "Basic abc", "Bearer smsgw_nope", "Bearer " + tok.Hash} {
		req.Header.Set("Authorization", h)
		if _, err := s.Authenticate(req); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("%q: %v", h, err)
		}
	}
	list, err := s.Tokens(ctx, disp.ID)
	if err != nil || len(list) != 1 || list[0].RevokedAt.IsZero() {
		t.Fatalf("tokens = %+v, %v", list, err)
	}
}

func TestSetupLinkOnce(t *testing.T) {
	s, _, c := newService(t)
	ctx := context.Background()
	link, err := s.SetupLink(ctx, "http://box.local:8080/")
	if err != nil || !strings.HasPrefix(link, "http://box.local:8080/setup?token=") {
		t.Fatalf("%q %v", link, err)
	}
	u, _ := url.Parse(link)
	tok := u.Query().Get("token")
	if _, err := s.CompleteSetup(ctx, "wrong", "root", "", "correct horse"); !errors.Is(err, ErrSetupLink) {
		t.Fatalf("wrong token: %v", err)
	}
	if _, err := s.CompleteSetup(ctx, tok, "root", "", "short"); !errors.Is(err, ErrWeakPassword) {
		t.Fatalf("weak: %v", err)
	}
	admin, err := s.CompleteSetup(ctx, tok, "root", "Root", "correct horse")
	if err != nil || admin.Role != RoleAdmin {
		t.Fatalf("%+v %v", admin, err)
	}
	if _, err := s.CompleteSetup(ctx, tok, "root2", "", "correct horse"); err == nil {
		t.Fatal("a setup link works once")
	}
	if _, err := s.SetupLink(ctx, "http://x"); !errors.Is(err, ErrSetupDone) {
		t.Fatalf("setup link with users: %v", err)
	}

	s2, _, _ := newService(t)
	link, _ = s2.SetupLink(ctx, "http://x")
	u, _ = url.Parse(link)
	_ = c
	s2.opts.Now = func() time.Time { return time.Now().Add(25 * time.Hour) }
	if _, err := s2.CompleteSetup(ctx, u.Query().Get("token"), "root", "", "correct horse"); !errors.Is(err, ErrSetupLink) {
		t.Fatalf("expired link: %v", err)
	}
}

func TestMiddlewareAndRequireUser(t *testing.T) {
	s, _, _ := newService(t)
	ctx := context.Background()
	u, _ := s.CreateUser(ctx, "ana", "", "correct horse", RoleAdmin)
	plain, _, _ := s.CreateToken(ctx, u.ID, "t", []string{ScopeAdmin}, time.Time{})
	h := s.Middleware(RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := From(r.Context())
		_, _ = w.Write([]byte(p.Username))
	})))
	srv := httptest.NewServer(h)
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path, tok string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := get("/api/v1/x", ""); r.StatusCode != 401 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("api anonymous: %d", r.StatusCode)
	}
	if r := get("/inbox", ""); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Fatalf("page anonymous: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	if r := get("/api/v1/x", plain); r.StatusCode != 200 {
		t.Fatalf("token: %d", r.StatusCode)
	}
}
