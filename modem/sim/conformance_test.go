package sim

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// needTool returns the path of a third-party binary. Without it the test is
// skipped, except in CI (CI non-empty), where it fails.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin"} {
			if _, serr := os.Stat(filepath.Join(dir, name)); serr == nil {
				return filepath.Join(dir, name)
			}
		}
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not installed (apt-get install gammu gammu-smsd smstools)", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// gammurc writes a gammu configuration for a modem into a temp dir.
func gammurc(t *testing.T, m *Modem, extra string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "gammurc")
	conf := fmt.Sprintf("[gammu]\ndevice = %s\nconnection = at\n%s", m.Path(), extra)
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// runTool runs a command with a timeout and returns its combined output.
func runTool(t *testing.T, d time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// startDaemon starts a long-running tool in its own process group and
// stops it (SIGTERM, then SIGKILL) at the end of the test.
func startDaemon(t *testing.T, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logf, err := os.Create(filepath.Join(t.TempDir(), "daemon.out"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		pid := cmd.Process.Pid
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-done
		}
		_ = logf.Close()
	})
	return cmd
}

// waitFile waits until dir holds a file and returns its content.
func waitFile(t *testing.T, dir string, d time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if !e.IsDir() {
				b, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err == nil {
					return string(b)
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no file appeared in %s within %v", dir, d)
	return ""
}

func TestGammuIdentify(t *testing.T) {
	t.Parallel()
	gammu := needTool(t, "gammu")
	_, ms := testNet(t, ModemConfig{Name: "gid"})
	m := ms[0]
	out, err := runTool(t, 60*time.Second, gammu, "-c", gammurc(t, m, ""), "--identify")
	if err != nil {
		t.Fatalf("gammu --identify: %v\n%s", err, out)
	}
	for _, want := range []string{m.Identity().IMEI, m.Identity().IMSI, "smsgw", "sim-1.0"} {
		if !strings.Contains(out, want) {
			t.Errorf("identify output lacks %q:\n%s", want, out)
		}
	}
}

func TestGammuSendSMS(t *testing.T) {
	t.Parallel()
	gammu := needTool(t, "gammu")
	long := strings.Repeat("x", 152) + "€" + strings.Repeat("y", 20)
	tests := []struct {
		name     string
		args     []string
		text     string
		encoding string
		parts    int
		report   bool
		slow     bool // realistic latency, 1-2 s per send
	}{
		{"short", nil, "Hello from gammu", "gsm7", 1, false, false},
		{"long", []string{"-len", "400"}, long, "gsm7", 2, false, false},
		{"unicode", []string{"-unicode"}, "Grüße 😁 привет", "ucs2", 1, false, false},
		{"report", []string{"-report"}, "with a report", "gsm7", 1, true, false},
		{"realistic", nil, "from a slow modem", "gsm7", 1, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := ModemConfig{Name: "gs" + tt.name}
			if tt.slow {
				cfg.Latency = LatencyRealistic()
				cfg.Latency.Send = Span{Duration(time.Second), Duration(2 * time.Second)}
			}
			n, ms := testNet(t, cfg)
			m := ms[0]
			args := append([]string{"-c", gammurc(t, m, ""), "sendsms", "TEXT", "+4915550001"}, tt.args...)
			args = append(args, "-text", tt.text)
			out, err := runTool(t, 90*time.Second, gammu, args...)
			if err != nil {
				t.Fatalf("gammu sendsms: %v\n%s", err, out)
			}
			msgs := n.Messages()
			if len(msgs) != 1 {
				t.Fatalf("network got %d messages, want 1: %+v", len(msgs), msgs)
			}
			got := msgs[0]
			if got.Text != tt.text || got.To != "+4915550001" || got.Encoding != tt.encoding ||
				got.Parts != tt.parts || !got.Complete || got.Duplicates != 0 || got.StatusReport != tt.report {
				t.Errorf("network got %+v", got)
			}
			if subs := n.Submissions(); len(subs) != tt.parts {
				t.Errorf("%d submissions, want %d", len(subs), tt.parts)
			}
			if tt.report {
				deadline := time.Now().Add(5 * time.Second)
				for len(m.Messages("SM")) == 0 && time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond)
				}
				sm := m.Messages("SM")
				if len(sm) != 1 || !sm[0].Report {
					t.Errorf("status report not stored: %+v", sm)
				}
			}
		})
	}
}

func TestGammuGetAndDeleteAll(t *testing.T) {
	t.Parallel()
	gammu := needTool(t, "gammu")
	n, ms := testNet(t, ModemConfig{Name: "gget"})
	m := ms[0]
	long := "Long: " + strings.Repeat("abcdefghij", 20)
	if err := n.Phone("+4915550002").Send(m.Identity().MSISDN, "Hi gateway, Grüße!", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := n.Phone("+4915550003").Send(m.Identity().MSISDN, long, SendOptions{Reverse: true}); err != nil {
		t.Fatal(err)
	}
	if err := m.Store("ME", StatRecUnread, mustPDU(t, n, "+4915550004", "stored in ME")); err != nil {
		t.Fatal(err)
	}
	rc := gammurc(t, m, "")
	out, err := runTool(t, 60*time.Second, gammu, "-c", rc, "getallsms")
	if err != nil {
		t.Fatalf("gammu getallsms: %v\n%s", err, out)
	}
	for _, want := range []string{`"+4915550002"`, "Hi gateway, Grüße!", `"+4915550003"`, "part 2 of 2",
		strings.Repeat("abcdefghij", 5), "stored in ME", "4 SMS parts in 4 SMS sequences", "UnRead"} {
		if !strings.Contains(out, want) {
			t.Errorf("getallsms output lacks %q:\n%s", want, out)
		}
	}
	out, err = runTool(t, 60*time.Second, gammu, "-c", rc, "getallsms")
	if err != nil || strings.Contains(out, "UnRead") || !strings.Contains(out, "Status               : Read") {
		t.Errorf("second getallsms should show the messages read: %v\n%s", err, out)
	}
	for _, folder := range []string{"1", "3"} {
		out, err = runTool(t, 60*time.Second, gammu, "-c", rc, "deleteallsms", folder)
		if err != nil {
			t.Fatalf("gammu deleteallsms %s: %v\n%s", folder, err, out)
		}
	}
	for _, mu := range m.Memories() {
		if mu.Used != 0 {
			t.Errorf("after deleteallsms %s holds %d messages", mu.Memory, mu.Used)
		}
	}
}

// mustPDU encodes a one-part SMS-DELIVER.
func mustPDU(t *testing.T, _ *Network, from, text string) []byte {
	t.Helper()
	pdus, err := encodeDeliverForTest(from, text)
	if err != nil {
		t.Fatal(err)
	}
	return pdus
}

func TestGammuSMSD(t *testing.T) {
	t.Parallel()
	smsd := needTool(t, "gammu-smsd")
	inject := needTool(t, "gammu-smsd-inject")
	n, ms := testNet(t, ModemConfig{Name: "gsmsd"})
	m := ms[0]
	dir := t.TempDir()
	for _, d := range []string{"inbox", "outbox", "sent", "error"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	rc := gammurc(t, m, fmt.Sprintf(`[smsd]
service = files
logfile = %[1]s/smsd.log
debuglevel = 1
deliveryreport = log
inboxpath = %[1]s/inbox/
outboxpath = %[1]s/outbox/
sentsmspath = %[1]s/sent/
errorsmspath = %[1]s/error/
ReceiveFrequency = 1
StatusFrequency = 0
CommTimeout = 1
LoopSleep = 1
CheckSecurity = 0
CheckBattery = 0
CheckSignal = 0
`, dir))
	startDaemon(t, smsd, "-c", rc)
	if out, err := runTool(t, 30*time.Second, inject, "-c", rc, "TEXT", "+4915550009", "-report", "-text", "from gammu-smsd"); err != nil {
		t.Fatalf("gammu-smsd-inject: %v\n%s", err, out)
	}
	ctx := ctxT(t, 60*time.Second)
	msgs, err := n.WaitMessages(ctx, 1)
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "smsd.log"))
		t.Fatalf("%v\nsmsd.log:\n%s", err, log)
	}
	if msgs[0].Text != "from gammu-smsd" || msgs[0].To != "+4915550009" {
		t.Errorf("network got %+v", msgs[0])
	}
	if err := n.Phone("+4915550002").Send(m.Identity().MSISDN, "to the smsd inbox", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	body := waitFile(t, filepath.Join(dir, "inbox"), 60*time.Second)
	if !strings.Contains(body, "to the smsd inbox") {
		t.Errorf("inbox file: %q", body)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "inbox"))
	if len(ents) != 1 || !strings.Contains(ents[0].Name(), "+4915550002") {
		t.Errorf("inbox files: %v", ents)
	}
	// The status report of the sent message reaches gammu-smsd too.
	deadline := time.Now().Add(30 * time.Second)
	for {
		log, _ := os.ReadFile(filepath.Join(dir, "smsd.log"))
		if strings.Contains(string(log), "Delivery report: Delivered to +4915550009") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no delivery report in smsd.log:\n%s", log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestSmstools(t *testing.T) {
	t.Parallel()
	smsd := needTool(t, "smsd")
	n, ms := testNet(t, ModemConfig{Name: "smstools"})
	m := ms[0]
	dir := t.TempDir()
	for _, d := range []string{"outgoing", "checked", "failed", "sent", "incoming", "report"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := fmt.Sprintf(`devices = GSM1
outgoing = %[1]s/outgoing
checked = %[1]s/checked
failed = %[1]s/failed
sent = %[1]s/sent
incoming = %[1]s/incoming
report = %[1]s/report
logfile = %[1]s/smsd.log
infofile = %[1]s/smsd.running
pidfile = %[1]s/smsd.pid
loglevel = 7
delaytime = 1
delaytime_mainprocess = 1
errorsleeptime = 1

[GSM1]
device = %[2]s
incoming = yes
baudrate = 115200
`, dir, m.Path())
	confPath := filepath.Join(dir, "smsd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "outgoing", "msg1"), []byte("To: 4915550077\n\nHello from smstools\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := n.Phone("+4915550078").Send(m.Identity().MSISDN, "to the smstools inbox", SendOptions{}); err != nil {
		t.Fatal(err)
	}
	// smsd forks a modem handler per device; the process group is stopped
	// at the end.
	startDaemon(t, smsd, "-c"+confPath, "-t")
	msgs, err := n.WaitMessages(ctxT(t, 60*time.Second), 1)
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "smsd.log"))
		t.Fatalf("%v\nsmsd.log:\n%s", err, log)
	}
	if msgs[0].Text != "Hello from smstools" || msgs[0].To != "+4915550077" {
		t.Errorf("network got %+v", msgs[0])
	}
	waitFile(t, filepath.Join(dir, "sent"), 30*time.Second)
	body := waitFile(t, filepath.Join(dir, "incoming"), 30*time.Second)
	if !strings.Contains(body, "From: 4915550078") || !strings.Contains(body, "to the smstools inbox") {
		t.Errorf("incoming file: %q", body)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(m.Messages("SM")) != 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if left := m.Messages("SM"); len(left) != 0 {
		t.Errorf("smsd left %d messages in SM", len(left))
	}
}

// TestGammuPersonalities runs gammu against every vendor personality: gammu
// takes vendor-specific paths (for example AT^CURC and AT^PORTSEL for
// Huawei), which the modem must answer like the real stick.
func TestGammuPersonalities(t *testing.T) {
	t.Parallel()
	gammu := needTool(t, "gammu")
	for _, name := range PersonalityNames() {
		if name == "generic" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pers, _ := PersonalityByName(name)
			switch name {
			case "huawei":
				// gammu knows ^RSSI and friends (and turns them off).
				pers.NoiseEvery = 300 * time.Millisecond
			default:
				// gammu 1.42 rejects unknown indications such as +CIEV or
				// +WIND that arrive during its connect probe.
				pers.Noise = nil
			}
			n, ms := testNet(t, ModemConfig{Name: "gp" + name, Personality: pers})
			m := ms[0]
			rc := gammurc(t, m, "")
			out, err := runTool(t, 60*time.Second, gammu, "-c", rc, "--identify")
			if err != nil || !strings.Contains(out, m.Identity().IMEI) {
				t.Fatalf("identify: %v\n%s", err, out)
			}
			out, err = runTool(t, 60*time.Second, gammu, "-c", rc, "sendsms", "TEXT", "+4915550001", "-text", "hello "+name)
			if err != nil {
				t.Fatalf("sendsms: %v\n%s", err, out)
			}
			if msgs := n.Messages(); len(msgs) != 1 || msgs[0].Text != "hello "+name {
				t.Errorf("network got %+v", msgs)
			}
			if err := n.Phone("+4915550002").Send(m.Identity().MSISDN, "inbound "+name, SendOptions{}); err != nil {
				t.Fatal(err)
			}
			out, err = runTool(t, 60*time.Second, gammu, "-c", rc, "getallsms")
			if err != nil || !strings.Contains(out, "inbound "+name) {
				t.Errorf("getallsms: %v\n%s", err, out)
			}
		})
	}
}
