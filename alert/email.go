package alert

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strconv"
	"strings"
	"time"
)

// SMTP sends email through a submission server: STARTTLS (required unless turned
// off), then AUTH PLAIN when a user is set. net/smtp refuses to send a password over
// a connection that is neither encrypted nor to localhost.
type SMTP struct {
	Host     string
	Port     int // default 587
	Username string
	Password string
	From     string
	// NoStartTLS allows a plain connection (a local relay); STARTTLS is required
	// otherwise.
	NoStartTLS bool
	// TLS overrides the TLS settings (tests trust their own certificate); nil verifies
	// Host against the system roots.
	TLS *tls.Config
	// Timeout bounds the whole exchange. Default 30 s.
	Timeout time.Duration
}

// headerSafe drops line breaks and other control characters from header values.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// Send delivers one plain-text message to the recipients.
func (m *SMTP) Send(ctx context.Context, to []string, subject, body string) error {
	if m.Host == "" || m.From == "" || len(to) == 0 {
		return errors.New("alert: email: host, from and a recipient are needed")
	}
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return fmt.Errorf("alert: email: from: %w", err)
	}
	var rcpts []string
	for _, t := range to {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return fmt.Errorf("alert: email: recipient %q: %w", t, err)
		}
		rcpts = append(rcpts, a.Address)
	}
	port := m.Port
	if port == 0 {
		port = 587
	}
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d := net.Dialer{}
	conn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(m.Host, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("alert: email: %w", err)
	}
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, m.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("alert: email: %w", err)
	}
	defer c.Close()
	if err := c.Hello("smsgw"); err != nil {
		return fmt.Errorf("alert: email: hello: %w", err)
	}
	if !m.NoStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("alert: email: the server does not offer STARTTLS (set no_starttls for a local relay)")
		}
		cfg := &tls.Config{ServerName: m.Host, MinVersion: tls.VersionTLS12}
		if m.TLS != nil {
			cfg = m.TLS.Clone()
			if cfg.ServerName == "" {
				cfg.ServerName = m.Host
			}
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("alert: email: starttls: %w", err)
		}
	}
	if m.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", m.Username, m.Password, m.Host)); err != nil {
			return fmt.Errorf("alert: email: auth: %w", err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("alert: email: mail from: %w", err)
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r); err != nil {
			return fmt.Errorf("alert: email: rcpt %s: %w", r, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("alert: email: data: %w", err)
	}
	if _, err := w.Write(buildMessage(from, rcpts, subject, body, time.Now())); err != nil {
		return fmt.Errorf("alert: email: write: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("alert: email: %w", err)
	}
	return c.Quit()
}

// buildMessage renders the headers and a quoted-printable UTF-8 body. The subject is
// encoded (RFC 2047) and stripped of line breaks: it may carry SMS text.
func buildMessage(from *mail.Address, to []string, subject, body string, now time.Time) []byte {
	var b bytes.Buffer
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	host := "smsgw"
	if i := strings.LastIndex(from.Address, "@"); i >= 0 {
		host = from.Address[i+1:]
	}
	fmt.Fprintf(&b, "From: %s\r\n", from.String())
	fmt.Fprintf(&b, "To: %s\r\n", strings.Join(to, ", "))
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", headerSafe(subject)))
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", hex.EncodeToString(id), host)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n")
	b.WriteString("Auto-Submitted: auto-generated\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n")))
	_ = qp.Close()
	b.WriteString("\r\n")
	return b.Bytes()
}
