package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestBodyLimitPerRoute: routes without a limit of their own get Options.MaxBodyBytes;
// a BodyLimiter route gets its own limit, larger or smaller, and stays bounded.
func TestBodyLimitPerRoute(t *testing.T) {
	s := New(Options{MaxBodyBytes: 16})
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	s.Router().Handle("/plain", echo).Methods(http.MethodPost)
	s.Router().Handle("/import", LimitBody(echo, 64)).Methods(http.MethodPost)
	s.Router().Handle("/tiny", LimitBody(echo, 4)).Methods(http.MethodPost)
	s.Router().Handle("/default", LimitBody(echo, 0)).Methods(http.MethodPost)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	for _, c := range []struct {
		path string
		size int
		code int
	}{
		{"/plain", 16, 204}, {"/plain", 17, 413},
		{"/import", 64, 204}, {"/import", 65, 413},
		{"/tiny", 4, 204}, {"/tiny", 5, 413},
		{"/default", 16, 204}, {"/default", 17, 413},
	} {
		res, err := http.Post(ts.URL+c.path, "text/plain", strings.NewReader(strings.Repeat("x", c.size)))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.code {
			t.Errorf("%s with %d bytes: %d, want %d", c.path, c.size, res.StatusCode, c.code)
		}
	}
}
