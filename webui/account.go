package webui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/smsgw/smsgw/auth"
	"github.com/smsgw/smsgw/router"
)

// preCookie carries the double-submit CSRF token of the forms shown before a session
// exists (login and first-run setup).
const preCookie = "smsgw_pre"

// preToken returns the visitor's pre-login CSRF token, setting the cookie when needed.
func (u *UI) preToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(preCookie); err == nil && len(c.Value) == 32 {
		return c.Value
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	t := hex.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: preCookie, Value: t, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: u.opts.SecureCookies, MaxAge: 3600})
	return t
}

// checkPre verifies the double-submit token of a pre-login form.
func checkPre(r *http.Request) bool {
	c, err := r.Cookie(preCookie)
	if err != nil || c.Value == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) == 1
}

type loginData struct {
	Next, Username, Message string
}

func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := auth.From(r.Context()); ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	if has, err := u.auth.HasUsers(r.Context()); err == nil && !has {
		u.render(w, r, "nosetup.html", base{Title: "Set up smsgw", Version: u.opts.Version}, u.welcome(true))
		return
	}
	b := base{Title: "Sign in", Version: u.opts.Version, CSRF: u.preToken(w, r)}
	u.render(w, r, "login.html", b, loginData{Next: safeNext(r.URL.Query().Get("next"))})
}

func (u *UI) loginPost(w http.ResponseWriter, r *http.Request) {
	d := loginData{Next: safeNext(r.PostFormValue("next")), Username: strings.TrimSpace(r.PostFormValue("username"))}
	b := base{Title: "Sign in", Version: u.opts.Version, CSRF: u.preToken(w, r)}
	if !checkPre(r) {
		d.Message = "The form expired; please try again."
		w.WriteHeader(http.StatusForbidden)
		u.render(w, r, "login.html", b, d)
		return
	}
	sid, _, err := u.auth.Login(r.Context(), d.Username, r.PostFormValue("password"), remoteIP(r))
	if err != nil {
		switch {
		case errors.Is(err, auth.ErrThrottled):
			d.Message = "Too many attempts. Wait a few minutes and try again."
			w.WriteHeader(http.StatusTooManyRequests)
		case errors.Is(err, auth.ErrBadCredentials):
			d.Message = "Wrong username or password."
			w.WriteHeader(http.StatusUnauthorized)
		default:
			u.log.Error("login", "error", err)
			d.Message = "Signing in failed; the error was logged."
			w.WriteHeader(http.StatusInternalServerError)
		}
		u.render(w, r, "login.html", b, d)
		return
	}
	u.auth.SetSessionCookie(w, sid)
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if p.Session != "" {
		if err := u.auth.Logout(r.Context(), p.Session); err != nil {
			return err
		}
	}
	u.auth.ClearSessionCookie(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

type setupData struct {
	Token, Username, Name, Message string
	Done                           bool
}

func (u *UI) setupPage(w http.ResponseWriter, r *http.Request) {
	b := base{Title: "Create the administrator", Version: u.opts.Version, CSRF: u.preToken(w, r)}
	d := setupData{Token: r.URL.Query().Get("token")}
	if has, err := u.auth.HasUsers(r.Context()); err == nil && has {
		d.Done = true
	}
	u.render(w, r, "setup.html", b, d)
}

func (u *UI) setupPost(w http.ResponseWriter, r *http.Request) {
	b := base{Title: "Create the administrator", Version: u.opts.Version, CSRF: u.preToken(w, r)}
	d := setupData{Token: r.PostFormValue("token"), Username: strings.TrimSpace(r.PostFormValue("username")),
		Name: strings.TrimSpace(r.PostFormValue("name"))}
	fail := func(code int, msg string) {
		d.Message = msg
		w.WriteHeader(code)
		u.render(w, r, "setup.html", b, d)
	}
	if !checkPre(r) {
		fail(http.StatusForbidden, "The form expired; please try again.")
		return
	}
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("password2") {
		fail(http.StatusBadRequest, "The two passwords differ.")
		return
	}
	if d.Username == "" {
		fail(http.StatusBadRequest, "Choose a username.")
		return
	}
	nu, err := u.auth.CompleteSetup(r.Context(), d.Token, d.Username, d.Name, pw)
	if err != nil {
		if errors.Is(err, auth.ErrWeakPassword) {
			fail(http.StatusBadRequest, "Choose a longer password (at least 10 characters).")
			return
		}
		u.log.Warn("setup failed", "error", err)
		fail(http.StatusBadRequest, "This setup link is not valid any more. Print a new one with `smsgw user add` or restart the gateway.")
		return
	}
	u.onboard(r.Context(), router.Actor{UserID: nu.ID, Role: nu.Role}, nu)
	sid, _, err := u.auth.Login(r.Context(), d.Username, pw, remoteIP(r))
	if err != nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	u.auth.SetSessionCookie(w, sid)
	http.Redirect(w, r, "/inbox?ok="+urlQueryEscape("Welcome! Add your team under Users, then route lines under Queues."), http.StatusSeeOther)
}

func (u *UI) passwordPage(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	u.render(w, r, "password.html", u.base(r, p, "Change password", "account"), nil)
	return nil
}

func (u *UI) passwordPost(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	pw := r.PostFormValue("password")
	back := func(msg string) error {
		http.Redirect(w, r, "/account/password?err="+urlQueryEscape(msg), http.StatusSeeOther)
		return nil
	}
	if pw != r.PostFormValue("password2") {
		return back("The two passwords differ.")
	}
	// The current password is checked by signing in with it (rate-limited like any login).
	sid, _, err := u.auth.Login(r.Context(), p.Username, r.PostFormValue("current"), remoteIP(r))
	if err != nil {
		return back("The current password is wrong.")
	}
	if err := u.auth.SetPassword(r.Context(), p.UserID, pw); err != nil {
		_ = u.auth.Logout(r.Context(), sid)
		if errors.Is(err, auth.ErrWeakPassword) {
			return back("Choose a longer password (at least 10 characters).")
		}
		return err
	}
	// Keep the session that proved the password; drop the old one.
	if p.Session != "" {
		_ = u.auth.Logout(r.Context(), p.Session)
	}
	u.auth.SetSessionCookie(w, sid)
	http.Redirect(w, r, "/account/password?ok="+urlQueryEscape("Password changed."), http.StatusSeeOther)
	return nil
}

func (u *UI) availabilityPost(w http.ResponseWriter, r *http.Request, p auth.Principal) error {
	if err := u.rt.SetAvailability(r.Context(), p.Actor(), p.UserID, r.PostFormValue("availability")); err != nil {
		return err
	}
	u.forgetAgents()
	redirectBack(w, r, safeNext(r.PostFormValue("back")), "")
	return nil
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
