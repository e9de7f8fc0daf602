package alert

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/sms"
	"github.com/smsgw/smsgw/store"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Mail is one message the test SMTP server accepted.
type Mail struct {
	From    string
	To      []string
	User    string // who authenticated
	TLS     bool   // the message came over STARTTLS
	Subject string
	Body    string // decoded text
}

// mailServer is an in-process SMTP submission server on 127.0.0.1 that offers
// STARTTLS with a throwaway certificate and requires AUTH PLAIN before MAIL.
type mailServer struct {
	srv        *smtp.Server
	addr       string
	port       int
	clientTLS  *tls.Config
	user, pass string

	mu   sync.Mutex
	got  []Mail
	more chan struct{}
}

func newMailServer(t *testing.T, starttls bool) *mailServer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	ms := &mailServer{user: "smsgw@example.com", pass: "s3cret-pass", more: make(chan struct{}, 100),
		clientTLS: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	ms.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &mailSession{ms: ms, conn: c}, nil
	}))
	ms.srv.Domain = "127.0.0.1"
	ms.srv.ReadTimeout, ms.srv.WriteTimeout = 10*time.Second, 10*time.Second
	if starttls {
		ms.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
			MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ms.addr = ln.Addr().String()
	ms.port = ln.Addr().(*net.TCPAddr).Port
	done := make(chan struct{})
	go func() { defer close(done); _ = ms.srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = ms.srv.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("SMTP server did not stop")
		}
	})
	return ms
}

// client returns an SMTP sender configured for this server.
func (ms *mailServer) client() *SMTP {
	return &SMTP{Host: "127.0.0.1", Port: ms.port, Username: ms.user, Password: ms.pass, From: "smsgw <smsgw@example.com>",
		TLS: ms.clientTLS, Timeout: 10 * time.Second}
}

func (ms *mailServer) messages() []Mail {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return append([]Mail(nil), ms.got...)
}

// wait waits up to d for a message that matches.
func (ms *mailServer) wait(t *testing.T, d time.Duration, match func(Mail) bool) Mail {
	t.Helper()
	deadline := time.After(d)
	for {
		for _, m := range ms.messages() {
			if match(m) {
				return m
			}
		}
		select {
		case <-ms.more:
		case <-deadline:
			t.Fatalf("no matching email within %s; got %+v", d, ms.messages())
		}
	}
}

type mailSession struct {
	ms   *mailServer
	conn *smtp.Conn
	user string
	cur  Mail
}

func (s *mailSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *mailSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.ms.user || pass != s.ms.pass {
			return errors.New("invalid credentials")
		}
		s.user = user
		return nil
	}), nil
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.user == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "authentication required"}
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.cur = Mail{From: from, User: s.user, TLS: isTLS}
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	dec := new(mime.WordDecoder)
	subj, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return err
	}
	var body io.Reader = msg.Body
	if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		body = quotedprintable.NewReader(msg.Body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	s.cur.Subject, s.cur.Body = subj, strings.ReplaceAll(string(b), "\r\n", "\n")
	s.ms.mu.Lock()
	s.ms.got = append(s.ms.got, s.cur)
	s.ms.mu.Unlock()
	select {
	case s.ms.more <- struct{}{}:
	default:
	}
	return nil
}

func (s *mailSession) Reset()        { s.cur = Mail{} }
func (s *mailSession) Logout() error { return nil }

// memOutbox is the router's outbox without a queue: it records the message rows.
type memOutbox struct {
	db   *store.DB
	now  func() time.Time
	mu   sync.Mutex
	sent []router.Outgoing
}

func (o *memOutbox) Send(ctx context.Context, m router.Outgoing) (int64, error) {
	id, err := o.db.RecordOutbound(ctx, store.OutboundRecord{Kind: m.Kind, Peer: m.To, Line: m.Line, ThreadID: m.ThreadID,
		Body: m.Body, AuthorID: m.AuthorID, IdempotencyKey: m.IdempotencyKey, At: o.now()})
	if err != nil {
		return 0, err
	}
	o.mu.Lock()
	o.sent = append(o.sent, m)
	o.mu.Unlock()
	return id, nil
}

func (o *memOutbox) Sent() []router.Outgoing {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]router.Outgoing(nil), o.sent...)
}

// unit is the alert service on a fresh database with a router whose outbox records.
type unit struct {
	t   *testing.T
	ctx context.Context
	db  *store.DB
	bus *event.Bus
	clk *clock
	out *memOutbox
	rt  *router.Router
	svc *Service
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func openDB(t *testing.T) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "smsgw.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

func newUnit(t *testing.T, cfg Config) *unit {
	t.Helper()
	db := openDB(t)
	clk := &clock{t: t0}
	bus := event.New(1000, clk.Now)
	out := &memOutbox{db: db, now: clk.Now}
	rt := router.New(router.Config{DefaultRegion: "DE"}, router.Deps{DB: db, Bus: bus, Outbox: out, Now: clk.Now})
	if cfg.DefaultLine == "" {
		cfg.DefaultLine = "l1"
	}
	svc := New(cfg, Deps{DB: db, Router: rt, Bus: bus, Now: clk.Now})
	return &unit{t: t, ctx: context.Background(), db: db, bus: bus, clk: clk, out: out, rt: rt, svc: svc}
}

func (u *unit) template(name, body string) store.AlertTemplate {
	u.t.Helper()
	tpl, err := u.db.SaveAlertTemplate(u.ctx, store.AlertTemplate{Name: name, Body: body}, u.clk.Now())
	if err != nil {
		u.t.Fatal(err)
	}
	return tpl
}

func (u *unit) rule(r store.AlertRule) store.AlertRule {
	u.t.Helper()
	r.Enabled = true
	saved, err := u.db.SaveAlertRule(u.ctx, r, u.clk.Now())
	if err != nil {
		u.t.Fatal(err)
	}
	return saved
}

func ptr[T any](v T) *T { return &v }

// storeInbound stores the PDUs of a text from a phone as modem "l1" received them.
func storeInbound(ctx context.Context, db *store.DB, from, text string, at time.Time) error {
	pdus, err := sms.EncodeDeliver(from, text, sms.DeliverOptions{Time: at})
	if err != nil {
		return err
	}
	for _, p := range pdus {
		if _, err := db.InsertInboundPDU(ctx, store.InboundPDU{Modem: "l1", IMSI: "001010000000001", PDU: p.Bytes}); err != nil {
			return err
		}
	}
	return nil
}
