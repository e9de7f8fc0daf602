package webui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/smsgw/smsgw/router"
)

// Admins change roles and disable users on the users page; a disabled user's session
// stops working at once, and nobody can demote or disable themselves.
func TestUsersRoleAndDisable(t *testing.T) {
	s := newStack(t, router.Permissions{})
	ana := s.user("ana", "Ana Lima", "admin")
	dee := s.user("dee", "Dee Dispatcher", "dispatcher")
	admin := s.client()
	tk := s.login(admin, "ana")
	agent := s.client()
	s.login(agent, "dee")

	post := func(form url.Values) *http.Response {
		t.Helper()
		form.Set("csrf", tk)
		resp, err := admin.PostForm(s.url+"/admin/users", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	get := func(c *http.Client, path string) *http.Response {
		t.Helper()
		resp, err := c.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	id := strconv.FormatInt(dee.ID, 10)

	post(url.Values{"op": {"role"}, "user": {id}, "role": {"viewer"}})
	if u, err := s.db.User(t.Context(), dee.ID); err != nil || u.Role != "viewer" {
		t.Fatalf("role after change: %+v %v", u, err)
	}
	if resp := get(agent, "/inbox"); resp.StatusCode != http.StatusOK {
		t.Fatalf("a viewer's inbox: %s", resp.Status)
	}

	post(url.Values{"op": {"disable"}, "user": {id}})
	if resp := get(agent, "/inbox"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("a disabled user's session still works: %s %s", resp.Status, resp.Header.Get("Location"))
	}
	post(url.Values{"op": {"enable"}, "user": {id}})
	if u, _ := s.db.User(t.Context(), dee.ID); u.Disabled {
		t.Fatal("user still disabled after enable")
	}

	resp := post(url.Values{"op": {"role"}, "user": {strconv.FormatInt(ana.ID, 10)}, "role": {"viewer"}})
	if !strings.Contains(resp.Header.Get("Location"), "err=") {
		t.Fatalf("self-demotion not refused: %s", resp.Header.Get("Location"))
	}
	if u, _ := s.db.User(t.Context(), ana.ID); u.Role != "admin" {
		t.Fatalf("admin demoted herself to %s", u.Role)
	}
	if resp := post(url.Values{"op": {"role"}, "user": {id}, "role": {"emperor"}}); resp.StatusCode < 400 {
		t.Fatalf("invalid role accepted: %s", resp.Status)
	}
}
