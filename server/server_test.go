package server

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestProbesAndMiddleware(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := New(Options{Registry: reg, MaxBodyBytes: 16})
	s.AddCheck("database", func(context.Context) error { return nil })
	s.AddCheck("modem:office", func(context.Context) error { return errors.New("not registered") })
	s.Router().HandleFunc("/boom", func(http.ResponseWriter, *http.Request) { panic("secret detail") })
	s.Router().HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}).Methods(http.MethodPost)
	s.Router().HandleFunc("/contacts/{number}", func(http.ResponseWriter, *http.Request) {})

	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	cases := []struct {
		name, method, path, body string
		code                     int
		contains, lacks          string
	}{
		{"healthz", "GET", "/healthz", "", 200, "ok", ""},
		{"readyz names failing check", "GET", "/readyz", "", 503, `"modem:office":"not registered"`, ""},
		{"panic becomes 500 without leaking", "GET", "/boom", "", 500, "internal error", "secret detail"},
		{"small body", "POST", "/echo", "tiny", 204, "", ""},
		{"body over the limit", "POST", "/echo", strings.Repeat("x", 100), 413, "", ""},
		{"unknown route is JSON 404", "GET", "/nope", "", 404, `"not_found"`, ""},
		{"number in path", "GET", "/contacts/+15551234567", "", 200, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, ts.URL+tc.path, strings.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tc.code, b)
			}
			if !strings.Contains(string(b), tc.contains) {
				t.Errorf("body %q lacks %q", b, tc.contains)
			}
			if tc.lacks != "" && strings.Contains(string(b), tc.lacks) {
				t.Errorf("body %q leaks %q", b, tc.lacks)
			}
		})
	}

	// Metrics carry the route template, never the raw path with a phone number.
	got := testutil.ToFloat64(s.requests.WithLabelValues("/contacts/{number}", "GET", "200"))
	if got != 1 {
		t.Errorf("requests for the templated route = %v, want 1", got)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if strings.Contains(l.GetValue(), "555") {
					t.Errorf("metric %s has a phone number in label %s=%s", mf.GetName(), l.GetName(), l.GetValue())
				}
			}
		}
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("metric lint: %s: %s", p.Metric, p.Text)
	}
}

func TestRunShutsDownWithinBound(t *testing.T) {
	s := New(Options{ShutdownTimeout: 200 * time.Millisecond})
	release := make(chan struct{})
	s.Router().HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln) }()
	go func() {
		c := &http.Client{Timeout: 5 * time.Second}
		if resp, err := c.Get("http://" + ln.Addr().String() + "/slow"); err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of cancel with a hung request")
	}
	close(release)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("shutdown took %s", d)
	}
}
