package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/smsgw/smsgw/sms"
)

// testNet creates a network with instant modems and stops them at the end.
func testNet(t *testing.T, cfgs ...ModemConfig) (*Network, []*Modem) {
	t.Helper()
	n := NewNetwork(NetworkConfig{})
	var ms []*Modem
	for i, cfg := range cfgs {
		if cfg.Name == "" {
			cfg.Name = "modem" + string(rune('0'+i))
		}
		if cfg.Latency.RingEvery == 0 {
			cfg.Latency = LatencyInstant()
		}
		m, err := n.NewModem(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := m.Close(); err != nil {
				t.Error(err)
			}
		})
		ms = append(ms, m)
	}
	return n, ms
}

// client is a test terminal on a modem's pty.
type client struct {
	t   *testing.T
	f   *os.File
	buf bytes.Buffer
}

func dial(t *testing.T, path string) *client {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := makeRaw(f); err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, f: f}
	t.Cleanup(func() { _ = f.Close() })
	return c
}

func (c *client) write(s string) {
	c.t.Helper()
	if _, err := c.f.WriteString(s); err != nil {
		c.t.Fatal(err)
	}
}

var finalRE = regexp.MustCompile(`(?m)^(OK|ERROR|\+CM[ES] ERROR: [^\r]*|NO CARRIER|COMMAND NOT SUPPORT)\r\n`)

// readUntil reads until re matches the accumulated output or d passes; it
// returns everything read up to and including the match.
func (c *client) readUntil(re *regexp.Regexp, d time.Duration) (string, bool) {
	deadline := time.Now().Add(d)
	b := make([]byte, 4096)
	for {
		if loc := re.FindIndex(c.buf.Bytes()); loc != nil {
			out := string(c.buf.Next(loc[1]))
			return out, true
		}
		if time.Now().After(deadline) {
			return c.buf.String(), false
		}
		_ = c.f.SetReadDeadline(deadline)
		n, err := c.f.Read(b)
		c.buf.Write(b[:n])
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return c.buf.String(), false
		}
	}
}

// cmd sends a command line and returns the answer up to the final result.
func (c *client) cmd(line string) string {
	c.t.Helper()
	c.write(line + "\r")
	out, ok := c.readUntil(finalRE, 5*time.Second)
	if !ok {
		c.t.Fatalf("%q: no final result, got %q", line, out)
	}
	return out
}

// expect sends a command and checks that the answer contains want.
func (c *client) expect(line string, want ...string) string {
	c.t.Helper()
	out := c.cmd(line)
	for _, w := range want {
		if !strings.Contains(out, w) {
			c.t.Errorf("%q: answer %q lacks %q", line, out, w)
		}
	}
	return out
}

// drain discards what arrives within d.
func (c *client) drain(d time.Duration) string {
	out, _ := c.readUntil(regexp.MustCompile(`\x00never`), d)
	c.buf.Reset()
	return out
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func encodeDeliverForTest(from, text string) ([]byte, error) {
	pdus, err := sms.EncodeDeliver(from, text, sms.DeliverOptions{SMSC: "+491720000000"})
	if err != nil {
		return nil, err
	}
	if len(pdus) != 1 {
		return nil, fmt.Errorf("%d parts", len(pdus))
	}
	return pdus[0].Bytes, nil
}
