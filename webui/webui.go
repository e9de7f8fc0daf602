// Package webui serves the browser interface of smsgw: server-rendered html/template
// pages and static assets, all embedded in the binary. Every template is parsed at start
// so a missing or broken one stops the process instead of a page failing later, and no
// text that came from an SMS is ever marked as trusted HTML.
package webui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages are the templates every build must contain.
var pages = []string{"status.html"}

// Options configure the UI.
type Options struct {
	Logger   *slog.Logger
	Version  string
	Instance string
}

// UI renders the pages.
type UI struct {
	opts    Options
	log     *slog.Logger
	tpl     map[string]*template.Template
	started time.Time
}

// New parses every template; it fails if one is missing or broken.
func New(opts Options) (*UI, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	u := &UI{opts: opts, log: opts.Logger, tpl: map[string]*template.Template{}, started: time.Now()}
	for _, p := range pages {
		t, err := template.New("layout.html").ParseFS(templateFS, "templates/layout.html", "templates/"+p)
		if err != nil {
			return nil, fmt.Errorf("webui: parse %s: %w", p, err)
		}
		u.tpl[p] = t
	}
	return u, nil
}

// Mount adds the UI's routes to r.
func (u *UI) Mount(r *mux.Router) {
	sub, _ := fs.Sub(staticFS, "static")
	static := http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
	r.PathPrefix("/static/").Handler(cacheable(static)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/", u.status).Methods(http.MethodGet, http.MethodHead)
}

func cacheable(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}

// render executes a page into a buffer first, so a template error becomes a clean 500
// instead of half a page.
func (u *UI) render(w http.ResponseWriter, page string, data any) {
	var buf bytes.Buffer
	if err := u.tpl[page].Execute(&buf, data); err != nil {
		u.log.Error("render page", "page", page, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

func (u *UI) status(w http.ResponseWriter, _ *http.Request) {
	u.render(w, "status.html", map[string]any{
		"Title":    "Status",
		"Version":  u.opts.Version,
		"Instance": u.opts.Instance,
		"Uptime":   time.Since(u.started).Round(time.Second).String(),
	})
}
