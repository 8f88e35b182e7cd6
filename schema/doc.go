// Package schema owns rtool's data model: the Manifest read from
// runtimes/<name>/manifest.yaml, the RuntimeConfig read from a built
// runtime's runtime.yml, the Registry written to registry.json, the naming
// rules shared by all of them (runtime names, versions, platforms, release
// tags), and the JSON Schemas generated from these types. The schemas
// carry the Go checks' own patterns and lists (strict.go: names, versions,
// platforms, packages, durations), so an editor flags what rtool validate
// would wherever JSON Schema can say it.
//
// It only describes, reads and parses data (ReadManifest reads one
// runtime's manifest.yaml). It does no file-system walking,
// validation reporting, merging or network I/O: those belong to validate,
// registrygen and consumer.
package schema
