package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/smsgw/smsgw/modem"
	"github.com/smsgw/smsgw/modem/sim"
	"github.com/smsgw/smsgw/sms"
)

// diagSim starts a virtual modem on a real pty; it is unplugged when the test ends.
func diagSim(t *testing.T, n *sim.Network, name string, preload ...sim.Preload) *sim.Modem {
	t.Helper()
	m, err := n.NewModem(sim.ModemConfig{Name: name, Latency: sim.LatencyInstant(), Preload: preload})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// runAT runs `smsgw at` in-process with the given stdin.
func runATIn(t *testing.T, ctx context.Context, stdin string, args ...string) (int, string, string) {
	t.Helper()
	out, errb := &syncBuffer{}, &syncBuffer{}
	e := env{stdout: out, stderr: errb, lookup: noEnv}
	code := runAT(ctx, e, args, strings.NewReader(stdin))
	return code, out.String(), errb.String()
}

func deliverPDU(t *testing.T, from, text string) []byte {
	t.Helper()
	p, err := sms.EncodeDeliver(from, text, sms.DeliverOptions{SMSC: "+491720000000", Time: time.Date(2026, 11, 21, 9, 30, 0, 0, time.FixedZone("", 3600))})
	if err != nil {
		t.Fatal(err)
	}
	return p[0].Bytes
}

func TestATBatchAgainstVirtualModem(t *testing.T) {
	n := sim.NewNetwork(sim.NetworkConfig{})
	m := diagSim(t, n, "at0", sim.Preload{Memory: "SM", Stat: sim.StatRecUnread, PDU: deliverPDU(t, "+4915112345678", "Gate code is 4711")})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	code, out, errOut := runATIn(t, ctx, "", "--port", m.Path(), "AT", "AT+CSQ", "AT+CMGF=0", "AT+CMGL=4")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{">> AT+CSQ", "+CSQ:", ">> AT+CMGL=4", "+CMGL: 1,0,", "    Type:         DELIVER",
		"    From:         +4915112345678", "    Timestamp:    2026-11-21 09:30:00 +01:00", "    Text:         Gate code is 4711", "OK"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, ">> AT+CSQ\nAT+CSQ") > 0 {
		t.Errorf("echo not suppressed:\n%s", out)
	}

	// AT+CMGS with the PDU as the next argument, and in the one-argument form that
	// `smsgw pdu encode` prints; both reach the virtual network.
	pdus, err := sms.EncodeSubmit("+4915112345678", "ping from the console", sms.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runATIn(t, ctx, "", "--port", m.Path(), "AT+CMGF=0", fmt.Sprintf("AT+CMGS=%d", pdus[0].TPDULen), pdus[0].Hex())
	if code != 0 || !strings.Contains(out, "+CMGS:") || !strings.Contains(out, "<Ctrl-Z>") {
		t.Fatalf("CMGS exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runATIn(t, ctx, "", "--port", m.Path(), "AT+CMGF=0", fmt.Sprintf("AT+CMGS=%d %s", pdus[0].TPDULen, pdus[0].Hex()))
	if code != 0 || !strings.Contains(out, "+CMGS:") {
		t.Fatalf("CMGS one-arg exit %d\n%s\n%s", code, out, errOut)
	}
	msgs, err := n.WaitMessages(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if msgs[0].Text != "ping from the console" || msgs[0].To != "+4915112345678" {
		t.Errorf("network got %+v", msgs[0])
	}

	// A refused command makes the exit code 1, but the later commands still run.
	code, out, _ = runATIn(t, ctx, "", "--port", m.Path(), "AT+NOSUCHTHING", "AT")
	if code != 1 || !strings.Contains(out, "ERROR") || !strings.HasSuffix(strings.TrimSpace(out), "OK") {
		t.Errorf("ERROR: exit %d\n%s", code, out)
	}
}

func TestATInteractive(t *testing.T) {
	n := sim.NewNetwork(sim.NetworkConfig{})
	m := diagSim(t, n, "at1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pdus, err := sms.EncodeSubmit("+4915112345678", "typed at the prompt", sms.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	in := fmt.Sprintf("AT\nAT+CMGF=0\n\nAT+CMGS=%d\n%s\nAT+CMGS=5\n\nexit\n", pdus[0].TPDULen, pdus[0].Hex())
	code, out, errOut := runATIn(t, ctx, in, "--port", m.Path())
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "+CMGS:") || !strings.Contains(out, "(cancelled with ESC)") || !strings.Contains(errOut, "Connected to") {
		t.Errorf("interactive output:\n%s\n%s", out, errOut)
	}
	msgs, err := n.WaitMessages(ctx, 1)
	if err != nil || msgs[0].Text != "typed at the prompt" {
		t.Fatalf("network: %v %+v", err, msgs)
	}
}

func TestATShowsUnsolicitedAndDecodesThem(t *testing.T) {
	n := sim.NewNetwork(sim.NetworkConfig{})
	m := diagSim(t, n, "at2")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, errb := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- runAT(ctx, env{stdout: out, stderr: errb, lookup: noEnv},
			[]string{"--port", m.Path(), "--wait", "20s", "AT+CMGF=0", "AT+CNMI=2,2,0,0,0"}, strings.NewReader(""))
	}()
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(out.String(), "OK") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("commands did not finish:\n%s\n%s", out.String(), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := m.Inject(sim.RouteCMT, deliverPDU(t, "+4915112345678", "pushed at once")); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(out.String(), "pushed at once") {
		if time.Now().After(deadline) {
			t.Fatalf("no +CMT shown:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("at did not stop on cancel")
	}
	if !strings.Contains(out.String(), "+CMT:") || !strings.Contains(out.String(), "    Text:         pushed at once") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestATPortLockAndErrors(t *testing.T) {
	n := sim.NewNetwork(sim.NetworkConfig{})
	m := diagSim(t, n, "at3")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	unlock, err := modem.LockPort(m.Path())
	if err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runATIn(t, ctx, "", "--port", m.Path(), "AT")
	want := fmt.Sprintf("port %s is in use by smsgw (pid %d); stop it or pass --force", m.Path(), os.Getpid())
	if code != 1 || !strings.Contains(errOut, want) {
		t.Errorf("held port: exit %d, stderr %q, want %q", code, errOut, want)
	}
	code, out, errOut := runATIn(t, ctx, "", "--port", m.Path(), "--force", "AT")
	if code != 0 || !strings.Contains(out, "OK") {
		t.Errorf("--force: exit %d\n%s\n%s", code, out, errOut)
	}
	unlock()
	if code, _, errOut := runATIn(t, ctx, "", "--port", m.Path(), "AT"); code != 0 {
		t.Errorf("after unlock: exit %d %s", code, errOut)
	}

	// A modem that hangs: bounded by --timeout.
	m.SetFault(sim.Fault{Hang: true})
	start := time.Now()
	code, out, _ = runATIn(t, ctx, "", "--port", m.Path(), "--timeout", "300ms", "AT")
	if code != 1 || !strings.Contains(out, "no final result within 300ms") || time.Since(start) > 5*time.Second {
		t.Errorf("hang: exit %d after %s\n%s", code, time.Since(start), out)
	}
	m.SetFault(sim.Fault{})

	for _, args := range [][]string{
		{"AT"},                                   // no --port
		{"--port", m.Path(), "CSQ"},              // not an AT command
		{"--port", m.Path(), "AT+CMGS=5"},        // PDU missing
		{"--port", m.Path(), "AT+CMGS=5", "xyz"}, // PDU not hex
		{"--port", m.Path(), "--timeout", "0s", "AT"},
		{"--port", m.Path(), "--bogus"},
	} {
		if code, _, _ := runATIn(t, ctx, "", args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	code, _, errOut = runATIn(t, ctx, "", "--port", "/dev/no-such-modem", "AT")
	if code != 1 || !strings.Contains(errOut, "no-such-modem") {
		t.Errorf("missing port: exit %d %s", code, errOut)
	}
	code, _, errOut = runATIn(t, ctx, "", "--help")
	if code != 0 || !strings.Contains(errOut, "Examples:") {
		t.Errorf("--help: exit %d %s", code, errOut)
	}
}

func TestParseATArgs(t *testing.T) {
	steps, err := parseATArgs([]string{"AT", "at+cmgs=5", "00 11", "AT+CMGW=7 0011AB"})
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 3 || steps[1].pdu != "00 11" || steps[2].cmd != "AT+CMGW=7" || steps[2].pdu != "0011AB" {
		t.Errorf("steps %+v", steps)
	}
	if _, err := parseATArgs([]string{"AT\r\nATZ"}); err == nil {
		t.Error("a line break inside a command was accepted")
	}
}

// chunkReader returns its data in the chunk sizes given, like a serial port does.
type chunkReader struct {
	data  []byte
	sizes []byte
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(c.data)
	if len(c.sizes) > 0 {
		n = min(n, int(c.sizes[0])+1)
		c.sizes = c.sizes[1:]
	}
	n = min(n, len(p))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// FuzzReadPort splits arbitrary modem output in arbitrary chunks: no panic, no line
// with a line break in it, nothing but prompts and line breaks lost, and always a final
// error event.
func FuzzReadPort(f *testing.F) {
	f.Add([]byte("AT\r\r\nOK\r\n"), []byte{1, 2})
	f.Add([]byte("\r\n> "), []byte{0})
	f.Add([]byte("+CMGL: 1,0,,3\r\n000000\r\nOK\r\n"), []byte{})
	f.Fuzz(func(t *testing.T, data, sizes []byte) {
		out := make(chan portEvent, len(data)+2)
		readPort(&chunkReader{data: append([]byte(nil), data...), sizes: sizes}, out)
		close(out)
		var got strings.Builder
		last := portEvent{}
		for ev := range out {
			if strings.ContainsAny(ev.line, "\r\n") {
				t.Fatalf("line %q holds a line break", ev.line)
			}
			got.WriteString(ev.line)
			last = ev
		}
		if last.err == nil {
			t.Fatal("no final error event")
		}
		// Only line breaks and prompts (">" with white space around it) are dropped.
		norm := func(s string) string { return strings.ReplaceAll(strings.Join(strings.Fields(s), ""), ">", "") }
		if norm(got.String()) != norm(string(data)) {
			t.Fatalf("lines %q lost or invented bytes of %q", got.String(), data)
		}
	})
}
