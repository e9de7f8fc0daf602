package router

import (
	"strings"
	"testing"
)

// FuzzRender renders arbitrary quick-reply templates with arbitrary contact data and
// agent fields. It must never panic; text without "{{" comes back unchanged; and an
// inserted value is never scanned again (a contact named "{{agent.name}}" stays that).
func FuzzRender(f *testing.F) {
	for _, s := range [][3]string{
		{"Hi {{contact.first_name}}, {{agent.name}} here.", "Ana Silva", "x"},
		{"{{field.eta|soon}} {{contact.fields.plan}}", "{{agent.name}}", ""},
		{"{{ unknown }}", "<script>alert(1)</script>", "'; DROP TABLE x; --"},
		{"{{contact.name|}}{{line}}{{job.ref}}", "", "${7*7}"},
		{"{{{{contact.name}}}}", "}}{{", "{{field.x}}"},
		{"plain text, no variables <b>", "n", "v"},
	} {
		f.Add(s[0], s[1], s[2], false)
		f.Add(s[0], s[1], s[2], true)
	}
	f.Fuzz(func(t *testing.T, tmpl, name, field string, check bool) {
		d := RenderData{ContactName: name, ContactNumber: "+4915112345678", AgentName: "{{contact.name}}",
			ContactFields: map[string]string{"plan": field}, Line: "main", JobRef: "J-1"}
		out, err := Render(tmpl, d, map[string]string{"eta": field, "x": name}, check)
		if err == nil && !strings.Contains(tmpl, "{{") && out != tmpl {
			t.Fatalf("template without variables changed: %q → %q", tmpl, out)
		}
		if name != "" {
			got, err := Render("{{contact.name}}", d, nil, false)
			if err != nil || got != name {
				t.Fatalf("contact name %q rendered as %q (%v)", name, got, err)
			}
		}
	})
}
