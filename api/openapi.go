package api

import (
	_ "embed"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/smsgw/smsgw/auth"
)

//go:embed openapi.json
var openapiJSON []byte

func (a *API) openapi(w http.ResponseWriter, _ *http.Request, _ auth.Principal) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(openapiJSON)
	return nil
}

var pathParamRE = regexp.MustCompile(`\{([a-z_]+)\}`)

// OpenAPI builds the OpenAPI 3 document from the route table. The embedded
// openapi.json is its output; TestOpenAPI keeps the two, and the registered routes,
// in step (go test ./api -run TestOpenAPI -update rewrites the file).
func (a *API) OpenAPI() map[string]any {
	paths := map[string]any{}
	for _, rt := range a.routes() {
		p := Prefix + rt.Path
		item, _ := paths[p].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[p] = item
		}
		op := map[string]any{
			"summary":     rt.Summary,
			"tags":        []string{rt.Tag},
			"operationId": operationID(rt),
			"responses":   responses(rt),
		}
		var params []any
		for _, m := range pathParamRE.FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range rt.Query {
			params = append(params, map[string]any{"name": q, "in": "query", "required": false, "schema": map[string]any{"type": "string"}})
		}
		if rt.Method == post && (strings.HasSuffix(rt.Path, "/messages") && !strings.Contains(rt.Path, "{")) {
			params = append(params, map[string]any{"name": "Idempotency-Key", "in": "header", "required": false, "schema": map[string]any{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		switch {
		case rt.Scope == scopePublic:
			op["security"] = []any{}
		case rt.Scope == scopeAny:
			op["x-scope"] = "any authenticated caller"
		default:
			op["x-scope"] = rt.Scope
			op["security"] = []any{map[string]any{"bearer": []string{rt.Scope}}, map[string]any{"session": []string{}}}
		}
		if rt.Body != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(rt.Body))}}}
		} else if rt.Path == "/contacts/import" {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"text/csv": map[string]any{"schema": map[string]any{"type": "string"}}}}
		}
		item[strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "smsgw API", "version": "1",
			"description": "REST API of the smsgw SMS gateway and team inbox. Errors: {\"error\":{\"code\",\"message\",\"field\"}}. " +
				"Lists: {\"items\",\"next_cursor\"} with a Link header. Scopes: " + strings.Join(auth.AllScopes, ", ") + "."},
		"servers": []any{map[string]any{"url": "/"}},
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer":  map[string]any{"type": "http", "scheme": "bearer", "description": "API token (smsgw_...)"},
				"session": map[string]any{"type": "apiKey", "in": "cookie", "name": auth.CookieName, "description": "browser session; state-changing requests also need the X-CSRF-Token header"},
			},
			"schemas": map[string]any{
				"Error": map[string]any{"type": "object", "properties": map[string]any{"error": map[string]any{
					"type": "object", "properties": map[string]any{
						"code": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"}, "field": map[string]any{"type": "string"}},
					"required": []string{"code", "message"}}}},
			},
		},
		"security": []any{map[string]any{"bearer": []string{}}, map[string]any{"session": []string{}}},
	}
}

func operationID(rt route) string {
	s := strings.ToLower(rt.Method) + strings.NewReplacer("/", "_", "{", "", "}", "", "-", "_", ".", "_").Replace(rt.Path)
	return s
}

func responses(rt route) map[string]any {
	errRef := map[string]any{"description": "error", "content": map[string]any{"application/json": map[string]any{
		"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
	ok := "200"
	switch {
	case rt.Path == "/events":
		return map[string]any{"200": map[string]any{"description": "text/event-stream of envelopes"}, "401": errRef, "403": errRef}
	case rt.Path == "/messages" && rt.Method == post, rt.Path == "/messages/batch", strings.HasSuffix(rt.Path, "/redeliver"),
		strings.HasSuffix(rt.Path, "/ping"), strings.HasSuffix(rt.Path, "/replay"), rt.Path == "/conversations/{id}/messages" && rt.Method == post:
		ok = "202"
	case rt.Method == post && (rt.Path == "/conversations" || rt.Path == "/contacts" || rt.Path == "/users" || rt.Path == "/tokens" ||
		rt.Path == "/webhooks" || strings.HasSuffix(rt.Path, "/notes")):
		ok = "201"
	case rt.Method == del && !strings.Contains(rt.Path, "/tags/") && !strings.Contains(rt.Path, "/numbers/"),
		strings.HasSuffix(rt.Path, "/read") || strings.HasSuffix(rt.Path, "/unread") || strings.HasSuffix(rt.Path, "/password") || rt.Path == "/logout":
		ok = "204"
	}
	out := map[string]any{ok: map[string]any{"description": "success"}, "default": errRef}
	if rt.Scope != scopePublic {
		out["401"] = errRef
		out["403"] = errRef
	}
	return out
}

var timeType = reflect.TypeOf(time.Time{})

// schemaOf is a small JSON Schema of a request type, from its json tags.
func schemaOf(t reflect.Type) map[string]any {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		return map[string]any{"type": "string", "format": "date-time"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64, reflect.Int32:
		return map[string]any{"type": "integer"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
	case reflect.Struct:
		props := map[string]any{}
		var required []string
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			props[name] = schemaOf(f.Type)
			if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
				required = append(required, name)
			}
		}
		s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if required != nil {
			sort.Strings(required)
			s["required"] = required
		}
		return s
	}
	return map[string]any{}
}
