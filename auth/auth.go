// Package auth authenticates people and programs for the web UI and the REST API:
// users with bcrypt passwords, browser sessions in HttpOnly SameSite=Strict cookies
// (a new id on every login), CSRF tokens bound to the session, rate-limited logins,
// scoped API tokens that are random, shown once and stored as SHA-256, and the
// one-time setup link that creates the first admin (there are no default
// credentials).
//
// Scopes say what a request may do at all; which conversations a user may see and
// change is decided by the router from Principal.Actor().
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/store"
)

// Errors of the package. Use errors.Is.
var (
	ErrUnauthenticated = errors.New("auth: not logged in")
	ErrThrottled       = errors.New("auth: too many failed logins; try again later")
	ErrBadCredentials  = errors.New("auth: wrong username or password")
	ErrWeakPassword    = errors.New("auth: the password must have at least 10 characters (at most 72 bytes)")
	// ErrInvalid wraps validation failures of usernames, roles, scopes and names.
	ErrInvalid = errors.New("auth: invalid input")
	// ErrSetupLink means the setup link is unknown, used or expired.
	ErrSetupLink = errors.New("auth: the setup link is invalid or has expired")
	// ErrSetupDone means a user exists, so no setup link is issued any more.
	ErrSetupDone = errors.New("auth: setup is done; a user exists already")
	// ErrNotFound is an unknown user or token.
	ErrNotFound = errors.New("auth: not found")
	// ErrDuplicate is a username that is taken.
	ErrDuplicate = errors.New("auth: username is taken")
)

// Scopes.
const (
	ScopeMessagesSend  = "messages:send"
	ScopeMessagesRead  = "messages:read"
	ScopeInboxRead     = "inbox:read"
	ScopeInboxWrite    = "inbox:write"
	ScopeContactsRead  = "contacts:read"
	ScopeContactsWrite = "contacts:write"
	ScopeModemsRead    = "modems:read"
	ScopeModemsAdmin   = "modems:admin"
	ScopeWebhooksAdmin = "webhooks:admin"
	ScopeAdmin         = "admin" // everything
)

// AllScopes lists every scope.
var AllScopes = []string{ScopeMessagesSend, ScopeMessagesRead, ScopeInboxRead, ScopeInboxWrite, ScopeContactsRead,
	ScopeContactsWrite, ScopeModemsRead, ScopeModemsAdmin, ScopeWebhooksAdmin, ScopeAdmin}

// Roles.
const (
	RoleAdmin      = "admin"
	RoleSupervisor = "supervisor"
	RoleDispatcher = "dispatcher"
	RoleViewer     = "viewer"
)

var (
	readScopes  = []string{ScopeMessagesRead, ScopeInboxRead, ScopeContactsRead, ScopeModemsRead}
	agentScopes = append(slices.Clone(readScopes), ScopeMessagesSend, ScopeInboxWrite, ScopeContactsWrite)
)

// RoleScopes returns the scopes a role grants (a browser session has exactly these; a
// token has at most these). Unknown roles get none.
func RoleScopes(role string) []string {
	switch role {
	case RoleAdmin:
		return slices.Clone(AllScopes)
	case RoleSupervisor, RoleDispatcher:
		return slices.Clone(agentScopes)
	case RoleViewer:
		return slices.Clone(readScopes)
	}
	return nil
}

// ValidRole reports whether role is one of the four roles.
func ValidRole(role string) bool {
	switch role {
	case RoleAdmin, RoleSupervisor, RoleDispatcher, RoleViewer:
		return true
	}
	return false
}

// Principal is who is making a request.
type Principal struct {
	UserID   int64
	Username string
	Name     string   // display name
	Role     string   // admin | supervisor | dispatcher | viewer
	Scopes   []string // nil for a browser session (role decides); token scopes otherwise
	Session  string   // session id (browser) or "" for a token
	TokenID  int64    // API token id, 0 for a browser session
}

// Actor is the principal as the inbox domain API sees it.
func (p Principal) Actor() router.Actor { return router.Actor{UserID: p.UserID, Role: p.Role} }

// Can reports whether the principal holds scope. The role always bounds it: a token
// never grants more than its user's role does, even if the role changed after the
// token was made.
func (p Principal) Can(scope string) bool {
	if p.UserID == 0 {
		return false
	}
	role := RoleScopes(p.Role)
	if !slices.Contains(role, ScopeAdmin) && !slices.Contains(role, scope) {
		return false
	}
	if p.Scopes == nil {
		return true
	}
	return slices.Contains(p.Scopes, ScopeAdmin) || slices.Contains(p.Scopes, scope)
}

// Options configure a Service. Zero values take the defaults noted.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// SessionTTL is how long a session lasts without use. Default 12 h.
	SessionTTL time.Duration
	// Secure sets the Secure flag on the session cookie (serve over HTTPS).
	Secure bool
	// Log receives warnings; nil discards.
	Log *slog.Logger
	// MaxFailuresPerUser and MaxFailuresPerIP bound failed logins within
	// FailureWindow. Defaults 5, 20 and 15 min.
	MaxFailuresPerUser, MaxFailuresPerIP int
	FailureWindow                        time.Duration
	// BcryptCost is the bcrypt work factor; 0 means bcrypt.DefaultCost. Tests lower it.
	BcryptCost int
}

// CookieName is the session cookie.
const CookieName = "smsgw_session"

// CSRFHeader is the request header fetch() puts the CSRF token in; forms use the
// field "csrf".
const CSRFHeader = "X-CSRF-Token"

// Service is the authentication service. It is safe for concurrent use.
type Service struct {
	db   *store.DB
	opts Options
	log  *slog.Logger
	// dummy is a bcrypt hash compared against when the username is unknown, so that
	// the answer takes as long as for a known one.
	dummy []byte

	mu      sync.Mutex
	touched map[string]time.Time // session hash or "t<id>" → last write of its use
}

// New returns the service.
func New(db *store.DB, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 12 * time.Hour
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.MaxFailuresPerUser <= 0 {
		o.MaxFailuresPerUser = 5
	}
	if o.MaxFailuresPerIP <= 0 {
		o.MaxFailuresPerIP = 20
	}
	if o.FailureWindow <= 0 {
		o.FailureWindow = 15 * time.Minute
	}
	if o.BcryptCost == 0 {
		o.BcryptCost = bcrypt.DefaultCost
	}
	dummy, _ := bcrypt.GenerateFromPassword([]byte(randomString(12)), o.BcryptCost)
	return &Service{db: db, opts: o, log: o.Log, dummy: dummy, touched: map[string]time.Time{}}
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("auth: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashHex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// --- users -------------------------------------------------------------------

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func checkPassword(pw string) error {
	if len([]rune(pw)) < 10 || len(pw) > 72 {
		return ErrWeakPassword
	}
	return nil
}

func (s *Service) hashPassword(pw string) (string, error) {
	if err := checkPassword(pw); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), s.opts.BcryptCost)
	if err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	return string(h), nil
}

func checkUser(username, displayName, role string) error {
	if !usernameRE.MatchString(username) {
		return fmt.Errorf("%w: username must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", ErrInvalid)
	}
	if len(displayName) > 100 || strings.ContainsAny(displayName, "\x00\r\n") {
		return fmt.Errorf("%w: display name must be at most 100 characters on one line", ErrInvalid)
	}
	if !ValidRole(role) {
		return fmt.Errorf("%w: role must be admin, supervisor, dispatcher or viewer", ErrInvalid)
	}
	return nil
}

func mapStore(err error) error {
	switch {
	case errors.Is(err, store.ErrDuplicate):
		return ErrDuplicate
	case errors.Is(err, store.ErrNotFound):
		return ErrNotFound
	}
	return err
}

// CreateUser adds a user with a bcrypt-hashed password of at least 10 characters.
func (s *Service) CreateUser(ctx context.Context, username, displayName, password, role string) (store.User, error) {
	if err := checkUser(username, displayName, role); err != nil {
		return store.User{}, err
	}
	h, err := s.hashPassword(password)
	if err != nil {
		return store.User{}, err
	}
	u, err := s.db.CreateUser(ctx, store.NewUser{Username: username, DisplayName: displayName, Role: role, PasswordHash: h})
	return u, mapStore(err)
}

// SetPassword replaces a user's password and ends their sessions.
func (s *Service) SetPassword(ctx context.Context, userID int64, password string) error {
	h, err := s.hashPassword(password)
	if err != nil {
		return err
	}
	return mapStore(s.db.SetPasswordHash(ctx, userID, h))
}

// Users lists every user.
func (s *Service) Users(ctx context.Context) ([]store.User, error) { return s.db.Users(ctx) }

// HasUsers reports whether any user exists (if not, serve prints a setup link).
func (s *Service) HasUsers(ctx context.Context) (bool, error) {
	n, err := s.db.CountUsers(ctx)
	return n > 0, err
}

// UserByUsername finds a user (for the CLI).
func (s *Service) UserByUsername(ctx context.Context, username string) (store.User, error) {
	u, err := s.db.UserByUsername(ctx, username)
	return u, mapStore(err)
}

// --- first run -----------------------------------------------------------------

// SetupTTL is how long a setup link is valid.
const SetupTTL = 24 * time.Hour

// SetupLink returns a one-time link (baseURL + "/setup?token=...") that creates the
// first admin. It works only while no user exists and expires after 24 h.
func (s *Service) SetupLink(ctx context.Context, baseURL string) (string, error) {
	has, err := s.HasUsers(ctx)
	if err != nil {
		return "", err
	}
	if has {
		return "", ErrSetupDone
	}
	tok := randomString(32)
	if err := s.db.AddSetupToken(ctx, hashHex(tok), s.opts.Now().Add(SetupTTL)); err != nil {
		return "", err
	}
	return strings.TrimRight(baseURL, "/") + "/setup?token=" + url.QueryEscape(tok), nil
}

// CompleteSetup creates the first user, an admin, from a setup link's token. The
// token stops working, as do all other setup tokens.
func (s *Service) CompleteSetup(ctx context.Context, token, username, displayName, password string) (store.User, error) {
	if err := checkUser(username, displayName, RoleAdmin); err != nil {
		return store.User{}, err
	}
	h, err := s.hashPassword(password)
	if err != nil {
		return store.User{}, err
	}
	u, err := s.db.CompleteSetup(ctx, hashHex(token), s.opts.Now(),
		store.NewUser{Username: username, DisplayName: displayName, Role: RoleAdmin, PasswordHash: h})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return u, ErrSetupLink
	case errors.Is(err, store.ErrSetupDone):
		return u, ErrSetupDone
	}
	return u, mapStore(err)
}

// --- sessions ---------------------------------------------------------------------

// Login checks a username and password and starts a new session (a fresh id every
// time, so a session id planted before login is worthless). Failed logins are counted
// per username and per IP; beyond the limits every attempt, right or wrong, fails
// with ErrThrottled until the window passes.
func (s *Service) Login(ctx context.Context, username, password, remoteIP string) (string, store.User, error) {
	now := s.opts.Now()
	since := now.Add(-s.opts.FailureWindow)
	userKey := "user:" + strings.ToLower(username)
	ipKey := "ip:" + remoteIP
	nu, err := s.db.LoginFailures(ctx, userKey, since)
	if err != nil {
		return "", store.User{}, err
	}
	ni, err := s.db.LoginFailures(ctx, ipKey, since)
	if err != nil {
		return "", store.User{}, err
	}
	if nu >= s.opts.MaxFailuresPerUser || ni >= s.opts.MaxFailuresPerIP {
		s.log.Warn("login throttled", "username", username, "remote", remoteIP)
		return "", store.User{}, ErrThrottled
	}
	u, err := s.db.UserByUsername(ctx, username)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", store.User{}, err
	}
	valid := err == nil && !u.Disabled && strings.HasPrefix(u.PasswordHash, "$")
	hash := s.dummy
	if valid {
		hash = []byte(u.PasswordHash)
	}
	// Compare even for an unknown user, so that timing does not tell which names exist.
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || !valid {
		if ferr := s.db.AddLoginFailure(ctx, now, userKey, ipKey); ferr != nil {
			return "", store.User{}, ferr
		}
		s.log.Info("login failed", "username", username, "remote", remoteIP)
		return "", store.User{}, ErrBadCredentials
	}
	if err := s.db.ClearLoginFailures(ctx, userKey); err != nil {
		return "", store.User{}, err
	}
	id := randomString(32)
	err = s.db.CreateSession(ctx, store.Session{IDHash: hashHex(id), UserID: u.ID, CSRF: csrfFor(id), RemoteIP: remoteIP,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.opts.SessionTTL)})
	if err != nil {
		return "", store.User{}, err
	}
	return id, u, nil
}

// Logout ends a session.
func (s *Service) Logout(ctx context.Context, sessionID string) error {
	if sessionID == "" {
		return nil
	}
	return s.db.DeleteSession(ctx, hashHex(sessionID))
}

// SetSessionCookie sets the session cookie: HttpOnly, SameSite=Strict, Secure per
// Options.Secure, for the whole site.
func (s *Service) SetSessionCookie(w http.ResponseWriter, sessionID string) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: sessionID, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.opts.Secure, MaxAge: int(s.opts.SessionTTL.Seconds())})
}

// ClearSessionCookie removes the session cookie.
func (s *Service) ClearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.opts.Secure, MaxAge: -1})
}

// csrfFor derives a session's CSRF token from its id: only someone who holds the
// (HttpOnly) cookie can compute it.
func csrfFor(sessionID string) string {
	h := sha256.Sum256([]byte("smsgw-csrf\x00" + sessionID))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// CSRFToken returns the CSRF token of the principal's session ("" for a token).
// Forms carry it in the field "csrf", fetch() in the header X-CSRF-Token.
func (s *Service) CSRFToken(p Principal) string {
	if p.Session == "" {
		return ""
	}
	return csrfFor(p.Session)
}

// CheckCSRF reports whether r may proceed: always for safe methods and for requests
// authenticated by token (a browser never sends those by itself); otherwise the header
// X-CSRF-Token or the form field "csrf" must match the session's token.
func (s *Service) CheckCSRF(r *http.Request, p Principal) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	if p.Session == "" {
		return p.TokenID != 0
	}
	want := csrfFor(p.Session)
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		ct := r.Header.Get("Content-Type")
		if strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data") {
			got = r.FormValue("csrf")
		}
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// --- tokens -----------------------------------------------------------------------

// TokenPrefix starts every API token, so that secret scanners can find leaked ones.
const TokenPrefix = "smsgw_"

// CreateToken makes an API token for a user with the given scopes (which the user's
// role must allow) and optional expiry (zero: never). The plaintext is returned once
// and only its SHA-256 is kept.
func (s *Service) CreateToken(ctx context.Context, userID int64, name string, scopes []string, expires time.Time) (string, store.APIToken, error) {
	u, err := s.db.User(ctx, userID)
	if err != nil {
		return "", store.APIToken{}, mapStore(err)
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 || strings.ContainsAny(name, "\x00\r\n") {
		return "", store.APIToken{}, fmt.Errorf("%w: name: 1-100 characters on one line", ErrInvalid)
	}
	if len(scopes) == 0 {
		return "", store.APIToken{}, fmt.Errorf("%w: scopes: at least one scope", ErrInvalid)
	}
	allowed := RoleScopes(u.Role)
	var clean []string
	for _, sc := range scopes {
		if !slices.Contains(AllScopes, sc) {
			return "", store.APIToken{}, fmt.Errorf("%w: scopes: unknown scope %q", ErrInvalid, sc)
		}
		if !slices.Contains(allowed, sc) {
			return "", store.APIToken{}, fmt.Errorf("%w: scopes: a %s cannot grant %q", ErrInvalid, u.Role, sc)
		}
		if !slices.Contains(clean, sc) {
			clean = append(clean, sc)
		}
	}
	now := s.opts.Now()
	if !expires.IsZero() && !expires.After(now) {
		return "", store.APIToken{}, fmt.Errorf("%w: expires_at: must be in the future", ErrInvalid)
	}
	plain := TokenPrefix + randomString(32)
	t, err := s.db.CreateToken(ctx, store.APIToken{UserID: userID, Name: name, Prefix: plain[:len(TokenPrefix)+6],
		Hash: hashHex(plain), Scopes: clean, CreatedAt: now, ExpiresAt: expires})
	if err != nil {
		return "", t, err
	}
	return plain, t, nil
}

// Tokens lists a user's tokens (all users' for userID 0).
func (s *Service) Tokens(ctx context.Context, userID int64) ([]store.APIToken, error) {
	return s.db.Tokens(ctx, userID)
}

// Token returns one token by id.
func (s *Service) Token(ctx context.Context, id int64) (store.APIToken, error) {
	t, err := s.db.Token(ctx, id)
	return t, mapStore(err)
}

// RevokeToken revokes a token; it stops working at once.
func (s *Service) RevokeToken(ctx context.Context, id int64) error {
	return mapStore(s.db.RevokeToken(ctx, id, s.opts.Now()))
}

// --- HTTP ---------------------------------------------------------------------------

// touchDue reports whether the use of key should be written (at most once a minute).
func (s *Service) touchDue(key string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if last, ok := s.touched[key]; ok && now.Sub(last) < time.Minute {
		return false
	}
	if len(s.touched) > 10000 {
		clear(s.touched)
	}
	s.touched[key] = now
	return true
}

// Authenticate identifies the caller from "Authorization: Bearer <token>" or the
// session cookie. Anything missing, unknown, expired, revoked or disabled is
// ErrUnauthenticated.
func (s *Service) Authenticate(r *http.Request) (Principal, error) {
	ctx := r.Context()
	now := s.opts.Now()
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
			return Principal{}, ErrUnauthenticated
		}
		t, u, err := s.db.TokenUser(ctx, hashHex(strings.TrimSpace(tok)))
		if errors.Is(err, store.ErrNotFound) {
			return Principal{}, ErrUnauthenticated
		}
		if err != nil {
			return Principal{}, err
		}
		if !t.Active(now) || u.Disabled {
			return Principal{}, ErrUnauthenticated
		}
		if s.touchDue(fmt.Sprintf("t%d", t.ID), now) {
			if err := s.db.TouchToken(ctx, t.ID, now); err != nil {
				s.log.Warn("record token use", "error", err)
			}
		}
		scopes := t.Scopes
		if scopes == nil {
			scopes = []string{}
		}
		return Principal{UserID: u.ID, Username: u.Username, Name: u.Name(), Role: u.Role, Scopes: scopes, TokenID: t.ID}, nil
	}
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return Principal{}, ErrUnauthenticated
	}
	idHash := hashHex(c.Value)
	_, u, err := s.db.SessionUser(ctx, idHash, now)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, err
	}
	if u.Disabled {
		return Principal{}, ErrUnauthenticated
	}
	if s.touchDue(idHash, now) {
		if err := s.db.TouchSession(ctx, idHash, now, now.Add(s.opts.SessionTTL)); err != nil {
			s.log.Warn("extend session", "error", err)
		}
	}
	return Principal{UserID: u.ID, Username: u.Username, Name: u.Name(), Role: u.Role, Session: c.Value}, nil
}

type ctxKey struct{}

// WithPrincipal returns a context carrying p (for tests and internal callers).
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// From returns the principal Middleware put in the context.
func From(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok && p.UserID != 0
}

// Middleware authenticates every request and puts the principal, if any, in its
// context. It never rejects: RequireUser and the API's permission checks do.
func (s *Service) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.Authenticate(r)
		if err != nil {
			if !errors.Is(err, ErrUnauthenticated) {
				s.log.Error("authenticate", "error", err)
			}
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// RequireUser lets only authenticated requests through: others get a 401 JSON error
// under /api/, and a redirect to /login elsewhere.
func RequireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := From(r.Context()); ok {
			next.ServeHTTP(w, r)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/api/") {
			WriteUnauthenticated(w)
			return
		}
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
	})
}

// WriteUnauthenticated writes the API's 401 answer.
func WriteUnauthenticated(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("WWW-Authenticate", `Bearer realm="smsgw"`)
	w.WriteHeader(http.StatusUnauthorized)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{
		"code": "unauthenticated", "message": "log in or send an API token (Authorization: Bearer ...)"}})
}

// RemoteIP is the client's address without the port (what login throttling counts).
func RemoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Run removes expired sessions and old login failures every hour until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		now := s.opts.Now()
		if _, err := s.db.DeleteExpiredSessions(ctx, now, now.Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
			s.log.Warn("expire sessions", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
