package webui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/smsgw/smsgw/auth"
	"github.com/smsgw/smsgw/modem"
	"github.com/smsgw/smsgw/router"
	"github.com/smsgw/smsgw/store"
)

var errAdminOnly = fmt.Errorf("%w: this page is for administrators", router.ErrForbidden)

func (u *UI) sessions() []*modem.Session {
	if u.opts.Sessions == nil {
		return nil
	}
	return u.opts.Sessions()
}

func (u *UI) session(name string) *modem.Session {
	for _, s := range u.sessions() {
		if s.Name() == name {
			return s
		}
	}
	return nil
}

type modemsData struct {
	Modems   []modem.Status
	Parts    map[string]int
	Oldest   time.Time
	CanAdmin bool
	USSD     string
}

func (u *UI) modemsPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.Can("modems:read") {
		return errAdminOnly
	}
	d := modemsData{CanAdmin: p.Can("modems:admin"), USSD: "*100#"}
	for _, s := range u.sessions() {
		d.Modems = append(d.Modems, s.Status())
	}
	if u.opts.Queue != nil {
		d.Parts, d.Oldest = u.opts.Queue.Stats()
	}
	u.render(w, r, "modems.html", u.base(r, p, "Modems and lines", "modems"), d)
	return nil
}

func (u *UI) modemTrace(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.Can("modems:admin") {
		return errAdminOnly
	}
	s := u.session(mux.Vars(r)["name"])
	if s == nil || s.Trace() == nil {
		return errNotFound
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="smsgw-trace-%s-%s.txt"`,
		sanitizeFile(s.Name()), u.now().UTC().Format("20060102-150405")))
	w.Header().Set("Cache-Control", "no-store")
	_, err := s.Trace().WriteTo(w)
	return err
}

var fileUnsafe = regexp.MustCompile(`[^A-Za-z0-9._-]`)

func sanitizeFile(s string) string { return fileUnsafe.ReplaceAllString(s, "_") }

func (u *UI) modemUSSD(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if !p.Can("modems:admin") {
		return errAdminOnly
	}
	s := u.session(mux.Vars(r)["name"])
	if s == nil {
		return errNotFound
	}
	ctx, cancel := context.WithTimeout(r.Context(), 40*time.Second)
	defer cancel()
	rep, err := s.USSD(ctx, strings.TrimSpace(r.PostFormValue("code")))
	if err != nil {
		http.Redirect(w, r, "/admin/modems?err="+urlQueryEscape(s.Name()+": "+err.Error()), http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/admin/modems?ok="+urlQueryEscape(s.Name()+" says: "+rep.Text), http.StatusSeeOther)
	return nil
}

type usersData struct {
	Users  []store.User
	Agents map[int64]store.Agent
	Queues map[int64]string
	Roles  []string
}

func (u *UI) usersPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if p.Role != router.RoleAdmin {
		return errAdminOnly
	}
	users, err := u.auth.Users(r.Context())
	if err != nil {
		return err
	}
	d := usersData{Users: users, Agents: map[int64]store.Agent{}, Queues: map[int64]string{},
		Roles: []string{router.RoleDispatcher, router.RoleSupervisor, router.RoleViewer, router.RoleAdmin}}
	if agents, err := u.rt.Agents(r.Context(), p.Actor()); err == nil {
		for _, a := range agents {
			d.Agents[a.ID] = a
		}
	}
	if qs, err := u.rt.Queues(r.Context(), p.Actor()); err == nil {
		for _, q := range qs {
			d.Queues[q.ID] = q.Name
		}
	}
	u.render(w, r, "users.html", u.base(r, p, "Users", "users"), d)
	return nil
}

func (u *UI) usersPost(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if p.Role != router.RoleAdmin {
		return errAdminOnly
	}
	ctx := r.Context()
	switch r.PostFormValue("op") {
	case "create":
		nu, err := u.auth.CreateUser(ctx, strings.TrimSpace(r.PostFormValue("username")),
			strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("password"), r.PostFormValue("role"))
		if err != nil {
			return err
		}
		u.onboard(ctx, p.Actor(), nu)
		http.Redirect(w, r, "/admin/users?ok="+urlQueryEscape("User "+nu.Username+" created."), http.StatusSeeOther)
	case "password":
		id, err := strconv.ParseInt(r.PostFormValue("user"), 10, 64)
		if err != nil {
			return errBadInput
		}
		if err := u.auth.SetPassword(ctx, id, r.PostFormValue("password")); err != nil {
			return err
		}
		http.Redirect(w, r, "/admin/users?ok="+urlQueryEscape("Password set."), http.StatusSeeOther)
	case "role", "disable", "enable":
		id, err := strconv.ParseInt(r.PostFormValue("user"), 10, 64)
		if err != nil {
			return errBadInput
		}
		var ch store.UserChanges
		msg := "Role changed."
		switch op := r.PostFormValue("op"); op {
		case "role":
			role := r.PostFormValue("role")
			if !auth.ValidRole(role) {
				return errBadInput
			}
			ch.Role = &role
		default:
			disabled := op == "disable"
			ch.Disabled = &disabled
			msg = map[bool]string{true: "User disabled: their sessions and tokens stop working.", false: "User enabled."}[disabled]
		}
		// The same rule as the API: nobody locks themselves out.
		if id == p.UserID && ((ch.Disabled != nil && *ch.Disabled) || (ch.Role != nil && *ch.Role != router.RoleAdmin)) {
			http.Redirect(w, r, "/admin/users?err="+urlQueryEscape("You cannot demote or disable yourself; ask another admin."), http.StatusSeeOther)
			return nil
		}
		changed, err := u.opts.DB.UpdateUser(ctx, id, ch)
		if err != nil {
			return err
		}
		u.log.Info("user changed by an admin", "user", changed.Username, "role", changed.Role, "disabled", changed.Disabled, "by", p.Username)
		u.forgetAgents()
		http.Redirect(w, r, "/admin/users?ok="+urlQueryEscape(msg), http.StatusSeeOther)
	case "availability":
		id, err := strconv.ParseInt(r.PostFormValue("user"), 10, 64)
		if err != nil {
			return errBadInput
		}
		if err := u.rt.SetAvailability(ctx, p.Actor(), id, r.PostFormValue("availability")); err != nil {
			return err
		}
		u.forgetAgents()
		http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
	default:
		return errBadInput
	}
	return nil
}

// onboard puts a new agent in the default queue and marks them ready, so they get its
// alerts from the start.
func (u *UI) onboard(ctx context.Context, by router.Actor, nu store.User) {
	if nu.Role != router.RoleViewer {
		if err := u.rt.SetQueueMember(ctx, by, store.DefaultQueueID, nu.ID, true); err != nil {
			u.log.Warn("add new user to the default queue", "user", nu.Username, "error", err)
		}
		if err := u.rt.SetAvailability(ctx, by, nu.ID, store.AvailabilityReady); err != nil {
			u.log.Warn("set new user ready", "user", nu.Username, "error", err)
		}
	}
	u.forgetAgents()
}

type queuesData struct {
	Queues []store.Queue
	Lines  []store.Line
	Agents []store.Agent
	Names  map[int64]string
}

func (u *UI) queuesPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if p.Role != router.RoleAdmin {
		return errAdminOnly
	}
	ctx := r.Context()
	var d queuesData
	var err error
	if d.Queues, err = u.rt.Queues(ctx, p.Actor()); err != nil {
		return err
	}
	if d.Lines, err = u.rt.Lines(ctx, p.Actor()); err != nil {
		return err
	}
	if d.Agents, err = u.rt.Agents(ctx, p.Actor()); err != nil {
		return err
	}
	d.Names = map[int64]string{}
	for _, a := range d.Agents {
		d.Names[a.ID] = a.Name()
	}
	u.render(w, r, "queues.html", u.base(r, p, "Queues and lines", "queues"), d)
	return nil
}

func (u *UI) queuesPost(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	a := p.Actor()
	minutes := func() time.Duration {
		n, _ := strconv.Atoi(r.PostFormValue("timeout"))
		return time.Duration(max(n, 0)) * time.Minute
	}
	qid, _ := strconv.ParseInt(r.PostFormValue("queue"), 10, 64)
	var err error
	switch r.PostFormValue("op") {
	case "create":
		_, err = u.rt.CreateQueue(ctx, a, r.PostFormValue("name"), minutes())
	case "timeout":
		err = u.rt.SetOwnershipTimeout(ctx, a, qid, minutes())
	case "member", "unmember":
		uid, perr := strconv.ParseInt(r.PostFormValue("user"), 10, 64)
		if perr != nil {
			return errBadInput
		}
		err = u.rt.SetQueueMember(ctx, a, qid, uid, r.PostFormValue("op") == "member")
		u.forgetAgents()
	case "line":
		err = u.rt.SetLine(ctx, a, store.Line{Name: r.PostFormValue("line"), QueueID: qid,
			EscalateOwnerAway: r.PostFormValue("escalate") == "1"})
	default:
		return errBadInput
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/queues?ok=Saved.", http.StatusSeeOther)
	return nil
}

type quickData struct {
	Replies []store.QuickReply
	Queues  []store.Queue
	Edit    store.QuickReply
}

func (u *UI) quickRepliesPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	var d quickData
	var err error
	if d.Replies, err = u.rt.QuickReplies(ctx, p.Actor()); err != nil {
		return err
	}
	d.Queues, _ = u.rt.Queues(ctx, p.Actor())
	d.Edit.Scope = store.ScopePersonal
	if id, _ := strconv.ParseInt(r.URL.Query().Get("edit"), 10, 64); id != 0 {
		for _, q := range d.Replies {
			if q.ID == id {
				d.Edit = q
			}
		}
	}
	u.render(w, r, "quickreplies.html", u.base(r, p, "Quick replies", "quick"), d)
	return nil
}

var fieldRE = regexp.MustCompile(`\{\{\s*field\.([A-Za-z0-9_]{1,32})`)

func (u *UI) quickRepliesPost(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	id, _ := strconv.ParseInt(r.PostFormValue("id"), 10, 64)
	if r.PostFormValue("op") == "delete" {
		if err := u.rt.DeleteQuickReply(ctx, p.Actor(), id); err != nil {
			return err
		}
		http.Redirect(w, r, "/admin/quick-replies?ok=Deleted.", http.StatusSeeOther)
		return nil
	}
	body := r.PostFormValue("body")
	q := store.QuickReply{ID: id, Scope: r.PostFormValue("scope"), Shortcut: r.PostFormValue("shortcut"), Body: body}
	q.QueueID, _ = strconv.ParseInt(r.PostFormValue("queue_id"), 10, 64)
	seen := map[string]bool{}
	for _, m := range fieldRE.FindAllStringSubmatch(body, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			q.Fields = append(q.Fields, m[1])
		}
	}
	if _, err := u.rt.SaveQuickReply(ctx, p.Actor(), q); err != nil {
		return err
	}
	http.Redirect(w, r, "/admin/quick-replies?ok=Saved.", http.StatusSeeOther)
	return nil
}

type tokensData struct {
	Tokens    []store.APIToken
	Plaintext string
	Scopes    []string
}

var allScopes = []string{"messages:send", "messages:read", "inbox:read", "inbox:write", "contacts:read",
	"contacts:write", "modems:read", "modems:admin", "webhooks:admin", "admin"}

func (u *UI) tokensPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	return u.renderTokens(w, r, p, "")
}

func (u *UI) renderTokens(w http.ResponseWriter, r *http.Request, p auth.Principal, plain string) error {
	list, err := u.auth.Tokens(r.Context(), p.UserID)
	if err != nil {
		return err
	}
	var scopes []string
	for _, s := range allScopes {
		if p.Can(s) {
			scopes = append(scopes, s)
		}
	}
	u.render(w, r, "tokens.html", u.base(r, p, "API tokens", "tokens"), tokensData{Tokens: list, Plaintext: plain, Scopes: scopes})
	return nil
}

func (u *UI) tokensPost(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	ctx := r.Context()
	if r.PostFormValue("op") == "revoke" {
		id, _ := strconv.ParseInt(r.PostFormValue("id"), 10, 64)
		mine, err := u.auth.Tokens(ctx, p.UserID)
		if err != nil {
			return err
		}
		found := false
		for _, t := range mine {
			found = found || t.ID == id
		}
		if !found {
			return errNotFound
		}
		if err := u.auth.RevokeToken(ctx, id); err != nil {
			return err
		}
		http.Redirect(w, r, "/admin/tokens?ok=Revoked.", http.StatusSeeOther)
		return nil
	}
	if err := r.ParseForm(); err != nil {
		return errBadInput
	}
	var scopes []string
	for _, s := range r.PostForm["scope"] {
		if !p.Can(s) {
			return fmt.Errorf("%w: scope %s is beyond your role", router.ErrForbidden, s)
		}
		scopes = append(scopes, s)
	}
	if len(scopes) == 0 {
		return errors.Join(errBadInput, errors.New("choose at least one scope"))
	}
	var expires time.Time
	if days, _ := strconv.Atoi(r.PostFormValue("days")); days > 0 {
		expires = u.now().AddDate(0, 0, days)
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" {
		return errors.Join(errBadInput, errors.New("name the token"))
	}
	plain, _, err := u.auth.CreateToken(ctx, p.UserID, name, scopes, expires)
	if err != nil {
		return err
	}
	return u.renderTokens(w, r, p, plain)
}
