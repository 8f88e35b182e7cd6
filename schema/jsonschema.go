package schema

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/invopop/jsonschema"
)

// SchemaBaseURL is where the generated schemas are published; editors use
// it through the yaml-language-server modeline.
const SchemaBaseURL = "https://raw.githubusercontent.com/joblet/rtool/main/schema/"

// SchemaNames lists the schemas rtool generates, each with the file it is
// committed as under schema/.
var schemaTypes = map[string]struct {
	file  string
	value any
	title string
}{
	"manifest": {"manifest.schema.json", &Manifest{}, "Joblet runtime manifest (runtimes/<name>/manifest.yaml)"},
	"runtime":  {"runtime.schema.json", &RuntimeConfig{}, "Joblet runtime configuration (runtime.yml)"},
	"registry": {"registry.schema.json", &Registry{}, "Joblet runtime registry (registry.json)"},
}

// SchemaNames returns the names accepted by GenerateSchema, sorted.
func SchemaNames() []string {
	names := make([]string, 0, len(schemaTypes))
	for n := range schemaTypes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// SchemaFile returns the file name a schema is committed under.
func SchemaFile(name string) string { return schemaTypes[name].file }

// GenerateSchema returns the JSON Schema for "manifest", "runtime" or
// "registry", indented, with a trailing newline.
func GenerateSchema(name string) ([]byte, error) {
	t, ok := schemaTypes[name]
	if !ok {
		return nil, fmt.Errorf("unknown schema %q; choose one of %v", name, SchemaNames())
	}
	r := &jsonschema.Reflector{
		FieldNameTag:               "json",
		AllowAdditionalProperties:  true,
		RequiredFromJSONSchemaTags: false,
		DoNotReference:             false,
	}
	s := r.Reflect(t.value)
	s.ID = jsonschema.ID(SchemaBaseURL + t.file)
	s.Title = t.title
	out, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("marshal %s schema: %w", name, err)
	}
	return append(out, '\n'), nil
}
