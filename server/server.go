// Package server is smsgw's HTTP front: one gorilla/mux router that carries the health
// and readiness probes, /metrics from our own Prometheus registry, and whatever the
// REST API and web UI mount on it; plus the middleware every request passes (panic
// recovery, request log, metrics, security headers, body limit) and a server whose
// Run(ctx) shuts down gracefully within a bound.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is one readiness check: it returns nil when its part is ready.
type Check func(ctx context.Context) error

// Options configure a Server.
type Options struct {
	Logger            *slog.Logger
	Registry          *prometheus.Registry
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration
	MaxBodyBytes      int64
}

// Server is the HTTP server of one smsgw process.
type Server struct {
	opts   Options
	log    *slog.Logger
	router *mux.Router

	mu     sync.Mutex
	checks map[string]Check

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// New builds a Server with the probes and /metrics already routed.
func New(opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 5 * time.Second
	}
	s := &Server{
		opts:   opts,
		log:    opts.Logger,
		router: mux.NewRouter(),
		checks: map[string]Check{},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "smsgw", Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests answered, by route template, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "smsgw", Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route template.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
	}
	opts.Registry.MustRegister(s.requests, s.duration)
	s.router.Use(s.recoverer, s.securityHeaders, s.observe, s.limitBody)
	s.router.Handle("/healthz", http.HandlerFunc(s.healthz)).Methods(http.MethodGet, http.MethodHead)
	s.router.Handle("/readyz", http.HandlerFunc(s.readyz)).Methods(http.MethodGet, http.MethodHead)
	s.router.Handle("/metrics", promhttp.HandlerFor(opts.Registry, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelError), Registry: opts.Registry,
	})).Methods(http.MethodGet)
	s.router.NotFoundHandler = s.observe(http.HandlerFunc(notFound))
	return s
}

// Router is where the API and the web UI mount their routes.
func (s *Server) Router() *mux.Router { return s.router }

// AddCheck registers a readiness check under name (e.g. "database", "modem:office").
func (s *Server) AddCheck(name string, c Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks[name] = c
}

// Handler is the complete handler, for tests with httptest.
func (s *Server) Handler() http.Handler { return s.router }

// Run serves on ln until ctx is cancelled, then stops accepting connections and waits up
// to the shutdown timeout for requests in flight. It closes ln.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.router,
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout:       s.opts.ReadTimeout,
		WriteTimeout:      s.opts.WriteTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("http shutdown timed out; closing open connections", "timeout", s.opts.ShutdownTimeout)
		err = srv.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return fmt.Errorf("server: %w", serr)
	}
	if err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	return nil
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz runs every check with a short deadline and answers 503 naming the failing ones.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	checks := make(map[string]Check, len(s.checks))
	for k, v := range s.checks {
		checks[k] = v
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	result := map[string]string{}
	status := http.StatusOK
	for name, c := range checks {
		if err := c(ctx); err != nil {
			result[name] = err.Error()
			status = http.StatusServiceUnavailable
		} else {
			result[name] = "ok"
		}
	}
	WriteJSON(w, status, map[string]any{"ready": status == http.StatusOK, "checks": result})
}

func notFound(w http.ResponseWriter, _ *http.Request) {
	WriteJSON(w, http.StatusNotFound, map[string]any{"error": map[string]string{
		"code": "not_found", "message": "no such page or resource"}})
}

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// statusWriter records the status code a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	code    int
	written int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.written += int64(n)
	return n, err
}

// Flush lets server-sent events stream through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController access to the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe logs each request and counts it by route template (never by raw path, so
// phone numbers or ids in URLs do not become metric labels).
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		route := "unmatched"
		if cur := mux.CurrentRoute(r); cur != nil {
			if tpl, err := cur.GetPathTemplate(); err == nil {
				route = tpl
			}
		}
		d := time.Since(start)
		s.requests.WithLabelValues(route, r.Method, strconv.Itoa(sw.code)).Inc()
		s.duration.WithLabelValues(route).Observe(d.Seconds())
		level := slog.LevelDebug
		if sw.code >= 500 {
			level = slog.LevelWarn
		}
		s.log.Log(r.Context(), level, "http request", "method", r.Method, "route", route,
			"status", sw.code, "bytes", sw.written, "duration", d, "remote", r.RemoteAddr)
	})
}

// recoverer turns a panicking handler into a logged 500 that leaks nothing.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("http handler panic", "error", fmt.Sprint(v), "path", r.URL.Path, "stack", string(debug.Stack()))
				WriteJSON(w, http.StatusInternalServerError, map[string]any{"error": map[string]string{
					"code": "internal", "message": "internal error; the server log has the details"}})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// securityHeaders sets the headers every answer carries. Pages get a strict CSP: no
// inline script, nothing from other origins.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		next.ServeHTTP(w, r)
	})
}

// BodyLimiter is a route handler that sets its own request body limit (a CSV import
// larger than the default, say). The server applies that limit instead of
// Options.MaxBodyBytes to the route; a limit of 0 or less means the default.
type BodyLimiter interface {
	http.Handler
	MaxBodyBytes() int64
}

// LimitBody returns h with its own request body limit of n bytes (see BodyLimiter).
func LimitBody(h http.Handler, n int64) BodyLimiter { return limited{h, n} }

type limited struct {
	http.Handler
	n int64
}

func (l limited) MaxBodyBytes() int64 { return l.n }

// limitBody bounds every request body: by the matched route's own limit when its
// handler is a BodyLimiter, by Options.MaxBodyBytes otherwise.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := s.opts.MaxBodyBytes
		if cur := mux.CurrentRoute(r); cur != nil {
			if bl, ok := cur.GetHandler().(BodyLimiter); ok && bl.MaxBodyBytes() > 0 {
				limit = bl.MaxBodyBytes()
			}
		}
		if limit > 0 && r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		}
		next.ServeHTTP(w, r)
	})
}
