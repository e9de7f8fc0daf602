package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/smsgw/smsgw/auth"
	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/modem"
	"github.com/smsgw/smsgw/modem/sim"
	"github.com/smsgw/smsgw/queue"
	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/server"
	"github.com/smsgw/smsgw/store"
	"github.com/smsgw/smsgw/webhook"
)

// outbox and reports connect router and queue as the gateway does.
type outbox struct{ q *queue.Queue }

func (o outbox) Send(ctx context.Context, m router.Outgoing) (int64, error) {
	msg, _, err := o.q.Enqueue(ctx, queue.Request{To: m.To, Line: m.Line, Body: m.Body, Kind: m.Kind, AuthorID: m.AuthorID,
		ThreadID: m.ThreadID, IdempotencyKey: m.IdempotencyKey})
	return msg.ID, err
}

type reports struct{ q *queue.Queue }

func (r reports) ApplyStatusReport(ctx context.Context, sr router.StatusReport) (bool, error) {
	for range 50 {
		ok, err := r.q.ApplyStatusReport(ctx, sr.Modem, sr.MR, sr.Recipient, sr.Discharge, sr.Status)
		if !errors.Is(err, store.ErrReportEarly) {
			return ok, err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false, nil
}

// sessionModem adapts a modem session as the gateway does.
type sessionModem struct{ s *modem.Session }

func (m sessionModem) Info() ModemInfo {
	st := m.s.Status()
	return ModemInfo{Name: m.s.Name(), Ready: st.State == modem.StateReady, Problems: st.StorageFull, Status: st}
}
func (m sessionModem) WriteTrace(w io.Writer) error { _, err := m.s.Trace().WriteTo(w); return err }
func (m sessionModem) USSD(ctx context.Context, code string) (any, error) {
	r, err := m.s.USSD(ctx, code)
	return map[string]any{"status": r.Status, "text": r.Text}, err
}

type testEnv struct {
	t      *testing.T
	db     *store.DB
	bus    *event.Bus
	q      *queue.Queue
	rt     *router.Router
	auth   *auth.Service
	hooks  *webhook.Service
	api    *API
	srv    *server.Server
	ts     *httptest.Server
	net    *sim.Network
	sess   []*modem.Session
	sims   []*sim.Modem
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	admin, disp, viewer store.User
	tok                 map[string]string // name → plaintext token
}

const lineName = "office"

// newEnv builds the API on a real database, router, queue and (with modems) virtual
// modems on real ptys, served on 127.0.0.1.
func newEnv(t *testing.T, modems bool) *testEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e := &testEnv{t: t, ctx: ctx, cancel: cancel, tok: map[string]string{}}
	var err error
	if e.db, err = store.Open(ctx, filepath.Join(t.TempDir(), "api.db")); err != nil {
		t.Fatal(err)
	}
	if err := e.db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	e.bus = event.New(256, nil)
	e.q = queue.New(queue.Config{Region: "US", RetryBase: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond, Poll: 50 * time.Millisecond},
		e.db, nil, nil, nil)
	e.rt = router.New(router.Config{DefaultRegion: "US", LineForModem: func(string, string) string { return lineName },
		PollInterval: 100 * time.Millisecond}, router.Deps{DB: e.db, Bus: e.bus, Outbox: outbox{e.q}, Reports: reports{e.q}})
	e.auth = auth.New(e.db, auth.Options{BcryptCost: bcrypt.MinCost})
	envs := webhook.NewEnvelopes(e.bus, 1024)
	e.hooks = webhook.New(e.db, e.bus, envs, webhook.Options{RetryBase: 50 * time.Millisecond, Poll: 50 * time.Millisecond})
	var routes []queue.Route
	if modems {
		e.net = sim.NewNetwork(sim.NetworkConfig{})
		sm, err := e.net.NewModem(sim.ModemConfig{Name: "m0", Latency: sim.LatencyInstant()})
		if err != nil {
			t.Fatal(err)
		}
		if err := sm.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sm.Close() })
		e.sims = append(e.sims, sm)
		handler := func(ctx context.Context, in modem.Inbound) error {
			_, err := e.db.InsertInboundPDU(ctx, store.InboundPDU{Modem: in.Modem, IMEI: in.IMEI, IMSI: in.IMSI,
				Storage: in.Storage, Index: in.Index, PDU: in.PDU})
			if err == nil {
				e.rt.Notify()
			}
			return err
		}
		s := modem.NewSession(modem.Config{Name: sm.Name(), Port: sm.Path(), CommandTimeout: 2 * time.Second, SendTimeout: 10 * time.Second,
			HealthInterval: time.Second, SweepInterval: time.Second, QuietTime: 50 * time.Millisecond, TraceLines: 200,
			ReconnectMin: 20 * time.Millisecond, ReconnectMax: 200 * time.Millisecond,
			Find: func() []string { return []string{sm.Path()} }}, nil, handler, nil, nil)
		e.sess = append(e.sess, s)
		routes = append(routes, queue.Route{Sender: s, Lines: []string{lineName}})
		e.goRun(s.Run)
	}
	e.goRun(func(ctx context.Context) error { return e.q.Run(ctx, routes) })
	e.goRun(e.rt.Run)
	e.goRun(e.hooks.Run)
	e.api = New(Deps{DB: e.db, Auth: e.auth, Queue: e.q, Router: e.rt, Bus: e.bus, Envelopes: envs, Webhooks: e.hooks,
		Modems: func() []Modem {
			var ms []Modem
			for _, s := range e.sess {
				ms = append(ms, sessionModem{s})
			}
			return ms
		}, SSEHeartbeat: time.Second})
	e.srv = server.New(server.Options{Registry: prometheus.NewRegistry(), MaxBodyBytes: 4 << 20})
	e.api.Mount(e.srv.Router())
	e.ts = httptest.NewServer(e.srv.Handler())
	t.Cleanup(e.close)

	e.admin = e.user("ada", auth.RoleAdmin)
	e.disp = e.user("dee", auth.RoleDispatcher)
	e.viewer = e.user("vic", auth.RoleViewer)
	for _, u := range []store.User{e.admin, e.disp, e.viewer} {
		if err := e.rt.SetQueueMember(ctx, router.System, 1, u.ID, true); err != nil {
			t.Fatal(err)
		}
	}
	e.tok["admin"] = e.token(e.admin, auth.ScopeAdmin)
	e.tok["disp"] = e.token(e.disp, auth.RoleScopes(auth.RoleDispatcher)...)
	e.tok["viewer"] = e.token(e.viewer, auth.RoleScopes(auth.RoleViewer)...)
	return e
}

func (e *testEnv) goRun(f func(context.Context) error) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		_ = f(e.ctx)
	}()
}

func (e *testEnv) close() {
	e.ts.Close()
	e.cancel()
	e.wg.Wait()
	_ = e.db.Close()
}

func (e *testEnv) user(name, role string) store.User {
	u, err := e.auth.CreateUser(context.Background(), name, strings.ToUpper(name[:1])+name[1:], "correct horse battery", role)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

func (e *testEnv) token(u store.User, scopes ...string) string {
	plain, _, err := e.auth.CreateToken(context.Background(), u.ID, "test", scopes, time.Time{})
	if err != nil {
		e.t.Fatal(err)
	}
	return plain
}

type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

func (r resp) errCode() string {
	var e struct {
		Error struct{ Code, Message, Field string }
	}
	_ = json.Unmarshal(r.Body, &e)
	return e.Error.Code
}

// do sends a request with a token ("" for none); body is JSON-encoded unless it is a
// string or []byte.
func (e *testEnv) do(method, path, token string, body any) resp {
	e.t.Helper()
	return e.doClient(http.DefaultClient, method, path, token, body, nil)
}

func (e *testEnv) doClient(c *http.Client, method, path, token string, body any, hdr map[string]string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header, b}
}

// browser logs a user in and returns a client with the session cookie and its CSRF token.
func (e *testEnv) browser(username string) (*http.Client, string) {
	e.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	r := e.doClient(c, "POST", "/api/v1/login", "", map[string]string{"username": username, "password": "correct horse battery"}, nil)
	if r.Status != 200 {
		e.t.Fatalf("login: %d %s", r.Status, r.Body)
	}
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	r.json(e.t, &me)
	return c, me.CSRF
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func itos(id int64) string { return fmt.Sprint(id) }
