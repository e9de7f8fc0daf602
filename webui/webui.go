// Package webui serves the browser interface of smsgw: the team inbox, the composer,
// the admin pages and the first-run setup, as server-rendered html/template pages with
// a little vanilla JavaScript, all embedded in the binary.
//
// Every template is parsed at start, so a missing or broken one stops the process
// instead of a page failing later. Text that came from an SMS (body, sender id, a
// contact name derived from it) is only ever printed through html/template's escaping
// on the server, or through textContent in the browser: it is never marked as trusted
// HTML. Pages load no inline script or style (the CSP set by package server forbids
// both), every form carries a CSRF token and every fetch() the X-CSRF-Token header.
package webui

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/smsgw/smsgw/auth"
	"github.com/smsgw/smsgw/config"
	"github.com/smsgw/smsgw/event"
	"github.com/smsgw/smsgw/modem"
	"github.com/smsgw/smsgw/modem/sim"
	"github.com/smsgw/smsgw/queue"
	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/store"
	"github.com/smsgw/smsgw/webhook"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages are the templates every build must contain; each is parsed together with
// layout.html and parts.html.
var pages = []string{
	"status.html", "login.html", "setup.html", "password.html", "nosetup.html", "error.html",
	"inbox.html", "modems.html", "users.html", "queues.html", "quickreplies.html", "tokens.html",
	"settings.html", "demo.html", "integrations.html", "pdu.html",
}

// Defaults of the composer.
const (
	DefaultMaxChars     = 550
	DefaultWindowWarn   = 5
	DefaultWindowPeriod = 24 * time.Hour
)

// Options configure the UI and hand it its collaborators. DB, Router, Bus and Auth are
// required.
type Options struct {
	Logger   *slog.Logger
	Version  string
	Instance string

	DB     *store.DB
	Router *router.Router
	Queue  *queue.Queue // optional: queue depth on the modems page and "send test"
	Bus    *event.Bus
	// Auth is the shared authentication service; nil makes one on DB (sessions and
	// tokens live in the database, so two services agree).
	Auth *auth.Service
	// Config, when set, fills the settings page (grace window, permissions, quiet
	// hours) and gives the public URL of the first-run setup link.
	Config *config.Config
	// Sessions returns the modem sessions (status, AT trace, USSD); nil means none.
	Sessions func() []*modem.Session
	// Routes are the queue's modem routes: which modem sends for which line. The
	// composer's line picker shows each line's modem state from them; nil shows the
	// lines without a state.
	Routes []queue.Route
	// Webhooks manages webhook subscriptions (the same service that delivers them, so
	// a change is seen at once); nil leaves the webhooks read-only on the page.
	Webhooks *webhook.Service
	// Demo is the demo's virtual network; when set, a "virtual phones" page lets a
	// person text the gateway from the browser. Leave nil outside demo mode.
	Demo *sim.Farm

	// MaxChars is the longest message the composer accepts (default 550).
	MaxChars int
	// WindowWarn turns the composer's "sent to this customer" counter red at this many
	// messages within WindowPeriod (defaults 5 and 24 h).
	WindowWarn   int
	WindowPeriod time.Duration
	// SecureCookies marks the cookies Secure (HTTPS deployments); a public_url starting
	// with https:// turns it on.
	SecureCookies bool
	// Settings are shown read-only on the settings page (name → value). The inbox
	// settings and quiet hours are editable there instead (settings.go): their file
	// values are taken from Router.Settings and Queue.QuietHours (or Config) when New
	// runs, and New applies the overrides stored in the database.
	Settings []Setting
	// Done ends the live event streams when it closes (the gateway's shutdown), so
	// open browsers do not hold up the HTTP server's graceful stop.
	Done <-chan struct{}
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Setting is one line of the settings page.
type Setting struct {
	Name, Value, Help string
}

// UI renders the pages.
type UI struct {
	opts    Options
	log     *slog.Logger
	db      *store.DB
	rt      *router.Router
	auth    *auth.Service
	tpl     map[string]*template.Template
	started time.Time
	now     func() time.Time

	baseVals map[string]string // run-time settings as the configuration file has them

	mu     sync.Mutex
	agents map[int64]store.Agent // cache for names and initials, refreshed on miss
	agAt   time.Time
}

// New parses every template; it fails if one is missing or broken.
func New(opts Options) (*UI, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.DB == nil || opts.Router == nil || opts.Bus == nil {
		return nil, errors.New("webui: DB, Router and Bus are required")
	}
	if opts.Config != nil {
		opts.Settings = append(configSettings(*opts.Config), opts.Settings...)
		if strings.HasPrefix(strings.ToLower(opts.Config.PublicURL), "https://") {
			opts.SecureCookies = true
		}
	}
	if opts.Auth == nil {
		opts.Auth = auth.New(opts.DB, auth.Options{Log: opts.Logger, Secure: opts.SecureCookies})
	}
	if opts.MaxChars <= 0 {
		opts.MaxChars = DefaultMaxChars
	}
	if opts.MaxChars > router.MaxBody {
		opts.MaxChars = router.MaxBody
	}
	if opts.WindowWarn <= 0 {
		opts.WindowWarn = DefaultWindowWarn
	}
	if opts.WindowPeriod <= 0 {
		opts.WindowPeriod = DefaultWindowPeriod
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	u := &UI{opts: opts, log: opts.Logger, db: opts.DB, rt: opts.Router, auth: opts.Auth,
		tpl: map[string]*template.Template{}, started: opts.Now(), now: opts.Now}
	for _, p := range pages {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS,
			"templates/layout.html", "templates/parts.html", "templates/"+p)
		if err != nil {
			return nil, fmt.Errorf("webui: parse %s: %w", p, err)
		}
		u.tpl[p] = t
	}
	u.baseVals = baseSettings(u.rt.Settings(), opts.Queue, opts)
	u.applyStoredSettings()
	return u, nil
}

// Mount adds the UI's routes to r. Before the first user exists it also logs the
// one-time link that creates the administrator (there are no default credentials).
func (u *UI) Mount(r *mux.Router) {
	u.announceSetup()
	sub, _ := fs.Sub(staticFS, "static")
	static := http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
	r.PathPrefix("/static/").Handler(cacheable(static)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/favicon.ico", http.RedirectHandler("/static/favicon.svg", http.StatusMovedPermanently))

	get := func(path string, h handler) {
		r.Handle(path, u.auth.Middleware(u.page(h))).Methods(http.MethodGet, http.MethodHead)
	}
	post := func(path string, h handler) {
		r.Handle(path, u.auth.Middleware(u.action(h))).Methods(http.MethodPost)
	}
	// Public pages.
	r.Handle("/", u.auth.Middleware(http.HandlerFunc(u.home))).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/login", u.auth.Middleware(http.HandlerFunc(u.loginPage))).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/login", u.auth.Middleware(http.HandlerFunc(u.loginPost))).Methods(http.MethodPost)
	r.Handle("/setup", http.HandlerFunc(u.setupPage)).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/setup", http.HandlerFunc(u.setupPost)).Methods(http.MethodPost)
	post("/logout", u.logout)

	// Signed-in pages.
	get("/status", u.status)
	get("/account/password", u.passwordPage)
	post("/account/password", u.passwordPost)
	post("/account/availability", u.availabilityPost)

	get("/inbox", u.inbox)
	get("/inbox/c/{id:[0-9]+}", u.inbox)
	post("/inbox/c/{id:[0-9]+}/{action}", u.convAction)
	post("/inbox/contact/{id:[0-9]+}/{action}", u.contactAction)
	post("/inbox/new", u.newConversation)
	post("/inbox/test", u.sendTest)

	// Fragments and JSON for the page's script.
	get("/ui/list", u.listFragment)
	get("/ui/folders", u.foldersFragment)
	get("/ui/c/{id:[0-9]+}", u.panelFragment)
	get("/ui/c/{id:[0-9]+}/thread", u.threadFragment)
	get("/ui/c/{id:[0-9]+}/quick/{qid:[0-9]+}", u.quickRender)
	get("/ui/alerts", u.alertsFragment)
	post("/ui/alerts/{id:[0-9]+}/read", u.alertRead)
	get("/ui/counts", u.countsJSON)
	r.Handle("/ui/events", u.auth.Middleware(http.HandlerFunc(u.events))).Methods(http.MethodGet)

	// Administration.
	get("/admin/modems", u.modemsPage)
	get("/admin/modems/{name}/trace", u.modemTrace)
	post("/admin/modems/{name}/ussd", u.modemUSSD)
	get("/admin/users", u.usersPage)
	post("/admin/users", u.usersPost)
	get("/admin/queues", u.queuesPage)
	post("/admin/queues", u.queuesPost)
	get("/admin/quick-replies", u.quickRepliesPage)
	post("/admin/quick-replies", u.quickRepliesPost)
	get("/admin/tokens", u.tokensPage)
	post("/admin/tokens", u.tokensPost)
	get("/admin/settings", u.settingsPage)
	post("/admin/settings", u.settingsPost)
	get("/admin/integrations", u.integrationsPage)
	post("/admin/integrations", u.integrationsPost)
	get("/ui/template-preview", u.templatePreview)
	get("/tools/pdu", u.pduPage)

	if u.opts.Demo != nil {
		get("/demo/phones", u.demoPage)
		post("/demo/phones", u.demoPost)
	}
}

func cacheable(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		h.ServeHTTP(w, r)
	})
}

// handler is a signed-in request handler; an error it returns is shown to the user.
type handler func(w http.ResponseWriter, r *http.Request, p auth.Principal) error

// page wraps a GET handler: it needs a signed-in user (or redirects to /login).
func (u *UI) page(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := auth.From(r.Context())
		if !ok {
			if isFetch(r) {
				http.Error(w, "signed out", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/login?next="+safeNext(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if err := h(w, r, p); err != nil {
			u.fail(w, r, p, err)
		}
	})
}

// action wraps a POST handler: signed-in user and a valid CSRF token.
func (u *UI) action(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := auth.From(r.Context())
		if !ok {
			if isFetch(r) {
				http.Error(w, "signed out", http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		if !u.auth.CheckCSRF(r, p) {
			u.fail(w, r, p, errCSRF)
			return
		}
		if err := h(w, r, p); err != nil {
			u.fail(w, r, p, err)
		}
	})
}

var errCSRF = errors.New("the form expired; reload the page and try again")

// isFetch reports whether the request comes from the page's script rather than a
// plain form submission or navigation.
func isFetch(r *http.Request) bool { return r.Header.Get("X-Requested-With") == "fetch" }

// httpStatus maps domain errors to status codes and a message fit for users.
func httpStatus(err error) (int, string) {
	var ac *router.AcceptConflictError
	switch {
	case errors.As(err, &ac):
		return http.StatusConflict, "Already accepted by " + ac.Owner + "."
	case errors.Is(err, errCSRF):
		return http.StatusForbidden, err.Error()
	case errors.Is(err, router.ErrConfirmRequired):
		return http.StatusConflict, "This conversation belongs to someone else. Send anyway?"
	case errors.Is(err, router.ErrForbidden):
		return http.StatusForbidden, "You are not allowed to do that: " + trimPrefix(err)
	case errors.Is(err, router.ErrNotFound), errors.Is(err, store.ErrNotFound), errors.Is(err, errNotFound):
		return http.StatusNotFound, "Not found."
	case errors.Is(err, router.ErrConflict), errors.Is(err, router.ErrInvalidTransition),
		errors.Is(err, router.ErrInvalid), errors.Is(err, router.ErrBlocked), errors.Is(err, router.ErrOptedOut),
		errors.Is(err, auth.ErrWeakPassword), errors.Is(err, auth.ErrInvalid), errors.Is(err, auth.ErrDuplicate),
		errors.Is(err, auth.ErrNotFound), errors.Is(err, store.ErrDuplicate), errors.Is(err, store.ErrNumberTaken),
		errors.Is(err, errBadInput):
		return http.StatusBadRequest, trimPrefix(err)
	}
	return http.StatusInternalServerError, "Something went wrong; the error was logged."
}

var (
	errNotFound = errors.New("webui: not found")
	errBadInput = errors.New("webui: invalid input")
)

// trimPrefix removes the "package: " prefixes from an error for display.
func trimPrefix(err error) string {
	s := err.Error()
	for _, p := range []string{"router: ", "store: ", "auth: ", "webui: ", "queue: ", "invalid input: "} {
		s = strings.ReplaceAll(s, p, "")
	}
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}

// fail answers a failed request: JSON-ish text for the script, an error page otherwise.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, p auth.Principal, err error) {
	code, msg := httpStatus(err)
	if code == http.StatusInternalServerError {
		u.log.Error("web request failed", "path", r.URL.Path, "error", err)
	}
	if isFetch(r) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if code == http.StatusConflict && errors.Is(err, router.ErrConfirmRequired) {
			w.Header().Set("X-Confirm", "reply")
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte(msg))
		return
	}
	w.WriteHeader(code)
	u.render(w, r, "error.html", u.base(r, p, "Error", ""), map[string]any{"Message": msg, "Back": r.Referer()})
}

// base is what every page's layout needs.
type base struct {
	Title   string
	Nav     string
	User    *auth.Principal
	CSRF    string
	Admin   bool
	Manager bool
	Viewer  bool // read-only role: no actions, no composer
	Demo    bool
	Version string
	Flash   string
	Error   string
	Avail   string
}

func (u *UI) base(r *http.Request, p auth.Principal, title, nav string) base {
	b := base{Title: title, Nav: nav, Version: u.opts.Version, Demo: u.opts.Demo != nil}
	if p.UserID != 0 {
		b.User = &p
		b.CSRF = u.auth.CSRFToken(p)
		b.Admin = p.Role == router.RoleAdmin
		b.Manager = b.Admin || p.Role == router.RoleSupervisor
		b.Viewer = p.Role == router.RoleViewer
		if ag, ok := u.agent(r.Context(), p.UserID); ok {
			b.Avail = ag.Availability
		}
	}
	if r != nil {
		b.Flash = r.URL.Query().Get("ok")
		b.Error = r.URL.Query().Get("err")
	}
	return b
}

// view is the data of a page: the layout's part and the page's own.
type view struct {
	base
	D any
}

// render executes a page into a buffer first, so a template error becomes a clean 500
// instead of half a page.
func (u *UI) render(w http.ResponseWriter, _ *http.Request, page string, b base, data any) {
	u.renderTemplate(w, page, "layout.html", view{base: b, D: data})
}

// fragment renders one named template of a page (for the script's partial updates).
func (u *UI) fragment(w http.ResponseWriter, name string, b base, data any) {
	u.renderTemplate(w, "inbox.html", name, view{base: b, D: data})
}

func (u *UI) renderTemplate(w http.ResponseWriter, page, name string, data any) {
	var buf bytes.Buffer
	t, ok := u.tpl[page]
	if !ok {
		u.log.Error("render page", "page", page, "error", "no such page")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		u.log.Error("render page", "page", page, "template", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

// home sends signed-in people to the inbox. Others get the welcome page: how to sign
// in (or, before the first user exists, how to create one) and the gateway's status.
func (u *UI) home(w http.ResponseWriter, r *http.Request) {
	if _, ok := auth.From(r.Context()); ok {
		http.Redirect(w, r, "/inbox", http.StatusSeeOther)
		return
	}
	has, err := u.auth.HasUsers(r.Context())
	if err != nil {
		u.log.Error("has users", "error", err)
	}
	u.render(w, r, "nosetup.html", base{Title: "smsgw", Version: u.opts.Version}, u.welcome(err == nil && !has))
}

// welcomeData is the public landing page.
type welcomeData struct {
	NeedSetup                 bool
	Version, Instance, Uptime string
}

func (u *UI) welcome(needSetup bool) welcomeData {
	return welcomeData{NeedSetup: needSetup, Version: u.opts.Version, Instance: u.opts.Instance,
		Uptime: u.now().Sub(u.started).Round(time.Second).String()}
}

func (u *UI) status(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	u.render(w, r, "status.html", u.base(r, p, "Status", "status"), map[string]any{
		"Version":  u.opts.Version,
		"Instance": u.opts.Instance,
		"Uptime":   u.now().Sub(u.started).Round(time.Second).String(),
	})
	return nil
}

// agent returns a user by id from a small cache (names and initials on every page).
func (u *UI) agent(ctx context.Context, id int64) (store.Agent, bool) {
	u.mu.Lock()
	a, ok := u.agents[id]
	fresh := u.now().Sub(u.agAt) < 10*time.Second
	u.mu.Unlock()
	if ok && fresh {
		return a, true
	}
	list, err := u.db.Agents(ctx)
	if err != nil {
		return a, ok
	}
	m := make(map[int64]store.Agent, len(list))
	for _, a := range list {
		m[a.ID] = a
	}
	u.mu.Lock()
	u.agents, u.agAt = m, u.now()
	u.mu.Unlock()
	a, ok = m[id]
	return a, ok
}

// forgetAgents drops the cache after a change to users.
func (u *UI) forgetAgents() {
	u.mu.Lock()
	u.agents = nil
	u.mu.Unlock()
}

// redirectBack answers a form post: 204 for the script, else a redirect to to with an
// optional flash message.
func redirectBack(w http.ResponseWriter, r *http.Request, to, flash string) {
	if isFetch(r) {
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if flash != "" {
		sep := "?"
		if strings.Contains(to, "?") {
			sep = "&"
		}
		to += sep + "ok=" + urlQueryEscape(flash)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
