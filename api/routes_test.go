package api

import (
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/smsgw/smsgw/auth"
)

var update = flag.Bool("update", false, "rewrite openapi.json from the route table")

// walked lists "METHOD /path" of every route registered on the server's router.
func walked(t *testing.T, r *mux.Router) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return nil
		}
		ms, err := route.GetMethods()
		if err != nil {
			return nil
		}
		for _, m := range ms {
			out[m+" "+tpl] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var varRE = regexp.MustCompile(`\{[a-z_]+\}`)

// TestRouteTable walks every registered route: the public ones (health, metrics, login)
// answer anonymous requests, every other one answers 401 without credentials, every
// route is in the table with a scope, and a token without that scope gets 403.
func TestRouteTable(t *testing.T) {
	e := newEnv(t, false)
	table := map[string]route{}
	for _, rt := range e.api.Routes() {
		table[rt.Method+" "+Prefix+rt.Path] = rt
		if rt.Scope == "" {
			t.Errorf("%s %s has no scope", rt.Method, rt.Path)
		}
		if rt.Scope == scopePublic && rt.Path != "/login" {
			t.Errorf("%s %s is public; only login may be", rt.Method, rt.Path)
		}
	}
	public := map[string]bool{"GET /healthz": true, "HEAD /healthz": true, "GET /readyz": true, "HEAD /readyz": true,
		"GET /metrics": true, "POST /api/v1/login": true}
	// A token for each scope, of an admin (so the role never limits it).
	scopeTok := map[string]string{}
	for _, s := range auth.AllScopes {
		scopeTok[s] = e.token(e.admin, s)
	}
	routes := walked(t, e.srv.Router())
	n := 0
	for key := range routes {
		method, path, _ := strings.Cut(key, " ")
		url := varRE.ReplaceAllString(path, "1")
		if public[key] {
			continue
		}
		if !strings.HasPrefix(path, Prefix) {
			t.Errorf("unexpected route outside the API: %s", key)
			continue
		}
		rt, ok := table[key]
		if !ok {
			t.Errorf("%s is registered but not in the route table", key)
			continue
		}
		n++
		if r := e.do(method, url, "", `{}`); r.Status != http.StatusUnauthorized || r.errCode() != "unauthenticated" {
			t.Errorf("anonymous %s: %d %s", key, r.Status, r.Body)
		}
		if r := e.do(method, url, "smsgw_notatoken", `{}`); r.Status != http.StatusUnauthorized {
			t.Errorf("bad token %s: %d", key, r.Status)
		}
		if rt.Scope == scopeAny {
			continue
		}
		// Some scope other than the one needed (and not admin).
		other := auth.ScopeMessagesRead
		if rt.Scope == other {
			other = auth.ScopeInboxRead
		}
		r := e.do(method, url, scopeTok[other], `{}`)
		if r.Status != http.StatusForbidden || r.errCode() != "insufficient_scope" {
			t.Errorf("%s with scope %s: %d %s (needs %s)", key, other, r.Status, r.Body, rt.Scope)
		}
		if method != http.MethodGet || rt.Path == "/events" {
			continue
		}
		// The right scope gets past the check (whatever the handler then says).
		if r := e.do(method, url, scopeTok[rt.Scope], nil); r.Status == http.StatusForbidden && r.errCode() == "insufficient_scope" {
			t.Errorf("%s with its scope %s: %d %s", key, rt.Scope, r.Status, r.Body)
		}
	}
	if n != len(table)-1 {
		t.Errorf("walked %d API routes (besides login), the table has %d", n, len(table)-1)
	}
	// Login is public: wrong credentials are a 401 of their own.
	if r := e.do("POST", "/api/v1/login", "", map[string]string{"username": "ada", "password": "wrong wrong wrong"}); r.errCode() != "bad_credentials" {
		t.Errorf("login: %d %s", r.Status, r.Body)
	}
}

// TestOpenAPI: openapi.json is what the route table generates, and it lists exactly the
// registered API routes.
func TestOpenAPI(t *testing.T) {
	e := newEnv(t, false)
	doc, err := json.MarshalIndent(e.api.OpenAPI(), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	doc = append(doc, '\n')
	if *update {
		if err := os.WriteFile("openapi.json", doc, 0o644); err != nil {
			t.Fatal(err)
		}
		openapiJSON = doc
	}
	if string(doc) != string(openapiJSON) {
		t.Fatal("openapi.json is stale: run go test ./api -run TestOpenAPI -update")
	}
	r := e.do("GET", "/api/v1/openapi.json", e.tok["viewer"], nil)
	var served struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	r.json(t, &served)
	if r.Status != 200 || !strings.HasPrefix(served.OpenAPI, "3.") {
		t.Fatalf("served: %d", r.Status)
	}
	inDoc := map[string]bool{}
	for p, ops := range served.Paths {
		for m := range ops {
			inDoc[strings.ToUpper(m)+" "+p] = true
		}
	}
	inMux := map[string]bool{}
	for k := range walked(t, e.srv.Router()) {
		if strings.Contains(k, Prefix) {
			inMux[k] = true
		}
	}
	var missing, extra []string
	for k := range inMux {
		if !inDoc[k] {
			missing = append(missing, k)
		}
	}
	for k := range inDoc {
		if !inMux[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing)+len(extra) > 0 {
		t.Fatalf("routes not in openapi.json: %v\nopenapi.json paths not routed: %v", missing, extra)
	}
}
