package schema

import (
	"github.com/invopop/jsonschema"
)

// The patterns below are the validator's own rules (package validate
// compiles them) and the generated schemas copy them at generation time,
// so a schema and the validator cannot disagree about a package entry or
// a timeout. They are RE2 and ECMA-262 alike (no look-around, no
// back-references), so Go and editors' JSON Schema validators read them
// the same way.

// PipPackagePattern is a packages entry in pip style: name==version, the
// name optionally with [extras].
const PipPackagePattern = `^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)(?:\[[A-Za-z0-9._,-]+\])?==([A-Za-z0-9][A-Za-z0-9.+!_-]*)$`

// NpmPackagePattern is a packages entry in npm style: name@version, the
// name optionally with an @scope/ prefix.
const NpmPackagePattern = `^((?:@[a-z0-9][a-z0-9._-]*/)?[A-Za-z0-9][A-Za-z0-9._-]*)@([A-Za-z0-9^~*][A-Za-z0-9.+^~*_-]*)$`

// durationUnit is one unit time.ParseDuration accepts.
const durationUnit = `(?:ns|us|µs|μs|ms|s|m|h)`

// DurationPattern is what time.ParseDuration accepts without a minus sign
// (a positive duration needs, besides, one non-zero digit; see
// PositiveDurationDigitPattern). Durations beyond about 290 years, which
// ParseDuration rejects as overflow, and fractions of a nanosecond (".1ns"
// reads as 0) still match.
const DurationPattern = `^\+?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)` + durationUnit + `)+$`

// PositiveDurationDigitPattern holds for a duration that is not zero.
const PositiveDurationDigitPattern = `[1-9]`

// nonBlankPattern: a string with a non-space character, what the validator
// asks of descriptions, smoke test names and a smoke command's program.
const nonBlankPattern = `\S`

// PlatformNames lists every platform ParsePlatform accepts, <os>-<arch> for
// each of KnownOS and KnownArch, in that order.
func PlatformNames() []string {
	var ps []string
	for _, os := range KnownOS {
		for _, arch := range KnownArch {
			ps = append(ps, os+"-"+arch)
		}
	}
	return ps
}

func prop(s *jsonschema.Schema, name string) *jsonschema.Schema {
	p, ok := s.Properties.Get(name)
	if !ok {
		panic("schema: no property " + name) // a programming error caught by the drift test
	}
	return p
}

func uintp(n uint64) *uint64 { return &n }

// strictName and strictVersion are the runtime name and version rules of
// CheckName and CheckVersion.
func strictName(p *jsonschema.Schema) {
	p.Pattern = NameStrictPattern
	p.MinLength = uintp(1)
	p.MaxLength = uintp(MaxNameLength)
}

func strictVersion(p *jsonschema.Schema) { p.Pattern = VersionPattern }

// JSONSchemaExtend makes the manifest schema as strict as validate where
// JSON Schema can say it. The top level stays open: upstream manifests
// carry free keys such as python_version.
func (Manifest) JSONSchemaExtend(s *jsonschema.Schema) {
	strictName(prop(s, "name"))
	strictVersion(prop(s, "version"))
	prop(s, "description").Pattern = nonBlankPattern

	platforms := prop(s, "platforms")
	platforms.UniqueItems = true
	enum := make([]any, 0, len(KnownOS)*len(KnownArch))
	for _, p := range PlatformNames() {
		enum = append(enum, p)
	}
	platforms.Items.Enum = enum

	packages := prop(s, "packages")
	packages.UniqueItems = true
	packages.Items.Pattern = "(?:" + PipPackagePattern + ")|(?:" + NpmPackagePattern + ")"
	// One style per manifest: every entry pip style or every entry npm style.
	packages.AnyOf = []*jsonschema.Schema{
		{Items: &jsonschema.Schema{Pattern: PipPackagePattern}},
		{Items: &jsonschema.Schema{Pattern: NpmPackagePattern}},
	}
}

// JSONSchemaExtend: a smoke test has only the four keys rtool reads.
func (SmokeTest) JSONSchemaExtend(s *jsonschema.Schema) {
	s.AdditionalProperties = jsonschema.FalseSchema
	prop(s, "name").Pattern = nonBlankPattern
	cmd := prop(s, "command")
	// Arguments are YAML scalars (rtool reads [sleep, 1] as "sleep" "1");
	// the program, the first one, is not blank.
	cmd.Items = &jsonschema.Schema{Extras: map[string]any{"type": []string{"string", "number", "boolean"}}}
	cmd.PrefixItems = []*jsonschema.Schema{{Type: "string", Pattern: nonBlankPattern}}
	code := prop(s, "exit_code")
	code.Minimum = "0"
	code.Maximum = "255"
}

// JSONSchemaExtend: build settings have only the keys rtool reads,
// timeout is a positive Go duration and base a base name other than the
// reserved "default" (whether rtool.yaml has that base is validate's).
func (BuildSettings) JSONSchemaExtend(s *jsonschema.Schema) {
	s.AdditionalProperties = jsonschema.FalseSchema
	t := prop(s, "timeout")
	t.Pattern = DurationPattern
	t.AllOf = []*jsonschema.Schema{{Pattern: PositiveDurationDigitPattern}}
	b := prop(s, "base")
	b.Pattern = BaseNamePattern
	b.Not = &jsonschema.Schema{Const: DefaultBaseName}
}

// JSONSchemaExtend: runtime.yml's name and version follow the manifest's
// rules. The top level stays open like the manifest's.
func (RuntimeConfig) JSONSchemaExtend(s *jsonschema.Schema) {
	strictName(prop(s, "name"))
	strictVersion(prop(s, "version"))
}

// JSONSchemaExtend: a mount source is relative and does not start by
// leaving the runtime directory (a source such as a/../../b, which leaves
// it later, is CheckMountSource's alone); a target is absolute.
func (Mount) JSONSchemaExtend(s *jsonschema.Schema) {
	src := prop(s, "source")
	src.MinLength = uintp(1)
	src.Pattern = `^[^/]`
	src.Not = &jsonschema.Schema{Pattern: `^\.\.(?:/|$)`}
	prop(s, "target").Pattern = `^/`
}
