package alert

import (
	"strings"
	"testing"
)

// FuzzRender renders arbitrary alert templates with arbitrary job values. It must never
// panic; a body without "{{" only loses surrounding space; a value is inserted as it is
// and never scanned again.
func FuzzRender(f *testing.F) {
	for _, s := range [][2]string{
		{"Hi {{customer.first_name}}, {{worker.name}} arrives {{job.eta|soon}}.", "Ana Silva"},
		{"{{job.ref}} {{missing}}", "{{job.ref}}"},
		{"{{ customer.name | fallback }}", "<img src=x onerror=alert(1)>"},
		{"{{{{x}}}} }}{{", "'; DROP TABLE jobs; --"},
		{"  plain  ", "${jndi:ldap://x}"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, body, val string) {
		vars := map[string]string{"customer.name": val, "customer.first_name": val, "job.ref": "{{customer.name}}", "x": val}
		out, _ := Render(body, vars)
		if !strings.Contains(body, "{{") && out != strings.TrimSpace(body) {
			t.Fatalf("body without tokens changed: %q → %q", body, out)
		}
		if got, missing := Render("{{x}}", vars); strings.TrimSpace(val) != "" && (got != strings.TrimSpace(val) || len(missing) != 0) {
			t.Fatalf("value %q rendered as %q (missing %v)", val, got, missing)
		}
		if got, _ := Render("{{job.ref}}", vars); got != "{{customer.name}}" {
			t.Fatalf("an inserted value was scanned again: %q", got)
		}
	})
}
