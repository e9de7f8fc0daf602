package webui

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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

// stack is a whole gateway in the test process: SQLite, the queue, the router, one
// virtual modem on a real pty driven by a real modem session, the auth service and
// the UI on an httptest server on 127.0.0.1.
type stack struct {
	t       *testing.T
	db      *store.DB
	bus     *event.Bus
	q       *queue.Queue
	rt      *router.Router
	auth    *auth.Service
	farm    *sim.Farm
	hooks   *webhook.Service
	ui      *UI
	srv     *httptest.Server
	url     string
	modemNo string // the virtual modem's number (the line customers text)
	cancel  context.CancelFunc
	done    chan struct{}
}

const testPassword = "correct horse battery"

type outbox struct{ q *queue.Queue }

func (o outbox) Send(ctx context.Context, m router.Outgoing) (int64, error) {
	msg, _, err := o.q.Enqueue(ctx, queue.Request{To: m.To, Line: m.Line, Body: m.Body, Kind: m.Kind,
		AuthorID: m.AuthorID, ThreadID: m.ThreadID, IdempotencyKey: m.IdempotencyKey})
	if err != nil {
		return 0, err
	}
	return msg.ID, nil
}

type reports struct{ q *queue.Queue }

func (r reports) ApplyStatusReport(ctx context.Context, sr router.StatusReport) (bool, error) {
	for range 50 {
		ok, err := r.q.ApplyStatusReport(ctx, sr.Modem, sr.MR, sr.Recipient, sr.Discharge, sr.Status)
		if !errors.Is(err, store.ErrReportEarly) {
			return ok, err
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return false, nil
}

func newStack(t *testing.T, perms router.Permissions) *stack {
	t.Helper()
	return newStackN(t, perms, 1)
}

// newStackN is newStack with n virtual modems, each on a line named after it (m0,
// m1, …); customers text the first.
func newStackN(t *testing.T, perms router.Permissions, n int) *stack {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("SMSGW_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &stack{t: t, cancel: cancel, done: make(chan struct{})}
	dir := t.TempDir()
	db, err := store.Open(ctx, filepath.Join(dir, "smsgw.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	s.db = db
	s.bus = event.New(1024, nil)
	reg := prometheus.NewRegistry()
	s.q = queue.New(queue.Config{Region: "US"}, db, log, reg, nil)
	s.rt = router.New(router.Config{DefaultRegion: "US", Permissions: perms, PollInterval: 200 * time.Millisecond},
		router.Deps{DB: db, Bus: s.bus, Outbox: outbox{s.q}, Reports: reports{s.q}, Log: log})

	lat := sim.LatencyInstant()
	s.farm, err = sim.Start(sim.Config{Modems: n, Latency: lat, FirstNumber: "+12025550100", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	s.modemNo = s.farm.Modems[0].Identity().MSISDN
	handler := func(ctx context.Context, in modem.Inbound) error {
		_, err := db.InsertInboundPDU(ctx, store.InboundPDU{Modem: in.Modem, IMEI: in.IMEI, IMSI: in.IMSI,
			Storage: in.Storage, Index: in.Index, PDU: in.PDU})
		if err == nil {
			s.rt.Notify()
		}
		return err
	}
	metrics := modem.NewMetrics(reg)
	var sessions []*modem.Session
	var routes []queue.Route
	for _, m := range s.farm.Modems {
		port := m.Path()
		sess := modem.NewSession(modem.Config{Name: m.Name(), Port: port, Find: func() []string { return []string{port} },
			HealthInterval: 2 * time.Second, SweepInterval: 5 * time.Second, TraceLines: 200}, log, handler, nil, metrics)
		sessions = append(sessions, sess)
		routes = append(routes, queue.Route{Sender: sess, Lines: []string{m.Name()}})
	}
	s.hooks = webhook.New(db, s.bus, webhook.NewEnvelopes(s.bus, 64), webhook.Options{Log: log})

	s.auth = auth.New(db, auth.Options{Log: log, BcryptCost: 4})
	s.ui, err = New(Options{Logger: log, Version: "test", Instance: "test", DB: db, Router: s.rt, Queue: s.q,
		Bus: s.bus, Auth: s.auth, Sessions: func() []*modem.Session { return sessions }, Routes: routes, Webhooks: s.hooks,
		Demo: s.farm, Done: ctx.Done(), Settings: []Setting{{Name: "Grace window", Value: "72h"}}})
	if err != nil {
		t.Fatal(err)
	}
	hs := server.New(server.Options{Logger: log, Registry: reg})
	s.ui.Mount(hs.Router())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: hs.Handler(), ReadHeaderTimeout: 5 * time.Second}}
	s.srv.Start()
	s.url = s.srv.URL

	go func() {
		defer close(s.done)
		errc := make(chan error, 2+len(sessions))
		for _, sess := range sessions {
			go func() { errc <- sess.Run(ctx) }()
		}
		go func() { errc <- s.rt.Run(ctx) }()
		go func() { errc <- s.q.Run(ctx, routes) }()
		for range 2 + len(sessions) {
			<-errc
		}
	}()
	wctx, wcancel := context.WithTimeout(ctx, 60*time.Second)
	defer wcancel()
	for _, sess := range sessions {
		if err := sess.WaitReady(wctx); err != nil {
			t.Fatalf("virtual modem %s not ready: %v", sess.Name(), err)
		}
	}
	t.Cleanup(s.close)
	return s
}

func (s *stack) close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
	s.cancel()
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		s.t.Error("gateway parts did not stop")
	}
	if err := s.farm.Close(); err != nil {
		s.t.Logf("close farm: %v", err)
	}
	s.bus.Close()
	if err := s.db.Close(); err != nil {
		s.t.Logf("close db: %v", err)
	}
}

// user creates a user who is a ready member of the default queue.
func (s *stack) user(username, name, role string) store.User {
	s.t.Helper()
	ctx := context.Background()
	u, err := s.auth.CreateUser(ctx, username, name, testPassword, role)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.rt.SetQueueMember(ctx, router.System, store.DefaultQueueID, u.ID, true); err != nil {
		s.t.Fatal(err)
	}
	if err := s.rt.SetAvailability(ctx, router.System, u.ID, store.AvailabilityReady); err != nil {
		s.t.Fatal(err)
	}
	return u
}

// text sends an SMS from a virtual phone to the gateway.
func (s *stack) text(from, body string) {
	s.t.Helper()
	if err := s.farm.Network.Phone(from).Send(s.modemNo, body, sim.SendOptions{}); err != nil {
		s.t.Fatal(err)
	}
}

// waitConversation waits until a conversation with a contact numbered from exists.
func (s *stack) waitConversation(from string) store.ConversationItem {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := s.db.ContactByNumber(context.Background(), from); err == nil {
			page, err := s.db.Conversations(context.Background(), store.ConversationFilter{ContactID: c.ID,
				Visibility: store.Visibility{All: true}})
			if err == nil && len(page.Items) > 0 {
				return page.Items[0]
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("no conversation from %s", from)
	return store.ConversationItem{}
}

// client is a cookie-keeping HTTP client that does not follow redirects.
func (s *stack) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// login signs c in as username and returns the CSRF token of the session.
func (s *stack) login(c *http.Client, username string) string {
	s.t.Helper()
	resp, err := c.Get(s.url + "/login")
	if err != nil {
		s.t.Fatal(err)
	}
	body := readBody(s.t, resp)
	pre := between(body, `name="csrf" value="`, `"`)
	resp, err = c.PostForm(s.url+"/login", url.Values{"csrf": {pre}, "username": {username}, "password": {testPassword},
		"next": {"/inbox"}})
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		s.t.Fatalf("login %s: %s", username, resp.Status)
	}
	resp, err = c.Get(s.url + "/inbox")
	if err != nil {
		s.t.Fatal(err)
	}
	body = readBody(s.t, resp)
	tok := between(body, `<meta name="csrf-token" content="`, `"`)
	if tok == "" {
		s.t.Fatalf("no csrf token on the inbox page:\n%s", body)
	}
	return tok
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

func between(s, a, b string) string {
	_, rest, ok := strings.Cut(s, a)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, b)
	return v
}
