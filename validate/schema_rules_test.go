package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dlclark/regexp2"
	"github.com/joblet/rtool/schema"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"
)

// schemaCannotExpress lists what validate checks and the generated
// manifest schema (schema/manifest.schema.json) cannot: every other
// diagnostic of every rule fixture must be matched by a schema error on
// the YAML node it is about. An entry with a message prefix covers only
// the diagnostics whose message starts with it (the rest of that rule the
// schema does express).
var schemaCannotExpress = []struct {
	rule, messagePrefix, why string
}{
	{RuleManifestMissing, "", "a missing file is no document to validate"},
	{RuleManifestYAML, "", "a YAML syntax error stops before any schema applies"},
	{RuleManifestDocuments, "", "a schema validates one document; editors apply it to each document of the file"},
	{RuleManifestDuplicateKey, "", "the JSON data model keeps one value per key; the repeat is gone before validation"},
	{RuleNameDirMismatch, "", "needs the directory name, which is not in the document"},
	{RulePlatformSetupMissing, "", "needs the runtime directory's files (setup-<platform>.sh)"},
	{RulePlatformSetupUndeclared, "", "needs the runtime directory's files (setup-*.sh)"},
	{RuleSetupMissing, "", "needs the runtime directory's files (setup.sh)"},
	{RuleScriptShebang, "", "about shell scripts, not the manifest"},
	{RuleScriptExecutable, "", "about shell scripts' modes on disk and in git"},
	{RuleScriptSyntax, "", "needs bash -n on the scripts"},
	{RuleScriptShellcheck, "", "needs shellcheck on the scripts"},
	{RuleScriptLineEndings, "", "about shell scripts, not the manifest"},
	{RuleRootNoRuntimes, "", "about the runtimes directory, not one manifest"},
	{RuleRootHiddenRuntime, "", "about the runtimes directory, not one manifest"},
	{RulePackagesDuplicate, "", "uniqueItems catches identical entries only; validate compares names normalised as pip does (numpy==1.26.2 and NumPy==1.26.3 are one package)"},
	{RuleBuildBase, "no named base ", "needs the build configuration (rtool.yaml), which is not in the document"},
	{RuleBuildBase, "named base ", "needs the build configuration (rtool.yaml), which is not in the document"},
	{RuleSmokeName, "smoke test name ", "unique names across smoke tests: uniqueItems compares whole items, not one key (a missing or blank name the schema does catch)"},
}

// cannotExpress returns why the schema cannot express diagnostic d, or "".
func cannotExpress(rule, message string) string {
	for _, c := range schemaCannotExpress {
		if c.rule == rule && strings.HasPrefix(message, c.messagePrefix) {
			return c.why
		}
	}
	return ""
}

// regexp2Engine compiles patterns as ECMA-262 regular expressions, what
// JSON Schema specifies and editors use, beside the Go engine the
// validator library uses by default.
func regexp2Engine(s string) (jsonschema.Regexp, error) {
	re, err := regexp2.Compile(s, regexp2.ECMAScript)
	if err != nil {
		return nil, err
	}
	return ecmaRegexp{re}, nil
}

type ecmaRegexp struct{ re *regexp2.Regexp }

func (r ecmaRegexp) MatchString(s string) bool {
	ok, err := r.re.MatchString(s)
	return err == nil && ok
}

func (r ecmaRegexp) String() string { return r.re.String() }

var regexpEngines = []struct {
	name   string
	engine jsonschema.RegexpEngine
}{
	{"go", nil},
	{"ecmascript", regexp2Engine},
}

// compileSchema compiles the committed schema/<name>.schema.json (the drift
// test in package schema holds it to the Go types).
func compileSchema(t *testing.T, name string, engine jsonschema.RegexpEngine) *jsonschema.Schema {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "schema", schema.SchemaFile(name)))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s schema: %v", name, err)
	}
	c := jsonschema.NewCompiler()
	c.UseRegexpEngine(engine)
	url := schema.SchemaBaseURL + schema.SchemaFile(name)
	if err := c.AddResource(url, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatalf("compile %s schema: %v", name, err)
	}
	return s
}

// yamlInstance decodes the first YAML document of data into the JSON data
// model the schema sees (as an editor's YAML language server does).
func yamlInstance(data []byte) (any, *yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, nil, err
	}
	var v any
	if err := doc.Decode(&v); err != nil {
		return nil, nil, err
	}
	j, err := json.Marshal(v)
	if err != nil {
		return nil, nil, err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	return inst, &doc, err
}

// span is the lines a YAML value covers, its key's line included.
type span struct{ first, last int }

// nodeSpans maps the JSON pointer of every value in doc to its lines.
func nodeSpans(doc *yaml.Node) map[string]span {
	out := map[string]span{"": {1, 1 << 30}}
	var walk func(n *yaml.Node, ptr string, first int) int
	walk = func(n *yaml.Node, ptr string, first int) int {
		last := n.Line
		if first == 0 || n.Line < first {
			first = n.Line
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				last = max(last, walk(v, ptr+"/"+k.Value, k.Line))
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				last = max(last, walk(c, fmt.Sprintf("%s/%d", ptr, i), 0))
			}
		}
		if ptr != "" {
			out[ptr] = span{first, last}
		}
		return last
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		walk(doc.Content[0], "", 0)
	}
	return out
}

// leafErrors flattens a validation error to the errors that have no causes.
func leafErrors(err error) []*jsonschema.ValidationError {
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	var out []*jsonschema.ValidationError
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			out = append(out, e)
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return out
}

func pointer(loc []string) string {
	if len(loc) == 0 {
		return ""
	}
	return "/" + strings.Join(loc, "/")
}

// TestRuleFixturesAgainstManifestSchema runs every manifest.yaml under
// testdata/rules through the generated manifest schema, with a Go and an
// ECMAScript regular expression engine. Each diagnostic of each fixture
// (from ruleCases) is either in schemaCannotExpress or matched by a schema
// error on the YAML node that holds its line; a manifest whose diagnostics
// the schema cannot express must pass the schema (it is no stricter than
// validate).
func TestRuleFixturesAgainstManifestSchema(t *testing.T) {
	cases := map[string]ruleCase{}
	for _, c := range ruleCases {
		cases[c.name] = c
	}
	dirs, err := os.ReadDir(filepath.Join("testdata", "rules"))
	if err != nil {
		t.Fatal(err)
	}
	for _, eng := range regexpEngines {
		t.Run(eng.name, func(t *testing.T) {
			sch := compileSchema(t, "manifest", eng.engine)
			fixtures, failing := 0, 0
			for _, d := range dirs {
				if !d.IsDir() {
					continue
				}
				c, ok := cases[d.Name()]
				if !ok {
					t.Errorf("testdata/rules/%s has no entry in ruleCases", d.Name())
					continue
				}
				t.Run(c.name, func(t *testing.T) {
					if checkFixtureAgainstSchema(t, sch, c) {
						failing++
					}
				})
				fixtures++
			}
			t.Logf("%d of %d rule fixtures fail the manifest schema", failing, fixtures)
		})
	}
}

// checkFixtureAgainstSchema checks one fixture and reports whether one of
// its manifests fails the schema.
func checkFixtureAgainstSchema(t *testing.T, sch *jsonschema.Schema, c ruleCase) (failed bool) {
	root := filepath.Join("testdata", "rules", c.name)
	// The diagnostics the schema must reproduce, by manifest file.
	expressible := map[string][]want{}
	for _, w := range c.want {
		if cannotExpress(w.Rule, w.Message) == "" {
			expressible[w.File] = append(expressible[w.File], w)
		}
	}
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || e.Name() != ManifestFile {
			return err
		}
		rel, _ := filepath.Rel(root, path) // as in want.File
		seen[rel] = true
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		wants := expressible[rel]
		inst, doc, err := yamlInstance(data)
		if err != nil {
			// Not JSON data at all: only rules about YAML itself get here.
			if len(wants) > 0 {
				t.Errorf("%s: not JSON data (%v), but the schema should report %v", path, err, wants)
			}
			t.Logf("%s: no schema check, the YAML does not decode: %v", path, err)
			return nil
		}
		verr := sch.Validate(inst)
		failed = failed || verr != nil
		rel = path // messages name the fixture
		if len(wants) == 0 {
			if verr != nil {
				t.Errorf("%s: validate reports nothing the schema can express, yet the schema rejects it (stricter than validate):\n%v", rel, verr)
			}
			return nil
		}
		if verr == nil {
			t.Errorf("%s passes the schema, but validate reports %d problem(s) the schema should express: %v", rel, len(wants), wants)
			return nil
		}
		spans := nodeSpans(doc)
		leaves := leafErrors(verr)
		for _, w := range wants {
			matched := false
			for _, l := range leaves {
				sp, ok := spans[pointer(l.InstanceLocation)]
				if ok && w.Line >= sp.first && w.Line <= sp.last && pointer(l.InstanceLocation) != "" {
					matched = true
				} else if ok && pointer(l.InstanceLocation) == "" && w.Line <= 1 {
					matched = true // about the whole document (not a mapping, a required key)
				}
			}
			if !matched {
				t.Errorf("%s:%d [%s] %q: no schema error on that line's node; schema said:\n%v", rel, w.Line, w.Rule, w.Message, verr)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for file := range expressible {
		if !seen[file] {
			t.Errorf("%s: diagnostics expected in %s, which the walk did not find", c.name, file)
		}
	}
	return failed
}

// TestSchemaCannotExpressTable keeps the table honest and prints it (go
// test -v): each entry names a rule validate has, and no rule is listed
// twice with the same prefix.
func TestSchemaCannotExpressTable(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range schemaCannotExpress {
		key := c.rule + "\x00" + c.messagePrefix
		if seen[key] {
			t.Errorf("%s listed twice", c.rule)
		}
		seen[key] = true
		if !known(c.rule) {
			t.Errorf("%s is not a rule of validate", c.rule)
		}
		what := "all of it"
		if c.messagePrefix != "" {
			what = fmt.Sprintf("messages starting %q", c.messagePrefix)
		}
		t.Logf("%-26s %-34s %s", c.rule, what, c.why)
	}
}

// TestUpstreamManifestsPassSchema: upstream's manifests, with their free
// keys (python_version, components, features), pass the manifest schema as
// they are, and the valid fixture's runtime.yml passes the runtime schema.
func TestUpstreamManifestsPassSchema(t *testing.T) {
	for _, eng := range regexpEngines {
		t.Run(eng.name, func(t *testing.T) {
			sch := compileSchema(t, "manifest", eng.engine)
			files, err := filepath.Glob(filepath.Join("..", "testdata", "joblet-runtimes-upstream", "runtimes", "*", ManifestFile))
			if err != nil || len(files) == 0 {
				t.Fatalf("no upstream manifests: %v", err)
			}
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				inst, _, err := yamlInstance(data)
				if err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				if err := sch.Validate(inst); err != nil {
					t.Errorf("%s fails the manifest schema:\n%v", f, err)
				}
			}
		})
	}
}

// TestRuntimeConfigSchemaAgreesWithCheck: on each runtime.yml below the
// runtime schema and schema.ParseRuntimeConfig give the same verdict, except
// where the table says the schema cannot tell (a source that leaves the
// runtime only after cleaning, an unclean target).
func TestRuntimeConfigSchemaAgreesWithCheck(t *testing.T) {
	const mounts = "mounts:\n  - source: isolated/usr/bin\n    target: /usr/bin\n    readonly: true\n"
	cases := []struct {
		name, doc    string
		schemaCannot bool
	}{
		{"valid", "name: demo\nversion: \"1.0.0\"\nlanguage: python\n" + mounts, false},
		{"v prefix", "name: demo\nversion: v1.0.0\n" + mounts, false},
		{"version a number", "name: demo\nversion: 1.0\n" + mounts, false},
		{"name trailing hyphen", "name: demo-\nversion: 1.0.0\n" + mounts, false},
		{"no mounts", "name: demo\nversion: 1.0.0\nmounts: []\n", false},
		{"absolute source", "name: demo\nversion: 1.0.0\nmounts:\n  - {source: /usr/bin, target: /usr/bin, readonly: true}\n", false},
		{"source ..", "name: demo\nversion: 1.0.0\nmounts:\n  - {source: ../x, target: /usr/bin, readonly: true}\n", false},
		{"relative target", "name: demo\nversion: 1.0.0\nmounts:\n  - {source: usr/bin, target: usr/bin, readonly: true}\n", false},
		{"source leaves after cleaning", "name: demo\nversion: 1.0.0\nmounts:\n  - {source: a/../../x, target: /usr/bin, readonly: true}\n", true},
		{"unclean target", "name: demo\nversion: 1.0.0\nmounts:\n  - {source: usr/bin, target: /usr/../bin, readonly: true}\n", true},
	}
	sbom, err := os.ReadFile(filepath.Join("..", "internal", "sbom", "testdata", "tree", schema.RuntimeConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, struct {
		name, doc    string
		schemaCannot bool
	}{"internal/sbom/testdata/tree", string(sbom), false})
	for _, eng := range regexpEngines {
		sch := compileSchema(t, "runtime", eng.engine)
		for _, c := range cases {
			t.Run(eng.name+"/"+c.name, func(t *testing.T) {
				inst, _, err := yamlInstance([]byte(c.doc))
				if err != nil {
					t.Fatal(err)
				}
				schemaOK := sch.Validate(inst) == nil
				_, checkErr := schema.ParseRuntimeConfig([]byte(c.doc))
				if c.schemaCannot {
					if !schemaOK || checkErr == nil {
						t.Errorf("expected the schema to pass and the check to fail: schema ok %v, check %v", schemaOK, checkErr)
					}
					return
				}
				if schemaOK != (checkErr == nil) {
					t.Errorf("schema ok %v, ParseRuntimeConfig: %v", schemaOK, checkErr)
				}
			})
		}
	}
}
