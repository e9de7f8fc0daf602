package config

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite docs/configuration.md from the Config struct")

const referencePath = "../docs/configuration.md"

// TestReference renders docs/configuration.md from the Config struct (doc comments, yaml
// keys and types from the source, defaults from Default(), variable names from EnvName)
// and fails when the committed file differs. Regenerate it with:
//
//	go test ./config -run Reference -update
func TestReference(t *testing.T) {
	got, err := renderReference()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(referencePath, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(referencePath)
	if err != nil {
		t.Fatalf("%v (create it with: go test ./config -run Reference -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("docs/configuration.md is out of date with the Config struct; regenerate it with:\n" +
			"  go test ./config -run Reference -update")
	}
}

// structDocs are the struct types of the package's source: their doc comments and fields.
type structDocs struct {
	doc    map[string]string            // type name → doc
	fields map[string]map[string]string // type name → field name → doc
}

func parseStructs() (structDocs, error) {
	sd := structDocs{doc: map[string]string{}, fields: map[string]map[string]string{}}
	files, err := filepath.Glob("*.go")
	if err != nil {
		return sd, err
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			return sd, err
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				doc := ts.Doc
				if doc == nil {
					doc = gd.Doc
				}
				sd.doc[ts.Name.Name] = docText(doc)
				fm := map[string]string{}
				var prevDoc, prevKey string
				for _, fld := range st.Fields.List {
					d := docText(fld.Doc)
					if d == "" {
						d = docText(fld.Comment)
					}
					for _, n := range fld.Names {
						fd := d
						// A field without a comment that the previous field's comment
						// names (RetryBase … up to RetryMax) shares that comment.
						if fd == "" && prevDoc != "" && strings.Contains(prevDoc, n.Name) {
							fd = "See `" + prevKey + "`."
						}
						fm[n.Name] = fd
						if d != "" {
							prevDoc, prevKey = d, "\x00"+n.Name // resolved to the key later
						}
					}
				}
				sd.fields[ts.Name.Name] = fm
			}
		}
	}
	return sd, nil
}

func docText(g *ast.CommentGroup) string {
	if g == nil {
		return ""
	}
	return strings.Join(strings.Fields(g.Text()), " ")
}

type refRow struct {
	key, typ, def, env, doc string
}

type refSection struct {
	title, doc string
	rows       []refRow
}

func renderReference() ([]byte, error) {
	sd, err := parseStructs()
	if err != nil {
		return nil, err
	}
	var sections []*refSection
	top := &refSection{title: "Top level", doc: "Keys at the top of the file."}
	sections = append(sections, top)
	var walkStruct func(sec *refSection, tname, prefix string, v reflect.Value, envOK bool)
	walkStruct = func(sec *refSection, tname, prefix string, v reflect.Value, envOK bool) {
		t := v.Type()
		keys := map[string]string{} // field name → key, for "See" references
		for i := range t.NumField() {
			f := t.Field(i)
			name := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if name == "" || name == "-" {
				continue
			}
			key := name
			if prefix != "" {
				key = prefix + "." + name
			}
			keys[f.Name] = key
			doc := sd.fields[tname][f.Name]
			if rest, ok := strings.CutPrefix(doc, "See `\x00"); ok {
				fieldName := strings.TrimSuffix(rest, "`.")
				doc = "See `" + keys[fieldName] + "`."
			}
			fv := v.Field(i)
			switch {
			case f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Time{}):
				sub := &refSection{title: "`" + key + "`", doc: firstNonEmpty(doc, sd.doc[f.Type.Name()])}
				sections = append(sections, sub)
				walkStruct(sub, f.Type.Name(), key, fv, envOK)
			case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
				et := f.Type.Elem()
				sub := &refSection{
					title: "`" + key + "` (a list)",
					doc: strings.TrimSpace(firstNonEmpty(doc, sd.doc[et.Name()]) +
						" Each entry has the keys below; lists are set in the file only, not from the environment." +
						fmt.Sprintf(" Default: %d entries.", fv.Len())),
				}
				sections = append(sections, sub)
				walkStruct(sub, et.Name(), key+"[]", reflect.New(et).Elem(), false)
			default:
				env := "file only"
				if envOK {
					env = "`" + EnvName(key) + "`"
				}
				if f.Tag.Get("secret") == "true" {
					doc = strings.TrimSpace(doc + " Secret: masked by `smsgw config dump`.")
				}
				sec.rows = append(sec.rows, refRow{key: "`" + key + "`", typ: typeName(f.Type), def: defaultText(fv, envOK), env: env, doc: doc})
			}
		}
	}
	walkStruct(top, "Config", "", reflect.ValueOf(Default()), true)

	var b bytes.Buffer
	b.WriteString(`# Configuration reference

<!-- Generated from config/*.go by ` + "`go test ./config -run Reference -update`" + `. Do not edit by hand:
     change the doc comments in config/config.go and regenerate. A test fails when this file is stale. -->

smsgw builds its configuration in this order, later sources winning:

1. the defaults below;
2. the YAML file: ` + "`--config FILE`" + `, else ` + "`$SMSGW_CONFIG`" + `, else ` + "`" + DefaultPath + "`" + ` if it exists
   (unknown keys are errors, so a typo never falls back to a default silently);
3. ` + "`SMSGW_*`" + ` environment variables: the key in capitals with dots as underscores
   (` + "`log.level`" + ` → ` + "`SMSGW_LOG_LEVEL`" + `); lists such as ` + "`modems`" + ` are set in the file only;
4. command-line flags (` + "`smsgw serve --help`" + ` lists them).

Check a file with ` + "`smsgw config check`" + ` (it reports every problem with its key and a fix) and
see what is in effect with ` + "`smsgw config dump`" + ` (secrets masked). Durations are written as
` + "`30s`" + `, ` + "`5m`" + `, ` + "`1h`" + `. An annotated example is ` + "`systemd/smsgw.example.yaml`" + `
(installed as ` + "`/usr/share/doc/smsgw/smsgw.example.yaml`" + `).
`)
	for _, s := range sections {
		if len(s.rows) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n", s.title)
		if s.doc != "" {
			fmt.Fprintf(&b, "%s\n\n", s.doc)
		}
		b.WriteString("| key | type | default | environment | meaning |\n| --- | --- | --- | --- | --- |\n")
		for _, r := range s.rows {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.key, r.typ, r.def, r.env, cell(r.doc))
		}
	}
	return b.Bytes(), nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func typeName(t reflect.Type) string {
	switch {
	case t == reflect.TypeOf(time.Duration(0)):
		return "duration"
	case t.Kind() == reflect.String:
		return "string"
	case t.Kind() == reflect.Bool:
		return "bool"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64, t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64:
		return "integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "number"
	case t.Kind() == reflect.Slice:
		return "list of " + typeName(t.Elem())
	case t.Kind() == reflect.Map:
		return "map"
	}
	return t.String()
}

func defaultText(v reflect.Value, inDefaults bool) string {
	if !inDefaults {
		return "–"
	}
	switch {
	case v.Type() == reflect.TypeOf(time.Duration(0)):
		return "`" + shortDuration(time.Duration(v.Int())) + "`"
	case v.Kind() == reflect.String:
		if v.String() == "" {
			return "(empty)"
		}
		return "`" + v.String() + "`"
	case v.Kind() == reflect.Bool:
		return "`" + strconv.FormatBool(v.Bool()) + "`"
	case v.Kind() >= reflect.Int && v.Kind() <= reflect.Int64:
		return "`" + strconv.FormatInt(v.Int(), 10) + "`"
	case v.Kind() == reflect.Slice || v.Kind() == reflect.Map:
		if v.Len() == 0 {
			return "(none)"
		}
		items := make([]string, v.Len())
		for i := range v.Len() {
			items[i] = fmt.Sprint(v.Index(i).Interface())
		}
		sort.Strings(items)
		return "`" + strings.Join(items, ", ") + "`"
	}
	return "`" + fmt.Sprint(v.Interface()) + "`"
}

func shortDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
