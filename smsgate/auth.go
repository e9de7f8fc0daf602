package smsgate

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/smsgw/smsgw/auth"
	"github.com/smsgw/smsgw/store"
)

// SMSGate scopes.
const (
	ScopeAll            = "all:any"
	ScopeMessagesSend   = "messages:send"
	ScopeMessagesRead   = "messages:read"
	ScopeMessagesList   = "messages:list"
	ScopeMessagesCancel = "messages:cancel"
	ScopeMessagesExport = "messages:export"
	ScopeDevicesList    = "devices:list"
	ScopeDevicesDelete  = "devices:delete"
	ScopeInboxList      = "inbox:list"
	ScopeInboxRead      = "inbox:read"
	ScopeInboxRefresh   = "inbox:refresh"
	ScopeWebhooksList   = "webhooks:list"
	ScopeWebhooksWrite  = "webhooks:write"
	ScopeWebhooksDelete = "webhooks:delete"
	ScopeSettingsRead   = "settings:read"
	ScopeSettingsWrite  = "settings:write"
	ScopeLogsRead       = "logs:read"
	ScopeTokensManage   = "tokens:manage"
	ScopeTokensRefresh  = "tokens:refresh" // only on refresh tokens
)

// grantable are the scopes a token may be issued with.
var grantable = []string{ScopeAll, ScopeMessagesSend, ScopeMessagesRead, ScopeMessagesList, ScopeMessagesCancel,
	ScopeMessagesExport, ScopeDevicesList, ScopeDevicesDelete, ScopeInboxList, ScopeInboxRead, ScopeInboxRefresh,
	ScopeWebhooksList, ScopeWebhooksWrite, ScopeWebhooksDelete, ScopeSettingsRead, ScopeSettingsWrite, ScopeLogsRead,
	ScopeTokensManage}

// roleScopes are the SMSGate scopes a user's role allows. Admins may do everything;
// agents send, read and cancel messages and read the inbox; viewers only read.
// Webhooks, settings and forgetting devices change the appliance: admins only, as on
// the native API.
func roleScopes(role string) []string {
	read := []string{ScopeMessagesRead, ScopeMessagesList, ScopeDevicesList, ScopeInboxList, ScopeInboxRead,
		ScopeSettingsRead, ScopeLogsRead, ScopeTokensManage}
	switch role {
	case auth.RoleAdmin:
		return []string{ScopeAll}
	case auth.RoleSupervisor, auth.RoleDispatcher:
		return append(read, ScopeMessagesSend, ScopeMessagesCancel, ScopeMessagesExport, ScopeInboxRefresh)
	case auth.RoleViewer:
		return read
	}
	return nil
}

// Principal is the caller of a request.
type Principal struct {
	UserID   int64
	Username string
	Role     string
	Scopes   []string
	JTI      string // the JWT's id; "" for Basic
	Refresh  bool   // authenticated by a refresh token
}

// can reports whether the principal holds scope. tokens:refresh is held only by a
// refresh token (never through all:any), and a refresh token holds nothing else.
func (p Principal) can(scope string) bool {
	if scope == ScopeTokensRefresh || p.Refresh {
		return p.Refresh && scope == ScopeTokensRefresh
	}
	return slices.Contains(p.Scopes, ScopeAll) || slices.Contains(p.Scopes, scope)
}

// allowedFor bounds scopes by a role.
func allowedFor(role string, scopes []string) []string {
	rs := roleScopes(role)
	if slices.Contains(rs, ScopeAll) {
		return scopes
	}
	var out []string
	for _, s := range scopes {
		if s == ScopeAll {
			out = append(out, rs...)
		} else if slices.Contains(rs, s) {
			out = append(out, s)
		}
	}
	return out
}

// authenticate identifies the caller from Basic credentials (the appliance's users)
// or a Bearer token (a JWT issued by /auth/token, or a native API token).
func (a *API) authenticate(r *http.Request) (Principal, error) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	switch {
	case strings.EqualFold(scheme, "Basic") && cred != "":
		return a.authBasic(r, cred)
	case strings.EqualFold(scheme, "Bearer") && cred != "":
		if strings.HasPrefix(cred, auth.TokenPrefix) {
			return a.authNativeToken(r, cred)
		}
		return a.authJWT(r.Context(), cred)
	}
	return Principal{}, errUnauthorized
}

// --- Basic ---------------------------------------------------------------------------

// basicCache remembers successful Basic verifications for a short while, keyed by an
// HMAC of the credentials under a per-process random key (bcrypt on every request
// would cost ~100 ms of CPU; the key keeps the map from being a password oracle).
type basicCache struct {
	key   []byte
	dummy []byte
	mu    sync.Mutex
	m     map[string]basicEntry
}

type basicEntry struct {
	userID  int64
	expires time.Time
}

// basicTTL is how long a verified password is trusted without bcrypt.
const basicTTL = 30 * time.Second

func newBasicCache(cost int) *basicCache {
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic("smsgate: crypto/rand failed: " + err.Error())
	}
	dummy, _ := bcrypt.GenerateFromPassword(key[:16], cost)
	return &basicCache{key: key, dummy: dummy, m: map[string]basicEntry{}}
}

func (c *basicCache) mac(user, pass string) string {
	h := hmac.New(sha256.New, c.key)
	h.Write([]byte(user))
	h.Write([]byte{0})
	h.Write([]byte(pass))
	return string(h.Sum(nil))
}

func (c *basicCache) get(k string, now time.Time) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || now.After(e.expires) {
		delete(c.m, k)
		return 0, false
	}
	return e.userID, true
}

func (c *basicCache) put(k string, id int64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) > 1000 {
		clear(c.m)
	}
	c.m[k] = basicEntry{userID: id, expires: now.Add(basicTTL)}
}

// Login throttling, shared with the web UI's counters (same keys and limits).
const (
	maxFailuresPerUser = 5
	maxFailuresPerIP   = 20
	failureWindow      = 15 * time.Minute
)

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (a *API) authBasic(r *http.Request, cred string) (Principal, error) {
	ctx := r.Context()
	raw, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		return Principal{}, errUnauthorized
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok || user == "" || len(user) > 64 || len(pass) > 200 {
		return Principal{}, errUnauthorized
	}
	now := a.d.Now()
	key := a.basic.mac(user, pass)
	if id, ok := a.basic.get(key, now); ok {
		u, err := a.d.DB.User(ctx, id)
		if err == nil && !u.Disabled && strings.EqualFold(u.Username, user) {
			return principalOf(u, nil), nil
		}
	}
	userKey, ipKey := "user:"+strings.ToLower(user), "ip:"+remoteIP(r)
	since := now.Add(-failureWindow)
	nu, err := a.d.DB.LoginFailures(ctx, userKey, since)
	if err != nil {
		return Principal{}, err
	}
	ni, err := a.d.DB.LoginFailures(ctx, ipKey, since)
	if err != nil {
		return Principal{}, err
	}
	if nu >= maxFailuresPerUser || ni >= maxFailuresPerIP {
		return Principal{}, errf(http.StatusTooManyRequests, "too many failed logins; try again in a few minutes")
	}
	u, err := a.d.DB.UserByUsername(ctx, user)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Principal{}, err
	}
	valid := err == nil && !u.Disabled && strings.HasPrefix(u.PasswordHash, "$")
	hash := a.basic.dummy
	if valid {
		hash = []byte(u.PasswordHash)
	}
	// Compare even for unknown users, so timing does not tell which names exist.
	if bcrypt.CompareHashAndPassword(hash, []byte(pass)) != nil || !valid {
		if err := a.d.DB.AddLoginFailure(ctx, now, userKey, ipKey); err != nil {
			return Principal{}, err
		}
		a.log.Info("smsgate basic auth failed", "username", user, "remote", remoteIP(r))
		return Principal{}, errUnauthorized
	}
	if nu > 0 {
		if err := a.d.DB.ClearLoginFailures(ctx, userKey); err != nil {
			return Principal{}, err
		}
	}
	a.basic.put(key, u.ID, now)
	return principalOf(u, nil), nil
}

func principalOf(u store.User, scopes []string) Principal {
	if scopes == nil {
		scopes = roleScopes(u.Role)
	} else {
		scopes = allowedFor(u.Role, scopes)
	}
	return Principal{UserID: u.ID, Username: u.Username, Role: u.Role, Scopes: scopes}
}

// authNativeToken accepts the appliance's own API tokens: their native scopes map to
// the SMSGate scopes of the same reach.
func (a *API) authNativeToken(r *http.Request, tok string) (Principal, error) {
	ctx := r.Context()
	sum := sha256.Sum256([]byte(tok))
	t, u, err := a.d.DB.TokenUser(ctx, hex.EncodeToString(sum[:]))
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, errUnauthorized
	}
	if err != nil {
		return Principal{}, err
	}
	if !t.Active(a.d.Now()) || u.Disabled {
		return Principal{}, errUnauthorized
	}
	var scopes []string
	for _, s := range t.Scopes {
		switch s {
		case auth.ScopeAdmin:
			scopes = append(scopes, ScopeAll)
		case auth.ScopeMessagesSend:
			scopes = append(scopes, ScopeMessagesSend, ScopeMessagesCancel, ScopeMessagesExport, ScopeInboxRefresh)
		case auth.ScopeMessagesRead:
			scopes = append(scopes, ScopeMessagesRead, ScopeMessagesList, ScopeLogsRead)
		case auth.ScopeInboxRead:
			scopes = append(scopes, ScopeInboxList, ScopeInboxRead)
		case auth.ScopeModemsRead:
			scopes = append(scopes, ScopeDevicesList, ScopeSettingsRead)
		case auth.ScopeModemsAdmin:
			scopes = append(scopes, ScopeDevicesDelete, ScopeSettingsWrite)
		case auth.ScopeWebhooksAdmin:
			scopes = append(scopes, ScopeWebhooksList, ScopeWebhooksWrite, ScopeWebhooksDelete)
		}
	}
	if scopes == nil {
		scopes = []string{}
	}
	return principalOf(u, scopes), nil
}

// --- JWT (HS256) -----------------------------------------------------------------------

const (
	jwtIssuer       = "smsgw-smsgate"
	metaJWTSecret   = "smsgate_jwt_secret"
	defaultTokenTTL = 24 * time.Hour
	maxTokenTTL     = 365 * 24 * time.Hour
	refreshTokenTTL = 30 * 24 * time.Hour
)

type claims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	IssuedAt  int64    `json:"iat"`
	ExpiresAt int64    `json:"exp"`
	ID        string   `json:"jti"`
	Scopes    []string `json:"scopes"`
}

var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// secret returns the HS256 key, creating and persisting it on first use.
func (a *API) secret(ctx context.Context) ([]byte, error) {
	a.jwtMu.Lock()
	defer a.jwtMu.Unlock()
	if a.jwtKey != nil {
		return a.jwtKey, nil
	}
	v, err := a.d.DB.Meta(ctx, metaJWTSecret)
	if errors.Is(err, store.ErrNotFound) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		v = hex.EncodeToString(b)
		err = a.d.DB.SetMeta(ctx, metaJWTSecret, v)
	}
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(v)
	if err != nil || len(key) < 16 {
		return nil, errors.New("smsgate: the stored JWT secret is malformed")
	}
	a.jwtKey = key
	return key, nil
}

func signJWT(key []byte, c claims) (string, error) {
	body, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	msg := jwtHeader + "." + base64.RawURLEncoding.EncodeToString(body)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msg))
	return msg + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), nil
}

// parseJWT checks an HS256 token's signature, issuer and expiry.
func parseJWT(key []byte, tok string, now time.Time) (claims, error) {
	var c claims
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || len(tok) > 8192 {
		return c, errUnauthorized
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return c, errUnauthorized
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(hb, &hdr) != nil || hdr.Alg != "HS256" {
		return c, errUnauthorized
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return c, errUnauthorized
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return c, errUnauthorized
	}
	cb, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(cb, &c) != nil {
		return c, errUnauthorized
	}
	if c.Issuer != jwtIssuer || c.ID == "" || now.Unix() >= c.ExpiresAt {
		return c, errUnauthorized
	}
	return c, nil
}

func (a *API) authJWT(ctx context.Context, tok string) (Principal, error) {
	key, err := a.secret(ctx)
	if err != nil {
		return Principal{}, err
	}
	now := a.d.Now()
	c, err := parseJWT(key, tok, now)
	if err != nil {
		return Principal{}, err
	}
	t, err := a.d.DB.SMSGateTokenByJTI(ctx, c.ID)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, errUnauthorized
	}
	if err != nil {
		return Principal{}, err
	}
	if !t.RevokedAt.IsZero() || !now.Before(t.ExpiresAt) || strconv.FormatInt(t.UserID, 10) != c.Subject {
		return Principal{}, errUnauthorized
	}
	u, err := a.d.DB.User(ctx, t.UserID)
	if err != nil || u.Disabled {
		return Principal{}, errUnauthorized
	}
	if t.Kind == "refresh" {
		return Principal{UserID: u.ID, Username: u.Username, Role: u.Role, Scopes: []string{ScopeTokensRefresh}, JTI: t.JTI, Refresh: true}, nil
	}
	p := principalOf(u, c.Scopes)
	p.JTI = t.JTI
	return p, nil
}
