package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reading test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func noEnv(string) (string, bool) { return "", false }

func TestRun(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("log:\n  level: loud\nmodems:\n  - name: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("state_dir: "+dir+"\nmodems:\n  - port: /dev/ttyUSB2\n    pin: \"9876\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		args      []string
		code      int
		stdout    string // substring expected on stdout
		stderr    string // substring expected on stderr
		notStdout string
	}{
		{"no args", nil, 2, "", "Usage: smsgw COMMAND", ""},
		{"help", []string{"--help"}, 0, "Commands:", "", ""},
		{"unknown", []string{"frobnicate"}, 2, "", `unknown command "frobnicate"`, ""},
		{"version", []string{"version"}, 0, "smsgw ", "", ""},
		{"serve help", []string{"serve", "--help"}, 0, "", "Examples:", ""},
		{"demo help", []string{"demo", "--help"}, 0, "", "smsgw demo --dir", ""},
		{"config help", []string{"config", "--help"}, 0, "config check", "", ""},
		{"config no sub", []string{"config"}, 2, "", "Usage: smsgw config", ""},
		{"bad flag", []string{"serve", "--no-such-flag"}, 2, "", "flag provided but not defined", ""},
		{"check bad", []string{"config", "check", "--config", bad}, 1, "", "log.level: \"loud\" is not a log level (use debug, info, warn or error)", ""},
		{"check bad names modem", []string{"config", "check", "--config", bad}, 1, "", "modems[0]: names no modem", ""},
		{"check missing file", []string{"config", "check", "--config", filepath.Join(dir, "nope.yaml")}, 1, "", "no such file", ""},
		{"check good", []string{"config", "check", "--config", good}, 0, "configuration OK", "", ""},
		{"flag overrides file", []string{"config", "check", "--config", good, "--listen", "nonsense"}, 1, "", "listen: \"nonsense\"", ""},
		{"dump masks", []string{"config", "dump", "--config", good}, 0, "pin: '********'", "", "9876"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tc.args, &out, &errb, noEnv)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), tc.stdout) {
				t.Errorf("stdout %q lacks %q", out.String(), tc.stdout)
			}
			if !strings.Contains(errb.String(), tc.stderr) {
				t.Errorf("stderr %q lacks %q", errb.String(), tc.stderr)
			}
			if tc.notStdout != "" && strings.Contains(out.String(), tc.notStdout) {
				t.Errorf("stdout leaks %q: %s", tc.notStdout, out.String())
			}
		})
	}
}

func TestConfigFromEnvironment(t *testing.T) {
	var out, errb bytes.Buffer
	lookup := func(k string) (string, bool) {
		v, ok := map[string]string{"SMSGW_LOG_LEVEL": "debug", "SMSGW_STATE_DIR": "/srv/sms"}[k]
		return v, ok
	}
	if code := run(context.Background(), []string{"config", "dump"}, &out, &errb, lookup); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, want := range []string{"level: debug", "state_dir: /srv/sms"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("dump lacks %q:\n%s", want, out.String())
		}
	}
}

var urlRE = regexp.MustCompile(`Open:\s+(http://\S+)`)

// startDemo runs "smsgw demo" in-process and returns its URL and a stop function that
// returns the exit code.
func startDemo(t *testing.T, dir, listen string) (string, func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errb := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"demo", "--dir", dir, "--listen", listen}, out, errb, noEnv) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := urlRE.FindStringSubmatch(out.String()); m != nil {
			stop := func() int {
				cancel()
				select {
				case code := <-done:
					return code
				case <-time.After(15 * time.Second):
					t.Fatal("demo did not stop within 15s")
					return -1
				}
			}
			return m[1], stop
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("demo exited early with %d: %s", code, errb.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("demo printed no URL within 20s; stderr: %s", errb.String())
		}
	}
}

// waitReady polls /readyz until the gateway (its modems included) is ready.
func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := get(t, url+"readyz")
		if code == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after 30s: %d %s", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestDemoServesAndReusesItsDatabase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	var instance string
	for round := range 2 {
		url, stop := startDemo(t, dir, "127.0.0.1:0")
		checks := []struct {
			path, want string
			code       int
		}{
			{"healthz", "ok", 200},
			{"readyz", `"database":"ok"`, 200},
			{"metrics", "smsgw_build_info", 200},
			{"", "Gateway status", 200},
			{"static/app.css", "--accent", 200},
			{"no/such/page", "not_found", 404},
		}
		waitReady(t, url)
		for _, c := range checks {
			code, body := get(t, url+c.path)
			if code != c.code || !strings.Contains(body, c.want) {
				t.Errorf("round %d GET /%s: %d %q, want %d containing %q", round, c.path, code, body, c.code, c.want)
			}
		}
		_, page := get(t, url)
		m := regexp.MustCompile(`<code>([0-9a-f]{16})</code>`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("status page shows no instance id: %s", page)
		}
		if round == 1 && m[1] != instance {
			t.Errorf("second start has instance %s, first had %s: the database was not reused", m[1], instance)
		}
		instance = m[1]
		if code := stop(); code != 0 {
			t.Fatalf("round %d: demo exited %d", round, code)
		}
	}
}

func TestDemoFallsBackToFreePort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	url, stop := startDemo(t, t.TempDir(), taken.Addr().String())
	defer stop()
	if strings.Contains(url, taken.Addr().String()) {
		t.Fatalf("demo claims the taken address %s", url)
	}
	if code, _ := get(t, url+"healthz"); code != 200 {
		t.Fatalf("healthz %d", code)
	}
}

func TestSecurityHeaders(t *testing.T) {
	url, stop := startDemo(t, t.TempDir(), "127.0.0.1:0")
	defer stop()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q is not strict", csp)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("nosniff missing")
	}
}

func TestLayersStopInOrder(t *testing.T) {
	var mu sync.Mutex
	var order []string
	record := func(name string) func(context.Context) error {
		return func(ctx context.Context) error {
			<-ctx.Done()
			time.Sleep(10 * time.Millisecond) // give a wrong order a chance to show
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			return nil
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	err := runLayers(ctx, [][]component{
		{{"http", record("http")}},
		{{"queue", record("queue")}, {"alerts", record("alerts")}},
		{{"modems", record("modems")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != 4 || order[0] != "http" || order[3] != "modems" {
		t.Fatalf("stop order %v, want http first and modems last", order)
	}
}

func TestLayersStopAllOnFailure(t *testing.T) {
	boom := errors.New("boom")
	start := time.Now()
	err := runLayers(context.Background(), [][]component{
		{{"http", func(ctx context.Context) error { <-ctx.Done(); return nil }}},
		{{"queue", func(context.Context) error { return boom }}},
		{{"modems", func(ctx context.Context) error { <-ctx.Done(); return nil }}},
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "queue") {
		t.Fatalf("got %v, want boom from queue", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("a failure did not stop the other components")
	}
	err = runLayers(context.Background(), [][]component{{{"quitter", func(context.Context) error { return nil }}}})
	if !errors.Is(err, errStoppedEarly) {
		t.Fatalf("got %v, want errStoppedEarly", err)
	}
}

// The real binary stops cleanly on SIGTERM, as systemd sends it.
func TestBinaryStopsOnSIGTERM(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "smsgw")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "demo", "--dir", t.TempDir(), "--listen", "127.0.0.1:0")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for urlRE.FindStringSubmatch(out.String()) == nil {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("no URL printed: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "smsgw stopped") {
		t.Fatalf("no clean stop logged: %s", out.String())
	}
}
